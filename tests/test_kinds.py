"""Hand-computed examples for every item kind and option (SPEC §2.1, §2.2, §4), through both engines.

Every expected number below is worked out by hand in the comment beside it;
nothing is computed by calling the code under test.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import pytest

from conftest import columnar_rows, exact_row
from fulian_eval import (
    Evidence,
    EvidenceError,
    ItemResult,
    Rulebook,
    UnitResult,
    fmt_points,
    gains,
    parse_evidence,
    parse_rulebook,
    score,
)
from fulian_eval.scoring.columnar import Unsupported

HEAD = 'schema = "fulian-eval/rulebook/1"\nid = "kinds"\nversion = "1"\n'

F = Fraction

REGISTERS = [
    "工作活动记录簿",
    "妇女培训登记簿",
    "各类表彰登记簿",
    "群众来信来访登记簿",
    "重点帮扶对象登记簿",
]


def book(body: str) -> Rulebook:
    return parse_rulebook(HEAD + textwrap.dedent(body))


def evidence(
    rb: Rulebook,
    values: Mapping[str, Any] | None = None,
    points: Mapping[str, Any] | None = None,
    uid: str = "u1",
) -> Evidence:
    return parse_evidence(
        rb,
        {
            "unit": {"id": uid, "name": "测试村", "group": "东片"},
            "values": dict(values or {}),
            "points": dict(points or {}),
        },
    )


@pytest.fixture(autouse=True, params=["exact", "columnar"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every example runs twice: once through the exact per-unit path, once through the columnar plan."""
    _ENGINE[0] = request.param
    yield request.param
    _ENGINE[0] = "exact"


_ENGINE = ["exact"]


def run(
    rb: Rulebook, values: Mapping[str, Any] | None = None, points: Mapping[str, Any] | None = None
) -> UnitResult:
    """Score one unit; under the columnar engine, the plan must give the very same result.

    The hand-computed numbers are then asserted on the result, so under ``columnar`` they
    hold for the plan's points, statuses, categories, total, grade, veto and flags (the
    reasons are written by the exact path for both). A row the plan's floats cannot
    decide (a weighted total on a .xx5 boundary) is settled exactly, as in every run.
    """
    ev = evidence(rb, values, points)
    result = score(rb, ev)
    if _ENGINE[0] == "columnar":
        try:
            got = columnar_rows(rb, [ev])[0]
        except Unsupported as exc:
            assert _per_unit_only(rb), f"the plan refused a rulebook it should take: {exc}"
        else:
            assert got == exact_row(result)
    return result


def _per_unit_only(rb: Rulebook) -> bool:
    """Rulebooks the plan hands to the per-unit path on purpose (SPEC: places of round() from evidence, …)."""
    return rb.id in _PER_UNIT_ONLY


_PER_UNIT_ONLY: set[str] = set()


def one(
    rb: Rulebook,
    item_id: str,
    values: Mapping[str, Any] | None = None,
    points: Mapping[str, Any] | None = None,
) -> ItemResult:
    return run(rb, values, points).item(item_id)


# ----------------------------------------------------------------------- check


def check_book() -> Rulebook:
    return book("""
        [fields.has_sign]
        type = "bool"
        title = "有标牌"
        [fields.meetings]
        type = "count"
        unit = "次"

        [[categories]]
        id = "c"
          [[categories.items]]
          id = "sign"
          max = 5
          kind = "check"
          field = "has_sign"
          [[categories.items]]
          id = "often"
          max = 3
          kind = "check"
          when = "meetings >= 4"
    """)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, F(5)),  # true -> max 5
        (False, F(0)),  # false -> 0
        ("有", F(5)),  # 有 = true
        ("无", F(0)),  # 无 = false
        ("是", F(5)),
        ("否", F(0)),
    ],
)
def test_check_field(value: Any, expected: Fraction) -> None:
    r = one(check_book(), "c.sign", {"has_sign": value, "meetings": 0})
    assert r.points == expected
    assert r.status == "scored"


@pytest.mark.parametrize(
    ("meetings", "expected"),
    [
        (4, F(3)),  # 4 >= 4 holds -> max 3
        (7, F(3)),  # 7 >= 4 -> 3
        (3, F(0)),  # 3 >= 4 fails -> 0
    ],
)
def test_check_when(meetings: int, expected: Fraction) -> None:
    r = one(check_book(), "c.often", {"has_sign": True, "meetings": meetings})
    assert r.points == expected
    assert r.status == "scored"


# ------------------------------------------------------------------- threshold


def threshold_book() -> Rulebook:
    return book("""
        [fields.area]
        type = "quantity"
        unit = "m^2"
        [fields.errors]
        type = "count"
        [fields.ratio]
        type = "number"
        [fields.funds]
        type = "quantity"
        unit = "元"

        [[categories]]
        id = "t"
          [[categories.items]]
          id = "least"
          max = 4
          kind = "threshold"
          field = "area"
          at_least = "20 m^2"
          [[categories.items]]
          id = "most"
          max = 2
          kind = "threshold"
          field = "errors"
          at_most = 2
          [[categories.items]]
          id = "both"
          max = 3
          kind = "threshold"
          field = "ratio"
          at_least = 10
          at_most = 20
          [[categories.items]]
          id = "money"
          max = 1
          kind = "threshold"
          field = "funds"
          at_least = "0.5 万元"
    """)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("20 m^2", F(4)),  # 20 >= 20 (bound inclusive) -> 4
        ("19.99 m^2", F(0)),  # below -> 0
        ("0.0021 hectare", F(4)),  # 0.0021 ha = 21 m² >= 20 -> 4
        (500, F(4)),
    ],
)
def test_threshold_at_least(area: Any, expected: Fraction) -> None:
    rb = threshold_book()
    assert one(rb, "t.least", {"area": area}).points == expected


@pytest.mark.parametrize(("errors", "expected"), [(0, F(2)), (2, F(2)), (3, F(0))])
def test_threshold_at_most(errors: int, expected: Fraction) -> None:
    # at_most 2: 0 and 2 hold -> max 2; 3 > 2 -> 0
    assert one(threshold_book(), "t.most", {"errors": errors}).points == expected


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (10, F(3)),
        (15, F(3)),
        (20, F(3)),  # within [10, 20] -> 3
        ("9.99", F(0)),
        (21, F(0)),  # one bound fails -> 0
    ],
)
def test_threshold_both_bounds(ratio: Any, expected: Fraction) -> None:
    assert one(threshold_book(), "t.both", {"ratio": ratio}).points == expected


@pytest.mark.parametrize(
    ("funds", "expected"),
    [
        (4999, F(0)),  # 0.5 万元 = 5000 元; 4999 < 5000 -> 0
        (5000, F(1)),  # 5000 >= 5000 -> 1
        ("0.5 万元", F(1)),  # converted to 5000 元
    ],
)
def test_threshold_bound_with_unit(funds: Any, expected: Fraction) -> None:
    assert one(threshold_book(), "t.money", {"funds": funds}).points == expected


# ----------------------------------------------------------------------- tiers


def tiers_book() -> Rulebook:
    return book("""
        [fields.rate]
        type = "number"
        unit = "%"

        [[categories]]
        id = "t"
          [[categories.items]]
          id = "closure"
          max = 5
          kind = "tiers"
          field = "rate"
          tiers = [{at_least = "98 %", points = 5}, {at_least = "90 %", points = 3}, {at_least = "80 %", points = 1}]
    """)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (100, F(5)),  # >= 98 -> 5 (highest satisfied)
        (98, F(5)),  # >= 98 inclusive -> 5
        ("97.99 %", F(3)),  # >= 90 but < 98 -> 3
        (90, F(3)),
        (85, F(1)),  # >= 80 -> 1
        ("79.99", F(0)),  # none satisfied -> 0
        (0, F(0)),
    ],
)
def test_tiers(rate: Any, expected: Fraction) -> None:
    r = one(tiers_book(), "t.closure", {"rate": rate})
    assert r.points == expected
    assert r.status == "scored"


# ---------------------------------------------------------------------- linear


def linear_book() -> Rulebook:
    return book("""
        [fields.room_area]
        type = "quantity"
        unit = "m^2"
        [fields.complaints]
        type = "count"

        [[categories]]
        id = "l"
          [[categories.items]]
          id = "room"
          max = 15
          kind = "linear"
          field = "room_area"
          zero_at = "50 m^2"
          full_at = "200 m^2"
          [[categories.items]]
          id = "calm"
          max = 8
          kind = "linear"
          field = "complaints"
          zero_at = 10
          full_at = 2
    """)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        (120, F(7)),  # 15 × (120−50)/(200−50) = 15 × 70/150 = 7
        ("0.012 hectare", F(7)),  # 0.012 ha = 120 m² -> 7
        (100, F(5)),  # 15 × 50/150 = 5
        (60, F("1.00")),  # 15 × 10/150 = 1
        (51, F("0.10")),  # 15 × 1/150 = 0.1
        (40, F(0)),  # below zero_at: clamp((40−50)/150) = 0 -> 0
        (250, F(15)),  # above full_at: clamp(200/150) = 1 -> 15
        (200, F(15)),
    ],
)
def test_linear_rising(area: Any, expected: Fraction) -> None:
    assert one(linear_book(), "l.room", {"room_area": area}).points == expected


@pytest.mark.parametrize(
    ("complaints", "expected"),
    [
        (6, F(4)),  # 8 × (6−10)/(2−10) = 8 × 4/8 = 4
        (5, F(5)),  # 8 × (5−10)/(−8) = 8 × 5/8 = 5
        (9, F(1)),  # 8 × 1/8 = 1
        (1, F(8)),  # (1−10)/(−8) = 9/8 -> clamp 1 -> 8
        (12, F(0)),  # (12−10)/(−8) < 0 -> clamp 0 -> 0
        (10, F(0)),
    ],
)
def test_linear_falling_scale(complaints: int, expected: Fraction) -> None:
    assert one(linear_book(), "l.calm", {"complaints": complaints}).points == expected


def test_linear_rounds_item_half_up() -> None:
    # 15 × (57−50)/150 = 105/150 = 0.7 exactly; 15 × (51.1−50)/150 = 16.5/150 = 0.11 exactly
    # 15 × (50.05−50)/150 = 0.75/150 = 0.005 -> half-up 0.01
    rb = linear_book()
    assert one(rb, "l.room", {"room_area": 57}).points == F("0.7")
    assert one(rb, "l.room", {"room_area": "51.1"}).points == F("0.11")
    assert one(rb, "l.room", {"room_area": "50.05"}).points == F("0.01")


# ----------------------------------------------------------------------- count


def count_book() -> Rulebook:
    return book("""
        [fields.activities]
        type = "count"
        unit = "次"
        [fields.funds]
        type = "quantity"
        unit = "元"

        [[categories]]
        id = "n"
          [[categories.items]]
          id = "activities"
          max = 3
          kind = "count"
          field = "activities"
          each = 0.5
          [[categories.items]]
          id = "funds"
          max = 10
          kind = "count"
          field = "funds"
          each = 0.001
    """)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, F(0)),  # 0.5 × 0 = 0
        (4, F(2)),  # 0.5 × 4 = 2
        (6, F(3)),  # 0.5 × 6 = 3 = max
        (10, F(3)),  # 0.5 × 10 = 5 -> capped at 3 (最高3分)
    ],
)
def test_count_with_cap(n: int, expected: Fraction) -> None:
    assert one(count_book(), "n.activities", {"activities": n, "funds": 0}).points == expected


@pytest.mark.parametrize(
    ("funds", "expected"),
    [
        ("0.85 万元", F("8.5")),  # 8500 元 × 0.001 = 8.5
        ("1.2 万元", F(10)),  # 12000 × 0.001 = 12 -> capped at 10
        (125, F("0.13")),  # 125 × 0.001 = 0.125 -> half-up 0.13 (a float round gives 0.12)
    ],
)
def test_count_funds(funds: Any, expected: Fraction) -> None:
    assert one(count_book(), "n.funds", {"activities": 0, "funds": funds}).points == expected


# ---------------------------------------------------------------------- deduct


def deduct_book() -> Rulebook:
    return book(f"""
        [fields.registers]
        type = "set"
        [fields.wrong_records]
        type = "count"
        [fields.late_reports]
        type = "count"
        [fields.missing_photos]
        type = "count"
        [fields.violations]
        type = "count"

        [[categories]]
        id = "d"
          [[categories.items]]
          id = "registers"
          title = "五簿齐全"
          max = 5
          kind = "deduct"
          field = "registers"
          required = {REGISTERS!r}
          each = 1
          [[categories.items]]
          id = "registers2"
          max = 5
          kind = "deduct"
          field = "registers"
          required = {REGISTERS!r}
          each = 2
          [[categories.items]]
          id = "accuracy"
          max = 10
          kind = "deduct"
          field = "wrong_records"
          each = 0.5
          [[categories.items]]
          id = "faults"
          max = 5
          kind = "deduct"
          faults = {{ late_reports = 1, missing_photos = 0.5 }}
          [[categories.items]]
          id = "negative"
          max = 5
          floor = -2
          kind = "deduct"
          field = "violations"
          each = 1
          note = "该项可负分"
    """)


def deduct_values(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "registers": REGISTERS,
        "wrong_records": 0,
        "late_reports": 0,
        "missing_photos": 0,
        "violations": 0,
    }
    base.update(kw)
    return base


def test_deduct_set_complete() -> None:
    # all 5 present -> no deduction -> 5
    r = one(deduct_book(), "d.registers", deduct_values())
    assert r.points == F(5)
    assert r.status == "scored"


def test_deduct_set_one_missing_exact_reason() -> None:
    # 重点帮扶对象登记簿 absent: 5 − 1 × 1 = 4
    r = one(deduct_book(), "d.registers", deduct_values(registers=REGISTERS[:4]))
    assert r.points == F(4)
    assert r.reason == "缺1项(重点帮扶对象登记簿)，扣1分"


def test_deduct_set_two_missing() -> None:
    # 各类表彰登记簿 and 重点帮扶对象登记簿 absent: 5 − 2 × 1 = 3
    have = [REGISTERS[0], REGISTERS[1], REGISTERS[3]]
    r = one(deduct_book(), "d.registers", deduct_values(registers=have))
    assert r.points == F(3)
    assert r.reason.startswith("缺2项(")
    assert "各类表彰登记簿" in r.reason
    assert "重点帮扶对象登记簿" in r.reason
    assert "扣2分" in r.reason
    assert "工作活动记录簿" not in r.reason


def test_deduct_set_floor_扣完为止() -> None:
    # each 2, 3 absent: 5 − 6 = −1 -> floor 0 (扣完为止)
    r = one(deduct_book(), "d.registers2", deduct_values(registers=REGISTERS[:2]))
    assert r.points == F(0)
    assert r.status == "scored"
    # all 5 absent (empty set): 5 − 10 -> 0
    assert one(deduct_book(), "d.registers2", deduct_values(registers=[])).points == F(0)


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (0, F(10)),  # no faults -> 10
        (3, F("8.5")),  # 10 − 0.5 × 3 = 8.5
        (20, F(0)),  # 10 − 10 = 0
        (25, F(0)),  # 10 − 12.5 -> floor 0
    ],
)
def test_deduct_count_of_faults(wrong: int, expected: Fraction) -> None:
    assert one(deduct_book(), "d.accuracy", deduct_values(wrong_records=wrong)).points == expected


@pytest.mark.parametrize(
    ("late", "photos", "expected"),
    [
        (0, 0, F(5)),  # nothing to deduct -> 5
        (2, 3, F("1.5")),  # 5 − (2×1 + 3×0.5) = 5 − 3.5 = 1.5
        (1, 1, F("3.5")),  # 5 − 1.5 = 3.5
        (4, 4, F(0)),  # 5 − 6 -> floor 0
    ],
)
def test_deduct_faults_table(late: int, photos: int, expected: Fraction) -> None:
    r = one(deduct_book(), "d.faults", deduct_values(late_reports=late, missing_photos=photos))
    assert r.points == expected


@pytest.mark.parametrize(
    ("violations", "expected"),
    [
        (3, F(2)),  # 5 − 3 = 2
        (6, F(-1)),  # 5 − 6 = −1, floor −2 allows it (该项可负分)
        (7, F(-2)),  # 5 − 7 = −2 = floor
        (9, F(-2)),  # 5 − 9 = −4 -> floor −2
    ],
)
def test_deduct_negative_floor(violations: int, expected: Fraction) -> None:
    assert one(deduct_book(), "d.negative", deduct_values(violations=violations)).points == expected


def test_negative_item_never_takes_category_below_its_floor() -> None:
    rb = book("""
        [fields.violations]
        type = "count"
        [fields.good]
        type = "bool"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "neg"
          max = 5
          floor = -5
          kind = "deduct"
          field = "violations"
          [[categories.items]]
          id = "ok"
          max = 2
          kind = "check"
          field = "good"
    """)
    # neg: 5 − 9 = −4 (floor −5); ok: 2 -> Σ = −2 -> category floor 0 -> category 0
    r = run(rb, {"violations": 9, "good": True})
    assert r.item("c.neg").points == F(-4)
    assert r.category("c").score == F(0)
    assert r.total == F(0)


# ------------------------------------------------------------------- shortfall


def shortfall_book() -> Rulebook:
    return book("""
        [fields.floating_population]
        type = "count"
        unit = "人"
        [fields.registered]
        type = "count"
        unit = "人"
        [fields.meetings]
        type = "count"
        unit = "次"

        [derived.registration_rate]
        expr = "registered / floating_population * 100"
        unit = "%"

        [[categories]]
        id = "s"
          [[categories.items]]
          id = "exact"
          max = 20
          kind = "shortfall"
          field = "registration_rate"
          target = "95 %"
          step = "1 %"
          each = 2
          [[categories.items]]
          id = "whole"
          max = 20
          kind = "shortfall"
          field = "registration_rate"
          target = "95 %"
          step = "1 %"
          each = 2
          partial = "whole"
          [[categories.items]]
          id = "any"
          max = 20
          kind = "shortfall"
          field = "registration_rate"
          target = "95 %"
          step = "1 %"
          each = 2
          partial = "any"
          [[categories.items]]
          id = "meetings"
          max = 6
          kind = "shortfall"
          field = "meetings"
          target = 4
          step = 1
          each = 1.5
          partial = "whole"
    """)


def test_shortfall_partial_exact_rounds_half_up() -> None:
    # 590/640 = 92.1875 %; 95 − 92.1875 = 2.8125 steps; 20 − 2 × 2.8125 = 14.375 -> 14.38 (half-up)
    r = run(shortfall_book(), {"floating_population": 640, "registered": 590, "meetings": 4})
    assert r.item("s.exact").points == F("14.38")
    # whole steps only: n = 2 -> 20 − 4 = 16
    assert r.item("s.whole").points == F(16)
    # any started step: n = 3 -> 20 − 6 = 14
    assert r.item("s.any").points == F(14)


def test_shortfall_at_or_above_target_is_full() -> None:
    # 4200/4418 = 95.066… % >= 95 % -> n = 0 -> 20 each
    r = run(shortfall_book(), {"floating_population": 4418, "registered": 4200, "meetings": 4})
    for iid in ("s.exact", "s.whole", "s.any"):
        assert r.item(iid).points == F(20)
    # exactly on target: 608/640 = 95 % -> 20
    r = run(shortfall_book(), {"floating_population": 640, "registered": 608, "meetings": 4})
    assert r.item("s.exact").points == F(20)
    assert r.item("s.any").points == F(20)


def test_shortfall_floor() -> None:
    # 500/640 = 78.125 %; gap 16.875; 20 − 33.75 < 0 -> 0 (扣完为止)
    r = run(shortfall_book(), {"floating_population": 640, "registered": 500, "meetings": 4})
    assert r.item("s.exact").points == F(0)
    assert r.item("s.whole").points == F(0)


@pytest.mark.parametrize(
    ("meetings", "expected"),
    [
        (4, F(6)),  # at target -> 6
        (3, F("4.5")),  # 1 step below: 6 − 1.5 = 4.5
        (1, F("1.5")),  # 3 steps: 6 − 4.5 = 1.5
        (0, F(0)),  # 4 steps: 6 − 6 = 0
    ],
)
def test_shortfall_counted_meetings(meetings: int, expected: Fraction) -> None:
    r = run(shortfall_book(), {"floating_population": 1, "registered": 1, "meetings": meetings})
    assert r.item("s.meetings").points == expected


# --------------------------------------------------------------------- surplus


def surplus_book() -> Rulebook:
    return book("""
        [fields.loans]
        type = "quantity"
        unit = "万元"

        [[categories]]
        id = "s"
          [[categories.items]]
          id = "whole"
          max = 3
          kind = "surplus"
          field = "loans"
          target = "10 万元"
          step = "10 万元"
          each = 0.5
          partial = "whole"
          [[categories.items]]
          id = "exact"
          max = 3
          kind = "surplus"
          field = "loans"
          target = "10 万元"
          step = "10 万元"
          each = 0.5
          [[categories.items]]
          id = "any"
          max = 3
          kind = "surplus"
          field = "loans"
          target = "10 万元"
          step = "10 万元"
          each = 0.5
          partial = "any"
    """)


@pytest.mark.parametrize(
    ("loans", "whole", "exact", "any_"),
    [
        # 25 万元: 1.5 steps above 10 -> whole 1 × 0.5 = 0.5; exact 0.75; any 2 × 0.5 = 1
        (25, F("0.5"), F("0.75"), F(1)),
        # 90 万元: 8 steps -> 4 -> capped at 3 (最高3分)
        ("90 万元", F(3), F(3), F(3)),
        # 35000 元 = 3.5 万元, below target -> 0
        ("35000 元", F(0), F(0), F(0)),
        # exactly on target -> 0 steps above -> 0
        (10, F(0), F(0), F(0)),
        # 300000 元 = 30 万元 -> 2 steps -> 1
        ("300000 元", F(1), F(1), F(1)),
    ],
)
def test_surplus(loans: Any, whole: Fraction, exact: Fraction, any_: Fraction) -> None:
    r = run(surplus_book(), {"loans": loans})
    assert r.item("s.whole").points == whole
    assert r.item("s.exact").points == exact
    assert r.item("s.any").points == any_


# ------------------------------------------------------------------------ expr


def expr_book() -> Rulebook:
    return book("""
        [fields.volunteers]
        type = "count"
        unit = "人"
        [fields.population]
        type = "count"
        unit = "人"
        [fields.x]
        type = "number"

        [[categories]]
        id = "e"
          [[categories.items]]
          id = "volunteers"
          max = 10
          kind = "expr"
          points = "volunteers / population * 1000 * 2"
          [[categories.items]]
          id = "shift"
          max = 5
          kind = "expr"
          points = "x - 5"
          [[categories.items]]
          id = "shift_neg"
          max = 5
          floor = -3
          kind = "expr"
          points = "x - 5"
    """)


def test_expr_value_rounded() -> None:
    # 10/3300 × 1000 × 2 = 6.0606… -> 6.06
    r = run(expr_book(), {"volunteers": 10, "population": 3300, "x": 5})
    assert r.item("e.volunteers").points == F("6.06")
    assert r.item("e.volunteers").status == "scored"


def test_expr_clamped_to_max_and_floor() -> None:
    # 52/8659 × 2000 = 12.01… -> max 10
    r = run(expr_book(), {"volunteers": 52, "population": 8659, "x": 12})
    assert r.item("e.volunteers").points == F(10)
    assert r.item("e.shift").points == F(5)  # 12 − 5 = 7 -> max 5
    r = run(expr_book(), {"volunteers": 1, "population": 1000, "x": 1})
    assert r.item("e.shift").points == F(0)  # 1 − 5 = −4 -> floor 0
    assert r.item("e.shift_neg").points == F(-3)  # −4 -> floor −3
    r = run(expr_book(), {"volunteers": 1, "population": 1000, "x": 3})
    assert r.item("e.shift_neg").points == F(-2)  # 3 − 5 = −2, within [−3, 5]


def test_expr_exact_not_float_rounding() -> None:
    # 7.675 − 5 = 2.675 exactly -> half-up 2.68 (binary floats would give 2.67)
    r = run(expr_book(), {"volunteers": 1, "population": 1000, "x": "7.675"})
    assert r.item("e.shift").points == F("2.68")


def test_expr_division_by_zero_is_not_applicable() -> None:
    # population 0 -> volunteers / 0 -> not applicable, points 0
    r = run(expr_book(), {"volunteers": 3, "population": 0, "x": 10})
    item = r.item("e.volunteers")
    assert item.status == "not_applicable"
    assert item.points == F(0)
    # rescale: A = 10+5+5 = 20, a = 10, e = 5 + 5 = 10 -> 10 × 20/10 = 20
    assert r.category("e").score == F(20)


# ---------------------------------------------------------------------- manual


def manual_book() -> Rulebook:
    return book("""
        [[categories]]
        id = "m"
          [[categories.items]]
          id = "quality"
          max = 4
          kind = "manual"
          step = 0.5
    """)


def test_manual_points() -> None:
    r = run(manual_book(), points={"m.quality": "3.5"})
    assert r.item("m.quality").points == F("3.5")
    assert r.item("m.quality").status == "scored"
    # scale defaults to 4, one category of max 4: total = 4 × 3.5/4 = 3.5
    assert r.total == F("3.5")


def test_manual_missing_points() -> None:
    r = run(manual_book())
    assert r.item("m.quality").status == "missing"
    assert r.item("m.quality").points == F(0)


@pytest.mark.parametrize("bad", ["1.25", "4.5", "-0.5"])
def test_manual_points_off_step_or_range_are_rejected(bad: str) -> None:
    # 1.25 is not a multiple of 0.5; 4.5 > max 4; −0.5 < floor 0
    with pytest.raises(EvidenceError) as exc:
        evidence(manual_book(), points={"m.quality": bad})
    assert "m.quality" in str(exc.value)


# ------------------------------------------------------------------- veto/grade


def veto_book(effect: str) -> Rulebook:
    return book(f"""
        [fields.fabricated]
        type = "bool"

        [[grades]]
        name = "优秀"
        min = 90
        [[grades]]
        name = "合格"
        min = 60
        [[grades]]
        name = "不合格"
        min = 0

        [[categories]]
        id = "c"
          [[categories.items]]
          id = "work"
          max = 10
          kind = "manual"
          [[categories.items]]
          id = "fraud"
          kind = "veto"
          when = "fabricated"
          effect = "{effect}"
    """)


def test_veto_not_triggered() -> None:
    # scale = 10; 9.5/10 × 10 = 9.5; grade: highest min not above 9.5 is 不合格 (0)
    r = run(veto_book("fail"), {"fabricated": False}, {"c.work": "9.5"})
    assert not r.vetoed
    assert r.item("c.fraud").status == "scored"
    assert r.item("c.fraud").points == F(0)
    assert r.total == F("9.5")


def test_veto_fail_keeps_total_lowest_grade() -> None:
    rb = book("""
        scale = 100
        [fields.fabricated]
        type = "bool"
        [[grades]]
        name = "优秀"
        min = 90
        [[grades]]
        name = "不合格"
        min = 0
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "work"
          max = 10
          kind = "manual"
          [[categories.items]]
          id = "fraud"
          kind = "veto"
          when = "fabricated"
          effect = "fail"
    """)
    clean = run(rb, {"fabricated": False}, {"c.work": 10})
    assert clean.total == F(100)  # 100 × 10/10
    assert clean.grade == "优秀"
    r = run(rb, {"fabricated": True}, {"c.work": 10})
    assert r.vetoed
    assert r.total == F(100)  # total kept
    assert r.grade == "不合格"  # lowest grade
    assert r.item("c.fraud").status == "veto"


def test_veto_zero_sets_total_zero() -> None:
    r = run(veto_book("zero"), {"fabricated": True}, {"c.work": 10})
    assert r.vetoed
    assert r.total == F(0)
    assert r.grade == "不合格"
    assert r.item("c.fraud").status == "veto"


def test_veto_missing_evidence_is_missing_not_vetoed() -> None:
    r = run(veto_book("zero"), {}, {"c.work": 10})
    assert not r.vetoed
    assert r.item("c.fraud").status == "missing"
    assert r.total == F(10)  # scale 10 × 10/10


# --------------------------------------------------------- missing evidence


def all_kinds_book() -> Rulebook:
    return book("""
        [fields.b]
        type = "bool"
        [fields.n]
        type = "count"
        [fields.s]
        type = "set"
        [fields.q]
        type = "quantity"
        unit = "m^2"

        [[categories]]
        id = "k"
          [[categories.items]]
          id = "check"
          max = 1
          kind = "check"
          field = "b"
          [[categories.items]]
          id = "when"
          max = 1
          kind = "check"
          when = "n > 2"
          [[categories.items]]
          id = "threshold"
          max = 1
          kind = "threshold"
          field = "q"
          at_least = 10
          [[categories.items]]
          id = "tiers"
          max = 1
          kind = "tiers"
          field = "n"
          tiers = [{at_least = 5, points = 1}]
          [[categories.items]]
          id = "linear"
          max = 1
          kind = "linear"
          field = "q"
          zero_at = 0
          full_at = 10
          [[categories.items]]
          id = "count"
          max = 1
          kind = "count"
          field = "n"
          each = 1
          [[categories.items]]
          id = "deduct_set"
          max = 1
          kind = "deduct"
          field = "s"
          required = ["a"]
          [[categories.items]]
          id = "deduct_count"
          max = 1
          kind = "deduct"
          field = "n"
          [[categories.items]]
          id = "shortfall"
          max = 1
          kind = "shortfall"
          field = "n"
          target = 5
          step = 1
          each = 1
          [[categories.items]]
          id = "surplus"
          max = 1
          kind = "surplus"
          field = "n"
          target = 5
          step = 1
          each = 1
          [[categories.items]]
          id = "expr"
          max = 1
          kind = "expr"
          points = "n / 10"
          [[categories.items]]
          id = "manual"
          max = 1
          kind = "manual"
          [[categories.items]]
          id = "negative"
          max = 1
          floor = -2
          kind = "deduct"
          faults = {n = 1}
    """)


def test_missing_evidence_scores_zero_with_status_missing() -> None:
    r = run(all_kinds_book())
    for item in r.items:
        assert item.status == "missing", item.id
        # 无资料不得分: 0, or the floor where it is lower (−2)
        assert item.points == (F(-2) if item.id == "k.negative" else F(0)), item.id
    # Σ = −2 -> category floor 0 -> total 0
    assert r.total == F(0)


def test_missing_evidence_not_excused_by_applies_when() -> None:
    rb = book("""
        [fields.households]
        type = "count"
        [fields.has_room]
        type = "bool"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "room"
          max = 4
          kind = "check"
          field = "has_room"
          applies_when = "households > 1000"
          [[categories.items]]
          id = "other"
          max = 6
          kind = "manual"
    """)
    # households missing -> applies_when counts as true -> room applies; has_room true -> 4
    r = run(rb, {"has_room": True}, {"c.other": 6})
    assert r.item("c.room").status == "scored"
    assert r.item("c.room").points == F(4)
    # both missing -> room is missing (0), not excused: total = 10 × 6/10 = 6 (no rescale)
    r = run(rb, {}, {"c.other": 6})
    assert r.item("c.room").status == "missing"
    assert r.total == F(6)


# ------------------------------------------------------ not applicable / rescale


def na_book(mode: str = "rescale") -> Rulebook:
    return book(f"""
        scale = 100
        not_applicable = "{mode}"
        [fields.registers]
        type = "set"
        [fields.meetings]
        type = "count"
        [fields.cases_received]
        type = "count"
        [fields.cases_closed]
        type = "count"
        [fields.floating_population]
        type = "count"
        [fields.has_plate]
        type = "bool"
        [fields.room_area]
        type = "quantity"
        unit = "m^2"
        [fields.funds]
        type = "quantity"
        unit = "元"

        [derived.closure_rate]
        expr = "cases_closed / cases_received * 100"
        unit = "%"
        on_zero = "not_applicable"

        [[categories]]
        id = "archives"
        max = 30
          [[categories.items]]
          id = "registers"
          max = 10
          kind = "deduct"
          field = "registers"
          required = {REGISTERS!r}
          each = 2
          [[categories.items]]
          id = "meetings"
          max = 6
          kind = "shortfall"
          field = "meetings"
          target = 4
          step = 1
          each = 1.5
          partial = "whole"
          [[categories.items]]
          id = "closure"
          max = 10
          kind = "tiers"
          field = "closure_rate"
          tiers = [{{at_least = "98 %", points = 10}}, {{at_least = "90 %", points = 6}}]
          [[categories.items]]
          id = "quality"
          max = 4
          kind = "manual"

        [[categories]]
        id = "facilities"
        max = 30
          [[categories.items]]
          id = "plate"
          max = 5
          kind = "check"
          field = "has_plate"
          [[categories.items]]
          id = "room"
          max = 15
          kind = "linear"
          field = "room_area"
          zero_at = 50
          full_at = 200
          [[categories.items]]
          id = "funds"
          max = 10
          kind = "count"
          field = "funds"
          each = 0.001

        [[categories]]
        id = "floating"
        max = 40
        applies_when = "floating_population > 0"
          [[categories.items]]
          id = "service"
          max = 40
          kind = "manual"
    """)


NA_VALUES: dict[str, Any] = {
    "registers": REGISTERS[:4],
    "meetings": 5,
    "cases_received": 0,
    "cases_closed": 0,
    "floating_population": 640,
    "has_plate": True,
    "room_area": 160,
    "funds": 12000,
}


def test_not_applicable_item_rescales_category() -> None:
    # archives: registers 10 − 2 = 8; meetings 6; closure n/a (0/0); quality missing 0
    # e = 14, A = 30, a = 20 -> 14 × 30/20 = 21
    # facilities: 5 + 15 × 110/150 (= 11) + min(10, 12) = 26; floating 30
    # total = 100 × (21 + 26 + 30)/100 = 77
    r = run(na_book(), NA_VALUES, {"floating.service": 30})
    assert r.item("archives.closure").status == "not_applicable"
    assert r.item("archives.closure").points == F(0)
    assert r.category("archives").score == F(21)
    assert r.category("facilities").score == F(26)
    assert r.total == F(77)


def test_category_with_nothing_applicable_drops_out() -> None:
    # floating_population 0 -> the floating category is not applicable and leaves the total:
    # total = 100 × (21 + 26)/60 = 78.333… -> 78.33
    values = dict(NA_VALUES, floating_population=0)
    r = run(na_book(), values, {"floating.service": 30})
    assert r.item("floating.service").status == "not_applicable"
    assert r.total == F(4700, 60)
    assert r.rounded_total == F("78.33")


def test_not_applicable_award_gives_max() -> None:
    # award: closure n/a earns its max 10: archives = 8 + 6 + 10 + 0 = 24 (no rescale)
    r = run(na_book("award"), NA_VALUES, {"floating.service": 30})
    assert r.item("archives.closure").status == "not_applicable"
    assert r.item("archives.closure").points == F(10)
    assert r.category("archives").score == F(24)
    # total = 100 × (24 + 26 + 30)/100 = 80
    assert r.total == F(80)


def test_not_applicable_award_category() -> None:
    # award and floating_population 0: floating earns its max 40
    # total = 100 × (24 + 26 + 40)/100 = 90
    values = dict(NA_VALUES, floating_population=0)
    r = run(na_book("award"), values, {"floating.service": 30})
    assert r.category("floating").score == F(40)
    assert r.total == F(90)


def test_item_applies_when_false_rescales() -> None:
    rb = book("""
        [fields.households]
        type = "count"
        [fields.has_room]
        type = "bool"
        [[categories]]
        id = "c"
        max = 10
          [[categories.items]]
          id = "room"
          max = 4
          kind = "check"
          field = "has_room"
          applies_when = "households > 1000"
          [[categories.items]]
          id = "other"
          max = 6
          kind = "manual"
    """)
    # households 500: room n/a; e = 4.5, A = 10, a = 6 -> 4.5 × 10/6 = 7.5; scale 10 -> total 7.5
    r = run(rb, {"households": 500, "has_room": True}, {"c.other": "4.5"})
    assert r.item("c.room").status == "not_applicable"
    assert r.category("c").score == F("7.5")
    assert r.total == F("7.5")


# ------------------------------------------------------------- derived on_zero


def on_zero_book() -> Rulebook:
    return book("""
        [fields.received]
        type = "count"
        [fields.closed]
        type = "count"
        [fields.other]
        type = "bool"

        [derived.rate_na]
        expr = "closed / received * 100"
        unit = "%"
        on_zero = "not_applicable"
        [derived.rate_missing]
        expr = "closed / received * 100"
        unit = "%"
        on_zero = "missing"
        [derived.rate_zero]
        expr = "closed / received * 100"
        unit = "%"
        on_zero = "zero"

        [[categories]]
        id = "z"
          [[categories.items]]
          id = "na"
          max = 2
          kind = "tiers"
          field = "rate_na"
          tiers = [{at_least = 50, points = 2}, {at_least = 0, points = 1}]
          [[categories.items]]
          id = "missing"
          max = 2
          kind = "tiers"
          field = "rate_missing"
          tiers = [{at_least = 50, points = 2}, {at_least = 0, points = 1}]
          [[categories.items]]
          id = "zero"
          max = 2
          kind = "tiers"
          field = "rate_zero"
          tiers = [{at_least = 50, points = 2}, {at_least = 0, points = 1}]
    """)


def test_derived_on_zero() -> None:
    r = run(on_zero_book(), {"received": 0, "closed": 0})
    assert r.item("z.na").status == "not_applicable"
    assert r.item("z.na").points == F(0)
    assert r.item("z.missing").status == "missing"
    assert r.item("z.missing").points == F(0)
    # zero: the rate is 0 -> tier "at_least 0" -> 1 point, scored
    assert r.item("z.zero").status == "scored"
    assert r.item("z.zero").points == F(1)
    # rescale: A = 6, a = 4, e = 0 + 1 = 1 -> 1 × 6/4 = 1.5
    assert r.category("z").score == F("1.5")


def test_derived_with_missing_input_is_missing() -> None:
    r = run(on_zero_book(), {"received": 4})
    for iid in ("z.na", "z.missing", "z.zero"):
        assert r.item(iid).status == "missing", iid
        assert r.item(iid).points == F(0)


def test_derived_normal_value() -> None:
    # 3/4 × 100 = 75 % >= 50 -> 2 each
    r = run(on_zero_book(), {"received": 4, "closed": 3})
    assert [r.item(i).points for i in ("z.na", "z.missing", "z.zero")] == [F(2), F(2), F(2)]


# ------------------------------------------------------------- bonus / penalty


def bonus_penalty_book() -> Rulebook:
    return book("""
        [fields.late_reports]
        type = "count"
        [fields.loans]
        type = "quantity"
        unit = "万元"
        [fields.award]
        type = "bool"
        [fields.honours]
        type = "bool"

        [[categories]]
        id = "base"
          [[categories.items]]
          id = "work"
          max = 10
          kind = "manual"

        [[categories]]
        id = "bonus"
        type = "bonus"
        max = 3
          [[categories.items]]
          id = "loans"
          max = 3
          kind = "surplus"
          field = "loans"
          target = 10
          step = 10
          each = 0.5
          partial = "whole"
          [[categories.items]]
          id = "award"
          max = 2
          kind = "check"
          field = "award"
          applies_when = "honours"

        [[categories]]
        id = "penalty"
        type = "penalty"
        max = 8
          [[categories.items]]
          id = "late"
          max = 10
          kind = "count"
          field = "late_reports"
          each = 2
    """)


def test_scale_defaults_to_sum_of_base_max() -> None:
    # only the base category (max 10) counts; bonus and penalty do not
    assert bonus_penalty_book().scale == F(10)


def test_bonus_added_penalty_subtracted() -> None:
    # base 9 (scale 10 × 9/10); bonus: loans 30 -> 2 whole steps × 0.5 = 1, award 2 -> 3 (cap 3)
    # penalty: 1 late × 2 = 2 -> total 9 + 3 − 2 = 10
    r = run(
        bonus_penalty_book(),
        {"late_reports": 1, "loans": 30, "award": True, "honours": True},
        {"base.work": 9},
    )
    assert r.category("bonus").score == F(3)
    assert r.category("penalty").score == F(2)
    assert r.total == F(10)


def test_bonus_capped_by_own_max() -> None:
    # loans 90 -> 8 steps × 0.5 = 4 -> item max 3; award 2; Σ 5 -> bonus max 3
    r = run(
        bonus_penalty_book(),
        {"late_reports": 0, "loans": 90, "award": True, "honours": True},
        {"base.work": 5},
    )
    assert r.item("bonus.loans").points == F(3)
    assert r.category("bonus").score == F(3)
    assert r.total == F(8)  # 5 + 3 − 0


def test_bonus_never_rescaled() -> None:
    # honours false -> award n/a; loans 20 -> 1 step -> 0.5; bonus stays 0.5 (not 0.5 × 5/3)
    r = run(
        bonus_penalty_book(),
        {"late_reports": 0, "loans": 20, "award": True, "honours": False},
        {"base.work": 5},
    )
    assert r.item("bonus.award").status == "not_applicable"
    assert r.category("bonus").score == F("0.5")
    assert r.total == F("5.5")


def test_penalty_capped_and_total_never_below_zero() -> None:
    # late 7 -> 14 -> item max 10 -> penalty category max 8; base 9 -> 9 − 8 = 1
    r = run(
        bonus_penalty_book(),
        {"late_reports": 7, "loans": 0, "award": False, "honours": True},
        {"base.work": 9},
    )
    assert r.item("penalty.late").points == F(10)
    assert r.category("penalty").score == F(8)
    assert r.total == F(1)
    # base 3, late 3 -> 6: 3 − 6 < 0 -> total 0
    r = run(
        bonus_penalty_book(),
        {"late_reports": 3, "loans": 0, "award": False, "honours": True},
        {"base.work": 3},
    )
    assert r.total == F(0)


# ----------------------------------------------------------------- weights


def weighted_book(weights: bool, drop_b: bool = False) -> Rulebook:
    wa = "weight = 2" if weights else ""
    wb = "weight = 1" if weights else ""
    applies = 'applies_when = "use_b"' if drop_b else ""
    return book(f"""
        scale = 100
        [fields.use_b]
        type = "bool"
        [[categories]]
        id = "a"
        {wa}
          [[categories.items]]
          id = "x"
          max = 10
          kind = "manual"
        [[categories]]
        id = "b"
        {wb}
        {applies}
          [[categories.items]]
          id = "y"
          max = 20
          kind = "manual"
    """)


def test_weighted_total() -> None:
    # 100 × (2 × 5/10 + 1 × 20/20)/(2 + 1) = 100 × 2/3 = 66.666… -> 66.67
    r = run(weighted_book(True), {"use_b": True}, {"a.x": 5, "b.y": 20})
    assert r.total == F(200, 3)
    assert r.rounded_total == F("66.67")
    assert fmt_points(r.total) == "66.67"


def test_unweighted_total() -> None:
    # 100 × (5 + 20)/(10 + 20) = 83.333… -> 83.33
    r = run(weighted_book(False), {"use_b": True}, {"a.x": 5, "b.y": 20})
    assert r.total == F(250, 3)
    assert r.rounded_total == F("83.33")


def test_weighted_total_with_dropped_category() -> None:
    # b not applicable: 100 × (2 × 5/10)/2 = 50
    r = run(weighted_book(True, drop_b=True), {"use_b": False}, {"a.x": 5, "b.y": 20})
    assert r.total == F(50)


def test_weights_on_some_categories_only_is_a_rulebook_error() -> None:
    from fulian_eval import RulebookError

    with pytest.raises(RulebookError):
        book("""
            [[categories]]
            id = "a"
            weight = 2
              [[categories.items]]
              id = "x"
              max = 10
              kind = "manual"
            [[categories]]
            id = "b"
              [[categories.items]]
              id = "y"
              max = 20
              kind = "manual"
        """)


# ----------------------------------------------------------------- rounding


def test_items_rounded_half_up_before_category_sum() -> None:
    rb = book("""
        [fields.n1]
        type = "count"
        [fields.n2]
        type = "count"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "a"
          max = 1
          kind = "count"
          field = "n1"
          each = 0.125
          [[categories.items]]
          id = "b"
          max = 1
          kind = "count"
          field = "n2"
          each = 0.125
    """)
    # each item 0.125 -> 0.13 (half-up); category 0.13 + 0.13 = 0.26 (not 0.25)
    r = run(rb, {"n1": 1, "n2": 1})
    assert r.item("c.a").points == F("0.13")
    assert r.category("c").score == F("0.26")
    assert r.total == F("0.26")  # scale 2 × 0.26/2


def test_total_rounded_half_up_once() -> None:
    rb = book("""
        scale = 1
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "m"
          max = 8
          kind = "manual"
          step = 1
    """)
    # 1 × 1/8 = 0.125 exactly -> shown 0.13 (half-up; Python's round would give 0.12)
    r = run(rb, points={"c.m": 1})
    assert r.total == F(1, 8)
    assert r.rounded_total == F("0.13")
    assert fmt_points(r.total) == "0.13"


def test_total_from_exact_category_scores() -> None:
    rb = book("""
        [fields.no]
        type = "bool"
        [[categories]]
        id = "a"
          [[categories.items]]
          id = "p"
          max = 3
          kind = "manual"
          step = 1
          [[categories.items]]
          id = "q"
          max = 7
          kind = "check"
          field = "no"
          applies_when = "no"
        [[categories]]
        id = "b"
          [[categories.items]]
          id = "p"
          max = 3
          kind = "manual"
          step = 1
          [[categories.items]]
          id = "q"
          max = 7
          kind = "check"
          field = "no"
          applies_when = "no"
    """)
    # each category: q n/a, e = 1, A = 10, a = 3 -> 10/3 = 3.333… (shown 3.33)
    # total = 20 × (20/3)/20 = 6.666… -> 6.67 (summing shown scores would give 6.66)
    r = run(rb, {"no": False}, {"a.p": 1, "b.p": 1})
    assert r.category("a").score == F(10, 3)
    assert fmt_points(r.category("a").score) == "3.33"
    assert r.total == F(20, 3)
    assert fmt_points(r.total) == "6.67"


@pytest.mark.parametrize(
    ("x", "shown"),
    [
        (F(1, 8), "0.13"),
        (F(-1, 8), "-0.13"),
        (F(875, 10), "87.50"),
        (F(0), "0.00"),
        (F(2675, 1000), "2.68"),
        (F(1, 200), "0.01"),
        (F(1, 201), "0.00"),
        (F(100), "100.00"),
    ],
)
def test_fmt_points(x: Fraction, shown: str) -> None:
    assert fmt_points(x) == shown


# ------------------------------------------------------------------- grades


def grades_book(with_grades: bool = True) -> Rulebook:
    grades = (
        """
        [[grades]]
        name = "合格"
        min = 60
        [[grades]]
        name = "优秀"
        min = 90
        [[grades]]
        name = "不合格"
        min = 0
    """
        if with_grades
        else ""
    )
    return book(f"""
        scale = 100
        {textwrap.dedent(grades)}
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "m"
          max = 200
          kind = "manual"
          step = 0.01
    """)


@pytest.mark.parametrize(
    ("points", "grade"),
    [
        ("179.99", "优秀"),  # 100 × 179.99/200 = 89.995 -> rounded 90.00 >= 90 -> 优秀
        ("179.98", "合格"),  # 89.99 -> 合格 (listed out of order in the file: still 60)
        ("120", "合格"),  # 60.00 -> 合格 (min is inclusive)
        ("119.98", "不合格"),  # 59.99 -> 不合格
        ("0", "不合格"),
    ],
)
def test_grade_uses_rounded_total(points: str, grade: str) -> None:
    r = run(grades_book(), points={"c.m": points})
    assert r.grade == grade


def test_no_grades_gives_none() -> None:
    r = run(grades_book(False), points={"c.m": 150})
    assert r.total == F(75)
    assert r.grade is None


# ----------------------------------------------------- consistency / approximate


def flags_book(consistency: bool) -> Rulebook:
    check = (
        """
        [[consistency]]
        when = "registered <= floating_population"
        message = "已登记人数大于流动人口总数"
    """
        if consistency
        else ""
    )
    return book(f"""
        [fields.floating_population]
        type = "count"
        unit = "人"
        [fields.registered]
        type = "count"
        unit = "人"
        [fields.volunteers]
        type = "count"
        unit = "人"
        [fields.population]
        type = "count"
        unit = "人"
        {textwrap.dedent(check)}
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "reg"
          max = 10
          kind = "threshold"
          field = "registered"
          at_least = 600
          [[categories.items]]
          id = "vol"
          max = 10
          kind = "expr"
          points = "min(10, volunteers / population * 1000 * 2)"
    """)


def test_consistency_failure_is_flag_not_score_change() -> None:
    values = {"floating_population": 640, "registered": 700, "volunteers": 10, "population": 3300}
    flagged = run(flags_book(True), values)
    plain = run(flags_book(False), values)
    # reg: 700 >= 600 -> 10; vol: 6.06; total = 20 × 16.06/20 = 16.06 either way
    assert flagged.total == plain.total == F("16.06")
    assert any("已登记人数大于流动人口总数" in f for f in flagged.flags)
    assert not any("已登记人数大于流动人口总数" in f for f in plain.flags)


def test_consistency_holding_gives_no_flag() -> None:
    r = run(
        flags_book(True),
        {"floating_population": 640, "registered": 600, "volunteers": 10, "population": 3300},
    )
    assert r.flags == ()


def test_approximate_value_scored_and_flagged() -> None:
    # "10余" scored as 10: 10/3300 × 2000 = 6.06
    r = run(
        flags_book(False),
        {"floating_population": 640, "registered": 600, "volunteers": "10余", "population": 3300},
    )
    assert r.item("c.vol").points == F("6.06")
    assert any("10余" in f for f in r.flags)


# ------------------------------------------------------------ more options


def test_check_when_and_stops_before_division_by_zero() -> None:
    rb = book("""
        [fields.cases]
        type = "count"
        [fields.closed]
        type = "count"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "closure"
          max = 4
          kind = "check"
          when = "cases > 0 and closed / cases >= 0.9"
    """)
    # cases 0: "cases > 0" is false, the division is never evaluated -> scored 0, not n/a
    r = one(rb, "c.closure", {"cases": 0, "closed": 0})
    assert (r.status, r.points) == ("scored", F(0))
    # 9/10 = 0.9 >= 0.9 -> 4
    assert one(rb, "c.closure", {"cases": 10, "closed": 9}).points == F(4)


def test_rescaled_category_clamped_to_its_max() -> None:
    rb = book("""
        [fields.big]
        type = "bool"
        [fields.x]
        type = "bool"
        [[categories]]
        id = "c"
        max = 8
          [[categories.items]]
          id = "p"
          max = 4
          kind = "manual"
          step = 1
          [[categories.items]]
          id = "q"
          max = 6
          kind = "check"
          field = "x"
          applies_when = "big"
    """)
    # q n/a: e = 4, A = 10, a = 4 -> 4 × 10/4 = 10 -> clamp to category max 8; scale 8 -> total 8
    r = run(rb, {"big": False, "x": True}, {"c.p": 4})
    assert r.category("c").score == F(8)
    assert r.total == F(8)
    # e = 3 -> 3 × 10/4 = 7.5
    assert run(rb, {"big": False, "x": True}, {"c.p": 3}).category("c").score == F("7.5")


def test_zero_veto_wins_over_fail_veto() -> None:
    rb = book("""
        [fields.fabricated]
        type = "bool"
        [fields.accident]
        type = "bool"
        [[grades]]
        name = "合格"
        min = 5
        [[grades]]
        name = "不合格"
        min = 0
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "work"
          max = 10
          kind = "manual"
          [[categories.items]]
          id = "fail"
          kind = "veto"
          when = "fabricated"
          effect = "fail"
          [[categories.items]]
          id = "zero"
          kind = "veto"
          when = "accident"
          effect = "zero"
    """)
    r = run(rb, {"fabricated": True, "accident": True}, {"c.work": 8})
    assert r.vetoed
    assert r.total == F(0)
    assert r.grade == "不合格"
    r = run(rb, {"fabricated": True, "accident": False}, {"c.work": 8})
    assert r.total == F(8)
    assert r.grade == "不合格"


def gains_book() -> Rulebook:
    return book("""
        [fields.late]
        type = "count"
        [[categories]]
        id = "c"
        max = 8
          [[categories.items]]
          id = "p"
          max = 5
          kind = "manual"
          step = 1
          [[categories.items]]
          id = "q"
          max = 5
          kind = "manual"
          step = 1
        [[categories]]
        id = "pen"
        type = "penalty"
          [[categories.items]]
          id = "late"
          max = 10
          kind = "count"
          field = "late"
          each = 2
    """)


def test_gains_include_category_cap() -> None:
    rb = gains_book()
    # p 4, q 3 -> c = 7 (scale 8 -> base 7); penalty 1 × 2 = 2 -> total 5
    # p full: Σ 8 -> +1; q full: Σ 9 -> capped at 8 -> +1 (not its 2 missing points)
    r = run(rb, {"late": 1}, {"c.p": 4, "c.q": 3})
    assert r.total == F(5)
    got = {i.id: g for i, g in gains(rb, r)}
    # and no late report at all would take the penalty of 2 away: +2
    assert got == {"c.p": F(1), "c.q": F(1), "pen.late": F(2)}
    assert gains(rb, r)[0][0].id == "pen.late"


def test_gains_include_total_floor_and_penalties() -> None:
    rb = gains_book()
    # p 1, q 1 -> base 2; penalty 2 × 2 = 4 -> total max(0, −2) = 0
    # p full: base 6 − 4 = 2 -> +2 (not 4); same for q
    # no late report: base 2 − 0 = 2 -> +2 (the penalty's "full" is nothing deducted)
    r = run(rb, {"late": 2}, {"c.p": 1, "c.q": 1})
    assert r.total == F(0)
    got = gains(rb, r)
    assert {i.id: g for i, g in got} == {"c.p": F(2), "c.q": F(2), "pen.late": F(2)}


def test_gains_largest_first() -> None:
    rb = gains_book()
    # p 5 (full), q 0 -> base 5; late 0 -> total 5; q full: Σ 10 -> 8 -> +3; only q listed
    r = run(rb, {"late": 0}, {"c.p": 5, "c.q": 0})
    assert [(i.id, g) for i, g in gains(rb, r)] == [("c.q", F(3))]
    # p 2, q 4: p full -> Σ 9 -> 8 -> +2; q full -> Σ 7 -> +1 -> p first
    r = run(rb, {"late": 0}, {"c.p": 2, "c.q": 4})
    assert [(i.id, g) for i, g in gains(rb, r)] == [("c.p", F(2)), ("c.q", F(1))]
