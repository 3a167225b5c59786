"""Whole-process speed of ``rank`` from a Parquet table beside the same data as CSV.

Takes N units of the example town (``benchmarks/_data/town-N.csv``, made with
``bench_score.write_csv`` if missing), converts it once to Parquet with the types
pyarrow infers from the CSV (whole numbers int64, decimals float64, the rest text),
then runs ``rank RULEBOOK data --format csv -o …`` from the CSV and from the Parquet
file as separate processes, in turn, and prints the median wall and CPU seconds of
each, their ratio, and whether the two reports are byte-identical (they must be).

    python benchmarks/bench_parquet.py                  # 600,000 units, 3 runs each
    python benchmarks/bench_parquet.py --units 20000 --runs 5
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_score import DATA, SCHEMES, write_csv


def _time(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run."""
    before = os.times()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def to_parquet(src: Path, dst: Path) -> float:
    """The CSV as Parquet (types as pyarrow infers them); the seconds it took."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = pcsv.read_csv(src)
    pq.write_table(table, dst, row_group_size=131_072, compression="zstd")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=600_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rulebook, template = SCHEMES["town"]
    DATA.mkdir(exist_ok=True)
    data = DATA / f"town-{args.units}.csv"
    if not data.exists():
        write_csv(data, template, args.units)
    parquet = DATA / f"town-{args.units}.parquet"
    took = to_parquet(data, parquet)
    print(
        f"{args.units:,} units: CSV {data.stat().st_size / 2**20:.0f} MiB, "
        f"Parquet {parquet.stat().st_size / 2**20:.0f} MiB (converted in {took:.1f} s)"
    )
    inputs = {"csv": data, "parquet": parquet}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in inputs}
    for _ in range(args.runs):
        for kind, path in inputs.items():  # in turn, so load on the machine falls on both alike
            out = DATA / f"rank-{args.units}-from-{kind}.csv"
            cmd = [sys.executable, "-m", "fulian_eval", "rank", str(rulebook), str(path)]
            times[kind].append(_time([*cmd, "--format", "csv", "-o", str(out)]))
    same = filecmp.cmp(
        DATA / f"rank-{args.units}-from-csv.csv",
        DATA / f"rank-{args.units}-from-parquet.csv",
        shallow=False,
    )
    print(f"{'input':>8} {'wall s':>8} {'cpu s':>8}   (medians of {args.runs} runs)")
    med = {}
    for kind in inputs:
        wall = statistics.median(w for w, _ in times[kind])
        cpu = statistics.median(c for _, c in times[kind])
        med[kind] = (wall, cpu)
        print(f"{kind:>8} {wall:>8.2f} {cpu:>8.2f}")
    print(
        f"parquet/csv: wall {med['parquet'][0] / med['csv'][0]:.2f}x, "
        f"cpu {med['parquet'][1] / med['csv'][1]:.2f}x; reports byte-identical: {same}"
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
