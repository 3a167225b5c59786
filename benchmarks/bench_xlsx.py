"""Whole-process speed of the Excel report beside the CSV report of the same run.

Generates N units of the example town (``bench_score.write_csv``), then runs
``score RULEBOOK data.csv --format csv|xlsx -o …`` as separate processes in turn
and prints, per size, the median wall time of each and their ratio. The XLSX
report was quadratic before issue 13 (4,000 units took about a minute). Since
issue 11 it is the office workbook (排名, 各项得分, 被拒收, 提示, 缺资料): its
缺资料 sheet reads the table again and rescores the rows that can lack evidence.

    python benchmarks/bench_xlsx.py                    # 4k and 20k units, 3 runs each
    python benchmarks/bench_xlsx.py --sizes 1000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 20000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rulebook, template = SCHEMES["town"]
    print(f"{'units':>8} {'csv s':>8} {'xlsx s':>8} {'xlsx/csv':>9} {'xlsx cpu s':>11}")
    for n in args.sizes:
        data = DATA / f"town-{n}.csv"
        DATA.mkdir(exist_ok=True)
        write_csv(data, template, n)
        times: dict[str, list[tuple[float, float]]] = {"csv": [], "xlsx": []}
        for _ in range(args.runs):
            for fmt in times:  # in turn, so load on the machine falls on both alike
                out = DATA / f"out-{n}.{fmt}"
                times[fmt].append(
                    _time(
                        [
                            sys.executable,
                            "-m",
                            "fulian_eval",
                            "score",
                            str(rulebook),
                            str(data),
                            "--format",
                            fmt,
                            "-o",
                            str(out),
                        ]
                    )
                )
        csv_s = statistics.median(w for w, _ in times["csv"])
        xlsx_s = statistics.median(w for w, _ in times["xlsx"])
        cpu = statistics.median(c for _, c in times["xlsx"])
        print(f"{n:>8} {csv_s:>8.2f} {xlsx_s:>8.2f} {xlsx_s / csv_s:>8.2f}x {cpu:>11.2f}")


if __name__ == "__main__":
    main()
