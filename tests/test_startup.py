"""Start-up stays light (issue 12, item 5): ``--version`` and ``validate`` import none of
the modules only scoring, reports, workbooks or the audit trail need. (The time itself is
measured by benchmarks/bench_national.py, not here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"

#: Imported by scoring, tables, reports or the audit trail; never needed to start or validate.
HEAVY = (
    "numpy",
    "pyarrow",
    "tabulate",
    "sqlite3",
    "zipfile",
    "multiprocessing",
    "concurrent.futures",
    "tempfile",
    "openpyxl",
    "python_calamine",
    "pandas",
    "polars",
    "dask",
)

_PROBE = """
import json, sys
from fulian_eval.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["validate", str(RULES)]])
def test_start_up_imports_nothing_heavy(args: list[str]) -> None:
    got = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    loaded = json.loads(got.stderr.strip().splitlines()[-1])
    assert loaded == [], f"{' '.join(args)} imported {loaded}"
