"""The immutable model: rulebooks and evidence as frozen attrs classes, pure data.

Every number is already exact (:class:`~fractions.Fraction`) and already in the
unit of the field it belongs to; loading (``fulian_eval.io.load``) does the checking
and converting once.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, Literal, Protocol

import attrs

from ..lang.expr import Expr
from ..lang.text import PRECISIONS, points_h, round_points
from .roles import DEFAULT_ROLES, Award, Roles

__all__ = [
    "Assessment",
    "Category",
    "Consistency",
    "Derived",
    "Evidence",
    "FieldSpec",
    "Grade",
    "Group",
    "Item",
    "RuleSpec",
    "Rulebook",
    "Survey",
    "UnitInfo",
]

#: Category types (SPEC §2, §10.1), and what missing evidence does (§10.2).
CategoryType = Literal["base", "deduction", "bonus", "penalty"]
CATEGORY_TYPES: tuple[CategoryType, ...] = ("base", "deduction", "bonus", "penalty")
OnMissing = Literal["worst", "none", "reject"]
ON_MISSING: tuple[OnMissing, ...] = ("worst", "none", "reject")

FIELD_TYPES = ("count", "number", "quantity", "bool", "set", "text", "choice")
EXPR_TYPE = {
    "count": "num",
    "number": "num",
    "quantity": "num",
    "bool": "bool",
    "set": "set",
    "text": "str",
    "choice": "str",  # one of the field's options (SPEC §10.6)
}


@attrs.frozen(kw_only=True)
class FieldSpec:
    """A piece of evidence the scheme reads."""

    name: str
    type: str
    unit: str = ""
    title: str = ""
    #: A choice field's options, in the rulebook's order (SPEC §10.6); empty for other types.
    options: tuple[str, ...] = ()
    #: A choice field's aliases as (written, option) pairs: ``没有`` read as ``无``.
    aliases: tuple[tuple[str, str], ...] = ()
    #: Extra column headers a table may use for this field (SPEC §10.6, §10.7).
    headers: tuple[str, ...] = ()

    def choice(self, written: str) -> str | None:
        """The option ``written`` stands for (itself, or through an alias), or None."""
        if written in self.options:
            return written
        return next((o for a, o in self.aliases if a == written), None)


@attrs.frozen(kw_only=True)
class Derived:
    """A value computed from fields with an expression, in ``unit``."""

    name: str
    expr: Expr
    unit: str = ""
    on_zero: str = "not_applicable"  # not_applicable | missing | zero
    title: str = ""


@attrs.frozen(kw_only=True)
class Consistency:
    """A data sanity check: flagged when false, never scored."""

    when: Expr
    message: str


@attrs.frozen(kw_only=True)
class Grade:
    name: str
    min: Fraction


# ------------------------------------------------------------------ items


class RuleSpec(Protocol):
    """An item's frozen rule; each kind defines its own (:mod:`fulian_eval.kinds`)."""

    def reads(self) -> frozenset[str]:
        """Names of the fields and derived values the rule reads."""


@attrs.frozen(kw_only=True)
class Item:
    """One scored line of the scheme (one row of the 审核记录表)."""

    id: str  # full id "category.item"
    title: str
    kind: str
    max: Fraction
    rule: RuleSpec
    floor: Fraction = Fraction(0)
    applies_when: Expr | None = None
    method: str = ""
    note: str = ""
    #: False for a deduction without a cap of its own (SPEC §10.1): ``max`` is then the
    #: most its category can lose, so every engine keeps it bounded.
    capped: bool = True
    on_missing: OnMissing = (
        "worst"  # what missing evidence does (SPEC §10.2), resolved from the nearest level
    )
    #: A precondition (SPEC §10.4, 且验收合格): when false (or its evidence is missing) the
    #: item scores as under ``on_missing = "worst"``.
    requires: Expr | None = None
    #: ``"rescale"`` or ``"award"`` for this item alone (SPEC §10.4); None: its category's, else the rulebook's.
    #: An item of a group that says none takes its group's here (resolved when loaded).
    not_applicable: str | None = None
    #: The id of its group within its category (SPEC §10.3), or None for a direct item.
    group: str | None = None

    @functools.cached_property
    def bounds_h(self) -> tuple[int, int] | None:
        """(floor, max) in whole hundredths when both are multiples of 0.01, else None."""
        lo, hi = self.floor, self.max
        if 100 % lo.denominator or 100 % hi.denominator:
            return None
        return lo.numerator * (100 // lo.denominator), hi.numerator * (100 // hi.denominator)

    @property
    def short_id(self) -> str:
        return self.id.split(".", 1)[1]

    def fields_used(self) -> frozenset[str]:
        """Names of fields and derived values this item's rule (and its precondition) reads."""
        if self.requires is not None:
            return self.rule.reads() | self.requires.names
        return self.rule.reads()


@attrs.frozen(kw_only=True)
class Group:
    """A category's sub-clause (SPEC §10.3): some of its items, with their own subtotal and cap.

    In a base or bonus category the group scores ``clamp(Σ items, floor, max)``; in a
    deduction or penalty one its score is its deduction, ``min(max, Σ deductions)``.
    """

    id: str  # its id within the category ("edu"); never the same as an item's id there
    title: str
    max: Fraction
    items: tuple[str, ...]  # the full ids of its items, in rulebook order
    floor: Fraction = Fraction(0)
    #: False for a deduction group with an uncapped item and no max of its own (SPEC §10.10):
    #: ``max`` is then the most its category can lose.
    capped: bool = True
    on_missing: OnMissing | None = None
    not_applicable: str | None = None


@attrs.frozen(kw_only=True)
class Category:
    id: str
    title: str
    type: CategoryType
    max: Fraction  # a deduction category's starting score (基本分)
    items: tuple[Item, ...]
    floor: Fraction = Fraction(0)
    weight: Fraction | None = None
    applies_when: Expr | None = None
    on_missing: OnMissing | None = None
    #: ``"rescale"`` or ``"award"`` for this category's items (SPEC §10.4); None: the rulebook's.
    not_applicable: str | None = None
    #: Its groups (SPEC §10.3); their items are in ``items`` too, each with its ``group`` set.
    groups: tuple[Group, ...] = ()

    @property
    def deducts(self) -> bool:
        """Its items yield deductions (扣X分): a deduction or penalty category (SPEC §10.1)."""
        return self.type in ("deduction", "penalty")

    @property
    def base_like(self) -> bool:
        """It takes part in the base total with its max (§4.3): a base or deduction category."""
        return self.type in ("base", "deduction")

    @property
    def items_max(self) -> Fraction:
        """The sum of the max of its direct items and of its groups (each counted at its max)."""
        direct = sum((i.max for i in self.items if i.group is None), Fraction(0))
        return direct + sum((g.max for g in self.groups), Fraction(0))

    def group(self, gid: str) -> Group:
        """The group with this id; KeyError if none."""
        for g in self.groups:
            if g.id == gid:
                return g
        raise KeyError(gid)

    @functools.cached_property
    def parts(self) -> tuple[tuple[Group | None, tuple[int, ...]], ...]:
        """Its direct items and groups as a category adds them: (None, (index,)) for a direct
        item, (group, indexes of its items in ``items``) for a group, in the order of their first item."""
        return _parts(self)


def _parts(cat: Category) -> tuple[tuple[Group | None, tuple[int, ...]], ...]:
    by_id = {g.id: g for g in cat.groups}
    out: list[tuple[Group | None, tuple[int, ...]]] = []
    seen: dict[str, int] = {}
    for k, item in enumerate(cat.items):
        if item.group is None:
            out.append((None, (k,)))
        elif item.group in seen:
            g, idx = out[seen[item.group]]
            out[seen[item.group]] = (g, (*idx, k))
        else:
            seen[item.group] = len(out)
            out.append((by_id[item.group], (k,)))
    for g in cat.groups:  # a group with no items (never from the loader) still counts, empty
        if g.id not in seen:
            out.append((g, ()))
    return tuple(out)


@attrs.frozen(kw_only=True)
class Survey:
    """A questionnaire (SPEC §10.9): residents' answers to one question fill one field.

    Attributes:
        id: the key of ``[surveys.ID]``.
        title: how reports name it ("群众满意度问卷"); the id when not given.
        field: the number field the survey fills (in that field's unit).
        question: the survey table's column header.
        answers: (answer as written, its value), in the rulebook's order.
        aggregate: ``"mean"`` (of the answers' values) or ``"share"`` (the % of
            answers in ``positive``).
        positive: for ``share``, the answers that count.
        min_responses: fewer valid answers for a unit leave the field missing.
    """

    id: str
    title: str
    field: str
    question: str
    answers: tuple[tuple[str, Fraction], ...]
    aggregate: Literal["mean", "share"] = "mean"
    positive: frozenset[str] = frozenset()
    min_responses: int = 1

    def value_of(self, answer: str) -> Fraction | None:
        """An answer's value, or None when it is not one of ``answers``."""
        return next((v for a, v in self.answers if a == answer), None)


@attrs.frozen(kw_only=True)
class SourceFile:
    """A file of a rulebook's chain, by content."""

    path: str
    sha256: str


@attrs.frozen(kw_only=True)
class Rulebook:
    """A whole, validated assessment scheme (考核细则)."""

    id: str
    version: str
    title: str
    scale: Fraction
    not_applicable: str
    tie_break: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    derived: tuple[Derived, ...]
    consistency: tuple[Consistency, ...]
    grades: tuple[Grade, ...]  # highest min first
    categories: tuple[Category, ...]
    sources: tuple[SourceFile, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict)  # e.g. [crosscheck], kept for later
    on_missing: OnMissing = "worst"
    roles: Roles = DEFAULT_ROLES  # [roles] (SPEC §10.5), least to most authoritative
    awards: tuple[Award, ...] = ()  # [[awards]] (SPEC §10.5), in the order written
    #: ``precision`` (SPEC §10.5): 0.01, 0.1 or 1; items, groups, categories and totals
    #: round half-up to it and print with :attr:`places` decimals.
    precision: Fraction = Fraction(1, 100)
    surveys: tuple[Survey, ...] = ()  # [surveys.ID] (SPEC §10.9), in the order written

    @property
    def places(self) -> int:
        """The decimals scores print with: 2, 1 or 0 (for a precision of 0.01, 0.1, 1)."""
        return PRECISIONS[self.precision]

    @property
    def step_h(self) -> int:
        """The precision in whole hundredths: 1, 10 or 100."""
        return (1, 10, 100)[2 - self.places]

    def round(self, x: Fraction) -> Fraction:
        """``x`` rounded half-up to the precision: every item, group, category and total."""
        return round_points(x, self.places)

    def points_h(self, x: Fraction) -> int:
        """:meth:`round` in whole hundredths (91.64 at precision 0.1 -> 9160)."""
        return points_h(x, self.places)

    @functools.cached_property
    def must_report(self) -> tuple[frozenset[str], frozenset[str]]:
        """(fields, manual item ids) a unit must give: read by items with ``on_missing = "reject"``."""
        fields: set[str] = set()
        points: set[str] = set()
        for item in self._items:
            if item.on_missing != "reject":
                continue
            if item.kind == "manual":
                points.add(item.id)
            fields.update(n for n in self.inputs_of(item.fields_used()) if n in self.fields)
        return frozenset(fields), frozenset(points)

    @property
    def sha256(self) -> str:
        return self.sources[0].sha256 if self.sources else ""

    @property
    def path(self) -> str:
        return self.sources[0].path if self.sources else ""

    @functools.cached_property
    def _items(self) -> tuple[Item, ...]:
        return tuple(i for c in self.categories for i in c.items)

    @functools.cached_property
    def _item_index(self) -> dict[str, Item]:
        return {i.id: i for i in self._items}

    def items(self) -> tuple[Item, ...]:
        """Every item, category by category, in rulebook order."""
        return self._items

    def item(self, full_id: str) -> Item:
        """The item with this full id ("archives.registers"); KeyError if none."""
        return self._item_index[full_id]

    def category(self, cid: str) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def inputs_of(self, names: Iterable[str]) -> list[str]:
        """The given field and derived names, and every name the derived ones are computed from."""
        derived = {d.name: d for d in self.derived}
        todo = list(names)
        seen: set[str] = set()
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                if n in derived:
                    todo.extend(derived[n].expr.names)
        return sorted(seen)

    def unit_of(self, name: str) -> str:
        """The unit of a field or derived value ("" for none)."""
        if name in self.fields:
            return self.fields[name].unit
        for d in self.derived:
            if d.name == name:
                return d.unit
        raise KeyError(name)


# -------------------------------------------------------------------- evidence


@attrs.frozen(kw_only=True)
class UnitInfo:
    id: str
    name: str = ""
    group: str = ""
    kind: str = ""


@attrs.frozen(kw_only=True)
class Assessment:
    role: str = "self"  # self | peer | town | field
    assessor: str = ""
    date: _dt.date | None = None


@attrs.frozen(kw_only=True)
class Evidence:
    """One assessment of one unit: values in field units, manual points, flags.

    Attributes:
        source: where it came from ("evidence/x.toml", "town.csv row 4").
        values: field name -> Fraction | bool | frozenset[str] | str, in the field's unit.
        points: full item id -> points given by the assessor (manual items).
        flags: notes made while loading, e.g. approximate figures used.
        surveyed: fields filled from questionnaires, and the count of answers.
    """

    unit: UnitInfo
    assessment: Assessment = Assessment()
    values: Mapping[str, Any] = attrs.field(factory=dict)
    points: Mapping[str, Fraction] = attrs.field(factory=dict)
    flags: tuple[str, ...] = ()
    source: str = ""
    raw: Mapping[str, str] = attrs.field(factory=dict)  # field -> value as written
    #: Fields a questionnaire (SPEC §10.9) filled, or would have filled with enough
    #: answers: field -> how the reason names it ("问卷42份").
    surveyed: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def role(self) -> str:
        return self.assessment.role
