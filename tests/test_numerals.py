"""Evidence values as clerks write them (SPEC §10.6): Chinese numerals and multipliers,
approximate forms, the new units, exact conversion factors, temperatures refused.

Every expected value is worked out by hand in the comment beside it; nothing is computed
by calling the code under test. Scoring examples run through both engines, tables through
both the per-unit and the streamed path, and the command line.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import test_kinds
from fulian_eval import load_rulebook
from fulian_eval.lang.units import UnitError, conversion_factor, is_dimensionless, normalize_unit
from fulian_eval.lang.values import ValueProblem, numeral, parse_number
from test_kinds import book, run
from test_stream import assert_same, reference, write_csv

F = Fraction

# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("raw", "unit", "value", "approx"),
    [
        # Chinese numerals
        ("一千二百", "", F(1200), False),  # 1×1000 + 2×100
        ("两", "", F(2), False),  # 两 is 2
        ("十五", "", F(15), False),  # a leading 十 is 一十: 10 + 5
        ("二百六十", "", F(260), False),  # 2×100 + 6×10
        ("一百零五", "", F(105), False),  # 零 marks the empty tens: 100 + 5
        ("一千零五十", "", F(1050), False),  # 1000 + 5×10
        ("一万零二十", "", F(10020), False),  # 10000 + 2×10
        ("十万八千", "", F(108000), False),  # 10×10000 + 8×1000
        ("一百二十三万四千五百六十七", "", F(1234567), False),  # 123×10000 + 4567
        ("两亿三", "", F(230000000), False),  # a digit after 亿 is the next place: 2e8 + 3e7
        ("一千二", "", F(1200), False),  # 一千二 is 1200 (not 1002, which is 一千零二)
        ("一万五", "", F(15000), False),  # 10000 + 5×1000
        ("一万亿", "", F(10**12), False),  # 万亿: 1e4 × 1e8
        ("壹仟贰佰", "", F(1200), False),  # 大写 digits as on receipts
        ("零", "", F(0), False),
        ("零点五", "", F(1, 2), False),  # 点 is the decimal point
        ("三点一四", "", F(314, 100), False),
        ("二十一点零五", "", F(2105, 100), False),
        # Arabic figures with multipliers, and mixed
        ("1.2万", "", F(12000), False),  # 1.2 × 10000
        ("3千", "", F(3000), False),
        ("5百", "", F(500), False),
        ("1,200万", "", F(12000000), False),  # 1200 × 10000
        ("1.5千万", "", F(15000000), False),  # 1.5 × 1000 × 10000
        ("3万5千", "", F(35000), False),  # 3×10000 + 5×1000
        ("3万5", "", F(35000), False),  # like 三万五
        ("-1.2万", "", F(-12000), False),
        ("一点二万", "", F(12000), False),  # 1.2 × 10000
        ("十二点五万", "", F(125000), False),  # 12.5 × 10000
        ("１．５万", "", F(15000), False),  # full-width figures, as Chinese input methods type them
        ("１e5", "", F(100000), False),  # full-width, no multiplier: read as before
        # with units
        ("一万五千元", "元", F(15000), False),
        ("一万五千元", "万元", F(3, 2), False),  # 15000 元 = 1.5 万元
        ("1.2万人", "人", F(12000), False),
        ("3万元", "万元", F(3), False),  # 30000 元 = 3 万元
        ("五十二名", "人", F(52), False),  # 名 counts people
        ("百分之九十", "%", F(90), False),  # 百分之X is X %
        ("百分之九十", "", F(9, 10), False),  # 90 % as a pure number
        ("百分之八十五点五", "%", F(171, 2), False),
        # approximate: scored as stated, flagged
        ("1000余", "", F(1000), True),
        ("160多", "", F(160), True),
        ("近100", "", F(100), True),
        ("约50", "", F(50), True),
        ("50左右", "", F(50), True),
        ("3.6万余元", "元", F(36000), True),  # 3.6 × 10000 元
        ("3.6万余元", "万元", F(18, 5), True),  # 36000 元 = 3.6 万元
        ("3万多元", "元", F(30000), True),
        ("一千余人", "人", F(1000), True),
        ("近百", "", F(100), True),  # a bare 百 is 一百
        ("一千二百余人", "人", F(1200), True),
        ("约一千二百人", "人", F(1200), True),
        ("百余人", "人", F(100), True),
        ("百分之九十以上", "%", F(90), True),
        ("10余万元", "元", F(100000), True),  # 10余 万元: 10 × 10000 元
        ("十来人", "人", F(10), True),
        ("约百分之九十", "%", F(90), True),
    ],
)
def test_numbers_as_clerks_write_them(raw: str, unit: str, value: Fraction, approx: bool) -> None:
    assert parse_number(raw, unit) == (value, approx)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("三四十", "数字连写"),  # "thirty or forty": a range, not a number
        ("二〇二四", "'零' 的位置不对"),  # digits side by side are refused, also with 〇
        ("十十", "从大到小"),
        ("一百千", "从大到小"),
        ("一千零", "'零' 不能写在最后"),
        ("一万万", "'万' 写了不止一次"),
        ("一亿亿", "'亿' 写了不止一次"),
        ("12千", "只能是一位数"),  # 12千 is not how anyone writes 12000
        ("3万15", "意思不明"),  # 30015 or 31500? write 3万零15 or 3.15万
        ("1万2.5千", "只能是一位数"),
        ("一点二点三", "'点' 写了不止一次"),
        ("三点", "'点' 后面缺少数字"),
        ("1e3万", "指数写法"),
        ("一万零五万", "'万' 写了不止一次"),
        ("一万零二万", "'万' 写了不止一次"),
        ("十几人", "范围"),  # 十几: "ten-something"
        ("几十", "不是数"),  # no digits at all
    ],
)
def test_malformed_numerals_are_refused(raw: str, why: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_number(raw, "")
    assert why in str(info.value)
    assert f"'{raw}'" in str(info.value)  # the message names the value


def test_multiplier_without_unit_in_a_wanyuan_field_is_refused() -> None:
    """'3.5万' in a field counted in 万元 could mean 3.5 万元 or 35000 万元: never guessed."""
    with pytest.raises(ValueProblem, match="意思不明"):
        parse_number("3.5万", "万元")
    assert parse_number("3.5万元", "万元") == (F(7, 2), False)
    assert parse_number("3.5", "万元") == (F(7, 2), False)
    assert parse_number("3千", "万元") == (F(3000), False)  # no 万/亿: 3000 万元 as written


def test_a_huge_numeral_is_refused_like_huge_digits() -> None:
    digits = "9" * 40  # 40 digits
    with pytest.raises(ValueProblem) as a:
        parse_number(digits + "0000", "")
    with pytest.raises(ValueProblem) as b:
        parse_number(digits + "万", "")  # the same number
    assert str(a.value).split("' ", 1)[1] == str(b.value).split("' ", 1)[1]
    assert "too large" in str(b.value)
    with pytest.raises(ValueProblem, match="significant digits"):
        parse_number("1." + "1" * 70 + "万", "")
    # the largest numeral there is stays well inside the bounds: 9999万9999亿… is < 1e16
    assert parse_number("九千九百九十九万九千九百九十九亿九千九百九十九万九千九百九十九", "") == (
        F(10**16 - 1),
        False,
    )


def test_numeral_is_exposed() -> None:
    assert numeral("一千二百") == 1200
    assert numeral("1.2万") == 12000


_NUMERAL_CHARS = (
    "零〇一二两三四五六七八九十百千万亿点壹贰拾佰仟萬億0123456789.,+-e余多近约左右元人 "
)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=_NUMERAL_CHARS, max_size=60))
def test_random_numeral_text_returns_or_raises(text: str) -> None:
    """Any string of numeral characters: a value within the bounds, or ValueProblem."""
    with contextlib.suppress(ValueProblem):
        numeral(text)  # unbounded itself: parse_number holds the result to the limits
    try:
        value, _ = parse_number(text, "")
    except ValueProblem:  # a unit problem too is a ValueProblem here
        return
    assert abs(value) < 10**31


_DIG = "零一二三四五六七八九"


def _section_cn(n: int, lead: bool) -> str:
    """n < 10000 in standard Chinese, written independently of the parser (零 for skipped places)."""
    out, zero = "", False
    for place, word in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // place % 10
        if d == 0:
            zero = zero or bool(out)
            continue
        if zero:
            out, zero = out + "零", False
        out += "十" if place == 10 and d == 1 and lead and not out else _DIG[d] + word
    return out


def _to_chinese(n: int) -> str:
    """0 ≤ n < 1e12 as a clerk writes it: 1200 一千二百, 10020 一万零二十, 1000000005 十亿零五."""
    if n == 0:
        return "零"
    out, skipped = "", False
    for g, word in ((n // 10**8, "亿"), (n // 10**4 % 10**4, "万"), (n % 10**4, "")):
        if g == 0:
            skipped = skipped or bool(out)
            continue
        if out and (skipped or g < 1000):
            out += "零"
        out += _section_cn(g, lead=not out) + word
        skipped = False
    return out


def test_the_reference_writer_writes_what_clerks_write() -> None:
    assert [
        _to_chinese(n) for n in (1200, 15, 105, 10020, 100005, 1000000005, 2300000000, 110)
    ] == [
        "一千二百",
        "十五",
        "一百零五",
        "一万零二十",
        "十万零五",
        "十亿零五",
        "二十三亿",
        "一百一十",
    ]


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_every_chinese_numeral_reads_as_its_number(n: int) -> None:
    assert parse_number(_to_chinese(n), "") == (F(n), False)
    assert parse_number(_to_chinese(n) + "余人", "人") == (F(n), True)
    wan = format(Decimal(n).scaleb(-4).normalize(), "f")  # n = 12345 → "1.2345万"
    assert parse_number(f"{wan}万", "") == (F(n), False)


def test_long_numeral_strings_never_hang() -> None:
    """The worst inputs we can think of, 200 characters each, all read within a subprocess timeout."""
    code = textwrap.dedent("""
        from fulian_eval.lang.values import ValueProblem, parse_number
        worst = ["一" * 200, "十" * 200, "零" * 200, "一万" * 100, "1" * 199 + "万", "1万" * 100,
                 "点" * 200, "九千九百" * 50, "1,000" * 40, "1." + "1" * 197 + "万", "近" + "百" * 199]
        n = 0
        for _ in range(200):
            for w in worst:
                try:
                    parse_number(w, "")
                except ValueProblem:
                    n += 1
        print(n)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == 200 * 11  # every one refused, none accepted by accident


# -------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("a", "b", "factor"),
    [
        ("平米", "m^2", F(1)),
        ("m2", "m^2", F(1)),
        ("m2", "平方米", F(1)),
        ("km2", "m^2", F(10**6)),
        ("亩", "m^2", F(10000, 15)),  # 1 亩 = 10000/15 m² exactly (666.666…)
        ("m^2", "亩", F(15, 10000)),
        ("hectare", "亩", F(15)),  # 10000 m² / (10000/15 m²)
        ("分", "", F(1)),  # points: a pure number
        ("minute", "hour", F(1, 60)),
        ("inch", "cm", F(254, 100)),
        ("万元", "元", F(10000)),
    ],
)
def test_exact_factors(a: str, b: str, factor: Fraction) -> None:
    assert conversion_factor(a, b) == factor
    assert isinstance(conversion_factor(a, b), Fraction)


def test_ninety_minutes_are_one_and_a_half_hours() -> None:
    """pint's float factor made 90 minute 1.49999999999999994 hour; now exactly 3/2."""
    assert parse_number("90 minute", "hour") == (F(3, 2), False)
    assert parse_number("九十 minute", "hour") == (F(3, 2), False)


@pytest.mark.parametrize("eng", ["exact", "columnar"])
def test_ninety_minutes_meet_at_least_one_and_a_half_hours(eng: str) -> None:
    rb = book("""
        [fields.hours]
        type = "quantity"
        unit = "hour"
        [fields.area]
        type = "quantity"
        unit = "m^2"

        [[categories]]
        id = "c"
          [[categories.items]]
          id = "long"
          max = 4
          kind = "threshold"
          field = "hours"
          at_least = "1.5 hour"
          [[categories.items]]
          id = "big"
          max = 3
          kind = "threshold"
          field = "area"
          at_least = "2 亩"
    """)
    test_kinds._ENGINE[0] = eng
    try:
        got = run(rb, {"hours": "90 minute", "area": "一千三百三十四平米"})
        assert got.item("c.long").points == 4  # 90 min = 1.5 h ≥ 1.5 h
        assert got.item("c.big").points == 3  # 1334 m² ≥ 2 亩 = 1333.33… m²
        low = run(rb, {"hours": "89 minute", "area": "一千三百三十三平米"})
        assert low.item("c.long").points == 0  # 89/60 h < 1.5 h
        assert low.item("c.big").points == 0  # 1333 m² < 4000/3 m²
    finally:
        test_kinds._ENGINE[0] = "exact"


@pytest.mark.parametrize("word", list("幅张块处家所间套期批"))
def test_counting_words_are_their_own_dimension(word: str) -> None:
    assert conversion_factor(word, word) == 1
    assert parse_number(f"十二{word}", word) == (F(12), False)
    with pytest.raises(UnitError, match="不能换算成"):
        conversion_factor(word, "人")
    with pytest.raises(UnitError, match="不能换算成"):
        conversion_factor(word, "")
    others = [w for w in "幅张块处家所间套期批册件次" if w != word]
    for other in others:
        with pytest.raises(UnitError):
            conversion_factor(word, other)


def test_people_words() -> None:
    assert conversion_factor("名", "人") == 1
    assert conversion_factor("位", "人") == 1
    assert is_dimensionless("分")


@pytest.mark.parametrize("unit", ["°C", "degC", "degF", "°F", "kelvin", "K", "delta_degC", "degR"])
def test_temperature_units_are_refused(unit: str) -> None:
    with pytest.raises(UnitError) as info:
        conversion_factor(unit, "kelvin" if unit != "kelvin" else "degC")
    assert "温度" in str(info.value)
    assert f"'{unit}'" in str(info.value)
    with pytest.raises(UnitError, match="温度"):
        normalize_unit(unit)
    with pytest.raises(ValueProblem, match="温度"):
        parse_number(f"20 {unit}", "m")


def test_a_rulebook_field_in_degrees_celsius_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rb.toml"
    path.write_text(
        test_kinds.HEAD
        + textwrap.dedent("""
        [fields.temp]
        type = "quantity"
        unit = "degC"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "warm"
          max = 1
          kind = "threshold"
          field = "temp"
          at_least = 18
    """),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "validate", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert proc.returncode != 0
    assert "温度" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------- tables and the CLI

RULEBOOK = test_kinds.HEAD + textwrap.dedent("""
    title = "数字写法测试"
    scale = 100

    [fields.members]
    type = "count"
    unit = "人"
    title = "妇女会员人数"
    [fields.funds]
    type = "quantity"
    unit = "元"
    title = "工作经费"
    [fields.area]
    type = "quantity"
    unit = "m^2"
    title = "活动室面积"
    [fields.banners]
    type = "count"
    unit = "幅"
    title = "宣传横幅"

    [[categories]]
    id = "c"
    title = "基础工作"
      [[categories.items]]
      id = "members"
      max = 40
      kind = "linear"
      field = "members"
      zero_at = 0
      full_at = 2000
      [[categories.items]]
      id = "funds"
      max = 30
      kind = "linear"
      field = "funds"
      zero_at = 0
      full_at = "5 万元"
      [[categories.items]]
      id = "area"
      max = 20
      kind = "threshold"
      field = "area"
      at_least = "1 亩"
      [[categories.items]]
      id = "banners"
      max = 10
      kind = "linear"
      field = "banners"
      zero_at = 0
      full_at = 20
""")

HEADER = ["unit", "name", "members", "funds", "area", "banners"]
CHINESE = [
    ["u1", "东村", "一千二百", "1.5万", "七百平米", "十二"],
    ["u2", "西村", "两千", "三万五千", "一亩", "二十"],
    ["u3", "南村", "九百八十", "4万5千", "600", "零"],
    ["u4", "北村", "一千零五", "两万零五百", "六百六十七", "十五"],
]
DIGITS = [
    ["u1", "东村", "1200", "15000", "700", "12"],
    ["u2", "西村", "2000", "35000", "666.67", "20"],
    ["u3", "南村", "980", "45000", "600", "0"],
    ["u4", "北村", "1005", "20500", "667", "15"],
]


def _tables(tmp_path: Path) -> tuple[Path, Path, Path]:
    rb = tmp_path / "rb.toml"
    rb.write_text(RULEBOOK, encoding="utf-8")
    (tmp_path / "cn").mkdir()
    (tmp_path / "digits").mkdir()
    cn = write_csv(tmp_path / "cn" / "villages.csv", HEADER, CHINESE)
    dg = write_csv(tmp_path / "digits" / "villages.csv", HEADER, DIGITS)
    return rb, cn, dg


def test_streamed_table_of_numerals_is_the_per_unit_result(tmp_path: Path) -> None:
    rb_path, cn, _ = _tables(tmp_path)
    rb = load_rulebook(rb_path)
    for chunk in (1000, 3, 1):
        assert_same(rb, [cn], chunk=chunk)
    # Hand check of u1: members 1200/2000 × 40 = 24; funds 15000/50000 × 30 = 9;
    # area 700 m² ≥ 1 亩 (666.67 m²) → 20; banners 12/20 × 10 = 6; total 59.
    ranks = reference(rb, [cn])[4]
    totals = {r[0].unit.id: r[0].total for r in ranks}
    assert totals["u1"] == "59.00"
    # u2: 2000 → 40; 35000/50000 × 30 = 21; exactly 1 亩 → 20; 20 → 10; total 91.
    assert totals["u2"] == "91.00"


def test_approximate_cells_are_flagged_on_both_paths(tmp_path: Path) -> None:
    rb_path, _, _ = _tables(tmp_path)
    rb = load_rulebook(rb_path)
    rows = [
        ["u1", "东村", "一千二百余", "约1.5万元", "七百平米左右", "十二"],
        ["u2", "西村", "两千", "3万多元", "一亩", "近二十"],
    ]
    table = write_csv(tmp_path / "approx.csv", HEADER, rows)
    res = assert_same(rb, [table])
    flags = [res.table.summary(i).flags for i in range(len(res.table))]
    assert [len(f) for f in flags] == [3, 2]
    assert any("一千二百余" in f and "1200" in f for f in flags[0])


def _cli(*args: object) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        capture_output=True,
        timeout=120,
    )
    assert b"Traceback" not in proc.stderr
    return proc


@pytest.mark.parametrize("command", ["rank", "score"])
def test_cli_scores_chinese_numerals_like_digits(tmp_path: Path, command: str) -> None:
    rb, cn, dg = _tables(tmp_path)
    got = _cli(command, rb, cn, "--format", "csv")
    want = _cli(command, rb, dg, "--format", "csv")
    assert got.returncode == 0, got.stderr.decode()
    assert want.returncode == 0, want.stderr.decode()
    assert got.stdout == want.stdout
    assert b"59.00" in got.stdout and b"91.00" in got.stdout


@pytest.mark.parametrize("eng", ["exact", "columnar"])
def test_rulebook_bounds_take_numerals(eng: str) -> None:
    rb = book("""
        [fields.funds]
        type = "quantity"
        unit = "元"
        [fields.area]
        type = "quantity"
        unit = "m^2"

        [[categories]]
        id = "c"
          [[categories.items]]
          id = "funds"
          max = 6
          kind = "linear"
          field = "funds"
          zero_at = 0
          full_at = "1.2万元"
          [[categories.items]]
          id = "area"
          max = 2
          kind = "threshold"
          field = "area"
          at_least = "两亩"
    """)
    test_kinds._ENGINE[0] = eng
    try:
        got = run(rb, {"funds": "六千元", "area": "1334 m2"})
        assert got.item("c.funds").points == 3  # 6000 / 12000 × 6
        assert got.item("c.area").points == 2  # 1334 m² ≥ 4000/3 m²
    finally:
        test_kinds._ENGINE[0] = "exact"


@pytest.mark.usefixtures("english")
def test_an_approximate_numeral_bound_is_a_rulebook_error() -> None:
    from fulian_eval import RulebookError

    with pytest.raises(RulebookError, match="approximate"):
        book("""
            [fields.n]
            type = "count"
            unit = "人"
            [[categories]]
            id = "c"
              [[categories.items]]
              id = "n"
              max = 1
              kind = "threshold"
              field = "n"
              at_least = "近百人"
        """)


@pytest.mark.parametrize("eng", ["exact", "columnar"])
def test_approximate_numeral_in_evidence_is_scored_as_stated_and_flagged(eng: str) -> None:
    rb = book("""
        [fields.funds]
        type = "quantity"
        unit = "元"
        [[categories]]
        id = "c"
          [[categories.items]]
          id = "funds"
          max = 10
          kind = "linear"
          field = "funds"
          zero_at = 0
          full_at = "7.2万元"
    """)
    test_kinds._ENGINE[0] = eng
    try:
        got = run(rb, {"funds": "3.6万余元"})
        assert got.item("c.funds").points == 5  # 36000 / 72000 × 10
        assert got.flags == ("约数: funds = '3.6万余元'，按 36000 计分 (approximate)",)
        exact = run(rb, {"funds": "三万六千元"})
        assert exact.item("c.funds").points == 5
        assert exact.flags == ()
    finally:
        test_kinds._ENGINE[0] = "exact"
