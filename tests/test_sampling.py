"""Cross-check plans and field-visit samples (SPEC §6, §9): invariants, determinism, errors, output."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval.analysis.sampling import (
    Plan,
    UnitRow,
    UnitsError,
    parse_fraction,
    plan,
    plan_report,
    read_units,
    sample,
    sample_report,
    sample_size,
)
from fulian_eval.errors import FulianEvalError

PROPS = settings(max_examples=150, deadline=None)
GROUP_NAMES = ["东片", "西片", "南片", "北片", "中片", "g1", "g2"]


@st.composite
def towns(draw: st.DrawFn, min_size: int = 2, max_size: int = 9) -> list[UnitRow]:
    """Units in 1-4 groups of ``min_size``..``max_size`` units, ids unique, in a random row order."""
    names = draw(st.lists(st.sampled_from(GROUP_NAMES), min_size=1, max_size=4, unique=True))
    rows: list[UnitRow] = []
    n = 0
    for g in names:
        for _ in range(draw(st.integers(min_size, max_size))):
            n += 1
            rows.append(UnitRow(unit=f"u{n:03d}", name=f"村{n}", group=g))
    return draw(st.permutations(rows))


def _groups(units: list[UnitRow]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for u in units:
        out.setdefault(u.group, set()).add(u.unit)
    return out


def _town(*sizes: int) -> list[UnitRow]:
    rows: list[UnitRow] = []
    n = 0
    for g, size in zip(GROUP_NAMES, sizes, strict=False):
        for _ in range(size):
            n += 1
            rows.append(UnitRow(unit=f"u{n:02d}", name=f"村{n}", group=g))
    return rows


# ---------------------------------------------------------------------- plan


@PROPS
@given(towns(), st.integers(0, 10**9))
def test_plan_is_a_derangement_within_each_group(units: list[UnitRow], seed: int) -> None:
    p = plan(units, seed)
    groups = _groups(units)
    group_of = {u.unit: u.group for u in units}
    assert len(p.assignments) == len(units)
    assert Counter(a.assessor for a in p.assignments) == Counter(
        u.unit for u in units
    )  # checks once
    assert Counter(a.unit for a in p.assignments) == Counter(u.unit for u in units)  # checked once
    for a in p.assignments:
        assert a.assessor != a.unit, "a unit checks itself"
        assert group_of[a.assessor] == a.group == group_of[a.unit], "checks outside its group"
    checks = {a.assessor: a.unit for a in p.assignments}
    for a in p.assignments:
        reciprocal = checks[a.unit] == a.assessor
        assert reciprocal == (len(groups[a.group]) == 2), (a, len(groups[a.group]))


@PROPS
@given(towns(min_size=3), st.integers(0, 10**9))
def test_plan_of_groups_of_three_or_more_is_one_cycle_per_group(
    units: list[UnitRow], seed: int
) -> None:
    checks = {a.assessor: a.unit for a in plan(units, seed).assignments}
    for members in _groups(units).values():
        start = min(members)
        seen = [start]
        while checks[seen[-1]] != start:
            seen.append(checks[seen[-1]])
        assert set(seen) == members


@PROPS
@given(towns(), st.integers(0, 10**9), st.randoms(use_true_random=False))
def test_plan_depends_on_seed_and_units_not_row_order(
    units: list[UnitRow], seed: int, rnd: random.Random
) -> None:
    shuffled = list(units)
    rnd.shuffle(shuffled)
    assert plan(shuffled, seed) == plan(units, seed)
    p = plan(units, seed)
    assert list(p.assignments) == sorted(p.assignments, key=lambda a: (a.group, a.assessor))
    assert p.seed == seed


@PROPS
@given(towns(min_size=3), st.integers(0, 10**6))
def test_a_group_is_planned_independently_of_the_other_groups(
    units: list[UnitRow], seed: int
) -> None:
    first = units[0].group
    alone = [u for u in units if u.group == first]
    extra = [
        *units,
        UnitRow(unit="zz-extra-1", group="另一片"),
        UnitRow(unit="zz-extra-2", group="另一片"),
    ]
    mine = [a for a in plan(extra, seed).assignments if a.group == first]
    assert mine == list(plan(alone, seed).assignments)


@PROPS
@given(towns(), st.integers(0, 10**9), st.sampled_from(["孤岛片", "x"]))
def test_a_group_of_one_is_an_error_naming_group_and_unit(
    units: list[UnitRow], seed: int, g: str
) -> None:
    lonely = UnitRow(unit="lonely-unit", group=g)
    with pytest.raises(UnitsError) as info:
        plan([*units, lonely], seed)
    assert len(info.value.problems) == 1
    assert g in str(info.value)
    assert "lonely-unit" in str(info.value)


def test_the_seed_changes_the_plan() -> None:
    units = _town(7)
    plans = {plan(units, seed).assignments for seed in range(20)}
    assert len(plans) > 5


def test_a_group_of_two_checks_each_other() -> None:
    p = plan(_town(2), 3)
    assert [(a.assessor, a.unit) for a in p.assignments] == [("u01", "u02"), ("u02", "u01")]


def test_plan_is_pinned_for_reproducibility() -> None:
    """Published plans must be reproducible by later versions: this pins the algorithm."""
    p = plan(_town(6, 4), 7)
    assert [(a.group, a.assessor, a.unit) for a in p.assignments] == [
        ("东片", "u01", "u02"),
        ("东片", "u02", "u04"),
        ("东片", "u03", "u06"),
        ("东片", "u04", "u03"),
        ("东片", "u05", "u01"),
        ("东片", "u06", "u05"),
        ("西片", "u07", "u08"),
        ("西片", "u08", "u09"),
        ("西片", "u09", "u10"),
        ("西片", "u10", "u07"),
    ]


def test_plan_rejects_duplicate_ids_and_bad_seeds() -> None:
    units = [*_town(3), UnitRow(unit="u01", group="西片")]
    with pytest.raises(UnitsError, match="duplicate unit id 'u01'"):
        plan(units, 1)
    with pytest.raises(UnitsError, match="seed must be a whole number"):
        plan(_town(3), "7")  # type: ignore[arg-type]
    assert plan([], 1) == Plan(seed=1, assignments=())


# -------------------------------------------------------------------- sample


def _expected_size(n: int, fraction: Fraction, min_per_group: int) -> int:
    """Independent oracle: Decimal half-up of fraction × n."""
    exact = Decimal(fraction.numerator) * n / Decimal(fraction.denominator)
    return min(n, max(min_per_group, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))))


fractions_ = st.builds(Fraction, st.integers(1, 1000), st.just(1000))


@PROPS
@given(towns(min_size=1, max_size=60), fractions_, st.integers(0, 10**9), st.integers(0, 5))
def test_sample_sizes_follow_the_formula(
    units: list[UnitRow], fraction: Fraction, seed: int, min_per_group: int
) -> None:
    s = sample(units, fraction, seed, min_per_group)
    groups = _groups(units)
    drawn = Counter(x.group for x in s.sample)
    for g, members in groups.items():
        n = len(members)
        k = drawn.get(g, 0)
        assert k == _expected_size(n, fraction, min_per_group)
        assert min(min_per_group, n) <= k <= n
    assert {c.group: (c.size, c.drawn) for c in s.counts} == {
        g: (len(m), drawn.get(g, 0)) for g, m in groups.items()
    }
    assert all(x.unit in groups[x.group] for x in s.sample)
    assert len({x.unit for x in s.sample}) == len(s.sample)
    assert list(s.sample) == sorted(s.sample, key=lambda x: (x.group, x.unit))


@PROPS
@given(
    towns(min_size=1, max_size=40),
    fractions_,
    st.integers(0, 10**9),
    st.randoms(use_true_random=False),
)
def test_sample_depends_on_seed_and_units_not_row_order(
    units: list[UnitRow], fraction: Fraction, seed: int, rnd: random.Random
) -> None:
    shuffled = list(units)
    rnd.shuffle(shuffled)
    assert sample(shuffled, fraction, seed) == sample(units, fraction, seed)


def test_sample_is_pinned_for_reproducibility() -> None:
    """A published sample must be reproducible by later versions: this pins the draw."""
    s = sample(_town(6, 4), "0.3", 7)
    assert [(x.group, x.unit) for x in s.sample] == [
        ("东片", "u03"),
        ("东片", "u06"),
        ("西片", "u10"),
    ]


def test_the_seed_changes_the_sample() -> None:
    units = _town(30)
    picks = {sample(units, "0.1", seed).sample for seed in range(20)}
    assert len(picks) > 5


@pytest.mark.parametrize(
    ("n", "fraction", "min_per_group", "k"),
    [
        (21, "0.04", 1, 1),  # 0.84 -> 1
        (21, "0.05", 1, 1),  # 1.05 -> 1
        (30, "0.05", 1, 2),  # 1.5 -> 2: half up
        (50, "0.05", 0, 3),  # 2.5 -> 3 (banker's rounding would give 2)
        (10, "0.05", 0, 1),  # 0.5 -> 1 (round() would give 0)
        (9, "0.05", 0, 0),  # 0.45 -> 0
        (3, "0.05", 5, 3),  # 不足量的全查: the whole group
        (21, "1", 1, 21),
    ],
)
def test_sample_size_examples(n: int, fraction: str, min_per_group: int, k: int) -> None:
    frac, _ = parse_fraction(fraction)
    assert sample_size(n, frac, min_per_group) == k
    s = sample(_town(n), fraction, 11, min_per_group)
    assert len(s.sample) == k


@pytest.mark.parametrize(
    ("given_", "value", "text"),
    [
        ("0.04", Fraction(1, 25), "0.04"),
        (" .05 ", Fraction(1, 20), "0.05"),
        ("0.050", Fraction(1, 20), "0.050"),
        ("4E-2", Fraction(1, 25), "0.04"),
        ("5%", Fraction(1, 20), "0.05"),
        ("1/3", Fraction(1, 3), "1/3"),
        (Decimal("0.1"), Fraction(1, 10), "0.1"),
        (Fraction(1, 20), Fraction(1, 20), "0.05"),
        (Fraction(1), Fraction(1), "1"),
    ],
)
def test_fraction_is_exact_and_printed_as_given(
    given_: str | Decimal | Fraction, value: Fraction, text: str
) -> None:
    assert parse_fraction(given_) == (value, text)


@pytest.mark.parametrize(
    "bad", ["0", "-0.1", "1.5", "150%", "abc", "NaN", "Infinity", "", "1/0", Decimal("0")]
)
def test_bad_fractions_are_errors(bad: str | Decimal) -> None:
    with pytest.raises(UnitsError, match="fraction"):
        sample(_town(5), bad, 1)


def test_float_fraction_and_bad_minimum_are_errors() -> None:
    with pytest.raises(UnitsError, match="float"):
        sample(_town(5), 0.05, 1)  # type: ignore[arg-type]
    with pytest.raises(UnitsError, match="min_per_group"):
        sample(_town(5), "0.05", 1, -1)


def test_sample_json_is_exactly_the_spec_shape() -> None:
    s = sample(_town(6, 4), "0.30", 7)
    doc = json.loads(sample_report(s, "json"))
    assert list(doc) == ["seed", "fraction", "sample"]
    assert doc["seed"] == 7
    assert doc["fraction"] == "0.30"
    assert doc["sample"] == [{"unit": x.unit, "group": x.group} for x in s.sample]
    assert [list(x) for x in doc["sample"]] == [["unit", "group"]] * len(s.sample)


def test_plan_json_is_exactly_the_spec_shape() -> None:
    p = plan(_town(3, 2), 7)
    doc = json.loads(plan_report(p, "json"))
    assert list(doc) == ["seed", "assignments"]
    assert doc["seed"] == 7
    assert doc["assignments"][0] == {
        "assessor": "u01",
        "unit": p.assignments[0].unit,
        "group": "东片",
    }
    assert [list(a) for a in doc["assignments"]] == [["assessor", "unit", "group"]] * 5


def test_tables_show_seed_and_chinese_headers() -> None:
    units = _town(3, 2)
    names = {u.unit: u.name for u in units}
    text = plan_report(plan(units, 42), "table", names=names)
    assert "随机种子 seed = 42" in text
    assert "检查组" in text and "被检查单位" in text and "片区" in text
    assert "u01 村1" in text
    text = sample_report(sample(units, "5%", 42), "table")
    assert "随机种子 seed = 42" in text
    assert "抽样比例 fraction = 0.05" in text
    assert "被抽查单位" in text
    assert "不足量的全查" in text


def test_csv_has_a_header_row_and_the_seed() -> None:
    p = plan(_town(3), 5)
    rows = list(csv.DictReader(io.StringIO(plan_report(p, "csv"))))
    assert [(r["assessor"], r["unit"], r["group"], r["seed"]) for r in rows] == [
        (a.assessor, a.unit, a.group, "5") for a in p.assignments
    ]
    s = sample(_town(3, 4), "0.5", 5)
    rows = list(csv.DictReader(io.StringIO(sample_report(s, "csv"))))
    assert [(r["unit"], r["group"], r["seed"], r["fraction"]) for r in rows] == [
        (x.unit, x.group, "5", "0.5") for x in s.sample
    ]


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'xlsx'"):
        plan_report(plan(_town(3), 1), "xlsx")


# ---------------------------------------------------------------- UNITS.csv


def _write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "UNITS.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_read_units_with_or_without_bom(tmp_path: Path, encoding: str) -> None:
    path = _write(
        tmp_path,
        'unit,name,group,extra\nningfeng, 宁锋村 ,宁锋组,x\n\n"a,b","逗号,村",东片,\n',
        encoding,
    )
    rows = read_units(path)
    assert [(r.unit, r.name, r.group, r.line) for r in rows] == [
        ("ningfeng", "宁锋村", "宁锋组", 2),
        ("a,b", "逗号,村", "东片", 4),
    ]


@pytest.mark.usefixtures("english")
def test_missing_column_names_file_line_and_suggests(tmp_path: Path) -> None:
    path = _write(tmp_path, "unit,name,grup\nu1,村,东片\n")
    with pytest.raises(UnitsError) as info:
        read_units(path)
    msg = str(info.value)
    assert f"{path}:1" in msg
    assert "missing column 'group'" in msg
    assert "did you mean 'grup'" in msg
    assert isinstance(info.value, FulianEvalError) and isinstance(info.value, ValueError)


def test_row_problems_are_all_reported_with_lines_and_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "unit,name,group\nu1,甲村,东片\n,乙村,东片\nu1,丙村,西片\nu4,丁村,\nu5,戊村,东片,多余\n",
    )
    with pytest.raises(UnitsError) as info:
        read_units(path)
    problems = info.value.problems
    assert [p.line for p in problems] == [3, 4, 5, 6]
    assert "empty unit id" in problems[0].message and "乙村" in problems[0].message
    assert "duplicate unit id 'u1' (first on line 2)" in problems[1].message
    assert "'u4' has an empty group" in problems[2].message
    assert "'多余'" in problems[3].message
    assert all(p.file == str(path) for p in problems)


def test_a_gbk_units_file_reads_like_utf8(tmp_path: Path) -> None:
    """Units files are read like evidence (SPEC §10.7): GBK, what Chinese Excel saves, is GB18030."""
    text = "unit,name,group\nu1,宁锋村,东片\nu2,花园社区,西片\n"
    (tmp_path / "gbk.csv").write_bytes(text.encode("gbk"))
    (tmp_path / "utf8.csv").write_text(text, encoding="utf-8")
    assert read_units(tmp_path / "gbk.csv") == read_units(tmp_path / "utf8.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"unit,name,group\n", "no units listed"),
        (
            "unit,name,group\nu1,宁锋村,东片\n".encode("latin-1", "replace") + b"\xff\xfe\x81",
            "也不是 GB18030/GBK",
        ),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "UNITS.csv"
    path.write_bytes(content)
    with pytest.raises(UnitsError, match=message):
        read_units(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnitsError, match="cannot read file"):
        read_units(tmp_path / "nope.csv")
