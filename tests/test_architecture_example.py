"""docs/architecture.md's worked example: a new kind is one module, and both engines take it unchanged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

import attrs
import pytest

from fulian_eval import kinds
from fulian_eval.kinds.base import NUMERIC, NUMERIC_WORD, Kind, Ops, PathKey, Reader, Words
from test_kinds import book, engine, run  # noqa: F401  (engine: every example through both engines)


@attrs.frozen(kw_only=True)
class RatioRule:
    part: str
    whole: str

    def reads(self) -> frozenset[str]:
        return frozenset({self.part, self.whole})


class Ratio(Kind):
    name = "ratio"
    keys = frozenset({"part", "whole"})
    summary = "比例：max × part / whole，最高 max 分"

    def build(
        self, r: Reader, t: Mapping[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> RatioRule:
        part = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD, name="part")
        whole = r.field_ref(t, key, label, NUMERIC, NUMERIC_WORD, name="whole")
        return RatioRule(part=part, whole=whole)

    def raw(self, ops: Ops, mx: Fraction, rule: RatioRule) -> Any:
        share = ops.div(ops.read(rule.part), ops.read(rule.whole))
        return ops.mul(ops.const(mx), ops.clamp(share, ops.const(0), ops.const(1)))

    def why(self, w: Words, mx: Fraction, floor: Fraction, rule: RatioRule, raw: Fraction) -> str:
        return f"{w.head(rule.part, w.value(rule.part))}，占{w.head(rule.whole, w.value(rule.whole))}，{w.got(raw)}"


@pytest.fixture(autouse=True)
def ratio_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(kinds.KINDS, "ratio", Ratio())
    yield


BOOK = """
[fields.served]
type = "count"
unit = "户"
title = "已服务户数"

[fields.households]
type = "count"
unit = "户"
title = "户数"

[[categories]]
id = "family"
max = 6

  [[categories.items]]
  id = "served"
  kind = "ratio"
  part = "served"
  whole = "households"
  max = 6
"""


def test_the_new_kind_scores_in_both_engines() -> None:
    rb = book(BOOK)
    # 6 × 150 / 200 = 4.5
    r = run(rb, {"served": 150, "households": 200})
    assert r.item("family.served").points == Fraction(9, 2)
    assert r.item("family.served").reason == "已服务户数150户，占户数200户，得4.5分"
    # more served than households: at most max
    assert run(rb, {"served": 250, "households": 200}).total == 6
    # no households: the share cannot be computed, the item is not applicable (both engines)
    assert run(rb, {"served": 0, "households": 0}).item("family.served").status == "not_applicable"


@pytest.mark.usefixtures("english")
def test_the_new_kind_is_validated_like_every_other() -> None:
    from fulian_eval import RulebookError

    with pytest.raises(RulebookError) as info:
        book(BOOK.replace('whole = "households"', 'whole = "househlds"\n  each = 2'))
    messages = [p.message for p in info.value.problems]
    assert any("unknown field 'househlds'" in m and "households" in m for m in messages), messages
    assert any("'each' is not used by a ratio item" in m for m in messages), messages
