"""The columnar plan gives exactly what the per-unit path gives (issue 5).

Random rulebooks (every item kind, weights, rescale and award, bonus and penalty,
derived values, applies_when, floors, grades) and random evidence (missing and
approximate values, odd spellings) are scored both ways; every point, status,
category, total, grade, veto, flag and rank must be the same.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from conftest import columnar_rows, exact_row
from fulian_eval import load_evidence, load_rulebook, rank, score
from fulian_eval.model.rulebook import Evidence, Rulebook
from fulian_eval.scoring.columnar import Col, Scores, Unsupported, compile_plan
from fulian_eval.testing import evidence_lists, rulebooks

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def assert_same(rb: Rulebook, evs: list[Evidence]) -> Scores:
    sc = compile_plan(rb).score_evidence(evs)
    for i, (got, ev) in enumerate(zip(columnar_rows(rb, evs), evs, strict=True)):
        assert got == exact_row(score(rb, ev)), f"row {i} ({ev.unit.id})"
    return sc


@st.composite
def _cases(draw: st.DrawFn, **opts: object) -> tuple[Rulebook, list[Evidence]]:
    rb = draw(rulebooks(**opts))  # type: ignore[arg-type]
    return rb, draw(evidence_lists(rb, max_size=8))


@pytest.mark.slow
@settings(
    max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_cases())
def test_columnar_equals_per_unit(case: tuple[Rulebook, list[Evidence]]) -> None:
    rb, evs = case
    try:
        assert_same(rb, evs)
    except Unsupported:
        reject()  # this rulebook needs the per-unit path: draw another


@pytest.mark.slow
@settings(
    max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_cases(weights=True, not_applicable="rescale", max_categories=4))
def test_columnar_equals_per_unit_weighted(case: tuple[Rulebook, list[Evidence]]) -> None:
    assert_same(*case)


@pytest.mark.slow
@settings(
    max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_cases(not_applicable="award"))
def test_columnar_equals_per_unit_award(case: tuple[Rulebook, list[Evidence]]) -> None:
    assert_same(*case)


def test_bundled_schemes_settle_nothing_on_their_examples() -> None:
    """On real data every decision is taken exactly in the columns: no row needs the slow path."""
    for rulebook, evidence in [
        (ROOT / "rules" / "town-village-2026.toml", ROOT / "examples" / "town"),
        (ROOT / "rules" / "town-village-2026.toml", ROOT / "examples" / "crosscheck"),
        (DATA / "acceptance" / "town-2026.toml", DATA / "acceptance" / "evidence"),
    ]:
        rb = load_rulebook(rulebook)
        evs = list(load_evidence(rb, [evidence]).evidence)
        sc = assert_same(rb, evs)
        assert not sc.doubt.any()
        assert sorted(r.result.unit.id for r in rank(rb, [score(rb, ev) for ev in evs]))


def test_float_path_marks_ties_doubtful() -> None:
    """Numbers too large for exact int64 forms go in floats; a value on a boundary is doubtful."""
    from fulian_eval.scoring.columnar import _Run

    run = _Run(3)
    big = Col.floats(np.array([0.1 + 0.2, 0.5, 0.3]), np.array([1e-16, 0.0, 1e-16]))
    out = run.compare(">=", big, Col.const(Fraction(3, 10)))
    assert list(run.doubt) == [True, False, True]
    assert bool(out.b[1]) is True
    exact = Col.ratio(np.array([3, 5, 1], dtype=np.int64), 10)
    run2 = _Run(3)
    assert list(run2.compare(">=", exact, Col.const(Fraction(3, 10))).b) == [True, True, False]
    assert not run2.doubt.any()


@pytest.mark.slow
@settings(
    max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_cases())
def test_float_path_equals_per_unit(case: tuple[Rulebook, list[Evidence]]) -> None:
    """With exact forms made to overflow at once, every number goes in floats with error
    bounds, and the rows too close to call are settled exactly: still the same results."""
    from fulian_eval.scoring import columnar

    rb, evs = case
    old = columnar.LIMIT, columnar.SMALL
    columnar.LIMIT, columnar.SMALL = 2**6, 2**3
    try:
        assert_same(rb, evs)
    except Unsupported:
        reject()  # this rulebook needs the per-unit path: draw another
    finally:
        columnar.LIMIT, columnar.SMALL = old


@pytest.mark.slow
@settings(
    max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(_cases(v2=True))
def test_columnar_equals_per_unit_v2(case: tuple[Rulebook, list[Evidence]]) -> None:
    """With SPEC §10 shapes: deduction categories, choice items, direction, weighted
    checklists, requires, on_missing and item-level not_applicable."""
    rb, evs = case
    try:
        assert_same(rb, evs)
    except Unsupported:
        reject()
