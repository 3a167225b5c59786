"""A store whose meta.schema_version reads '01' (int('01') would be 1)."""

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
conn.execute("UPDATE meta SET value = '01' WHERE key = 'schema_version'")
conn.close()
