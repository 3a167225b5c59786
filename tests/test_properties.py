"""Properties of the scoring contract (SPEC §4, §5) over generated rulebooks and evidence.

The strategies are the public ones of ``fulian_eval.testing``; the oracles here
re-state the SPEC arithmetic independently of ``score.py``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from fulian_eval import RulebookError, gains, parse_evidence, parse_rulebook, rank, score
from fulian_eval.kinds import (
    CheckRule,
    CountRule,
    DeductRule,
    LinearRule,
    ManualRule,
    ShortfallRule,
    SurplusRule,
    ThresholdRule,
    TiersRule,
)
from fulian_eval.model.rulebook import Category, Evidence, Item, Rulebook
from fulian_eval.scoring.exact import ItemResult, UnitResult
from fulian_eval.testing import (
    evidence,
    evidence_data,
    evidence_lists,
    rulebook_and_evidence,
    rulebook_texts,
    rulebooks,
    spell,
)

ZERO = Fraction(0)
# FULIAN_PROPERTY_SCALE=20 pytest tests/test_properties.py  hunts harder (about 20x longer).
_SCALE = int(os.environ.get("FULIAN_PROPERTY_SCALE", "1"))
FAST = settings(max_examples=120 * _SCALE, deadline=None)
SLOW = settings(max_examples=60 * _SCALE, deadline=None)

# The whole module hunts for counterexamples: CI runs it, `pytest -m "not slow"` leaves it out.
pytestmark = pytest.mark.slow

# Every field read by exactly one item or expression: changing it moves one item only.
exclusive = rulebooks(exclusive_fields=True)


# ------------------------------------------------------------------ oracles


def _clamp(x: Fraction, lo: Fraction, hi: Fraction) -> Fraction:
    return max(lo, min(hi, x))


def _awarded(rb: Rulebook, cat: Category, spec: Item) -> bool:
    """SPEC §10.4: a not-applicable item earns its max under "award" (item, group, category, rulebook)."""
    return (spec.not_applicable or cat.not_applicable or rb.not_applicable) == "award"


def _oracle_sum(
    ctype: str, parts: Sequence[tuple[Fraction, Fraction, bool]], lo: Fraction, hi: Fraction
) -> tuple[Fraction, bool]:
    """SPEC §4.2/§4.4 over (max, points, applicable) parts: (exact score, whether it applies)."""
    applicable = [(m, p) for m, p, ok in parts if ok]
    if ctype != "base":  # bonus/penalty: never rescaled, never awarded
        return _clamp(sum((p for _, p in applicable), ZERO), lo, hi), bool(applicable)
    e = sum((p for _, p in applicable), ZERO)
    if len(applicable) == len(parts):
        return _clamp(e, lo, hi), True
    big_a = sum((m for m, _, _ in parts), ZERO)
    small_a = sum((m for m, _ in applicable), ZERO)
    if small_a == 0:
        return ZERO, False
    return _clamp(e * big_a / small_a, lo, hi), True


def oracle_category(
    rb: Rulebook, cat: Category, items: Sequence[ItemResult]
) -> tuple[Fraction, bool]:
    """SPEC §4.2/§4.4/§10.3: (exact score, whether it counts in §4.3), from the item results.

    A group is summed (and rescaled) over its own items first, rounded as item points are,
    then counts in its category as one part at its max.
    """
    by_id = {r.id: r for r in items}

    def part(spec: Item) -> tuple[Fraction, Fraction, bool]:
        r = by_id[spec.id]
        ok = r.status != "not_applicable" or (cat.type == "base" and _awarded(rb, cat, spec))
        return spec.max, r.points, ok

    parts = [part(spec) for spec in cat.items if spec.group is None]
    for g in cat.groups:
        mine = [part(spec) for spec in cat.items if spec.group == g.id]
        gs, gok = _oracle_sum("base" if cat.type == "base" else "other", mine, g.floor, g.max)
        parts.append((g.max, rb.round(gs), gok))  # a group rounds as items do (§10.5)
    if (
        cat.type == "deduction"
    ):  # §10.1: 基本分 less the deductions, 扣完为止; none applicable: drops out
        if not any(ok for _, _, ok in parts):
            return ZERO, False
        taken = sum((p for _, p, ok in parts if ok), ZERO)
        return _clamp(cat.max - taken, cat.floor, cat.max), True
    score, ok = _oracle_sum(cat.type, parts, cat.floor, cat.max)
    return score, ok or cat.type != "base"


def oracle_total(
    rb: Rulebook, items: Sequence[ItemResult], vetoed_zero: bool
) -> tuple[Fraction, list[Fraction]]:
    """SPEC §4.3: the exact total and the exact category scores."""
    by_id = {r.id: r for r in items}
    weighted = any(c.weight is not None for c in rb.categories if c.base_like)
    num = den = extra = ZERO
    scores = []
    for cat in rb.categories:
        s, counts = oracle_category(rb, cat, [by_id[i.id] for i in cat.items])
        scores.append(s)
        if cat.type == "bonus":
            extra += s
        elif cat.type == "penalty":
            extra -= s
        elif counts and cat.max != 0:
            if weighted:
                assert cat.weight is not None
                num += cat.weight * s / cat.max
                den += cat.weight
            else:
                num += s
                den += cat.max
    base = rb.scale * num / den if den else ZERO
    total = max(ZERO, base + extra)
    return (ZERO if vetoed_zero else total), scores


def zeroed(res: UnitResult) -> bool:
    return res.vetoed and res.veto_effect == "zero"


def comparable(res: UnitResult) -> Any:
    """Everything a report shows, but not where the evidence came from or how it was written."""
    return (
        res.total,
        res.grade,
        res.vetoed,
        res.veto_effect,
        res.flags,
        [(c.id, c.score, c.applicable) for c in res.categories],
        [(i.id, i.points, i.status, i.reason) for i in res.items],
    )


def with_values(ev: Evidence, **values: Any) -> Evidence:
    return attrs.evolve(ev, values={**ev.values, **values})


def category_of(rb: Rulebook, item: Item) -> Category:
    return rb.category(item.id.split(".", 1)[0])


def assert_not_lower(rb: Rulebook, item: Item, before: UnitResult, after: UnitResult) -> None:
    """The item and its category never lose; the total follows the category's sign."""
    cat = category_of(rb, item)
    event(
        f"{item.kind}: item {'rose' if after.item(item.id).points > before.item(item.id).points else 'unchanged'}"
    )
    assert after.item(item.id).points >= before.item(item.id).points
    if cat.type == "deduction":  # a larger deduction leaves less of the 基本分
        assert after.category(cat.id).score <= before.category(cat.id).score
    else:
        assert after.category(cat.id).score >= before.category(cat.id).score
    if cat.deducts:  # more of what a penalty or deduction item counts takes more away
        assert after.total <= before.total
    else:
        assert after.total >= before.total


# ------------------------------------------------------------------- bounds


@FAST
@given(rulebooks(), st.data())
def test_item_points_within_floor_and_max(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    res = score(rb, ev)
    for spec, r in zip(rb.items(), res.items, strict=True):
        assert r.id == spec.id
        # points round to the precision (SPEC §10.5), so the bounds are rounded alike:
        # a max of 0.5 at precision 1 gives at most 1
        lo, hi = rb.round(min(spec.floor, ZERO)), rb.round(spec.max)
        assert lo <= r.points <= hi, (r.id, r.points, r.status)


@FAST
@given(rulebook_and_evidence())
def test_category_score_within_floor_and_max(pair: tuple[Rulebook, Evidence]) -> None:
    rb, ev = pair
    res = score(rb, ev)
    for spec, c in zip(rb.categories, res.categories, strict=True):
        assert spec.floor <= c.score <= spec.max, (c.id, c.score)


@FAST
@given(rulebooks(), st.data())
def test_total_within_zero_and_scale_plus_bonus(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    res = score(rb, ev)
    bonus = sum((c.max for c in rb.categories if c.type == "bonus"), ZERO)
    assert ZERO <= res.total <= rb.scale + bonus


_TINY = """
id = "tiny"
not_applicable = "award"
[fields.flag]
type = "bool"
[fields.faults]
type = "count"
[[categories]]
id = "a"
  [[categories.items]]
  id = "c"
  kind = "check"
  max = 0.125
  field = "flag"
  [[categories.items]]
  id = "d"
  kind = "deduct"
  max = 1
  floor = -0.125
  field = "faults"
"""


def test_points_finer_than_a_hundredth_are_a_rulebook_error() -> None:
    # Found by hypothesis: with max = 0.125 a full item would round to 0.13 > max (SPEC §2.1, §4.1).
    with pytest.raises(RulebookError) as info:
        parse_rulebook(_TINY)
    messages = [(p.path, p.message) for p in info.value.problems]
    assert (
        'categories[0].items[0] "a.c".max',
        "0.125 超过两位小数；分数只保留到 0.01（如 0.13）",
    ) in messages
    assert any(path.endswith('"a.d".floor') for path, _ in messages)


@FAST
@given(rulebook_texts(thousandths=True), st.data())
def test_fine_points_are_rejected_or_stay_within_bounds(text: str, data: st.DataObject) -> None:
    try:
        rb = parse_rulebook(text)
    except RulebookError as exc:
        # (an item dropped for it may leave its category's max above the rest: a follow-on problem)
        assert any(
            "more than two decimals" in p.message or "超过两位小数" in p.message
            for p in exc.problems
        ), str(exc)
        return
    ev = data.draw(evidence(rb), label="evidence")
    for spec, r in zip(rb.items(), score(rb, ev).items, strict=True):
        lo, hi = rb.round(min(spec.floor, ZERO)), rb.round(spec.max)  # at the precision
        assert lo <= r.points <= hi, (r.id, r.points, r.status)
        assert 100 % r.points.denominator == 0, (r.id, r.points)


@FAST
@given(rulebook_texts(), st.data())
def test_leaving_evidence_out_never_excuses_an_item(text: str, data: st.DataObject) -> None:
    rb = parse_rulebook(text)
    ev = data.draw(evidence(rb, missing=False), label="evidence")
    names = sorted(rb.fields) + sorted(ev.points)  # fields, and manual items' points
    drop = data.draw(st.sets(st.sampled_from(names)), label="left out") if names else set()
    less = attrs.evolve(
        ev,
        values={k: v for k, v in ev.values.items() if k not in drop},
        points={k: v for k, v in ev.points.items() if k not in drop},
    )
    before, after = score(rb, ev), score(rb, less)
    deducting = {i.id for c in rb.categories if c.deducts for i in c.items}
    for spec, b, a in zip(rb.items(), before.items, after.items, strict=True):
        if a.status == "not_applicable":  # §4.4: missing evidence counts as applying
            assert b.status == "not_applicable", (a.id, a.reason)
        if a.status == "missing":
            if spec.on_missing == "none":  # §10.2 none: 0 either way
                assert a.points == 0, a.id
            elif (
                spec.id in deducting
            ):  # §10.2 worst: a deduction deducts its max (未报送视为未开展)
                assert a.points == rb.round(spec.max), a.id
            else:  # §2.2: 0, or the floor if lower
                assert a.points == rb.round(min(ZERO, spec.floor)), a.id
        used = {spec.id} if spec.kind == "manual" else spec.fields_used()
        if a.status == "scored" and a.reason.startswith("未满足前提"):
            # §10.4: a precondition that cannot be judged is unmet: scored as under worst
            assert spec.requires is not None, a.id
            worst = rb.round(spec.max if spec.id in deducting else min(ZERO, spec.floor))
            assert a.points == worst, a.id
        elif used and used <= drop and a.status != "not_applicable":
            assert a.status == "missing", (a.id, a.status, a.reason)


@FAST
@given(rulebook_texts(grades=True), st.data())
def test_grade_is_the_highest_min_not_above_the_rounded_total(
    text: str, data: st.DataObject
) -> None:
    rb = parse_rulebook(text)
    res = score(rb, data.draw(evidence(rb), label="evidence"))
    lowest = min(rb.grades, key=lambda g: g.min).name
    if res.vetoed:
        if res.veto_effect == "zero":
            assert res.total == 0
        else:
            assert res.grade == lowest
        return
    fits = [g for g in rb.grades if g.min <= rb.round(res.total)]  # at the precision (§10.5)
    assert res.grade == (max(fits, key=lambda g: g.min).name if fits else None)


# ------------------------------------------------------------- monotonicity


def _rewarded_by_raising(rb: Rulebook, item: Item) -> str | None:
    """The field whose rise never lowers this item, if there is one."""
    rule = item.rule
    if isinstance(rule, ThresholdRule) and rule.at_most is None:
        return rule.field
    if isinstance(rule, TiersRule):
        pts = [t.points for t in rule.tiers]
        return rule.field if pts == sorted(pts, reverse=True) else None
    if isinstance(rule, LinearRule) and rule.full_at > rule.zero_at:
        return rule.field
    if isinstance(rule, CountRule | SurplusRule | ShortfallRule):
        return rule.field
    return None


def _marks(item: Item) -> list[Fraction]:
    """Values where a rule's points change."""
    rule = item.rule
    if isinstance(rule, ThresholdRule) and rule.at_least is not None:
        return [rule.at_least]
    if isinstance(rule, TiersRule):
        return [t.at_least for t in rule.tiers]
    if isinstance(rule, LinearRule):
        return [rule.zero_at, (rule.zero_at + rule.full_at) / 2, rule.full_at]
    if isinstance(rule, ShortfallRule | SurplusRule):
        return [rule.target + k * rule.step / 2 for k in range(-6, 7)]
    return []


@SLOW
@given(exclusive, st.data())
def test_raising_a_rewarded_value_never_lowers_item_category_or_total(
    rb: Rulebook, data: st.DataObject
) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    cands: list[tuple[Item, str, str]] = []
    for item in rb.items():
        rule = item.rule
        f = _rewarded_by_raising(rb, item)
        if f in rb.fields and f in ev.values:
            cands.append((item, f, "up"))
        falling = isinstance(rule, LinearRule) and rule.full_at < rule.zero_at
        if falling and ev.values.get(rule.field, 0) > 0:  # a falling scale rewards lowering
            cands.append((item, rule.field, "down"))
        if isinstance(rule, CheckRule) and rule.field in ev.values and not ev.values[rule.field]:
            cands.append((item, rule.field, "true"))
    assume(cands)
    item, f, how = data.draw(st.sampled_from(cands), label="item")
    old = ev.values[f]
    count = rb.fields[f].type == "count"
    new: Any
    if how == "true":
        new = True
    elif how == "down":
        new = (
            Fraction(data.draw(st.integers(0, math.floor(old))))
            if count
            else old * Fraction(data.draw(st.integers(0, 9)), 10)
        )
    else:  # often right onto a bound the rule compares with, so that points move
        marks = [m for m in _marks(item) if m > old]
        new = old + data.draw(st.integers(1, 60), label="raise by") * (
            1 if count else Fraction(1, 10)
        )
        if marks and data.draw(st.booleans(), label="onto a bound"):
            new = data.draw(st.sampled_from(marks), label="raised to")
        if count:
            new = Fraction(math.ceil(new))
    assert_not_lower(rb, item, score(rb, ev), score(rb, with_values(ev, **{f: new})))


@SLOW
@given(rulebooks(exclusive_fields=True, kinds={"deduct", "check", "manual"}), st.data())
def test_adding_a_required_document_never_lowers(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    cands = [
        (item, doc)
        for item in rb.items()
        if isinstance(item.rule, DeductRule)
        and item.rule.form == "set"
        and item.rule.field in ev.values
        for doc in item.rule.required
        if doc not in ev.values[item.rule.field]
    ]
    assume(cands)
    item, doc = data.draw(st.sampled_from(cands), label="document")
    assert isinstance(item.rule, DeductRule) and item.rule.field is not None
    f = item.rule.field
    after = with_values(ev, **{f: ev.values[f] | {doc}})
    assert_not_lower(rb, item, score(rb, ev), score(rb, after))


@SLOW
@given(rulebooks(exclusive_fields=True, kinds={"deduct", "threshold", "expr"}), st.data())
def test_lowering_a_fault_count_never_lowers(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    cands = []
    for item in rb.items():
        rule = item.rule
        if isinstance(rule, DeductRule) and rule.form == "count" and rule.field is not None:
            names = [rule.field]
        elif isinstance(rule, DeductRule) and rule.form == "faults":
            names = [n for n, _ in rule.faults]
        else:
            continue
        cands += [(item, n) for n in names if n in rb.fields and ev.values.get(n, 0) > 0]
    assume(cands)
    item, f = data.draw(st.sampled_from(cands), label="fault field")
    new = data.draw(st.integers(0, int(ev.values[f]) - 1), label="lowered to")
    assert_not_lower(rb, item, score(rb, ev), score(rb, with_values(ev, **{f: Fraction(new)})))


# ---------------------------------------------------------- unit invariance

_UNIT_BOOK = parse_rulebook("""
id = "units"
[fields.area]
type = "quantity"
unit = "m^2"
[fields.funds]
type = "quantity"
unit = "元"
[fields.grants]
type = "number"
unit = "万元"
[[categories]]
id = "facilities"
  [[categories.items]]
  id = "room"
  kind = "linear"
  max = 5
  field = "area"
  zero_at = "0.005 hectare"
  full_at = "150 m^2"
  [[categories.items]]
  id = "funds"
  kind = "shortfall"
  max = 4
  field = "funds"
  target = "1 万元"
  step = 1000
  each = 1
  partial = "any"
  [[categories.items]]
  id = "grants"
  kind = "surplus"
  max = 3
  field = "grants"
  target = "5000 元"
  step = 0.1
  each = 0.5
""")


def _unit_evidence(area: Any, funds: Any, grants: Any) -> Evidence:
    return parse_evidence(
        _UNIT_BOOK,
        {"unit": {"id": "u"}, "values": {"area": area, "funds": funds, "grants": grants}},
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("120 m^2", "8500 元", "0.85 万元"), ("0.012 hectare", "0.85 万元", "8500 元")),
        ((120, 8500, "0.85"), ("120平方米", "8500元", "8500 元")),
        (("60.5 m²", "12000 元", 1), ("0.00605 hectare", "1.2 万元", "10000 元")),
    ],
)
def test_unit_spellings_score_identically_examples(
    one: tuple[Any, ...], other: tuple[Any, ...]
) -> None:
    a, b = score(_UNIT_BOOK, _unit_evidence(*one)), score(_UNIT_BOOK, _unit_evidence(*other))
    assert comparable(a) == comparable(b)


@FAST
@given(
    st.integers(0, 50_000).map(lambda k: Fraction(k, 100)),
    st.integers(0, 3_000_000).map(lambda k: Fraction(k, 100)),
    st.integers(0, 100_000).map(lambda k: Fraction(k, 10_000)),
    st.integers(0, 5),
    st.integers(0, 5),
    st.integers(0, 5),
)
def test_every_spelling_of_a_value_scores_identically(
    area: Fraction, funds: Fraction, grants: Fraction, s1: int, s2: int, s3: int
) -> None:
    plain = score(
        _UNIT_BOOK, with_values(_unit_evidence(0, 0, 0), area=area, funds=funds, grants=grants)
    )
    spelled = score(
        _UNIT_BOOK,
        _unit_evidence(spell(area, "m^2", s1), spell(funds, "元", s2), spell(grants, "万元", s3)),
    )
    assert comparable(plain) == comparable(spelled)


@SLOW
@given(rulebooks(), st.data())
def test_respelling_evidence_in_other_units_changes_nothing(
    rb: Rulebook, data: st.DataObject
) -> None:
    raw = data.draw(evidence_data(rb, approximate=False), label="evidence")
    ev = parse_evidence(rb, raw)
    respelled = dict(raw["values"])
    for name, spec in rb.fields.items():
        if name in ev.values and spec.type in ("count", "number", "quantity") and spec.unit:
            respelled[name] = spell(
                ev.values[name], spec.unit, data.draw(st.integers(0, 4), label=name)
            )
    other = parse_evidence(rb, {**raw, "values": respelled})
    assert other.values == ev.values
    assert comparable(score(rb, other)) == comparable(score(rb, ev))


@FAST
@given(rulebooks(kinds={"count", "threshold", "linear", "surplus"}), st.data())
def test_approximate_figures_score_as_stated_and_are_flagged(
    rb: Rulebook, data: st.DataObject
) -> None:
    raw = data.draw(evidence_data(rb, approximate=False, spellings=False), label="evidence")
    counts = [n for n, s in rb.fields.items() if s.type == "count" and n in raw["values"]]
    assume(counts)
    name = data.draw(st.sampled_from(counts), label="field")
    ev = parse_evidence(rb, raw)
    word = data.draw(st.sampled_from(["{}余", "近{}", "{}多", "约{}"]), label="word")
    approx = parse_evidence(
        rb, {**raw, "values": {**raw["values"], name: word.format(ev.values[name].numerator)}}
    )
    assert approx.values == ev.values
    assert any(name in f for f in approx.flags)
    a, b = score(rb, ev), score(rb, approx)
    assert (a.total, [i.points for i in a.items]) == (b.total, [i.points for i in b.items])


# -------------------------------------------------------------------- ranks


def _ranked(rb: Rulebook, results: Sequence[UnitResult]) -> list[tuple[str, str, int, int]]:
    return [(r.result.unit.id, r.result.role, r.rank, r.group_rank) for r in rank(rb, results)]


_ROLES = st.sampled_from(["self", "peer", "town"])


@SLOW
@given(rulebooks(max_categories=2, max_items=3), st.data())
def test_rank_is_invariant_under_input_order(rb: Rulebook, data: st.DataObject) -> None:
    evs = data.draw(evidence_lists(rb, min_size=2, max_size=8, roles=_ROLES), label="units")
    results = [score(rb, ev) for ev in evs]
    shuffled = data.draw(st.permutations(results), label="order")
    assert _ranked(rb, shuffled) == _ranked(rb, results)


@SLOW
@given(rulebooks(max_categories=2, max_items=3), st.data())
def test_rank_is_standard_competition_ranking(rb: Rulebook, data: st.DataObject) -> None:
    evs = data.draw(evidence_lists(rb, min_size=2, max_size=8, roles=_ROLES), label="units")
    results = [score(rb, ev) for ev in evs]

    def key(r: UnitResult) -> tuple[Any, ...]:
        # ties on totals and tie-break scores rounded at the rulebook's precision (§10.5)
        ties = tuple(-rb.round(r.category(c).score) for c in rb.tie_break)
        return (r.vetoed, -rb.round(r.total), ties)

    for row in rank(rb, results):
        r = row.result
        peers = [s for s in results if s.role == r.role]
        assert row.rank == 1 + sum(key(s) < key(r) for s in peers)
        assert row.group_rank == 1 + sum(
            key(s) < key(r) for s in peers if s.unit.group == r.unit.group
        )


# ------------------------------------------------------------- arithmetic


@FAST
@given(rulebook_texts(), st.data())
def test_loading_and_scoring_are_deterministic(text: str, data: st.DataObject) -> None:
    rb = parse_rulebook(text)
    assert parse_rulebook(text) == rb
    ev = data.draw(evidence(rb), label="evidence")
    a, b = score(rb, ev), score(rb, ev)
    assert a == b
    assert comparable(a) == comparable(b)
    assert [i.inputs for i in a.items] == [i.inputs for i in b.items]


@FAST
@given(rulebook_and_evidence())
def test_item_points_are_exact_hundredths(pair: tuple[Rulebook, Evidence]) -> None:
    rb, ev = pair
    for r in score(rb, ev).items:
        assert isinstance(r.points, Fraction)
        assert 100 % r.points.denominator == 0, (r.id, r.points)


@FAST
@given(rulebooks(), st.data())
def test_total_is_computed_from_exact_category_scores(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    res = score(rb, ev)
    total, cats = oracle_total(rb, res.items, zeroed(res))
    assert [c.score for c in res.categories] == cats
    assert res.total == total
    assert res.rounded_total == rb.round(total)


@FAST
@given(rulebook_texts(not_applicable="rescale", applies_when=False), st.data())
def test_rescale_is_the_plain_sum_when_every_item_applies(text: str, data: st.DataObject) -> None:
    rb = parse_rulebook(text)
    ev = data.draw(evidence(rb), label="evidence")
    res = score(rb, ev)
    assume(all(i.status != "not_applicable" for i in res.items))
    for cat, c in zip(rb.categories, res.categories, strict=True):
        plain = sum((res.item(i.id).points for i in cat.items if i.group is None), ZERO)
        for g in cat.groups:  # a group adds its own capped sum (SPEC §10.3)
            added = sum((res.item(i).points for i in g.items), ZERO)
            plain += rb.round(_clamp(added, g.floor, g.max))  # rounded as items are (§10.5)
        if cat.type == "deduction":  # §10.1: 基本分 less the deductions
            plain = cat.max - plain
        assert c.score == _clamp(plain, cat.floor, cat.max)
    award = parse_rulebook(text.replace('not_applicable = "rescale"', 'not_applicable = "award"'))
    assert award.not_applicable == "award"
    assert comparable(score(award, ev)) == comparable(res)


# -------------------------------------------------------------------- gains


def best_points(rb: Rulebook, item: Item) -> Fraction:
    """Full marks: the max (at the precision), or for a deduction or penalty item (whose
    points are subtracted) nothing deducted."""
    return ZERO if category_of(rb, item).deducts else rb.round(item.max)


@FAST
@given(rulebook_texts(), st.data())
def test_gains_are_positive_sorted_and_exact(text: str, data: st.DataObject) -> None:
    rb = parse_rulebook(text)
    res = score(rb, data.draw(evidence(rb), label="evidence"))
    got = gains(rb, res)
    assert all(g > 0 for _, g in got)
    assert [g for _, g in got] == sorted((g for _, g in got), reverse=True)
    expected = {}
    for spec in rb.items():
        r = res.item(spec.id)
        best = best_points(rb, spec)
        if (
            zeroed(res)
            or r.status in ("not_applicable", "veto")
            or spec.kind == "veto"
            or r.points == best
        ):
            continue
        cat = category_of(rb, spec)
        if cat.base_like and not oracle_category(rb, cat, [res.item(i.id) for i in cat.items])[1]:
            continue
        full = [
            attrs.evolve(x, points=best, status="scored") if x.id == spec.id else x
            for x in res.items
        ]
        g = oracle_total(rb, full, False)[0] - res.total
        if g > 0:
            expected[spec.id] = g
    assert {r.id: g for r, g in got} == expected


def make_full(rb: Rulebook, ev: Evidence, item: Item) -> Evidence | None:
    """Evidence that brings ``item`` to :func:`best_points`, when one value can (None when not)."""
    rule = item.rule
    mx = item.max
    f = getattr(rule, "field", None)
    if category_of(rb, item).deducts:  # nothing to deduct
        if isinstance(rule, ManualRule):
            return attrs.evolve(ev, points={**ev.points, item.id: ZERO})
        if f in rb.fields and isinstance(rule, CheckRule | CountRule):
            return with_values(ev, **{f: False if isinstance(rule, CheckRule) else ZERO})
        return None
    if isinstance(rule, ManualRule):
        if (mx / rule.step).denominator != 1:
            return None
        return attrs.evolve(ev, points={**ev.points, item.id: mx})
    if isinstance(rule, DeductRule) and rule.form == "faults":
        return with_values(ev, **{n: ZERO for n, _ in rule.faults})
    if f is None or f not in rb.fields:
        return None  # expressions and derived values: no single value to set
    count = rb.fields[f].type == "count"
    v: Any
    if isinstance(rule, CheckRule):
        v = True
    elif isinstance(rule, DeductRule):
        v = (
            frozenset(ev.values.get(f, frozenset())) | frozenset(rule.required)
            if rule.required
            else ZERO
        )
    elif isinstance(rule, ThresholdRule):
        v = rule.at_least if rule.at_least is not None else rule.at_most
    elif isinstance(rule, TiersRule):
        if rule.tiers[0].points != mx:
            return None
        v = rule.tiers[0].at_least
    elif isinstance(rule, LinearRule):
        v = rule.full_at
    elif isinstance(rule, CountRule):
        v = mx / rule.each
    elif isinstance(rule, ShortfallRule):
        v = rule.target
    elif isinstance(rule, SurplusRule):
        v = rule.target + rule.step * (math.ceil(mx / rule.each) + 1)
    else:
        return None
    if count and isinstance(v, Fraction):
        v = Fraction(math.ceil(v))
    return with_values(ev, **{f: v})


@SLOW
@given(exclusive, st.data())
def test_gains_are_what_full_marks_really_add(rb: Rulebook, data: st.DataObject) -> None:
    ev = data.draw(evidence(rb), label="evidence")
    res = score(rb, ev)
    checked = 0
    for r, g in gains(rb, res):
        better = make_full(rb, ev, rb.item(r.id))
        if better is None:
            continue
        after = score(rb, better)
        assert after.item(r.id).points == best_points(rb, rb.item(r.id)), (
            r.id,
            after.item(r.id).reason,
        )
        assert after.total - res.total == g, r.id
        checked += 1
    assume(checked)
