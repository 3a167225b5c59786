"""Rank sensitivity (SPEC §5): whose place depends on the category weights?

Every base category's weight is moved by up to ±PCT (a scheme without weights
counts each category by its max, which is the same total). With few categories
every combination of {−PCT, 0, +PCT} is tried (3^k of them); with more, or with
very many units, a seeded random sample of weightings inside the box. For each
weighting the totals are recomputed exactly from the unit's category scores and
ranked by the usual rules; each unit gets its best and worst place.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction

import attrs

from .model import Rulebook, UnitInfo
from .rank import Ranked, rank
from .score import UnitResult, hundredths, total_with

__all__ = ["Sensitivity", "sensitivity"]

EXHAUSTIVE_MAX_CATEGORIES = 6
#: Above this many (weighting × unit) evaluations, weightings are sampled instead.
BUDGET = 2_000_000


@attrs.frozen(kw_only=True)
class Sensitivity:
    """Best and worst rank of each unit (by unit id and role) over the weightings tried."""

    pct: Fraction
    weightings: int
    exhaustive: bool
    seed: int
    best: dict[tuple[str, str], int]
    worst: dict[tuple[str, str], int]


@attrs.frozen(kw_only=True)
class _Reweighted:
    """A result seen under other weights: only what ranking needs."""

    result: UnitResult
    total: Fraction

    @property
    def unit(self) -> UnitInfo:
        return self.result.unit

    @property
    def role(self) -> str:
        return self.result.role

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        return (self.result.vetoed, -hundredths(self.total),
                tuple(-hundredths(self.result.category(c).score) for c in tie_break))


def _weighted_rulebook(rb: Rulebook, factors: Sequence[Fraction]) -> Rulebook:
    base = [c for c in rb.categories if c.type == "base"]
    new = {}
    for c, f in zip(base, factors, strict=True):
        w = c.weight if c.weight is not None else c.max  # unweighted: each category counts by its max
        new[c.id] = attrs.evolve(c, weight=w * f)
    return attrs.evolve(rb, categories=tuple(new.get(c.id, c) for c in rb.categories))


def sensitivity(rb: Rulebook, results: Sequence[UnitResult], pct: Fraction, *, seed: int = 0,
                samples: int = 500) -> Sensitivity:
    """Best and worst rank of every unit when base-category weights move by up to ±``pct``.

    Args:
        rb: the rulebook.
        results: the scored units (ranked per role as usual).
        pct: the relative change, e.g. ``Fraction(1, 10)`` for ±10 %.
        seed: for the sampled weightings (recorded in the result).
        samples: how many weightings to sample when not exhaustive.
    """
    if not 0 <= pct < 1:
        raise ValueError(f"sensitivity must be between 0 % and 100 %, got {pct * 100}%")
    k = sum(1 for c in rb.categories if c.type == "base")
    n = max(1, len(results))
    exhaustive = k <= EXHAUSTIVE_MAX_CATEGORIES and 3**k * n <= BUDGET
    if exhaustive:
        steps = (1 - pct, Fraction(1), 1 + pct)
        weightings: list[tuple[Fraction, ...]] = list(itertools.product(steps, repeat=k))
    else:
        rnd = random.Random(seed)
        count = max(20, min(samples, BUDGET // n))
        grid = 1000  # weights on a fine exact grid inside the box
        weightings = [tuple(1 - pct + 2 * pct * Fraction(rnd.randint(0, grid), grid) for _ in range(k))
                      for _ in range(count)]
        weightings.append(tuple(Fraction(1) for _ in range(k)))
    best: dict[tuple[str, str], int] = {}
    worst: dict[tuple[str, str], int] = {}
    for factors in weightings:
        rbw = _weighted_rulebook(rb, factors)
        moved = [
            _Reweighted(result=r, total=Fraction(0) if r.vetoed and r.veto_effect == "zero"
                        else total_with(rbw, r.categories))
            for r in results
        ]
        ranked: list[Ranked[_Reweighted]] = rank(rb, moved)
        for x in ranked:
            key = (x.result.unit.id, x.result.role)
            best[key] = min(best.get(key, x.rank), x.rank)
            worst[key] = max(worst.get(key, x.rank), x.rank)
    return Sensitivity(pct=pct, weightings=len(weightings), exhaustive=exhaustive, seed=seed, best=best,
                       worst=worst)
