"""A streamed run's store whose rulebook blob was retyped as TEXT."""

import json
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
        str(ROOT / "examples" / "town" / "town.csv"),
        "--audit",
        "s.db",
    ],
    check=True,
    timeout=60,
    capture_output=True,
)
conn = sqlite3.connect("s.db", isolation_level=None)
header = json.loads(conn.execute("SELECT body FROM records WHERE kind = 'run'").fetchone()[0])
conn.execute(
    "UPDATE blobs SET content = CAST(content AS TEXT) WHERE sha256 = ?",
    (header["rulebook"][0]["sha256"],),
)
conn.close()
