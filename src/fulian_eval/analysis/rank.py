"""Ranking (SPEC §5): competition ranks on rounded totals, tie-breaks, vetoed units last.

Pure and order-independent: the same results in any order give the same ranks.
Works on full results and on compact summaries alike (anything with ``unit``,
``role`` and ``rank_key``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..scoring.stream import Table

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Generic, Protocol, TypeVar

import attrs

from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Rulebook, UnitInfo
from .awards import award_codes

__all__ = [
    "ROLE_ORDER",
    "Rankable",
    "Ranked",
    "Ranking",
    "award_of",
    "rank",
    "rank_arrays",
    "rank_table",
]

#: The default roles' ranking order (most authoritative first); a rulebook's own is ``rb.roles.rank_order``.
ROLE_ORDER = {r.id: DEFAULT_ROLES.rank_order(r.id) for r in DEFAULT_ROLES}

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
    award: str | None = (
        None  # the [[awards]] name this unit gets within its role's ranking (SPEC §10.5)
    )


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
        results: :class:`~fulian_eval.scoring.exact.UnitResult` or :class:`~fulian_eval.scoring.exact.UnitSummary`.

    Returns:
        Ranked results in rank order (ties by unit id), roles in the order town, field, peer, self.
    """
    rows = list(results)
    keys = [r.rank_key(rb.tie_break) for r in rows]
    by_role: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_role[r.role].append(i)
    out: list[Ranked[R]] = []
    for role in sorted(by_role, key=lambda x: (rb.roles.rank_order(x), x)):
        idx = sorted(by_role[role], key=lambda i: (keys[i], rows[i].unit.id))
        overall = _competition(idx, keys)
        groups: dict[str, list[int]] = defaultdict(list)
        for i in idx:  # already in rank order, so each group's list is too
            groups[rows[i].unit.group].append(i)
        in_group: dict[int, int] = {}
        for members in groups.values():
            in_group.update(_competition(members, keys))
        out.extend(Ranked(result=rows[i], rank=overall[i], group_rank=in_group[i]) for i in idx)
    return _with_awards(rb, out, keys, rows) if rb.awards else out


def _with_awards(
    rb: Rulebook, out: list[Ranked[R]], keys: Sequence[Key], rows: Sequence[R]
) -> list[Ranked[R]]:
    """The ranking with each unit's award (SPEC §10.5), from the rank keys (vetoed, -total)."""
    pos = {id(r): k for k, r in enumerate(rows)}
    at = [pos[id(x.result)] for x in out]
    roles: dict[str, int] = {}
    groups: dict[tuple[str, str], int] = {}
    role_seg = [roles.setdefault(x.result.role, len(roles)) for x in out]
    group_seg = [groups.setdefault((x.result.role, x.result.unit.group), len(groups)) for x in out]
    codes = award_codes(
        rb.awards,
        np.arange(len(out)),
        np.array(role_seg),
        np.array(group_seg),
        np.array([keys[i][0] for i in at], dtype=bool),
        np.array([-keys[i][1] for i in at], dtype=np.int64),
        np.array([x.rank for x in out]),
        np.array([x.group_rank for x in out]),
    )
    return [
        attrs.evolve(x, award=rb.awards[c].name) if c >= 0 else x
        for x, c in zip(out, codes.tolist(), strict=True)
    ]


@attrs.frozen(kw_only=True)
class Ranking:
    """Ranks of a :class:`Table`: ``order`` lists rows as reported; ranks are per row."""

    order: Any
    rank: Any
    group_rank: Any
    award: Any = (
        None  # per row: an index into rb.awards, -1 for none (None: the rulebook has no awards)
    )


def rank_table(t: Table) -> Ranking:
    """Ranks (SPEC §5) from the table's arrays: as :func:`~fulian_eval.analysis.rank.rank` gives them.

    Each role is ranked on its own (roles in the order town, field, peer, self);
    rounded total, higher first; then the tie-break categories; vetoed units last;
    ties share a rank and are listed by unit id.
    """
    if len(t) == 0:
        z = np.zeros(0, dtype=np.int64)
        return Ranking(order=z, rank=z, group_rank=z)
    cat_ids = [c.id for c, _ in t.plan.cats]
    return rank_arrays(
        t.plan.rb,
        role_names=list(t.roles),
        role_code=np.frombuffer(t.role_code, dtype=np.int8),
        group_count=len(t.groups),
        group_code=np.frombuffer(t.group_code, dtype=np.int32),
        vetoed=t.vetoed,
        total_h=t.total_h,
        ties=[t.cat_h[:, cat_ids.index(cid)] for cid in t.plan.rb.tie_break],
        id_bytes=None if t.nul_ids else t.id_bytes,
        ids=t.unit,
    )


def rank_arrays(
    rb: Rulebook,
    *,
    role_names: Sequence[str],
    role_code: Any,
    group_count: int,
    group_code: Any,
    vetoed: Any,
    total_h: Any,
    ties: Sequence[Any],
    id_bytes: Any,
    ids: Sequence[str],
) -> Ranking:
    """Ranks (SPEC §5) from compact key columns, one entry per scored row.

    Args:
        role_names: the roles present; ``role_code`` (per row) indexes it.
        group_count, group_code: per row, an index of its group (0 … group_count − 1).
        vetoed, total_h: per row (total rounded, in hundredths).
        ties: per tie-break category of the rulebook, the rows' scores in hundredths.
        id_bytes: the unit ids as UTF-8 (numpy bytes), or None to sort ``ids`` in Python
            (an id holding a NUL, which numpy bytes would drop).
        ids: the unit ids.
    """
    n = len(vetoed)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return Ranking(order=z, rank=z, group_rank=z)
    names = list(role_names)
    place = sorted(range(len(names)), key=lambda k: (rb.roles.rank_order(names[k]), names[k]))
    rank_of = np.empty(len(names), dtype=np.int64)
    rank_of[place] = np.arange(len(names))
    roles = rank_of[np.asarray(role_code)]
    by_id = (
        _id_order(id_bytes)
        if id_bytes is not None
        else np.array(sorted(range(n), key=ids.__getitem__))
    )
    keys = [
        roles,
        np.asarray(vetoed).astype(np.int64),
        -np.asarray(total_h).astype(np.int64),
        *(-np.asarray(x).astype(np.int64) for x in ties),
    ]
    composite = _pack_keys(keys)
    order = by_id[np.argsort(composite[by_id], kind="stable")]
    rank = _competition_arrays(composite, order, roles)
    # Within each role and group, the overall order already holds: a stable sort by group keeps it.
    seg = roles * (group_count + 1) + np.asarray(group_code)
    seg = seg.astype(np.int16) if seg.max() < 2**15 else seg
    gorder = order[np.argsort(seg[order], kind="stable")]
    group_rank = _competition_arrays(composite, gorder, seg)
    award = (
        award_codes(rb.awards, order, roles, seg, vetoed, total_h, rank, group_rank)
        if rb.awards
        else None
    )
    return Ranking(order=order, rank=rank, group_rank=group_rank, award=award)


def award_of(rb: Rulebook, r: Ranking, row: int) -> str | None:
    """The award of the table's ``row`` (SPEC §10.5), or None."""
    if r.award is None:
        return None
    code = int(r.award[row])
    return rb.awards[code].name if code >= 0 else None


def _id_order(ids: Any) -> Any:
    """Rows in order of unit id (as Python compares str: by code point, which UTF-8 bytes keep)."""
    n = len(ids)
    width = max(8, -(-ids.dtype.itemsize // 8) * 8)
    padded = np.zeros(n, dtype=f"S{width}")
    padded[:] = ids
    words = padded.view(">u8").reshape(n, width // 8)
    if words.shape[1] == 1:
        return np.argsort(words[:, 0], kind="stable")
    return np.lexsort(tuple(words[:, k] for k in range(words.shape[1] - 1, -1, -1)))


def _pack_keys(keys: Sequence[Any]) -> Any:
    """Several int64 sort keys (most significant first) as one, when they fit in 63 bits."""
    out = np.zeros(len(keys[0]), dtype=np.int64)
    bits = 0
    for k in keys:
        lo = int(k.min())
        span = int(k.max()) - lo + 1
        width = max(1, span.bit_length())
        bits += width
        if bits > 62:
            # Too wide for one word: rank by position in a lexicographic sort instead.
            order = np.lexsort(tuple(reversed(keys)))
            packed = np.empty(len(out), dtype=np.int64)
            sk = [k2[order] for k2 in keys]
            change = np.zeros(len(out), dtype=bool)
            change[0] = True
            for k2 in sk:
                change[1:] |= k2[1:] != k2[:-1]
            packed[order] = np.cumsum(change)
            return packed
        out = (out << width) | (k - lo)
    return out


def _competition_arrays(key: Any, order: Any, segment: Any) -> Any:
    """Standard competition ranks (1, 2, 2, 4) within segments, for rows sorted by key."""
    n = len(order)
    k = key[order]
    s = segment[order]
    pos = np.arange(n)
    new_seg = np.ones(n, dtype=bool)
    new_seg[1:] = s[1:] != s[:-1]
    new_key = new_seg.copy()
    new_key[1:] |= k[1:] != k[:-1]
    seg_start = np.maximum.accumulate(np.where(new_seg, pos, 0))
    run_start = np.maximum.accumulate(np.where(new_key, pos, 0))
    out = np.empty(n, dtype=np.int64)
    out[order] = run_start - seg_start + 1
    return out
