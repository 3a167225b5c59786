"""Ranks from compact arrays (stream.rank_table) equal the per-unit ranking (rank.rank)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval import load_rulebook, rank
from fulian_eval.analysis.rank import rank_table
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import Table

ROOT = Path(__file__).resolve().parent.parent
RB = load_rulebook(ROOT / "rules" / "town-village-2026.toml")
PLAN = compile_plan(RB)

_ids = st.text(
    alphabet=st.sampled_from(["a", "b", "z", "0", "9", "_", "-", "村", "社", "é", "𝔸"]),
    min_size=1,
    max_size=12,
)
_unit = st.tuples(
    _ids,
    st.sampled_from(["self", "peer", "town", "field"]),
    st.sampled_from(["东片", "西片", "", "北片"]),
    st.integers(0, 4),
    st.booleans(),
    st.integers(0, 3),
    st.integers(0, 3),
)


def _table(units: list[tuple[str, str, str, int, bool, int, int]]) -> Table:
    t = Table(plan=PLAN)
    n = len(units)
    n_cats, n_items = len(PLAN.cats), len(PLAN.items)
    cat_ids = [c.id for c, _ in PLAN.cats]
    cat_h = np.zeros((n, n_cats), dtype=np.int32)
    for i, (uid, role, group, _total, _vetoed, a, f) in enumerate(units):
        t.unit.append(uid)
        t.name.append(uid)
        t.group.append(group)
        t.kind.append("")
        t.role.append(role)
        t.group_code.append(t.groups.setdefault(group, len(t.groups)))
        t.role_code.append(t.roles.setdefault(role, len(t.roles)))
        t.file_of.append(t.file_index("x.csv"))
        t.rowno.append(i + 2)
        t.flag_code.append(0)
        cat_h[i, cat_ids.index("archives")] = a * 50
        cat_h[i, cat_ids.index("floating")] = f * 50
    t.total_h = np.array([u[3] * 25 for u in units], dtype=np.int64)
    t.vetoed = np.array([u[4] for u in units], dtype=bool)
    t.grade = np.full(n, -1, dtype=np.int16)
    t.cat_h = cat_h
    t.cat_ok = np.ones((n, n_cats), dtype=bool)
    t.item_h = np.zeros((n, n_items), dtype=np.int32)
    t.id_bytes = np.array([u[0].encode("utf-8") for u in units], dtype=np.bytes_)
    return t


@settings(max_examples=300)
@given(st.lists(_unit, min_size=1, max_size=40, unique_by=lambda u: (u[0], u[1])))
def test_rank_table_equals_rank(units: list[tuple[str, str, str, int, bool, int, int]]) -> None:
    t = _table(units)
    r = rank_table(t)
    want = rank(RB, [t.summary(i) for i in range(len(t))])
    got = [(t.unit[i], t.role[i], int(r.rank[i]), int(r.group_rank[i])) for i in r.order.tolist()]
    assert got == [(w.result.unit.id, w.result.role, w.rank, w.group_rank) for w in want]


def test_ties_are_listed_by_id_as_python_orders_strings() -> None:
    units = [
        (uid, "self", "东片", 2, False, 1, 1) for uid in ["村b", "z", "a9", "a10", "𝔸", "é", "a"]
    ]
    r = rank_table(_table(units))
    assert [units[i][0] for i in r.order.tolist()] == sorted(u[0] for u in units)
    assert set(r.rank.tolist()) == {1}


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(-(2**40), 2**40), st.integers(0, 3), st.integers(-(2**40), 2**40)),
        min_size=1,
        max_size=30,
    )
)
def test_packed_keys_order_like_tuples_even_when_too_wide_for_one_word(
    rows: list[tuple[int, int, int]],
) -> None:
    from fulian_eval.analysis.rank import _pack_keys

    keys = [np.array([r[k] for r in rows], dtype=np.int64) for k in range(3)]
    packed = _pack_keys(keys).tolist()
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (packed[i] < packed[j]) == (rows[i] < rows[j])
            assert (packed[i] == packed[j]) == (rows[i] == rows[j])
