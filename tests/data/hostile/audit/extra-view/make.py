"""A store with one run and a view planted beside its tables."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import fulian_eval

ROOT = Path(fulian_eval.__file__).resolve().parents[2]
subprocess.run(
    [
        sys.executable,
        "-m",
        "fulian_eval",
        "score",
        str(ROOT / "rules" / "town-village-2026.toml"),
        str(ROOT / "examples" / "town" / "evidence"),
        "--audit",
        "s.db",
    ],
    check=True,
    timeout=60,
    capture_output=True,
)
conn = sqlite3.connect("s.db", isolation_level=None)
conn.execute("CREATE VIEW honest AS SELECT * FROM records")
conn.close()
