"""The national CSV reports joined by Arrow kernels write the csv module's bytes (issue 12).

``report.columns`` writes ``score``/``rank --format csv`` from a scored table's arrays.
With pyarrow, each block of rows is joined by Arrow string kernels; text cells that the
csv module would quote, or that ``csv_cell`` would neutralise, are written by the csv
module itself. These tests pin the two writers together on hostile text (quotes, commas,
line breaks, NUL, would-be formulas, full-width digits), awards, flags, not-applicable
items and precisions, and check that the Arrow writer really is the one the reports use.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulian_eval import load_rulebook
from fulian_eval.analysis.rank import rank_table
from fulian_eval.report import columns
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import score_tables

ROOT = Path(__file__).resolve().parent.parent
TOWN = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"

RULES = """
schema = "fulian-eval/rulebook/1"
id = "w"
version = "1"
title = "测试"
precision = {precision}

[fields.a]
title = "台账数"
type = "number"

[fields.b]
title = "是否建家"
type = "bool"

[[categories]]
id = "base"
title = "基础"
max = 100

  [[categories.items]]
  id = "ledger"
  title = "台账"
  kind = "count"
  field = "a"
  each = 1.5
  max = 60

  [[categories.items]]
  id = "home"
  title = "建家"
  kind = "check"
  field = "b"
  max = 40

[[awards]]
name = "先进村"
count = 2

[[awards]]
name = "达标村, \\"好\\""
share = 0.5
"""

TEXT = st.lists(
    st.sampled_from([*"ab1-=+@\t\r\n,\" '\x00村，１－−١", "\u2028", "e\u0301"]),
    max_size=8,
).map("".join)


def _table(tmp: Path, rows: list[list[str]], precision: str = "0.01") -> tuple[Any, Any]:
    rules = tmp / "rules.toml"
    rules.write_text(RULES.format(precision=precision), encoding="utf-8")
    rb = load_rulebook(rules)
    data = tmp / "town.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unit", "name", "group", "role", "a", "b"])
        w.writerows(rows)
    res = score_tables(compile_plan(rb), [data])
    return res.table, rank_table(res.table)


def _both(t: Any, r: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(the Arrow writer's rank+score CSV, the csv module writer's)."""
    fast = io.StringIO()
    columns.write_rank_csv(t, r, fast)
    columns.write_score_csv(t, r, fast)
    slow = io.StringIO()
    with monkeypatch.context() as m:
        m.setattr(columns, "_have_arrow", lambda: False)
        columns.write_rank_csv(t, r, slow)
        columns.write_score_csv(t, r, slow)
    return fast.getvalue(), slow.getvalue()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(TEXT, TEXT, TEXT, st.sampled_from(["", "self", "自评", "peer"]), TEXT),
        min_size=1,
        max_size=12,
    ),
    precision=st.sampled_from(["0.01", "0.1", "1"]),
)
def test_arrow_rows_are_the_csv_modules_bytes(
    rows: list[tuple[str, str, str, str, str]],
    precision: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tmp = tmp_path_factory.mktemp("w")
    body = [
        [f"u{k}{unit}", name, group, role, amount, "是" if k % 2 else "否"]
        for k, (unit, name, group, role, amount) in enumerate(rows)
    ]
    t, r = _table(tmp, body, precision)
    fast, slow = _both(t, r, monkeypatch)
    assert fast == slow


def test_hostile_cells_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [
        ["=1+1", '名,"称"', "东\n片", "self", "12", "是"],
        ["-2.50", "+x", "@y", "", "约30", "否"],
        ["u\x00z", "\t村", "\r片", "self", "", "是"],
        ["－１２", "١٢", "ok", "self", "7", ""],
        ["plain", "平常村", "西片", "self", "1000余", "是"],
    ]
    t, r = _table(tmp_path, rows)
    fast, slow = _both(t, r, monkeypatch)
    assert fast == slow
    got = list(csv.reader(io.StringIO(fast)))
    units = {row[2] for row in got}
    assert "'=1+1" in units and "-2.50" in units and "u\x00z" in units
    names = {row[3] for row in got}
    assert '名,"称"' in names and "'+x" in names and "村" in names  # names are stripped
    assert any("达标村" in cell for row in got for cell in row)


def test_the_town_report_takes_the_arrow_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reports use the Arrow writer (a broken one fails them), and it equals the other."""
    rb = load_rulebook(TOWN)
    res = score_tables(compile_plan(rb), [ROOT / "examples" / "town"])
    r = rank_table(res.table)
    fast, slow = _both(res.table, r, monkeypatch)
    assert fast == slow
    assert "不适用" in fast or np.all(res.table.cat_ok)
    with monkeypatch.context() as m:
        m.setattr(columns, "_string_bytes", lambda arr: memoryview(b"broken\n"))
        out = io.StringIO()
        columns.write_rank_csv(res.table, r, out)
    assert "broken" in out.getvalue()


def test_a_file_gets_a_bom_and_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written to a path, the rows go straight to the file's bytes after the BOM and header."""
    rb = load_rulebook(TOWN)
    res = score_tables(compile_plan(rb), [ROOT / "examples" / "town"])
    r = rank_table(res.table)
    path = tmp_path / "rank.csv"
    columns.write_rank_csv(res.table, r, str(path))
    text = io.StringIO()
    columns.write_rank_csv(res.table, r, text)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8") == text.getvalue()
    assert len(text.getvalue().splitlines()) == len(res.table) + 1
