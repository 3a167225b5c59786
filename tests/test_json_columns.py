"""``score --format json`` of tables written by the columns as they score (report/json_columns.py).

Every document here is compared byte for byte with the per-unit path's
(``score_run(..., full=True).report("score", "json")``: every unit scored whole by the
exact engine, then ``json.dumps``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import fulian_eval as fe
from fulian_eval.io.surveys import load_surveys
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.pipeline import columnar_plan
from fulian_eval.report import json_columns
from fulian_eval.report.json_memo import fast_path_for
from fulian_eval.scoring import stream
from test_json_stream import EXAMPLES, TOWN_CSV, TOWN_RULES, TOWN_TOML, _random_run, _write_csv, cli


def assert_same(
    rb: Rulebook,
    paths: Sequence[str | Path],
    *,
    strict: bool = False,
    survey_paths: Sequence[Path] = (),
    pieced: bool = True,
) -> str:
    """The document the columns wrote is the per-unit path's (text and bytes), and so are
    the rejections and warnings; returns the text."""
    surveys = load_surveys(list(survey_paths), rb)[0] if survey_paths else None
    want_run = fe.score_run(rb, paths, full=True, strict=strict, surveys=surveys)
    want = want_run.report("score", "json")
    with fe.score_run(rb, paths, strict=strict, surveys=surveys, json=True) as run:
        if pieced:
            assert run.json_spool is not None  # the objects were written as the columns scored
        got = run.report("score", "json")
        assert got == want
        if run.json_spool is not None:
            raw = io.BytesIO()
            run.json_spool.write_bytes(raw)  # what the command line writes to a file
            assert raw.getvalue() == want.encode()
        assert run.rejected == want_run.rejected
        assert run.warnings == want_run.warnings
        folder = run.json_spool._folder if run.json_spool is not None else None
    if folder is not None:
        assert not os.path.exists(folder)  # closing the run removed the spool files
    assert got is not None
    return got


def test_town_table_toml_and_both() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    doc = json.loads(assert_same(rb, [TOWN_CSV]))
    assert len(doc["units"]) == 21 and doc["units"][0]["items"][0]["reason"]
    # TOML evidence goes through the per-unit path, its objects written one by one
    assert_same(rb, [TOWN_TOML], pieced=False)  # no table: json_stream scores it
    both = json.loads(assert_same(rb, [TOWN_TOML, TOWN_CSV]))
    assert len(both["rejected"]) == 21  # every unit a second time: a repeat


def test_rejected_files_rows_strict_and_surveys() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    doc = json.loads(assert_same(rb, [EXAMPLES / "town-errors", TOWN_CSV], strict=True))
    assert len(doc["rejected"]) >= 7
    text = assert_same(
        rb, [TOWN_CSV], survey_paths=[EXAMPLES / "surveys" / "town-satisfaction.csv"]
    )
    assert "问卷" in text  # the surveyed units' reasons name the questionnaires


def test_bundled_example_tables() -> None:
    tables = sorted(
        p
        for p in EXAMPLES.rglob("*")
        if p.suffix in (".csv", ".xlsx", ".parquet") and "survey" not in p.parts[-2]
    )
    checked = 0
    for rules in sorted((EXAMPLES.parent / "rules").glob("*.toml")):
        rb = fe.load_rulebook(rules)
        for t in tables:
            try:
                want = fe.score_run(rb, [t], full=True)
            except fe.FulianEvalError:
                continue  # not this rulebook's table
            if not len(want):
                continue
            assert_same(rb, [t], pieced=fast_path_for(rb))
            checked += 1
    assert checked >= 3


def test_table_workers_write_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows, each scored and written by a forked worker into its own file."""
    rb = fe.load_rulebook(TOWN_RULES)
    monkeypatch.setattr(stream, "OBJECTS_BLOCK", 1500)
    monkeypatch.setattr(stream, "_workers", lambda: 2)
    seen: list[int] = []
    made = json_columns.TableJsonSpool.__init__

    def spy(self: Any, rb: Any, folder: str, files: dict[int, str], *rest: Any) -> None:
        seen.extend(files)
        made(self, rb, folder, files, *rest)

    monkeypatch.setattr(json_columns.TableJsonSpool, "__init__", spy)
    assert_same(rb, [TOWN_CSV])
    assert len(set(seen) - {os.getpid()}) >= 2  # both workers wrote objects


def test_a_repeat_across_blocks_keeps_the_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    lines = TOWN_CSV.read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([*lines, lines[3], lines[1]]) + "\n", encoding="utf-8")
    monkeypatch.setattr(stream, "OBJECTS_BLOCK", 1200)
    monkeypatch.setattr(stream, "_workers", lambda: 2)
    doc = json.loads(assert_same(rb, [path]))
    assert len(doc["units"]) == 21 and len(doc["rejected"]) == 2


def test_a_rulebook_the_pieces_cannot_tell_takes_json_stream(tmp_path: Path) -> None:
    """A veto on the total reads the whole unit: no objects are written by the columns."""
    rb = fe.load_rulebook(TOWN_RULES)
    source = TOWN_RULES.read_text(encoding="utf-8")
    assert fast_path_for(rb)
    late = tmp_path / "late.toml"
    late.write_text(
        source + '\n[[categories.items]]\nid = "total_floor"\ntitle = "总分低于60分的，一票否决"\n'
        'kind = "veto"\nwhen = "total < 60"\n',
        encoding="utf-8",
    )
    try:
        rb2 = fe.load_rulebook(late)
    except fe.RulebookError:
        pytest.skip("this rulebook's last category takes no veto item")
    if fast_path_for(rb2):
        pytest.skip("the veto did not read the total")
    with fe.score_run(rb2, [TOWN_CSV], json=True) as run:
        assert run.json_spool is None
        assert run.report("score", "json") == fe.score_run(rb2, [TOWN_CSV], full=True).report(
            "score", "json"
        )


def test_a_failed_run_leaves_no_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    made: list[str] = []
    real = tempfile.mkdtemp

    def mkdtemp(*a: Any, **k: Any) -> str:
        made.append(real(*a, **k))
        return made[-1]

    def boom(self: Any, c: Any) -> Any:
        raise RuntimeError("stop")

    monkeypatch.setattr(json_columns.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(json_columns.TableObjects, "part", boom)
    with pytest.raises(RuntimeError):
        fe.score_run(rb, [TOWN_CSV], json=True)
    assert made and not os.path.exists(made[0])


def test_cli_json_file_and_stdout(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    want = fe.score_run(rb, [TOWN_CSV], full=True).report("score", "json")
    out = tmp_path / "score.json"
    got = cli("score", TOWN_RULES, TOWN_CSV, "--format", "json", "-o", out)
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == (want or "").encode()
    got = cli("score", TOWN_RULES, TOWN_CSV, "--format", "json")
    assert got.stdout == want


def test_cli_json_with_audit_is_the_same_and_verifies(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    want = fe.score_run(rb, [TOWN_CSV], full=True).report("score", "json")
    store = tmp_path / "audit.db"
    out = tmp_path / "score.json"
    got = cli("score", TOWN_RULES, TOWN_CSV, "--format", "json", "-o", out, "--audit", store)
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == (want or "").encode()
    verified = cli("audit", "verify", store)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_random_run())
def test_random_rulebooks_and_tables(
    case: tuple[Rulebook, list[str], list[list[list[str]]], int],
) -> None:
    rb, header, tables, _chunk = case
    with tempfile.TemporaryDirectory() as d:
        for k, rows in enumerate(tables):
            _write_csv(Path(d) / f"t{k}.csv", header, rows)
        try:
            fe.score_run(rb, [d], full=True)
        except fe.FulianEvalError:
            return  # no evidence at all: both paths refuse alike (test_json_stream)
        pieced = fast_path_for(rb) and columnar_plan(rb, [d]) is not None
        assert_same(rb, [d], pieced=pieced)


def test_xlsx_and_parquet_tables(tmp_path: Path) -> None:
    import csv as _csv

    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    rb = fe.load_rulebook(TOWN_RULES)
    with TOWN_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = list(_csv.reader(f))
    book = openpyxl.Workbook()
    sheet = book.active
    for r in rows:
        sheet.append([float(c) if c.replace(".", "", 1).isdigit() else c for c in r])
    book.save(tmp_path / "town.xlsx")
    assert_same(rb, [tmp_path / "town.xlsx"])
    table = pa.table({h: [r[k] for r in rows[1:]] for k, h in enumerate(rows[0])})
    pq.write_table(table, tmp_path / "town.parquet")
    doc = json.loads(assert_same(rb, [tmp_path / "town.parquet"]))
    assert len(doc["units"]) == 21


def test_a_short_row_in_a_worker_block_and_a_table_unreadable_to_its_end(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A block that is not plain sends the table to the csv reader: the objects the workers
    wrote for it are left aside; a table that cannot be read to its end is rejected whole."""
    rb = fe.load_rulebook(TOWN_RULES)
    lines = TOWN_CSV.read_text(encoding="utf-8-sig").splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join([*lines[:15], lines[15].rsplit(",", 3)[0], *lines[16:]]) + "\n")
    monkeypatch.setattr(stream, "OBJECTS_BLOCK", 1500)
    monkeypatch.setattr(stream, "_workers", lambda: 2)
    doc = json.loads(assert_same(rb, [short]))
    assert len(doc["units"]) == 20 and len(doc["rejected"]) == 1
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + '\nx,"never closed\n' + "y,1\n" * 3, encoding="utf-8")
    doc = json.loads(assert_same(rb, [broken, TOWN_TOML]))
    assert len(doc["units"]) == 21 and "broken.csv" in doc["rejected"][0]["error"]
