"""``fe.score_run`` against the command line on the same table: medians, CPU seconds, ratio, byte identity.

    python benchmarks/bench_score_run.py --units 100000 --runs 3

Both run as whole processes, in turn (a busy machine slows both alike): the CLI
``rank RULES data.csv --format csv -o cli.csv``, and a Python process doing
``fe.score_run(RULES, [data]).report("rank", "csv", "lib.csv")``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from bench_score import DATA, SCHEMES, write_csv

RULES, TEMPLATE = SCHEMES["town"]
LIB = (
    "import sys, fulian_eval as fe; "
    "fe.score_run(sys.argv[1], [sys.argv[2]]).report('rank', 'csv', sys.argv[3])"
)


def _timed(cmd: list[str]) -> tuple[float, float]:
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:3]}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    data = DATA / f"score-run-{args.units}.csv"
    if not data.exists():
        write_csv(data, TEMPLATE, args.units)
    cli_out, lib_out = DATA / "score-run-cli.csv", DATA / "score-run-lib.csv"
    runs: dict[str, list[tuple[float, float]]] = {"cli": [], "score_run": []}
    for _ in range(args.runs):
        runs["cli"].append(
            _timed(
                [
                    sys.executable,
                    "-m",
                    "fulian_eval",
                    "rank",
                    str(RULES),
                    str(data),
                    "--format",
                    "csv",
                    "-o",
                    str(cli_out),
                ]
            )
        )
        runs["score_run"].append(
            _timed([sys.executable, "-c", LIB, str(RULES), str(data), str(lib_out)])
        )
    print(f"{args.units:,} units, {args.runs} runs each, in turn")
    print(f"{'':>10} {'wall s (median)':>16} {'cpu s (median)':>15}")
    med = {}
    for name, got in runs.items():
        med[name] = statistics.median(w for w, _ in got), statistics.median(c for _, c in got)
        print(f"{name:>10} {med[name][0]:>16.2f} {med[name][1]:>15.2f}")
    print(
        f"score_run/cli: wall {med['score_run'][0] / med['cli'][0]:.2f}x, cpu {med['score_run'][1] / med['cli'][1]:.2f}x; "
        f"reports byte-identical: {'yes' if cli_out.read_bytes() == lib_out.read_bytes() else 'NO'}"
    )


if __name__ == "__main__":
    main()
