"""``count``: ``each`` points per unit counted, up to ``max`` (每开展一次得1分)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.text import param_text, reason_number
from .base import NUMERIC, NUMERIC_WORD, Kind, Ops, PathKey, Reader, V, Words, each_above_zero

__all__ = ["Count", "CountRule"]


@attrs.frozen(kw_only=True)
class CountRule:
    field: str
    each: Fraction

    def reads(self) -> frozenset[str]:
        return frozenset({self.field})


class Count(Kind):
    name = "count"
    keys = frozenset({"field", "each"})
    summary = "计数：每一个（次、户……）得 each 分，最高 max 分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> CountRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        return CountRule(field=field, each=each_above_zero(r, t, key, label, required=True))

    def raw(self, ops: Ops, mx: Fraction, rule: CountRule) -> V:
        return ops.mul(ops.const(rule.each), ops.read(rule.field))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: CountRule, raw: Fraction) -> str:
        f = rule.field
        p = mx if raw > mx else raw
        cap = f"，最高{reason_number(mx)}分" if raw > mx else ""
        return f"{w.head(f, w.value(f))}×{param_text(rule.each)}分{cap}，{w.got(p)}"
