"""National scale (issues 5 and 12): N units of the combined scheme, CSV in -> ranked CSV out.

    python benchmarks/bench_national.py                      # 100k, 600k, 1.2M units, 3 runs each
    python benchmarks/bench_national.py --units 100000 --runs 5 --no-peers
    python benchmarks/bench_national.py --sizes 600000 --json-units 0   # one size, no JSON run

What it measures, on ``rules/town-village-2026.toml`` (33 items, four weighted
base categories, bonus, penalty, veto, derived values) and N units generated from
the example town (``bench_score.make_rows``: real villages, numbers varied ±20 %,
seeded; approximate figures like ``1000余`` kept):

1. whole-process wall and CPU time of ``fulian-eval rank RULEBOOK data.csv --format csv -o out.csv``,
   of the same with ``--audit`` (a fresh store each run), of the polars script
   ``baseline_polars.py`` (schema given, floats, half-up, rank with ties; skipped if
   polars is not installed) and of the hand-written numpy baseline ``baseline_town.py``
   (csv module -> numpy floats -> lexsort -> CSV), run in turn so a busy machine slows
   them alike; medians, min and max;
2. peak memory: that of the process with its worker processes (sampled from /proc ten
   times a second), less that of ``fulian-eval --version``,
   per unit; the input file is never held in memory; the audit store's size per unit;
3. in one process: rulebook load + compile (cold: the first in a process, which also
   builds the unit registry; warm: median of 20), and ranking the scored units;
4. how many totals the float baselines get wrong against the exact engine;
5. start-up (``--version``, ``validate``), ``score --format json`` beside
   ``score --format csv`` (``--json-units``; the JSON target is at 600k units, an hour
   here: ``--sizes 1000 --json-units 600000 --runs 1 --no-peers --xlsx-units 0``) and
   ranking from an XLSX workbook beside the same CSV (``--xlsx-units``);
6. the peers (rule-engine, JSON Logic) on a smaller N, through ``bench_peers.py``.

It prints the figures, the ratios (project / polars, project / numpy) and each target of
issue 12 beside them.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "_data"
RULEBOOK = ROOT / "rules" / "town-village-2026.toml"


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now (from /proc; 0 elsewhere)."""
    kids: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for d in entries:
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        try:
            with open(f"/proc/{q}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
        todo += kids.get(q, [])
    return total


def run(cmd: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak resident memory (bytes) and CPU seconds of one process.

    CPU seconds include its worker processes. Peak memory is that of the process with all
    its workers, sampled from /proc ten times a second; ``wait4``'s own peak only where
    /proc is not there (on Linux a child's ``ru_maxrss`` starts at the size of the parent
    that forked it, which would count this benchmark's own memory).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree = max(tree, _tree_rss(proc.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return elapsed, tree or usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def start_up(runs: int = 15) -> dict[str, float]:
    """Median wall seconds of ``fulian-eval --version`` and ``validate RULEBOOK`` (issue 12: < 0.15 s)."""
    exe = [sys.executable, "-m", "fulian_eval"]
    got = {}
    for name, cmd in (
        ("--version", [*exe, "--version"]),
        ("validate", [*exe, "validate", str(RULEBOOK)]),
    ):
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            ts.append(time.perf_counter() - t0)
        got[name] = statistics.median(ts)
    return got


def fresh_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def differing(ours: Path, theirs: Path) -> tuple[int, int]:
    """(totals, ranks) that differ between two ranking CSVs, by unit."""

    def read(p: Path) -> dict[str, tuple[str, str]]:
        with p.open(encoding="utf-8-sig", newline="") as f:
            return {r["unit"]: (r["total"], r["rank"]) for r in csv.DictReader(f)}

    a, b = read(ours), read(theirs)
    return (
        sum(1 for u, v in a.items() if b.get(u, ("", ""))[0] != v[0]),
        sum(1 for u, v in a.items() if b.get(u, ("", ""))[1] != v[1]),
    )


def in_process(src: Path) -> dict[str, float]:
    """Load + compile times and ranking time, measured inside one process."""
    code = f"""
import json, statistics, time
t0 = time.perf_counter()
from fulian_eval import load_rulebook
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.analysis.rank import rank_table
from fulian_eval.scoring.stream import score_tables
t1 = time.perf_counter()
rb = load_rulebook({str(RULEBOOK)!r}); plan = compile_plan(rb)
t2 = time.perf_counter()
warm = []
for _ in range(20):
    a = time.perf_counter(); compile_plan(load_rulebook({str(RULEBOOK)!r})); warm.append(time.perf_counter() - a)
res = score_tables(plan, [{str(src)!r}])
ranks = []
for _ in range(5):
    a = time.perf_counter(); rank_table(res.table); ranks.append(time.perf_counter() - a)
print(json.dumps({{"import": t1 - t0, "cold": t2 - t1, "warm": statistics.median(warm),
                  "rank": statistics.median(ranks), "units": len(res.table), "settled": res.table.settled}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    got: dict[str, float] = json.loads(out.stdout)
    return got


def _data(n: int) -> Path:
    """N generated units of the example town as CSV (made once, then reused)."""
    src = DATA / f"town-{n}.csv"
    if not src.exists():
        print(f"generating {n} units -> {src}", file=sys.stderr)
        # In a child process: a parent grown by the generator would make every later
        # child's peak memory look that size (a forked child starts with the parent's pages).
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]); import bench_score as b; "
                "from pathlib import Path; "
                "b.write_csv(Path(sys.argv[2]), b.SCHEMES['town'][1], int(sys.argv[3]))",
                str(HERE),
                str(src),
                str(n),
            ],
            check=True,
        )
    return src


def _xlsx_of(src: Path) -> Path:
    """The CSV as one XLSX sheet (numbers as numbers, as an office's workbook holds them)."""
    dst = src.with_suffix(".xlsx")
    if not dst.exists():
        import xlsxwriter

        book = xlsxwriter.Workbook(str(dst), {"constant_memory": True})
        sheet = book.add_worksheet("填报")
        with src.open(encoding="utf-8-sig", newline="") as f:
            for r, row in enumerate(csv.reader(f)):
                for c, cell in enumerate(row):
                    if r and cell and cell.lstrip("-").replace(".", "", 1).isdigit():
                        sheet.write_number(r, c, float(cell))
                    elif cell:
                        sheet.write_string(r, c, cell)
        book.close()
    return dst


def _side_by_side(
    label: str, cmds: dict[str, list[str]], runs: int
) -> dict[str, tuple[float, float, int]]:
    """Each command ``runs`` times in turn: (median wall s, median CPU s, peak bytes) each."""
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    peak = dict.fromkeys(cmds, 0)
    for _ in range(runs):
        for k, cmd in cmds.items():
            t, rss, c = run(cmd)
            wall[k].append(t)
            cpu[k].append(c)
            peak[k] = max(peak[k], rss)
    got = {k: (statistics.median(wall[k]), statistics.median(cpu[k]), peak[k]) for k in cmds}
    print(label)
    for k, (w, c, m) in got.items():
        print(f"  {k:<28} {w:8.2f} s wall {c:8.2f} s CPU {m / 1e6:8.0f} MB peak")
    return got


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100_000, 600_000, 1_200_000],
        help="units per run (default: the issue-12 set)",
    )
    ap.add_argument("--units", type=int, help="one size (as --sizes N)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-audit", action="store_true", help="skip the runs with --audit")
    ap.add_argument("--no-peers", action="store_true", help="skip the peer rule engines")
    ap.add_argument("--peer-units", type=int, default=5000)
    ap.add_argument(
        "--json-units", type=int, default=20_000, help="units of the JSON run (0: skip)"
    )
    ap.add_argument(
        "--xlsx-units", type=int, default=20_000, help="units of the XLSX-input run (0: skip)"
    )
    args = ap.parse_args(argv)
    sizes = [args.units] if args.units else args.sizes
    up = start_up()
    print(
        f"start-up: --version {up['--version']:.3f} s, validate {up['validate']:.3f} s "
        "(median of 15, whole process)   (target < 0.15 s)"
    )
    print()
    for k, n in enumerate(sizes):
        if k:
            print()
        national(n, args, peers=not args.no_peers and k == len(sizes) - 1)
    exe = [sys.executable, "-m", "fulian_eval"]
    tmp = Path(tempfile.mkdtemp(prefix="fulian-bench-"))
    if args.json_units:
        src = _data(args.json_units)
        print()
        got = _side_by_side(
            f"score --format json, {args.json_units:,} units (objects written by the columns as"
            " they score, on every core, spooled, copied in rank order; peak is the largest"
            " one process, workers not added; 'copy' copies the finished document to another"
            " file: this machine's floor for writing that many bytes)",
            {
                "csv report": [*exe, "score", str(RULEBOOK), str(src), "-o", str(tmp / "s.csv")],
                "json report": [*exe, "score", str(RULEBOOK), str(src), "-o", str(tmp / "s.json")],
                "copy of the json": [
                    sys.executable,
                    "-c",
                    "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])",
                    str(tmp / "s.json"),
                    str(tmp / "copy.json"),
                ],
            },
            args.runs,
        )
        size = (tmp / "s.json").stat().st_size
        csv_wall = got["csv report"][0]
        print(
            f"  json / csv                   {got['json report'][0] / csv_wall:.2f}x wall"
            f"   (target at 600k: ≤ 3x, ≤ 2 GB); the document {size / 1e9:.2f} GB,"
            f" {size / args.json_units / 1e3:.1f} kB a unit"
        )
        print(
            f"  copy / csv                   {got['copy of the json'][0] / csv_wall:.2f}x wall"
            "   (writing the document's bytes once, nothing else)"
        )
    if args.xlsx_units:
        src = _data(args.xlsx_units)
        book = _xlsx_of(src)
        print()
        got = _side_by_side(
            f"rank from XLSX, {args.xlsx_units:,} units ({book.stat().st_size / 1e6:.0f} MB workbook)",
            {
                "from csv": [*exe, "rank", str(RULEBOOK), str(src), "-o", str(tmp / "r1.csv")],
                "from xlsx": [*exe, "rank", str(RULEBOOK), str(book), "-o", str(tmp / "r2.csv")],
            },
            args.runs,
        )
        print(f"  from xlsx                    {got['from xlsx'][0]:.2f} s   (target ≤ 1.5 s)")


def national(n: int, args: argparse.Namespace, peers: bool) -> None:
    """CSV in -> ranked CSV out at ``n`` units: the project, polars, numpy, --audit."""
    src = _data(n)
    tmp = Path(tempfile.mkdtemp(prefix="fulian-bench-"))
    ours, base, store = tmp / "ours.csv", tmp / "baseline.csv", tmp / "audit.db"
    exe = [sys.executable, "-m", "fulian_eval"]
    project = [*exe, "rank", str(RULEBOOK), str(src), "--format", "csv", "-o", str(ours)]
    audited = [*project, "--audit", str(store)]
    baseline = [sys.executable, str(HERE / "baseline_town.py"), str(src), str(base)]
    polars_out = tmp / "polars.csv"
    polars = [sys.executable, str(HERE / "baseline_polars.py"), str(src), str(polars_out)]
    if importlib.util.find_spec("polars") is None:
        print(
            "polars is not installed (pip install -e '.[bench]'): its run is skipped",
            file=sys.stderr,
        )
        polars = []

    _, idle, _ = run([*exe, "--version"])
    names = ("project", "polars", "baseline", "audit")
    times: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    peak: dict[str, int] = dict.fromkeys(names, 0)
    for _ in range(args.runs):
        for name, cmd in (
            ("project", project),
            ("polars", polars),
            ("baseline", baseline),
            ("audit", audited),
        ):
            if (name == "audit" and args.no_audit) or not cmd:
                continue
            if name == "audit":
                fresh_store(store)
            t, rss, c = run(cmd)
            times[name].append(t)
            cpu[name].append(c)
            peak[name] = max(peak[name], rss)
    stored = store.stat().st_size if store.exists() else 0
    inner = in_process(src)
    totals_off, ranks_off = differing(ours, base)
    if polars:
        p_totals_off, p_ranks_off = differing(ours, polars_out)

    def line(label: str, name: str) -> str:
        ts = times[name]
        return (
            f"{label:<22} {statistics.median(ts):8.2f} {min(ts):8.2f} {max(ts):8.2f}"
            f" {statistics.median(cpu[name]):8.2f} {peak[name] / 1e6:8.0f} {n / statistics.median(ts):10,.0f}"
        )

    size = src.stat().st_size
    print(
        f"{n:,} units of {RULEBOOK.name} (33 items); input {size / 1e6:.0f} MB; "
        f"median of {args.runs} runs; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'':<22} {'median s':>8} {'min s':>8} {'max s':>8} {'CPU s':>8} {'peak MB':>8} {'units/s':>10}"
    )
    print(line("fulian-eval rank", "project"))
    if times["polars"]:
        print(line("polars script", "polars"))
    print(line("numpy baseline", "baseline"))
    if times["audit"]:
        print(line("fulian-eval --audit", "audit"))
    p, b = statistics.median(times["project"]), statistics.median(times["baseline"])
    per_unit = (peak["project"] - idle) / n
    print()
    if times["polars"]:
        q = statistics.median(times["polars"])
        qc = statistics.median(cpu["polars"])
        pc = statistics.median(cpu["project"])
        print(f"project / polars           {p / q:.2f}x wall, {pc / qc:.2f}x CPU   (target ≤ 1x)")
    print(f"project / numpy baseline   {p / b:.2f}x")
    print(
        f"peak memory per unit       {per_unit:.0f} bytes beyond the idle process "
        f"({peak['project'] / 1e6:.0f} MB peak, idle {idle / 1e6:.0f} MB; baseline "
        f"{peak['baseline'] / 1e6:.0f} MB)   (target ≤ 1024)"
    )
    print(
        f"rulebook load + compile    {1e3 * inner['warm']:.1f} ms warm, {1e3 * inner['cold']:.1f} ms cold "
        f"(the first in a process)   (target ≤ 10 ms)"
    )
    print(f"ranking {int(inner['units']):,} units      {inner['rank']:.3f} s   (target ≤ 0.2 s)")
    if times["audit"]:
        a = statistics.median(times["audit"])
        print(
            f"audit trail adds           {100 * (a / p - 1):.0f} % wall, "
            f"{100 * (statistics.median(cpu['audit']) / statistics.median(cpu['project']) - 1):.0f} % CPU"
            f"   (target ≤ 25 %; peak {peak['audit'] / 1e6:.0f} MB)"
        )
        print(
            f"audit store                {stored / n:,.0f} bytes per unit and run "
            f"({stored / 1e6:,.0f} MB for {n:,} units)"
        )
    print(
        f"rows settled exactly       {int(inner['settled'])} of {int(inner['units']):,} "
        f"(doubtful decisions or cells the columns do not take)"
    )
    print(f"numpy floats vs exact      {totals_off} totals and {ranks_off} ranks differ")
    if polars:
        print(f"polars floats vs exact     {p_totals_off} totals and {p_ranks_off} ranks differ")
    if peers:
        print()
        peer_run = subprocess.run(
            [
                sys.executable,
                str(HERE / "bench_peers.py"),
                "--n",
                str(args.peer_units),
                "--runs",
                str(args.runs),
            ],
            capture_output=True,
            text=True,
        )
        print(peer_run.stdout.rstrip() or peer_run.stderr.rstrip())


if __name__ == "__main__":
    main()
