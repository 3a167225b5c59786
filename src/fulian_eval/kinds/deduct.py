"""``deduct``: ``max`` minus ``each`` per fault (缺一项扣1分, 每发现一处扣0.5分).

Three forms: a set field against ``required`` names (each name absent is a fault), a
number field counting faults, or ``faults`` — several number fields, each fault
weighted by its own points. ``required`` may also be a table of name → points (a
weighted checklist, SPEC §10.4): each name absent deducts its own points.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.messages import N_, _
from ..lang.text import param_text, reason_number
from ..lang.values import BadNumber
from .base import (
    NUMERIC,
    NUMERIC_WORD,
    Kind,
    Ops,
    PathKey,
    Reader,
    Skip,
    V,
    Words,
    capped,
    each_above_zero,
    is_number,
    show_value,
)

__all__ = ["Deduct", "DeductRule"]


@attrs.frozen(kw_only=True)
class DeductRule:
    """Three forms: a set against ``required``, a count of faults, or ``faults``."""

    each: Fraction = Fraction(1)
    field: str | None = None
    required: tuple[str, ...] = ()
    faults: tuple[tuple[str, Fraction], ...] = ()
    #: A weighted checklist (SPEC §10.4): each required name's own points (empty: ``each`` per name).
    weights: tuple[Fraction, ...] = ()

    @property
    def form(self) -> str:
        if self.faults:
            return "faults"
        return "set" if self.required else "count"

    def reads(self) -> frozenset[str]:
        names = {name for name, _ in self.faults}
        if self.field is not None:
            names.add(self.field)
        return frozenset(names)


def _weighted_names(rule: DeductRule, absent: list[str]) -> str:
    """ "计划0.5分、总结0.5分": the absent names of a weighted checklist with their points."""
    pts = dict(zip(rule.required, rule.weights, strict=True))
    return "、".join(f"{name}{param_text(pts[name])}分" for name in absent)


def _left(w: Words, p: Fraction, floor: Fraction) -> str:
    if p < floor:
        return f"，扣完为止，{w.got(floor)}"
    return f"，{w.got(p)}"


class Deduct(Kind):
    name = "deduct"
    keys = frozenset({"field", "required", "each", "faults"})
    natural = "deduction"
    summary = "扣分：满分减去每处问题的扣分（缺项、问题数或多种问题）"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> DeductRule:
        each = each_above_zero(r, t, key, label, required=False, default=Fraction(1))
        if "faults" in t:
            if "field" in t or "required" in t:
                r.err(key, label, _("use either 'faults' or 'field' (+ 'required'), not both"))
            faults = t["faults"]
            if not isinstance(faults, dict) or not faults:
                r.err(
                    (*key, "faults"),
                    f"{label}.faults",
                    _("expected a table {{field = points per fault, …}}").format(),
                )
                raise Skip
            pairs = []
            names = r.field_names()
            for fname, pts in faults.items():
                ftype = r.field_type(fname)
                if ftype is None:
                    from ..errors import did_you_mean

                    r.err(
                        (*key, "faults"),
                        f"{label}.faults.{fname}",
                        _("unknown field '{name}'{hint}").format(
                            name=fname, hint=did_you_mean(fname, names)
                        ),
                    )
                    continue
                if ftype not in NUMERIC:
                    r.err(
                        (*key, "faults"),
                        f"{label}.faults.{fname}",
                        _("'{name}' is a {type} field; faults are counted by {what}").format(
                            name=fname, type=ftype, what=_(NUMERIC_WORD)
                        ),
                    )
                    continue
                if isinstance(pts, BadNumber):
                    r.err((*key, "faults", fname), f"{label}.faults.{fname}", pts.reason)
                    continue
                if not is_number(pts) or pts <= 0:
                    r.err(
                        (*key, "faults"),
                        f"{label}.faults.{fname}",
                        _("{value} must be a number of points above 0").format(
                            value=show_value(pts)
                        ),
                    )
                    continue
                pairs.append((fname, Fraction(pts)))
            return DeductRule(each=each, faults=tuple(pairs))
        if "required" in t:
            field = r.field_ref(t, key, label, ("set",), N_("a set field when 'required' is given"))
            req = t["required"]
            if isinstance(req, dict):
                return self._weighted(r, t, key, label, field, req)
            if not isinstance(req, list) or not req or not all(isinstance(x, str) for x in req):
                r.err(
                    (*key, "required"),
                    f"{label}.required",
                    _(
                        "expected a non-empty list of names, or a table {{name = points, …}}"
                    ).format(),
                )
                raise Skip
            if len(set(req)) != len(req):
                dup = next(x for x in req if req.count(x) > 1)
                r.err(
                    (*key, "required"),
                    f"{label}.required",
                    _("'{name}' is listed twice").format(name=dup),
                )
            return DeductRule(each=each, field=field, required=tuple(req))
        field = r.field_ref(
            t,
            key,
            label,
            NUMERIC,
            N_(
                "a number field (count, number, quantity or derived) counting faults, "
                "or a set field with 'required'"
            ),
        )
        return DeductRule(each=each, field=field)

    @staticmethod
    def _weighted(
        r: Reader,
        t: Mapping[str, Any],
        key: PathKey,
        label: str,
        field: str,
        req: Mapping[str, Any],
    ) -> DeductRule:
        """``required = {"领导小组" = 1, "计划" = 0.5}``: each name with its own points."""
        if "each" in t:
            r.err(
                (*key, "each"),
                f"{label}.each",
                _(
                    "'each' is not used with a weighted 'required' table "
                    "(each name has its own points); remove it"
                ),
            )
        if not req:
            r.err(
                (*key, "required"),
                f"{label}.required",
                _("expected a non-empty table {{name = points, …}}").format(),
            )
            raise Skip
        names: list[str] = []
        weights: list[Fraction] = []
        for name, pts in req.items():
            if isinstance(pts, BadNumber):
                r.err((*key, "required", name), f"{label}.required.{name}", pts.reason)
                continue
            if not is_number(pts) or pts <= 0:
                r.err(
                    (*key, "required", name),
                    f"{label}.required.{name}",
                    _("{value} must be a number of points above 0").format(value=show_value(pts)),
                )
                continue
            names.append(name)
            weights.append(Fraction(pts))
        return DeductRule(field=field, required=tuple(names), weights=tuple(weights))

    def raw(self, ops: Ops, mx: Fraction, rule: DeductRule) -> V:
        if rule.form == "faults":
            values = ops.read_all([name for name, _ in rule.faults])
            total = ops.const(0)
            for (_, pts), v in zip(rule.faults, values, strict=True):
                total = ops.add(total, ops.mul(ops.const(pts), v))
            return ops.mul(total, ops.const(rule.each))
        assert rule.field is not None
        if rule.form == "set" and rule.weights:
            return ops.absent(ops.read(rule.field), rule.required, rule.weights)
        if rule.form == "set":
            return ops.mul(ops.const(rule.each), ops.absent(ops.read(rule.field), rule.required))
        return ops.mul(ops.const(rule.each), ops.read(rule.field))

    @staticmethod
    def _deduction_why(
        w: Words, mx: Fraction, floor: Fraction, rule: DeductRule, d: Fraction
    ) -> str:
        done = capped(w, mx, floor, d)  # 扣X分, or 应扣X分，已达本项扣分上限Y分
        if rule.form == "set":
            have = w.value(rule.field or "")
            absent = [name for name in rule.required if name not in have]
            if not absent:
                return f"{len(rule.required)}项齐全，{done}"
            if rule.weights:
                return f"缺{len(absent)}项({_weighted_names(rule, absent)})，{done}"
            return (
                f"缺{len(absent)}项({'、'.join(absent)})，每项扣{param_text(rule.each)}分，{done}"
            )
        if rule.form == "count":
            f = rule.field or ""
            v = w.value(f)
            return (
                f"{w.head(f, v)}，{done}"
                if v == 0
                else f"{w.head(f, v)}，每项扣{param_text(rule.each)}分，{done}"
            )
        if d == 0:
            return f"无扣分项，{done}"
        parts = [
            f"{w.title(n)}{reason_number(w.value(n))}×{reason_number(pts)}"
            for n, pts in rule.faults
            if w.value(n)
        ]
        return f"{'、'.join(parts)}，{done}"

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: DeductRule, raw: Fraction) -> str:
        d = raw
        p = mx - d
        if w.deducts:  # the item's value is the deduction itself (SPEC §10.1)
            return self._deduction_why(w, mx, floor, rule, d)
        if rule.form == "set":
            have = w.value(rule.field or "")
            absent = [name for name in rule.required if name not in have]
            if not absent:
                return f"{len(rule.required)}项齐全，得满分{w.pts(mx)}分"
            shown = _weighted_names(rule, absent) if rule.weights else "、".join(absent)
            return f"缺{len(absent)}项({shown})，扣{reason_number(d)}分{'，扣完为止' if p < floor else ''}"
        if rule.form == "count":
            f = rule.field or ""
            v = w.value(f)
            if v == 0:
                return f"{w.head(f, v)}，得满分{w.pts(mx)}分"
            return f"{w.head(f, v)}，每项扣{param_text(rule.each)}分，扣{reason_number(d)}分{_left(w, p, floor)}"
        if d == 0:
            return f"无扣分项，得满分{w.pts(mx)}分"
        parts = [
            f"{w.title(n)}{reason_number(w.value(n))}×{reason_number(pts)}"
            for n, pts in rule.faults
            if w.value(n)
        ]
        return f"{'、'.join(parts)}，扣{reason_number(d)}分{_left(w, p, floor)}"
