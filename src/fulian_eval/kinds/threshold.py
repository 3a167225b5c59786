"""``threshold``: full marks when a number is at least / at most a bound (达到……的得满分)."""

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
    Skip,
    V,
    Words,
    bound_names,
    bound_text,
    fmt,
    read_bound,
)

__all__ = ["Threshold", "ThresholdRule"]


@attrs.frozen(kw_only=True)
class ThresholdRule:
    field: str
    at_least: Bound | None = None  # a number, or a value read from evidence (SPEC §10.4)
    at_most: Bound | None = None

    def reads(self) -> frozenset[str]:
        return frozenset({self.field}) | bound_names(self.at_least, self.at_most)


class Threshold(Kind):
    name = "threshold"
    keys = frozenset({"field", "at_least", "at_most"})
    summary = "达标：数值不低于 at_least（和/或不高于 at_most）得满分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> ThresholdRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        unit = r.unit_of(field)
        lo = r.bound_ref(t, "at_least", key, label, unit)
        hi = r.bound_ref(t, "at_most", key, label, unit)
        if lo is None and hi is None:
            r.err(key, label, _("a threshold item needs 'at_least' and/or 'at_most'"))
            raise Skip
        if isinstance(lo, Fraction) and isinstance(hi, Fraction) and lo > hi:
            r.err(
                (*key, "at_most"),
                f"{label}.at_most",
                _("at_most {high} is below at_least {low}").format(high=fmt(hi), low=fmt(lo)),
            )
        return ThresholdRule(field=field, at_least=lo, at_most=hi)

    def raw(self, ops: Ops, mx: Fraction, rule: ThresholdRule) -> V:
        v = ops.read(rule.field)
        conds = []
        if rule.at_least is not None:
            conds.append(ops.cmp(">=", v, read_bound(ops, rule.at_least)))
        if rule.at_most is not None:
            conds.append(ops.cmp("<=", v, read_bound(ops, rule.at_most)))
        return ops.where(ops.all(conds), ops.const(mx), ops.const(0))

    def why(
        self, w: Words, mx: Fraction, floor: Fraction, rule: ThresholdRule, raw: Fraction
    ) -> str:
        f, lo, hi = rule.field, rule.at_least, rule.at_most
        if lo is not None and hi is not None:
            req = f"{bound_text(w, f, lo)}至{bound_text(w, f, hi)}之间"
        elif lo is not None:
            req = f"不低于{bound_text(w, f, lo)}"
        else:
            assert hi is not None
            req = f"不高于{bound_text(w, f, hi)}"
        head = w.head(f, w.value(f))
        if raw != 0:
            return f"{head}，达到{req}的要求，{w.got(mx)}"
        return f"{head}，未达到{req}的要求，{w.got(Fraction(0))}"
