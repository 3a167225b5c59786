"""``linear``: points in proportion between ``zero_at`` (0分) and ``full_at`` (满分)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.messages import _
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
    fmt,
    read_bound,
)

__all__ = ["Linear", "LinearRule"]


@attrs.frozen(kw_only=True)
class LinearRule:
    field: str
    zero_at: Bound  # a number, or a value read from evidence (SPEC §10.4)
    full_at: Bound

    def reads(self) -> frozenset[str]:
        return frozenset({self.field}) | bound_names(self.zero_at, self.full_at)


class Linear(Kind):
    name = "linear"
    keys = frozenset({"field", "zero_at", "full_at"})
    summary = "折算：在 zero_at（不得分）与 full_at（满分）之间按比例得分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> LinearRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        unit = r.unit_of(field)
        z = r.bound_ref(t, "zero_at", key, label, unit, required=True)
        f = r.bound_ref(t, "full_at", key, label, unit, required=True)
        assert z is not None and f is not None
        if z == f and isinstance(z, Fraction):
            r.err(
                (*key, "full_at"),
                f"{label}.full_at",
                _("full_at equals zero_at ({value}); they must differ").format(value=fmt(z)),
            )
        return LinearRule(field=field, zero_at=z, full_at=f)

    def raw(self, ops: Ops, mx: Fraction, rule: LinearRule) -> V:
        v = ops.read(rule.field)
        if isinstance(rule.zero_at, Fraction) and isinstance(rule.full_at, Fraction):
            frac = ops.div(
                ops.sub(v, ops.const(rule.zero_at)), ops.const(rule.full_at - rule.zero_at)
            )
            return ops.mul(ops.const(mx), ops.clamp(frac, ops.const(0), ops.const(1)))
        # Bounds from evidence may meet for some unit: then full marks at full_at or beyond, else 0.
        z, f = read_bound(ops, rule.zero_at), read_bound(ops, rule.full_at)
        span = ops.sub(f, z)
        meet = ops.cmp("==", span, ops.const(0))
        frac = ops.div(ops.sub(v, z), ops.where(meet, ops.const(1), span))
        at_full = ops.where(ops.cmp(">=", v, f), ops.const(1), ops.const(0))
        return ops.mul(
            ops.const(mx), ops.where(meet, at_full, ops.clamp(frac, ops.const(0), ops.const(1)))
        )

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: LinearRule, raw: Fraction) -> str:
        f = rule.field
        span = f"{bound_text(w, f, rule.zero_at)}不得分、{bound_text(w, f, rule.full_at)}满分"
        return f"{w.head(f, w.value(f))}，按{span}折算，{w.got(raw)}"
