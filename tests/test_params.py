"""More item parameters (SPEC §10.4), through both engines.

``direction`` on shortfall/surplus, weighted ``required`` checklists, ``requires``
preconditions, bounds taken from evidence, per-category/item ``not_applicable``, and
``total`` / ``score("cat")`` in a veto's ``when``. Every expected number is worked out
by hand in the comment beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from fulian_eval import RulebookError
from test_kinds import book, engine, run  # noqa: F401  (engine: every example through both engines)

F = Fraction


def problems(body: str) -> str:
    with pytest.raises(RulebookError) as exc:
        book(body)
    return str(exc.value)


# ------------------------------------------------------------------ direction

RATE = """
[fields.rate]
type = "number"
unit = "%"
title = "发案率"
"""


def direction_book(kind: str, direction: str, category: str = "base") -> str:
    start = "max = 100\n" if category == "deduction" else ""
    return (
        RATE
        + f"""
[[categories]]
id = "c"
type = "{category}"
{start}
  [[categories.items]]
  id = "x"
  max = 10
  kind = "{kind}"
  field = "rate"
  target = "2 %"
  step = "1 %"
  each = 0.5
  direction = "{direction}"
"""
    )


@pytest.mark.parametrize(
    ("rate", "points", "reason"),
    [
        # 每上升1个百分点扣0.5分: 5% is 3 points above 2% -> 3 × 0.5 = 1.5 off 10 -> 8.5
        ("5%", F(85, 10), "发案率5%，高于2%，扣1.5分，得8.5分"),
        # at or below the target nothing is taken
        ("2%", F(10), "发案率2%，未超过2%，得满分10分"),
        ("1%", F(10), "发案率1%，未超过2%，得满分10分"),
        # 2.5%: half a step above -> 0.25 off -> 9.75
        ("2.5%", F(975, 100), "发案率2.5%，高于2%，扣0.25分，得9.75分"),
    ],
)
def test_shortfall_above(rate: str, points: Fraction, reason: str) -> None:
    r = run(book(direction_book("shortfall", "above")), {"rate": rate})
    assert r.item("c.x").points == points
    assert r.item("c.x").reason == reason


def test_shortfall_above_in_a_deduction_category() -> None:
    # 7% is 5 points above 2%: 5 × 0.5 = 2.5 deducted from 100 -> 97.5
    r = run(book(direction_book("shortfall", "above", "deduction")), {"rate": "7%"})
    assert r.item("c.x").points == F(5, 2)
    assert r.total == F(975, 10)
    assert r.item("c.x").reason == "发案率7%，高于2%，扣2.5分"


def test_shortfall_below_is_the_default() -> None:
    body = direction_book("shortfall", "below").replace('  direction = "below"\n', "")
    # 0.5% is 1.5 points below 2%: 1.5 × 0.5 = 0.75 off 10 -> 9.25
    r = run(book(body), {"rate": "0.5%"})
    assert r.item("c.x").points == F(925, 100)
    # above the target: full marks
    assert run(book(body), {"rate": "9%"}).item("c.x").points == 10


@pytest.mark.parametrize(
    ("rate", "points", "reason"),
    [
        # 每降低1个百分点加0.5分: 0% is 2 below 2% -> 2 steps × 0.5 = 1
        ("0%", F(1), "发案率0%，低于2%2档，每档0.5分，得1分"),
        ("3%", F(0), "发案率3%，未低于2%，不加分"),
    ],
)
def test_surplus_below(rate: str, points: Fraction, reason: str) -> None:
    r = run(book(direction_book("surplus", "below")), {"rate": rate})
    assert r.item("c.x").points == points
    assert r.item("c.x").reason == reason


def test_surplus_above_is_the_default() -> None:
    body = direction_book("surplus", "above").replace('  direction = "above"\n', "")
    # 6% is 4 above 2% -> 4 × 0.5 = 2
    assert run(book(body), {"rate": "6%"}).item("c.x").points == 2
    assert run(book(body), {"rate": "1%"}).item("c.x").points == 0


@pytest.mark.usefixtures("english")
def test_a_misspelt_direction_is_reported() -> None:
    msg = problems(direction_book("shortfall", "abvoe"))
    assert "'abvoe' is not allowed; expected 'below' or 'above'" in msg
    assert "did you mean 'above'" in msg


# --------------------------------------------------------- weighted checklist

CHECKLIST = """
[fields.docs]
type = "set"
title = "台账资料"

[[categories]]
id = "c"
type = "{type}"
{start}
  [[categories.items]]
  id = "docs"
  max = 2
  kind = "deduct"
  field = "docs"
  required = {{"领导小组" = 1, "计划" = 0.5, "总结" = 0.5}}
"""


def checklist(ctype: str = "base") -> str:
    return CHECKLIST.format(type=ctype, start="max = 100" if ctype == "deduction" else "")


@pytest.mark.parametrize(
    ("docs", "points", "reason"),
    [
        # all three there: 2
        ("领导小组、计划、总结", F(2), "3项齐全，得满分2分"),
        # 计划 and 总结 missing: 0.5 + 0.5 = 1 off 2 -> 1
        ("领导小组", F(1), "缺2项(计划0.5分、总结0.5分)，扣1分"),
        # 领导小组 missing: 1 off -> 1
        ("计划、总结", F(1), "缺1项(领导小组1分)，扣1分"),
        # 领导小组 and 总结 missing: 1.5 off -> 0.5
        ("计划", F(1, 2), "缺2项(领导小组1分、总结0.5分)，扣1.5分"),
        # nothing: 2 off -> 0
        ("", F(0), "缺3项(领导小组1分、计划0.5分、总结0.5分)，扣2分"),
    ],
)
def test_weighted_checklist(docs: str, points: Fraction, reason: str) -> None:
    r = run(book(checklist()), {"docs": docs})
    assert r.item("c.docs").points == points
    assert r.item("c.docs").reason == reason


def test_weighted_checklist_in_a_deduction_category() -> None:
    # 计划 missing: 0.5 deducted from 100 -> 99.5
    r = run(book(checklist("deduction")), {"docs": "领导小组、总结"})
    assert r.item("c.docs").points == F(1, 2)
    assert r.total == F(995, 10)
    assert r.item("c.docs").reason == "缺1项(计划0.5分)，扣0.5分"


@pytest.mark.usefixtures("english")
def test_weighted_checklist_takes_no_each() -> None:
    body = checklist().replace('  field = "docs"\n', '  field = "docs"\n  each = 2\n')
    assert "'each' is not used with a weighted 'required' table" in problems(body)


@pytest.mark.usefixtures("english")
def test_weighted_checklist_points_must_be_above_zero() -> None:
    body = checklist().replace('"计划" = 0.5', '"计划" = 0')
    assert 'c.docs".required.计划' in problems(body)
    assert "0 must be a number of points above 0" in problems(body)


# ------------------------------------------------------------------- requires

PRECONDITION = """
[fields.built]
type = "bool"
title = "建成儿童之家"
[fields.accepted]
type = "bool"
title = "验收合格"
[fields.hours]
type = "count"
unit = "次"
title = "开放次数"

[[categories]]
id = "c"
type = "{type}"
{start}
  [[categories.items]]
  id = "home"
  max = 4
  kind = "check"
  field = "built"
  requires = "accepted"
  {extra}

  [[categories.items]]
  id = "open"
  max = 6
  kind = "count"
  field = "hours"
  each = 1
"""


def precondition(ctype: str = "base", extra: str = "") -> str:
    return PRECONDITION.format(
        type=ctype, start="max = 100" if ctype == "deduction" else "", extra=extra
    )


def test_requires_met_scores_the_item() -> None:
    # accepted: the check scores as usual -> 4; open 3 × 1 = 3; total 7 of 10 -> scale 10
    r = run(book(precondition()), {"built": True, "accepted": True, "hours": 3})
    assert r.item("c.home").points == 4 and r.item("c.home").status == "scored"
    assert r.total == 7


def test_requires_not_met_scores_nothing() -> None:
    # built but not accepted: 未满足前提 -> 0, status scored (not missing)
    r = run(book(precondition()), {"built": True, "accepted": False, "hours": 3})
    home = r.item("c.home")
    assert home.points == 0 and home.status == "scored"
    assert home.reason == "未满足前提（验收合格），不得分"
    assert r.total == 3


def test_requires_with_missing_evidence_fails() -> None:
    # accepted missing: the precondition counts as false -> 0, scored (the built value is never read)
    r = run(book(precondition()), {"built": True, "hours": 3})
    assert r.item("c.home").status == "scored"
    assert r.item("c.home").reason == "未满足前提（验收合格），不得分"
    # accepted true, built missing: the item itself is missing (worst -> 0)
    r = run(book(precondition()), {"accepted": True, "hours": 3})
    assert r.item("c.home").status == "missing"


def test_requires_not_met_in_a_deduction_category_deducts_the_max() -> None:
    # check in a deduction category deducts its 4 when "built" (the fault) holds; not accepted -> deduct 4
    # open: count 2 × 1 = 2 deducted; total 100 − 4 − 2 = 94
    r = run(book(precondition("deduction")), {"built": False, "accepted": False, "hours": 2})
    assert r.item("c.home").points == 4
    assert r.item("c.home").reason == "未满足前提（验收合格），按未开展扣4分"
    assert r.total == 94


def test_applies_when_comes_before_requires() -> None:
    # applies_when false: not applicable, whatever the precondition; open 2 of 6 rescaled to 10 -> 3.33
    body = precondition(extra='applies_when = "hours > 1"')
    r = run(book(body), {"built": True, "accepted": False, "hours": 1})
    assert r.item("c.home").status == "not_applicable"
    # 1 of 6, rescaled: 1 × 10 / 6 = 1.666… -> 1.67
    assert r.category("c").rounded == F(167, 100)


def test_requires_beats_the_items_own_on_missing_none() -> None:
    # on_missing = "none" does not soften an unmet precondition: it scores as under worst (the floor 0)
    body = precondition(extra='on_missing = "none"\n  floor = -2')
    r = run(book(body), {"built": True, "accepted": False, "hours": 0})
    assert r.item("c.home").points == -2


@pytest.mark.usefixtures("english")
def test_requires_on_a_veto_is_an_error() -> None:
    body = (
        precondition()
        + """
  [[categories.items]]
  id = "v"
  kind = "veto"
  when = "not built"
  requires = "accepted"
"""
    )
    assert "a veto item takes no 'requires'" in problems(body)


@pytest.mark.usefixtures("english")
def test_requires_must_be_a_condition() -> None:
    assert (
        "requires: expression error: expression gives a number but true/false is needed"
        in problems(precondition().replace('requires = "accepted"', 'requires = "hours"'))
    )


# --------------------------------------------------------- bounds from evidence

QUOTA = """
[fields.supplied]
type = "number"
unit = "%"
title = "供应率"
[fields.supply_target]
type = "number"
unit = "%"
title = "供应目标"
[fields.trained]
type = "count"
unit = "人"
title = "培训人数"
[fields.quota]
type = "count"
unit = "人"
title = "培训任务数"
[fields.quota_half]
type = "count"
unit = "人"
title = "培训起评数"

[[categories]]
id = "c"
  [[categories.items]]
  id = "supply"
  max = 10
  kind = "shortfall"
  field = "supplied"
  target = "supply_target"
  step = "1 %"
  each = 2

  [[categories.items]]
  id = "reach"
  max = 5
  kind = "threshold"
  field = "trained"
  at_least = "quota"

  [[categories.items]]
  id = "share"
  max = 4
  kind = "linear"
  field = "trained"
  zero_at = "quota_half"
  full_at = "quota"

  [[categories.items]]
  id = "tiered"
  max = 6
  kind = "tiers"
  field = "trained"
  tiers = [{at_least = "quota", points = 6}, {at_least = "quota_half", points = 3}]
"""

QUOTA_VALUES = {
    "supplied": "88%",
    "supply_target": "90%",
    "trained": 45,
    "quota": 50,
    "quota_half": 25,
}


def test_bounds_from_evidence() -> None:
    r = run(book(QUOTA), QUOTA_VALUES)
    # supply: 88% is 2 below this unit's 90% -> 2 × 2 = 4 off 10 -> 6
    assert r.item("c.supply").points == 6
    assert r.item("c.supply").reason == "供应率88%，低于供应目标90%，扣4分，得6分"
    # reach: 45 < 50 -> 0
    assert r.item("c.reach").points == 0
    assert r.item("c.reach").reason == "培训人数45人，未达到不低于培训任务数50人的要求，不得分"
    # share: (45 − 25) / (50 − 25) = 0.8 × 4 = 3.2
    assert r.item("c.share").points == F(16, 5)
    assert (
        r.item("c.share").reason
        == "培训人数45人，按培训起评数25人不得分、培训任务数50人满分折算，得3.2分"
    )
    # tiered: 45 ≥ 25 (not 50) -> 3
    assert r.item("c.tiered").points == 3
    assert r.item("c.tiered").reason == "培训人数45人，不低于培训起评数25人，得3分"


def test_a_bound_set_per_unit() -> None:
    # another village, another quota: 45 of a quota of 40 -> reach 5, share 4, tiered 6
    r = run(book(QUOTA), {**QUOTA_VALUES, "quota": 40, "quota_half": 20, "supply_target": "85%"})
    assert [r.item(f"c.{i}").points for i in ("supply", "reach", "share", "tiered")] == [
        10,
        5,
        4,
        6,
    ]


def test_a_missing_bound_makes_the_item_missing() -> None:
    values = {k: v for k, v in QUOTA_VALUES.items() if k != "quota"}
    r = run(book(QUOTA), values)
    assert r.item("c.reach").status == "missing"
    assert r.item("c.reach").reason == "无资料（缺培训任务数），不得分"
    assert r.item("c.supply").status == "scored"


def test_bounds_that_meet_at_run_time() -> None:
    # zero_at = full_at = 45 for this unit: 45 ≥ 45 -> full 4 (no division by zero)
    r = run(book(QUOTA), {**QUOTA_VALUES, "quota": 45, "quota_half": 45})
    assert r.item("c.share").points == 4
    r = run(book(QUOTA), {**QUOTA_VALUES, "trained": 44, "quota": 45, "quota_half": 45})
    assert r.item("c.share").points == 0


def test_a_bound_in_another_unit_of_the_same_dimension_is_converted() -> None:
    body = """
[fields.area]
type = "quantity"
unit = "m^2"
title = "活动场所面积"
[fields.need]
type = "quantity"
unit = "hectare"
title = "面积要求"

[[categories]]
id = "c"
  [[categories.items]]
  id = "room"
  max = 3
  kind = "threshold"
  field = "area"
  at_least = "need"
"""
    # need 0.01 ha = 100 m²: 120 m² reaches it, 90 m² does not
    assert run(book(body), {"area": "120 m^2", "need": "0.01 hectare"}).item("c.room").points == 3
    r = run(book(body), {"area": "90 m^2", "need": "0.01 hectare"})
    assert r.item("c.room").points == 0
    assert "不低于面积要求100m²" in r.item("c.room").reason  # the value used, in the field's unit


@pytest.mark.usefixtures("english")
def test_a_bound_of_the_wrong_dimension_is_refused() -> None:
    body = QUOTA.replace('at_least = "quota"', 'at_least = "supply_target"')
    msg = problems(body)
    assert (
        "'supply_target' has '%' but the item's field has '人'" not in msg
    )  # both have units: dimension check
    assert "c.reach\".at_least: 'supply_target' cannot be this bound" in msg


@pytest.mark.usefixtures("english")
def test_a_unitless_bound_beside_a_percentage_is_refused() -> None:
    body = QUOTA.replace(
        '[fields.supply_target]\ntype = "number"\nunit = "%"',
        '[fields.supply_target]\ntype = "number"',
    )
    assert (
        "'supply_target' has no unit but the item's field has '%'; give [fields.supply_target] the same unit"
        in problems(body)
    )


@pytest.mark.usefixtures("english")
def test_an_unknown_bound_name_is_reported_with_a_hint() -> None:
    msg = problems(QUOTA.replace('at_least = "quota"', 'at_least = "quotta"'))
    assert "unknown field 'quotta'" in msg and "did you mean 'quota'" in msg


def test_the_bound_field_is_among_the_inputs() -> None:
    r = run(book(QUOTA), QUOTA_VALUES)
    assert dict(r.item("c.reach").inputs) == {"trained": "45", "quota": "50"}


# ------------------------------------------------------ not_applicable per level

NA = """
[fields.births]
type = "count"
unit = "人"
title = "出生人数"
[fields.visited]
type = "count"
unit = "人"
title = "访视人数"
[fields.migrants]
type = "count"
unit = "人"
title = "流动人口数"
[fields.served]
type = "count"
unit = "人"
title = "服务人数"
[fields.meetings]
type = "count"
unit = "次"
title = "例会次数"

[derived.visit_rate]
expr = "visited / births"
title = "访视率"

[derived.serve_rate]
expr = "served / migrants"
title = "服务率"

[[categories]]
id = "c"
{cat_na}
  [[categories.items]]
  id = "visit"
  max = 4
  kind = "threshold"
  field = "visit_rate"
  at_least = 1
  {item_na}

  [[categories.items]]
  id = "serve"
  max = 4
  kind = "threshold"
  field = "serve_rate"
  at_least = 1

  [[categories.items]]
  id = "meet"
  max = 2
  kind = "count"
  field = "meetings"
  each = 1
"""

NONE_BORN = {"births": 0, "visited": 0, "migrants": 0, "served": 0, "meetings": 1}


def test_an_item_awards_while_its_neighbour_rescales() -> None:
    # 无出生 -> visit awarded its 4 (counts as applicable); 无流动人口 -> serve rescales away
    # applicable max 4 + 2 = 6, points 4 + 1 = 5 -> 5 × 10 / 6 = 8.333… -> 8.33
    r = run(book(NA.format(cat_na="", item_na='not_applicable = "award"')), NONE_BORN)
    assert r.item("c.visit").points == 4 and r.item("c.visit").status == "not_applicable"
    assert r.item("c.serve").points == 0 and r.item("c.serve").status == "not_applicable"
    assert r.category("c").rounded == F(833, 100)


def test_the_rulebook_default_rescales_both() -> None:
    # only meet applies: 1 of 2 -> 1 × 10 / 2 = 5
    r = run(book(NA.format(cat_na="", item_na="")), NONE_BORN)
    assert r.category("c").score == 5


def test_a_category_awards_and_an_item_rescales() -> None:
    # category award; visit overrides to rescale: serve awarded 4, visit drops out
    # applicable 4 + 2 = 6, points 4 + 1 = 5 -> 8.33
    r = run(
        book(NA.format(cat_na='not_applicable = "award"', item_na='not_applicable = "rescale"')),
        NONE_BORN,
    )
    assert r.item("c.serve").points == 4 and r.item("c.visit").points == 0
    assert r.category("c").rounded == F(833, 100)


def test_a_category_award_awards_every_item() -> None:
    # both awarded: 4 + 4 + 1 = 9 of 10
    r = run(book(NA.format(cat_na='not_applicable = "award"', item_na="")), NONE_BORN)
    assert r.category("c").score == 9


@pytest.mark.usefixtures("english")
def test_a_misspelt_not_applicable_on_an_item() -> None:
    msg = problems(NA.format(cat_na="", item_na='not_applicable = "awrd"'))
    assert "\"c.visit\".not_applicable: 'awrd' is not allowed; expected 'rescale' or 'award'" in msg


# ------------------------------------------------- veto on total and score("cat")

YEAR_END = """
[fields.work]
type = "number"
title = "工作得分"
[fields.safety]
type = "number"
title = "安全得分"
[fields.fabricated]
type = "bool"
title = "弄虚作假"

[[categories]]
id = "work"
title = "业务工作"
  [[categories.items]]
  id = "w"
  max = 70
  kind = "linear"
  field = "work"
  zero_at = 0
  full_at = 70

[[categories]]
id = "safety-duty"
title = "安全稳定"
  [[categories.items]]
  id = "s"
  max = 30
  kind = "linear"
  field = "safety"
  zero_at = 0
  full_at = 30

  [[categories.items]]
  id = "low"
  title = "年终考核80分以下一票否决"
  kind = "veto"
  when = "total < 80"

  [[categories.items]]
  id = "weak"
  title = "安全稳定得分低于18分的一票否决"
  kind = "veto"
  when = "score('safety-duty') < 18 or fabricated"
  effect = "zero"

[[grades]]
name = "优秀"
min = 90
[[grades]]
name = "合格"
min = 60
[[grades]]
name = "不合格"
min = 0
"""


def test_a_veto_on_the_total() -> None:
    # 55 + 24 = 79 < 80: vetoed, the lowest grade; the total stays 79 (effect fail)
    r = run(book(YEAR_END), {"work": 55, "safety": 24, "fabricated": False})
    assert r.vetoed and r.grade == "不合格"
    assert r.total == 79
    assert r.item("safety-duty.low").status == "veto"
    assert r.item("safety-duty.low").reason == "一票否决（总分<80：总分79分），评为最低等次"
    assert r.item("safety-duty.weak").status == "scored"


def test_no_veto_at_the_line() -> None:
    # 56 + 24 = 80: not below 80; safety 24 ≥ 18 -> 合格
    r = run(book(YEAR_END), {"work": 56, "safety": 24, "fabricated": False})
    assert not r.vetoed and r.grade == "合格" and r.total == 80
    assert r.item("safety-duty.low").reason == "未触发一票否决"


def test_the_total_is_rounded_before_the_veto_reads_it() -> None:
    # weights 1 and 2 (scale 100): total = 100 × (1 × w/70 + 2 × s/30) / 3
    # work 55.99, safety 24: 100 × (0.799857… + 1.6) / 3 = 79.99523… -> rounded 80.00: not below 80
    body = YEAR_END.replace('title = "业务工作"', 'title = "业务工作"\nweight = 1').replace(
        'title = "安全稳定"', 'title = "安全稳定"\nweight = 2'
    )
    r = run(book(body), {"work": "55.99", "safety": 24, "fabricated": False})
    assert r.total == F(100) * (F(5599, 7000) + 2 * F(24, 30)) / 3
    assert r.rounded_total == 80 and not r.vetoed
    # work 55.98: 79.990476… -> 79.99 < 80: vetoed
    r = run(book(body), {"work": "55.98", "safety": 24, "fabricated": False})
    assert r.rounded_total == F(7999, 100) and r.vetoed


def test_a_veto_on_a_category_score() -> None:
    # safety 17 < 18: vetoed with effect zero -> total 0; 70 + 17 = 87 ≥ 80 so "low" does not fire
    r = run(book(YEAR_END), {"work": 70, "safety": 17, "fabricated": False})
    assert r.vetoed and r.total == 0
    assert r.item("safety-duty.weak").status == "veto"
    assert r.item("safety-duty.low").status == "scored"


def test_a_late_veto_with_missing_evidence() -> None:
    # fabricated missing, safety 20 ≥ 18: the or needs fabricated -> 无法判断; the total 90 stands
    r = run(book(YEAR_END), {"work": 70, "safety": 20})
    assert r.item("safety-duty.weak").status == "missing"
    assert not r.vetoed and r.total == 90 and r.grade == "优秀"


@pytest.mark.usefixtures("english")
def test_total_outside_a_veto_is_an_error() -> None:
    body = (
        YEAR_END
        + """
[[categories]]
id = "extra"
type = "bonus"
max = 5
  [[categories.items]]
  id = "b"
  max = 5
  kind = "check"
  when = "total > 95"
"""
    )
    msg = problems(body)
    assert "unknown name 'total'" in msg
    assert "('total' and score(\"…\") may be used only in a veto item's when)" in msg


@pytest.mark.usefixtures("english")
def test_an_unknown_category_in_score() -> None:
    msg = problems(YEAR_END.replace("score('safety-duty')", "score('safety')"))
    assert "score(\"safety\"): unknown category 'safety'" in msg
    assert "did you mean 'safety-duty'" in msg


@pytest.mark.usefixtures("english")
def test_a_field_named_total_beside_a_veto_on_total_is_an_error() -> None:
    body = YEAR_END.replace(
        "[fields.fabricated]", '[fields.total]\ntype = "number"\n[fields.fabricated]'
    )
    assert (
        "'total' is both a field or derived value and, in a veto's when, the unit's total"
        in problems(body)
    )


def test_a_late_veto_reads_no_evidence_named_total() -> None:
    rb = book(YEAR_END)
    assert rb.item("safety-duty.weak").fields_used() == {"fabricated"}
    assert rb.item("safety-duty.low").fields_used() == frozenset()


# ------------------------------------------------------------------ end to end

CLI_BOOK = (
    'id = "p"\nversion = "1"\n'
    + """
[fields.work]
type = "number"
title = "工作得分"
[fields.trained]
type = "count"
unit = "人"
title = "培训人数"
[fields.quota]
type = "count"
unit = "人"
title = "培训任务数"
[fields.accepted]
type = "bool"
title = "验收合格"

[[categories]]
id = "work"
  [[categories.items]]
  id = "w"
  max = 70
  kind = "linear"
  field = "work"
  zero_at = 0
  full_at = 70

  [[categories.items]]
  id = "train"
  max = 30
  kind = "threshold"
  field = "trained"
  at_least = "quota"
  requires = "accepted"

  [[categories.items]]
  id = "low"
  kind = "veto"
  when = "total < 80"
"""
)


def test_rank_and_score_from_the_command_line(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text(CLI_BOOK, encoding="utf-8")
    table = tmp_path / "units.csv"
    # a: 60 + 30 (50 ≥ 40, accepted) = 90; b: 65 + 0 (not accepted) = 65 < 80, vetoed;
    # c: 52 + 30 (30 ≥ 30) = 82
    table.write_text(
        "unit,work,trained,quota,accepted\na,60,50,40,是\nb,65,50,40,否\nc,52,30,30,是\n",
        encoding="utf-8",
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "rank", str(rb_path), str(table), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    got = [(u["unit"], u["total"], u["vetoed"]) for u in json.loads(p.stdout)["ranking"]]
    assert got == [("a", "90.00", False), ("c", "82.00", False), ("b", "65.00", True)]
    ev = tmp_path / "b.toml"
    ev.write_text(
        '[unit]\nid = "b"\n[values]\nwork = 65\ntrained = 50\nquota = 40\naccepted = false\n',
        encoding="utf-8",
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "score", str(rb_path), str(ev), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    items = {i["id"]: i for i in json.loads(p.stdout)["units"][0]["items"]}
    assert items["work.train"]["reason"] == "未满足前提（验收合格），不得分"
    assert items["work.low"]["status"] == "veto"


def test_requires_is_judged_before_a_missing_bound() -> None:
    # quota missing but not accepted: the precondition fails first -> scored 0, not missing
    body = QUOTA.replace(
        '  at_least = "quota"\n', '  at_least = "quota"\n  requires = "trained > 0"\n'
    )
    values = {k: v for k, v in QUOTA_VALUES.items() if k != "quota"}
    r = run(book(body), {**values, "trained": 0})
    assert r.item("c.reach").status == "scored"
    assert r.item("c.reach").reason == "未满足前提（培训人数>0），不得分"
    # precondition met, quota missing: now the item itself is missing
    assert run(book(body), values).item("c.reach").status == "missing"
