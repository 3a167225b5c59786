"""Agreement between assessing roles: Krippendorff's alpha, interval metric (SPEC §6).

Pure and exact: every quantity is a :class:`~fractions.Fraction`.

Krippendorff's alpha is ``1 − D_o / D_e``, where, over the *pairable* values
(those of units with at least two ratings; ``n`` of them), with the coincidence
matrix ``o_ck = Σ_u (number of ordered pairs (c, k) of ratings of u) / (m_u − 1)``,
its margins ``n_c = Σ_k o_ck`` and the interval difference ``δ²(c, k) = (c − k)²``::

    D_o = 1/n · Σ_c Σ_k o_ck · δ²(c, k)
    D_e = 1/(n(n − 1)) · Σ_c Σ_k n_c · n_k · δ²(c, k)

(K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011,
https://repository.upenn.edu/asc_papers/43). For the interval metric both sums
collapse to sums of values and squares, which is how :func:`krippendorff_alpha_interval`
computes them (in time linear in the number of ratings); :func:`coincidence_matrix`
builds the matrix itself, for display and as a cross-check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import round_half_up
from ..scoring.exact import UnitResult

__all__ = [
    "Agreement",
    "agreement",
    "agreement_json",
    "coincidence_matrix",
    "fmt_alpha",
    "krippendorff_alpha_interval",
    "ratings_by_pair",
]

# Item statuses that carry no rating: nothing was judged.
SKIPPED_STATUSES = frozenset({"not_applicable", "missing", "veto"})


def _pairable(units: Mapping[Hashable, Mapping[str, Fraction | None]]) -> list[list[Fraction]]:
    """Each unit's ratings (None dropped), for units with at least two."""
    out: list[list[Fraction]] = []
    for ratings in units.values():
        values = [Fraction(v) for v in ratings.values() if v is not None]
        if len(values) >= 2:
            out.append(values)
    return out


def krippendorff_alpha_interval(
    units: Mapping[Hashable, Mapping[str, Fraction | None]],
) -> Fraction | None:
    """Krippendorff's alpha with the interval metric, exactly.

    Args:
        units: per unit of analysis, its ratings by coder. A rating of None (or a
            coder left out) is missing and skipped; a unit with fewer than two
            ratings cannot be paired and does not count.

    Returns:
        alpha, 1 for perfect agreement, 0 for agreement at chance level, negative
        for systematic disagreement. ``None`` when no unit has two ratings (alpha is
        undefined). When every pairable rating has the same value, ``D_o`` and
        ``D_e`` are both 0; the coders agree perfectly but there is no variation
        to measure against, and this function returns **1** by convention.
    """
    values = _pairable(units)
    if not values:
        return None
    n = 0
    s1 = Fraction(0)
    s2 = Fraction(0)
    within = Fraction(0)  # Σ_u Σ_{i≠j} (v_i − v_j)² / (2 (m_u − 1))
    for vs in values:
        m = len(vs)
        a = sum(vs, Fraction(0))
        b = sum((v * v for v in vs), Fraction(0))
        within += (m * b - a * a) / (m - 1)
        n += m
        s1 += a
        s2 += b
    between = n * s2 - s1 * s1  # Σ_{i≠j over all pairable values} (v_i − v_j)² / 2
    if between == 0:
        return Fraction(1)
    # D_o = 2·within / n and D_e = 2·between / (n (n − 1)).
    return 1 - (n - 1) * within / between


def coincidence_matrix(
    units: Mapping[Hashable, Mapping[str, Fraction | None]],
) -> dict[tuple[Fraction, Fraction], Fraction]:
    """Krippendorff's coincidence matrix ``o_ck`` of the pairable ratings (zero cells left out)."""
    o: dict[tuple[Fraction, Fraction], Fraction] = {}
    for vs in _pairable(units):
        m = len(vs)
        counts = Counter(vs)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nc - 1) if c == k else nc * nk
                if pairs:
                    o[c, k] = o.get((c, k), Fraction(0)) + Fraction(pairs, m - 1)
    return o


def fmt_alpha(x: Fraction | None) -> str | None:
    """Alpha as printed: half-up to 4 decimals (``"0.8491"``, ``"-0.0500"``); None when undefined."""
    if x is None:
        return None
    r = round_half_up(x, 4)
    n = r.numerator * (10000 // r.denominator)
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 10000}.{n % 10000:04d}"


@attrs.frozen(kw_only=True)
class Agreement:
    """Agreement between roles over (unit, item) pairs.

    Attributes:
        alpha: Krippendorff's alpha (interval) over all pairs; None when undefined.
        pairs: how many (unit, item) pairs have ratings from at least two roles.
        by_category: alpha per category id (rulebook order), None where undefined.
        message: why alpha is undefined, or a note on how it was decided; "" otherwise.
    """

    alpha: Fraction | None
    pairs: int
    by_category: dict[str, Fraction | None] = attrs.field(factory=dict)
    message: str = ""


def _coder(role: str, unit: str, seen: Counter[tuple[str, str]]) -> str:
    seen[role, unit] += 1
    k = seen[role, unit]
    return role if k == 1 else f"{role}#{k}"


def ratings_by_pair(
    results_by_role: Mapping[str, Sequence[UnitResult]],
) -> dict[tuple[str, str], dict[str, Fraction]]:
    """Ratings per (unit id, item id), by role: each item's points ÷ its max.

    Skipped (no rating): items whose max is 0 (veto items) and items whose status
    is ``not_applicable``, ``missing`` (no evidence: nothing was judged) or ``veto``.
    Items a result lacks are simply not rated by that role. Should one role hold
    several results for the same unit (two peer teams), each counts as its own
    rating, under ``role#2``, ``role#3``, …
    """
    out: dict[tuple[str, str], dict[str, Fraction]] = {}
    seen: Counter[tuple[str, str]] = Counter()
    for role, results in results_by_role.items():
        for res in results:
            coder = _coder(role, res.unit.id, seen)
            for item in res.items:
                if item.max == 0 or item.status in SKIPPED_STATUSES:
                    continue
                out.setdefault((res.unit.id, item.id), {})[coder] = item.points / item.max
    return out


def _category(item_id: str) -> str:
    return item_id.split(".", 1)[0]


def agreement(results_by_role: Mapping[str, Sequence[UnitResult]]) -> Agreement:
    """Krippendorff's alpha (interval) between roles, overall and per category.

    The units of analysis are (unit, item) pairs; the coders are the roles (the
    keys of ``results_by_role``); each rating is the item's points ÷ its max, as
    chosen by :func:`ratings_by_pair`. Defined answers:

    - fewer than two roles, or no (unit, item) pair rated by two roles:
      ``alpha`` None, ``pairs`` 0, and ``message`` says why;
    - every rating the same (perfect agreement without variation): alpha 1, with a note;
    - an item one role lacks or did not judge: that role's rating is missing, the
      pair still counts if two other roles rated it.
    """
    roles = [r for r, results in results_by_role.items() if results]
    ratings = ratings_by_pair(results_by_role)
    pairable = {key: rs for key, rs in ratings.items() if len(rs) >= 2}
    by_cat_units: dict[str, dict[Hashable, Mapping[str, Fraction | None]]] = {}
    for key, rs in ratings.items():
        by_cat_units.setdefault(_category(key[1]), {})[key] = dict(rs)
    by_category = {cat: krippendorff_alpha_interval(units) for cat, units in by_cat_units.items()}
    units: dict[Hashable, Mapping[str, Fraction | None]] = dict(ratings.items())
    alpha = krippendorff_alpha_interval(units)
    message = ""
    if alpha is None and not roles:
        message = "no results: agreement needs at least two roles"
    elif alpha is None and len(roles) == 1:
        message = f"only one role ({roles[0]}): agreement needs at least two"
    elif alpha is None:
        message = "no (unit, item) pair was rated by two roles, so there is nothing to compare"
    elif alpha == 1 and len({v for rs in pairable.values() for v in rs.values()}) == 1:
        message = "every rating is the same: perfect agreement without variation, alpha taken as 1"
    return Agreement(alpha=alpha, pairs=len(pairable), by_category=by_category, message=message)


def agreement_json(a: Agreement) -> dict[str, Any]:
    """The ``agreement`` object of ``crosscheck --format json`` (SPEC §9)."""
    return {
        "alpha": fmt_alpha(a.alpha),
        "pairs": a.pairs,
        "by_category": {cat: fmt_alpha(x) for cat, x in a.by_category.items()},
    }
