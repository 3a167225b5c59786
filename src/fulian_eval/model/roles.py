"""Assessment roles and awards (SPEC §10.5): who assesses, and what a ranking gives.

One definition of the roles for the whole package: a rulebook's ``[roles]``
(least to most authoritative, id → title) or the default self 自评, peer 互查,
field 实地, town 镇核. Evidence, the command line, ranking, cross-checks and
reports all read :class:`Roles`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction

import attrs

__all__ = ["DEFAULT_ROLES", "Award", "Role", "Roles"]


@attrs.frozen(kw_only=True)
class Role:
    """One assessment role: ``order`` 0 is the least authoritative."""

    id: str
    title: str
    order: int


@attrs.frozen
class Roles:
    """The roles of a rulebook, least to most authoritative."""

    roles: tuple[Role, ...]

    @classmethod
    def of(cls, pairs: Mapping[str, str] | list[tuple[str, str]]) -> Roles:
        items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
        return cls(
            tuple(Role(id=rid, title=title, order=k) for k, (rid, title) in enumerate(items))
        )

    def __iter__(self) -> Iterator[Role]:
        return iter(self.roles)

    def __len__(self) -> int:
        return len(self.roles)

    def __contains__(self, role_id: object) -> bool:
        return any(r.id == role_id for r in self.roles)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.roles)

    @property
    def titles(self) -> dict[str, str]:
        """id → title, least authoritative first."""
        return {r.id: r.title for r in self.roles}

    @property
    def first(self) -> str:
        """The role evidence has when it names none (the least authoritative, 自评 by default)."""
        return self.roles[0].id

    def title(self, role_id: str) -> str:
        """The title a report prints; an unknown id (e.g. ``final``) as it is."""
        for r in self.roles:
            if r.id == role_id:
                return r.title
        return {"final": "最终", "weighted": "加权"}.get(role_id, role_id)

    def resolve(self, text: str) -> str | None:
        """A role written by id or by title → its id; None if it is neither."""
        t = text.strip()
        for r in self.roles:
            if t in (r.id, r.title):
                return r.id
        return None

    def names(self) -> list[str]:
        """Every accepted spelling: ids, then titles (for did-you-mean)."""
        return [*self.ids, *(r.title for r in self.roles)]

    def listing(self) -> str:
        """``self（自评）、peer（互查）…`` for messages and help."""
        return "、".join(f"{r.id}（{r.title}）" for r in self.roles)

    def rank_order(self, role_id: str) -> int:
        """Sort key for rankings: the most authoritative role first; unknown roles last."""
        for r in self.roles:
            if r.id == role_id:
                return len(self.roles) - 1 - r.order
        return len(self.roles) + 9

    @property
    def precedence(self) -> tuple[str, ...]:
        """The default crosscheck precedence: most authoritative first."""
        return tuple(reversed(self.ids))


DEFAULT_ROLES = Roles.of({"self": "自评", "peer": "互查", "field": "实地", "town": "镇核"})


@attrs.frozen(kw_only=True)
class Award:
    """One ``[[awards]]`` entry: the top ``count`` units, or the top ``share`` of them."""

    name: str
    count: int | None = None
    share: Fraction | None = None
    min_total: Fraction | None = None
    per_group: bool = False

    def size(self, units: int) -> int:
        """How many units this award is for among ``units`` ranked ones (share rounds half up)."""
        if self.count is not None:
            return self.count
        assert self.share is not None
        x = self.share * units
        return int(x) + (1 if x - int(x) >= Fraction(1, 2) else 0)
