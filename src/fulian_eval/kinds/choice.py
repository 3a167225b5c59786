"""``choice``: points by which option a choice field took (健全 5分, 欠规范 3分, 不健全 1分).

``points = {"健全" = 5, "欠规范" = 3, "不健全" = 1}`` over the options of a choice field
(SPEC §10.4, §10.6); an option not listed scores 0. In a deduction or penalty category
the option's points are its deduction (扣X分), as for ``tiers``. Without a ``max`` there,
the item deducts at most its largest points: that is its cap, so ``on_missing = "worst"``
deducts it (SPEC §10.10 "Worst needs a cap").
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import option_hint
from ..lang.messages import N_, _
from .base import Kind, Ops, PathKey, Reader, Skip, V, Words, fmt, is_number, show_value, type_name

__all__ = ["Choice", "ChoiceRule"]


@attrs.frozen(kw_only=True)
class ChoiceRule:
    field: str
    #: (option, points) in the order written; options not listed score 0.
    points: tuple[tuple[str, Fraction], ...]

    def reads(self) -> frozenset[str]:
        return frozenset({self.field})

    def table(self) -> dict[str, Fraction]:
        return dict(self.points)


class Choice(Kind):
    name = "choice"
    keys = frozenset({"field", "points"})
    summary = "选项：按所选选项得分（未列出的选项不得分）"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> ChoiceRule:
        field = r.field_ref(
            t, key, label, ("choice",), N_('a choice field (type = "choice" with options)')
        )
        options = r.options_of(field)
        if not options:
            raise Skip  # the field's options are wrong, and reported already
        raw = t.get("points")
        example = _('e.g. points = {{"健全" = 5, "欠规范" = 3}}').format()
        if not isinstance(raw, dict) or not raw:
            if raw is None:
                r.err(
                    key,
                    label,
                    _("'points' is required (points per option of '{field}', {example})").format(
                        field=field, example=example
                    ),
                )
            else:
                r.err(
                    (*key, "points"),
                    f"{label}.points",
                    _("{value} is {type}; expected {want}").format(
                        value=show_value(raw) if raw != {} else "{}",
                        type=type_name(raw) if raw != {} else _("empty"),
                        want=_("a table of option -> points, {example}").format(example=example),
                    ),
                )
            raise Skip
        points: list[tuple[str, Fraction]] = []
        for option, value in raw.items():
            pkey: PathKey = (*key, "points", option)
            plabel = f'{label}.points."{option}"'
            if option not in options:
                r.err(
                    pkey,
                    plabel,
                    _("'{option}' is not an option of '{field}'{hint}; options: {options}").format(
                        option=option,
                        field=field,
                        hint=option_hint(option, options),
                        options="、".join(options),
                    ),
                )
                continue
            if not is_number(value):
                r.err(
                    pkey,
                    plabel,
                    _("{value} is {type}; expected {want}").format(
                        value=show_value(value), type=type_name(value), want=_("a number of points")
                    ),
                )
                continue
            try:
                pts = r.points(raw, option, (*key, "points"), f"{label}.points", required=True)
            except Skip:
                continue
            assert pts is not None
            if pts < 0:
                r.err(
                    pkey,
                    plabel,
                    _("{value} must not be below 0 (an option not listed scores 0)").format(
                        value=fmt(pts)
                    ),
                )
            elif pts > mx:
                r.err(
                    pkey,
                    plabel,
                    _("{value} is above the item's max {max}").format(value=fmt(pts), max=fmt(mx)),
                )

            points.append((option, pts))
        return ChoiceRule(field=field, points=tuple(points))

    def implied_max(self, t: Mapping[str, Any]) -> Fraction | None:
        raw = t.get("points")
        if not isinstance(raw, dict):
            return None
        got = [Fraction(v) for v in raw.values() if is_number(v)]
        return max(got) if got and max(got) > 0 else None

    def raw(self, ops: Ops, mx: Fraction, rule: ChoiceRule) -> V:
        return ops.lookup(ops.read(rule.field), rule.table(), Fraction(0))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: ChoiceRule, raw: Fraction) -> str:
        return f"{w.title(rule.field)}：{w.value(rule.field)}，{w.got(raw)}"
