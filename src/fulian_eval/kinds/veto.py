"""``veto``: 一票否决 — when the condition holds the unit gets the lowest grade (or a total of 0).

A veto's ``when`` may use ``total`` (the unit's rounded total before vetoes) and
``score("cat")`` (a category's rounded score), SPEC §10.4: 年终考核80分以下一票否决 is
``when = "total < 80"``. Such a veto is judged after every category is scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import attrs

from ..lang.expr import Expr, Name, Not, walk
from ..lang.messages import _
from ..lang.text import reason_number
from .base import Kind, Ops, PathKey, Reader, Skip, V, Words, expr_text, used_values

__all__ = ["EFFECTS", "SCORE_PREFIX", "TOTAL", "Veto", "VetoRule"]

EFFECTS = ("fail", "zero")
#: The name ``total`` in a veto's when, and the prefix of the names ``score("cat")`` is read as.
TOTAL = "total"
SCORE_PREFIX = "score__"


@attrs.frozen(kw_only=True)
class VetoRule:
    when: Expr
    effect: str = "fail"  # fail | zero
    #: ``score("cat")`` calls in ``when``: (the name it is read as, the category id).
    scores: tuple[tuple[str, str], ...] = ()

    @property
    def late(self) -> bool:
        """It reads ``total`` or a category score: judged after the categories are scored."""
        return bool(self.scores) or TOTAL in self.when.names

    def reads(self) -> frozenset[str]:
        """The evidence it reads (not ``total`` nor the category scores)."""
        if not self.late:
            return self.when.names
        return self.when.names - {TOTAL} - {name for name, _ in self.scores}


class Veto(Kind):
    name = "veto"
    keys = frozenset({"when", "effect"})
    summary = '一票否决：条件成立时评为最低等次（effect = "zero"：总分记0）'

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> VetoRule:
        if "when" not in t:
            r.err(key, label, _("a veto item needs 'when' (a condition, e.g. \"fabricated\")"))
            raise Skip
        when, scores = r.veto_expr(t["when"], (*key, "when"), f"{label}.when")
        effect = r.text(t, "effect", key, label, default="fail")
        if effect not in EFFECTS:
            r.err(
                (*key, "effect"),
                f"{label}.effect",
                _("{value} is not allowed; expected {want}{hint}").format(
                    value=f"'{effect}'",
                    want=_("{choices} or '{last}'").format(choices="'fail'", last="zero"),
                    hint="",
                ),
            )
        return VetoRule(when=when, effect=effect, scores=scores)

    def raw(self, ops: Ops, mx: Fraction, rule: VetoRule) -> V:
        """Whether the veto fires (a truth value)."""
        return ops.evaluate(rule.when)

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: VetoRule, raw: Fraction) -> str:
        effect = "总分记0" if rule.effect == "zero" else "评为最低等次"
        if not raw:
            return "未触发一票否决"
        tree = rule.when.tree
        if isinstance(tree, Not) and isinstance(tree.operand, Name):
            tree = tree.operand
        if isinstance(tree, Name) and isinstance(w.value(tree.name), bool):
            # when = "fabricated": 一票否决（台帐资料弄虚作假：是）
            return f"一票否决（{w.title(tree.name)}：{'是' if w.value(tree.name) else '否'}），{effect}"
        scores = dict(rule.scores)

        def title(name: str) -> str:
            if name in scores:
                return f"{w.title(scores[name])}得分"
            return "总分" if name == TOTAL and rule.late else w.title(name)

        # The values it read: evidence by title, then the total and category scores in points.
        late = {TOTAL, *scores} if rule.late else set()
        used = used_values(w, rule.when, skip=late)
        names = dict.fromkeys(
            n.name for n in walk(rule.when.tree) if isinstance(n, Name) and n.name in late
        )
        got = [
            f"{title(n)}{reason_number(w.value(n))}分"
            for n in names
            if isinstance(w.value(n), Fraction)
        ]
        used = "，".join(x for x in (used, *got) if x)
        text = expr_text(w, rule.when, title)
        return f"一票否决（{text}{'：' + used if used else ''}），{effect}"
