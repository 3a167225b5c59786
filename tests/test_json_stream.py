"""``score --format json`` in bounded memory (issue 12): the streamed document is the very
text the per-unit path prints (``score_run(full=True)`` + ``score_report``) for the same input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fulian_eval as fe
from fulian_eval.io.surveys import load_surveys
from fulian_eval.io.waivers import WaiverSet
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.report import json_stream
from fulian_eval.report.json_memo import UnitWriter, fast_path_for
from fulian_eval.report.json_stream import InputChanged, dumps_at, spool_score_json
from fulian_eval.testing import evidence_data, evidence_lists, rulebooks

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RULES = ROOT / "rules"
TOWN_RULES = RULES / "town-village-2026.toml"
TOWN_CSV = EXAMPLES / "town" / "town.csv"
TOWN_TOML = EXAMPLES / "town" / "evidence"


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def assert_same(
    rb: Rulebook,
    paths: Sequence[str | Path],
    *,
    strict: bool = False,
    ignore_columns: bool = False,
    waivers: WaiverSet | None = None,
    survey_paths: Sequence[Path] = (),
    chunk: int = json_stream.CHUNK_ROWS,
    workers: int = 1,
) -> str:
    """The streamed document, rejections and warnings are the per-unit path's; returns the text."""
    surveys = load_surveys(list(survey_paths), rb)[0] if survey_paths else None
    run = fe.score_run(
        rb,
        paths,
        full=True,
        strict=strict,
        ignore_columns=ignore_columns,
        waivers=waivers,
        surveys=surveys,
    )
    want = run.report("score", "json")
    with spool_score_json(
        rb,
        paths,
        strict=strict,
        ignore_columns=ignore_columns,
        waivers=waivers,
        surveys=surveys,
        chunk=chunk,
        workers=workers,
    ) as spool:
        got = spool.text()
        assert got == want
        raw = io.BytesIO()
        spool.write_bytes(raw)  # what the CLI writes to a file
        assert raw.getvalue() == want.encode()
        assert spool.rejected == run.rejected
        assert spool.warnings == run.warnings
        assert len(spool) == len(run.ranked)
    return got


def test_town_table_and_toml_files_are_the_per_unit_documents() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    text = assert_same(rb, [TOWN_CSV])
    doc = json.loads(text)
    assert len(doc["units"]) == 21 and doc["units"][0]["rank"] == 1
    assert doc["units"][0]["items"][0]["reason"]  # every reason is there
    assert_same(rb, [TOWN_TOML], chunk=4)
    # A unit in both is a duplicate: rejected, with the per-unit path's message and order.
    both = assert_same(rb, [TOWN_TOML, TOWN_CSV], chunk=5)
    assert len(json.loads(both)["rejected"]) == 21


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_chunks_do_not_change_a_byte(chunk: int) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    assert_same(rb, [TOWN_CSV], chunk=chunk)


def test_two_workers_write_the_same_bytes() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    assert_same(rb, [TOWN_CSV, TOWN_TOML], chunk=4, workers=2)


def test_rejected_files_and_rows_and_strict() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    text = assert_same(rb, [EXAMPLES / "town-errors", TOWN_CSV], strict=True, chunk=6)
    doc = json.loads(text)
    assert len(doc["rejected"]) >= 4 + 3  # the four bad files, the approximate units


def test_waivers_and_surveys() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    waivers, _ = fe.load_waivers(EXAMPLES / "town" / "waivers.toml", rb, dt.date(2026, 11, 20))
    text = assert_same(rb, [TOWN_TOML], waivers=waivers, chunk=7)
    assert '"waived"' in text
    assert_same(
        rb, [TOWN_CSV], survey_paths=[EXAMPLES / "surveys" / "town-satisfaction.csv"], chunk=5
    )


def test_bundled_examples() -> None:
    women = fe.load_rulebook(RULES / "women-home-2026.toml")
    assert_same(
        women,
        [EXAMPLES / "women-home" / "evidence.csv"],
        survey_paths=[EXAMPLES / "women-home" / "survey.csv"],
        chunk=2,
    )
    floating = fe.load_rulebook(RULES / "floating-population-2026.toml")
    assert_same(floating, [EXAMPLES / "floating"], chunk=2)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def _town_rows() -> tuple[list[str], list[list[str]]]:
    with TOWN_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_ties_broken_rows_and_warnings(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    header, rows = _town_rows()
    out = []
    for k in range(3):  # every unit three times under new ids: ties everywhere
        for r in rows:
            out.append([f"{r[0]}-{k}", *r[1:]])
    out.append(["bad", "坏", "东片", "self", *(["abc"] * (len(header) - 4))])
    out.append(["", "", "", ""])
    out.append(["short"])
    _write_csv(tmp_path / "t.csv", [*header, "note"], [[*r, "x"] for r in out])
    text = assert_same(rb, [tmp_path / "t.csv"], ignore_columns=True, chunk=8)
    doc = json.loads(text)
    ranks = [u["rank"] for u in doc["units"]]
    assert len(ranks) > len(set(ranks))  # tied places
    assert doc["rejected"]


def test_no_units_at_all(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    header, rows = _town_rows()
    _write_csv(
        tmp_path / "t.csv", header, [["x", *r[1:4], *(["abc"] * (len(r) - 4))] for r in rows[:2]]
    )
    text = assert_same(rb, [tmp_path / "t.csv"])
    assert json.loads(text)["units"] == []


def test_a_table_that_cannot_be_read_to_its_end_is_rejected_whole(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    text = TOWN_CSV.read_text(encoding="utf-8-sig")
    (tmp_path / "t.csv").write_text(text + 'x,"never closed\n' + "y,1\n" * 3, encoding="utf-8")
    doc = json.loads(assert_same(rb, [tmp_path / "t.csv", TOWN_TOML]))
    assert len(doc["units"]) == 21 and "t.csv" in doc["rejected"][0]["error"]


def test_a_table_changed_since_the_run_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_bytes(TOWN_CSV.read_bytes())
    run = fe.score_run(TOWN_RULES, [table])
    assert run.pipeline == "columns"
    first = run.report("score", "json")
    assert first == fe.score_run(TOWN_RULES, [table], full=True).report("score", "json")
    with table.open("a", encoding="utf-8") as f:
        f.write(
            TOWN_CSV.read_text(encoding="utf-8-sig").splitlines()[1].replace("baisha", "new") + "\n"
        )
    with pytest.raises(InputChanged, match=r"t\.csv"):
        run.report("score", "json")


def test_a_table_changed_while_it_is_read_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "t.csv"
    table.write_bytes(TOWN_CSV.read_bytes())
    real = json_stream._work

    def grow(tasks: Any) -> Any:
        with table.open("a", encoding="utf-8") as f:
            f.write("\n")
        return real(tasks)

    monkeypatch.setattr(json_stream, "_work", grow)
    with pytest.raises(InputChanged, match=r"t\.csv"):
        spool_score_json(fe.load_rulebook(TOWN_RULES), [table], chunk=5, workers=1)


# ------------------------------------------------------------ the command line


def test_cli_stdout_and_file(tmp_path: Path) -> None:
    want = fe.score_run(TOWN_RULES, [TOWN_CSV, EXAMPLES / "town-errors"], full=True)
    p = cli("score", TOWN_RULES, TOWN_CSV, EXAMPLES / "town-errors", "--format", "json")
    assert p.returncode == 1  # some units rejected
    assert p.stdout == want.report("score", "json")
    assert "负数" in p.stderr or "拒" in p.stderr
    out = tmp_path / "out.json"
    out.write_text("old report", encoding="utf-8")
    q = cli("score", TOWN_RULES, TOWN_CSV, "--format", "json", "-o", out)
    assert q.returncode == 0, q.stderr
    assert out.read_bytes() == fe.score_run(TOWN_RULES, [TOWN_CSV], full=True).report(
        "score", "json"
    ).encode("utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_failure_leaves_the_old_report(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old report", encoding="utf-8")
    (tmp_path / "empty").mkdir()  # no evidence at all: a usage error
    p = cli("score", TOWN_RULES, tmp_path / "empty", "--format", "json", "-o", out)
    assert p.returncode == 2
    assert out.read_text(encoding="utf-8") == "old report"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_waivers_in_json(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    waivers, _ = fe.load_waivers(EXAMPLES / "town" / "waivers.toml", rb, dt.date(2026, 11, 20))
    want = fe.score_run(rb, [TOWN_CSV], full=True, waivers=waivers).report("score", "json")
    p = cli(
        "score",
        TOWN_RULES,
        TOWN_CSV,
        "--waivers",
        EXAMPLES / "town" / "waivers.toml",
        "--today",
        "2026-11-20",
        "--format",
        "json",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == want


# ------------------------------------------------------------ memory


def _many(tmp_path: Path, n: int) -> Path:
    header, rows = _town_rows()
    out = [[f"u{k:06d}", *rows[k % len(rows)][1:]] for k in range(n)]
    return _write_csv(tmp_path / f"many-{n}.csv", header, out)


def _peak(rb: Rulebook, path: Path, chunk: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with spool_score_json(rb, [path], workers=1, chunk=chunk) as spool:
            with open(os.devnull, "w", encoding="utf-8") as f:
                spool.write(f)
            n = len(spool)
        return tracemalloc.get_traced_memory()[1], n
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("small", "big", "chunk"),
    [(40, 200, 10), pytest.param(500, 2500, 100, marks=pytest.mark.slow)],
)
def test_memory_grows_far_less_than_the_units(
    tmp_path: Path, small: int, big: int, chunk: int
) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    low, n_small = _peak(rb, _many(tmp_path, small), chunk)
    high, n_big = _peak(rb, _many(tmp_path, big), chunk)
    assert (n_small, n_big) == (small, big)
    # Five times the units: the full results of one chunk dominate, not the units.
    assert high < 2 * low, (low, high)


def test_only_a_chunk_of_full_results_is_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weakref

    rb = fe.load_rulebook(TOWN_RULES)
    alive: set[int] = set()
    most = [0]
    real = json_stream.score

    def counted(rb_: Rulebook, ev: Any, waived: Any = None) -> Any:
        res = real(rb_, ev, waived or {})
        key = id(res)
        alive.add(key)
        weakref.finalize(res, alive.discard, key)
        most[0] = max(most[0], len(alive))
        return res

    monkeypatch.setattr(json_stream, "score", counted)
    monkeypatch.setattr(json_stream, "PIECED", False)  # every unit scored whole
    with spool_score_json(rb, [_many(tmp_path, 300)], workers=1, chunk=10) as spool:
        assert len(spool) == 300
    assert 1 <= most[0] <= 2


# ------------------------------------------------------------ the fast writer

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.integers(0, 4))
def test_the_fast_writer_is_json_dumps(obj: Any, depth: int) -> None:
    want = json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * depth)
    assert dumps_at(obj, depth) == want


def test_the_fast_writer_falls_back_for_what_it_does_not_write() -> None:
    obj = {"a": [1.5, float("inf")], "b": (1, "x"), "c": Decimal("1")}
    with pytest.raises(TypeError):
        dumps_at(obj)
    obj2 = {"a": [1.5, float("inf")], "b": (1, "x")}
    assert dumps_at(obj2, 2) == json.dumps(obj2, ensure_ascii=False, indent=1).replace("\n", "\n  ")


# ------------------------------------------------------------ random rulebooks

_BOOL_WORDS = (("是", "否"), ("true", "false"), ("1", "0"))
_JUNK = ("abc", "-1", "1.5", "   ", "1,000", "近", "是", "1" * 22)


def _cell(v: Any, words: tuple[str, str]) -> str:
    if isinstance(v, bool):
        return words[0] if v else words[1]
    if isinstance(v, list):
        return ";".join(v)
    return str(v)


@st.composite
def _random_run(draw: st.DrawFn) -> tuple[Rulebook, list[str], list[list[list[str]]], int]:
    rb = draw(rulebooks(max_categories=3, max_items=4))
    fields = list(rb.fields)
    manual = [i.id for i in rb.items() if i.kind == "manual"]
    header = ["unit", "name", "group", "role", *fields, *[f"points:{m}" for m in manual]]
    words = draw(st.sampled_from(_BOOL_WORDS))
    ids = st.integers(0, 7).map(lambda i: f"u{i}")
    roles = st.sampled_from(("self", "self", "peer", "town"))
    datas = draw(st.lists(evidence_data(rb, unit_ids=ids, roles=roles), max_size=10))
    rows = []
    for d in datas:
        r = [d["unit"]["id"], d["unit"]["name"], d["unit"]["group"], d["assessment"]["role"]]
        r += [_cell(d["values"][f], words) if f in d["values"] else "" for f in fields]
        r += [_cell(d["points"][m], words) if m in d["points"] else "" for m in manual]
        if draw(st.integers(0, 5)) == 0:
            r[draw(st.integers(0, len(r) - 1))] = draw(st.sampled_from(_JUNK))
        rows.append(r)
    cut = draw(st.integers(0, len(rows)))
    return rb, header, [rows[:cut], rows[cut:]], draw(st.sampled_from((1, 2, 3, 100)))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_random_run())
def test_random_rulebooks_and_tables(
    case: tuple[Rulebook, list[str], list[list[list[str]]], int],
) -> None:
    rb, header, tables, chunk = case
    with tempfile.TemporaryDirectory() as d:
        for k, rows in enumerate(tables):
            _write_csv(Path(d) / f"t{k}.csv", header, rows)
        assert_same(rb, [d], chunk=chunk)


def test_without_pread_the_spool_is_read_by_seeking(monkeypatch: pytest.MonkeyPatch) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    want = assert_same(rb, [TOWN_CSV])
    monkeypatch.delattr(os, "pread")  # as on Windows
    with spool_score_json(rb, [TOWN_CSV], workers=1) as spool:
        assert spool.text() == want


def test_workers_from_the_environment_and_never_beside_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    # Threads an earlier test left in this process (a Dask cluster's) are not this test's.
    left = {t for t in threading.enumerate() if t is not threading.main_thread()}
    real = threading.enumerate
    monkeypatch.setattr(threading, "enumerate", lambda: [t for t in real() if t not in left])
    monkeypatch.setenv("FULIAN_EVAL_WORKERS", "0")
    assert json_stream._workers(None) == 1
    monkeypatch.setenv("FULIAN_EVAL_WORKERS", "3")
    assert json_stream._workers(None) == 3
    assert json_stream._workers(2) == 2
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert json_stream._workers(None) == 1  # a thread of the caller's: no fork
    finally:
        stop.set()
        t.join()


# ------------------------------------------- unit objects pieced from remembered outcomes


def _whole(rb: Rulebook, ev: Any) -> tuple[Any, str]:
    res = fe.score(rb, ev)
    data, split = json_stream.unit_bytes(rb, res)
    return res.rank_key(rb.tie_break), (data[:split] + data[split:]).decode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_pieced_objects_are_the_exact_engines_on_random_rulebooks(data: st.DataObject) -> None:
    rb = data.draw(rulebooks(max_categories=4, max_items=5))
    roles = st.sampled_from(("self", "peer", "town"))
    evs = data.draw(evidence_lists(rb, max_size=8, roles=roles))
    # Each unit twice (the second time from the caches), a unit's values on another's
    # identity, and caches small enough to be cleared on the way.
    evs = evs + evs + [attrs.evolve(e, unit=evs[0].unit) for e in evs[1:]]
    for limit in (1, 3, 10_000):
        writer = UnitWriter(rb, dumps_at, limit=limit)
        for ev in evs:
            made = writer.write(ev)
            if made is None:
                assert not fast_path_for(rb) or ev.surveyed
                continue
            res, key, text = made
            want_key, want = _whole(rb, ev)
            assert text.replace(json_stream._RANK_AT, "", 1) == want
            assert key == want_key
            assert (res.unit, res.role, res.source) == (ev.unit, ev.role, ev.source)
            whole = fe.score(rb, ev)  # the exact total, not only as printed
            assert (res.total, res.grade, res.flags) == (whole.total, whole.grade, whole.flags)
        if fast_path_for(rb):
            assert writer.stats.pieced == len(evs)
            if limit > len(evs):  # nothing forgotten: the second time round, every item is a hit
                assert writer.stats.hits >= writer.stats.pieced // 3 * len(list(rb.items()))


def test_the_town_scheme_takes_the_pieced_path(tmp_path: Path) -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    assert fast_path_for(rb)
    json_stream._WRITER = None
    assert_same(rb, [_many(tmp_path, 300)], chunk=50)
    stats = json_stream._WRITER.stats if json_stream._WRITER is not None else None
    assert stats is not None
    assert (stats.pieced, stats.exact) == (300, 0)  # no unit fell back to the exact engine
    assert stats.hits > 3 * stats.misses  # most item outcomes came from the caches


def test_surveyed_and_waived_units_are_scored_whole() -> None:
    rb = fe.load_rulebook(TOWN_RULES)
    json_stream._WRITER = None
    assert_same(
        rb, [TOWN_CSV], survey_paths=[EXAMPLES / "surveys" / "town-satisfaction.csv"], chunk=5
    )
    assert json_stream._WRITER is not None and json_stream._WRITER.stats.exact > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rulebooks(max_categories=3, max_items=4),
    st.fractions(min_value=-1000, max_value=1000),
    st.sampled_from(("scored", "missing", "not_applicable", "veto")),
    st.text() | st.sampled_from(['"reason": "\\u0000reason\\u0000"', "\0reason\0", '\\"', "\n"]),
    st.sampled_from((0, 1, 2)),
)
def test_an_item_template_filled_in_is_item_json_written(
    rb: Rulebook, points: Any, status: str, reason: str, places: int
) -> None:
    from json.encoder import encode_basestring

    from fulian_eval.lang.text import fmt_points
    from fulian_eval.report.json_memo import item_template
    from fulian_eval.report.render import item_json
    from fulian_eval.scoring.exact import _result

    for item in rb.items():
        res = _result(item, points, status, reason)
        t = item_template(item, places, dumps_at)
        made = (
            f"{t[0]}{encode_basestring(fmt_points(points, places))}{t[1]}"
            f"{encode_basestring(status)}{t[2]}{encode_basestring(reason)}{t[3]}"
        )
        assert made == dumps_at(item_json(res, places), 4)
