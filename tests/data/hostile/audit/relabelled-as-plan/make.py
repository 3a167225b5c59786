"""Forge a store: dawan's vetoed 85.06 不合格 becomes 100.00 优秀, and the run's header is relabelled as
a plan draw whose stored result the seed does give; every hash and link recomputed."""

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import fulian_eval
from fulian_eval.analysis import sampling
from fulian_eval.audit.store import canonical_json

ROOT = Path(fulian_eval.__file__).resolve().parents[2]
units_path = ROOT / "examples" / "town" / "units.csv"
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
units = units_path.read_bytes()
sha = hashlib.sha256(units).hexdigest()
conn = sqlite3.connect("s.db", isolation_level=None)
conn.execute("BEGIN")
header = json.loads(conn.execute("SELECT body FROM records WHERE kind = 'run'").fetchone()[0])
drawn = sampling.plan_json(sampling.plan(sampling.read_units(units_path), 7))
header.update(
    draw="plan",
    evidence=[{"path": "units.csv", "sha256": sha}],
    items=[],
    rulebook=[],
    scheme={"id": "plan", "version": ""},
    options={"seed": 7},
    result=json.loads(canonical_json(drawn)),
)
conn.execute("UPDATE records SET body = ? WHERE kind = 'run'", (canonical_json(header).decode(),))
for seq, raw in conn.execute("SELECT seq, body FROM records WHERE kind = 'unit'").fetchall():
    rec = json.loads(raw)
    rec["evidence"] = 0
    if rec["unit"] == "dawan":
        rec.update(total="100.00", grade="优秀", vetoed=False)
    conn.execute("UPDATE records SET body = ? WHERE seq = ?", (canonical_json(rec).decode(), seq))
conn.execute("DELETE FROM blobs")
conn.execute("INSERT INTO blobs VALUES (?, ?)", (sha, units))
prev = "0" * 64
for seq, body in conn.execute("SELECT seq, body FROM records ORDER BY seq").fetchall():
    h = hashlib.sha256((prev + body).encode()).hexdigest()
    conn.execute("UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
    prev = h
conn.execute("COMMIT")
conn.close()
