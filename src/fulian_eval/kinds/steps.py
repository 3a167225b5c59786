"""``shortfall`` and ``surplus``: ``each`` points per ``step`` below or above ``target``.

``shortfall`` is 每低一个step扣each分 (``max`` minus the deduction); ``surplus`` is
每超一个step加each分 (up to ``max``). ``partial`` says how a started step counts:
``exact`` (in proportion), ``whole`` (only whole steps) or ``any`` (a started step counts whole).
``direction`` (SPEC §10.4) says which side of ``target`` counts: ``below`` (shortfall's
default) or ``above`` (surplus's default) — 每上升1个百分点扣0.5分 is a shortfall ``above``.
``target`` may be the name of a field or derived value (a quota set per village).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..errors import did_you_mean
from ..lang.messages import _
from ..lang.text import param_text, reason_number
from .base import (
    NUMERIC,
    NUMERIC_WORD,
    Bound,
    Kind,
    Ops,
    PathKey,
    Reader,
    V,
    Words,
    bound_names,
    bound_text,
    bound_value,
    capped,
    each_above_zero,
    read_bound,
)

__all__ = ["Shortfall", "ShortfallRule", "Surplus", "SurplusRule"]

PARTIAL = ("exact", "whole", "any")
DIRECTIONS = ("below", "above")


@attrs.frozen(kw_only=True)
class _StepRule:
    field: str
    target: Bound  # a number, or a value read from evidence (SPEC §10.4)
    step: Fraction
    each: Fraction
    partial: str = "exact"  # exact | whole | any: how a started step counts
    direction: str = "below"  # below | above: which side of target counts

    def reads(self) -> frozenset[str]:
        return frozenset({self.field}) | bound_names(self.target)


@attrs.frozen(kw_only=True)
class ShortfallRule(_StepRule):
    """每低一个step扣each分: ``max − each × steps below target`` (``direction = "above"``: 每上升……扣)."""


@attrs.frozen(kw_only=True)
class SurplusRule(_StepRule):
    """每超一个step加each分: ``min(max, each × steps above target)`` (``direction = "below"``: 每降低……加)."""

    direction: str = "above"


def gap(ops: Ops, v: V, target: V, direction: str) -> V:
    """How far ``v`` is past ``target`` on the side that counts (0 on the other side)."""
    if direction == "above":
        return ops.where(ops.cmp("<=", v, target), ops.const(0), ops.sub(v, target))
    return ops.where(ops.cmp(">=", v, target), ops.const(0), ops.sub(target, v))


def _side(w: Words, rule: _StepRule) -> tuple[bool, str, str]:
    """(past the target on the side that counts, the word for past, the word for not past)."""
    v = w.value(rule.field)
    t = bound_value(w, rule.target)
    if rule.direction == "above":
        return v > t, "高于", "未超过"
    return v < t, "低于", "达到"


def steps(ops: Ops, gap: V, rule: _StepRule) -> V:
    """How many steps a gap (≥ 0) makes, counted as ``partial`` says."""
    d = ops.div(gap, ops.const(rule.step))
    if rule.partial == "exact":
        return d
    return ops.floor(d) if rule.partial == "whole" else ops.ceil(d)


class _Steps(Kind):
    keys = frozenset({"field", "target", "step", "each", "partial", "direction"})
    rule_class: type[_StepRule]
    default_direction = "below"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> _StepRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        unit = r.unit_of(field)
        target = r.bound_ref(t, "target", key, label, unit, required=True)
        assert target is not None
        step = r.positive(t, "step", key, label, unit)
        each = each_above_zero(r, t, key, label, required=True)
        partial = r.text(t, "partial", key, label, default="exact")
        if partial not in PARTIAL:
            r.err(
                (*key, "partial"),
                f"{label}.partial",
                _("{value} is not allowed; expected {want}{hint}").format(
                    value=f"'{partial}'",
                    want=_("{choices} or '{last}'").format(choices="'exact', 'whole'", last="any"),
                    hint=did_you_mean(partial, list(PARTIAL)),
                ),
            )
        direction = r.text(t, "direction", key, label, default=self.default_direction)
        if direction not in DIRECTIONS:
            r.err(
                (*key, "direction"),
                f"{label}.direction",
                _("{value} is not allowed; expected {want}{hint}").format(
                    value=f"'{direction}'",
                    want=_("{choices} or '{last}'").format(choices="'below'", last="above"),
                    hint=did_you_mean(direction, list(DIRECTIONS)),
                ),
            )
        return self.rule_class(
            field=field, target=target, step=step, each=each, partial=partial, direction=direction
        )


def _step_word(w: Words, rule: _StepRule) -> str:
    return "" if rule.step == 1 else f"（每{w.show(rule.field, rule.step)}）"


class Shortfall(_Steps):
    name = "shortfall"
    natural = "deduction"
    rule_class = ShortfallRule
    summary = "差额扣分：低于 target 时每差一个 step 扣 each 分"

    def raw(self, ops: Ops, mx: Fraction, rule: ShortfallRule) -> V:
        v = ops.read(rule.field)
        target = read_bound(ops, rule.target)
        return ops.mul(ops.const(rule.each), steps(ops, gap(ops, v, target, rule.direction), rule))

    def why(
        self, w: Words, mx: Fraction, floor: Fraction, rule: ShortfallRule, raw: Fraction
    ) -> str:
        f = rule.field
        v = w.value(f)
        past, past_word, ok_word = _side(w, rule)
        target = bound_text(w, f, rule.target)
        if not past:
            full = w.got(Fraction(0)) if w.deducts else f"得满分{w.pts(mx)}分"
            return f"{w.head(f, v)}，{ok_word}{target}，{full}"
        if w.deducts:  # 人户一致率85%，低于90%，扣10分 (SPEC §10.1)
            return f"{w.head(f, v)}，{past_word}{target}{_step_word(w, rule)}，{capped(w, mx, floor, raw)}"
        p = mx - raw
        floor_word = "，扣完为止" if p < floor else ""
        shown = floor if p < floor else mx if p > mx else p
        return (
            f"{w.head(f, v)}，{past_word}{target}{_step_word(w, rule)}，"
            f"扣{param_text(raw)}分{floor_word}，{w.got(shown)}"
        )


class Surplus(_Steps):
    name = "surplus"
    rule_class = SurplusRule
    default_direction = "above"
    summary = "超额加分：高于 target 时每超一个 step 加 each 分，最高 max 分"

    def raw(self, ops: Ops, mx: Fraction, rule: SurplusRule) -> V:
        v = ops.read(rule.field)
        target = read_bound(ops, rule.target)
        return ops.mul(ops.const(rule.each), steps(ops, gap(ops, v, target, rule.direction), rule))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: SurplusRule, raw: Fraction) -> str:
        f = rule.field
        v = w.value(f)
        target = bound_text(w, f, rule.target)
        if rule.direction == "above":
            past, past_word, ok_word = v > bound_value(w, rule.target), "超过", "未超过"
        else:
            past, past_word, ok_word = v < bound_value(w, rule.target), "低于", "未低于"
        if not past:
            return f"{w.head(f, v)}，{ok_word}{target}，{w.got(Fraction(0)) if w.deducts else '不加分'}"
        n = raw / rule.each
        return (
            f"{w.head(f, v)}，{past_word}{target}{_step_word(w, rule)}{reason_number(n)}档，"
            f"每档{reason_number(rule.each)}分，{capped(w, mx, floor, raw)}"
        )
