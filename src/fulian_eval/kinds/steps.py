"""``shortfall`` and ``surplus``: ``each`` points per ``step`` below or above ``target``.

``shortfall`` is 每低一个step扣each分 (``max`` minus the deduction); ``surplus`` is
每超一个step加each分 (up to ``max``). ``partial`` says how a started step counts:
``exact`` (in proportion), ``whole`` (only whole steps) or ``any`` (a started step counts whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..errors import did_you_mean
from ..lang.text import param_text, reason_number, round_half_up
from .base import NUMERIC, NUMERIC_WORD, Kind, Ops, PathKey, Reader, V, Words, each_above_zero

__all__ = ["Shortfall", "ShortfallRule", "Surplus", "SurplusRule"]

PARTIAL = ("exact", "whole", "any")


@attrs.frozen(kw_only=True)
class _StepRule:
    field: str
    target: Fraction
    step: Fraction
    each: Fraction
    partial: str = "exact"  # exact | whole | any: how a started step counts

    def reads(self) -> frozenset[str]:
        return frozenset({self.field})


@attrs.frozen(kw_only=True)
class ShortfallRule(_StepRule):
    """每低一个step扣each分: ``max − each × steps below target``."""


@attrs.frozen(kw_only=True)
class SurplusRule(_StepRule):
    """每超一个step加each分: ``min(max, each × steps above target)``."""


def steps(ops: Ops, gap: V, rule: _StepRule) -> V:
    """How many steps a gap (≥ 0) makes, counted as ``partial`` says."""
    d = ops.div(gap, ops.const(rule.step))
    if rule.partial == "exact":
        return d
    return ops.floor(d) if rule.partial == "whole" else ops.ceil(d)


class _Steps(Kind):
    keys = frozenset({"field", "target", "step", "each", "partial"})
    rule_class: type[_StepRule]

    def build(self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction) -> _StepRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        unit = r.unit_of(field)
        target = r.bound(t, "target", key, label, unit, required=True)
        assert target is not None
        step = r.positive(t, "step", key, label, unit)
        each = each_above_zero(r, t, key, label, required=True)
        partial = r.text(t, "partial", key, label, default="exact")
        if partial not in PARTIAL:
            r.err((*key, "partial"), f"{label}.partial", f"'{partial}' is not allowed; expected 'exact', 'whole' or 'any'{did_you_mean(partial, list(PARTIAL))}")
        return self.rule_class(field=field, target=target, step=step, each=each, partial=partial)


def _step_word(w: Words, rule: _StepRule) -> str:
    return "" if rule.step == 1 else f"（每{w.show(rule.field, rule.step)}）"


class Shortfall(_Steps):
    name = "shortfall"
    natural = "deduction"
    rule_class = ShortfallRule
    summary = "差额扣分：低于 target 时每差一个 step 扣 each 分"

    def raw(self, ops: Ops, mx: Fraction, rule: ShortfallRule) -> V:
        v = ops.read(rule.field)
        target = ops.const(rule.target)
        gap = ops.where(ops.cmp(">=", v, target), ops.const(0), ops.sub(target, v))
        return ops.mul(ops.const(rule.each), steps(ops, gap, rule))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: ShortfallRule, raw: Fraction) -> str:
        f = rule.field
        v = w.value(f)
        if v >= rule.target:
            full = w.got(Fraction(0)) if w.deducts else f"得满分{reason_number(mx)}分"
            return f"{w.head(f, v)}，达到{w.show(f, rule.target)}，{full}"
        if w.deducts:  # 人户一致率85%，低于90%，扣10分 (SPEC §10.1)
            return f"{w.head(f, v)}，低于{w.show(f, rule.target)}{_step_word(w, rule)}，{w.got(round_half_up(raw, 2))}"
        p = mx - raw
        floor_word = "，扣完为止" if p < floor else ""
        shown = floor if p < floor else mx if p > mx else p
        return (f"{w.head(f, v)}，低于{w.show(f, rule.target)}{_step_word(w, rule)}，"
                f"扣{param_text(raw)}分{floor_word}，{w.got(round_half_up(shown, 2))}")


class Surplus(_Steps):
    name = "surplus"
    rule_class = SurplusRule
    summary = "超额加分：高于 target 时每超一个 step 加 each 分，最高 max 分"

    def raw(self, ops: Ops, mx: Fraction, rule: SurplusRule) -> V:
        v = ops.read(rule.field)
        target = ops.const(rule.target)
        gap = ops.where(ops.cmp("<=", v, target), ops.const(0), ops.sub(v, target))
        return ops.mul(ops.const(rule.each), steps(ops, gap, rule))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: SurplusRule, raw: Fraction) -> str:
        f = rule.field
        v = w.value(f)
        if v <= rule.target:
            return f"{w.head(f, v)}，未超过{w.show(f, rule.target)}，{w.got(Fraction(0)) if w.deducts else '不加分'}"
        n = raw / rule.each
        cap = f"，最高{reason_number(mx)}分" if raw > mx else ""
        return (f"{w.head(f, v)}，超过{w.show(f, rule.target)}{_step_word(w, rule)}{reason_number(n)}档，"
                f"每档{reason_number(rule.each)}分{cap}，{w.got(round_half_up(min(raw, mx), 2))}")
