"""Ranking (SPEC §5): competition ranks on rounded totals, tie-breaks, vetoed last, groups, roles."""

from __future__ import annotations

import itertools
import random
import textwrap
from fractions import Fraction
from typing import Any

import pytest

from fulian_eval import (
    Ranked,
    Rulebook,
    UnitResult,
    parse_evidence,
    parse_rulebook,
    rank,
    score,
)
from fulian_eval.model.rulebook import UnitInfo
from fulian_eval.scoring.exact import CategoryResult

F = Fraction


def ranking_book(scale: int = 100) -> Rulebook:
    # total = scale × (a + f + o)/100; manual items in steps of 0.01
    return parse_rulebook(
        textwrap.dedent(f"""
        schema = "fulian-eval/rulebook/1"
        id = "rank"
        version = "1"
        scale = {scale}
        tie_break = ["archives", "facilities"]

        [fields.fabricated]
        type = "bool"

        [[categories]]
        id = "archives"
          [[categories.items]]
          id = "a"
          max = 30
          kind = "manual"
          step = 0.01
        [[categories]]
        id = "facilities"
          [[categories.items]]
          id = "f"
          max = 30
          kind = "manual"
          step = 0.01
        [[categories]]
        id = "other"
          [[categories.items]]
          id = "o"
          max = 40
          kind = "manual"
          step = 0.01
          [[categories.items]]
          id = "fraud"
          kind = "veto"
          when = "fabricated"
          effect = "fail"
    """)
    )


def unit(
    rb: Rulebook,
    uid: str,
    a: Any,
    f: Any,
    o: Any,
    *,
    group: str = "东片",
    role: str = "self",
    fabricated: bool = False,
) -> UnitResult:
    ev = parse_evidence(
        rb,
        {
            "unit": {"id": uid, "name": uid, "group": group},
            "assessment": {"role": role},
            "values": {"fabricated": fabricated},
            "points": {"archives.a": str(a), "facilities.f": str(f), "other.o": str(o)},
        },
    )
    return score(rb, ev)


def ranks(ranked: list[Ranked]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.result.unit.id, r.result.role): (r.rank, r.group_rank) for r in ranked}


def order(ranked: list[Ranked]) -> list[str]:
    return [r.result.unit.id for r in ranked]


def test_competition_ranking_1_2_2_4() -> None:
    rb = ranking_book()
    # totals: p 90, q 80, r 80, s 70; q and r also tie on archives (25) and facilities (25)
    results = [
        unit(rb, "s", 20, 20, 30),
        unit(rb, "r", 25, 25, 30),
        unit(rb, "p", 30, 30, 30),
        unit(rb, "q", 25, 25, 30),
    ]
    ranked = rank(rb, results)
    assert [(r.result.unit.id, r.rank) for r in ranked] == [("p", 1), ("q", 2), ("r", 2), ("s", 4)]


def test_rank_on_rounded_totals() -> None:
    rb = ranking_book(scale=50)
    # total = (a + f + o)/2: x = 79.01/2 = 39.505 -> 39.51; y = 79.02/2 = 39.51.
    # archives and facilities equal -> exact totals differ but they share rank 1.
    x = unit(rb, "x", 20, 20, "39.01")
    y = unit(rb, "y", 20, 20, "39.02")
    z = unit(rb, "z", 20, 20, 39)  # 79/2 = 39.50 -> rank 3
    assert x.total == F(39505, 1000)
    assert y.total == F(3951, 100)
    ranked = rank(rb, [z, y, x])
    assert [(r.result.unit.id, r.rank) for r in ranked] == [("x", 1), ("y", 1), ("z", 3)]


def test_tie_break_categories_in_order() -> None:
    rb = ranking_book()
    # all totals 80
    results = [
        unit(rb, "u1", 20, 30, 30),  # archives 20
        unit(rb, "u2", 25, 20, 35),  # archives 25, facilities 20
        unit(rb, "u3", 25, 25, 30),  # archives 25, facilities 25
        unit(rb, "u4", 30, 10, 40),  # archives 30
    ]
    ranked = rank(rb, results)
    # archives first (30 > 25 = 25 > 20), then facilities decides u3 (25) over u2 (20)
    assert [(r.result.unit.id, r.rank) for r in ranked] == [
        ("u4", 1),
        ("u3", 2),
        ("u2", 3),
        ("u1", 4),
    ]


def test_tie_break_not_used_when_totals_differ() -> None:
    rb = ranking_book()
    # m = 10 + 30 + 40 = 80 with archives 10; n = 30 + 30 + 19 = 79 with archives 30 -> total decides
    ranked = rank(rb, [unit(rb, "n", 30, 30, 19), unit(rb, "m", 10, 30, 40)])
    assert [(r.result.unit.id, r.rank) for r in ranked] == [("m", 1), ("n", 2)]


def test_still_equal_share_rank_listed_by_unit_id() -> None:
    rb = ranking_book()
    # identical scores everywhere -> one shared rank, listed by unit id; then rank 4
    results = [
        unit(rb, "charlie", 25, 25, 30),
        unit(rb, "alpha", 25, 25, 30),
        unit(rb, "bravo", 25, 25, 30),
        unit(rb, "aaa-last", 10, 10, 10),
    ]
    ranked = rank(rb, results)
    assert [(r.result.unit.id, r.rank) for r in ranked] == [
        ("alpha", 1),
        ("bravo", 1),
        ("charlie", 1),
        ("aaa-last", 4),
    ]


def _result_with(uid: str, total: Fraction, archives: Fraction) -> UnitResult:
    cats = (
        CategoryResult(id="archives", title="档案", type="base", max=F(30), score=archives),
        CategoryResult(id="facilities", title="设施", type="base", max=F(30), score=F(20)),
        CategoryResult(id="other", title="其他", type="base", max=F(40), score=F(30)),
    )
    return UnitResult(
        unit=UnitInfo(id=uid, group="g"),
        role="self",
        total=total,
        categories=cats,
        items=(),
        grade=None,
    )


def test_tie_break_compares_rounded_category_scores() -> None:
    rb = ranking_book()
    # equal rounded totals 80.00; archives 20.004 vs 20.001 both show 20.00 -> still equal -> shared
    a = _result_with("a", F(80), F(20004, 1000))
    b = _result_with("b", F(80), F(20001, 1000))
    c = _result_with("c", F(80), F(2001, 100))  # 20.01 beats both
    ranked = rank(rb, [a, b, c])
    assert [(r.result.unit.id, r.rank) for r in ranked] == [("c", 1), ("a", 2), ("b", 2)]


def test_vetoed_units_rank_after_all_others() -> None:
    rb = ranking_book()
    results = [
        unit(rb, "top", 30, 30, 40, fabricated=True),  # 100 but vetoed
        unit(rb, "mid", 20, 20, 30, fabricated=True),  # 70, vetoed
        unit(rb, "p", 25, 25, 30),  # 80
        unit(rb, "q", 5, 5, 5),  # 15
        unit(rb, "r", 25, 25, 30),  # 80
    ]
    ranked = rank(rb, results)
    assert [(r.result.unit.id, r.rank) for r in ranked] == [
        ("p", 1),
        ("r", 1),
        ("q", 3),
        ("top", 4),
        ("mid", 5),
    ]
    assert ranked[3].result.vetoed and ranked[3].result.total == F(100)


def test_group_ranks() -> None:
    rb = ranking_book()
    results = [
        unit(rb, "e1", 30, 30, 30, group="东片"),  # 90
        unit(rb, "e2", 20, 20, 20, group="东片"),  # 60
        unit(rb, "e3", 20, 20, 20, group="东片"),  # 60
        unit(rb, "w1", 25, 25, 35, group="西片"),  # 85
        unit(rb, "w2", 30, 30, 35, group="西片", fabricated=True),  # 95 vetoed
        unit(rb, "w3", 10, 10, 10, group="西片"),  # 30
    ]
    got = ranks(rank(rb, results))
    assert got == {
        ("e1", "self"): (1, 1),
        ("w1", "self"): (2, 1),
        ("e2", "self"): (3, 2),
        ("e3", "self"): (3, 2),
        ("w3", "self"): (5, 2),
        ("w2", "self"): (6, 3),
    }


def test_shuffling_input_never_changes_ranks() -> None:
    rb = ranking_book()
    results = [
        unit(rb, "a", 25, 25, 30, group="g1"),
        unit(rb, "b", 25, 25, 30, group="g2"),
        unit(rb, "c", 30, 20, 30, group="g1"),
        unit(rb, "d", 20, 30, 30, group="g2"),
        unit(rb, "e", 30, 30, 40, group="g1", fabricated=True),
        unit(rb, "f", 10, 10, 10, group="g2"),
        unit(rb, "g", 29, 29, 29, group="g1"),
    ]
    expected_ranks = {
        # totals: a 80, b 80, c 80 (archives 30), d 80 (archives 20), g 87, f 30, e vetoed
        ("g", "self"): (1, 1),
        ("c", "self"): (2, 2),
        ("a", "self"): (3, 3),
        ("b", "self"): (3, 1),
        ("d", "self"): (5, 2),
        ("f", "self"): (6, 3),
        ("e", "self"): (7, 4),
    }
    expected_order = ["g", "c", "a", "b", "d", "f", "e"]
    rng = random.Random(20261120)
    perms = [list(p) for p in itertools.islice(itertools.permutations(results), 0, 720, 97)]
    for _ in range(20):
        shuffled = list(results)
        rng.shuffle(shuffled)
        perms.append(shuffled)
    for p in perms:
        ranked = rank(rb, p)
        assert ranks(ranked) == expected_ranks
        assert order(ranked) == expected_order


def test_roles_ranked_separately() -> None:
    rb = ranking_book()
    results = [
        unit(rb, "a", 30, 30, 30, role="self"),  # 90
        unit(rb, "b", 20, 20, 20, role="self"),  # 60
        unit(rb, "a", 10, 10, 10, role="town"),  # 30
        unit(rb, "b", 20, 20, 20, role="town"),  # 60
        unit(rb, "c", 25, 25, 25, role="peer"),  # 75 — alone in its role
    ]
    got = ranks(rank(rb, results))
    assert got[("a", "self")] == (1, 1)
    assert got[("b", "self")] == (2, 2)
    assert got[("b", "town")] == (1, 1)
    assert got[("a", "town")] == (2, 2)
    assert got[("c", "peer")] == (1, 1)


@pytest.mark.parametrize("n", [1, 2])
def test_single_and_pair(n: int) -> None:
    rb = ranking_book()
    results = [unit(rb, f"u{i}", 10, 10, 10) for i in range(n)]
    assert [r.rank for r in rank(rb, results)] == [1] * n
