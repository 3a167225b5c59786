"""A store whose last page was overwritten, as by a bad disk sector."""

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
conn = sqlite3.connect("s.db")
size, count = (
    conn.execute("PRAGMA page_size").fetchone()[0],
    conn.execute("PRAGMA page_count").fetchone()[0],
)
conn.close()
with open("s.db", "r+b") as f:
    f.seek(count * size - 1200)
    f.write(b"\xde\xad\xbe\xef" * 300)
