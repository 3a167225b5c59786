"""``fe.score_run``: the library chooses the pipeline and writes the very bytes the command line writes."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import fulian_eval as fe
from fulian_eval.testing import evidence_data, rulebook_texts  # noqa: F401  (the testing extra is installed)
from test_stream import _random_tables, write_csv  # the random tables of the streaming tests

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_TOML = ROOT / "examples" / "town" / "evidence"


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def _many_units(tmp_path: Path, n: int) -> Path:
    """The town table's rows repeated under new unit ids: ``n`` units."""
    lines = TOWN_CSV.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:]
    out = [head]
    for k in range(n):
        cells = rows[k % len(rows)].split(",")
        cells[0] = f"u{k:05d}"
        out.append(",".join(cells))
    path = tmp_path / "many.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["rank", "score"])
@pytest.mark.parametrize("fmt", ["csv", "table", "markdown"])
def test_a_table_streams_and_writes_the_cli_bytes(tmp_path: Path, kind: str, fmt: str) -> None:
    table = _many_units(tmp_path, 3000)
    run = fe.score_run(RULES, [table])
    assert run.pipeline == "columns" and len(run) == 3000
    p = cli(kind, RULES, table, "--format", fmt)
    assert p.returncode == 0, p.stderr
    assert run.report(kind, fmt) == p.stdout


def test_a_report_file_is_the_cli_file(tmp_path: Path) -> None:
    run = fe.score_run(str(RULES), [TOWN_CSV])
    run.report("rank", "csv", tmp_path / "lib.csv")
    assert cli("rank", RULES, TOWN_CSV, "-o", tmp_path / "cli.csv").returncode == 0
    assert (tmp_path / "lib.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    assert (
        (tmp_path / "lib.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    )  # as the CLI writes files: Excel's BOM


def test_a_report_that_fails_leaves_the_older_file_and_no_temporary_file(tmp_path: Path) -> None:
    from fulian_eval.report.json_stream import InputChanged

    table = tmp_path / "t.csv"
    table.write_bytes(TOWN_CSV.read_bytes())
    run = fe.score_run(RULES, [table])
    old = tmp_path / "report.json"
    old.write_text("last year's report", encoding="utf-8")
    with table.open("a", encoding="utf-8") as f:  # the table changes: the JSON report stops
        f.write(TOWN_CSV.read_text(encoding="utf-8-sig").splitlines()[1].replace("baisha", "x"))
    with pytest.raises(InputChanged):
        run.report("score", "json", old)
    assert old.read_text(encoding="utf-8") == "last year's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "t.csv"]
    # A report that succeeds replaces it, keeping its permission bits, through a symlink.
    old.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(old)
    run.report("rank", "csv", link)
    assert link.is_symlink() and old.read_bytes().startswith(b"\xef\xbb\xbf")
    assert old.stat().st_mode & 0o777 == 0o640
    for fmt in ("parquet", "xlsx"):
        run.report("rank", fmt, tmp_path / f"r.{fmt}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "link.csv",
        "r.parquet",
        "r.xlsx",
        "report.json",
        "t.csv",
    ]


def test_toml_evidence_takes_the_per_unit_path_with_the_same_scores() -> None:
    summaries = fe.score_run(RULES, [TOWN_TOML])
    columns = fe.score_run(RULES, [TOWN_CSV])
    assert summaries.pipeline == "summaries" and columns.pipeline == "columns"
    p = cli("rank", RULES, TOWN_TOML, "--format", "csv")
    assert summaries.report("rank", "csv") == p.stdout
    # the town table holds the same units as the TOML folder
    assert [(r.result.unit.id, r.result.total, r.rank) for r in summaries.ranked] == [
        (r.result.unit.id, r.result.total, r.rank) for r in columns.ranked
    ]


def test_full_results_give_the_cli_json() -> None:
    run = fe.score_run(RULES, [TOWN_TOML], full=True)
    assert run.pipeline == "per-unit"
    assert isinstance(run.ranked[0].result, fe.UnitResult) and run.ranked[0].result.items[0].reason
    p = cli("score", RULES, TOWN_TOML, "--format", "json")
    assert run.report("score", "json") == p.stdout


def test_score_json_of_a_streamed_run_is_scored_again_exactly() -> None:
    run = fe.score_run(RULES, [TOWN_CSV])
    assert run.pipeline == "columns"
    full = fe.score_run(RULES, [TOWN_CSV], full=True)
    assert run.report("score", "json") == full.report("score", "json")


def test_rank_json_streams_from_the_columns(tmp_path: Path) -> None:
    """``rank --format json`` of a table is made from the columns (it held every unit's full
    result before: ~150 kB a unit), with the bytes of the per-unit path."""
    table = _many_units(tmp_path, 800)
    run = fe.score_run(RULES, [table])
    assert run.pipeline == "columns"
    text = run.report("rank", "json")
    assert text == fe.score_run(RULES, [table], full=True).report("rank", "json")
    assert len(json.loads(text)["ranking"]) == 800
    p = cli("rank", RULES, table, "--format", "json")
    assert p.returncode == 0 and p.stdout == text


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_random_tables())
def test_rank_json_from_the_columns_is_the_per_unit_json_on_random_tables(
    case: tuple[fe.Rulebook, list[str], list[list[list[str]]], int, bool],
) -> None:
    rb, header, tables, _chunk, strict = case
    with tempfile.TemporaryDirectory() as d:
        for k, rows in enumerate(tables):
            write_csv(Path(d) / f"t{k}.csv", header, rows)
        run = fe.score_run(rb, [d], strict=strict)
        full = fe.score_run(rb, [d], strict=strict, full=True)
        assert run.report("rank", "json") == full.report("rank", "json")


def test_rejected_units_are_in_the_result_not_raised(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    lines = TOWN_CSV.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    bad = lines[1].split(",")
    col = head.index("meetings")
    bad[col] = "很多"
    table.write_text("\n".join([lines[0], ",".join(bad), *lines[2:]]) + "\n", encoding="utf-8")
    run = fe.score_run(RULES, [table])
    assert len(run.rejected) == 1 and "很多" in run.rejected[0].error
    assert len(run) == len(lines) - 2


def test_waivers_take_the_per_unit_path(tmp_path: Path) -> None:
    rb = fe.load_rulebook(RULES)
    import datetime as dt

    waivers, _ = fe.load_waivers(
        ROOT / "examples" / "town" / "waivers.toml", rb, dt.date(2026, 12, 1)
    )
    run = fe.score_run(rb, [TOWN_CSV], waivers=waivers)
    assert run.pipeline == "summaries"
    p = cli(
        "rank",
        RULES,
        TOWN_CSV,
        "--waivers",
        ROOT / "examples" / "town" / "waivers.toml",
        "--today",
        "2026-12-01",
        "--format",
        "csv",
    )
    assert run.report("rank", "csv") == p.stdout
