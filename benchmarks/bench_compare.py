"""Before and after: the same run with this tree and with another checkout, in turn.

    git worktree add /tmp/before <commit>
    python benchmarks/bench_compare.py --before /tmp/before --units 600000 --runs 3

Generates N units of the example town (``bench_score.write_csv``, seeded), then runs
``python -m fulian_eval rank rules/town-village-2026.toml data.csv --format csv -o out``
with ``PYTHONPATH`` set to each tree's ``src`` in turn (so a busy machine slows both
alike) and prints the median wall time, the child's CPU seconds, the after/before
ratio, and whether the two reports are byte-identical. ``--args`` runs another
command instead (``{rulebook}``, ``{data}`` and ``{out}`` are filled in).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_score import DATA, ROOT, SCHEMES, write_csv

DEFAULT = "rank {rulebook} {data} --format csv -o {out}"


def _run(src: Path, args: list[str]) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(src))
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{src}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--before", type=Path, required=True, help="the other checkout (its src/ is used)"
    )
    ap.add_argument(
        "--after", type=Path, default=ROOT, help="the tree to measure (default: this one)"
    )
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--args", default=DEFAULT, help=f"the command after 'fulian-eval' (default: {DEFAULT!r})"
    )
    opts = ap.parse_args()
    rulebook, template = SCHEMES["town"]
    data = DATA / f"compare-{opts.units}.csv"
    if not data.exists():
        write_csv(data, template, opts.units)
    trees = {"before": opts.before.resolve() / "src", "after": opts.after.resolve() / "src"}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    outs = {name: DATA / f"compare-{name}.out" for name in trees}
    for _ in range(opts.runs):
        for name, src in trees.items():
            args = opts.args.format(rulebook=rulebook, data=data, out=outs[name]).split()
            times[name].append(_run(src, args))
    print(f"{opts.units:,} units, {opts.runs} runs each, in turn: fulian-eval {opts.args}")
    print(f"{'tree':>7} {'wall s (median)':>16} {'min':>7} {'max':>7} {'cpu s':>7}")
    for name, ts in times.items():
        walls = [w for w, _ in ts]
        print(
            f"{name:>7} {statistics.median(walls):>16.2f} {min(walls):>7.2f} {max(walls):>7.2f} "
            f"{statistics.median(c for _, c in ts):>7.2f}"
        )
    ratio = statistics.median(w for w, _ in times["after"]) / statistics.median(
        w for w, _ in times["before"]
    )
    same = (
        all(p.exists() for p in outs.values())
        and outs["before"].read_bytes() == outs["after"].read_bytes()
    )
    print(f"after/before: {ratio:.2f}x; reports byte-identical: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
