"""``fe.score_table``: pyarrow, pandas and polars frames in, a pyarrow Table of exact scores out.

Every frame of the town table scores as the CSV file does through the command line's
pipeline (``fe.score_run``): the same rows, in the same order, with the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fulian_eval as fe

pa = pytest.importorskip("pyarrow")
pcsv = pytest.importorskip("pyarrow.csv")

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"


def _as_report_rows(out: Any) -> list[list[str]]:
    """The scored rows of a score_table result, printed as ``score --format csv`` prints them."""
    rows = []
    for r in out.to_pylist():
        if r["error"] is not None:
            continue
        cells = [str(r["rank"]), str(r["group_rank"]), r["unit"], r["name"], r["group"], r["role"]]
        cells += [f"{r['total']:.2f}", r["grade"] or "", "true" if r["vetoed"] else "false"]
        if "award" in out.column_names:
            cells.append(r["award"] or "")
        for name in _point_columns(out):
            v = r[name]
            cells.append("不适用" if v is None else f"{v:.2f}")
        cells.append(" | ".join(r["flags"]))
        rows.append(cells)
    return rows


def _point_columns(out: Any) -> list[str]:
    """Category and item columns: after ``vetoed`` (and ``award``), before ``flags``."""
    names = out.column_names
    return [n for n in names[names.index("vetoed") + 1 : names.index("flags")] if n != "award"]


def _cli_rows(path: Path, rulebook: Path = RULES) -> list[list[str]]:
    text = fe.score_run(rulebook, [path]).report("score", "csv")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]


def _many_units(tmp_path: Path, n: int) -> Path:
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


def test_town_table_read_by_pyarrow_with_inferred_types_scores_as_the_csv() -> None:
    table = pcsv.read_csv(TOWN_CSV)  # ints, floats and strings, as pyarrow guesses them
    assert any(pa.types.is_integer(t) for t in table.schema.types)
    out = fe.score_table(RULES, table)
    assert _as_report_rows(out) == _cli_rows(TOWN_CSV)
    first = out.to_pylist()[0]
    assert (first["unit"], first["name"], first["total"]) == (
        "huayuan",
        "花园社区",
        Decimal("105.00"),
    )
    assert out.schema.field("total").type == pa.decimal128(12, 2)
    assert json.loads(out.schema.metadata[b"warnings"]) == []
    assert out.schema.metadata[b"rulebook"] == b"town-village-2026"


def test_all_text_columns_score_as_the_csv(tmp_path: Path) -> None:
    path = _many_units(tmp_path, 3000)
    names = pcsv.read_csv(path).column_names
    table = pcsv.read_csv(
        path, convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
    )
    out = fe.score_table(RULES, table)
    assert out.num_rows == 3000
    assert _as_report_rows(out) == _cli_rows(path)


def test_pandas_frame_with_nan_for_missing_scores_as_the_csv(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    path = _many_units(tmp_path, 500)
    df = pd.read_csv(path)  # empty numeric cells become NaN: missing evidence, as in the CSV
    assert df.isna().any().any()
    out = fe.score_table(RULES, df)
    assert _as_report_rows(out) == _cli_rows(path)
    back = out.to_pandas()
    assert len(back) == 500 and back["error"].isna().all()


def test_polars_frame_scores_as_the_csv(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    path = _many_units(tmp_path, 500)
    out = fe.score_table(RULES, pl.read_csv(path))
    assert _as_report_rows(out) == _cli_rows(path)
    assert pl.from_arrow(out).height == 500


def test_a_mapping_of_columns_and_a_hand_computed_unit(tmp_path: Path) -> None:
    rb = tmp_path / "rb.toml"
    rb.write_text(
        """
id = "t"
title = "t"
[fields.books]
type = "count"
title = "图书"
[fields.area]
type = "number"
unit = "m^2"
title = "面积"
[[categories]]
id = "a"
title = "阵地"
max = 10
  [[categories.items]]
  id = "books"
  title = "图书"
  kind = "linear"
  field = "books"
  zero_at = 0
  full_at = 1000
  max = 5
  [[categories.items]]
  id = "area"
  title = "面积"
  kind = "threshold"
  field = "area"
  at_least = "60 m^2"
  max = 5
""",
        encoding="utf-8",
    )
    out = fe.score_table(
        rb,
        {
            "unit": ["a1", "a2", "a3"],
            "name": ["甲", "乙", "丙"],
            "图书": [333, 1000, None],
            "area": [59.9, 60.0, 80.5],
        },
    )
    got = {r["unit"]: (r["total"], r["a.books"], r["a.area"]) for r in out.to_pylist()}
    # 333/1000 × 5 = 1.665 → 1.67 (half up); 59.9 m² < 60 m²: 0; a missing count scores 0.
    assert got == {
        "a1": (Decimal("1.67"), Decimal("1.67"), Decimal("0.00")),
        "a2": (Decimal("10.00"), Decimal("5.00"), Decimal("5.00")),
        "a3": (Decimal("5.00"), Decimal("0.00"), Decimal("5.00")),
    }
    assert [r["rank"] for r in out.to_pylist()] == [1, 2, 3]


def test_a_bad_row_is_a_row_with_its_error_and_the_rest_score() -> None:
    table = pcsv.read_csv(TOWN_CSV, convert_options=pcsv.ConvertOptions(strings_can_be_null=False))
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    books = table.column_names.index("books[册]")
    cells = table.column(books).to_pylist()
    cells[1] = "很多"
    table = table.set_column(books, "books[册]", pa.array(cells, pa.string()))
    out = fe.score_table(RULES, table, source="上报表")
    rows = out.to_pylist()
    bad = [r for r in rows if r["error"] is not None]
    assert len(bad) == 1 and len(rows) == table.num_rows
    assert bad[0]["source"] == "上报表 row 2" and "很多" in bad[0]["error"]
    assert bad[0]["total"] is None and bad[0]["rank"] is None
    assert all(r["total"] is not None for r in rows if r["error"] is None)


def test_a_column_that_matches_no_field_raises_with_a_did_you_mean() -> None:
    table = pa.table({"unit": ["x"], "bookss": [3]})
    with pytest.raises(fe.EvidenceError) as exc:
        fe.score_table(RULES, table)
    assert "bookss" in str(exc.value) and "books" in str(exc.value).replace("bookss", "")


def test_a_column_of_lists_is_refused_naming_it() -> None:
    table = pa.table({"unit": ["x"], "books": pa.array([[1, 2]])})
    with pytest.raises(fe.EvidenceError, match="books"):
        fe.score_table(RULES, table)


def test_not_applicable_is_null_not_zero() -> None:
    out = fe.score_table(RULES, pcsv.read_csv(TOWN_CSV))
    rows = {r["unit"]: r for r in out.to_pylist()}
    cli = {r[2]: r for r in _cli_rows(TOWN_CSV)}
    first = 9 + ("award" in out.column_names)
    shown = 0
    for unit, r in rows.items():
        for k, name in enumerate(_point_columns(out)):
            assert (r[name] is None) == (cli[unit][first + k] == "不适用")
            shown += r[name] is None
    assert shown > 0


def test_a_rulebook_the_columns_cannot_hold_is_scored_row_by_row(tmp_path: Path) -> None:
    rb = tmp_path / "rb.toml"
    rb.write_text(
        """
id = "t"
title = "t"
[fields.books]
type = "number"
title = "图书"
[fields.places]
type = "count"
title = "位数"
[[categories]]
id = "a"
title = "阵地"
max = 10
  [[categories.items]]
  id = "books"
  title = "图书"
  kind = "expr"
  points = "round(books / 3, places)"
  max = 10
""",
        encoding="utf-8",
    )
    from fulian_eval.scoring.columnar import Unsupported, compile_plan

    with pytest.raises(Unsupported):
        compile_plan(fe.load_rulebook(rb))
    out = fe.score_table(
        rb, {"unit": ["x", "y", "z"], "books": [10, 20, "多"], "places": [1, 0, 1]}
    )
    rows = {r["unit"]: r for r in out.to_pylist()}
    assert rows["x"]["total"] == Decimal("3.30") and rows["y"]["total"] == Decimal("7.00")
    assert rows["z"]["error"] is not None and "多" in rows["z"]["error"]
    assert (rows["y"]["rank"], rows["x"]["rank"]) == (1, 2)
