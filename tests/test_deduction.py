"""Deduction categories, deduction items and missing evidence (SPEC §10.1, §10.2), through both engines.

The most common published shape: 设基本分100分, then a list of "……的扣X分". Every
expected number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from fulian_eval import EvidenceError, RulebookError, parse_evidence, score
from test_kinds import book, engine, run  # noqa: F401  (engine: every example through both engines)

F = Fraction
ROOT = Path(__file__).resolve().parent.parent

FIELDS = """
[fields.rules_ok]
type = "bool"
title = "服务站制度健全"

[fields.match_rate]
type = "number"
unit = "%"
title = "人户一致率"

[fields.late]
type = "count"
unit = "次"
title = "报表迟报次数"
"""

BUSINESS = (
    FIELDS
    + """
[[categories]]
id = "business"
title = "业务工作"
type = "deduction"
max = 100

  [[categories.items]]
  id = "rules"
  title = "服务站制度不健全的扣2分"
  kind = "check"
  when = "not rules_ok"
  max = 2

  [[categories.items]]
  id = "match"
  title = "人户一致率90%，每少一个百分点扣2分"
  kind = "shortfall"
  field = "match_rate"
  target = "90 %"
  step = "1 %"
  each = 2
  on_missing = "none"

  [[categories.items]]
  id = "late"
  title = "报表每迟报一次扣1分，最高扣5分"
  kind = "count"
  field = "late"
  each = 1
  max = 5
"""
)


def test_deductions_are_taken_off_the_starting_score() -> None:
    rb = book(BUSINESS)
    # the scale is the deduction category's max: a deduction category is a base one (§4.3)
    assert rb.scale == 100
    # rules 2 (the fault holds) + match (90 − 85) / 1 × 2 = 10 + late 2 × 1 = 2 -> 100 − 14 = 86
    r = run(rb, {"rules_ok": False, "match_rate": "85%", "late": 2})
    assert [i.points for i in r.items] == [F(2), F(10), F(2)]
    assert r.category("business").score == 86
    assert r.total == 86
    assert r.item("business.match").reason == "人户一致率85%，低于90%，扣10分"
    assert r.item("business.rules").reason == "服务站制度健全：否，扣2分"
    assert r.item("business.late").reason == "报表迟报次数2次×1分，扣2分"


def test_nothing_deducted_says_so() -> None:
    r = run(book(BUSINESS), {"rules_ok": True, "match_rate": "95%", "late": 0})
    assert r.total == 100
    assert [i.reason for i in r.items] == [
        "服务站制度健全：是，未扣分",
        "人户一致率95%，达到90%，未扣分",
        "报表迟报次数0次×1分，未扣分",
    ]


def test_an_item_cap_and_the_category_floor() -> None:
    # late 9 × 1 = 9, capped by the item's max: 5 (本条最高扣5分)
    r = run(book(BUSINESS), {"rules_ok": True, "match_rate": "90%", "late": 9})
    assert r.item("business.late").points == 5 and r.total == 95
    # match 40 %: (90 − 40) × 2 = 100, uncapped; + rules 2 + late 5 = 107 -> 扣完为止 at the floor 0
    r = run(book(BUSINESS), {"rules_ok": False, "match_rate": "40%", "late": 5})
    assert r.item("business.match").reason == "人户一致率40%，低于90%，扣100分"
    assert r.category("business").score == 0 and r.total == 0


def test_an_uncapped_deduction_is_shown_at_most_at_the_whole_base() -> None:
    # match 30 %: (90 − 30) × 2 = 120, more than the category's 100: shown as 100, said as 120
    r = run(book(BUSINESS), {"rules_ok": True, "match_rate": "30%", "late": 0})
    item = r.item("business.match")
    assert item.points == 100 and "扣120分" in item.reason
    assert r.total == 0


def test_missing_evidence_deducts_the_most_it_could() -> None:
    # rules_ok missing: worst -> 2; match missing: on_missing none -> 0; late missing: worst -> 5
    r = run(book(BUSINESS), {})
    assert [i.points for i in r.items] == [F(2), F(0), F(5)]
    assert [i.status for i in r.items] == ["missing"] * 3
    assert r.total == 93  # 100 − 7
    assert r.item("business.late").reason == "无资料（缺报表迟报次数），按未开展扣5分"
    assert r.item("business.match").reason == "无资料（缺人户一致率），未扣分"


def test_leaving_evidence_out_never_helps() -> None:
    rb = book(BUSINESS)
    worst = run(rb, {"match_rate": "90%"}).total  # rules and late missing: 2 + 5
    for rules_ok in (True, False):
        for late in (0, 3, 5):
            assert run(rb, {"rules_ok": rules_ok, "match_rate": "90%", "late": late}).total >= worst


def test_penalty_categories_deduct_what_their_items_say() -> None:
    """Changes v1: a shortfall in a penalty category deducts each × steps (v1 subtracted max − that)."""
    rb = book(
        FIELDS
        + """
[fields.meetings]
type = "count"
unit = "次"
title = "执委会次数"

[[categories]]
id = "work"
title = "基础工作"
max = 10

  [[categories.items]]
  id = "ok"
  kind = "check"
  field = "rules_ok"
  max = 10

[[categories]]
id = "minus"
title = "扣分项"
type = "penalty"
max = 6

  [[categories.items]]
  id = "meetings"
  title = "执委会每少开一次扣1分，最高扣4分"
  kind = "shortfall"
  field = "meetings"
  target = 4
  step = 1
  each = 1
  max = 4
"""
    )
    # meetings 2: 2 short × 1 = 2 deducted (v1: 4 − 2 = 2 as well — so try 3: v1 gave 3, now 1)
    r = run(rb, {"rules_ok": True, "meetings": 3})
    assert r.item("minus.meetings").points == 1 and r.total == 9
    assert r.item("minus.meetings").reason == "执委会次数3次，低于4次，扣1分"
    r = run(rb, {"rules_ok": True, "meetings": 4})
    assert r.item("minus.meetings").points == 0 and r.total == 10
    # missing: worst deducts its max 4 (v1 deducted nothing)
    r = run(rb, {"rules_ok": True})
    assert r.item("minus.meetings").points == 4 and r.total == 6


def test_base_items_missing_under_none_score_zero_not_their_floor() -> None:
    rb = book("""
[fields.faults]
type = "count"

[[categories]]
id = "a"
max = 5

  [[categories.items]]
  id = "x"
  kind = "deduct"
  field = "faults"
  max = 5
  floor = -2
  on_missing = "none"

  [[categories.items]]
  id = "y"
  kind = "deduct"
  field = "faults"
  max = 5
  floor = -2
""")
    r = run(rb, {})
    # x: none -> 0; y: worst -> its floor −2
    assert [i.points for i in r.items] == [F(0), F(-2)]
    assert r.item("a.x").reason == "无资料（缺faults），记0分"


def test_on_missing_at_the_rulebook_and_category_levels_nearest_wins() -> None:
    rb = book(
        'on_missing = "none"\n'
        + BUSINESS.replace("max = 100\n", 'max = 100\non_missing = "worst"\n', 1).replace(
            "  max = 5\n", '  max = 5\n  on_missing = "none"\n'
        )
    )
    # category says worst (rules: 2), match says none (0), late says none (0)
    r = run(rb, {})
    assert [i.points for i in r.items] == [F(2), F(0), F(0)]


def test_reject_rejects_the_unit_naming_the_field() -> None:
    rb = book(BUSINESS.replace("  max = 5\n", '  max = 5\n  on_missing = "reject"\n'))
    with pytest.raises(EvidenceError) as info:
        parse_evidence(
            rb, {"unit": {"id": "u1"}, "values": {"rules_ok": True, "match_rate": "90%"}}
        )
    assert "报表迟报次数" in str(info.value) and "reject" in str(info.value)
    # given, it scores
    ev = parse_evidence(
        rb, {"unit": {"id": "u1"}, "values": {"rules_ok": True, "match_rate": "90%", "late": 1}}
    )
    assert score(rb, ev).total == 99


def test_reject_in_a_streamed_table_rejects_that_row_only(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text(
        'id = "d"\nversion = "1"\n'
        + BUSINESS.replace("  max = 5\n", '  max = 5\n  on_missing = "reject"\n'),
        encoding="utf-8",
    )
    table = tmp_path / "units.csv"
    table.write_text(
        "unit,rules_ok,match_rate,late\na,是,90%,1\nb,是,90%,\nc,否,85%,0\n", encoding="utf-8"
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "rank", str(rb_path), str(table), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr
    rows = [line.split(",") for line in p.stdout.splitlines()[1:]]
    assert [(r[2], r[6]) for r in rows] == [("a", "99.00"), ("c", "88.00")]  # c: 100 − 2 − 10
    assert "b" in p.stderr and "报表迟报次数" in p.stderr


@pytest.mark.usefixtures("english")
def test_an_uncapped_deduction_needs_a_max_or_another_on_missing() -> None:
    with pytest.raises(RulebookError) as info:
        book(BUSINESS.replace('  on_missing = "none"\n', ""))
    [problem] = info.value.problems
    assert problem.path.endswith('"business.match"')
    assert "without max" in problem.message and 'on_missing = "none"' in problem.message


@pytest.mark.usefixtures("english")
def test_rulebook_checks_of_deduction_categories() -> None:
    with pytest.raises(RulebookError) as info:
        book(
            FIELDS
            + """
[[categories]]
id = "business"
type = "deduction"

  [[categories.items]]
  id = "rules"
  kind = "check"
  when = "not rules_ok"
  max = 2
  floor = -1
  on_missing = "wrost"
"""
        )
    messages = [p.message for p in info.value.problems]
    assert any("needs 'max'" in m and "基本分" in m for m in messages), messages
    assert any("has no floor" in m for m in messages), messages
    assert any("did you mean 'worst'" in m for m in messages), messages


def test_json_gives_deductions_caps_and_types(tmp_path: Path) -> None:
    rb_path = tmp_path / "rb.toml"
    rb_path.write_text('id = "d"\nversion = "1"\n' + BUSINESS, encoding="utf-8")
    ev = tmp_path / "a.toml"
    ev.write_text(
        '[unit]\nid = "a"\n[values]\nrules_ok = false\nmatch_rate = "85%"\nlate = 2\n',
        encoding="utf-8",
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "score", str(rb_path), str(ev), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    unit = json.loads(p.stdout)["units"][0]
    assert (
        unit["categories"][0]["type"] == "deduction" and unit["categories"][0]["score"] == "86.00"
    )
    items = {i["id"]: i for i in unit["items"]}
    assert items["business.match"]["points"] == "10.00" and items["business.match"]["max"] is None
    assert items["business.late"]["max"] == "5.00"
    assert unit["total"] == "86.00"


def test_a_deduction_category_beside_a_weighted_base_one() -> None:
    rb = book(
        FIELDS
        + """
[[categories]]
id = "work"
max = 10
weight = 1

  [[categories.items]]
  id = "ok"
  kind = "check"
  field = "rules_ok"
  max = 10

[[categories]]
id = "business"
type = "deduction"
max = 20
weight = 3

  [[categories.items]]
  id = "late"
  kind = "count"
  field = "late"
  each = 2
  max = 8
"""
    )
    # work 10/10 × 1; business (20 − 3 × 2 = 14)/20 × 3 = 2.1; scale 30 × (1 + 2.1) / 4 = 23.25
    r = run(rb, {"rules_ok": True, "late": 3})
    assert r.category("business").score == 14
    assert r.total == F(2325, 100)
