"""Hypothesis strategies for rulebooks and evidence, for property-testing schemes.

Needs the optional ``testing`` extra (``pip install 'fulian_eval[testing]'``).

Rulebooks are generated as TOML *text* and loaded with the real validator
(:func:`~fulian_eval.io.load.parse_rulebook`), so every generated
:class:`~fulian_eval.model.rulebook.Rulebook` is one a town office could have written,
and the text is there too (:func:`rulebook_texts`). Evidence is generated as the
raw table a clerk would type (:func:`evidence_data`: ``"10余"``,
``"0.012 hectare"``, ``"是"``) and read with
:func:`~fulian_eval.io.evidence.parse_evidence` (:func:`evidence`).

>>> from hypothesis import given
>>> from fulian_eval import score
>>> from fulian_eval.testing import rulebook_and_evidence
>>> @given(rulebook_and_evidence())
... def test_total_is_never_negative(pair):
...     rb, ev = pair
...     assert score(rb, ev).total >= 0
>>> test_total_is_never_negative()
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
from hypothesis import strategies as st

from .io.evidence import parse_evidence
from .io.load import RULEBOOK_SCHEMA, parse_rulebook
from .kinds import (
    DeductRule,
    LinearRule,
    ManualRule,
    ShortfallRule,
    SurplusRule,
    ThresholdRule,
    TiersRule,
)
from .lang.expr import round_half_up
from .model.rulebook import Evidence, FieldSpec, Rulebook

__all__ = [
    "DOCUMENTS",
    "KINDS",
    "evidence",
    "evidence_data",
    "evidence_lists",
    "rulebook_and_evidence",
    "rulebook_texts",
    "rulebooks",
    "spell",
]

KINDS: tuple[str, ...] = (
    "check",
    "threshold",
    "tiers",
    "linear",
    "count",
    "deduct",
    "shortfall",
    "surplus",
    "expr",
    "manual",
    "veto",
    "choice",
)
"""Every item kind of SPEC §2.1, in the order of its table, and ``choice`` (SPEC §10.4)."""

DOCUMENTS: tuple[str, ...] = (
    "工作活动记录簿",
    "妇女培训登记簿",
    "各类表彰登记簿",
    "群众来信来访登记簿",
    "重点帮扶对象登记簿",
    "执委花名册",
    "妇女骨干花名册",
    "会议记录",
    "有牌子",
    "有场所",
    "有制度",
    "有人员",
)
"""Names that generated ``required`` lists and set-valued evidence are drawn from."""

# Items of a bonus category add points, of a penalty category take points away:
# only kinds where "more points" reads naturally as 加分 / 扣分 are used there.
_BONUS_KINDS = ("check", "threshold", "tiers", "count", "surplus", "manual", "expr", "choice")
_PENALTY_KINDS = ("check", "threshold", "count", "manual", "expr", "choice")
# A deduction category (基本分 minus deductions, SPEC §10.1) takes any kind worded as 扣X分.
_DEDUCTION_KINDS = (
    "check",
    "threshold",
    "tiers",
    "count",
    "deduct",
    "shortfall",
    "expr",
    "manual",
    "choice",
    "veto",
)
#: A choice field's options (SPEC §10.6), the last one the worst, and aliases of some.
_OPTIONS = ("健全", "欠规范", "不健全", "无")
_ALIASES = {"没有": "无", "不规范": "欠规范"}
_FLOOR_KINDS = ("deduct", "shortfall", "expr", "manual")  # kinds that can go below 0 (该项可负分)

_UNITS: dict[str, tuple[str, ...]] = {
    "count": ("人", "户", "次", "件", "册", ""),
    "number": ("%", "", "元"),
    "quantity": ("m^2", "元", "万元"),
}
_STEM = {
    "人": "people",
    "户": "households",
    "次": "times",
    "件": "cases",
    "册": "books",
    "%": "rate",
    "元": "funds",
    "万元": "grants",
    "m^2": "area",
    "": "n",
}
_TYPE_STEM = {"bool": "flag", "set": "docs", "text": "remark", "choice": "ledger"}
_TITLES = {
    "people": "人数",
    "households": "户数",
    "times": "次数",
    "cases": "件数",
    "books": "册数",
    "rate": "比率",
    "funds": "经费",
    "grants": "专项资金",
    "area": "面积",
    "n": "数量",
    "flag": "是否达标",
    "docs": "已建台帐",
    "remark": "备注",
    "ledger": "台账情况",
}

_CATEGORY_IDS = ("archives", "facilities", "floating", "family", "rights", "organization")
_CATEGORY_TITLES = ("档案台帐", "硬件设施", "流动人口", "家庭与妇儿维权", "维权服务", "组织建设")
_ITEM_TITLES = {
    "check": "妇女之家挂牌",
    "threshold": "活动室面积达标",
    "tiers": "满意度分档计分",
    "linear": "信息采集率折算",
    "count": "开展活动",
    "deduct": "五簿齐全",
    "shortfall": "每低1个百分点扣分",
    "surplus": "每超1%加分",
    "expr": "按公式计分",
    "manual": "评审打分",
    "veto": "弄虚作假一票否决",
    "choice": "台账健全",
}
_METHODS = ("查资料", "看现场", "实测", "听汇报", "问卷")
_GRADES = (("优秀", 90), ("良好", 80), ("合格", 70), ("基本合格", 60), ("不合格", 0))

_Draw = st.DrawFn


def _rarely(draw: _Draw, n: int) -> bool:
    """True about once in ``n + 1`` draws. The rare case is the larger choice, so that
    hypothesis, which starts from and shrinks towards the simplest choices, reaches
    the plain case first and reports failures without needless extras."""
    return draw(st.integers(0, n)) == n


# ------------------------------------------------------------------ numbers


def _dec(x: Fraction) -> str:
    """A Fraction with a finite decimal expansion written out exactly ("0.012")."""
    for places in range(16):
        scaled = x * 10**places
        if scaled.denominator == 1:
            s = str(abs(scaled.numerator)).rjust(places + 1, "0")
            body = s if places == 0 else f"{s[:-places]}.{s[-places:]}"
            return ("-" if x < 0 else "") + body
    raise ValueError(f"{x} has no short decimal form")


def _plain(x: Fraction) -> int | Decimal:
    """As TOML would give it: an int, or an exact Decimal."""
    return x.numerator if x.denominator == 1 else Decimal(_dec(x))


# Alternative spellings of a value given in a field's unit: (unit written, factor).
# "120 m^2" == "0.012 hectare", "8500 元" == "0.85 万元".
_ALTERNATIVES: dict[str, tuple[tuple[str, Fraction], ...]] = {
    "m^2": (
        ("hectare", Fraction(1, 10000)),
        ("平方米", Fraction(1)),
        ("m²", Fraction(1)),
        ("km**2", Fraction(1, 10**6)),
    ),
    "元": (("万元", Fraction(1, 10000)), ("亿元", Fraction(1, 10**8))),
    "万元": (("元", Fraction(10000)),),
    "人": (("位", Fraction(1)), ("person", Fraction(1))),
    "%": (("％", Fraction(1)),),
}


def spell(value: Fraction, unit: str, style: int = 0) -> str:
    """Write ``value`` (in ``unit``) as a string a clerk might type.

    Style 0 is the field's own unit (``"120 m^2"``); styles 1, 2, … are the
    alternative units of ``unit`` (``"0.012 hectare"``, ``"120 平方米"``),
    wrapping around. A unit-less field gives the bare number as text.

    >>> spell(Fraction(120), "m^2", 1)
    '0.012 hectare'
    >>> spell(Fraction(8500), "元", 1)
    '0.85 万元'
    """
    if not unit:
        return _dec(value)
    choices = ((unit, Fraction(1)), *_ALTERNATIVES.get(unit, ()))
    written, factor = choices[style % len(choices)]
    return f"{_dec(value * factor)} {written}"


def _grid(kind: str, unit: str) -> st.SearchStrategy[Fraction]:
    """Round rulebook numbers (bounds, targets) in a field's unit."""
    if kind == "count":
        return st.integers(0, 40).map(Fraction)
    if unit == "元":
        return st.integers(0, 400).map(lambda k: Fraction(50 * k))
    if unit == "万元":
        return st.integers(0, 500).map(lambda k: Fraction(k, 100))
    if unit == "m^2":
        return st.integers(0, 800).map(lambda k: Fraction(k, 2))
    return st.integers(0, 200).map(lambda k: Fraction(k, 2))  # %, plain numbers


def _steps(kind: str, unit: str) -> tuple[Fraction, ...]:
    if kind == "count":
        return (Fraction(1), Fraction(2), Fraction(5))
    return {
        "元": (Fraction(100), Fraction(500), Fraction(1000)),
        "万元": (Fraction(1, 10), Fraction(1, 20), Fraction(1, 2)),
        "m^2": (Fraction(1), Fraction(10), Fraction(1, 2)),
    }.get(unit, (Fraction(1), Fraction(1, 2), Fraction(5)))


def _measured(kind: str, unit: str) -> st.SearchStrategy[Fraction]:
    """Evidence values in a field's unit, finer than the rulebook grid."""
    if kind == "count":
        return st.integers(0, 60).map(Fraction)
    if unit == "万元":
        return st.integers(0, 50000).map(lambda k: Fraction(k, 10000))
    if unit == "元":
        return st.integers(0, 2_000_000).map(lambda k: Fraction(k, 100))
    if unit == "m^2":
        return st.integers(0, 50_000).map(lambda k: Fraction(k, 100))
    return st.integers(0, 1200).map(lambda k: Fraction(k, 10))


# Mostly the half points of real rubrics, sometimes 0.05s. With ``thousandths``
# also maxes and floors such as 0.125 that the loader accepts but that item points,
# kept to 0.01 (SPEC §4.1), cannot reach exactly.
_MAXES = st.one_of(
    st.integers(1, 20).map(lambda k: Fraction(k, 2)),
    st.integers(1, 200).map(lambda k: Fraction(k, 20)),
)
_FINE_MAXES = st.one_of(_MAXES, st.integers(1, 80).map(lambda k: Fraction(k, 8)))
_EACH = st.sampled_from(
    (
        Fraction(1, 4),
        Fraction(1, 2),
        Fraction(1),
        Fraction(2),
        Fraction(3, 2),
        Fraction(1, 10),
        Fraction(3, 10),
        Fraction(1, 8),
    )
)
_FLOORS = st.sampled_from(
    (Fraction(-1, 2), Fraction(-1), Fraction(-2), Fraction(-5), Fraction(-3, 10))
)
_FINE_FLOORS = st.one_of(_FLOORS, st.just(Fraction(-1, 8)))


# --------------------------------------------------------------------- TOML


@attrs.frozen
class _Lit:
    """A TOML literal written out already."""

    text: str


def _toml_str(s: str) -> str:
    # JSON string escapes are TOML basic-string escapes; TOML also forbids a raw DEL.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_str(k)


def _toml(v: Any) -> str:
    if isinstance(v, _Lit):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Fraction):
        return _dec(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {v!r} as TOML")  # pragma: no cover


def _table(header: str, body: Mapping[str, Any], indent: str = "") -> str:
    lines = [indent + header] + [f"{indent}{_key(k)} = {_toml(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------- rulebooks


@attrs.frozen(kw_only=True)
class _Options:
    max_base: int
    max_items: int
    kinds: tuple[str, ...]
    weights: bool | None
    not_applicable: str | None
    bonus: bool
    penalty: bool
    derived: bool
    applies_when: bool
    floors: bool
    grades: bool | None
    exclusive_fields: bool
    thousandths: bool
    precision: Fraction | None = None  # None: drawn (often left out, i.e. 0.01)
    groups: bool = True
    v2: bool = False


#: ``precision`` values the generators draw (SPEC §10.5); None leaves the key out (0.01).
_PRECISIONS: tuple[Fraction | None, ...] = (
    None,
    None,
    Fraction(1, 100),
    Fraction(1, 10),
    Fraction(1),
)


class _Book:
    """The scheme being drawn: fields are declared as items come to need them."""

    def __init__(self, draw: _Draw, opts: _Options) -> None:
        self.draw = draw
        self.opts = opts
        self.fields: dict[str, dict[str, Any]] = {}
        self.derived: dict[str, dict[str, Any]] = {}
        self.numeric: dict[str, tuple[str, str]] = {}  # name -> (grid kind, unit)
        self.n = 0
        self.precision = Fraction(1, 100)  # the rulebook's, once drawn: manual steps follow it

    # -- names -------------------------------------------------------------
    def _pick(self, have: Sequence[str]) -> str | None:
        if self.opts.exclusive_fields or not have or not self.draw(st.booleans()):
            return None
        return self.draw(st.sampled_from(have))

    def new_field(self, ftype: str, unit: str | None = None) -> str:
        if unit is None:
            unit = self.draw(st.sampled_from(_UNITS[ftype])) if ftype in _UNITS else ""
        stem = _TYPE_STEM.get(ftype) or _STEM[unit]
        name = f"{stem}_{self.n}"
        self.n += 1
        spec: dict[str, Any] = {"type": ftype}
        if unit:
            spec["unit"] = unit
        if ftype == "choice":
            spec["options"] = list(_OPTIONS)
            if self.draw(st.booleans()):
                spec["aliases"] = dict(_ALIASES)
        if self.draw(st.booleans()):
            spec["title"] = f"{_TITLES[stem]}{self.n}"
        self.fields[name] = spec
        if ftype in _UNITS:
            self.numeric[name] = (ftype, unit)
        return name

    def field(self, types: Sequence[str]) -> str:
        """A field of one of ``types``: one already declared, or a new one."""
        got = self._pick([n for n, s in self.fields.items() if s["type"] in types])
        return got or self.new_field(self.draw(st.sampled_from(list(types))))

    def number(self, *, derived_ok: bool = True) -> str:
        """A numeric field, or sometimes a derived value."""
        if derived_ok and self.opts.derived and _rarely(self.draw, 3):
            got = self._pick(list(self.derived))
            return got or self.new_derived()
        return self.field(("count", "number", "quantity"))

    def new_derived(self) -> str:
        name = f"derived_{self.n}"
        self.n += 1
        forms = ["ratio", "sum", "difference"]
        if self.derived and not self.opts.exclusive_fields:
            forms.append("chain")  # a derived value read by a later one
        form = self.draw(st.sampled_from(forms))
        spec: dict[str, Any]
        if form == "chain":
            prev = self.draw(st.sampled_from(sorted(self.derived)))
            spec = {"expr": f"{prev} * 2"}
            unit = self.numeric[prev][1]
            if unit:
                spec["unit"] = unit
            self.numeric[name] = self.numeric[prev]
            self.derived[name] = spec
            return name
        a = self.field(("count",))
        b = self.field(("count",))
        if form == "ratio":
            spec = {"expr": f"{a} / {b} * 100", "unit": "%"}
            self.numeric[name] = ("number", "%")
        elif form == "sum":
            spec = {"expr": f"{a} + {b}"}
            self.numeric[name] = ("count", "")
        else:
            spec = {"expr": f"max({a} - {b}, 0)"}
            self.numeric[name] = ("count", "")
        on_zero = self.draw(st.sampled_from((None, "not_applicable", "missing", "zero")))
        if on_zero is not None:
            spec["on_zero"] = on_zero
        self.derived[name] = spec
        return name

    # -- values ------------------------------------------------------------
    def value(self, name: str) -> Fraction:
        kind, unit = self.numeric[name]
        return self.draw(_grid(kind, unit))

    def bound(self, name: str, v: Fraction) -> Any:
        """``v`` (in the unit of ``name``) as a rulebook would write it: a number or a string with a unit."""
        _, unit = self.numeric[name]
        if name in self.fields and unit and self.draw(st.booleans()):
            return spell(v, unit, self.draw(st.integers(0, 3)))
        if name in self.derived and unit == "%" and self.draw(st.booleans()):
            return f"{_dec(v)} %"
        return v

    # -- expressions ----------------------------------------------------------
    def condition(self, depth: int = 0) -> str:
        choice = self.draw(st.integers(0, 3 if depth == 0 else 2))
        if choice == 0:
            flag = self.field(("bool",))
            return f"not {flag}" if self.draw(st.booleans()) else flag
        if choice == 1:
            n = self.number()
            op = self.draw(st.sampled_from((">", ">=", "<", "<=", "==", "!=")))
            return f"{n} {op} {_dec(self.value(n))}"
        if choice == 2:
            s = self.field(("set",))
            if self.draw(st.booleans()):
                return f'has({s}, "{self.draw(st.sampled_from(DOCUMENTS))}")'
            return f"count({s}) >= {self.draw(st.integers(0, 5))}"
        joint = self.draw(st.sampled_from(("and", "or")))
        return f"({self.condition(depth + 1)}) {joint} ({self.condition(depth + 1)})"

    def points_expr(self, mx: Fraction) -> str:
        k = _dec(self.draw(_EACH))
        choice = self.draw(st.integers(0, 6))
        if choice == 3:
            return f"count({self.field(('set',))}) * {k}"
        a = self.number()
        if choice == 0:
            return f"{a} * {k}"
        b = self.number()
        if choice == 1:
            return f"min({a}, {b}) / {k}"
        if choice == 2:
            return f"{a} - {b}"
        if choice == 4:
            return f"{a} / {b} * {k}"  # b == 0 makes the item not applicable (§4.4)
        if choice == 5:
            return f"{_dec(mx)} - {a} * {k}"
        return f"round({a} / 3, 1) + floor({b} / 4)"

    # -- items ------------------------------------------------------------
    def item(self, kind: str, iid: str, deducting: bool = False) -> dict[str, Any]:
        d = self.draw
        t: dict[str, Any] = {"id": iid}
        if d(st.booleans()):
            t["title"] = _ITEM_TITLES[kind]
        t["kind"] = kind
        mx = d(_FINE_MAXES if self.opts.thousandths else _MAXES)
        if kind != "veto":
            t["max"] = mx
        t.update(self.rule(kind, mx))
        # An item of a penalty (or deduction) category deducts 0 or more: it has no floor (SPEC §10.1).
        if self.opts.floors and kind in _FLOOR_KINDS and not deducting and _rarely(d, 3):
            t["floor"] = d(_FINE_FLOORS if self.opts.thousandths else _FLOORS)
        if self.opts.applies_when and _rarely(d, 6):
            t["applies_when"] = self.condition()
        if self.opts.v2 and kind != "veto":
            if _rarely(d, 6):  # 且验收合格 (SPEC §10.4)
                t["requires"] = self.condition()
            if _rarely(d, 5):  # SPEC §10.2
                t["on_missing"] = d(st.sampled_from(("worst", "none")))
            if _rarely(d, 6):
                t["not_applicable"] = d(st.sampled_from(("rescale", "award")))
        if d(st.booleans()):
            t["method"] = d(st.sampled_from(_METHODS))
        return t

    def rule(self, kind: str, mx: Fraction) -> dict[str, Any]:
        d = self.draw
        if kind == "check":
            if d(st.booleans()):
                return {"field": self.field(("bool",))}
            return {"when": self.condition()}
        if kind == "veto":
            out: dict[str, Any] = {"when": self.condition()}
            effect = d(st.sampled_from((None, "fail", "zero")))
            if effect:
                out["effect"] = effect
            return out
        if kind == "expr":
            return {"points": self.points_expr(mx)}
        if kind == "manual":
            prec = self.precision  # a step the precision would round away is a rulebook error
            steps = (None, Fraction(1, 2), Fraction(1), Fraction(1, 4), Fraction(1, 10))
            step = d(
                st.sampled_from([x for x in steps if x is None or (x / prec).denominator == 1])
            )
            return {} if step is None else {"step": step}
        if kind == "deduct":
            return self.deduct()
        if kind == "choice":
            field = self.field(("choice",))
            listed = d(st.lists(st.sampled_from(_OPTIONS), min_size=1, max_size=4, unique=True))
            table = {o: round_half_up(mx * Fraction(d(st.integers(0, 4)), 4), 2) for o in listed}
            return {"field": field, "points": table}
        f = self.number()
        gkind, unit = self.numeric[f]
        if kind == "threshold":
            lo, hi = sorted((self.value(f), self.value(f)))
            which = d(st.sampled_from(("at_least", "at_most", "both")))
            out = {"field": f}
            if which != "at_most":
                out["at_least"] = self.bound(f, lo)
            if which != "at_least":
                out["at_most"] = self.bound(f, hi)
            return out
        if kind == "tiers":
            ats = sorted(d(st.sets(_grid(gkind, unit), min_size=1, max_size=3)), reverse=True)
            # Points fall as the bar falls, so that more never earns less.
            # (kept to 0.01, as the loader requires of points)
            pts = sorted(
                (round_half_up(mx * Fraction(d(st.integers(1, 20)), 20), 2) for _ in ats),
                reverse=True,
            )
            if d(st.booleans()):
                pts[0] = mx
            tiers = [
                {"at_least": self.bound(f, a), "points": p} for a, p in zip(ats, pts, strict=True)
            ]
            return {"field": f, "tiers": tiers}
        if kind == "linear":
            z, full = d(st.lists(_grid(gkind, unit), min_size=2, max_size=2, unique=True))
            return {"field": f, "zero_at": self.bound(f, z), "full_at": self.bound(f, full)}
        if kind == "count":
            return {"field": f, "each": d(_EACH)}
        # shortfall / surplus
        out = {
            "field": f,
            "target": self.bound(f, self.value(f)),
            "step": self.bound(f, d(st.sampled_from(_steps(gkind, unit)))),
            "each": d(_EACH),
        }
        partial = d(st.sampled_from((None, "exact", "whole", "any")))
        if partial:
            out["partial"] = partial
        if self.opts.v2 and _rarely(d, 4):  # 每上升1个百分点扣0.5分 (SPEC §10.4)
            out["direction"] = d(st.sampled_from(("below", "above")))
        return out

    def deduct(self) -> dict[str, Any]:
        d = self.draw
        out: dict[str, Any] = {}
        form = d(st.sampled_from(("set", "count", "faults")))
        if form == "set":
            out["field"] = self.field(("set",))
            req = d(st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=5, unique=True))
            if self.opts.v2 and _rarely(d, 3):  # a weighted checklist (SPEC §10.4): no each
                out["required"] = {n: d(_EACH) for n in req}
                return out
            out["required"] = req
        elif form == "count":
            out["field"] = self.field(("count",))
        else:
            names: list[str] = []
            for _ in range(d(st.integers(1, 3))):
                f = self.field(("count",))
                if f not in names:
                    names.append(f)
            out["faults"] = {n: d(_EACH) for n in names}
        if d(st.booleans()):
            out["each"] = d(_EACH)
        return out

    # -- categories --------------------------------------------------------
    def category(self, cid: str, title: str, ctype: str, kinds: Sequence[str]) -> dict[str, Any]:
        d = self.draw
        scoring = [k for k in kinds if k != "veto"]
        chosen = [d(st.sampled_from(scoring))]
        # 加分/扣分 lists are short; a long penalty list would wipe out most totals.
        longest = (
            self.opts.max_items if ctype in ("base", "deduction") else min(2, self.opts.max_items)
        )
        chosen += d(st.lists(st.sampled_from(list(kinds)), max_size=longest - 1))
        items = [
            self.item(k, f"{k}_{j}", ctype in ("penalty", "deduction"))
            for j, k in enumerate(chosen)
        ]
        c: dict[str, Any] = {"id": cid, "title": title}
        if ctype != "base" or d(st.booleans()):
            c["type"] = ctype
        groups: list[dict[str, Any]] = []
        if self.opts.groups and len(items) >= 2 and _rarely(d, 3):
            items, groups = self.groups(items, ctype)
        items_max = sum((i.get("max", Fraction(0)) for i in items), Fraction(0)) + sum(
            (g.get("max", _sum_max(g["items"])) for g in groups), Fraction(0)
        )
        if ctype == "deduction":  # 基本分: often below what its items can deduct (扣完为止)
            c["max"] = d(
                st.sampled_from((Fraction(100), Fraction(10), max(items_max, Fraction(1))))
            )
            if self.opts.floors and _rarely(d, 4):
                c["floor"] = d(st.sampled_from((Fraction(0), Fraction(-5))))
        elif _rarely(d, 2):  # a cap, usually below the items' sum
            caps = [Fraction(k, 2) for k in range(1, int(items_max * 2) + 1)] + [items_max]
            c["max"] = d(st.sampled_from(caps))
        if self.opts.floors and ctype == "base" and _rarely(d, 5):
            c["floor"] = d(_FLOORS)
        if self.opts.applies_when and _rarely(d, 7):
            c["applies_when"] = self.condition()
        if self.opts.v2 and _rarely(d, 5):
            c["on_missing"] = d(st.sampled_from(("worst", "none")))
        if self.opts.v2 and ctype == "base" and _rarely(d, 6):
            c["not_applicable"] = d(st.sampled_from(("rescale", "award")))
        c["items"] = items
        if groups:
            c["groups"] = groups
        return c

    def groups(
        self, items: list[dict[str, Any]], ctype: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Some of a category's items put into one or two groups (SPEC §10.3): (direct, groups)."""
        d = self.draw
        n = len(items)
        cut = d(st.integers(0, n - 1))  # items before it stay direct
        rest = items[cut:]
        split = d(st.integers(1, len(rest))) if len(rest) >= 2 and d(st.booleans()) else len(rest)
        groups = []
        for j, chunk in enumerate((rest[:split], rest[split:])):
            if not chunk:
                continue
            g: dict[str, Any] = {"id": f"g{j}"}
            if d(st.booleans()):
                g["title"] = f"第{j + 1}组"
            total = _sum_max(chunk)
            if total > 0 and _rarely(d, 2):  # a cap, usually below the items' sum
                caps = [Fraction(k, 2) for k in range(1, int(total * 2) + 1)] + [total]
                g["max"] = d(st.sampled_from(caps))
            if self.opts.floors and ctype == "base" and _rarely(d, 6):
                g["floor"] = d(_FLOORS)
            if _rarely(d, 6):
                g["on_missing"] = d(st.sampled_from(("none", "worst")))
            if self.opts.not_applicable is None and _rarely(d, 6):
                g["not_applicable"] = d(st.sampled_from(("rescale", "award")))
            g["items"] = chunk
            groups.append(g)
        return items[:cut], groups


def _sum_max(items: Sequence[Mapping[str, Any]]) -> Fraction:
    return sum((Fraction(i.get("max", Fraction(0))) for i in items), Fraction(0))


def _check_kinds(kinds: Collection[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown item kind(s) {unknown}; expected some of {', '.join(KINDS)}")
    out = tuple(k for k in KINDS if k in kinds)
    if not [k for k in out if k != "veto"]:
        raise ValueError("kinds needs at least one kind that scores points (not only 'veto')")
    return out


@st.composite
def _rulebook_text(draw: _Draw, opts: _Options) -> str:
    book = _Book(draw, opts)
    precision = opts.precision if opts.precision is not None else draw(st.sampled_from(_PRECISIONS))
    if precision is not None:
        book.precision = precision
    cats: list[dict[str, Any]] = []
    n_base = draw(st.integers(1, opts.max_base))
    for i in range(n_base):
        cats.append(book.category(_CATEGORY_IDS[i], _CATEGORY_TITLES[i], "base", opts.kinds))
    deducting = [k for k in opts.kinds if k in _DEDUCTION_KINDS]
    if opts.v2 and n_base < len(_CATEGORY_IDS) and deducting and _rarely(draw, 3):
        # 设基本分 …，按下列标准扣分，扣完为止 (SPEC §10.1): a base-like category
        i = n_base
        cats.append(book.category(_CATEGORY_IDS[i], _CATEGORY_TITLES[i], "deduction", deducting))
    for ctype, allowed, title in (
        ("bonus", _BONUS_KINDS, "加分项"),
        ("penalty", _PENALTY_KINDS, "扣分项"),
    ):
        kinds = [k for k in opts.kinds if k in allowed]
        if getattr(opts, ctype) and kinds and draw(st.booleans()):
            cats.append(book.category(ctype, title, ctype, kinds))
    weighted = draw(st.booleans()) if opts.weights is None else opts.weights
    if weighted:
        for c in cats:
            if c.get("type", "base") in ("base", "deduction"):
                c["weight"] = draw(
                    st.sampled_from(
                        (Fraction(1), Fraction(2), Fraction(3), Fraction(1, 4), Fraction(30))
                    )
                )

    top: dict[str, Any] = {}
    if draw(st.booleans()):
        top["schema"] = RULEBOOK_SCHEMA
    top["id"] = f"scheme-{draw(st.integers(0, 99))}"
    top["version"] = draw(st.sampled_from(("2026.1", "1", "2025.2")))
    top["title"] = "生成的考核细则"
    scale = draw(
        st.sampled_from(
            (Fraction(100), None, Fraction(100), Fraction(10), Fraction(100), Fraction(120))
        )
    )
    if scale is not None:
        top["scale"] = scale
    if precision is not None:
        top["precision"] = precision
    na = opts.not_applicable or draw(st.sampled_from((None, "rescale", "award")))
    if na:
        top["not_applicable"] = na
    if opts.v2 and _rarely(draw, 4):
        top["on_missing"] = draw(st.sampled_from(("worst", "none")))
    tie = draw(st.lists(st.sampled_from([c["id"] for c in cats]), max_size=2, unique=True))
    if tie:
        top["tie_break"] = tie

    consistency: list[dict[str, Any]] = []
    if _rarely(draw, 3):
        consistency.append({"when": book.condition(), "message": "数据前后不一致"})
    grades: list[dict[str, Any]] = []
    with_grades = draw(st.booleans()) if opts.grades is None else opts.grades
    if with_grades:
        picked = draw(st.lists(st.sampled_from(_GRADES), min_size=1, max_size=5, unique=True))
        grades = [{"name": name, "min": mn} for name, mn in picked]

    parts = [
        "# generated by fulian_eval.testing\n"
        + "\n".join(f"{_key(k)} = {_toml(v)}" for k, v in top.items())
        + "\n"
    ]
    parts += [_table(f"[fields.{name}]", spec) for name, spec in book.fields.items()]
    parts += [_table(f"[derived.{name}]", spec) for name, spec in book.derived.items()]
    parts += [_table("[[consistency]]", c) for c in consistency]
    parts += [_table("[[grades]]", g) for g in grades]
    for c in cats:
        parts.append(
            _table("[[categories]]", {k: v for k, v in c.items() if k not in ("items", "groups")})
        )
        parts += [_table("[[categories.items]]", item, "  ") for item in c["items"]]
        for g in c.get("groups", ()):
            parts.append(
                _table("[[categories.groups]]", {k: v for k, v in g.items() if k != "items"}, "  ")
            )
            parts += [_table("[[categories.groups.items]]", item, "    ") for item in g["items"]]
    return "\n".join(parts)


def rulebook_texts(
    *,
    max_categories: int = 3,
    max_items: int = 5,
    kinds: Collection[str] | None = None,
    weights: bool | None = None,
    not_applicable: str | None = None,
    bonus: bool = True,
    penalty: bool = True,
    derived: bool = True,
    applies_when: bool = True,
    floors: bool = True,
    grades: bool | None = None,
    exclusive_fields: bool = False,
    thousandths: bool = False,
    precision: Fraction | None = None,
    groups: bool = True,
    v2: bool = False,
) -> st.SearchStrategy[str]:
    """TOML text of valid rulebooks (SPEC §2), covering every item kind.

    Fields of every type (count, number, quantity, bool, set, text) in units
    人 户 次 件 册 元 万元 m^2 %; bounds written as numbers or as strings with a
    unit, sometimes a different one (``"0.002 hectare"`` for an m^2 field);
    derived values with ``on_zero``; deduct items in all three forms; shortfall
    and surplus with every ``partial``; optional weights, caps, floors,
    ``applies_when``, grades, ``tie_break``, consistency checks; bonus and
    penalty categories.

    Args:
        max_categories: at most this many base categories (1–6).
        max_items: at most this many items per category.
        kinds: only these item kinds (default: all of :data:`KINDS`).
        weights: base categories weighted (True), not (False), either (None).
        not_applicable: ``"rescale"`` or ``"award"``; None draws either or leaves it out.
        bonus: may add a bonus (加分) category.
        penalty: may add a penalty (扣分) category.
        derived: items may read derived values.
        applies_when: items and categories may have ``applies_when``.
        floors: items and base categories may have negative floors.
        grades: with ``[[grades]]`` (True), without (False), either (None).
        exclusive_fields: every field and derived value is read by one item or
            one expression only, so changing one value changes only that item
            (handy for monotonicity properties).
        thousandths: item maxes and floors may have three decimals (``max = 0.125``),
            which the loader rejects (points are kept to 0.01, SPEC §4.1): for
            testing that rejection; off by default.
        precision: the rulebook's ``precision`` (SPEC §10.5): 0.01, 0.1 or 1; None draws
            one of them or leaves the key out (0.01).
        groups: a category may put some of its items into groups (SPEC §10.3),
            with caps, floors, ``on_missing`` and ``not_applicable`` of their own.
        v2: also draw SPEC §10 features (off by default): a deduction category
            (基本分, 扣完为止), choice fields with aliases and ``choice`` items,
            ``direction`` on shortfall/surplus, weighted ``required`` checklists,
            ``requires`` preconditions, ``on_missing`` (``worst``/``none``) on the
            rulebook, categories and items, and ``not_applicable`` on categories
            and items. False: the v1 shapes only (what the v1 oracles of
            tests/test_properties.py are written for).

    Returns:
        A strategy of TOML text that :func:`~fulian_eval.io.load.parse_rulebook` accepts.

    >>> from hypothesis import given
    >>> from fulian_eval import parse_rulebook
    >>> @given(rulebook_texts(kinds={"deduct"}))
    ... def test_loads(text):
    ...     assert parse_rulebook(text).categories
    >>> test_loads()
    """
    if not 1 <= max_categories <= len(_CATEGORY_IDS):
        raise ValueError(f"max_categories must be 1 to {len(_CATEGORY_IDS)}, got {max_categories}")
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    if not_applicable not in (None, "rescale", "award"):
        raise ValueError(
            f"not_applicable must be 'rescale', 'award' or None, got {not_applicable!r}"
        )
    if precision is not None and precision not in (Fraction(1, 100), Fraction(1, 10), 1):
        raise ValueError(f"precision must be 0.01, 0.1, 1 or None, got {precision!r}")
    opts = _Options(
        max_base=max_categories,
        max_items=max_items,
        # choice (SPEC §10.4) is drawn by default only with the other §10 features
        kinds=_check_kinds(kinds) if kinds is not None or v2 else KINDS[:-1],
        weights=weights,
        not_applicable=not_applicable,
        bonus=bonus,
        penalty=penalty,
        derived=derived,
        applies_when=applies_when,
        floors=floors,
        grades=grades,
        exclusive_fields=exclusive_fields,
        thousandths=thousandths,
        precision=precision,
        groups=groups,
        v2=v2,
    )
    return _rulebook_text(opts)


def rulebooks(
    *,
    max_categories: int = 3,
    max_items: int = 5,
    kinds: Collection[str] | None = None,
    weights: bool | None = None,
    not_applicable: str | None = None,
    bonus: bool = True,
    penalty: bool = True,
    derived: bool = True,
    applies_when: bool = True,
    floors: bool = True,
    grades: bool | None = None,
    exclusive_fields: bool = False,
    thousandths: bool = False,
    precision: Fraction | None = None,
    groups: bool = True,
    v2: bool = False,
) -> st.SearchStrategy[Rulebook]:
    """Valid :class:`~fulian_eval.model.rulebook.Rulebook` objects, loaded from :func:`rulebook_texts`.

    Takes the same options as :func:`rulebook_texts`.

    >>> from hypothesis import given
    >>> @given(rulebooks(weights=True, bonus=False))
    ... def test_weighted(rb):
    ...     assert all(c.weight for c in rb.categories if c.type == "base")
    >>> test_weighted()
    """
    texts = rulebook_texts(
        max_categories=max_categories,
        max_items=max_items,
        kinds=kinds,
        weights=weights,
        not_applicable=not_applicable,
        bonus=bonus,
        penalty=penalty,
        derived=derived,
        applies_when=applies_when,
        floors=floors,
        grades=grades,
        exclusive_fields=exclusive_fields,
        thousandths=thousandths,
        precision=precision,
        groups=groups,
        v2=v2,
    )
    return texts.map(lambda text: parse_rulebook(text, "<generated>"))


# ---------------------------------------------------------------- evidence


def _interesting(rb: Rulebook) -> dict[str, list[Fraction]]:
    """Per field, values on and beside the bounds items compare it with."""
    out: dict[str, set[Fraction]] = {}
    for item in rb.items():
        rule = item.rule
        name = getattr(rule, "field", None)
        if not name or name not in rb.fields:
            continue
        pts: list[Fraction] = []
        # (bounds read from evidence, SPEC §10.4, have no fixed value to sit beside)
        if isinstance(rule, ThresholdRule):
            pts = [b for b in (rule.at_least, rule.at_most) if isinstance(b, Fraction)]
        elif isinstance(rule, TiersRule):
            pts = [t.at_least for t in rule.tiers if isinstance(t.at_least, Fraction)]
        elif isinstance(rule, LinearRule):
            if isinstance(rule.zero_at, Fraction) and isinstance(rule.full_at, Fraction):
                pts = [rule.zero_at, rule.full_at, (rule.zero_at + rule.full_at) / 2]
        elif isinstance(rule, ShortfallRule | SurplusRule):
            if isinstance(rule.target, Fraction):
                pts = [rule.target + k * rule.step / 2 for k in range(-5, 6)]
        elif isinstance(rule, DeductRule):
            pts = [Fraction(0), Fraction(1)]
        near: set[Fraction] = set()
        for p in pts:
            near |= {p, p + Fraction(1, 2), p - Fraction(1, 2), p + 1, p - 1}
        if rb.fields[name].type == "count":
            near = {Fraction(math.floor(p)) for p in near} | {Fraction(math.ceil(p)) for p in near}
        near = {p for p in near if p >= 0 and (p * 10**6).denominator == 1}
        out.setdefault(name, set()).update(near)
    return {k: sorted(v) for k, v in out.items()}


def _numeric(
    draw: _Draw, spec: FieldSpec, near: Sequence[Fraction], approximate: bool, spellings: bool
) -> Any:
    value = draw(_measured(spec.type, spec.unit))
    if len(near) > 0 and draw(st.booleans()):
        value = draw(st.sampled_from(near))
    if spec.type == "number" and _rarely(draw, 9):
        value = -value  # a plain number may fall below zero (a growth rate); counts never
    style = draw(st.integers(0, 9))
    if style <= 3:
        return _plain(value)
    if style <= 5 or not spellings:
        text = _dec(value) if not spellings or not spec.unit else spell(value, spec.unit, 0)
        if value >= 1000 and value.denominator == 1 and draw(st.booleans()):
            text = text.replace(str(value.numerator), f"{value.numerator:,}", 1)  # "8,500 元"
        return text
    if style <= 7 or not approximate or value < 0:
        text = spell(value, spec.unit, draw(st.integers(0, 4)))
        spacing = draw(st.integers(0, 3))
        if spacing == 0:  # "120m^2", "0.85万元"
            return text.replace(" ", "")
        if spacing == 1:  # " 0.85 万元 "
            return f" {text} "
        return text
    # approximate figures (§3): scored as the stated number, flagged
    n = _dec(value)
    u = spec.unit if spec.unit and not spec.unit.isascii() else ""
    forms = [
        "{n}余",
        "近{n}",
        "约{n}",
        "{n}多",
        "{n}来",
        "{n}左右",
        "{n}余{u}",
        "近{n}{u}",
        "{n}{u}左右",
        "{n}{u}以上",
    ]
    return draw(st.sampled_from(forms)).format(n=n, u=u)


def _manual_points(draw: _Draw, lo: Fraction, hi: Fraction, step: Fraction) -> Any:
    k = draw(st.integers(math.ceil(lo / step), math.floor(hi / step)))
    p = k * step
    return _dec(p) if _rarely(draw, 4) else _plain(p)


@attrs.frozen(kw_only=True)
class _EvidenceOptions:
    unit_ids: st.SearchStrategy[str]
    groups: st.SearchStrategy[str]
    roles: st.SearchStrategy[str]
    missing: bool
    approximate: bool
    spellings: bool


@st.composite
def _evidence_dict(draw: _Draw, rb: Rulebook, opts: _EvidenceOptions) -> dict[str, Any]:
    near = _interesting(rb)
    required: dict[str, set[str]] = {}
    for item in rb.items():
        if isinstance(item.rule, DeductRule) and item.rule.field and item.rule.required:
            required.setdefault(item.rule.field, set()).update(item.rule.required)
    values: dict[str, Any] = {}
    for name, spec in rb.fields.items():
        if opts.missing and _rarely(draw, 14):
            continue  # 无资料: the item scores 0 (§2.2)
        if spec.type == "bool":
            values[name] = draw(
                st.sampled_from((True, False, "是", "否", "有", "无", "1", "0", 1, 0))
            )
        elif spec.type == "set":
            pool = sorted(required.get(name, set()) | set(DOCUMENTS))
            got = draw(st.lists(st.sampled_from(pool), unique=True, max_size=len(pool)))
            if _rarely(draw, 3):
                values[name] = draw(st.sampled_from((";", "；"))).join(got)
            else:
                values[name] = got
        elif spec.type == "text":
            values[name] = draw(st.sampled_from(("王秀英", "李桂兰", "张红")))
        elif spec.type == "choice":  # an option, or an alias of one
            values[name] = draw(st.sampled_from((*spec.options, *(a for a, _ in spec.aliases))))
        else:
            values[name] = _numeric(
                draw, spec, near.get(name, []), opts.approximate, opts.spellings
            )
    points: dict[str, Any] = {}
    for item in rb.items():
        if isinstance(item.rule, ManualRule) and not (opts.missing and _rarely(draw, 6)):
            points[item.id] = _manual_points(draw, item.floor, item.max, item.rule.step)
    uid = draw(opts.unit_ids)
    unit = {"id": uid, "name": f"{uid}村", "group": draw(opts.groups)}
    assessment: dict[str, Any] = {"role": draw(opts.roles)}
    if draw(st.booleans()):
        assessment["assessor"] = "镇妇联"
    return {"unit": unit, "assessment": assessment, "values": values, "points": points}


_UNIT_IDS = st.integers(0, 19).map(lambda i: f"u{i:02d}")
_GROUPS = st.sampled_from(("东片", "西片", "南片"))


def evidence_data(
    rb: Rulebook,
    *,
    unit_ids: st.SearchStrategy[str] | None = None,
    groups: st.SearchStrategy[str] | None = None,
    roles: st.SearchStrategy[str] | None = None,
    missing: bool = True,
    approximate: bool = True,
    spellings: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """Raw evidence tables for ``rb``, as parsed from an evidence TOML file (SPEC §3).

    Values are in the field's unit or spelled with a unit (``"0.85 万元"`` for a
    元 field, ``"0.012 hectare"`` for m^2), approximate (``"10余"``, ``"近10人"``),
    bools as ``是``/``否``/``有``/``无``/``1``/``0``, sets as lists or ``;``-joined
    text; numbers cluster around the rulebook's bounds. Manual points are
    multiples of the item's step within ``[floor, max]``.

    Args:
        rb: the rulebook the evidence is for.
        unit_ids: unit ids (default ``u00`` … ``u19``).
        groups: group names (default 东片, 西片, 南片).
        roles: roles (default ``"self"``).
        missing: some fields and manual points may be left out.
        approximate: some numbers may be approximate (flagged when scored).
        spellings: numbers may be strings with units.

    Returns:
        A strategy of dicts with ``unit``, ``assessment``, ``values`` and ``points``
        that :func:`~fulian_eval.io.evidence.parse_evidence` accepts.
    """
    opts = _EvidenceOptions(
        unit_ids=_UNIT_IDS if unit_ids is None else unit_ids,
        groups=_GROUPS if groups is None else groups,
        roles=st.just("self") if roles is None else roles,
        missing=missing,
        approximate=approximate,
        spellings=spellings,
    )
    return _evidence_dict(rb, opts)


def evidence(
    rb: Rulebook,
    *,
    unit_ids: st.SearchStrategy[str] | None = None,
    groups: st.SearchStrategy[str] | None = None,
    roles: st.SearchStrategy[str] | None = None,
    missing: bool = True,
    approximate: bool = True,
    spellings: bool = True,
) -> st.SearchStrategy[Evidence]:
    """:class:`~fulian_eval.model.rulebook.Evidence` for ``rb``, read from :func:`evidence_data` by ``parse_evidence``.

    Takes the same options as :func:`evidence_data`.

    >>> from hypothesis import given
    >>> from fulian_eval import parse_rulebook, score
    >>> rb = parse_rulebook('''
    ... id = "demo"
    ... [fields.area]
    ... type = "quantity"
    ... unit = "m^2"
    ... [[categories]]
    ... id = "facilities"
    ...   [[categories.items]]
    ...   id = "room"
    ...   kind = "threshold"
    ...   max = 5
    ...   field = "area"
    ...   at_least = "20 m^2"
    ... ''')
    >>> @given(evidence(rb))
    ... def test_room(ev):
    ...     assert score(rb, ev).item("facilities.room").points in (0, 5)
    >>> test_room()
    """
    data = evidence_data(
        rb,
        unit_ids=unit_ids,
        groups=groups,
        roles=roles,
        missing=missing,
        approximate=approximate,
        spellings=spellings,
    )
    return data.map(_reader(rb))


def _reader(rb: Rulebook) -> Callable[[dict[str, Any]], Evidence]:
    def read(data: dict[str, Any]) -> Evidence:
        return parse_evidence(rb, data, "<generated>")

    return read


def evidence_lists(
    rb: Rulebook,
    *,
    min_size: int = 1,
    max_size: int = 6,
    roles: st.SearchStrategy[str] | None = None,
    missing: bool = True,
    approximate: bool = True,
    spellings: bool = True,
) -> st.SearchStrategy[list[Evidence]]:
    """Several units' evidence for ``rb``, each (unit, role) at most once, as for ranking."""
    one = evidence(rb, roles=roles, missing=missing, approximate=approximate, spellings=spellings)
    return st.lists(
        one, min_size=min_size, max_size=max_size, unique_by=lambda e: (e.unit.id, e.role)
    )


def rulebook_and_evidence(
    *,
    evidence_options: Mapping[str, Any] | None = None,
    **rulebook_options: Any,
) -> st.SearchStrategy[tuple[Rulebook, Evidence]]:
    """A rulebook and one unit's evidence for it.

    Args:
        evidence_options: keyword arguments for :func:`evidence`.
        **rulebook_options: keyword arguments for :func:`rulebooks`.

    >>> from hypothesis import given
    >>> from fulian_eval import score
    >>> @given(rulebook_and_evidence(kinds={"deduct", "manual"}))
    ... def test_items_in_range(pair):
    ...     rb, ev = pair
    ...     for r in score(rb, ev).items:
    ...         assert r.points <= r.max
    >>> test_items_in_range()
    """
    ev_opts = dict(evidence_options or {})

    def with_evidence(rb: Rulebook) -> st.SearchStrategy[tuple[Rulebook, Evidence]]:
        return evidence(rb, **ev_opts).map(lambda ev: (rb, ev))

    return rulebooks(**rulebook_options).flatmap(with_evidence)
