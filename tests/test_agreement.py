"""Krippendorff's alpha (interval) between roles (SPEC §6): published examples, properties, edge cases."""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval.analysis.agreement import (
    Agreement,
    agreement,
    agreement_json,
    coincidence_matrix,
    fmt_alpha,
    krippendorff_alpha_interval,
    ratings_by_pair,
)
from fulian_eval.model.rulebook import UnitInfo
from fulian_eval.scoring.exact import ItemResult, UnitResult

PROPS = settings(max_examples=150, deadline=None)
F = Fraction
Units = Mapping[Hashable, Mapping[str, Fraction | None]]


def _units(*coders: list[int | None]) -> dict[Hashable, dict[str, Fraction | None]]:
    """Reliability data as in the papers: one list per coder, one column per unit."""
    out: dict[Hashable, dict[str, Fraction | None]] = {}
    for name, values in zip("ABCDEFG", coders, strict=False):
        for u, v in enumerate(values, start=1):
            out.setdefault(u, {})[name] = None if v is None else F(v)
    return out


_ = None

# K. Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), Annenberg School for
# Communication, University of Pennsylvania, https://repository.upenn.edu/asc_papers/43,
# section C ("multiple observers, any metric, missing data"): 4 observers x 12 units, values 1-5.
# Published: nominal alpha = 0.743, interval alpha = 0.849 (ordinal 0.815, ratio 0.797).
# The same matrix, with these values, is in the tests of the `krippendorff` package
# (github.com/pln-fing-udelar/fast-krippendorff, tests/test_krippendorff.py: ordinal 0.815, ratio 0.797).
KRIPPENDORFF_2011_C = _units(
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
)

# The worked example of Wikipedia's "Krippendorff's alpha" article (3 coders x 15 units);
# interval alpha 0.810845 as asserted in fast-krippendorff's tests/test_krippendorff.py
# (test_interval_metric, same data).
WIKIPEDIA = _units(
    [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
    [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
    [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
)


def test_published_example_interval_alpha_0_849() -> None:
    alpha = krippendorff_alpha_interval(KRIPPENDORFF_2011_C)
    assert alpha == F(951, 1120)  # exactly; 0.84911
    assert round(float(alpha), 3) == 0.849
    assert fmt_alpha(alpha) == "0.8491"


def test_published_coincidence_matrix() -> None:
    """Krippendorff (2011), section C, the coincidence matrix of values 1-5 (zero cells omitted)."""
    third = F(1, 3)
    expected = {
        (1, 1): 7,
        (1, 2): 4 * third,
        (1, 3): third,
        (1, 4): third,
        (2, 1): 4 * third,
        (2, 2): 10,
        (2, 3): 4 * third,
        (2, 4): third,
        (3, 1): third,
        (3, 2): 4 * third,
        (3, 3): 8,
        (3, 4): third,
        (4, 1): third,
        (4, 2): third,
        (4, 3): third,
        (4, 4): 4,
        (5, 5): 3,
    }
    o = coincidence_matrix(KRIPPENDORFF_2011_C)
    assert o == {(F(c), F(k)): F(v) for (c, k), v in expected.items()}
    assert sum(o.values()) == 40  # n: unit 12 has one value and is not pairable


def test_wikipedia_example() -> None:
    alpha = krippendorff_alpha_interval(WIKIPEDIA)
    assert alpha is not None
    assert round(float(alpha), 6) == 0.810845


def test_published_binary_example_two_observers() -> None:
    """Krippendorff (2011), section A: two observers, ten units, 0/1 values, alpha = 0.095.

    For two values the interval metric equals the nominal one: 1 − 19·4/(14·6) = 2/21.
    """
    data = _units([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0])
    assert krippendorff_alpha_interval(data) == F(2, 21)
    assert fmt_alpha(F(2, 21)) == "0.0952"


def test_hand_computed_case() -> None:
    """Units (1, 2), (3, 3), (2, –): n = 4 pairable values 1, 2, 3, 3.

    D_o = (1² + 1²)/4 = 1/2; D_e = Σ_{i≠j}(v_i − v_j)²/(n(n−1)) = 2·(1 + 4 + 4 + 1 + 1 + 0)/12 = 11/6;
    alpha = 1 − (1/2)/(11/6) = 8/11.
    """
    data = {"a": {"x": F(1), "y": F(2)}, "b": {"x": F(3), "y": F(3)}, "c": {"x": F(2), "y": None}}
    assert krippendorff_alpha_interval(data) == F(8, 11)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"a": {"x": F(1)}, "b": {"y": F(2)}},
        {"a": {"x": F(1), "y": None}, "b": {"x": None, "y": None}},
    ],
)
def test_undefined_without_pairable_values(data: Units) -> None:
    assert krippendorff_alpha_interval(data) is None


def test_identical_values_everywhere_is_one_by_convention() -> None:
    assert (
        krippendorff_alpha_interval({"a": {"x": F(1), "y": F(1)}, "b": {"x": F(1), "y": F(1)}}) == 1
    )


# ------------------------------------------------------------------ properties


@st.composite
def reliability_data(draw: st.DrawFn) -> dict[Hashable, dict[str, Fraction | None]]:
    """Units x coders with missing values; values on a small grid of quarters."""
    coders = "ABCDE"[: draw(st.integers(2, 5))]
    n_units = draw(st.integers(1, 12))
    cell = st.none() | st.builds(F, st.integers(-8, 8), st.just(4))
    return {u: {c: draw(cell) for c in coders} for u in range(n_units)}


def _alpha_from_matrix(data: Units) -> Fraction | None:
    """Oracle: the textbook coincidence-matrix formula, D_o and D_e summed cell by cell."""
    o = coincidence_matrix(data)
    if not o:
        return None
    n_c: dict[Fraction, Fraction] = {}
    for (c, _k), v in o.items():
        n_c[c] = n_c.get(c, F(0)) + v
    n = sum(n_c.values())
    d_o = sum(v * (c - k) ** 2 for (c, k), v in o.items()) / n
    d_e = sum(n_c[c] * n_c[k] * (c - k) ** 2 for c in n_c for k in n_c) / (n * (n - 1))
    return F(1) if d_e == 0 else 1 - d_o / d_e


@PROPS
@given(reliability_data())
def test_equals_the_coincidence_matrix_formula(data: Units) -> None:
    assert krippendorff_alpha_interval(data) == _alpha_from_matrix(data)


@PROPS
@given(reliability_data())
def test_alpha_is_in_a_sane_range(data: Units) -> None:
    """-1 < alpha <= 1 for the interval metric (disagreement within units is at most twice the total)."""
    alpha = krippendorff_alpha_interval(data)
    assert alpha is None or -1 < alpha <= 1


@PROPS
@given(
    st.lists(
        st.tuples(st.builds(F, st.integers(-20, 20), st.just(2)), st.integers(2, 4)),
        min_size=2,
        max_size=10,
    )
)
def test_identical_ratings_with_variation_give_one(units: list[tuple[Fraction, int]]) -> None:
    data = {u: {f"c{i}": v for i in range(m)} for u, (v, m) in enumerate(units)}
    assert krippendorff_alpha_interval(data) == 1


@PROPS
@given(reliability_data(), st.sampled_from([F(-3), F(1, 2), F(7)]), st.integers(-10, 10))
def test_invariant_under_affine_rescaling(data: Units, scale: Fraction, shift: int) -> None:
    moved = {
        u: {c: None if v is None else scale * v + shift for c, v in rs.items()}
        for u, rs in data.items()
    }
    assert krippendorff_alpha_interval(moved) == krippendorff_alpha_interval(data)


@PROPS
@given(reliability_data(), st.randoms(use_true_random=False))
def test_ignores_which_coder_gave_a_rating_and_lonely_ratings(
    data: Units, rnd: random.Random
) -> None:
    shuffled: dict[Hashable, dict[str, Fraction | None]] = {}
    for u, rs in data.items():
        values = list(rs.values())
        rnd.shuffle(values)
        shuffled[u] = dict(zip(rs, values, strict=True))
    shuffled["lonely"] = {"A": F(100)}
    assert krippendorff_alpha_interval(shuffled) == krippendorff_alpha_interval(data)


def test_disagreement_lowers_alpha() -> None:
    near = _units([1, 2, 3, 4, 5], [1, 2, 3, 4, 4])
    far = _units([1, 2, 3, 4, 5], [1, 2, 3, 4, 1])
    a_near, a_far = krippendorff_alpha_interval(near), krippendorff_alpha_interval(far)
    assert a_near is not None and a_far is not None
    assert 1 > a_near > a_far


# --------------------------------------------------------------------- fmt_alpha


@pytest.mark.parametrize(
    ("x", "shown"),
    [
        (F(951, 1120), "0.8491"),
        (F(12345, 100000), "0.1235"),  # half up
        (F(-12345, 100000), "-0.1235"),  # half away from zero
        (F(-1, 2), "-0.5000"),
        (F(-4, 100000), "0.0000"),
        (F(1), "1.0000"),
        (None, None),
    ],
)
def test_fmt_alpha(x: Fraction | None, shown: str | None) -> None:
    assert fmt_alpha(x) == shown


# --------------------------------------------------------------- agreement()


def _item(
    iid: str, points: Fraction | int, mx: Fraction | int = 5, status: str = "scored"
) -> ItemResult:
    return ItemResult(id=iid, title=iid, kind="manual", max=F(mx), points=F(points), status=status)


def _result(unit: str, role: str, *items: ItemResult) -> UnitResult:
    return UnitResult(
        unit=UnitInfo(id=unit, group="东片"),
        role=role,
        total=sum((i.points for i in items), F(0)),
        categories=(),
        items=items,
        grade=None,
    )


def test_agreement_over_unit_item_pairs_and_categories() -> None:
    results = {
        "self": [
            _result("u1", "self", _item("a.x", 5), _item("a.y", 4), _item("b.z", 10, 10)),
            _result("u2", "self", _item("a.x", 3), _item("a.y", 5), _item("b.z", 8, 10)),
        ],
        "town": [
            _result("u1", "town", _item("a.x", 4), _item("a.y", 4), _item("b.z", 6, 10)),
            _result("u2", "town", _item("a.x", 3), _item("a.y", 2), _item("b.z", 8, 10)),
        ],
    }
    got = agreement(results)
    assert got.pairs == 6
    ratings = ratings_by_pair(results)
    assert ratings[("u1", "b.z")] == {"self": F(1), "town": F(3, 5)}
    assert got.alpha == krippendorff_alpha_interval(dict(ratings.items()))
    cat_a = {k: v for k, v in ratings.items() if k[1].startswith("a.")}
    assert got.by_category == {
        "a": krippendorff_alpha_interval(dict(cat_a.items())),
        "b": krippendorff_alpha_interval({k: v for k, v in ratings.items() if k[1] == "b.z"}),
    }
    assert got.alpha is not None and got.alpha < 1
    assert got.message == ""
    doc = agreement_json(got)
    assert list(doc) == ["alpha", "pairs", "by_category"]
    assert doc["alpha"] == fmt_alpha(got.alpha)
    assert doc["pairs"] == 6
    assert list(doc["by_category"]) == ["a", "b"]


def test_veto_not_applicable_and_missing_items_are_not_ratings() -> None:
    results = {
        "self": [
            _result(
                "u1",
                "self",
                _item("a.x", 5),
                _item("a.v", 0, 0),
                _item("a.n", 5, status="not_applicable"),
                _item("a.m", 0, status="missing"),
                _item("a.y", 1),
            )
        ],
        "town": [
            _result(
                "u1",
                "town",
                _item("a.x", 5),
                _item("a.v", 0, 0, status="veto"),
                _item("a.n", 0),
                _item("a.m", 4),
                _item("a.y", 1),
            )
        ],
    }
    got = agreement(results)
    assert set(ratings_by_pair(results)) == {
        ("u1", "a.x"),
        ("u1", "a.n"),
        ("u1", "a.m"),
        ("u1", "a.y"),
    }
    assert got.pairs == 2  # a.x and a.y; a.n and a.m were judged by the town only
    assert got.alpha == 1  # 1 and 1/5 agree, with variation
    assert got.message == ""


def test_single_role_is_undefined_with_a_sentence() -> None:
    got = agreement(
        {"self": [_result("u1", "self", _item("a.x", 5)), _result("u2", "self", _item("a.x", 2))]}
    )
    assert got == Agreement(
        alpha=None,
        pairs=0,
        by_category={"a": None},
        message="only one role (self): agreement needs at least two",
    )
    assert agreement_json(got) == {"alpha": None, "pairs": 0, "by_category": {"a": None}}


def test_no_results_and_no_overlap_are_undefined() -> None:
    assert agreement({}).alpha is None
    assert "at least two roles" in agreement({}).message
    assert "at least two roles" in agreement({"self": [], "town": []}).message
    apart = agreement(
        {
            "self": [_result("u1", "self", _item("a.x", 5))],
            "town": [_result("u2", "town", _item("a.x", 1))],
        }
    )
    assert (apart.alpha, apart.pairs) == (None, 0)
    assert "no (unit, item) pair" in apart.message


def test_perfect_agreement_without_variation_is_one_with_a_note() -> None:
    results = {r: [_result("u1", r, _item("a.x", 5), _item("a.y", 5))] for r in ("self", "town")}
    got = agreement(results)
    assert (got.alpha, got.pairs) == (F(1), 2)
    assert "alpha taken as 1" in got.message


def test_two_results_of_one_role_for_a_unit_count_as_two_ratings() -> None:
    results = {
        "peer": [
            _result("u1", "peer", _item("a.x", 5)),
            _result("u1", "peer", _item("a.x", 3)),
            _result("u2", "peer", _item("a.x", 1)),
            _result("u2", "peer", _item("a.x", 1)),
        ]
    }
    assert ratings_by_pair(results)[("u1", "a.x")] == {"peer": F(1), "peer#2": F(3, 5)}
    got = agreement(results)
    assert got.pairs == 2
    assert got.alpha is not None and 0 < got.alpha < 1
