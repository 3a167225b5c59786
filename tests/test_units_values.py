"""Units (exact conversion factors) and reading clerks' values: numbers, bools, sets."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from fulian_eval import FulianEvalError
from fulian_eval.lang.units import UnitError, conversion_factor, is_dimensionless, normalize_unit
from fulian_eval.lang.values import ValueProblem, parse_bool, parse_number, parse_set

# These tests are about the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

# ------------------------------------------------------------------ conversion factors


@pytest.mark.parametrize(
    ("src", "dst", "factor"),
    [
        ("hectare", "m^2", Fraction(10000)),
        ("m^2", "hectare", Fraction(1, 10000)),
        ("km**2", "m^2", Fraction(1000000)),
        ("km^2", "hectare", Fraction(100)),
        ("万元", "元", Fraction(10000)),
        ("元", "万元", Fraction(1, 10000)),
        ("亿元", "万元", Fraction(10000)),
        ("CNY", "元", Fraction(1)),
        ("%", "", Fraction(1, 100)),
        ("", "%", Fraction(100)),
        ("percent", "%", Fraction(1)),
        ("％", "%", Fraction(1)),  # full-width percent sign
        ("m²", "m^2", Fraction(1)),
        ("平方米", "m^2", Fraction(1)),
        ("位", "人", Fraction(1)),
        ("inch", "cm", Fraction(127, 50)),  # exact, not 2.5399999…
        ("人", "人", Fraction(1)),
        ("次", "次", Fraction(1)),
        ("", "", Fraction(1)),
    ],
)
def test_conversion_factor_is_exact(src: str, dst: str, factor: Fraction) -> None:
    got = conversion_factor(src, dst)
    assert type(got) is Fraction
    assert got == factor


def test_conversion_factor_round_trips() -> None:
    for a, b in [("hectare", "m^2"), ("万元", "元"), ("%", ""), ("km^2", "hectare")]:
        assert conversion_factor(a, b) * conversion_factor(b, a) == 1


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("人", "户", "'人' cannot be converted to '户' ([person] vs [household])"),
        ("户", "人", "'户' cannot be converted to '人' ([household] vs [person])"),
        ("册", "次", "'册' cannot be converted to '次' ([volume_count] vs [times_count])"),
        ("个", "件", "'个' cannot be converted to '件' ([item_count] vs [piece_count])"),
        ("篇", "件", "'篇' cannot be converted to '件' ([article_count] vs [piece_count])"),
        ("%", "人", "'%' cannot be converted to '人' (a pure number vs [person])"),
        ("", "元", "'' cannot be converted to '元' (a pure number vs [currency])"),
        ("kg", "m^2", "'kg' cannot be converted to 'm^2' ([mass] vs [length] ** 2)"),
        ("元", "m^2", "'元' cannot be converted to 'm^2' ([currency] vs [length] ** 2)"),
    ],
)
def test_dimension_mismatch_raises_unit_error(src: str, dst: str, message: str) -> None:
    with pytest.raises(UnitError) as info:
        conversion_factor(src, dst)
    assert str(info.value) == message


@pytest.mark.parametrize("word", ["册", "件", "个", "次", "份", "台", "本", "场", "项", "篇"])
def test_counting_words_are_units_that_only_match_themselves(word: str) -> None:
    assert conversion_factor(word, word) == 1
    others = [w for w in ["册", "件", "个", "次", "份", "台", "本", "场", "项", "篇"] if w != word]
    for other in others:
        with pytest.raises(UnitError, match="cannot be converted"):
            conversion_factor(word, other)
    with pytest.raises(UnitError, match="cannot be converted"):
        conversion_factor(word, "")
    with pytest.raises(UnitError, match="cannot be converted"):
        conversion_factor(word, "人")


@pytest.mark.parametrize("unit", ["furlongz", "顷亩", "平米米"])  # 亩 is known since SPEC §10.6
def test_unknown_unit(unit: str) -> None:
    with pytest.raises(UnitError) as info:
        conversion_factor(unit, "m^2")
    assert str(info.value) == f"unknown unit '{unit}'"
    with pytest.raises(UnitError):
        normalize_unit(unit)


def test_unit_error_is_a_value_error_and_a_fulian_error() -> None:
    assert issubclass(UnitError, ValueError)
    assert issubclass(UnitError, FulianEvalError)


def test_normalize_unit_strips_and_keeps_spelling() -> None:
    assert normalize_unit(" 人 ") == "人"
    assert normalize_unit("m^2") == "m^2"
    assert normalize_unit("万元") == "万元"


def test_percent_is_dimensionless_people_are_not() -> None:
    assert is_dimensionless("%") is True
    assert is_dimensionless("") is True
    assert is_dimensionless("人") is False
    assert is_dimensionless("m^2") is False


def test_square_metre_sign_is_a_unit() -> None:
    assert conversion_factor("㎡", "m^2") == 1


# ------------------------------------------------------------------ parse_number


@pytest.mark.parametrize(
    ("raw", "unit", "value"),
    [
        (1000, "人", Fraction(1000)),
        (0, "人", Fraction(0)),
        (Decimal("0.012"), "hectare", Fraction(12, 1000)),
        (1.5, "", Fraction(3, 2)),
        (0.1, "", Fraction(1, 10)),  # the float's written value, not 0.1000000000000000055…
        ("120", "m^2", Fraction(120)),
        (" 120 ", "m^2", Fraction(120)),
        ("1,200", "元", Fraction(1200)),
        ("1，200", "元", Fraction(1200)),  # full-width comma
        ("12,345.5", "元", Fraction(24691, 2)),
        ("1,234,567", "元", Fraction(1234567)),
        ("+5", "", Fraction(5)),
        ("-12", "人", Fraction(-12)),  # sign is read; counts reject negatives elsewhere
        (".5", "", Fraction(1, 2)),
        ("１２", "", Fraction(12)),  # full-width digits
        ("0.012 hectare", "m^2", Fraction(120)),
        ("3 万元", "元", Fraction(30000)),
        ("12000元", "万元", Fraction(6, 5)),
        ("98 %", "%", Fraction(98)),
        ("98%", "", Fraction(49, 50)),
        ("20 平方米", "m^2", Fraction(20)),
        ("5 m²", "m^2", Fraction(5)),
        ("8659 人", "人", Fraction(8659)),
        ("2 km^2", "hectare", Fraction(200)),
    ],
)
def test_parse_number_exact(raw: Any, unit: str, value: Fraction) -> None:
    got, approx = parse_number(raw, unit)
    assert type(got) is Fraction
    assert got == value
    assert approx is False


@pytest.mark.parametrize(
    ("raw", "unit", "value"),
    [
        ("1000余", "人", Fraction(1000)),
        ("100余人", "人", Fraction(100)),
        ("160多", "人", Fraction(160)),
        ("近100", "人", Fraction(100)),
        ("将近100", "", Fraction(100)),
        ("约50", "", Fraction(50)),
        ("大约100", "", Fraction(100)),
        ("100人左右", "人", Fraction(100)),
        ("100 人左右", "人", Fraction(100)),
        ("100以上", "人", Fraction(100)),
        ("100来", "人", Fraction(100)),
        ("3万元左右", "元", Fraction(30000)),
        ("1,000余", "人", Fraction(1000)),
    ],
)
def test_parse_number_approximate_forms_are_flagged(raw: str, unit: str, value: Fraction) -> None:
    assert parse_number(raw, unit) == (value, True)


@pytest.mark.parametrize(
    ("raw", "unit", "message"),
    [
        ("abc", "人", "'abc' is not a number (expected e.g. 120 or \"120 m^2\")"),
        ("", "", "'' is not a number (expected e.g. 120 or \"120 m^2\")"),
        ("很多", "人", "'很多' is not a number (expected e.g. 120 or \"120 m^2\")"),
        ("5 kg", "m^2", "'5 kg': 'kg' cannot be converted to 'm^2' ([mass] vs [length] ** 2)"),
        ("100 户", "人", "'100 户': '户' cannot be converted to '人' ([household] vs [person])"),
        (
            "3 次",
            "册",
            "'3 次': '次' cannot be converted to '册' ([times_count] vs [volume_count])",
        ),
        ("3 furlongz", "m", "'3 furlongz': unknown unit 'furlongz'"),
        ("20 顷亩", "m^2", "'20 顷亩': unknown unit '顷亩'"),  # 亩 is known since SPEC §10.6
        (True, "人", "expected a number, got true"),
        (False, "", "expected a number, got false"),
        (None, "人", "expected a number, got NoneType"),
        ([1], "人", "expected a number, got list"),
    ],
)
def test_parse_number_rejects_with_message(raw: Any, unit: str, message: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_number(raw, unit)
    assert str(info.value) == message


def test_value_problem_is_a_value_error() -> None:
    assert issubclass(ValueProblem, ValueError)


def test_parse_number_misplaced_comma_is_not_called_a_unit() -> None:
    with pytest.raises(ValueProblem) as info:
        parse_number("1,20", "人")
    assert str(info.value) == "'1,20' is not a number (expected e.g. 120 or \"120 m^2\")"


# ------------------------------------------------------------------ parse_bool


@pytest.mark.parametrize(
    "raw",
    [True, "true", "TRUE", "True", "是", "有", "1", 1, Decimal("1"), " 是 ", "yes"],
)
def test_parse_bool_true(raw: Any) -> None:
    assert parse_bool(raw) is True


@pytest.mark.parametrize(
    "raw",
    [False, "false", "FALSE", "否", "无", "0", 0, Decimal("0"), " 无 ", "no", "没有"],
)
def test_parse_bool_false(raw: Any) -> None:
    assert parse_bool(raw) is False


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("maybe", "maybe"),
        ("", ""),
        ("部分", "部分"),
        (2, "2"),
        (-1, "-1"),
        (0.5, "0.5"),
        ("2", "2"),
    ],
)
def test_parse_bool_rejects_everything_else(raw: Any, shown: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_bool(raw)
    assert str(info.value) == (
        f"'{shown}' is not a yes/no value (expected true/false, 是/否, 有/无 or 1/0)"
    )


# ------------------------------------------------------------------ parse_set


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (["会议记录", "花名册"], {"会议记录", "花名册"}),
        ([" 会议记录 ", "花名册", "花名册"], {"会议记录", "花名册"}),
        (["会议记录", " "], {"会议记录"}),
        ([], set()),
        ("会议记录;花名册", {"会议记录", "花名册"}),
        ("会议记录；花名册", {"会议记录", "花名册"}),  # full-width semicolon
        ("会议记录; 花名册;", {"会议记录", "花名册"}),
        (" a ;；b ; ", {"a", "b"}),
        ("会议记录", {"会议记录"}),
        ("", set()),
        ("a,b", {"a", "b"}),  # SPEC §10.6: as offices separate lists
        ("工作活动记录簿、妇女培训登记簿", {"工作活动记录簿", "妇女培训登记簿"}),
        ("甲，乙/丙\n丁\r\n戊", {"甲", "乙", "丙", "丁", "戊"}),
        (["甲、乙", "丙"], {"甲", "乙", "丙"}),  # an array's members are split alike
    ],
)
def test_parse_set(raw: Any, names: set[str]) -> None:
    got = parse_set(raw)
    assert isinstance(got, frozenset)
    assert got == frozenset(names)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["a", 1], "expected a list of names, found 1"),
        (["a", None], "expected a list of names, found None"),
        (3, "expected a list of names, got 3"),
        (None, "expected a list of names, got None"),
        (True, "expected a list of names, got True"),
    ],
)
def test_parse_set_rejects_non_names(raw: Any, message: str) -> None:
    with pytest.raises(ValueProblem) as info:
        parse_set(raw)
    assert str(info.value) == message


def test_units_known_without_pint_agree_with_pint() -> None:
    """The table that spares a rulebook load from building pint's registry gives
    pint's own answers: every pair's factor, or the same refusal."""
    from fulian_eval.lang import units

    spellings = list(units._KNOWN)
    for a in spellings:
        for b in spellings:
            fast = units._KNOWN[a][0] == units._KNOWN[b][0]
            try:
                want = (
                    units.registry()
                    .Quantity(Fraction(1), units._parse(a).units)
                    .to(units._parse(b).units)
                    .magnitude
                )
            except Exception:
                want = None
            if fast:
                assert want is not None and units._exact(want) == units.conversion_factor(a, b), (
                    a,
                    b,
                )
            else:
                assert want is None, (a, b)
                with pytest.raises(units.UnitError):
                    units.conversion_factor(a, b)
        assert units.is_dimensionless(a) == bool(units._parse(a).dimensionless), a


def test_a_rulebook_loads_without_building_pint() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from fulian_eval import load_rulebook; "
        "load_rulebook('rules/town-village-2026.toml'); print('pint' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.stdout.strip() == "False"
