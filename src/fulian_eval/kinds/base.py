"""What every item kind is made of, and the three interfaces a kind is written against.

A kind (``check``, ``tiers``, ``shortfall`` …) is one module holding all of its
meaning: its TOML keys and their validation (:meth:`Kind.build`, against a
:class:`Reader`), its frozen rule class, its arithmetic (:meth:`Kind.raw`, against
:class:`Ops`), and its Chinese reason (:meth:`Kind.why`, against :class:`Words`).

The arithmetic is written once, over a small set of operations. Two engines
implement them: the exact per-unit engine (:mod:`fulian_eval.scoring.exact`, where a
value is a :class:`~fractions.Fraction` or a bool and missing evidence raises) and the
columnar engine (:mod:`fulian_eval.scoring.columnar`, where a value is a column of
many units with error bounds and per-row states). Whatever a kind computes, both
engines compute the same way — the columnar one deciding in floats only where its
error bounds prove the exact answer, and sending doubtful rows to the exact one.

``raw`` gives the item's *natural* value before rounding and clamping: the points
(``natural = "points"``) or, for kinds worded as deductions (扣X分: ``deduct``,
``shortfall``), the deduction (``natural = "deduction"``); the engines then keep
``max − deduction``. Rounding half-up to 0.01 and clamping to ``[floor, max]`` are the
engines' own, the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar, Protocol

import attrs

from ..lang.expr import (
    Absent,
    And,
    Arith,
    Call,
    Compare,
    Const,
    Expr,
    Name,
    Neg,
    Node,
    Not,
    Or,
    Visitor,
    walk,
)
from ..lang.messages import N_, _
from ..lang.text import decimal_text, param_text, reason_number, round_half_up
from ..lang.values import BadNumber

__all__ = [
    "NUMERIC",
    "NUMERIC_WORD",
    "Bound",
    "Kind",
    "Ops",
    "Reader",
    "Ref",
    "Skip",
    "Words",
    "bound_names",
    "bound_text",
    "bound_value",
    "capped",
    "each_above_zero",
    "expr_text",
    "fmt",
    "is_number",
    "read_bound",
    "show_value",
    "type_name",
    "used_values",
]

PathKey = tuple[str | int, ...]

#: A value in the engines' own representation: a Fraction/bool/set in the exact engine,
#: a column in the columnar one. Kinds never look inside.
V = Any


@attrs.frozen
class Ref:
    """A bound taken from evidence (SPEC §10.4): a field or derived value, times ``factor``.

    ``factor`` converts the value's unit to the item field's unit (1 when they are the same).
    """

    name: str
    factor: Fraction = Fraction(1)


#: A bound as a rule keeps it: a number in the field's unit, or a value read from evidence.
Bound = Fraction | Ref


class Skip(Exception):
    """A part of a rulebook that cannot be built; its problem has already been reported."""


class Reader(Protocol):
    """What a kind's :meth:`Kind.build` may ask of the rulebook loader (:mod:`fulian_eval.io.load`).

    Every getter reports a problem (with the TOML line) and raises :class:`Skip` when the
    value is there but unusable, or missing and required.
    """

    def err(self, key: PathKey, label: str, message: str) -> None: ...

    def text(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: str = "",
        required: bool = False,
    ) -> str: ...

    def num(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: Fraction | None = None,
        required: bool = False,
    ) -> Fraction | None: ...

    def points(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: Fraction | None = None,
        required: bool = False,
    ) -> Fraction | None: ...

    def expr(self, source: Any, key: PathKey, label: str, want: str) -> Expr: ...

    def veto_expr(
        self, source: Any, key: PathKey, label: str
    ) -> tuple[Expr, tuple[tuple[str, str], ...]]:
        """A veto's condition, which may also use ``total`` and ``score("cat")`` (SPEC §10.4).

        Returns the expression (its text as written) and, per ``score("cat")``, the
        name it is read as and the category id.
        """
        ...

    def bound(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = False,
    ) -> Fraction | None: ...

    def bound_ref(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = False,
    ) -> Bound | None:
        """As :meth:`bound`, or the name of a number field or derived value (checked against ``unit``)."""
        ...

    def positive(
        self,
        t: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = True,
        default: Fraction | None = None,
    ) -> Fraction: ...

    def field_ref(
        self,
        t: Mapping[str, Any],
        key: PathKey,
        label: str,
        kinds: tuple[str, ...],
        what: str,
        *,
        name: str = "field",
    ) -> str:
        """The field or derived value named by the key ``name`` (default ``field``), of one of ``kinds``."""

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        allowed: set[str],
        key: PathKey,
        what: str,
        label: str | None = None,
    ) -> None: ...

    def unit_of(self, name: str) -> str: ...

    def field_type(self, name: str) -> str | None: ...

    def field_names(self) -> Collection[str]: ...

    def options_of(self, name: str) -> tuple[str, ...]:
        """A choice field's options (empty for any other name)."""
        ...


class Ops(Protocol):
    """The operations a kind's arithmetic is written with (see the module notes).

    Reading evidence records what the item depends on: in the exact engine a missing or
    not-applicable value raises at once; in the columnar engine each row keeps the state
    of the first value it lacked, in the order read.
    """

    def read(self, name: str) -> V:
        """A field's or derived value's value."""

    def read_all(self, names: Sequence[str]) -> list[V]:
        """Several values; any of them missing makes the item missing (naming every one
        missing), else any of them not applicable makes it not applicable."""

    def evaluate(self, expr: Expr) -> V:
        """An expression's value (missing, not applicable and division by zero as §7 says)."""

    def manual(self, item_id: str) -> V:
        """The points an assessor gave a manual item."""

    def const(self, x: Fraction | int) -> V: ...

    def add(self, a: V, b: V) -> V: ...

    def sub(self, a: V, b: V) -> V: ...

    def mul(self, a: V, b: V) -> V: ...

    def div(self, a: V, b: V) -> V: ...

    def cmp(self, op: str, a: V, b: V) -> V:
        """``a op b`` for op in ``< <= > >= == !=`` (a truth value)."""

    def all(self, conds: Sequence[V]) -> V:
        """The truth values all hold (true when there are none)."""

    def where(self, cond: V, a: V, b: V) -> V:
        """``a`` where ``cond`` holds, else ``b``."""

    def select(self, choices: Sequence[tuple[V, V]], default: V) -> V:
        """The value of the first choice whose condition holds, else ``default``."""

    def clamp(self, x: V, lo: V, hi: V) -> V: ...

    def floor(self, x: V) -> V: ...

    def ceil(self, x: V) -> V: ...

    def absent(self, have: V, names: Sequence[str], weights: Sequence[Fraction] | None = None) -> V:
        """How many of ``names`` a set value lacks; with ``weights``, the sum of the lacking names' weights."""

    def lookup(self, value: V, table: Mapping[str, Fraction], default: Fraction) -> V:
        """The number ``table`` gives a string value (a choice field's option), else ``default``."""


class Words(Protocol):
    """What a reason is worded with (the exact engine's per-unit context)."""

    def title(self, name: str) -> str:
        """A field's title (its name when it has none)."""

    def head(self, name: str, v: Fraction) -> str:
        """ "登记率92.19%": a field's title and value."""

    def show(self, name: str, v: Fraction) -> str:
        """A value with its field's unit: "92.19%", "36 m²"."""

    @property
    def deducts(self) -> bool:
        """The item is in a deduction or penalty category: its value is a deduction (扣X分)."""

    def got(self, p: Fraction) -> str:
        """ "得X分" / "不得分"; in a deduction or penalty category "扣X分" / "未扣分".

        ``p`` exact: the number is rounded to the rulebook's precision, as the points are.
        """

    def pts(self, p: Fraction) -> str:
        """Points at the rulebook's precision, no trailing zeros (for 得满分X分)."""

    def value(self, name: str) -> Any:
        """A value the item read (exact)."""


class Kind:
    """One item kind. Subclasses set the class attributes and override the methods."""

    #: The name written as ``kind = "…"``.
    name: ClassVar[str]
    #: The TOML keys this kind takes beside the keys every item takes.
    keys: ClassVar[frozenset[str]]
    #: ``"points"``: ``raw`` gives points; ``"deduction"``: it gives what is taken off ``max``.
    natural: ClassVar[str] = "points"
    #: One line for the docs and ``validate`` (Chinese).
    summary: ClassVar[str] = ""

    def build(self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction) -> Any:
        """Check an item table's kind-specific keys and make the frozen rule (raises :class:`Skip`)."""
        raise NotImplementedError

    def raw(self, ops: Ops, mx: Fraction, rule: Any) -> V:
        """The item's natural value before rounding and clamping (see the module notes)."""
        raise NotImplementedError

    def implied_max(self, t: Mapping[str, Any]) -> Fraction | None:
        """The most an item of this kind can ever yield, read from its table, if the kind
        bounds it by itself (a ``choice``'s largest points): a deduction item without a
        ``max`` takes it as its cap (SPEC §10.10 "Worst needs a cap"). None: unbounded."""
        return None

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: Any, raw: Fraction) -> str:
        """The reason for an item scored with exact natural value ``raw``, in Chinese."""
        raise NotImplementedError


# ----------------------------------------------------------- problem wording


def is_number(v: Any) -> bool:
    """A TOML number as the loader reads them (ints and exact decimals, not bools)."""
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def show_value(v: Any) -> str:
    """A TOML value as a problem message quotes it."""
    if isinstance(v, BadNumber):
        return v.text
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return _("a table")
    if isinstance(v, list):
        return _("a list")
    return repr(v)


def type_name(v: Any) -> str:
    """What kind of TOML value ``v`` is, as a problem message says it ("a string")."""
    if isinstance(v, bool):
        return _("true/false")
    if isinstance(v, int | Decimal | BadNumber):
        return _("a number")
    if isinstance(v, str):
        return _("a string")
    if isinstance(v, list):
        return _("a list")
    if isinstance(v, dict):
        return _("a table")
    return type(v).__name__


def fmt(x: Fraction | None) -> str:
    """A rulebook number in a problem message ("none" when absent)."""
    return "none" if x is None else decimal_text(x)


#: Field types whose values are numbers (a derived value is always a number).
NUMERIC = ("count", "number", "quantity", "derived")
NUMERIC_WORD = N_("a number field (count, number, quantity or derived)")


def read_bound(ops: Ops, b: Bound) -> V:
    """A bound as a value: a constant, or read from evidence (missing makes the item missing)."""
    if isinstance(b, Ref):
        v = ops.read(b.name)
        return v if b.factor == 1 else ops.mul(v, ops.const(b.factor))
    return ops.const(b)


def bound_value(w: Words, b: Bound) -> Fraction:
    """A bound's exact value for one unit (in the item field's unit)."""
    if isinstance(b, Ref):
        return Fraction(w.value(b.name)) * b.factor
    return b


def bound_text(w: Words, field: str, b: Bound) -> str:
    """A bound as a reason shows it: "90%", or whose value it is and the value used: "供应目标92%"."""
    if isinstance(b, Ref):
        return f"{w.title(b.name)}{w.show(field, bound_value(w, b))}"
    return w.show(field, b)


def bound_names(*bounds: Bound | None) -> frozenset[str]:
    """The evidence names some bounds read."""
    return frozenset(b.name for b in bounds if isinstance(b, Ref))


def each_above_zero(
    r: Reader,
    t: Mapping[str, Any],
    key: PathKey,
    label: str,
    *,
    required: bool,
    default: Fraction | None = None,
) -> Fraction:
    """The ``each`` of a kind: points per unit, fault or step, above 0."""
    each = r.num(t, "each", key, label, default=default, required=required)
    assert each is not None
    if each <= 0:
        r.err((*key, "each"), f"{label}.each", _("{value} must be above 0").format(value=fmt(each)))
    return each


# ------------------------------------------------------------ reason wording


_CMP_SHOWN = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
_ARITH_SHOWN = {"+": "+", "-": "-", "*": "×", "/": "/"}


class _Shown(Visitor[tuple[str, int]]):
    """An expression as a reason prints it: names by their titles, × for *, ≥ for >=,
    parentheses only where the order of operations needs them. Each node gives its text
    and its precedence (higher binds tighter)."""

    def __init__(self, title: Callable[[str], str]) -> None:
        self.title = title

    def wrap(self, node: Node, at_least: int) -> str:
        text, prec = self.visit(node)
        return f"({text})" if prec < at_least else text

    def const(self, node: Const) -> tuple[str, int]:
        v = node.value
        if isinstance(v, bool):
            return ("是" if v else "否"), 9
        if isinstance(v, str):
            return f"“{v}”", 9
        return param_text(v), 9

    def name(self, node: Name) -> tuple[str, int]:
        return self.title(node.name), 9

    def or_(self, node: Or) -> tuple[str, int]:
        return "或".join(self.wrap(p, 2) for p in node.parts), 1

    def and_(self, node: And) -> tuple[str, int]:
        return "且".join(self.wrap(p, 3) for p in node.parts), 2

    def not_(self, node: Not) -> tuple[str, int]:
        return f"非{self.wrap(node.operand, 4)}", 3

    def compare(self, node: Compare) -> tuple[str, int]:
        return f"{self.wrap(node.left, 5)}{_CMP_SHOWN[node.op]}{self.wrap(node.right, 5)}", 4

    def arith(self, node: Arith) -> tuple[str, int]:
        # One level (+ − or × /), left to right: an operand of the same level after the
        # first was written in parentheses (a − (b − c)), and keeps them.
        prec = 5 if node.rest[0][0] in "+-" else 6
        text = self.wrap(node.first, prec)
        for op, operand in node.rest:
            text += _ARITH_SHOWN[op] + self.wrap(operand, prec + 1)
        return text, prec

    def neg(self, node: Neg) -> tuple[str, int]:
        return f"-{self.wrap(node.operand, 8)}", 7

    def call(self, node: Call) -> tuple[str, int]:
        return f"{node.function}({', '.join(self.visit(a)[0] for a in node.args)})", 9


def expr_text(w: Words, expr: Expr, title: Callable[[str], str] | None = None) -> str:
    """ "3×年度妇联工作经费/(2×(户籍人口+流动人口))": an expression with its names' titles.

    Words that keep ``texts`` (a dict for their rulebook: its titles never change) have
    each expression's text made once."""
    texts: dict[Any, Any] | None = getattr(w, "texts", None) if title is None else None
    if texts is None:
        return _Shown(title or w.title).visit(expr.tree)[0]
    got = texts.get(expr)
    if got is None:
        got = texts[expr] = _Shown(w.title).visit(expr.tree)[0]
    return str(got)


def _names_read(expr: Expr) -> list[str]:
    seen: list[str] = []
    for node in walk(expr.tree):
        if isinstance(node, Name) and node.name not in seen:
            seen.append(node.name)
    return seen


def used_values(w: Words, expr: Expr, skip: Collection[str] = ()) -> str:
    """ "年度妇联工作经费11800元，户籍人口3199人": each value an expression read, in the
    order it first reads them, by title with its unit."""
    texts: dict[Any, Any] | None = getattr(w, "texts", None)
    seen: list[str] | None = None
    if texts is not None:
        key = ("names", expr)
        seen = texts.get(key)
        if seen is None:
            seen = texts[key] = _names_read(expr)
    if seen is None:
        seen = _names_read(expr)
    return "，".join(_value_text(w, n) for n in seen if n not in skip)


def _value_text(w: Words, name: str) -> str:
    try:
        v = w.value(name)
    except KeyError:  # not needed to decide (a or b, b left out)
        return f"{w.title(name)}：无资料"
    if isinstance(v, Absent):
        return f"{w.title(name)}：{'无资料' if v.kind == 'missing' else '不适用'}"
    if isinstance(v, bool):
        return f"{w.title(name)}：{'是' if v else '否'}"
    if isinstance(v, Fraction):
        return w.head(name, v)
    if isinstance(v, str):
        return f"{w.title(name)}：{v}"
    if isinstance(v, frozenset | set):
        return f"{w.title(name)}：{'、'.join(sorted(v)) if v else '无'}"
    return f"{w.title(name)}：{v}"


def capped(w: Words, mx: Fraction, floor: Fraction, raw: Fraction) -> str:
    """The end of a reason for points ``raw`` kept within ``[floor, max]``.

    Within: "得6.23分" (扣X分 in a deduction or penalty category); above the item's max:
    "算得12.5分，已达本项上限10分，得10分" (a deduction: "应扣12.5分，已达本项扣分上限10分，扣10分");
    below the floor: "算得-1分，低于本项最低分0分，不得分".
    """
    r = round_half_up(raw, 2)
    if r > mx:
        if w.deducts:
            return f"应扣{reason_number(raw)}分，已达本项扣分上限{reason_number(mx)}分，{w.got(mx)}"
        return f"算得{reason_number(raw)}分，已达本项上限{reason_number(mx)}分，{w.got(mx)}"
    if r < floor:
        return f"算得{reason_number(raw)}分，低于本项最低分{reason_number(floor)}分，{w.got(floor)}"
    return w.got(raw)  # exact: got() rounds to the rulebook's precision, as the points are
