"""rank --sensitivity (SPEC §5): best and worst place over weight perturbations."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval import parse_evidence, parse_rulebook, rank, score
from fulian_eval.analysis.sensitivity import reranked, sensitivity

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
    assert sens.exhaustive and sens.searched == ""
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
@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(0, 10)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([F(1, 20), F(1, 10), F(1, 4)]),
)
def test_actual_rank_lies_between_best_and_worst(
    values: list[tuple[int, int, int]], pct: F
) -> None:
    rb, rs = results(values)
    sens = sensitivity(rb, rs, pct)
    for r in rank(rb, rs):
        key = (r.result.unit.id, r.result.role)
        assert sens.best[key] <= r.rank <= sens.worst[key]
        assert sens.best[key] >= 1 and sens.worst[key] <= len(values)


def test_cli_sensitivity_json() -> None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "rank",
            str(ROOT / "rules" / "town-village-2026.toml"),
            str(ROOT / "examples" / "town" / "evidence"),
            "--sensitivity",
            "10%",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["sensitivity"]["pct"] == "10.00" and doc["sensitivity"]["exhaustive"] is True
    assert doc["sensitivity"]["searched"] == ""  # four weighted base categories: exact
    yangwan = next(row for row in doc["ranking"] if row["unit"] == "yangwan")
    assert (yangwan["best_rank"], yangwan["worst_rank"]) == (8, 11)  # the 3^4 grid said (9, 11)
    for row in doc["ranking"]:
        assert row["best_rank"] <= row["rank"] <= row["worst_rank"]
    assert any(row["best_rank"] != row["worst_rank"] for row in doc["ranking"])
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "rank",
            str(ROOT / "rules" / "town-village-2026.toml"),
            str(ROOT / "examples" / "town" / "evidence"),
            "--sensitivity",
            "lots",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert bad.returncode == 2 and "不是百分数" in bad.stderr


# ------------------------------------------------------------ exact extremes (issue 13 case 20)

TWO = """\
id = "two"
scale = 100
[fields.x]
type = "count"
[fields.y]
type = "count"
[[categories]]
id = "a"
  [[categories.items]]
  id = "x"
  max = 10000
  kind = "count"
  field = "x"
  each = 0.01
[[categories]]
id = "b"
  [[categories.items]]
  id = "y"
  max = 10000
  kind = "count"
  field = "y"
  each = 0.01
"""


def _check_witnesses(rb: Any, rs: list[Any], sens: Any) -> None:
    """Every best and worst place is attained: re-scoring with its witness weighting gives it."""
    lo, hi = 1 - sens.pct, 1 + sens.pct
    for key in sens.best:
        for at, want in (
            (sens.best_at[key], sens.best[key]),
            (sens.worst_at[key], sens.worst[key]),
        ):
            assert len(at) == len(sens.categories) and all(lo <= f <= hi for f in at), (key, at)
            assert reranked(rb, rs, at)[key] == want, (key, at, want)


def test_issue_13_case_20_a_first_place_inside_the_box() -> None:
    # u1 is 0.005 ahead of u0 whatever the weights; which of them rounds up depends on where the weights
    # put u0's total between two rounding steps. At every point of the old 3×3 grid u1 rounds a hundredth
    # ahead (u0 2nd); at a/b = 1.02/0.98 both round to 60.42 and share the first place.
    rb = parse_rulebook(TWO)
    rs = [
        score(rb, parse_evidence(rb, {"unit": {"id": "u0"}, "values": {"x": 904000, "y": 300040}})),
        score(rb, parse_evidence(rb, {"unit": {"id": "u1"}, "values": {"x": 904050, "y": 300090}})),
    ]
    grid = (F(9, 10), F(1), F(11, 10))
    assert all(reranked(rb, rs, f)[("u0", "self")] == 2 for f in itertools.product(grid, repeat=2))
    assert reranked(rb, rs, (F(102, 100), F(98, 100))) == {("u0", "self"): 1, ("u1", "self"): 1}
    sens = sensitivity(rb, rs, F(1, 10))
    assert sens.exhaustive and sens.searched == "" and sens.categories == ("a", "b")
    assert (sens.best[("u0", "self")], sens.worst[("u0", "self")]) == (
        1,
        2,
    )  # the old code said (2, 2)
    assert (sens.best[("u1", "self")], sens.worst[("u1", "self")]) == (1, 1)
    _check_witnesses(rb, rs, sens)


RICH = """\
id = "rich"
scale = 100
tie_break = [{tie}]
[fields.x]
type = "count"
[fields.y]
type = "count"
[fields.z]
type = "count"
[fields.q]
type = "count"
[[categories]]
id = "a"
weight = 30
  [[categories.items]]
  id = "x"
  max = 10
  kind = "count"
  field = "x"
  each = 0.5
[[categories]]
id = "b"
weight = 25
  [[categories.items]]
  id = "y"
  max = 10
  kind = "count"
  field = "y"
  each = 0.5
[[categories]]
id = "c"
weight = 20
applies_when = "z > 0"
  [[categories.items]]
  id = "z"
  max = 10
  kind = "count"
  field = "z"
  each = 0.5
[[categories]]
id = "bonus"
type = "bonus"
max = 3
  [[categories.items]]
  id = "q"
  max = 3
  kind = "count"
  field = "q"
  each = 1
"""


def _rich(values: list[tuple[int, int, int, int]], tie: str) -> tuple[Any, list[Any]]:
    rb = parse_rulebook(RICH.format(tie=tie))
    out = [
        score(
            rb,
            parse_evidence(
                rb, {"unit": {"id": f"u{n}"}, "values": {"x": x, "y": y, "z": z, "q": q}}
            ),
        )
        for n, (x, y, z, q) in enumerate(values)
    ]
    return rb, out


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20), st.integers(0, 3)),
        min_size=2,
        max_size=6,
    ),
    st.sampled_from([F(1, 20), F(1, 10), F(1, 4)]),
    st.sampled_from(["", '"a"', '"c", "b"']),
)
def test_exact_range_covers_a_dense_brute_force(
    values: list[tuple[int, int, int, int]], pct: F, tie: str
) -> None:
    rb, rs = _rich(values, tie)
    sens = sensitivity(rb, rs, pct)
    assert sens.exhaustive and sens.exact == frozenset(sens.best)
    _check_witnesses(rb, rs, sens)
    steps = [
        1 - pct + 2 * pct * F(i, 8) for i in range(9)
    ]  # 729 weightings on a rational grid, corners included
    for f in itertools.product(steps, repeat=3):
        for key, place in reranked(rb, rs, f).items():
            assert sens.best[key] <= place <= sens.worst[key], (key, f, place)


def test_more_weights_than_the_exact_search_takes_say_what_was_searched() -> None:
    extra = "".join(
        f"""
[fields.e{i}]
type = "count"
[[categories]]
id = "e{i}"
  [[categories.items]]
  id = "e{i}"
  max = 10
  kind = "count"
  field = "e{i}"
  each = 1
"""
        for i in range(3)
    )
    rb = parse_rulebook(BOOK + extra)  # six moving weights: more than the exact search takes
    rs = [
        score(
            rb,
            parse_evidence(
                rb,
                {
                    "unit": {"id": f"u{n}"},
                    "values": {"x": n, "y": 10 - n, "z": 5, "e0": n % 3, "e1": 4, "e2": 7 - n},
                },
            ),
        )
        for n in range(6)
    ]
    sens = sensitivity(rb, rs, F(1, 10), seed=3)
    assert not sens.exhaustive and sens.exact == frozenset()
    assert sens.searched == (
        "searched the 729 weightings of the grid −10%, 0, +10% per weight plus 500 seeded "
        "random weightings (seed 3); the true best place may be better and the worst worse"
    )
    _check_witnesses(rb, rs, sens)


def test_a_unit_over_the_work_budget_is_searched_and_said_so(monkeypatch: Any) -> None:
    mod = sys.modules[
        "fulian_eval.analysis.sensitivity"
    ]  # the package exports the function under the same name

    rb, rs = _rich(
        [(20, 0, 3, 0), (0, 20, 3, 1), (10, 10, 10, 0), (9, 11, 12, 1), (12, 7, 0, 2)], '"a"'
    )
    monkeypatch.setattr(mod, "UNIT_BUDGET", 5)
    sens = sensitivity(rb, rs, F(1, 10))
    assert not sens.exhaustive and len(sens.exact) < len(rs)
    assert "exceeded the work budget" in sens.searched and "may be better" in sens.searched
    _check_witnesses(rb, rs, sens)
