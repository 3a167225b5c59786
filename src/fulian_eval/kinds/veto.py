"""``veto``: 一票否决 — when the condition holds the unit gets the lowest grade (or a total of 0)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import Expr
from .base import Kind, Ops, PathKey, Reader, Skip, V, Words

__all__ = ["EFFECTS", "Veto", "VetoRule"]

EFFECTS = ("fail", "zero")


@attrs.frozen(kw_only=True)
class VetoRule:
    when: Expr
    effect: str = "fail"  # fail | zero

    def reads(self) -> frozenset[str]:
        return self.when.names


class Veto(Kind):
    name = "veto"
    keys = frozenset({"when", "effect"})
    summary = "一票否决：条件成立时评为最低等次（effect = \"zero\"：总分记0）"

    def build(self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction) -> VetoRule:
        if "when" not in t:
            r.err(key, label, "a veto item needs 'when' (a condition, e.g. \"fabricated\")")
            raise Skip
        when = r.expr(t["when"], (*key, "when"), f"{label}.when", "bool")
        effect = r.text(t, "effect", key, label, default="fail")
        if effect not in EFFECTS:
            r.err((*key, "effect"), f"{label}.effect", f"'{effect}' is not allowed; expected 'fail' or 'zero'")
        return VetoRule(when=when, effect=effect)

    def raw(self, ops: Ops, mx: Fraction, rule: VetoRule) -> V:
        """Whether the veto fires (a truth value)."""
        return ops.evaluate(rule.when)

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: VetoRule, raw: Fraction) -> str:
        effect = "总分记0" if rule.effect == "zero" else "评为最低等次"
        return f"一票否决（{rule.when.text}），{effect}" if raw else "未触发一票否决"
