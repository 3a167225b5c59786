"""``expr``: points given by an expression (按公式计算), kept within ``[floor, max]``."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import Expr
from ..lang.messages import _
from .base import Kind, Ops, PathKey, Reader, Skip, V, Words, capped, expr_text, used_values

__all__ = ["ExprRule", "Formula"]


@attrs.frozen(kw_only=True)
class ExprRule:
    points: Expr

    def reads(self) -> frozenset[str]:
        return self.points.names


class Formula(Kind):
    name = "expr"
    keys = frozenset({"points"})
    summary = "公式：按表达式计算得分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> ExprRule:
        if "points" not in t:
            r.err(key, label, _("an expr item needs 'points' (an expression giving the points)"))

            raise Skip
        return ExprRule(points=r.expr(t["points"], (*key, "points"), f"{label}.points", "num"))

    def raw(self, ops: Ops, mx: Fraction, rule: ExprRule) -> V:
        return ops.evaluate(rule.points)

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: ExprRule, raw: Fraction) -> str:
        # 按公式 3×经费/(2×(常住+流动)) 计算：经费36000元，常住4241人，流动4418人，得6.23分
        used = used_values(w, rule.points)
        return (
            f"按公式 {expr_text(w, rule.points)} 计算{'：' + used if used else ''}，"
            f"{capped(w, mx, floor, raw)}"
        )
