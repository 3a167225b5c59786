"""Plain CSV tables are read through Arrow batches (numbers parsed without a Python object
per cell); every table scores exactly as through the csv reader and the per-unit path."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fulian_eval as fe
from fulian_eval.scoring import stream

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"

#: Cells a clerk types in number columns: plain, odd, approximate, blank, bad.
ODD = [
    "1000余",
    "160多",
    "近100",
    " 12",
    "12 ",
    "0012",
    "3.50",
    "12.",
    ".5",
    "-3",
    "1e3",
    "１２",
    "",
    " ",
    "很多",
    "3.1415926",
    "12345678901234567890",
    "2万",
    "1.2万",
    "一千二百",
]


def _table(path: Path, n: int, *, crlf: bool = False, seed: int = 7, odd: float = 0.05) -> Path:
    lines = TOWN_CSV.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:]
    numeric = [
        k
        for k, h in enumerate(head.split(","))
        if k >= 5
        and h.split("[")[0]
        in {
            "households",
            "population",
            "floating_population",
            "meetings",
            "trainings",
            "trainees",
            "books",
            "computers",
            "funds",
            "room_area",
            "visits",
            "lectures",
            "satisfaction",
        }
    ]
    rnd = random.Random(seed)
    out = [head]
    for k in range(n):
        cells = rows[k % len(rows)].split(",")
        cells[0] = f"u{k:05d}"
        for c in numeric:
            if rnd.random() < odd:
                cells[c] = rnd.choice(ODD)
        out.append(",".join(cells))
    end = "\r\n" if crlf else "\n"
    path.write_bytes((end.join(out) + end).encode("utf-8"))
    return path


def _both(path: Path) -> tuple[str, str, str]:
    streamed = fe.score_run(RULES, [path])
    per_unit = fe.score_run(RULES, [path], full=True)
    assert streamed.pipeline == "columns" and per_unit.pipeline == "per-unit"
    rej = "\n".join(r.error for r in streamed.rejected)
    assert rej == "\n".join(r.error for r in per_unit.rejected)
    return streamed.report("score", "csv"), per_unit.report("score", "csv"), rej


@pytest.mark.parametrize("crlf", [False, True])
def test_a_plain_table_takes_arrow_and_scores_as_the_per_unit_path(
    tmp_path: Path, crlf: bool
) -> None:
    path = _table(tmp_path / "t.csv", 2000, crlf=crlf)
    assert stream._arrow_batches(path, 48) is not None
    a, b, rejected = _both(path)
    assert a == b
    assert "很多" in rejected  # a bad cell rejects its row on both paths


def test_a_table_with_a_quote_takes_the_csv_reader(tmp_path: Path) -> None:
    path = _table(tmp_path / "t.csv", 300)
    text = path.read_text(encoding="utf-8").replace("花园社区", '"花园社区"', 1)
    path.write_text(text, encoding="utf-8")
    assert stream._arrow_batches(path, 48) is None
    a, b, _ = _both(path)
    assert a == b


def test_a_lone_carriage_return_takes_the_csv_reader(tmp_path: Path) -> None:
    path = _table(tmp_path / "t.csv", 50)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r", 3))
    assert stream._arrow_batches(path, 48) is None


def test_a_short_row_past_the_first_batch_is_read_again_by_the_csv_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "ARROW_BLOCK", 8192)  # many small batches
    path = _table(tmp_path / "t.csv", 600, odd=0)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[500] = ",".join(lines[500].split(",")[:10])  # row 501: ten cells of 48
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = fe.score_run(RULES, [path])
    assert len(run) == 599
    assert [r.source.endswith("t.csv row 501") for r in run.rejected] == [True]
    a, b, _ = _both(path)
    assert a == b


def test_many_batches_keep_row_numbers_and_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "ARROW_BLOCK", 4096)
    path = _table(tmp_path / "t.csv", 900, seed=3, odd=0.1)
    a, b, _ = _both(path)
    assert a == b


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.lists(
        st.sampled_from(ODD) | st.from_regex(r"\A[0-9]{1,12}(\.[0-9]{1,8})?\Z"),
        min_size=20,
        max_size=20,
    )
)
def test_number_cells_read_by_arrow_as_by_the_csv_reader(tmp_path: Path, cells: list[str]) -> None:
    lines = TOWN_CSV.read_text(encoding="utf-8").splitlines()
    head, rows = lines[0], lines[1:]
    names = head.split(",")
    count, number = names.index("books[册]"), names.index("room_area[m^2]")
    out = [head]
    for k, cell in enumerate(cells):
        row = rows[k % len(rows)].split(",")
        row[0], row[count], row[number] = f"u{k:03d}", cell, cells[-1 - k]
        out.append(",".join(row))
    path = tmp_path / "p.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    a, b, _ = _both(path)
    assert a == b


@pytest.mark.parametrize("block", [64, 1000, 4099])
def test_blocks_cut_at_any_byte_keep_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # Blocks shorter than a line, and cuts anywhere: every row read once, in order, the
    # last line without a line end too.
    monkeypatch.setattr(stream, "ARROW_BLOCK", block)
    path = _table(tmp_path / "t.csv", 120, seed=5, odd=0.1)
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    blocks = stream._arrow_batches(path, 48)
    assert blocks is not None
    with blocks:
        units = [u for b in blocks for u in b.column(0).to_pylist()]
    assert len(units) == 120 and len(set(units)) == 120
    # Where the workers' blocks are cut: as the blocks, with the rows each holds counted.
    with stream._arrow_batches(path, 48) as again:  # type: ignore[union-attr]
        want = []
        for at, data, first in again.blocks():
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            want.append((at, len(data), first, lines - int(first)))
    with stream._arrow_batches(path, 48) as again:  # type: ignore[union-attr]
        assert list(again.cuts()) == want
    assert sum(w[3] for w in want) == 120
    a, b, _ = _both(path)
    assert a == b


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.text(
            alphabet=st.sampled_from(
                [
                    "a",
                    "Z",
                    "0",
                    " ",
                    "\t",
                    "\u3000",
                    "村",
                    "社",
                    "\u0301",
                    "é",
                    "（",
                    "\uf900",
                    "\x1f",
                ]
            ),
            max_size=6,
        ),
        min_size=1,
        max_size=30,
    ),
    distinct=st.booleans(),
)
def test_meta_columns_read_as_the_text_reader_reads_them(cells: list[str], distinct: bool) -> None:
    import pyarrow as pa

    from fulian_eval.io.tables import nfc

    assert stream._meta_texts(pa.array(cells, pa.string()), distinct) == [
        nfc(c.strip()) for c in cells
    ]


@pytest.fixture
def in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table scored by two forked workers, a few hundred rows a block."""
    monkeypatch.setattr(stream, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(stream, "ARROW_BLOCK", 20_000)
    monkeypatch.setattr(stream, "_workers", lambda: 2)


def test_workers_score_as_one_process_does(tmp_path: Path, in_workers: None) -> None:
    path = _table(tmp_path / "t.csv", 1500, seed=11, odd=0.1)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1200] = lines[3]  # a repeat of a unit in a later block: rejected, the first stays
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[int] = []
    real = stream._parallel_rows

    def spy(*args: object, **kw: object) -> None:
        seen.append(1)
        real(*args, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as m:
        m.setattr(stream, "_parallel_rows", spy)
        a, b, rejected = _both(path)
    assert seen  # the workers scored it
    assert a == b
    assert "t.csv row 1201" in rejected and "很多" in rejected


def test_workers_hand_the_text_columns_over_as_arrow_arrays(
    tmp_path: Path, in_workers: None
) -> None:
    """The workers' Arrow copies of unit, name, group and role are the table's own texts (odd
    cells normalised, rows the per-unit path rejected left out), and the report written from
    them is the per-unit path's."""
    path = _table(tmp_path / "t.csv", 1500, seed=5, odd=0.1)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[40].split(",")
    cells[1] = " 花园社区\u0301 "  # an edge space and a combining mark: nfc(strip) applies
    lines[40] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = fe.score_run(RULES, [path])
    t = run.table
    for texts in (t.unit, t.name):
        assert texts._arrays is not None  # every row came with its Arrow texts
        assert len(texts._arrays) > 1  # from several blocks
    run.report("rank", "csv", tmp_path / "out.csv")
    assert t.unit._list == [] and t.name._list == []  # no Python string made for the report
    for name in ("unit", "name", "group", "role"):
        assert t.text_array(name).to_pylist() == getattr(t, name)
    assert "花园社区\u0301" in t.text_array("name").to_pylist()  # stripped, as the table has it
    a, b, rejected = _both(path)
    assert a == b
    assert "很多" in rejected


def test_a_repeat_drops_the_arrow_texts_and_the_report_stays_the_same(
    tmp_path: Path, in_workers: None
) -> None:
    path = _table(tmp_path / "t.csv", 1500, seed=11, odd=0)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1200] = lines[3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = fe.score_run(RULES, [path])
    assert run.table.unit._arrays is None  # a repeat is merged row by row, as Python strings
    for name in ("unit", "name", "group", "role"):
        assert run.table.text_array(name).to_pylist() == getattr(run.table, name)


def test_a_short_row_in_a_worker_falls_back_to_the_csv_reader(
    tmp_path: Path, in_workers: None
) -> None:
    path = _table(tmp_path / "t.csv", 900, odd=0)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[700] = ",".join(lines[700].split(",")[:10])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = fe.score_run(RULES, [path])
    assert len(run) == 899
    assert [r.source for r in run.rejected] == [f"{path.name} row 701"] or [
        r.source.endswith("t.csv row 701") for r in run.rejected
    ] == [True]
    a, b, _ = _both(path)
    assert a == b


def test_workers_feed_the_audit_trail_in_input_order(tmp_path: Path, in_workers: None) -> None:
    from fulian_eval.cli import main

    path = _table(tmp_path / "t.csv", 1200, seed=2, odd=0.05)
    store = tmp_path / "a.db"
    assert main(
        ["rank", str(RULES), str(path), "-o", str(tmp_path / "r.csv"), "--audit", str(store)]
    ) in (0, 1)
    assert main(["audit", "verify", str(store)]) == 0
    assert main(["audit", "replay", str(store), "--run", "1"]) == 0


def test_workers_are_not_forked_beside_a_callers_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    # Threads an earlier test left in this process (a Dask cluster's) are not this test's.
    left = {t for t in threading.enumerate() if t is not threading.main_thread()}
    real = threading.enumerate
    monkeypatch.setattr(threading, "enumerate", lambda: [t for t in real() if t not in left])
    monkeypatch.setenv("FULIAN_EVAL_WORKERS", "3")
    assert stream._workers() == 3
    monkeypatch.setenv("FULIAN_EVAL_WORKERS", "0")
    assert stream._workers() == 0
    monkeypatch.setenv("FULIAN_EVAL_WORKERS", "2")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert stream._workers() == 0  # a caller's thread: one process scores
    finally:
        stop.set()
        other.join()
    assert stream._workers() == 2


@settings(max_examples=300, deadline=None)
@given(chunk=st.text(alphabet="\r\na,", min_size=1, max_size=40).map(str.encode))
def test_carriage_returns_end_lines_as_counting_says(chunk: bytes) -> None:
    counted = chunk.count(b"\r") - chunk.endswith(b"\r") == chunk.count(b"\r\n")
    assert stream._crs_end_lines(chunk) == counted


def test_the_command_line_never_imports_pandas_and_a_library_caller_still_can(
    tmp_path: Path, in_workers: None
) -> None:
    """pyarrow would import pandas (0.3-0.4 s a process) on its first array from Python values;
    the ``fulian-eval`` process keeps it unseen, its forked workers too, with the same report."""
    import subprocess
    import sys

    path = _table(tmp_path / "t.csv", 600, odd=0)
    code = (
        "import sys\n"
        "from fulian_eval.scoring import stream\n"
        "stream.PARALLEL_BYTES = 0; stream.ARROW_BLOCK = 20_000; stream._workers = lambda: 2\n"
        "sys.argv = ['fulian-eval', 'rank', sys.argv[1], sys.argv[2], '--format', 'csv', '-o', sys.argv[3]]\n"
        "from fulian_eval.cli import run\n"
        "code = run()\n"
        "print(code, 'pandas' in sys.modules)\n"
    )
    out = tmp_path / "out.csv"
    got = subprocess.run(
        [sys.executable, "-c", code, str(RULES), str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert got.stdout.split() == ["0", "False"], got.stderr
    assert out.read_text(encoding="utf-8-sig") == fe.score_run(RULES, [path]).report("rank", "csv")
    # main(), as a library caller or a test calls it, leaves pandas importable
    from fulian_eval.cli import main

    main(["rank", str(RULES), str(path), "--format", "csv", "-o", str(tmp_path / "again.csv")])
    import pandas  # noqa: F401


@pytest.mark.parametrize("clash", [False, True])
def test_repeats_are_found_by_hashes_or_by_the_set_when_hashes_clash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clash: bool
) -> None:
    """Keys are checked by 64-bit hashes while none meets another; a hash met again (here every
    key hashes alike) hands the check to the Python set of keys, with the same rejections."""
    path = _table(tmp_path / "t.csv", 1500, seed=3, odd=0.05)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1300] = lines[7]  # a repeat in a later chunk
    lines[9] = lines[8]  # and one in the same chunk
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settled: list[bool] = []
    real_settle = stream._Scorer._settle

    def spy(self: stream._Scorer) -> None:
        settled.append(self._hashing)
        real_settle(self)

    monkeypatch.setattr(stream._Scorer, "_settle", spy)
    monkeypatch.setattr(stream, "ARROW_BLOCK", 40_000)  # several chunks
    if clash:
        monkeypatch.setattr(stream, "_key_hashes", lambda ids, roles: np.zeros(len(ids), np.uint64))
    a, b, rejected = _both(path)
    assert a == b
    assert "t.csv row 1301" in rejected and "t.csv row 10" in rejected
    assert settled[0] is True  # the run left the hashes for the set at the first doubt


def test_the_arrow_report_columns_come_from_the_arrays_as_each_row_says(tmp_path: Path) -> None:
    """``table_columns`` (Parquet, frames) takes unit and name from the Arrow texts, without a
    Python string a row, and gives what the table's rows say one by one."""
    from fulian_eval.report.arrow import table_columns

    path = _table(tmp_path / "t.csv", 700, seed=9, odd=0.1)
    run = fe.score_run(RULES, [path])
    t, r = run.table, run.ranking
    assert r is not None
    cols = table_columns(t, r)
    assert t.unit._list == [] and t.name._list == []
    idx = r.order.tolist()
    grades = [*t.plan.grade_names, None]
    want = {
        "unit": [t.unit[i] for i in idx],
        "name": [t.name[i] for i in idx],
        "group": [t.group[i] for i in idx],
        "role": [t.role[i] for i in idx],
        "role_title": [t.plan.rb.roles.title(t.role[i]) for i in idx],
        "grade": [grades[int(t.grade[i])] for i in idx],
        "flags": [list(t.flags(i)) for i in idx],
        "source": [t.source(i) for i in idx],
    }
    for k, v in want.items():
        assert cols[k].to_pylist() == v, k
    assert any(want["flags"]) and len(set(want["grade"])) > 1


@pytest.mark.parametrize("odd", ["gb18030", "bad byte", "quote", "lone cr"])
def test_a_large_table_taken_for_utf8_on_its_start_is_checked_by_the_workers(
    tmp_path: Path, in_workers: None, monkeypatch: pytest.MonkeyPatch, odd: str
) -> None:
    """A large table whose first bytes are UTF-8 is scored before the rest is checked; the
    workers' reader finds what is not plain UTF-8 further on, and the table is then read as
    loading reads it (another encoding, the csv module) or rejected with loading's words."""
    monkeypatch.setattr(stream, "_GUESS_BYTES", 3000)
    path = _table(tmp_path / "t.csv", 600, seed=4, odd=0.05)
    raw = path.read_bytes()
    cut = raw.index(b"\n", 30_000) + 1
    tail = raw[cut:]
    if odd == "gb18030":  # ASCII at the start (header units left out, ids, numbers), GBK later
        lines = raw.decode("utf-8").splitlines(keepends=True)
        header = re.sub(r"\[[^]]*\]", "", lines[0])
        rows = ["".join(ch if ord(ch) < 128 else "x" for ch in line) for line in lines[1:60]]
        data = (header + "".join(rows) + "".join(lines[60:])).encode("gb18030")
    elif odd == "bad byte":
        data = raw[:cut] + b"\xff" + tail
    elif odd == "quote":
        data = raw[:cut] + b'"' + tail
    else:
        data = raw[:cut] + tail.replace(b"\n", b"\r", 1)
    path.write_bytes(data)
    seen: list[bool] = []
    real = stream._parallel_rows

    def spy(*args: object, **kw: object) -> None:
        seen.append(bool(args[-1]))
        real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "_parallel_rows", spy)
    a, b, rejected = _both(path)
    assert seen == [True]  # scored by the workers unchecked first
    assert a == b
    if odd == "bad byte":
        assert "t.csv" in rejected and "UTF-8" in rejected


def test_flags_numbered_from_columns_as_from_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The readers' flags kept as columns and numbered with numpy give the table the flag sets
    and codes that the row-by-row mapping gives (same sets, same order, same rows)."""
    path = _table(tmp_path / "t.csv", 1500, seed=21, odd=0.3)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[50] = "," + lines[50].split(",", 1)[1]  # no unit id: rejected, its flags dropped
    lines[600] = lines[9]  # a repeat
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(stream, "ARROW_BLOCK", 40_000)

    def table() -> tuple[list[tuple[str, ...]], list[int], int]:
        t = fe.score_run(RULES, [path]).table
        return t.flag_sets, list(t.flag_code), len(t)

    calls: list[int] = []
    real = stream._Scorer._chunk_flags

    def spy(self: stream._Scorer, sc: object, keep: object, flags: object, n: int) -> object:
        calls.append(isinstance(flags, stream._RowFlags) and bool(flags.columns))
        return real(self, sc, keep, flags, n)  # type: ignore[arg-type]

    monkeypatch.setattr(stream._Scorer, "_chunk_flags", spy)
    by_columns = table()
    assert any(calls)
    monkeypatch.setattr(  # the row-by-row mapping, numbered as it comes
        stream._Scorer,
        "_chunk_flags",
        lambda self, sc, keep, flags, n: stream._chunk_flags(self._flags(sc, keep, flags), n),
    )
    by_rows = table()
    assert by_columns == by_rows
    assert len(by_columns[0]) > 3 and any(by_columns[1])


@given(st.lists(st.text(max_size=12), max_size=30), st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_id_bytes_from_arrow_buffers_are_those_of_the_strings(texts: list[str], cut: int) -> None:
    import pyarrow as pa

    arr = pa.array(["x", *texts], pa.string()).slice(1 + min(cut, len(texts)))  # an offset
    want = stream._id_bytes(arr.to_pylist())
    got = stream._arrow_id_bytes(arr)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
