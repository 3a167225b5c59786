"""rank --sensitivity (SPEC §5): best and worst place over weight perturbations."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval import parse_evidence, parse_rulebook, rank, score
from fulian_eval.sensitivity import sensitivity

ROOT = Path(__file__).resolve().parent.parent

BOOK = """\
id = "s"
scale = 100
[fields.x]
type = "count"
[fields.y]
type = "count"
[fields.z]
type = "count"
[[categories]]
id = "a"
  [[categories.items]]
  id = "x"
  max = 10
  kind = "count"
  field = "x"
  each = 1
[[categories]]
id = "b"
  [[categories.items]]
  id = "y"
  max = 10
  kind = "count"
  field = "y"
  each = 1
[[categories]]
id = "c"
  [[categories.items]]
  id = "z"
  max = 10
  kind = "count"
  field = "z"
  each = 1
"""


def results(values: list[tuple[int, int, int]]) -> tuple[Any, list[Any]]:
    rb = parse_rulebook(BOOK)
    out = []
    for n, (x, y, z) in enumerate(values):
        ev = parse_evidence(rb, {"unit": {"id": f"u{n}"}, "values": {"x": x, "y": y, "z": z}})
        out.append(score(rb, ev))
    return rb, out


def test_weights_decide_a_close_race() -> None:
    # u0 strong in a (10, 6, 5), u1 in b (6, 10, 5): equal at 70 each with equal weights;
    # a +10 % / b −10 % puts u0 first, the reverse puts u1 first
    rb, rs = results([(10, 6, 5), (6, 10, 5), (1, 1, 1)])
    assert [r.rank for r in rank(rb, rs)] == [1, 1, 3]
    sens = sensitivity(rb, rs, F(1, 10))
    assert sens.exhaustive and sens.weightings == 27
    assert (sens.best[("u0", "self")], sens.worst[("u0", "self")]) == (1, 2)
    assert (sens.best[("u1", "self")], sens.worst[("u1", "self")]) == (1, 2)
    assert (sens.best[("u2", "self")], sens.worst[("u2", "self")]) == (3, 3)


def test_zero_perturbation_keeps_every_rank() -> None:
    rb, rs = results([(10, 6, 5), (6, 10, 5), (1, 1, 1), (3, 9, 9)])
    sens = sensitivity(rb, rs, F(0))
    for r in rank(rb, rs):
        key = (r.result.unit.id, r.result.role)
        assert sens.best[key] == sens.worst[key] == r.rank


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)), min_size=1, max_size=8),
       st.sampled_from([F(1, 20), F(1, 10), F(1, 4)]))
def test_actual_rank_lies_between_best_and_worst(values: list[tuple[int, int, int]], pct: F) -> None:
    rb, rs = results(values)
    sens = sensitivity(rb, rs, pct)
    for r in rank(rb, rs):
        key = (r.result.unit.id, r.result.role)
        assert sens.best[key] <= r.rank <= sens.worst[key]
        assert sens.best[key] >= 1 and sens.worst[key] <= len(values)


def test_cli_sensitivity_json() -> None:
    p = subprocess.run([sys.executable, "-m", "fulian_eval", "rank", str(ROOT / "rules" / "town-village-2026.toml"),
                        str(ROOT / "examples" / "town" / "evidence"), "--sensitivity", "10%", "--format", "json"],
                       capture_output=True, text=True, encoding="utf-8")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["sensitivity"]["pct"] == "10.00" and doc["sensitivity"]["exhaustive"] is True
    assert doc["sensitivity"]["weightings"] == 3**4  # four weighted base categories
    for row in doc["ranking"]:
        assert row["best_rank"] <= row["rank"] <= row["worst_rank"]
    assert any(row["best_rank"] != row["worst_rank"] for row in doc["ranking"])
    bad = subprocess.run([sys.executable, "-m", "fulian_eval", "rank", str(ROOT / "rules" / "town-village-2026.toml"),
                          str(ROOT / "examples" / "town" / "evidence"), "--sensitivity", "lots"],
                         capture_output=True, text=True, encoding="utf-8")
    assert bad.returncode == 2 and "percentage" in bad.stderr
