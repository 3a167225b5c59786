"""``tiers``: points by the highest tier reached (≥98% 5分, ≥95% 3分 …)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.messages import N_, _
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
    bound_value,
    fmt,
    read_bound,
    show_value,
    type_name,
)

__all__ = ["Tier", "Tiers", "TiersRule"]


@attrs.frozen(kw_only=True)
class Tier:
    at_least: Bound  # a number, or a value read from evidence (SPEC §10.4)
    points: Fraction


@attrs.frozen(kw_only=True)
class TiersRule:
    field: str
    tiers: tuple[Tier, ...]  # highest at_least first (the first tier reached, in this order, wins)

    def reads(self) -> frozenset[str]:
        return frozenset({self.field}) | bound_names(*(t.at_least for t in self.tiers))


class Tiers(Kind):
    name = "tiers"
    keys = frozenset({"field", "tiers"})
    summary = "分档：按达到的最高一档得分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> TiersRule:
        field = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD)
        unit = r.unit_of(field)
        raw = t.get("tiers")
        if not isinstance(raw, list) or not raw:
            r.err(
                (*key, "tiers"),
                f"{label}.tiers",
                _(
                    'expected a list like [{{at_least = "98 %", points = 5}}, …], highest first'
                ).format(),
            )
            raise Skip
        tiers: list[Tier] = []
        for i, tier in enumerate(raw):
            tkey: PathKey = (*key, "tiers", i)
            tlabel = f"{label}.tiers[{i}]"
            if not isinstance(tier, dict):
                r.err(
                    tkey,
                    tlabel,
                    _("{value} is {type}; expected {want}").format(
                        value=show_value(tier),
                        type=type_name(tier),
                        want="{at_least = …, points = …}",
                    ),
                )
                continue
            r.unknown_keys(tier, {"at_least", "points"}, tkey, N_("a tier"), label=tlabel)
            try:
                at = r.bound_ref(tier, "at_least", tkey, tlabel, unit, required=True)
                pts = r.points(tier, "points", tkey, tlabel, required=True)
            except Skip:
                continue
            assert at is not None and pts is not None
            if pts > mx:
                r.err(
                    tkey,
                    f"{tlabel}.points",
                    _("{value} is above the item's max {max}").format(value=fmt(pts), max=fmt(mx)),
                )
            last = tiers[-1].at_least if tiers else None
            if isinstance(at, Fraction) and isinstance(last, Fraction) and at >= last:
                r.err(
                    tkey,
                    f"{tlabel}.at_least",
                    _(
                        "tiers must go from the highest at_least down; {value} is not below {last}"
                    ).format(value=fmt(at), last=fmt(last)),
                )
            tiers.append(Tier(at_least=at, points=pts))
        return TiersRule(field=field, tiers=tuple(tiers))

    def raw(self, ops: Ops, mx: Fraction, rule: TiersRule) -> V:
        v = ops.read(rule.field)
        return ops.select(
            [
                (ops.cmp(">=", v, read_bound(ops, t.at_least)), ops.const(t.points))
                for t in rule.tiers
            ],
            ops.const(0),
        )

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: TiersRule, raw: Fraction) -> str:
        f = rule.field
        v = w.value(f)
        hit = next((t for t in rule.tiers if v >= bound_value(w, t.at_least)), None)
        head = w.head(f, v)
        if hit is None:
            return f"{head}，低于{bound_text(w, f, rule.tiers[-1].at_least)}，{w.got(Fraction(0))}"
        return f"{head}，不低于{bound_text(w, f, hit.at_least)}，{w.got(hit.points)}"
