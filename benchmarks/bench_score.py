"""Whole-process scoring speed: CSV in -> scored, ranked CSV out.

Generates N units of evidence for a bundled scheme (deterministic, seeded), then
runs ``python -m fulian_eval score RULEBOOK data.csv --format csv -o out.csv`` as
a separate process several times and prints median wall time and units/s.

    python benchmarks/bench_score.py                 # 10k and 100k units, 3 runs each
    python benchmarks/bench_score.py --sizes 1000 --runs 5
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
DEFAULT_RULEBOOK = ROOT / "tests" / "data" / "acceptance" / "town-2026.toml"

REGISTERS = ["工作活动记录簿", "妇女培训登记簿", "各类表彰登记簿", "群众来信来访登记簿", "重点帮扶对象登记簿"]
GROUPS = ["东片", "西片", "北片", "南片", "中片"]


def make_rows(n: int, seed: int = 2026) -> tuple[list[str], list[list[str]]]:
    """N units of realistic evidence for the town-2026 acceptance scheme."""
    rnd = random.Random(seed)
    header = [
        "unit", "name", "group", "role", "assessor", "households", "population", "floating_population",
        "registers", "meetings", "room_area[m^2]", "has_plate", "funds[元]", "registered", "wrong_records",
        "cases_received", "cases_closed", "fabricated", "volunteers", "loans[万元]", "points:archives.quality",
    ]
    rows = []
    for i in range(n):
        pop = rnd.randint(1000, 9000)
        floating = rnd.choice([0, rnd.randint(20, pop // 2)])
        received = rnd.randint(0, 15)
        regs = [r for r in REGISTERS if rnd.random() < 0.85]
        rows.append([
            f"u{i:06d}", f"村{i}", GROUPS[i % len(GROUPS)], "self", "",
            str(rnd.randint(300, 3000)), str(pop), str(floating), ";".join(regs), str(rnd.randint(0, 6)),
            str(rnd.randint(30, 260)), rnd.choice(["是", "否", "有"]), str(rnd.randint(0, 20000)),
            str(rnd.randint(0, floating) if floating else 0), str(rnd.randint(0, 30)), str(received),
            str(rnd.randint(0, received)), "是" if rnd.random() < 0.01 else "否", str(rnd.randint(0, 80)),
            f"{rnd.randint(0, 1500) / 10}", str(rnd.randint(0, 8) / 2),
        ])
    return header, rows


def write_csv(path: Path, n: int) -> None:
    header, rows = make_rows(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def time_run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rulebook", type=Path, default=DEFAULT_RULEBOOK)
    args = ap.parse_args(argv)

    base = [sys.executable, "-m", "fulian_eval"]
    startup = [time_run([*base, "--version"]) for _ in range(args.runs)]
    print(f"{'units':>8}  {'median s':>9}  {'min s':>7}  {'max s':>7}  {'units/s':>9}")
    print(f"{'startup':>8}  {statistics.median(startup):9.3f}  {min(startup):7.3f}  {max(startup):7.3f}")
    results = {}
    for n in args.sizes:
        src = DATA / f"units-{n}.csv"
        if not src.exists():
            write_csv(src, n)
        out = DATA / f"out-{n}.csv"
        cmd = [*base, "score", str(args.rulebook), str(src), "--format", "csv", "-o", str(out)]
        times = [time_run(cmd) for _ in range(args.runs)]
        med = statistics.median(times)
        results[n] = med
        print(f"{n:>8}  {med:9.3f}  {min(times):7.3f}  {max(times):7.3f}  {n / med:9.0f}")
    if len(results) >= 2:
        (n1, t1), (n2, t2) = sorted(results.items())[:2]
        print(f"ratio: {n2 // n1}x the units took {t2 / t1:.2f}x the time")


if __name__ == "__main__":
    main()
