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
    assert "approximate figure '1000余'" in messages[0]


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
    assert messages[1:] == ["--strict: no value for wrong"], messages
