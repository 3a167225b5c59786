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
    return RATE + f"""
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


@pytest.mark.parametrize(("rate", "points", "reason"), [
    # 每上升1个百分点扣0.5分: 5% is 3 points above 2% -> 3 × 0.5 = 1.5 off 10 -> 8.5
    ("5%", F(85, 10), "发案率5%，高于2%，扣1.5分，得8.5分"),
    # at or below the target nothing is taken
    ("2%", F(10), "发案率2%，未超过2%，得满分10分"),
    ("1%", F(10), "发案率1%，未超过2%，得满分10分"),
    # 2.5%: half a step above -> 0.25 off -> 9.75
    ("2.5%", F(975, 100), "发案率2.5%，高于2%，扣0.25分，得9.75分"),
])
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


@pytest.mark.parametrize(("rate", "points", "reason"), [
    # 每降低1个百分点加0.5分: 0% is 2 below 2% -> 2 steps × 0.5 = 1
    ("0%", F(1), "发案率0%，低于2%2档，每档0.5分，得1分"),
    ("3%", F(0), "发案率3%，未低于2%，不加分"),
])
def test_surplus_below(rate: str, points: Fraction, reason: str) -> None:
    r = run(book(direction_book("surplus", "below")), {"rate": rate})
    assert r.item("c.x").points == points
    assert r.item("c.x").reason == reason


def test_surplus_above_is_the_default() -> None:
    body = direction_book("surplus", "above").replace('  direction = "above"\n', "")
    # 6% is 4 above 2% -> 4 × 0.5 = 2
    assert run(book(body), {"rate": "6%"}).item("c.x").points == 2
    assert run(book(body), {"rate": "1%"}).item("c.x").points == 0


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


@pytest.mark.parametrize(("docs", "points", "reason"), [
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
])
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


def test_weighted_checklist_takes_no_each() -> None:
    body = checklist().replace('  field = "docs"\n', '  field = "docs"\n  each = 2\n')
    assert "'each' is not used with a weighted 'required' table" in problems(body)


def test_weighted_checklist_points_must_be_above_zero() -> None:
    body = checklist().replace('"计划" = 0.5', '"计划" = 0')
    assert 'c.docs".required.计划' in problems(body)
    assert "0 must be a number of points above 0" in problems(body)
