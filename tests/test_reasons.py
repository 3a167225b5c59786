"""Reasons a village can check (有依有据, issue 10 item 9) and the bugs found with them (item 10).

Every reason and number below is worked out by hand beside it; each example runs
through both engines (the columnar plan must give the exact path's points and
statuses; the reasons are the exact path's for both).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import pytest

from conftest import columnar_rows, exact_row
from fulian_eval import Evidence, Rulebook, UnitResult, parse_evidence, parse_rulebook, score

HEAD = 'schema = "fulian-eval/rulebook/1"\nid = "reasons"\nversion = "1"\n'
F = Fraction


def book(body: str) -> Rulebook:
    return parse_rulebook(HEAD + textwrap.dedent(body))


def evidence(
    rb: Rulebook, values: Mapping[str, Any], points: Mapping[str, Any] | None = None
) -> Evidence:
    return parse_evidence(
        rb,
        {
            "unit": {"id": "u1", "name": "测试村", "group": "东片"},
            "values": dict(values),
            "points": dict(points or {}),
        },
    )


_ENGINE = ["exact"]


@pytest.fixture(autouse=True, params=["exact", "columnar"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    _ENGINE[0] = request.param
    yield request.param
    _ENGINE[0] = "exact"


def run(
    rb: Rulebook, values: Mapping[str, Any], points: Mapping[str, Any] | None = None
) -> UnitResult:
    ev = evidence(rb, values, points)
    result = score(rb, ev)
    if _ENGINE[0] == "columnar":
        assert columnar_rows(rb, [ev])[0] == exact_row(result)
    return result


# ------------------------------------------------------- item 10: the two bugs


def faults_book(cat_type: str = "base") -> Rulebook:
    start = "max = 10\n        " if cat_type == "deduction" else ""
    return book(f"""
        [fields.received]
        type = "count"
        title = "受理案件"
        [fields.closed]
        type = "count"
        title = "结案件数"
        [fields.wrong]
        type = "count"
        title = "登记错误"

        [derived.open_share]
        expr = "(received - closed) / received"
        title = "未结比例"
        on_zero = "not_applicable"

        [[categories]]
        id = "c"
        type = "{cat_type}"
        {start}
          [[categories.items]]
          id = "faults"
          max = 4
          kind = "deduct"
          faults = {{wrong = 0.5, open_share = 2}}
    """)


@pytest.mark.parametrize("cat_type", ["base", "deduction"])
def test_deduct_faults_not_applicable_derived_value_is_not_applicable(cat_type: str) -> None:
    # received = 0: open_share divides by zero, on_zero = "not_applicable": the item is
    # not applicable (it was "missing" with 0 points, or 4 deducted, before the fix).
    r = run(faults_book(cat_type), {"received": 0, "closed": 0, "wrong": 1})
    it = r.item("c.faults")
    assert it.status == "not_applicable"
    assert it.points == 0
    assert "除数为0" in it.reason


def test_deduct_faults_missing_field_is_still_missing() -> None:
    # wrong is left out: missing, whatever open_share is (worst: 0 points in a base category)
    r = run(faults_book(), {"received": 0, "closed": 0})
    assert r.item("c.faults").status == "missing"
    assert r.item("c.faults").reason == "无资料（缺登记错误），不得分"


def test_deduct_faults_scored() -> None:
    # wrong 2 × 0.5 = 1; open_share (4 − 3)/4 = 1/4 × 2 = 0.5; deduction 1.5: 4 − 1.5 = 2.5
    r = run(faults_book(), {"received": 4, "closed": 3, "wrong": 2})
    assert r.item("c.faults").points == F("2.5")


def test_strict_approximate_figure_is_one_problem_not_two() -> None:
    # "1000余" under --strict is refused as approximate; it is given, so no "no value for" line.
    from fulian_eval import EvidenceError

    rb = faults_book()
    with pytest.raises(EvidenceError) as exc:
        parse_evidence(
            rb,
            {
                "unit": {"id": "u1", "name": "测试村"},
                "values": {"received": "1000余", "closed": 3, "wrong": 0},
            },
            strict=True,
        )
    messages = [p.message for p in exc.value.problems]
    assert len(messages) == 1, messages
    assert "约数 '1000余'" in messages[0]


def test_strict_still_names_values_left_out() -> None:
    from fulian_eval import EvidenceError

    rb = faults_book()
    with pytest.raises(EvidenceError) as exc:
        parse_evidence(
            rb,
            {"unit": {"id": "u1", "name": "测试村"}, "values": {"received": "1000余", "closed": 3}},
            strict=True,
        )
    messages = [p.message for p in exc.value.problems]
    assert messages[1:] == ["--strict：没有以下字段的值：wrong"], messages


# ------------------------------------------------- item 9: reasons with their values


def formula_book(cat: str = 'type = "base"') -> Rulebook:
    return book(f"""
        [fields.funds]
        type = "quantity"
        unit = "元"
        title = "经费"
        [fields.pop]
        type = "count"
        unit = "人"
        title = "常住"
        [fields.flo]
        type = "count"
        unit = "人"
        title = "流动"
        [fields.done]
        type = "bool"
        title = "已验收"

        [[categories]]
        id = "c"
        {cat}
        max = 10
          [[categories.items]]
          id = "per_head"
          max = 10
          kind = "expr"
          points = "3 * funds / (2*(pop+flo))"
    """)


def test_expr_reason_shows_the_formula_by_title_and_each_value() -> None:
    # 3 × 36000 / (2 × (4241 + 4418)) = 108000 / 17318 = 6.2362… → 6.24
    r = run(formula_book(), {"funds": 36000, "pop": 4241, "flo": 4418, "done": True})
    it = r.item("c.per_head")
    assert it.points == F("6.24")
    assert it.reason == (
        "按公式 3×经费/(2×(常住+流动)) 计算：经费36000元，常住4241人，流动4418人，得6.24分"
    )


def test_expr_reason_says_the_cap_was_reached() -> None:
    # 3 × 200000 / 17318 = 34.646… → above the item's max 10
    r = run(formula_book(), {"funds": 200000, "pop": 4241, "flo": 4418, "done": True})
    assert r.item("c.per_head").points == 10
    assert r.item("c.per_head").reason.endswith("流动4418人，算得34.65分，已达本项上限10分，得10分")


def test_expr_reason_in_a_penalty_category_says_the_deduction_cap() -> None:
    rb = formula_book('type = "penalty"')
    r = run(rb, {"funds": 200000, "pop": 4241, "flo": 4418, "done": True})
    assert r.item("c.per_head").points == 10
    assert r.item("c.per_head").reason.endswith("应扣34.65分，已达本项扣分上限10分，扣10分")


def count_book(cat: str) -> Rulebook:
    return book(f"""
        [fields.trainings]
        type = "count"
        unit = "次"
        title = "培训次数"
        [[categories]]
        id = "c"
        {cat}
          [[categories.items]]
          id = "n"
          max = 4
          kind = "count"
          field = "trainings"
          each = 1
    """)


@pytest.mark.parametrize(
    ("cat", "reason"),
    [
        ('type = "base"', "培训次数6次×1分，算得6分，已达本项上限4分，得4分"),
        (
            'type = "penalty"\n        max = 10',
            "培训次数6次×1分，应扣6分，已达本项扣分上限4分，扣4分",
        ),
        (
            'type = "deduction"\n        max = 10',
            "培训次数6次×1分，应扣6分，已达本项扣分上限4分，扣4分",
        ),
    ],
)
def test_count_reason_says_the_cap_was_reached(cat: str, reason: str) -> None:
    r = run(count_book(cat), {"trainings": 6})
    assert r.item("c.n").points == 4
    assert r.item("c.n").reason == reason


def test_count_reason_below_the_cap_has_no_cap_words() -> None:
    r = run(count_book('type = "base"'), {"trainings": 3})
    assert r.item("c.n").reason == "培训次数3次×1分，得3分"


def deduct_set_book() -> Rulebook:
    return book("""
        [fields.books]
        type = "set"
        title = "台账"
        [[categories]]
        id = "c"
        type = "deduction"
        max = 20
          [[categories.items]]
          id = "books"
          max = 1
          kind = "deduct"
          field = "books"
          required = ["甲", "乙", "丙"]
          each = 0.5
    """)


def test_deduct_in_a_deduction_category_says_its_cap() -> None:
    # 3 absent × 0.5 = 1.5, capped at the clause's max 1
    r = run(deduct_set_book(), {"books": []})
    assert r.item("c.books").points == 1
    assert r.item("c.books").reason == (
        "缺3项(甲、乙、丙)，每项扣0.5分，应扣1.5分，已达本项扣分上限1分，扣1分"
    )
    assert r.category("c").score == 19


def titles_book() -> Rulebook:
    return book("""
        [fields.rentals]
        type = "count"
        unit = "户"
        title = "出租房屋户数"
        [fields.registered]
        type = "count"
        unit = "户"
        title = "已登记出租房屋"
        [fields.floating]
        type = "count"
        unit = "人"
        title = "流动人口"
        [fields.fabricated]
        type = "bool"
        title = "弄虚作假"

        [[categories]]
        id = "rent"
        title = "出租房屋"
        max = 5
          [[categories.items]]
          id = "ledger"
          max = 3
          kind = "check"
          when = "registered >= rentals and not fabricated"
          [[categories.items]]
          id = "floating"
          max = 2
          kind = "check"
          when = "floating - (rentals - registered) > 100"
          applies_when = "floating > 0"
        [[categories]]
        id = "gate"
        title = "诚信"
        max = 1
          [[categories.items]]
          id = "honest"
          max = 1
          kind = "check"
          when = "not fabricated"
          [[categories.items]]
          id = "low"
          kind = "veto"
          when = 'score("rent") < 3'
    """)


def test_check_reason_names_fields_by_title_with_their_values() -> None:
    r = run(titles_book(), {"rentals": 20, "registered": 20, "floating": 300, "fabricated": False})
    assert r.item("rent.ledger").reason == (
        "符合（已登记出租房屋≥出租房屋户数且非弄虚作假：已登记出租房屋20户，"
        "出租房屋户数20户，弄虚作假：否），得3分"
    )
    # parentheses kept where they change the order: 300 − (20 − 20) = 300 > 100
    assert r.item("rent.floating").reason.startswith(
        "符合（流动人口-(出租房屋户数-已登记出租房屋)>100：流动人口300人，"
    )


def test_applies_when_and_veto_name_titles() -> None:
    # floating 0: rent.floating not applicable; ledger 18 < 20: 0; rent 0 of 3 applicable → 0 < 3: veto
    r = run(titles_book(), {"rentals": 20, "registered": 18, "floating": 0, "fabricated": False})
    assert r.item("rent.floating").reason == "不适用（流动人口>0 不成立）"
    assert r.item("gate.low").status == "veto"
    assert r.item("gate.low").reason == "一票否决（出租房屋得分<3：出租房屋得分0分），评为最低等次"


def test_a_derived_division_by_zero_names_titles() -> None:
    rb = book("""
        [fields.received]
        type = "count"
        title = "受理"
        [fields.closed]
        type = "count"
        title = "结案"
        [[categories]]
        id = "c"
        max = 2
          [[categories.items]]
          id = "rate"
          max = 2
          kind = "expr"
          points = "2 * closed / received"
    """)
    r = run(rb, {"received": 0, "closed": 0})
    assert r.item("c.rate").status == "not_applicable"
    assert r.item("c.rate").reason == "不适用（2×结案/受理 中除数为0）"


def test_category_notes_say_where_a_category_cap_was_reached() -> None:
    from fulian_eval.report.render import category_notes

    rb = book("""
        [fields.a]
        type = "count"
        title = "甲"
        [fields.late]
        type = "count"
        title = "迟报"
        [[categories]]
        id = "base"
        title = "基础"
        max = 4
          [[categories.items]]
          id = "a"
          max = 4
          kind = "count"
          field = "a"
          each = 1
        [[categories]]
        id = "bonus"
        title = "加分项"
        type = "bonus"
        max = 3
          [[categories.items]]
          id = "x"
          max = 2
          kind = "count"
          field = "a"
          each = 1
          [[categories.items]]
          id = "y"
          max = 2
          kind = "count"
          field = "a"
          each = 1
        [[categories]]
        id = "work"
        title = "业务工作"
        type = "deduction"
        max = 5
          [[categories.items]]
          id = "late"
          max = 4
          kind = "count"
          field = "late"
          each = 2
          [[categories.items]]
          id = "late2"
          max = 4
          kind = "count"
          field = "late"
          each = 2
    """)
    # bonus: 2 + 2 = 4 > 3 → 3; work: 4 + 4 = 8 deducted from 5 → 0 (扣完为止); base 4 = its max, not above it
    r = run(rb, {"a": 5, "late": 2})
    assert r.category("bonus").score == 3
    assert r.category("work").score == 0
    assert category_notes(r) == [
        "加分项：各项合计4分，已达本类上限3分",
        "业务工作：扣分合计8分，扣完为止，得0分",
    ]
    assert category_notes(run(rb, {"a": 1, "late": 0})) == []


def test_explain_item_names_its_inputs_by_title() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "explain",
            root / "rules" / "town-village-2026.toml",
            root / "examples" / "town" / "town.csv",
            "--unit",
            "dongqiao",
            "--item",
            "facilities.funds_per_head",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    # 3 × 11800 / (2 × (3199 + 891)) = 35400 / 8180 = 4.33 → capped at 3
    assert (
        "按公式 3×年度妇联工作经费/(2×(户籍人口+流动人口)) 计算：年度妇联工作经费11800元，"
        "户籍人口3199人，流动人口891人，算得4.33分，已达本项上限3分，得3分" in p.stdout
    )
    assert (
        "所用资料：流动人口 = 891 人；年度妇联工作经费 = 11800 元；户籍人口 = 3199 人" in p.stdout
    )


def test_a_veto_on_one_bool_field_reads_like_the_field() -> None:
    rb = book("""
        [fields.fabricated]
        type = "bool"
        title = "台帐资料弄虚作假"
        [fields.n]
        type = "count"
        [[categories]]
        id = "c"
        max = 1
          [[categories.items]]
          id = "n"
          max = 1
          kind = "count"
          field = "n"
          each = 1
          [[categories.items]]
          id = "fraud"
          kind = "veto"
          when = "fabricated"
    """)
    r = run(rb, {"fabricated": True, "n": 1})
    assert r.vetoed
    assert r.item("c.fraud").reason == "一票否决（台帐资料弄虚作假：是），评为最低等次"


def test_a_condition_decided_without_a_value_left_out_still_has_a_reason() -> None:
    rb = book("""
        [fields.a]
        type = "bool"
        title = "甲"
        [fields.b]
        type = "bool"
        title = "乙"
        [[categories]]
        id = "c"
        max = 2
          [[categories.items]]
          id = "x"
          max = 2
          kind = "check"
          when = "a or b"
    """)
    r = run(rb, {"a": True})  # b is left out; a alone decides
    assert r.item("c.x").points == 2
    assert r.item("c.x").reason == "符合（甲或乙：甲：是，乙：无资料），得2分"
