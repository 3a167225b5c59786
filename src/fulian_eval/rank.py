"""Ranking (SPEC §5): competition ranks on rounded totals, tie-breaks, vetoed units last.

Pure and order-independent: the same results in any order give the same ranks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction

import attrs

from .model import Rulebook
from .score import UnitResult

__all__ = ["Ranked", "rank", "rank_key"]

ROLE_ORDER = {"town": 0, "field": 1, "peer": 2, "self": 3}


@attrs.frozen(kw_only=True)
class Ranked:
    """A result with its place overall and within its group (among units of its role)."""

    result: UnitResult
    rank: int
    group_rank: int


def rank_key(tie_break: Sequence[str], r: UnitResult) -> tuple[bool, Fraction, tuple[Fraction, ...]]:
    """Smaller is better: (vetoed, −rounded total, −rounded tie-break category scores)."""
    ties = tuple(-r.category(c).rounded for c in tie_break)
    return (r.vetoed, -r.rounded_total, ties)


def _competition(rows: list[UnitResult], tie_break: Sequence[str]) -> dict[int, int]:
    keyed = sorted(rows, key=lambda r: (rank_key(tie_break, r), r.unit.id))
    out: dict[int, int] = {}
    prev = None
    place = 0
    for i, r in enumerate(keyed, start=1):
        k = rank_key(tie_break, r)
        if k != prev:
            place = i
            prev = k
        out[id(r)] = place
    return out


def rank(rb: Rulebook, results: Iterable[UnitResult]) -> list[Ranked]:
    """Rank results; each role (self, peer, town, field) is ranked on its own.

    Returns:
        Ranked results in rank order (ties by unit id), roles in the order town, field, peer, self.
    """
    by_role: dict[str, list[UnitResult]] = defaultdict(list)
    for r in results:
        by_role[r.role].append(r)
    out: list[Ranked] = []
    for role in sorted(by_role, key=lambda x: (ROLE_ORDER.get(x, 9), x)):
        rows = by_role[role]
        overall = _competition(rows, rb.tie_break)
        groups: dict[str, list[UnitResult]] = defaultdict(list)
        for r in rows:
            groups[r.unit.group].append(r)
        in_group: dict[int, int] = {}
        for g in groups.values():
            in_group.update(_competition(g, rb.tie_break))
        ranked = [Ranked(result=r, rank=overall[id(r)], group_rank=in_group[id(r)]) for r in rows]
        ranked.sort(key=lambda x: (x.rank, x.result.unit.id))
        out.extend(ranked)
    return out
