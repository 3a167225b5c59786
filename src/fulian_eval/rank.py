"""Ranking (SPEC §5): competition ranks on rounded totals, tie-breaks, vetoed units last.

Pure and order-independent: the same results in any order give the same ranks.
Works on full results and on compact summaries alike (anything with ``unit``,
``role`` and ``rank_key``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

import attrs

from .model import Rulebook, UnitInfo

__all__ = ["ROLE_ORDER", "Rankable", "Ranked", "rank"]

ROLE_ORDER = {"town": 0, "field": 1, "peer": 2, "self": 3}

Key = tuple[bool, int, tuple[int, ...]]


class Rankable(Protocol):
    @property
    def unit(self) -> UnitInfo: ...

    @property
    def role(self) -> str: ...

    def rank_key(self, tie_break: Sequence[str]) -> Key: ...


R = TypeVar("R", bound=Rankable)


@attrs.frozen(kw_only=True)
class Ranked(Generic[R]):
    """A result with its place overall and within its group (among units of its role)."""

    result: R
    rank: int
    group_rank: int


def _competition(order: list[int], keys: Sequence[Key]) -> dict[int, int]:
    """Standard competition ranks (1, 2, 2, 4) for indices already sorted by key."""
    out: dict[int, int] = {}
    prev: Key | None = None
    place = 0
    for pos, i in enumerate(order, start=1):
        k = keys[i]
        if k != prev:
            place, prev = pos, k
        out[i] = place
    return out


def rank(rb: Rulebook, results: Iterable[R]) -> list[Ranked[R]]:
    """Rank results; each role (self, peer, town, field) is ranked on its own.

    Args:
        rb: the rulebook (for ``tie_break``).
        results: :class:`~fulian_eval.score.UnitResult` or :class:`~fulian_eval.score.UnitSummary`.

    Returns:
        Ranked results in rank order (ties by unit id), roles in the order town, field, peer, self.
    """
    rows = list(results)
    keys = [r.rank_key(rb.tie_break) for r in rows]
    by_role: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_role[r.role].append(i)
    out: list[Ranked[R]] = []
    for role in sorted(by_role, key=lambda x: (ROLE_ORDER.get(x, 9), x)):
        idx = sorted(by_role[role], key=lambda i: (keys[i], rows[i].unit.id))
        overall = _competition(idx, keys)
        groups: dict[str, list[int]] = defaultdict(list)
        for i in idx:  # already in rank order, so each group's list is too
            groups[rows[i].unit.group].append(i)
        in_group: dict[int, int] = {}
        for members in groups.values():
            in_group.update(_competition(members, keys))
        out.extend(Ranked(result=rows[i], rank=overall[i], group_rank=in_group[i]) for i in idx)
    return out
