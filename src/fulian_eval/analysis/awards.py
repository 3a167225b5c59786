"""Awards (SPEC §10.5 ``[[awards]]``): 一等奖1个、二等奖2个、三等奖3个 down each role's ranking.

Awards go down the ranking in the order written. An award takes ``count``
units, or ``share`` of the units ranked (vetoed ones included in that count,
N rounded half up), starting after the units the earlier awards took. Units
tied at the cut all get the award; the next award starts after them. Vetoed
units get none; with ``min_total`` only units whose (rounded) total is at least
that get it. ``per_group = true`` gives the award within each group (片区)
of a role's ranking. Pure: ranks in, award codes out (one per row, -1 for none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.roles import Award

__all__ = ["award_codes"]


def _runs(rows: Any, seg: Any) -> list[Any]:
    """``rows`` split where ``seg`` (per row) changes: each run in the order given."""
    if len(rows) == 0:
        return []
    s = seg[rows]
    cuts = np.flatnonzero(s[1:] != s[:-1]) + 1
    return list(np.split(rows, cuts))


def award_codes(
    awards: Sequence[Award],
    order: Any,
    role_seg: Any,
    group_seg: Any,
    vetoed: Any,
    total_h: Any,
    rank: Any,
    group_rank: Any,
) -> Any:
    """Each row's award, as an index into ``awards`` (-1: none).

    Args:
        awards: the rulebook's awards, in the order written.
        order: row indices as the ranking lists them (role by role, each in rank order).
        role_seg: per row, a code of its role's ranking.
        group_seg: per row, a code of its role and group.
        vetoed, total_h, rank, group_rank: per row (total in hundredths, as ranked).
    """
    n = len(vetoed)
    out = np.full(n, -1, dtype=np.int64)
    if not awards or n == 0:
        return out
    order = np.asarray(order, dtype=np.int64)
    role_seg = np.asarray(role_seg)
    group_seg = np.asarray(group_seg)
    vetoed = np.asarray(vetoed, dtype=bool)
    total_h = np.asarray(total_h, dtype=np.int64)
    rank = np.asarray(rank, dtype=np.int64)
    group_rank = np.asarray(group_rank, dtype=np.int64)
    role_runs = _runs(order, role_seg)
    group_runs: list[Any] | None = None
    for k, aw in enumerate(awards):
        if aw.per_group:
            if group_runs is None:  # a stable sort keeps each group's rows in rank order
                gorder = order[np.argsort(group_seg[order], kind="stable")]
                group_runs = _runs(gorder, group_seg)
            runs, tie = group_runs, group_rank
        else:
            runs, tie = role_runs, rank
        for rows in runs:
            size = aw.size(len(rows))
            taken = np.flatnonzero(out[rows] >= 0)
            start = int(taken[-1]) + 1 if len(taken) else 0
            eligible = int(np.count_nonzero(~vetoed[rows]))  # vetoed units rank last
            if aw.min_total is not None:
                floor = math.ceil(aw.min_total * 100)  # totals are whole hundredths
                eligible = min(eligible, int(np.count_nonzero(total_h[rows[:eligible]] >= floor)))
            if size <= 0 or start >= eligible:
                continue
            end = min(start + size, eligible)
            t = tie[rows]
            end = min(
                int(np.searchsorted(t, t[end - 1], side="right")), eligible
            )  # ties at the cut
            out[rows[start:end]] = k
    return out
