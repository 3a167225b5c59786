"""An audited streamed run of 42,000 units, SIGKILLed (as by the OOM killer) while its writer is half way."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fulian_eval

ROOT = Path(fulian_eval.__file__).resolve().parents[2]
with (ROOT / "examples" / "town" / "town.csv").open(encoding="utf-8-sig", newline="") as f:
    rows = list(csv.reader(f))
head, body = rows[0], rows[1:]
unit, assessor = head.index("unit"), head.index("assessor")
with open("big.csv", "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f)
    w.writerow(head)
    for k in range(2000):
        for r in body:
            r = list(r)
            r[unit] = r[assessor] = f"{r[unit]}{k}"
            w.writerow(r)
proc = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "fulian_eval",
        "score",
        str(ROOT / "rules" / "town-village-2026.toml"),
        "big.csv",
        "--format",
        "csv",
        "-o",
        "big-out.csv",
        "--audit",
        "s.db",
    ],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
deadline = time.monotonic() + 50
while proc.poll() is None and time.monotonic() < deadline:
    try:
        if os.stat("s.db-wal").st_size > 256 * 1024:
            break
    except OSError:
        pass
    time.sleep(0.01)
proc.send_signal(signal.SIGKILL)
proc.wait(timeout=30)
os.remove("big.csv")
