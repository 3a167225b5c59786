"""Parquet evidence in and Parquet reports out (issue 12, item 1).

A Parquet table is read as the CSV table holding the same values: every test here
compares with the CSV reading, through the CLI (the streamed columnar path,
``--format csv``) and the per-unit path (``--format json``, ``fe.load_evidence``).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")

from fulian_eval import load_evidence, load_rulebook  # noqa: E402
from fulian_eval.cli.app import main  # noqa: E402
from fulian_eval.io.evidence import TABLE_SUFFIXES  # noqa: E402
from fulian_eval.io.parquet import read_parquet  # noqa: E402
from fulian_eval.scoring.columnar import compile_plan  # noqa: E402
from fulian_eval.scoring.stream import score_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def town_rows() -> list[list[str]]:
    with TOWN_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def town_strings() -> pa.Table:
    """The town table with every column as text, as the CSV holds it."""
    names = pcsv.read_csv(TOWN_CSV).column_names
    return pcsv.read_csv(
        TOWN_CSV,
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def town_typed() -> pa.Table:
    """The town table with the types pyarrow infers: int64, double, text."""
    return pcsv.read_csv(TOWN_CSV)


def write(path: Path, table: pa.Table, **kw: object) -> Path:
    pq.write_table(table, path, **kw)
    return path


def both(capsys: pytest.CaptureFixture[str], cmd: str, path: Path, *extra: str) -> str:
    code, out, err = run(capsys, cmd, str(TOWN), str(path), "--format", "csv", *extra)
    assert code == 0, err
    return out


# ------------------------------------------------------------------ reading


def test_parquet_is_a_table_suffix() -> None:
    assert ".parquet" in TABLE_SUFFIXES


@pytest.mark.parametrize("make", [town_strings, town_typed], ids=["strings", "typed"])
def test_town_as_parquet_scores_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object
) -> None:
    table = make()  # type: ignore[operator]
    if make is town_typed:
        assert pa.types.is_integer(table.schema.field("households[户]").type)
        assert pa.types.is_floating(table.schema.field("satisfaction[%]").type)
    path = write(tmp_path / "town.parquet", table, row_group_size=5)  # several row groups
    for cmd in ("rank", "score"):
        want = both(capsys, cmd, TOWN_CSV)
        assert both(capsys, cmd, path) == want
    # the per-unit path (JSON carries every reason) reads the same values
    code, want, _ = run(capsys, "score", str(TOWN), str(TOWN_CSV), "--format", "json")
    code2, got, err = run(capsys, "score", str(TOWN), str(path), "--format", "json")
    assert code == code2 == 0, err
    a, b = json.loads(want), json.loads(got)
    assert [u["total"] for u in a["units"]] == [u["total"] for u in b["units"]]
    assert [u["categories"] for u in a["units"]] == [u["categories"] for u in b["units"]]


def test_town_as_parquet_small_batches_same(tmp_path: Path) -> None:
    """The streamed path in batches of 4 rows scores as the CSV does."""
    path = write(tmp_path / "town.parquet", town_typed())
    plan = compile_plan(load_rulebook(TOWN))
    want = score_tables(plan, [TOWN_CSV])
    got = score_tables(plan, [path], chunk=4)
    assert got.table.unit == want.table.unit
    assert got.table.total_h.tolist() == want.table.total_h.tolist()
    assert got.table.cat_h.tolist() == want.table.cat_h.tolist()


def _one_field_rulebook(tmp_path: Path) -> Path:
    p = tmp_path / "rb.toml"
    p.write_text(
        """
schema = "fulian-eval/rulebook/1"
id = "w"
version = "1"
title = "测试"
precision = 0.01

[fields.x]
title = "面积"
type = "number"

[[categories]]
id = "base"
title = "基础"
max = 100

  [[categories.items]]
  id = "ledger"
  title = "台账"
  kind = "count"
  field = "x"
  each = 1
  max = 100
""",
        encoding="utf-8",
    )
    return p


def test_floats_and_big_ints_read_exactly(tmp_path: Path) -> None:
    values = [0.1, 1e-7, 2.675, 12.5, 3.0]
    t = pa.table({"unit": [f"u{i}" for i in range(len(values))], "x": values})
    path = write(tmp_path / "f.parquet", t)
    header, rows = read_parquet(path)
    assert header == ["unit", "x"]
    assert [r[1][1] for r in rows] == ["0.1", "0.0000001", "2.675", "12.5", "3"]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]  # data rows numbered from 1
    big = pa.table(
        {
            "unit": ["a", "b", "c"],
            "x": pa.array([2**62 + 1, -(2**63), 9], pa.int64()),
            "u": pa.array([2**64 - 1, 0, None], pa.uint64()),
            "d": pa.array([Decimal("1.50"), Decimal("-0.01"), None], pa.decimal128(10, 2)),
            "f32": pa.array([0.1, 1e-7, None], pa.float32()),
            "b": pa.array([True, False, None]),
        }
    )
    _, rows = read_parquet(write(tmp_path / "b.parquet", big))
    assert [r[1] for r in rows] == [
        ["a", "4611686018427387905", "18446744073709551615", "1.50", "0.1", "是"],
        ["b", "-9223372036854775808", "0", "-0.01", "0.0000001", "否"],
        ["c", "9", "", "", "", ""],
    ]


def test_float_values_equal_csv_values(tmp_path: Path) -> None:
    """fe.load_evidence gives the same Fraction from a float64 cell as from the CSV text;
    hand-checked: 2.675 is 107/40, not the binary double 2.67499999…"""
    rb = load_rulebook(_one_field_rulebook(tmp_path))
    values = [0.1, 1e-7, 2.675, 123456789.125]
    pqp = write(
        tmp_path / "f.parquet", pa.table({"unit": [f"u{i}" for i in range(4)], "x": values})
    )
    csvp = tmp_path / "f.csv"
    csvp.write_text(
        "unit,x\n"
        + "".join(
            f"u{i},{t}\n" for i, t in enumerate(["0.1", "0.0000001", "2.675", "123456789.125"])
        ),
        encoding="utf-8",
    )
    got = load_evidence(rb, [pqp])
    want = load_evidence(rb, [csvp])
    assert not got.rejected and not want.rejected
    assert [e.values["x"] for e in got.evidence] == [e.values["x"] for e in want.evidence]
    assert got.evidence[2].values["x"] == Fraction(107, 40)
    assert got.evidence[1].values["x"] == Fraction(1, 10_000_000)


def test_nulls_are_missing_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = town_typed()
    col = t.column_names.index("books[册]")
    books = t.column(col).to_pylist()
    books[0] = None
    t = t.set_column(col, "books[册]", pa.array(books, pa.string()))
    path = write(tmp_path / "town.parquet", t)
    rows = town_rows()
    rows[1][col] = ""
    csvp = write_csv(tmp_path / "town.csv", rows)
    assert both(capsys, "score", path) == both(capsys, "score", csvp)
    rb = load_rulebook(TOWN)
    ev = load_evidence(rb, [path]).evidence[0]
    assert "books" not in ev.values


def _nan_table() -> pa.Table:
    t = town_typed()
    col = t.column_names.index("satisfaction[%]")
    vals = t.column(col).to_pylist()
    vals[2] = float("nan")
    vals[4] = float("inf")
    return t.set_column(col, "satisfaction[%]", pa.array(vals, pa.float64()))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_nan_rejects_the_row_naming_file_row_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    path = write(tmp_path / "town.parquet", _nan_table())
    code, out, err = run(capsys, "score", str(TOWN), str(path), "--format", fmt)
    assert code == 1
    assert f"{path} row 3" in err and f"{path} row 5" in err
    assert "satisfaction[%]" in err and "nan" in err and "inf" in err
    units = [r[2] for r in csv.reader(io.StringIO(out))][1:] if fmt == "csv" else None
    if units is not None:
        assert len(units) == 19  # the 21 units but the two rejected
        third = town_typed().column("unit").to_pylist()[2]
        assert third not in units


def test_damaged_file_rejected_others_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "a-good.parquet", town_typed())
    bad = tmp_path / "b-bad.parquet"
    raw = good.read_bytes()
    bad.write_bytes(raw[: len(raw) // 2] + b"\0" * 64 + raw[len(raw) // 2 :])
    short = tmp_path / "c-short.parquet"
    short.write_bytes(b"PAR1 not really")
    for fmt in ("csv", "json"):
        code, out, err = run(capsys, "rank", str(TOWN), str(tmp_path), "--format", fmt)
        assert code == 1
        assert f"{short}: 无法读取" in err
        assert f"{bad}" in err
        if fmt == "csv":
            assert len(out.splitlines()) == 22  # header + the good file's 21 units


def test_unusable_column_type_rejects_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = town_typed()
    col = t.column_names.index("books[册]")
    t = t.set_column(col, "books[册]", pa.array([[1, 2]] * t.num_rows, pa.list_(pa.int64())))
    path = write(tmp_path / "town.parquet", t)
    ok = write(tmp_path / "ok.parquet", town_typed().slice(0, 3))
    code, out, err = run(capsys, "rank", str(TOWN), str(path), str(ok), "--format", "csv")
    assert code == 1
    assert str(path) in err and "books[册]" in err and "list<" in err
    assert len(out.splitlines()) == 4


def test_folder_with_csv_and_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = town_typed()
    write(tmp_path / "a.parquet", t.slice(0, 10))
    rows = town_rows()
    write_csv(tmp_path / "b.csv", [rows[0], *rows[11:]])
    assert both(capsys, "rank", tmp_path) == both(capsys, "rank", TOWN_CSV)
    assert both(capsys, "score", tmp_path) == both(capsys, "score", TOWN_CSV)


def test_missing_pyarrow_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "town.parquet", town_typed())
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    code, _, err = run(capsys, "rank", str(TOWN), str(path), "--format", "json")
    assert code == 1
    assert "fulian_eval[arrow]" in err and ".parquet" in err and str(path) in err


# ------------------------------------------------------------------ reports


def _csv_cells(table: pa.Table) -> list[list[str]]:
    """A Parquet report's rows as the CSV report prints them."""
    out = [list(table.column_names)]
    decimal_cols = {
        n
        for n, t in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_decimal(t)
    }
    for row in table.to_pylist():
        cells = []
        for name, v in row.items():
            if v is None:
                cells.append("不适用" if name in decimal_cols else "")
            elif isinstance(v, bool):
                cells.append("true" if v else "false")
            else:
                cells.append(str(v))
        out.append(cells)
    return out


@pytest.mark.parametrize("cmd", ["rank", "score"])
@pytest.mark.parametrize("evidence", ["town.csv", "evidence"], ids=["columnar", "per-unit"])
def test_parquet_report_values_equal_csv_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str, evidence: str
) -> None:
    src = TOWN_CSV.parent / evidence
    out = tmp_path / f"{cmd}.parquet"
    code, _, err = run(capsys, cmd, str(TOWN), str(src), "-o", str(out))
    assert code == 0, err
    got = pq.read_table(out)
    code, text, err = run(capsys, cmd, str(TOWN), str(src), "--format", "csv")
    assert code == 0, err
    want = list(csv.reader(io.StringIO(text)))
    assert _csv_cells(got) == want
    assert got.schema.field("rank").type == pa.int32()
    assert got.schema.field("total").type == pa.decimal128(12, 2)
    assert got.schema.field("unit").type == pa.string()
    assert got.schema.metadata[b"precision"] == b"0.01"
    # hand-checked: 花园社区 scores full marks in every item, bonus included: 100 + 5
    first = got.slice(0, 1).to_pylist()[0]
    assert (first["unit"], first["rank"], first["total"]) == ("huayuan", 1, Decimal("105.00"))


def test_parquet_report_per_unit_equals_columnar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert run(capsys, "score", str(TOWN), str(TOWN_CSV), "-o", str(a))[0] == 0
    assert run(capsys, "score", str(TOWN), str(TOWN_CSV.parent / "evidence"), "-o", str(b))[0] == 0
    assert pq.read_table(a).equals(pq.read_table(b))


def test_parquet_report_from_parquet_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = write(tmp_path / "town.parquet", town_typed())
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert run(capsys, "rank", str(TOWN), str(ev), "--format", "parquet", "-o", str(a))[0] == 0
    assert run(capsys, "rank", str(TOWN), str(TOWN_CSV), "-o", str(b))[0] == 0
    assert pq.read_table(a).equals(pq.read_table(b))


def test_decimals_at_the_rulebook_precision() -> None:
    import numpy as np

    from fulian_eval.report.arrow import decimals

    tenths = decimals(np.array([9160, -50, 0]), 1, np.array([False, False, True]))
    assert tenths.type == pa.decimal128(11, 1)
    assert tenths.to_pylist() == [Decimal("91.6"), Decimal("-0.5"), None]
    whole = decimals(np.array([9200]), 0)
    assert whole.to_pylist() == [Decimal("92")]


def test_parquet_to_stdout_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rank", str(TOWN), str(TOWN_CSV), "--format", "parquet")
    assert code == 2
    assert out == ""
    assert "-o" in err and ".parquet" in err


def test_parquet_report_never_overwrites_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ev = write(tmp_path / "town.parquet", town_typed())
    before = ev.read_bytes()
    code, _, err = run(capsys, "rank", str(TOWN), str(ev), "-o", str(ev))
    assert code == 2
    assert str(ev) in err
    assert ev.read_bytes() == before


def test_parquet_report_beside_evidence_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "town.parquet", town_typed())
    report = tmp_path / "rank.parquet"
    assert run(capsys, "rank", str(TOWN), str(folder), "-o", str(report))[0] == 0
    report.rename(folder / "rank.parquet")
    code, out, err = run(capsys, "rank", str(TOWN), str(folder), "--format", "csv")
    assert code == 0, err
    assert "rank.parquet" in err  # skipped with a warning: a report, not evidence
    assert out == both(capsys, "rank", TOWN_CSV)


def test_dictionary_large_string_and_date_columns(tmp_path: Path) -> None:
    import datetime as dt

    t = pa.table(
        {
            "unit": pa.array(["a", "b", "a"]).dictionary_encode(),
            "name": pa.array(["甲", None, "丙"], pa.large_string()),
            "date": pa.array([dt.date(2026, 11, 20), None, dt.date(2026, 1, 2)], pa.date32()),
            "blank": pa.nulls(3),
        }
    )
    _, rows = read_parquet(write(tmp_path / "d.parquet", t))
    assert [r[1] for r in rows] == [
        ["a", "甲", "2026-11-20", ""],
        ["b", "", "", ""],
        ["a", "丙", "2026-01-02", ""],
    ]


def test_timestamp_column_rejects_the_file(tmp_path: Path) -> None:
    import datetime as dt

    from fulian_eval.io.tables import FileProblem

    t = pa.table(
        {"unit": ["a"], "meetings": pa.array([dt.datetime(2026, 1, 1)], pa.timestamp("s"))}
    )
    with pytest.raises(FileProblem, match=r"meetings.*timestamp"):
        read_parquet(write(tmp_path / "t.parquet", t))
    rb = load_rulebook(TOWN)
    got = load_evidence(rb, [tmp_path / "t.parquet"])
    assert not got.evidence and len(got.rejected) == 1
    assert "t.parquet" in got.rejected[0].error and "meetings" in got.rejected[0].error


def test_float16_and_decimal256_columns(tmp_path: Path) -> None:
    t = pa.table(
        {
            "unit": ["a", "b"],
            "h": pa.array([1.5, None], pa.float32()).cast(pa.float16()),
            "d": pa.array([Decimal("12345678901234567890.25"), Decimal("0")], pa.decimal256(40, 2)),
        }
    )
    _, rows = read_parquet(write(tmp_path / "h.parquet", t))
    assert [r[1] for r in rows] == [["a", "1.5", "12345678901234567890.25"], ["b", "", "0.00"]]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_integer_columns_negative_null_and_huge_as_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """An int64 column read as numbers on the streamed path: a negative count rejects its
    row with the CSV's message, a null is missing, a 19-digit value takes the exact path."""
    t = town_typed()
    rows = town_rows()
    for name, changes in (
        ("households[户]", {0: -5, 3: None}),
        ("population[人]", {5: 10**18 + 7}),
    ):
        col = t.column_names.index(name)
        vals = t.column(col).to_pylist()
        for i, v in changes.items():
            vals[i] = v
            rows[i + 1][col] = "" if v is None else str(v)
        t = t.set_column(col, name, pa.array(vals, pa.int64()))
    pqp = write(tmp_path / "t.parquet", t)
    csvp = write_csv(tmp_path / "t.csv", rows)
    c1, out1, err1 = run(capsys, "score", str(TOWN), str(pqp), "--format", fmt)
    c2, out2, err2 = run(capsys, "score", str(TOWN), str(csvp), "--format", fmt)
    assert c1 == c2 == 1
    if fmt == "csv":
        assert out1 == out2
    assert err1.replace(f"{pqp} row 1:", "ROW:") == err2.replace(f"{csvp} row 2:", "ROW:")
    assert "ROW:" in err1.replace(f"{pqp} row 1:", "ROW:") and "-5" in err1


def test_score_run_parquet_report_and_arrow(tmp_path: Path) -> None:
    import fulian_eval as fe

    run = fe.score_run(TOWN, [TOWN_CSV])
    out = tmp_path / "r.parquet"
    run.report("rank", "parquet", out)
    t = pq.read_table(out)
    assert t.equals(run.arrow("rank"))
    assert t.column_names[:9] == [
        "rank",
        "group_rank",
        "unit",
        "name",
        "group",
        "role",
        "total",
        "grade",
        "vetoed",
    ]
    assert t.num_rows == 21
    with pytest.raises(ValueError, match="Parquet report is a file"):
        run.report("rank", "parquet")
