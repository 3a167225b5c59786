"""Choice fields, the ``choice`` kind and field ``headers`` (SPEC §10.4, §10.6, §10.7), through both engines.

Every expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings

from fulian_eval import EvidenceError, RulebookError, load_evidence, parse_evidence, score
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import score_tables
from fulian_eval.testing import evidence_data
from test_kinds import book, engine, run  # noqa: F401  (engine: every example through both engines)

F = Fraction

FIELDS = """
[fields.rules]
type = "choice"
title = "制度建设"
options = ["健全", "欠规范", "不健全", "无"]
aliases = {"没有" = "无", "不规范" = "欠规范"}

[fields.area]
type = "quantity"
unit = "m^2"
title = "妇女之家活动室面积"
headers = ["活动室面积", "妇女之家面积"]
"""

BOOK = (
    FIELDS
    + """
[[categories]]
id = "base"
title = "基础建设"

  [[categories.items]]
  id = "rules"
  title = "制度建设：健全5分，欠规范3分，不健全1分"
  kind = "choice"
  field = "rules"
  points = {"健全" = 5, "欠规范" = 3, "不健全" = 1}
  max = 5

  [[categories.items]]
  id = "area"
  title = "活动室面积不少于20平方米"
  kind = "threshold"
  field = "area"
  at_least = "20 m^2"
  max = 5

  [[categories.items]]
  id = "sound"
  title = "制度健全或欠规范得2分"
  kind = "check"
  when = "rules == '健全' or rules == \\"欠规范\\""
  max = 2

[[categories]]
id = "business"
title = "业务工作"
type = "deduction"
max = 10

  [[categories.items]]
  id = "rules"
  title = "制度欠规范扣1分，不健全扣2.5分，无制度扣4分"
  kind = "choice"
  field = "rules"
  points = {"欠规范" = 1, "不健全" = 2.5, "无" = 4}
"""
)


def test_points_by_option_in_a_base_and_a_deduction_category() -> None:
    rb = book(BOOK)
    # 欠规范: base 3 + area 25 ≥ 20 → 5 + sound 2 = 10; business 10 − 1 = 9; scale 12 + 10 = 22, total 19
    r = run(rb, {"rules": "欠规范", "area": "25 m^2"})
    assert [i.points for i in r.items] == [F(3), F(5), F(2), F(1)]
    assert r.category("base").score == 10 and r.category("business").score == 9
    assert r.total == 19
    assert r.item("base.rules").reason == "制度建设：欠规范，得3分"
    assert r.item("business.rules").reason == "制度建设：欠规范，扣1分"


def test_an_option_not_listed_scores_and_deducts_nothing() -> None:
    rb = book(BOOK)
    # 无: not in the base points → 0; sound false → 0; area 5 → base 5; business deducts 4 → 6; total 11
    r = run(rb, {"rules": "无", "area": 30})
    assert [i.points for i in r.items] == [F(0), F(5), F(0), F(4)]
    assert r.total == 11
    assert r.item("base.rules").reason == "制度建设：无，不得分"
    # 健全: base 5 + 5 + 2 = 12; business: 健全 not listed → deducts 0 → 10; total 22
    r = run(rb, {"rules": "健全", "area": 30})
    assert [i.points for i in r.items] == [F(5), F(5), F(2), F(0)]
    assert r.item("business.rules").reason == "制度建设：健全，未扣分"
    assert r.total == 22


def test_fractional_deduction_points() -> None:
    rb = book(BOOK)
    # 不健全: base 1 + 0 (area 10 < 20) + 0 = 1; business 10 − 2.5 = 7.5; total 8.5
    r = run(rb, {"rules": "不健全", "area": 10})
    assert r.item("business.rules").points == F(5, 2)
    assert r.total == F(17, 2)


def test_aliases_read_as_their_option() -> None:
    rb = book(BOOK)
    # 没有 → 无: as above, total 11; 不规范 → 欠规范: total 19
    assert run(rb, {"rules": "没有", "area": 30}).total == 11
    r = run(rb, {"rules": " 不规范 ", "area": 25})
    assert r.total == 19 and r.item("base.rules").reason == "制度建设：欠规范，得3分"


def test_missing_choice_deducts_its_largest_points() -> None:
    rb = book(BOOK)
    # the deduction item has no max: its cap is its largest points, 4 (SPEC §10.10); missing → worst → 4
    assert rb.item("business.rules").max == 4
    r = run(rb, {"area": 30})
    assert [(i.points, i.status) for i in r.items] == [
        (F(0), "missing"),
        (F(5), "scored"),
        (F(0), "missing"),
        (F(4), "missing"),
    ]
    assert "按未开展扣4分" in r.item("business.rules").reason
    assert r.total == 11  # base 5 + business 10 − 4 = 6


@pytest.mark.usefixtures("english")
def test_a_bad_value_in_toml_is_rejected_with_did_you_mean() -> None:
    rb = book(BOOK)
    with pytest.raises(EvidenceError) as info:
        parse_evidence(rb, {"unit": {"id": "u1"}, "values": {"rules": "健荃", "area": 30}})
    [problem] = info.value.problems
    assert problem.path == "values.rules"
    assert "'健荃'" in problem.message and "did you mean '健全'" in problem.message
    assert "健全、欠规范、不健全、无" in problem.message
    with pytest.raises(EvidenceError) as info:
        parse_evidence(rb, {"unit": {"id": "u1"}, "values": {"rules": 3}})
    assert "'3'" in str(info.value) and "不是“制度建设”的选项" in str(info.value)


CSV = (
    "unit,name,制度建设,活动室面积[m^2]\n"
    "a,甲村,健全,25\n"
    "b,乙村,欠规范,10\n"
    "c,丙村,欠规犯,30\n"
    "d,丁村,没有,30\n"
)


def _write(tmp_path: Path, body: str = BOOK, table: str = CSV) -> tuple[Path, Path]:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text('id = "choice"\nversion = "1"\n' + body, encoding="utf-8")
    csv_path = tmp_path / "units.csv"
    csv_path.write_text(table, encoding="utf-8")
    return rb_path, csv_path


@pytest.mark.usefixtures("english")
def test_a_bad_value_in_a_csv_rejects_that_row_per_unit(tmp_path: Path) -> None:
    _, csv_path = _write(tmp_path)
    rb = book(BOOK)
    got = load_evidence(rb, [csv_path])
    # a: 5 + 5 + 2 = 12, business 10 → 22; b: 3 + 0 + 2 = 5, 10 − 1 = 9 → 14; d (无): 0 + 5 + 0, 10 − 4 → 11
    assert {e.unit.id: score(rb, e).total for e in got.evidence} == {"a": 22, "b": 14, "d": 11}
    [rej] = got.rejected
    assert "row 4" in rej.error and "'欠规犯'" in rej.error and "did you mean '欠规范'" in rej.error


@pytest.mark.usefixtures("english")
def test_a_bad_value_in_a_csv_rejects_that_row_streamed(tmp_path: Path) -> None:
    _, csv_path = _write(tmp_path)
    rb = book(BOOK)
    res = score_tables(compile_plan(rb), [csv_path])
    assert [res.table.summary(i).total for i in range(len(res.table))] == [
        "22.00",
        "14.00",
        "11.00",
    ]
    [rej] = res.rejected
    assert "'欠规犯'" in rej.error and "did you mean '欠规范'" in rej.error


@pytest.mark.usefixtures("english")
def test_the_cli_ranks_choice_rows_and_names_the_bad_one(tmp_path: Path) -> None:
    rb_path, csv_path = _write(tmp_path)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "rank",
            str(rb_path),
            str(csv_path),
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr
    rows = [line.split(",") for line in p.stdout.splitlines()[1:]]
    assert [(r[2], r[6]) for r in rows] == [("a", "22.00"), ("b", "14.00"), ("d", "11.00")]
    assert "row 4" in p.stderr and "did you mean '欠规范'" in p.stderr


def test_headers_score_the_same_as_ids(tmp_path: Path) -> None:
    by_id = "unit,rules,area\na,欠规范,25\nb,无,10\n"
    by_header = "unit,制度建设,妇女之家面积（平方米）\na,欠规范,25\nb,无,10\n"
    by_other = "unit,制度建设,活动室面积\na,欠规范,25\nb,无,10\n"
    outs = []
    for k, table in enumerate((by_id, by_header, by_other)):
        folder = tmp_path / str(k)
        folder.mkdir()
        rb_path, csv_path = _write(folder, table=table)
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "fulian_eval",
                "score",
                str(rb_path),
                str(csv_path),
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        outs.append([(u["unit"], u["total"]) for u in json.loads(p.stdout)["units"]])
    # a: 3 + 5 + 2 = 10, 10 − 1 = 9 → 19; b: 0 + 0 + 0, 10 − 4 = 6 → 6
    assert outs[0] == [("a", "19.00"), ("b", "6.00")]
    assert outs[1] == outs[0] and outs[2] == outs[0]
    # the per-unit path reads the same headers
    rb = book(BOOK)
    got = load_evidence(rb, [tmp_path / "2" / "units.csv"])
    assert [e.values["area"] for e in got.evidence] == [25, 10]


@pytest.mark.usefixtures("english")
def test_an_unknown_header_suggests_a_header(tmp_path: Path) -> None:
    rb_path, csv_path = _write(tmp_path, table="unit,活动室面机\na,25\n")
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "score", str(rb_path), str(csv_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1
    assert "did you mean '活动室面积'" in p.stderr


def _problems(body: str) -> list[str]:
    with pytest.raises(RulebookError) as info:
        book(body)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


@pytest.mark.usefixtures("english")
def test_bad_options_are_rulebook_errors() -> None:
    msgs = _problems("""
[fields.a]
type = "choice"
[fields.b]
type = "choice"
options = []
[fields.c]
type = "choice"
options = ["健全", "健全", 3, ""]
[fields.d]
type = "choice"
options = ["健全", "无"]
aliases = {"没有" = "没", "无" = "健全"}
[fields.e]
type = "text"
options = ["x"]
headers = "活动室"

[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "check"
  when = "true"
  max = 1
""")
    assert any(m.startswith("fields.a:") and "needs 'options'" in m for m in msgs), msgs
    assert any(m.startswith("fields.b.options:") and "empty" in m for m in msgs), msgs
    assert any("fields.c.options[1]" in m and "listed twice" in m for m in msgs), msgs
    assert any("fields.c.options[2]" in m and "non-empty string" in m for m in msgs), msgs
    assert any("fields.c.options[3]" in m and "empty" in m for m in msgs), msgs
    assert any('aliases."没有"' in m and "'没' is not an option" in m for m in msgs), msgs
    assert any('aliases."无"' in m and "is an option itself" in m for m in msgs), msgs
    assert any(m.startswith("fields.e.options:") and "only a choice field" in m for m in msgs), msgs
    assert any(
        m.startswith("fields.e.headers:") and "list of non-empty strings" in m for m in msgs
    ), msgs


@pytest.mark.usefixtures("english")
def test_points_keys_must_be_options_and_within_max() -> None:
    msgs = _problems(
        FIELDS
        + """
[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "choice"
  field = "rules"
  points = {"健荃" = 5, "欠规范" = 6, "不健全" = "1"}
  max = 5
  [[categories.items]]
  id = "y"
  kind = "choice"
  field = "area"
  points = {"a" = 1}
  max = 1
  [[categories.items]]
  id = "z"
  kind = "choice"
  field = "rules"
  max = 1
"""
    )
    assert any('points."健荃"' in m and "did you mean '健全'" in m for m in msgs), msgs
    assert any('points."欠规范"' in m and "above the item's max 5" in m for m in msgs), msgs
    assert any('points."不健全"' in m and "expected a number" in m for m in msgs), msgs
    assert any('"c.y"' in m and "is a quantity field" in m and "choice field" in m for m in msgs), (
        msgs
    )
    assert any('"c.z"' in m and "'points' is required" in m for m in msgs), msgs


@pytest.mark.usefixtures("english")
def test_an_expression_comparing_with_a_non_option_is_a_rulebook_error() -> None:
    msgs = _problems(
        FIELDS
        + """
[[consistency]]
when = "rules != '不建全'"
message = "x"

[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "check"
  when = "'键全' == rules"
  max = 1
"""
    )
    assert any(
        m.startswith("consistency[0].when:")
        and "'不建全' is not an option of choice field 'rules'" in m
        and "did you mean '不健全'" in m
        for m in msgs
    ), msgs
    assert any('"c.x".when' in m and "did you mean '健全'" in m for m in msgs), msgs
    # a text field takes any string
    book(
        FIELDS
        + """
[fields.note]
type = "text"
[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "check"
  when = "note == '随便' and rules != '无'"
  max = 1
"""
    )


def test_the_form_gives_a_choice_column_a_drop_down(tmp_path: Path) -> None:
    rb_path, _ = _write(tmp_path)
    out = tmp_path / "form.xlsx"
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "template", str(rb_path), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    ws = openpyxl.load_workbook(out)["填报"]
    header = [c.value for c in ws[1]]
    col = header.index("制度建设")
    letter = openpyxl.utils.get_column_letter(col + 1)
    [dv] = [d for d in ws.data_validations.dataValidation if str(d.sqref).startswith(f"{letter}2:")]
    assert dv.type == "list" and dv.formula1 == '"健全,欠规范,不健全,无"'


@settings(max_examples=30, deadline=None)
@given(data=evidence_data(book(BOOK)))
def test_generated_evidence_for_a_choice_book_scores_alike_in_both_engines(
    data: dict[str, Any],
) -> None:
    rb = book(BOOK)
    ev = parse_evidence(rb, data)
    rules = ev.values.get("rules")
    assert rules is None or rules in ("健全", "欠规范", "不健全", "无")
    r = run(
        rb, data["values"]
    )  # under the columnar engine, run() asserts the plan gives the same row
    # the base choice item: 健全 5, 欠规范 3, 不健全 1, else 0
    assert r.item("base.rules").points == {"健全": 5, "欠规范": 3, "不健全": 1}.get(rules or "", 0)


def test_the_drop_down_keeps_options_whole(tmp_path: Path) -> None:
    body = """
[fields.plan]
type = "choice"
title = "计划总结"
options = ["有计划、有总结", "仅有计划", "无"]
[fields.note]
type = "choice"
title = "备注项"
options = ["a,b", "c"]

[[categories]]
id = "c"
  [[categories.items]]
  id = "plan"
  kind = "choice"
  field = "plan"
  points = {"有计划、有总结" = 2, "仅有计划" = 1}
  max = 2
"""
    rb_path, _ = _write(tmp_path, body=body)
    out = tmp_path / "form.xlsx"
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "template", str(rb_path), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    ws = openpyxl.load_workbook(out)["填报"]
    header = [c.value for c in ws[1]]
    by_col = {str(d.sqref).split(":")[0]: d for d in ws.data_validations.dataValidation}
    plan = by_col[openpyxl.utils.get_column_letter(header.index("计划总结") + 1) + "2"]
    assert plan.type == "list" and plan.formula1 == '"有计划、有总结,仅有计划,无"'
    # an option holding a comma cannot be in Excel's literal list: no list, the message names them
    note = by_col[openpyxl.utils.get_column_letter(header.index("备注项") + 1) + "2"]
    assert note.type != "list" and "a,b、c" in (note.prompt or "")


@pytest.mark.usefixtures("english")
def test_a_header_shared_with_another_field_is_a_rulebook_error() -> None:
    msgs = _problems(
        FIELDS
        + """
[fields.room]
type = "quantity"
unit = "m^2"
title = "活动室 面积"

[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "check"
  when = "true"
  max = 1
"""
    )
    assert msgs == [
        "fields.area.headers: header '活动室面积' is also field 'room''s title; a column so headed "
        "could be either field — give each field headers of its own"
    ], msgs


@pytest.mark.usefixtures("english")
def test_a_field_with_bad_options_is_reported_once() -> None:
    # the item and the expression using the field add no problems of their own (SPEC §10.8)
    msgs = _problems("""
[fields.rules]
type = "choice"
options = []

[[categories]]
id = "c"
  [[categories.items]]
  id = "x"
  kind = "choice"
  field = "rules"
  points = {"健全" = 1}
  max = 1
  [[categories.items]]
  id = "y"
  kind = "check"
  when = "rules == '健全'"
  max = 1
""")
    assert msgs == [
        "fields.rules.options: [] is empty; expected a list of strings, "
        'e.g. options = ["健全", "欠规范", "不健全", "无"]'
    ], msgs
