"""End to end: `plan` and `sample` on the example town's units."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

UNITS = Path(__file__).resolve().parent.parent / "examples" / "town" / "units.csv"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )


def test_plan_json_is_the_spec_shape_and_a_valid_plan() -> None:
    p = cli("plan", str(UNITS), "--seed", "7", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["seed"] == 7
    pairs = [(a["assessor"], a["unit"], a["group"]) for a in doc["assignments"]]
    assert len(pairs) == 21
    assert all(a != u for a, u, _ in pairs)
    assert sorted(a for a, _, _ in pairs) == sorted(u for _, u, _ in pairs)
    checks = {(a, u) for a, u, _ in pairs}
    assert not any((u, a) in checks for a, u in checks)  # groups of 7: nobody checks their checker
    assert cli("plan", str(UNITS), "--seed", "7", "--format", "json").stdout == p.stdout
    assert cli("plan", str(UNITS), "--seed", "8", "--format", "json").stdout != p.stdout


def test_sample_csv_and_table_print_the_seed() -> None:
    p = cli("sample", str(UNITS), "--fraction", "0.2", "--seed", "3", "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    # 0.2 × 7 = 1.4 -> 1 per group, three groups
    assert len(rows) == 3
    assert {r["group"] for r in rows} == {"东片", "西片", "北片"}
    assert {r["seed"] for r in rows} == {"3"}
    table = cli("sample", str(UNITS), "--fraction", "0.2", "--seed", "3")
    assert "seed = 3" in table.stdout


def test_bad_arguments_exit_2_without_traceback(tmp_path: Path) -> None:
    p = cli("sample", str(UNITS), "--fraction", "1.5", "--seed", "1")
    assert p.returncode == 2 and "fraction" in p.stderr and "Traceback" not in p.stderr
    lonely = tmp_path / "units.csv"
    lonely.write_text("unit,name,group\na,甲村,东片\nb,乙村,东片\nc,丙村,西片\n", encoding="utf-8")
    p = cli("plan", str(lonely), "--seed", "1")
    assert p.returncode == 2 and "西片" in p.stderr and "Traceback" not in p.stderr


def test_plan_csv_and_table() -> None:
    p = cli("plan", str(UNITS), "--seed", "7", "--format", "csv")
    assert p.returncode == 0
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert len(rows) == 21 and set(rows[0]) == {"assessor", "unit", "group", "seed"}
    table = cli("plan", str(UNITS), "--seed", "7")
    assert "seed = 7" in table.stdout and "东桥村" in table.stdout
