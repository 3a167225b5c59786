"""``manual``: points an assessor gives on the spot (现场评分), in steps of ``step``."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.messages import _
from ..lang.text import reason_number
from .base import Kind, Ops, PathKey, Reader, V, Words, fmt

__all__ = ["Manual", "ManualRule"]


@attrs.frozen(kw_only=True)
class ManualRule:
    step: Fraction = Fraction(1, 2)

    def reads(self) -> frozenset[str]:
        return frozenset()


class Manual(Kind):
    name = "manual"
    keys = frozenset({"step"})
    summary = "评审打分：评审人现场给分，按 step 的整数倍"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> ManualRule:
        step = r.num(t, "step", key, label, default=Fraction(1, 2))
        assert step is not None
        if step <= 0:
            r.err(
                (*key, "step"),
                f"{label}.step",
                _("{value} must be above 0").format(value=fmt(step)),
            )

        return ManualRule(step=step)

    def raw(self, ops: Ops, mx: Fraction, rule: ManualRule) -> V:
        raise NotImplementedError("the engines read a manual item's points by its id (Ops.manual)")

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: ManualRule, raw: Fraction) -> str:
        return f"评审扣{reason_number(raw)}分" if w.deducts else f"评审打分{reason_number(raw)}分"
