"""Properties of SPEC §10 shapes (issue 10 item 12), over rulebooks drawn with ``v2=True``:
deduction categories, choice fields and items, ``direction``, weighted ``required``,
``requires``, ``on_missing`` and item-level ``not_applicable``.
"""

from __future__ import annotations

from fractions import Fraction

import attrs
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

from conftest import columnar_rows, exact_row
from fulian_eval import parse_rulebook, score
from fulian_eval.analysis.rank import rank
from fulian_eval.scoring.columnar import Unsupported
from fulian_eval.testing import evidence, evidence_lists, rulebook_texts, rulebooks

ZERO = Fraction(0)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(rulebooks(v2=True), st.data())
def test_the_engines_agree_on_v2_shapes(rb: object, data: st.DataObject) -> None:
    evs = data.draw(evidence_lists(rb, max_size=4), label="evidence")  # type: ignore[arg-type]
    try:
        got = columnar_rows(rb, evs)
    except Unsupported:
        reject()
    assert got == [exact_row(score(rb, ev)) for ev in evs]  # type: ignore[arg-type]


@FAST
@given(rulebooks(v2=True), st.data())
def test_a_deduction_category_stays_between_its_floor_and_its_start(
    rb: object, data: st.DataObject
) -> None:
    res = score(rb, data.draw(evidence(rb), label="evidence"))  # type: ignore[arg-type]
    for cat, c in zip(rb.categories, res.categories, strict=True):  # type: ignore[attr-defined]
        if cat.type == "deduction":
            assert cat.floor <= c.score <= cat.max, (c.id, c.score)
            assert all(res.item(i.id).points >= 0 for i in cat.items)


@FAST
@given(rulebook_texts(v2=True), st.data())
def test_leaving_a_value_out_never_raises_the_total(text: str, data: st.DataObject) -> None:
    """Under any on_missing but none (SPEC §10.2: leaving evidence out never helps a unit)."""
    text = text.replace('on_missing = "none"', 'on_missing = "worst"')
    rb = parse_rulebook(text)
    assume(all(i.on_missing != "none" for i in rb.items()))
    ev = data.draw(evidence(rb, missing=False), label="evidence")
    assume(ev.values)
    drop = data.draw(st.sampled_from(sorted(ev.values)), label="left out")
    less = attrs.evolve(ev, values={k: v for k, v in ev.values.items() if k != drop})
    before, after = score(rb, ev), score(rb, less)
    # A not-applicable item leaves its category's rescaling when its evidence goes: skip those.
    assume(
        [i.status == "not_applicable" for i in before.items]
        == [i.status == "not_applicable" for i in after.items]
    )
    assume(before.vetoed == after.vetoed)
    assert after.total <= before.total, (drop, before.total, after.total)


AWARDS = """
[[awards]]
name = "一等奖"
count = 1

[[awards]]
name = "二等奖"
count = 2

[[awards]]
name = "三等奖"
share = 0.3
"""


@FAST
@given(rulebook_texts(v2=True), st.data())
def test_awards_never_skip_a_rank(text: str, data: st.DataObject) -> None:
    """Down the ranking the awards come in the order written, on a prefix of the units not
    vetoed: no unit gets an award below a unit (not vetoed) that got none, and units tied
    on rank get the same award."""
    rb = parse_rulebook(text + AWARDS)
    evs = data.draw(evidence_lists(rb, max_size=8), label="evidence")
    ranked = rank(rb, [score(rb, ev) for ev in evs])
    names = [a.name for a in rb.awards]
    seen_none = False
    last = -1
    by_rank: dict[int, str | None] = {}
    for r in ranked:
        if r.result.vetoed:
            assert r.award is None
            continue
        if r.award is None:
            seen_none = True
        else:
            assert not seen_none, [(x.rank, x.award) for x in ranked]
            k = names.index(r.award)
            assert k >= last
            last = k
        assert by_rank.setdefault(r.rank, r.award) == r.award  # ties at a cut share it
