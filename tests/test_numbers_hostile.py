"""Issue 13, cases 3, 4, 10 and 19: numbers, units and rulebooks that crashed, hung or misled.

Each value is rejected where it stands (that unit, file or row, by name; the rest
scored) or, in a rulebook, listed by ``validate``; nothing hangs, and the table path
never gives another answer than the per-unit path. The end-to-end cases are in
``tests/data/hostile/numbers`` (run by ``tests/test_hostile.py``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import attrs
import pytest

from fulian_eval import RulebookError, load_rulebook, parse_rulebook
from fulian_eval.lang.units import UnitError, conversion_factor, normalize_unit
from fulian_eval.lang.values import (
    MAX_DEPTH,
    BadNumber,
    TomlProblem,
    ValueProblem,
    bounded,
    loads_toml,
    parse_number,
)
from fulian_eval.scoring.columnar import Unsupported, compile_plan

# These tests are about the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
ACCEPTANCE = ROOT / "tests" / "data" / "acceptance"
RULEBOOK = ACCEPTANCE / "town-2026.toml"


def _cli(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


# ------------------------------------------------------------- numbers (3, 4, 19)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (Decimal("NaN"), "NaN is not a number"),
        (Decimal("-Infinity"), "-Infinity is not a finite number; write the figure"),
        (Decimal("1e999999999"), "1E+999999999 is too large; numbers below 1e31 are read"),
        (Decimal("1e-31"), "1E-31 is too small"),
        (10**31, "10000000000000000000000000000000 is too large"),
        (Decimal("1." + "1" * 60), "has 61 significant digits; at most 60 are read"),
        ("1e999999999", "'1e999999999' is too large"),
        ("1e99999999999999999999", "'1e99999999999999999999' is too large"),
        ("1e-99999999999999999999", "is too small"),
        ("1" * 5000, "'111111111111111111111111…(5000 characters)' is not a number"),
        ("1" * 100, "has 100 significant digits; at most 60 are read"),
        ("1" * 32, "is too large"),
    ],
)
def test_numbers_out_of_bounds_are_value_problems(raw: object, message: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_number(raw, "")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("raw", "unit", "value"),
    [
        ("1e5", "", Fraction(100000)),
        ("1.45e2 m^2", "m^2", Fraction(145)),
        ("2E-2", "", Fraction(1, 50)),
        ("1e30", "", Fraction(10**30)),
        ("0e999999999", "", Fraction(0)),
        (Decimal("0E+999999999"), "", Fraction(0)),
        ("1" * 30, "", Fraction(int("1" * 30))),
        (Decimal("1e-30"), "", Fraction(1, 10**30)),
    ],
)
def test_scientific_notation_and_the_bounds_themselves_are_read(
    raw: object, unit: str, value: Fraction
) -> None:
    assert parse_number(raw, unit) == (value, False)


def test_bounded_never_builds_a_huge_integer() -> None:
    with pytest.raises(ValueProblem, match="is too large"):
        bounded(
            16**20000
        )  # 24,000 digits: str() would be refused, so the message estimates the size
    with pytest.raises(ValueProblem, match="a number of about"):
        bounded(16**20000)


def test_loads_toml_marks_bad_numbers_and_bounds_nesting() -> None:
    data = loads_toml("a = nan\nb = inf\nc = 1e400\nd = 1.5\ne = 0x" + "F" * 5000 + "\nf = 12\n")
    assert all(isinstance(data[k], BadNumber) for k in "abce")
    assert data["d"] == Decimal("1.5") and data["f"] == 12
    assert data["e"].reason.startswith("a number of about 6001 digits is too large")
    with pytest.raises(TomlProblem, match="nested too deeply"):
        loads_toml("a = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(TomlProblem, match="nested too deeply"):
        loads_toml("a = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads_toml("a = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    with pytest.raises(TomlProblem) as info:
        loads_toml("x = 1\ny = " + "1" * 5000)
    assert info.value.line == 2 and "thousands of digits" in info.value.message


# ------------------------------------------------------------------ units (4)


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("m*10**10**10", "unit 'm*10**10**10' cannot be read at '10**10**10'"),
        ("m^1000000000", "power 1000000000 is not allowed"),
        ("m^5", "power 5 is not allowed"),
        ("(m)", "cannot be read at '(m)'"),
        ("m//m", "'/' must stand between two unit names"),
        ("m^2^2", "a power must follow a unit name"),
        ("m" * 41, "is too long (at most 40 characters)"),
        ("Qm^4/qm^2", "multiplies by about 1e180, beyond 1e±20"),
    ],
)
def test_units_outside_the_grammar_never_reach_pint(unit: str, message: str) -> None:
    with pytest.raises(UnitError) as info:
        conversion_factor(unit, "m^2")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("unit", "to", "factor"),
    [
        ("m·m", "m^2", Fraction(1)),
        ("m m", "m^2", Fraction(1)),
        ("m * m", "m^2", Fraction(1)),
        ("km**2", "m^2", Fraction(10**6)),
        ("m³", "m^3", Fraction(1)),
        ("元/人", "万元/人", Fraction(1, 10000)),
        ("kg*m/s^2", "N", Fraction(1)),
        ("m^-2", "1 / m**2".replace("1 / m**2", "cm^-2"), Fraction(1, 10000)),
    ],
)
def test_units_inside_the_grammar_still_convert(unit: str, to: str, factor: Fraction) -> None:
    assert conversion_factor(unit, to) == factor
    assert normalize_unit(unit) == unit


# ------------------------------------------------------------- evidence (3, 4)


def _town(tmp: Path, value: str) -> Path:
    ev = tmp / "ev"
    ev.mkdir()
    for name in ("yufeng", "xinqiao"):
        (ev / f"{name}.toml").write_bytes((ACCEPTANCE / "evidence" / f"{name}.toml").read_bytes())
    text = (ACCEPTANCE / "evidence" / "ningfeng.toml").read_text(encoding="utf-8")
    assert "\nroom_area = " in text
    lines = [
        f"room_area = {value}" if ln.startswith("room_area = ") else ln for ln in text.splitlines()
    ]
    (ev / "ningfeng.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ev


_OTHERS = {"yufeng": "91.50", "xinqiao": "67.44"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "values.room_area: nan is not a number"),
        ("inf", "values.room_area: inf is not a finite number"),
        ("1e999999999", "values.room_area: 1e999999999 is too large"),
        ('"120 m*10**10**10"', "unit 'm*10**10**10' cannot be read at '10**10**10'"),
        (
            '"' + "9" * 5000 + '"',
            "values.room_area: '999999999999999999999999…(5000 characters)' is not a number",
        ),
        ("9" * 5000, "cannot read: a number of thousands of digits"),
        ("[" * 3000 + "]" * 3000, "cannot read: tables or arrays are nested too deeply"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_one_bad_toml_value_rejects_that_unit_only(
    tmp_path: Path, value: str, message: str, fmt: str
) -> None:
    ev = _town(tmp_path, value)
    r = _cli("score", str(RULEBOOK), str(ev), "--format", fmt, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "ningfeng.toml" in r.stderr and message in r.stderr
    if fmt == "json":
        got = {u["unit"]: u["total"] for u in json.loads(r.stdout)["units"]}
    else:
        got = {row["unit"]: row["total"] for row in csv.DictReader(io.StringIO(r.stdout))}
    assert got == _OTHERS


def test_a_huge_or_arithmetic_csv_cell_rejects_that_row_in_both_paths(tmp_path: Path) -> None:
    src = list(
        csv.reader(
            io.StringIO((ROOT / "examples" / "town" / "town.csv").read_text(encoding="utf-8-sig"))
        )
    )
    col = src[0].index("room_area[m^2]")
    bad = {1: "9" * 5000, 2: "120 m*10**10**10", 3: "1e999999999", 4: "1.2e2"}
    rows = [list(r) for r in src[:6]]
    for i, cell in bad.items():
        rows[i][col] = cell
    path = tmp_path / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    totals = []
    for fmt in ("csv", "json"):  # csv: the columns; json: unit by unit
        r = _cli(
            "score", str(ROOT / "rules" / "town-village-2026.toml"), str(path), "--format", fmt
        )
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr
        for rowno in (2, 3, 4):
            assert f"t.csv row {rowno}: column 'room_area[m^2]'" in r.stderr
        assert "row 5" not in r.stderr  # 1.2e2 is 120
        if fmt == "json":
            totals.append({u["unit"]: u["total"] for u in json.loads(r.stdout)["units"]})
        else:
            totals.append(
                {row["unit"]: row["total"] for row in csv.DictReader(io.StringIO(r.stdout))}
            )
    assert totals[0] == totals[1] and set(totals[0]) == {rows[4][0], rows[5][0]}


# ---------------------------------------------------------------- rulebooks (4)


def test_extends_a_device_or_fifo_is_refused_without_reading(tmp_path: Path) -> None:
    body = RULEBOOK.read_text(encoding="utf-8")
    os.mkfifo(tmp_path / "base.toml")
    for target in ("/dev/zero", "base.toml"):
        rb = tmp_path / "rb.toml"
        rb.write_text(f'extends = "{target}"\n' + body, encoding="utf-8")
        r = _cli("validate", str(rb), timeout=30)
        assert r.returncode == 2
        assert (
            f"rb.toml:1: extends: cannot use '{target}'" in r.stderr
            and "not a regular file" in r.stderr
        )
    r = _cli("validate", str(tmp_path / "base.toml"), timeout=30)
    assert r.returncode == 2 and "not a regular file" in r.stderr


def test_a_rulebook_above_the_size_bound_is_refused(tmp_path: Path) -> None:
    from fulian_eval.io.load import MAX_RULEBOOK_BYTES

    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(MAX_RULEBOOK_BYTES + 1)
    with pytest.raises(
        RulebookError, match=f"a rulebook file may hold at most {MAX_RULEBOOK_BYTES:,} bytes"
    ):
        load_rulebook(big)


# ------------------------------------------------------------------ scale (19)


def test_scale_zero_is_refused_not_replaced_by_the_default() -> None:
    text = RULEBOOK.read_text(encoding="utf-8").replace("scale   = 100", "scale = 0", 1)
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text, "rb.toml")
    assert [str(p) for p in info.value.problems] == [
        "rb.toml:5: scale: 0 must be above 0 (or leave scale out for the sum of the base categories' max, 100)"
    ]


# ---------------------------------------------------- the table path (10)


def _items(n: int, each: int) -> str:
    return "".join(
        f"""
  [[categories.items]]
  id = "i{k}"
  max = {each}
  kind = "count"
  field = "books"
  each = 1
"""
        for k in range(n)
    )


def _big_rulebook(n: int, each: int, scale: int) -> str:
    return f"""id = "big"
scale = {scale}
[fields.books]
type = "count"
[fields.bonus]
type = "count"
[[grades]]
name = "优秀"
min = {scale - 1}
[[categories]]
id = "base"
{_items(n, each)}
[[categories]]
id = "extra"
type = "bonus"
  [[categories.items]]
  id = "b"
  max = {each}
  kind = "count"
  field = "bonus"
  each = 1
"""


@pytest.mark.parametrize(
    ("n", "each", "scale"),
    [
        (3, 10_000, 10_000),  # the bounds validate allows: the columns hold them exactly
        (
            2200,
            10_000,
            100,
        ),  # 22 million points in one category: beyond int32 hundredths, so unit by unit
    ],
)
def test_json_and_csv_give_the_same_totals_at_the_bounds(
    tmp_path: Path, n: int, each: int, scale: int
) -> None:
    rb = tmp_path / "big.toml"
    rb.write_text(_big_rulebook(n, each, scale), encoding="utf-8")
    table = tmp_path / "t.csv"
    rows = [
        "unit,name,group,books,bonus",
        "a,甲,东,10000,10000",
        "b,乙,东,9999,1",
        "c,丙,东,5000,0",
        "d,丁,东,1,9999",
        "e,戊,东,0,0",
    ]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    json_r = _cli("score", str(rb), str(table), "--format", "json", timeout=120)
    csv_r = _cli("score", str(rb), str(table), "--format", "csv", timeout=120)
    assert json_r.returncode == 0 and csv_r.returncode == 0, (json_r.stderr, csv_r.stderr)
    by_json = {
        u["unit"]: (u["total"], *(c["score"] for c in u["categories"]))
        for u in json.loads(json_r.stdout)["units"]
    }
    by_csv = {
        row["unit"]: (row["total"], row["base"], row["extra"])
        for row in csv.DictReader(io.StringIO(csv_r.stdout))
    }
    assert by_json == by_csv
    assert (
        by_json["a"][1] == f"{n * each}.00"
    )  # the category's points: int32 hundredths wrapped these
    assert (
        by_json["a"][0] == f"{scale + 10_000}.00"
    )  # full marks plus the bonus, not 0.00 from a wrapped int32


def test_the_plan_hands_rulebooks_it_cannot_hold_to_the_per_unit_path() -> None:
    rb = parse_rulebook(_big_rulebook(3, 10_000, 10_000), "big.toml")
    compile_plan(rb)  # within the bounds
    cat = rb.categories[0]
    huge = attrs.evolve(
        cat,
        items=tuple(attrs.evolve(i, max=Fraction(20_000_000)) for i in cat.items),
        max=Fraction(60_000_000),
    )
    with pytest.raises(Unsupported, match="beyond the columns' integers"):
        compile_plan(attrs.evolve(rb, categories=(huge, *rb.categories[1:])))
    with pytest.raises(Unsupported, match="beyond the columns' integers"):
        compile_plan(attrs.evolve(rb, scale=Fraction(10**17)))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("scale   = 100", "scale = 1e20", "scale: 100000000000000000000 points is beyond 10000"),
        ("max = 10", "max = 1e17", "max: 100000000000000000 points is beyond ±10000"),
        ('at_least = "98 %"', "at_least = 1e400", "at_least: 1e400 is too large"),
        (
            'expr = "registered / floating_population * 100"',
            'expr = "registered / floating_population * 1' + "0" * 309 + '"',
            "is out of range: numbers take at most 60 digits",
        ),
    ],
)
def test_rulebook_magnitudes_that_crashed_table_runs_are_listed_by_validate(
    old: str, new: str, message: str
) -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text.replace(old, new, 1), "rb.toml")
    assert any(message in str(p) for p in info.value.problems), str(info.value)
