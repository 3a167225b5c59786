"""``check``: full marks when a bool field is true or a condition holds (有/无, 是否建立)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import Expr, Name, Not
from ..lang.messages import N_, _
from .base import Kind, Ops, PathKey, Reader, Skip, V, Words, expr_text, used_values

__all__ = ["Check", "CheckRule"]


@attrs.frozen(kw_only=True)
class CheckRule:
    """Exactly one of ``field`` (a bool field) or ``when`` (a condition)."""

    field: str | None = None
    when: Expr | None = None

    def reads(self) -> frozenset[str]:
        if self.field is not None:
            return frozenset({self.field})
        assert self.when is not None
        return self.when.names


class Check(Kind):
    name = "check"
    keys = frozenset({"field", "when"})
    summary = "是否：布尔字段为是或条件成立得满分，否则不得分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> CheckRule:
        if ("field" in t) == ("when" in t):
            r.err(
                key,
                label,
                _(
                    "a check item needs exactly one of 'field' (a bool field) or 'when' (an expression)"
                ),
            )
            raise Skip
        if "field" in t:
            return CheckRule(field=r.field_ref(t, key, label, ("bool",), N_("a bool field")))

        return CheckRule(when=r.expr(t["when"], (*key, "when"), f"{label}.when", "bool"))

    def raw(self, ops: Ops, mx: Fraction, rule: CheckRule) -> V:
        if rule.field is not None:
            ok = ops.read(rule.field)
        else:
            assert rule.when is not None
            ok = ops.evaluate(rule.when)
        return ops.where(ok, ops.const(mx), ops.const(0))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: CheckRule, raw: Fraction) -> str:
        ok = raw != 0
        if rule.field is not None:
            title = w.title(rule.field)
            return f"{title}：是，{w.got(mx)}" if ok else f"{title}：否，{w.got(Fraction(0))}"
        assert rule.when is not None
        tree = rule.when.tree
        if isinstance(tree, Not) and isinstance(tree.operand, Name):
            tree = tree.operand
        if isinstance(tree, Name) and isinstance(w.value(tree.name), bool):
            # when = "not rules_ok" (a fault worded as a bool): 服务站制度健全：否，扣2分
            v = w.value(tree.name)
            return (
                f"{w.title(tree.name)}：{'是' if v else '否'}，{w.got(mx if ok else Fraction(0))}"
            )
        # 符合（已登记建档的出租房屋≥出租房屋户数：已登记建档的出租房屋214户，出租房屋户数214户）
        text = expr_text(w, rule.when)
        used = used_values(w, rule.when)
        if used:
            text = f"{text}：{used}"
        return f"符合（{text}），{w.got(mx)}" if ok else f"不符合（{text}），{w.got(Fraction(0))}"
