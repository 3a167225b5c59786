"""The pure scoring core (SPEC §4): rulebook + evidence -> exact, explained results.

No I/O here. All arithmetic is on :class:`~fractions.Fraction`; the only roundings
are half-up to the rulebook's precision (0.01 by default, SPEC §10.5) of each item's
points and of category scores and totals as shown or ranked (the total itself is
computed from exact category scores).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from ..kinds import KINDS, VetoRule
from ..kinds.base import expr_text
from ..kinds.veto import TOTAL
from ..lang.expr import COMPARE, Absent, DivisionByZero, Expr, MissingValue, NotApplicableValue
from ..lang.text import (
    fmt_hundredths,
    fmt_points,
    hundredths,
    points_h,
    reason_number,
    round_h,
    round_half_up,
    round_points,
)
from ..model.rulebook import Category, Consistency, Evidence, Group, Item, Rulebook, UnitInfo

__all__ = [
    "CategoryResult",
    "GroupResult",
    "ItemResult",
    "UnitResult",
    "UnitSummary",
    "consistency_flag",
    "fmt_hundredths",
    "fmt_points",
    "gains",
    "group_reason",
    "hundredths",
    "score",
    "score_all",
    "total_with",
]

ZERO = Fraction(0)
HUNDREDTH = Fraction(1, 100)
NOT_APPLICABLE = (
    "不适用"  # what a report shows for a not-applicable item or category, never a zero (SPEC §4.4)
)


def consistency_flag(check: Consistency) -> str:
    """The flag a failed consistency check puts on a unit."""
    return f"数据不一致: {check.message} ({check.when.text})"


@attrs.frozen(kw_only=True)
class ItemResult:
    """One row of the audit record sheet (审核记录表)."""

    id: str
    title: str
    kind: str
    max: Fraction
    points: Fraction  # rounded half-up to the rulebook's precision
    status: str  # scored | missing | not_applicable | veto
    why: str | Callable[[], str] = attrs.field(default="", eq=False, repr=False)
    method: str = ""
    used: tuple[tuple[str, str], ...] | Callable[[], tuple[tuple[str, str], ...]] = attrs.field(
        default=(), eq=False, repr=False
    )
    capped: bool = True  # False: a deduction without a cap of its own (its max is its category's)
    group: str | None = (
        None  # the id of its group in its category (SPEC §10.3), None for a direct item
    )

    @property
    def reason(self) -> str:
        """Why these points, in words a clerk understands (built only when asked for)."""
        return self.why if isinstance(self.why, str) else self.why()

    @property
    def inputs(self) -> tuple[tuple[str, str], ...]:
        """The evidence used: (field, value as written, or as computed for derived values)."""
        return self.used if isinstance(self.used, tuple) else self.used()


@attrs.frozen(kw_only=True)
class GroupResult:
    """A group's subtotal (SPEC §10.3): its score, rounded as item points are, and its cap.

    In a deduction or penalty category ``score`` is the group's deduction.
    """

    id: str  # its id in its category
    title: str
    max: Fraction
    score: Fraction  # rounded half-up to the rulebook's precision, as the category adds it
    applicable: bool = True
    capped: bool = True  # False: a deduction group without a cap (its max is its category's)
    places: int = 2  # the rulebook's precision as decimals (SPEC §10.5)


@attrs.frozen(kw_only=True)
class CategoryResult:
    id: str
    title: str
    type: str
    max: Fraction
    score: Fraction  # exact
    applicable: bool = True
    places: int = 2  # the rulebook's precision as decimals (SPEC §10.5)
    groups: tuple[GroupResult, ...] = ()  # its groups' subtotals, in rulebook order

    @property
    def rounded(self) -> Fraction:
        return round_points(self.score, self.places)


@attrs.frozen(kw_only=True)
class UnitResult:
    """The scored result of one assessment of one unit."""

    unit: UnitInfo
    role: str
    total: Fraction  # exact
    categories: tuple[CategoryResult, ...]
    items: tuple[ItemResult, ...]
    grade: str | None
    vetoed: bool = False
    veto_effect: str = ""
    flags: tuple[str, ...] = ()
    source: str = ""
    assessor: str = ""
    waived: tuple[str, ...] = ()  # items excused by a waiver (SPEC §2.5)
    total_without_waivers: Fraction | None = None  # the total had no waiver applied
    #: Decimals of the rulebook's precision (SPEC §10.5): 2, 1 or 0. Totals, category scores
    #: and item points are rounded and printed with this many.
    places: int = 2

    @property
    def rounded_total(self) -> Fraction:
        return round_points(self.total, self.places)

    def category(self, cid: str) -> CategoryResult:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        """Smaller ranks higher: (vetoed, −rounded total, −rounded tie-break scores), in hundredths."""
        p = self.places
        return (
            self.vetoed,
            -points_h(self.total, p),
            tuple(-points_h(self.category(c).score, p) for c in tie_break),
        )

    def summary(self) -> UnitSummary:
        """The compact, picklable form that tables, CSV and ranking need (no reasons)."""
        p = self.places
        return UnitSummary(
            unit=self.unit,
            role=self.role,
            source=self.source,
            total=fmt_points(self.total, p),
            total_h=points_h(self.total, p),
            vetoed=self.vetoed,
            grade=self.grade,
            categories=tuple(
                (c.id, fmt_points(c.score, p), points_h(c.score, p), c.applicable)
                for c in self.categories
            ),
            items=tuple(fmt_points(i.points, p) for i in self.items),
            flags=self.flags,
            unshown=tuple(
                k for k, i in enumerate(self.items) if i.status == "not_applicable" and not i.points
            ),
            total_without_waivers=None
            if self.total_without_waivers is None
            else fmt_points(self.total_without_waivers, p),
        )

    def item(self, iid: str) -> ItemResult:
        for i in self.items:
            if i.id == iid:
                return i
        raise KeyError(iid)


@attrs.frozen(kw_only=True)
class UnitSummary:
    """What a ranking table or CSV needs of a result: small, picklable, no reasons.

    Attributes:
        total: the rounded total as printed ("87.50"); ``total_h`` the same in hundredths.
        categories: (id, score as printed, score in hundredths, applicable) per category.
        items: each item's points as printed, in rulebook order.
        unshown: positions (in ``items``) of the not-applicable items that earn nothing:
            reports show ``不适用`` there, never a zero (an awarded max is shown as points).
    """

    unit: UnitInfo
    role: str
    source: str
    total: str
    total_h: int
    vetoed: bool
    grade: str | None
    categories: tuple[tuple[str, str, int, bool], ...]
    items: tuple[str, ...]
    flags: tuple[str, ...] = ()
    total_without_waivers: str | None = None
    unshown: tuple[int, ...] = ()

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        """As :meth:`UnitResult.rank_key`."""
        by_id = {c[0]: c[2] for c in self.categories}
        return (self.vetoed, -self.total_h, tuple(-by_id[c] for c in tie_break))


# ------------------------------------------------------------------- helpers


_TEXTS: dict[int, tuple[Any, dict[Any, Any]]] = {}


def _texts_of(rb: Rulebook) -> dict[Any, Any]:
    """The rulebook's store of expression texts (:func:`~fulian_eval.kinds.base.expr_text`),
    kept while the rulebook lives."""
    got = _TEXTS.get(id(rb))
    if got is not None and got[0]() is rb:
        return got[1]
    if len(_TEXTS) > 64:  # rulebooks come and go (tests load thousands): forget the dead
        for k in [k for k, (ref, _) in _TEXTS.items() if ref() is None]:
            del _TEXTS[k]
    texts: dict[Any, Any] = {}
    _TEXTS[id(rb)] = (weakref.ref(rb), texts)
    return texts


class _Ctx:
    """Per-unit scoring state: the value environment and how to name things."""

    def __init__(self, rb: Rulebook, ev: Evidence) -> None:
        self.rb = rb
        self.places = rb.places
        self.ev = ev
        env: dict[str, Any] = dict(ev.values)
        for d in rb.derived:
            try:
                env[d.name] = d.expr.evaluate(env)
            except MissingValue as exc:
                env[d.name] = Absent("missing", f"缺{self.title(exc.name)}")
            except NotApplicableValue as exc:
                env[d.name] = Absent("not_applicable", exc.why)
            except DivisionByZero:
                if d.on_zero == "zero":
                    env[d.name] = ZERO
                elif d.on_zero == "missing":
                    env[d.name] = Absent("missing", f"{self.title(d.name)}无法计算：除数为0")
                else:
                    env[d.name] = Absent("not_applicable", f"{self.title(d.name)}无法计算：除数为0")
        self.env = env
        self.ops = _ExactOps(self)
        self.texts = _texts_of(rb)  # expressions as reasons print them, made once a rulebook
        self.penalty = False  # scoring items of a penalty category
        self.waived: Mapping[str, str] = {}  # item id -> the waiver's note

    def title(self, name: str) -> str:
        """A field's or derived value's title, else a category's (for ``score("cat")``)."""
        f = self.rb.fields.get(name)
        if f is not None:
            return f.title or name
        for d in self.rb.derived:
            if d.name == name:
                return d.title or name
        for c in self.rb.categories:
            if c.id == name:
                return c.title or name
        return name

    def value(self, name: str) -> Any:
        return self.env[name]

    def head(self, name: str, v: Fraction) -> str:
        """ "登记率92.19%": a field's title and value; a space after an id used as title."""
        title = self.title(name)
        sep = " " if title[-1:].isascii() else ""
        return f"{title}{sep}{self.show(name, v)}"

    @property
    def deducts(self) -> bool:
        """Scoring an item of a deduction or penalty category: its points are a deduction."""
        return self.penalty

    def got(self, p: Fraction) -> str:
        """ "得X分", or "扣X分" for items of a deduction or penalty category (未扣分 for none).

        The number is rounded to the rulebook's precision, as the item's points are.
        """
        r = round_points(p, self.places)
        if self.penalty:
            return f"扣{reason_number(r)}分" if r != 0 else "未扣分"
        return _got(r)

    def pts(self, p: Fraction) -> str:
        """Points in a reason at the rulebook's precision, no trailing zeros (满分 2.5 at 1: "3")."""
        return reason_number(p, self.places)

    def show(self, name: str, v: Fraction) -> str:
        unit = self.rb.unit_of(name)
        u = unit.replace("^2", "²").replace("**2", "²")
        if not u:
            return reason_number(v)
        sep = "" if u in ("%", "m²") or not u.isascii() else " "
        return f"{reason_number(v)}{sep}{u}"

    def inputs(self, names: Iterable[str]) -> tuple[tuple[str, str], ...]:
        # A derived value is shown with the evidence it was computed from.
        out = []
        for n in self.rb.inputs_of(names):
            if n in self.ev.raw:
                out.append((n, self.ev.raw[n]))
            elif n in self.env:
                v = self.env[n]
                if isinstance(v, Absent):
                    out.append((n, v.kind))
                elif isinstance(v, Fraction):
                    out.append((n, reason_number(v)))
                else:
                    out.append((n, str(v)))
        return tuple(out)

    def holds(self, e: Expr | None) -> tuple[bool, str]:
        """Whether an ``applies_when`` holds; missing evidence never excuses. When it does
        not hold, also the condition as a reason prints it (by the fields' titles)."""
        if e is None:
            return True, ""
        try:
            ok = bool(e.evaluate(self.env))
        except (MissingValue, NotApplicableValue, DivisionByZero):
            return True, ""
        return ok, "" if ok else expr_text(self, e)


class _Missing(Exception):
    def __init__(self, names: Sequence[str]) -> None:
        self.names = names


class _NotApplicable(Exception):
    def __init__(self, why: str) -> None:
        self.why = why


def _need(ctx: _Ctx, name: str) -> Any:
    v = ctx.env.get(name)
    if v is None:
        raise _Missing([name])
    if v.__class__ is Absent:
        if v.kind == "missing":
            raise _Missing([name])
        raise _NotApplicable(v.why or f"{ctx.title(name)}不适用")
    return v


def _eval(ctx: _Ctx, e: Expr) -> Any:
    try:
        return e.evaluate(ctx.env)
    except MissingValue as exc:
        raise _Missing([exc.name]) from None
    except NotApplicableValue as exc:
        raise _NotApplicable(exc.why or f"{ctx.title(exc.name)}不适用") from None
    except DivisionByZero:
        raise _NotApplicable(f"{expr_text(ctx, e)} 中除数为0") from None


def _clamp(x: Fraction, lo: Fraction, hi: Fraction) -> Fraction:
    return lo if x < lo else hi if x > hi else x


def _got(p: Fraction) -> str:
    return f"得{reason_number(p)}分" if p != 0 else "不得分"


# ------------------------------------------------------------------- items


Why = Callable[[], str]
_Scored = tuple[Fraction, Why]


class _ExactOps:
    """The kinds' operations (:class:`fulian_eval.kinds.Ops`) on one unit's exact values.

    Values are Fractions, bools and sets; a value the unit lacks raises at once.
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx

    def read(self, name: str) -> Any:
        return _need(self.ctx, name)

    def read_all(self, names: Sequence[str]) -> list[Any]:
        env = self.ctx.env
        missing = [
            n
            for n in names
            if n not in env or (isinstance(env[n], Absent) and env[n].kind == "missing")
        ]
        if missing:
            raise _Missing(missing)
        # None missing: a value not applicable makes the item not applicable (not missing).
        return [_need(self.ctx, n) for n in names]

    def evaluate(self, expr: Expr) -> Any:
        return _eval(self.ctx, expr)

    def manual(self, item_id: str) -> Fraction:
        p = self.ctx.ev.points.get(item_id)
        if p is None:
            raise _Missing([])
        return p

    @staticmethod
    def const(x: Fraction | int) -> Fraction:
        return Fraction(x)

    @staticmethod
    def add(a: Fraction, b: Fraction) -> Fraction:
        return a + b

    @staticmethod
    def sub(a: Fraction, b: Fraction) -> Fraction:
        return a - b

    @staticmethod
    def mul(a: Fraction, b: Fraction) -> Fraction:
        return a * b

    @staticmethod
    def div(a: Fraction, b: Fraction) -> Fraction:
        if (
            b == 0
        ):  # as the columns do: a value that cannot be computed makes the item not applicable
            raise _NotApplicable("除数为0")
        return a / b

    @staticmethod
    def cmp(op: str, a: Any, b: Any) -> bool:
        return bool(COMPARE[op](a, b))

    @staticmethod
    def all(conds: Sequence[bool]) -> bool:
        return all(conds)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    @staticmethod
    def select(choices: Sequence[tuple[bool, Any]], default: Any) -> Any:
        return next((v for c, v in choices if c), default)

    @staticmethod
    def clamp(x: Fraction, lo: Fraction, hi: Fraction) -> Fraction:
        return _clamp(x, lo, hi)

    @staticmethod
    def floor(x: Fraction) -> Fraction:
        return Fraction(math.floor(x))

    @staticmethod
    def ceil(x: Fraction) -> Fraction:
        return Fraction(math.ceil(x))

    @staticmethod
    def absent(
        have: frozenset[str], names: Sequence[str], weights: Sequence[Fraction] | None = None
    ) -> Fraction:
        if weights is not None:  # a weighted checklist (SPEC §10.4)
            return sum((w for n, w in zip(names, weights, strict=True) if n not in have), ZERO)
        return Fraction(sum(1 for n in names if n not in have))

    @staticmethod
    def lookup(value: str, table: Mapping[str, Fraction], default: Fraction) -> Fraction:
        return table.get(value, default)


def _score_rule(ctx: _Ctx, item: Item) -> _Scored:
    """Exact points before clamping, and a thunk giving the reason; raises _Missing/_NotApplicable."""
    kind = KINDS[item.kind]
    rule = item.rule
    raw = ctx.ops.manual(item.id) if item.kind == "manual" else kind.raw(ctx.ops, item.max, rule)
    # In a deduction or penalty category every item yields its deduction (SPEC §10.1);
    # in a base or bonus one, a kind worded as a deduction keeps max − deduction.
    pts = item.max - raw if kind.natural == "deduction" and not ctx.penalty else raw
    return pts, lambda: kind.why(ctx, item.max, item.floor, rule, raw)


def _as_of(ctx: _Ctx, why: Why) -> Why:
    """A reason built later, worded as of now (in this item's category, 得 or 扣)."""
    penalty = ctx.penalty

    def run() -> str:
        saved = ctx.penalty
        ctx.penalty = penalty
        try:
            return why()
        finally:
            ctx.penalty = saved

    return run


def _when_missing(ctx: _Ctx, item: Item, names: Sequence[str]) -> tuple[Fraction, str]:
    """An item's points and reason when its evidence is missing (SPEC §10.2).

    ``worst`` (the default): a base item scores its floor, a deduction deducts its max
    (未报送视为未开展); ``none``: 0 either way. (``reject`` items never get here with
    missing fields: the unit is rejected when read; what is left — a derived value
    that cannot be computed — counts as ``worst``.)
    """
    what = f"缺{'、'.join(ctx.title(n) for n in names)}" if names else "无评审打分"
    worst = item.on_missing != "none"
    if ctx.penalty:
        if worst:
            return item.max, f"无资料（{what}），按未开展扣{ctx.pts(item.max)}分"
        return ZERO, f"无资料（{what}），未扣分"
    if worst:
        return round_half_up(
            min(ZERO, item.floor), 2
        ), f"无资料（{what}），不得分" if names else "无评审打分，不得分"
    return ZERO, f"无资料（{what}），记0分"


def na_awards(rb: Rulebook, cat: Category, item: Item) -> bool:
    """Whether a not-applicable item is awarded its max (SPEC §10.4: item, else category, else rulebook)."""
    return (item.not_applicable or cat.not_applicable or rb.not_applicable) == "award"


def _unmet(ctx: _Ctx, item: Item) -> tuple[Fraction, str] | None:
    """An unmet precondition (``requires``, SPEC §10.4): the points as under ``worst``, and the reason.

    Missing evidence, a value not applicable or a division by zero count as false.
    """
    e = item.requires
    if e is None:
        return None
    try:
        if bool(e.evaluate(ctx.env)):
            return None
    except (MissingValue, NotApplicableValue, DivisionByZero):
        pass
    if ctx.penalty:
        return item.max, f"未满足前提（{expr_text(ctx, e)}），按未开展扣{ctx.pts(item.max)}分"
    return round_half_up(min(ZERO, item.floor), 2), f"未满足前提（{expr_text(ctx, e)}），不得分"


def _score_item(
    ctx: _Ctx, item: Item, cat: Category, cat_ok: bool, cat_why: str
) -> tuple[ItemResult, bool, str]:
    """Returns the item result, whether it vetoes the unit, and the veto effect."""
    award = na_awards(ctx.rb, cat, item)

    def inputs() -> tuple[tuple[str, str], ...]:
        return ctx.inputs(item.fields_used())

    places = ctx.places

    def mk(points: Fraction, status: str, why: str | Why) -> ItemResult:
        if places != 2:  # an awarded or deducted max finer than the precision rounds too
            points = round_points(points, places)
        if ctx.ev.surveyed and status != "not_applicable":
            why = _surveyed(ctx, item, why)
        return _result(item, points, status, why, inputs)

    def na(why: str) -> ItemResult:
        pts = item.max if award and cat.type == "base" else ZERO
        return mk(pts, "not_applicable", f"不适用（{why}）")

    if not cat_ok:
        return na(cat_why), False, ""
    if item.id in ctx.waived:
        return na(ctx.waived[item.id]), False, ""
    if item.applies_when is not None:
        ok, text = ctx.holds(item.applies_when)
        if not ok:
            return na(f"{text} 不成立"), False, ""
    if isinstance(item.rule, VetoRule):
        try:
            hit = bool(KINDS["veto"].raw(ctx.ops, ZERO, item.rule))
        except _Missing as exc:
            names = "、".join(ctx.title(n) for n in exc.names)
            return mk(ZERO, "missing", f"无资料（缺{names}），无法判断是否否决"), False, ""
        except _NotApplicable as exc:
            return na(exc.why), False, ""
        veto_why = KINDS["veto"].why(ctx, ZERO, ZERO, item.rule, Fraction(hit))
        if hit:
            return mk(ZERO, "veto", veto_why), True, item.rule.effect
        return mk(ZERO, "scored", veto_why), False, ""
    unmet = _unmet(ctx, item)
    if unmet is not None:
        return mk(unmet[0], "scored", unmet[1]), False, ""
    try:
        raw, why = _score_rule(ctx, item)
        why = _as_of(ctx, why)
    except _Missing as exc:
        pts, missing_why = _when_missing(ctx, item, exc.names)
        return mk(pts, "missing", missing_why), False, ""
    except _NotApplicable as exc:
        return na(exc.why), False, ""
    bounds = item.bounds_h
    if bounds is None:  # a max or floor finer than 0.01: clamp exactly, then round
        return mk(round_points(_clamp(raw, item.floor, item.max), places), "scored", why), False, ""
    # Rounding is monotonic, so rounding the clamped value is clamping the rounded value
    # to the rounded bounds: integers only (a max of 2.5 at precision 1 gives at most 3).
    lo, hi = round_h(bounds[0], places), round_h(bounds[1], places)
    h = points_h(raw, places)
    pts = Fraction(hi if h >= hi else lo if h <= lo else h, 100)
    return mk(pts, "scored", why), False, ""


def _surveyed(ctx: _Ctx, item: Item, why: str | Why) -> str | Why:
    """A reason that names the questionnaires behind the item's fields: ``问卷42份，…`` (SPEC §10.9)."""
    notes = [
        ctx.ev.surveyed[n] for n in ctx.rb.inputs_of(item.fields_used()) if n in ctx.ev.surveyed
    ]
    if not notes:
        return why
    head = "，".join(dict.fromkeys(notes))
    if isinstance(why, str):
        return f"{head}，{why}"
    return lambda: f"{head}，{why()}"


# --------------------------------------------------------------- categories


def _sum_points(points: Iterable[Fraction]) -> Fraction:
    """Exact sum of item points; item points are multiples of 0.01, so add hundredths as ints."""
    total = 0
    slow: list[Fraction] = []
    for p in points:
        d = p.denominator
        if 100 % d == 0:
            total += p.numerator * (100 // d)
        else:  # e.g. an awarded max of 0.125
            slow.append(p)
    out = Fraction(total, 100)
    return out + sum(slow, ZERO) if slow else out


def _group(
    rb: Rulebook, cat: Category, g: Group, specs: Sequence[Item], items: Sequence[ItemResult]
) -> GroupResult:
    """A group's subtotal (SPEC §10.3, §10.10), from its items' results."""

    def result(score: Fraction, applicable: bool = True) -> GroupResult:
        return GroupResult(
            id=g.id,
            title=g.title,
            max=g.max,
            score=rb.round(score),  # rounded to the precision, as item points are
            applicable=applicable,
            capped=g.capped,
            places=rb.places,
        )

    if cat.type != "base":  # never rescaled; in a deduction or penalty category: its deduction
        pts = [i.points for i in items if i.status != "not_applicable"]
        if not pts:
            return result(ZERO, False)
        return result(_clamp(_sum_points(pts), g.floor, g.max))
    e, small_a, big_a, n_app = _applicable_sum(
        [
            (spec.max, res.points, res.status != "not_applicable" or na_awards(rb, cat, spec))
            for spec, res in zip(specs, items, strict=True)
        ]
    )
    if n_app == len(items):
        return result(_clamp(e, g.floor, g.max))
    if small_a == 0:
        return result(ZERO, bool(n_app) and big_a == 0)
    return result(_clamp(e * big_a / small_a, g.floor, g.max))


def _applicable_sum(
    parts: Sequence[tuple[Fraction, Fraction, bool]],
) -> tuple[Fraction, Fraction, Fraction, int]:
    """Over (max, points, applicable) parts: (e, a, A, how many apply) of SPEC §4.4."""
    app = [(mx, p) for mx, p, ok in parts if ok]
    e = _sum_points(p for _, p in app)
    small_a = sum((mx for mx, _ in app), ZERO)
    big_a = sum((mx for mx, _, _ in parts), ZERO)
    return e, small_a, big_a, len(app)


def _category(rb: Rulebook, cat: Category, items: Sequence[ItemResult]) -> CategoryResult:
    groups: list[GroupResult] = []
    # (max, points, applicable) of each direct item and each group, as the category adds them
    parts: list[tuple[Fraction, Fraction, bool]] = []
    for g, idx in cat.parts:
        if g is None:
            spec, res = cat.items[idx[0]], items[idx[0]]
            ok = res.status != "not_applicable" or (cat.type == "base" and na_awards(rb, cat, spec))
            parts.append((spec.max, res.points, ok))
        else:
            gr = _group(rb, cat, g, [cat.items[k] for k in idx], [items[k] for k in idx])
            groups.append(gr)
            parts.append((gr.max, gr.score, gr.applicable))
    by_id = {g.id: g for g in groups}
    ordered = tuple(by_id[g.id] for g in cat.groups)

    def result(score: Fraction, applicable: bool = True) -> CategoryResult:
        return CategoryResult(
            id=cat.id,
            title=cat.title,
            type=cat.type,
            max=cat.max,
            score=score,
            applicable=applicable,
            places=rb.places,
            groups=ordered,
        )

    if cat.type != "base":
        pts = [p for _, p, ok in parts if ok]
        if not pts:
            return result(ZERO, False)
        if cat.type == "deduction":  # 基本分 less what its items deduct, 扣完为止 at the floor
            return result(_clamp(cat.max - _sum_points(pts), cat.floor, cat.max))
        return result(_clamp(_sum_points(pts), cat.floor, cat.max))
    # An awarded not-applicable item counts as applicable with its max (SPEC §10.4); the rest
    # rescale; a group counts at its max, and one with nothing applicable drops out (§10.3).
    e, small_a, big_a, n_app = _applicable_sum(parts)
    if n_app == len(parts):
        return result(_clamp(e, cat.floor, cat.max))
    if small_a == 0:
        # Nothing applicable carries points: the category drops out of the total
        # (a lone veto item that applies keeps it "applicable" only if it has no max at all).
        return result(ZERO, bool(n_app) and big_a == 0)
    return result(_clamp(e * big_a / small_a, cat.floor, cat.max))


def group_reason(ctype: str, g: GroupResult, items: Sequence[ItemResult]) -> str:
    """Why a group's subtotal is what it is, for explain and the record sheets (SPEC §10.3).

    ``items`` are the unit's results (only this group's are read). Numbers are at the
    rulebook's precision (``g.places``), as the subtotal is.
    """
    mine = [i for i in items if i.group == g.id]
    if not g.applicable:
        return "本组各项均不适用，不计入本类"
    added = _sum_points(i.points for i in mine if i.status != "not_applicable")
    if ctype in ("deduction", "penalty"):
        out = f"各项合计扣{reason_number(added)}分" if added else "各项均未扣分"
        if g.capped and added > g.max:
            out += f"，本组最高扣{reason_number(g.max, g.places)}分"
        return out
    out = f"各项合计{reason_number(added)}分"
    if g.score == added:
        return out
    if any(i.status == "not_applicable" for i in mine) and ctype == "base":
        return out + f"，按适用项折算为{reason_number(g.score)}分"
    if added > g.max:
        return out + f"，本组最高{reason_number(g.max, g.places)}分"
    return out + f"，本组最低{reason_number(g.score)}分"


def _not_applicable_category(rb: Rulebook, cat: Category) -> CategoryResult:
    """A category whose ``applies_when`` is false (and awards nothing): it drops out."""
    return CategoryResult(
        id=cat.id,
        title=cat.title,
        type=cat.type,
        max=cat.max,
        score=ZERO,
        applicable=False,
        places=rb.places,
        groups=tuple(
            GroupResult(
                id=g.id,
                title=g.title,
                max=g.max,
                score=ZERO,
                applicable=False,
                capped=g.capped,
                places=rb.places,
            )
            for g in cat.groups
        ),
    )


def total_with(rb: Rulebook, cats: Sequence[CategoryResult]) -> Fraction:
    """The exact total (§4.3) of category results, before any veto."""
    base_num = ZERO
    base_den = ZERO
    extra = ZERO
    weighted = any(c.weight is not None for c in rb.categories if c.base_like)
    for spec, c in zip(rb.categories, cats, strict=True):
        if spec.base_like:
            if not c.applicable or c.max == 0:
                continue
            if weighted:
                w = spec.weight or ZERO
                base_num += w * c.score / c.max
                base_den += w
            else:
                base_num += c.score
                base_den += c.max
        elif c.type == "bonus":
            extra += c.score
        else:
            extra -= c.score
    base = rb.scale * base_num / base_den if base_den else ZERO
    total = base + extra
    return total if total > 0 else ZERO


def _grade(rb: Rulebook, rounded_total: Fraction, vetoed: bool) -> str | None:
    if not rb.grades:
        return None
    if vetoed:
        return rb.grades[-1].name
    for g in rb.grades:
        if g.min <= rounded_total:
            return g.name
    return None


# -------------------------------------------------------------------- entry


def score(rb: Rulebook, ev: Evidence, waived: Mapping[str, str] | None = None) -> UnitResult:
    """Score one assessment of one unit.

    Args:
        rb: a validated rulebook.
        ev: that unit's evidence (values already in field units).
        waived: items excused for this unit (item id -> the waiver's note); they become
            not applicable, and the result also carries the total without them.

    Returns:
        The unit's :class:`UnitResult`; exact totals, rounded item points, reasons.
    """
    ctx = _Ctx(rb, ev)
    if waived:
        ctx.waived = waived
    flags = list(ev.flags)
    for check in rb.consistency:
        try:
            ok = check.when.evaluate(ctx.env)
        except (MissingValue, NotApplicableValue, DivisionByZero):
            continue
        if not ok:
            flags.append(consistency_flag(check))
    items: list[ItemResult] = []
    cats: list[CategoryResult] = []
    vetoed = False
    effect = ""
    late: list[_Late] = []  # vetoes on total or score("cat"), judged once the categories are scored
    for cat in rb.categories:
        ok, text = ctx.holds(cat.applies_when)
        why = f"{text} 不成立" if not ok else ""
        cat_items: list[ItemResult] = []
        ctx.penalty = cat.deducts
        for item in cat.items:
            if isinstance(item.rule, VetoRule) and item.rule.late:
                late.append(
                    _Late(pos=len(items) + len(cat_items), ci=len(cats), item=item, ok=ok, why=why)
                )
                cat_items.append(_pending(item))
                continue
            res, hit, eff = _score_item(ctx, item, cat, ok, why)
            if hit and (not vetoed or eff == "zero"):
                vetoed, effect = True, eff
            cat_items.append(res)
        if not ok and not any(na_awards(rb, cat, item) for item in cat.items):
            cats.append(_not_applicable_category(rb, cat))
        else:
            cats.append(_category(rb, cat, cat_items))
        items.extend(cat_items)
    total = total_with(rb, cats)
    if late:
        hit, eff = _late_vetoes(ctx, late, items, cats, total)
        if hit and (not vetoed or eff == "zero"):
            vetoed, effect = True, eff
        total = total_with(rb, cats)
    if vetoed and effect == "zero":
        total = ZERO
    grade = _grade(rb, rb.round(total), vetoed)
    used = tuple(
        i for i in (waived or {}) if any(r.id == i and r.status == "not_applicable" for r in items)
    )
    return UnitResult(
        unit=ev.unit,
        role=ev.role,
        total=total,
        categories=tuple(cats),
        items=tuple(items),
        grade=grade,
        vetoed=vetoed,
        veto_effect=effect,
        flags=tuple(flags),
        source=ev.source,
        assessor=ev.assessment.assessor,
        waived=used,
        total_without_waivers=score(rb, ev).total if used else None,
        places=rb.places,
    )


@attrs.frozen(kw_only=True)
class _Late:
    """A veto on ``total`` or ``score("cat")`` (SPEC §10.4), waiting for the categories."""

    pos: int  # its place among the unit's item results
    ci: int  # its category's index
    item: Item
    ok: bool  # its category applies
    why: str  # why not, if not


def _result(
    item: Item,
    points: Fraction,
    status: str,
    why: str | Why,
    used: Callable[[], tuple[tuple[str, str], ...]] | tuple[()] = (),
) -> ItemResult:
    """An item's result row: the item's own columns, and what it scored."""
    return ItemResult(
        id=item.id,
        title=item.title,
        kind=item.kind,
        max=item.max,
        method=item.method,
        used=used,
        points=points,
        status=status,
        why=why,
        capped=item.capped,
        group=item.group,
    )


def _pending(item: Item) -> ItemResult:
    """A late veto's place-holder while the categories are scored: it counts as a scored item of 0."""
    return _result(item, ZERO, "scored", "")


def _late_vetoes(
    ctx: _Ctx,
    late: Sequence[_Late],
    items: list[ItemResult],
    cats: list[CategoryResult],
    total: Fraction,
) -> tuple[bool, str]:
    """Judge the vetoes on ``total`` and ``score("cat")``, in place; returns (hit, effect).

    ``total`` is the unit's rounded total before vetoes, ``score("cat")`` a category's
    rounded score (not applicable for a category that does not apply). A category
    holding such a veto is scored again with its final status (a veto never carries points,
    so only whether the category applies can change).
    """
    rb = ctx.rb
    ctx.env[TOTAL] = rb.round(total)
    by_id = {c.id: c for c in cats}
    for name, cid in _score_names(rb):
        c = by_id[cid]
        ctx.env[name] = c.rounded if c.applicable else Absent("not_applicable", f"{c.title}不适用")
    vetoed, effect = False, ""
    for lv in late:
        cat = rb.categories[lv.ci]
        ctx.penalty = cat.deducts
        res, hit, eff = _score_item(ctx, lv.item, cat, lv.ok, lv.why)
        items[lv.pos] = res
        if hit and (not vetoed or eff == "zero"):
            vetoed, effect = True, eff
    starts = [0]
    for spec in rb.categories:
        starts.append(starts[-1] + len(spec.items))
    for ci in sorted({lv.ci for lv in late}):
        spec = rb.categories[ci]
        ok = next(lv.ok for lv in late if lv.ci == ci)
        if ok or any(na_awards(rb, spec, item) for item in spec.items):
            cats[ci] = _category(rb, spec, items[starts[ci] : starts[ci + 1]])
    return vetoed, effect


def _score_names(rb: Rulebook) -> list[tuple[str, str]]:
    """Every ``score("cat")`` name the rulebook's vetoes read: (name, category id)."""
    out: dict[str, str] = {}
    for item in rb.items():
        if isinstance(item.rule, VetoRule):
            out.update(item.rule.scores)
    return list(out.items())


def score_all(rb: Rulebook, evidence: Iterable[Evidence]) -> list[UnitResult]:
    """Score many units (in input order)."""
    return [score(rb, ev) for ev in evidence]


def gains(rb: Rulebook, result: UnitResult) -> list[tuple[ItemResult, Fraction]]:
    """For each item not at full marks, the points the total would gain if it were full.

    Caps and rescaling are included: an item in a capped category may gain less
    than its missing points. For a penalty item, "full" means nothing deducted.
    Not-applicable and veto items are left out.
    Largest gain first; equal gains by item order.

    Returns:
        ``[(item result, exact gain)]``.
    """
    out: list[tuple[int, ItemResult, Fraction]] = []
    if result.vetoed and result.veto_effect == "zero":
        return []
    base_total = result.total
    pos = 0
    for ci, cat in enumerate(rb.categories):
        cat_res = [r for r in result.items if r.id.startswith(cat.id + ".")]
        for ii, spec in enumerate(cat.items):
            r = cat_res[ii]
            pos += 1
            # "Full" is the best an item can do: its max, or no deduction at all in a
            # penalty category (whose points are subtracted).
            best = ZERO if cat.deducts else spec.max if rb.places == 2 else rb.round(spec.max)
            if r.status in ("not_applicable", "veto") or spec.kind == "veto" or r.points == best:
                continue
            if not result.categories[ci].applicable and cat.base_like:
                continue
            better = list(cat_res)
            better[ii] = attrs.evolve(r, points=best, status="scored")
            new_cat = _category(rb, cat, better)
            cats = list(result.categories)
            cats[ci] = new_cat
            g = total_with(rb, cats) - base_total
            if g > 0:
                out.append((pos, r, g))
    out.sort(key=lambda t: (-t[2], t[0]))
    return [(r, g) for _, r, g in out]
