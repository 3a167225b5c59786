"""Whole-process scoring speed: CSV in -> scored, ranked CSV out.

Generates N units of evidence for a bundled scheme by varying real units (the
example town's 21 villages, or the acceptance example's five; seeded), then
runs ``python -m fulian_eval score RULEBOOK data.csv --format csv -o out.csv`` as
a separate process several times and prints median wall time and units/s.

    python benchmarks/bench_score.py                 # 10k and 100k units, 3 runs each
    python benchmarks/bench_score.py --sizes 1000 --runs 5
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
# scheme name -> (rulebook, a CSV of real units to vary)
SCHEMES = {
    "town": (ROOT / "rules" / "town-village-2026.toml", ROOT / "examples" / "town" / "town.csv"),
    "acceptance": (
        ROOT / "tests" / "data" / "acceptance" / "town-2026.toml",
        HERE / "templates" / "acceptance.csv",
    ),
}
GROUPS = ["东片", "西片", "南片", "北片", "中片", "新区"]
_INT = re.compile(r"^\d+$")
_DEC = re.compile(r"^\d+\.\d+$")


def make_rows(template: Path, n: int, seed: int = 2026) -> tuple[list[str], list[list[str]]]:
    """N units made from the example town's rows: new ids, numbers varied by ±20 %.

    Manual points (``points:`` columns) and yes/no, set and text cells are kept as
    they are, so every generated row is valid for the scheme the template fits.
    """
    with template.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}
    fixed = {i for i, h in enumerate(header) if h.startswith("points:")}
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        row = list(rnd.choice(body))
        row[col["unit"]] = f"u{k:07d}"
        row[col["name"]] = f"{row[col['name']]}{k}"
        row[col["group"]] = GROUPS[k % len(GROUPS)]
        if "assessor" in col:
            row[col["assessor"]] = row[col["unit"]]
        for i, cell in enumerate(row):
            if i in fixed:
                continue
            if _INT.match(cell):
                row[i] = str(int(int(cell) * rnd.uniform(0.8, 1.2)))
            elif _DEC.match(cell):
                row[i] = f"{float(cell) * rnd.uniform(0.8, 1.2):.1f}"
        out.append(row)
    return header, out


def write_csv(path: Path, template: Path, n: int) -> None:
    header, rows = make_rows(template, n)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _differing_totals(ours: Path, baseline: Path) -> int:
    with ours.open(encoding="utf-8-sig", newline="") as f:
        mine = {r["unit"]: r["total"] for r in csv.DictReader(f)}
    with baseline.open(encoding="utf-8", newline="") as f:
        theirs = {r["unit"]: r["total"] for r in csv.DictReader(f)}
    return sum(1 for u, t in mine.items() if theirs.get(u) != t)


def time_run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}"
        )
    return elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--schemes",
        nargs="+",
        choices=sorted(SCHEMES),
        default=["town", "acceptance"],
        help="town: the bundled 33-item town-village scheme; acceptance: the 12-item contract example",
    )
    ap.add_argument(
        "--audit", action="store_true", help="also time each run with --audit (a fresh store)"
    )
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="also time the hand-written numpy baseline (acceptance scheme; needs numpy)",
    )
    args = ap.parse_args(argv)

    base = [sys.executable, "-m", "fulian_eval"]
    startup = [time_run([*base, "--version"]) for _ in range(args.runs)]
    print(
        f"{'scheme':<11} {'items':>5} {'units':>8}  {'median s':>9}  {'min s':>7}  {'max s':>7}  {'units/s':>9}"
    )
    print(
        f"{'startup':<11} {'':>5} {'':>8}  {statistics.median(startup):9.3f}  {min(startup):7.3f}  {max(startup):7.3f}"
    )
    for scheme in args.schemes:
        rulebook, template = SCHEMES[scheme]
        items = sum(
            1
            for line in rulebook.read_text(encoding="utf-8").splitlines()
            if line.strip() == "[[categories.items]]"
        )
        results = {}
        for n in args.sizes:
            src = DATA / f"{scheme}-{n}.csv"
            if not src.exists():
                write_csv(src, template, n)
            out = DATA / f"out-{scheme}-{n}.csv"
            cmd = [*base, "score", str(rulebook), str(src), "--format", "csv", "-o", str(out)]
            times = [time_run(cmd) for _ in range(args.runs)]
            med = statistics.median(times)
            results[n] = med
            print(
                f"{scheme:<11} {items:>5} {n:>8}  {med:9.3f}  {min(times):7.3f}  {max(times):7.3f}  {n / med:9.0f}"
            )
            if args.audit:
                audited = []
                for _ in range(args.runs):
                    store = DATA / f"audit-{scheme}-{n}.db"
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{store}{suffix}").unlink(missing_ok=True)
                    audited.append(time_run([*cmd, "--audit", str(store)]))
                amed = statistics.median(audited)
                print(
                    f"{'  +audit':<11} {items:>5} {n:>8}  {amed:9.3f}  {min(audited):7.3f}  {max(audited):7.3f}  "
                    f"{n / amed:9.0f}   audit adds {100 * (amed / med - 1):.0f} %"
                )
            if args.baseline and scheme == "acceptance":
                bout = DATA / f"baseline-{n}.csv"
                bcmd = [sys.executable, str(HERE / "baseline_numpy.py"), str(src), str(bout)]
                btimes = [time_run(bcmd) for _ in range(args.runs)]
                bmed = statistics.median(btimes)
                differ = _differing_totals(out, bout)
                print(
                    f"{'  numpy':<11} {items:>5} {n:>8}  {bmed:9.3f}  {min(btimes):7.3f}  {max(btimes):7.3f}  "
                    f"{n / bmed:9.0f}   project/baseline {med / bmed:.1f}x; {differ} float totals off by a cent"
                )
        if len(results) >= 2:
            (n1, t1), (n2, t2) = sorted(results.items())[:2]
            print(f"{scheme:<11} ratio: {n2 // n1}x the units took {t2 / t1:.2f}x the time")


if __name__ == "__main__":
    main()
