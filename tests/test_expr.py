"""The safe expression language (SPEC §7): exact arithmetic, types checked at parse time."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest

from fulian_eval import FulianEvalError
from fulian_eval.errors import ExpressionError
from fulian_eval.lang import expr as expr_module
from fulian_eval.lang.expr import (
    Absent,
    And,
    Arith,
    Call,
    Compare,
    Const,
    DivisionByZero,
    Expr,
    MissingValue,
    Name,
    Neg,
    Node,
    Not,
    NotApplicableValue,
    Or,
    Visitor,
    parse,
    round_half_up,
    walk,
)

TYPES: dict[str, str] = {
    "cases": "num",
    "closed": "num",
    "population": "num",
    "volunteers": "num",
    "documents": "set",
    "has_plate": "bool",
    "fabricated": "bool",
    "village": "str",
}

ENV: dict[str, Any] = {
    "cases": Fraction(10),
    "closed": Fraction(9),
    "population": Fraction(8659),
    "volunteers": Fraction(40),
    "documents": frozenset({"会议记录", "花名册"}),
    "has_plate": True,
    "fabricated": False,
    "village": "宁锋村",
}


def ev(text: str, env: Mapping[str, Any] = ENV, types: Mapping[str, str] = TYPES) -> Any:
    return parse(text, types).evaluate(env)


def parse_error(
    text: str, types: Mapping[str, str] = TYPES, want: str | None = None
) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text, types, want)
    return info.value


# ------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1/3*3", Fraction(1)),
        ("1 / 3 + 1 / 3 + 1 / 3", Fraction(1)),
        ("0.1 + 0.2", Fraction(3, 10)),
        ("7 / 2", Fraction(7, 2)),
        (".5 + 1", Fraction(3, 2)),
        ("2 / 3 * 3 / 2", Fraction(1)),
        ("closed / cases * 100", Fraction(90)),
        ("volunteers / population * 1000", Fraction(40000, 8659)),
    ],
)
def test_arithmetic_is_exact(text: str, value: Fraction) -> None:
    got = ev(text)
    assert type(got) is Fraction
    assert got == value


def test_decimal_sums_compare_exactly() -> None:
    assert ev("0.1 + 0.2 == 0.3") is True
    assert ev("1 / 3 * 3 == 1") is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("2 - 3 - 4", -5),
        ("8 / 4 / 2", 1),
        ("2 * 3 / 4 * 2", 3),
        ("-2 * 3", -6),
        ("2 * -3", -6),
        ("10 - -1", 11),
        ("--2", 2),
        ("+2", 2),
        ("-(2 + 3)", -5),
        ("1 + 2 * 3 - 4 / 2", 5),
        ("((1))", 1),
    ],
)
def test_arithmetic_precedence(text: str, value: int) -> None:
    assert ev(text) == Fraction(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 1 == 2", True),  # arithmetic binds tighter than comparison
        ("2 * 3 > 5 and 1 + 1 == 2", True),
        ("not 1 > 2", True),  # comparison binds tighter than not
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("not true or true", True),  # not binds tighter than or
        ("not (true or true)", False),
        ("not true and false", False),
        ("not not true", True),
    ],
)
def test_boolean_precedence(text: str, value: bool) -> None:
    assert ev(text) is value


# ------------------------------------------------------------------ short-circuit


def test_and_stops_before_dividing_by_zero() -> None:
    env = {"cases": Fraction(0), "closed": Fraction(0)}
    e = parse("cases > 0 and closed / cases >= 0.9", TYPES)
    assert e.evaluate(env) is False
    assert e.evaluate({"cases": Fraction(10), "closed": Fraction(9)}) is True
    assert e.evaluate({"cases": Fraction(10), "closed": Fraction(8)}) is False


def test_or_stops_before_dividing_by_zero() -> None:
    env = {"cases": Fraction(0), "closed": Fraction(0)}
    assert ev("cases == 0 or closed / cases >= 0.9", env) is True


def test_and_or_evaluate_left_to_right() -> None:
    env = {"cases": Fraction(0), "closed": Fraction(0)}
    with pytest.raises(DivisionByZero):
        ev("closed / cases >= 0.9 and cases > 0", env)
    with pytest.raises(DivisionByZero):
        ev("closed / cases >= 0.9 or cases == 0", env)


def test_short_circuit_skips_missing_names() -> None:
    assert ev("false and has_plate", {}) is False
    assert ev("true or has_plate", {}) is True
    assert ev("cases > 0 and closed > 1", {"cases": Fraction(0)}) is False
    with pytest.raises(MissingValue):
        ev("true and has_plate", {})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("not has_plate", False),
        ("not fabricated", True),
        ("not (cases > 100)", True),
        ("has_plate and not fabricated", True),
        ("fabricated or not has_plate", False),
    ],
)
def test_not(text: str, value: bool) -> None:
    assert ev(text) is value


# ------------------------------------------------------------------ comparisons


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 < 2", True),
        ("2 < 2", False),
        ("2 <= 2", True),
        ("3 <= 2", False),
        ("3 > 2", True),
        ("2 > 2", False),
        ("2 >= 2", True),
        ("1 >= 2", False),
        ("2 == 2.0", True),
        ("2 == 3", False),
        ("2 != 3", True),
        ("2 != 2", False),
        ("closed / cases >= 0.9", True),
        ("closed / cases > 0.9", False),
        ('village == "宁锋村"', True),
        ('village != "宁锋村"', False),
        ("has_plate == true", True),
        ("fabricated != false", False),
        ("documents == documents", True),
        ("(1 < 2) == true", True),
    ],
)
def test_comparisons(text: str, value: bool) -> None:
    assert ev(text) is value


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("1 < 2 < 3", 7),
        ("1<2<3", 4),
        ("1 == 1 == 1", 8),
        ("1 < 2 == true", 7),
        ("cases >= 0 <= 100", 12),
    ],
)
def test_comparisons_cannot_be_chained(text: str, column: int) -> None:
    err = parse_error(text)
    assert err.reason == "comparisons cannot be chained; join them with 'and'"
    assert err.column == column


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ('village < "x"', 1, "'<' needs a number, not a string"),
        ("1 <= has_plate", 6, "'<=' needs a number, not true/false"),
        ("true == 1", 6, "cannot compare true/false with a number"),
        ('cases != "10"', 7, "cannot compare a number with a string"),
        ("documents == 2", 11, "cannot compare a set with a number"),
    ],
)
def test_comparison_type_errors(text: str, column: int, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (column, reason)


# ------------------------------------------------------------------ functions


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("min(3, 1, 2)", Fraction(1)),
        ("max(2.5, 3, -1)", Fraction(3)),
        ("min(7)", Fraction(7)),
        ("min(10, volunteers / population * 1000 * 2)", Fraction(80000, 8659)),
        ("abs(-3)", Fraction(3)),
        ("abs(-0.5)", Fraction(1, 2)),
        ("abs(2)", Fraction(2)),
        ("floor(2.7)", Fraction(2)),
        ("floor(-1.5)", Fraction(-2)),
        ("ceil(1.2)", Fraction(2)),
        ("ceil(-1.5)", Fraction(-1)),
        ("ceil(3)", Fraction(3)),
        ("floor(2.5) + ceil(-2.5)", Fraction(0)),
        ("count(documents)", Fraction(2)),
    ],
)
def test_numeric_functions(text: str, value: Fraction) -> None:
    got = ev(text)
    assert type(got) is Fraction
    assert got == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("round(2.5)", Fraction(3)),
        ("round(-2.5)", Fraction(-3)),
        ("round(3.5)", Fraction(4)),
        ("round(0.5)", Fraction(1)),
        ("round(1.4999)", Fraction(1)),
        ("round(-1.4999)", Fraction(-1)),
        ("round(1.005, 2)", Fraction(101, 100)),  # exact: no 1.00499999 float surprise
        ("round(-1.005, 2)", Fraction(-101, 100)),
        ("round(2.675, 2)", Fraction(268, 100)),
        ("round(1.004, 2)", Fraction(1)),
        ("round(2 / 3, 2)", Fraction(67, 100)),
        ("round(14.375, 2)", Fraction(1438, 100)),
        ("round(7, 2)", Fraction(7)),
    ],
)
def test_round_is_half_up_and_exact(text: str, value: Fraction) -> None:
    got = ev(text)
    assert type(got) is Fraction
    assert got == value


@pytest.mark.parametrize(
    ("x", "places", "value"),
    [
        (Fraction(14375, 1000), 2, Fraction(719, 50)),
        (Fraction(-5, 2), 0, Fraction(-3)),
        (Fraction(5, 2), 0, Fraction(3)),
        (Fraction(-7, 2), 0, Fraction(-4)),
        (Fraction(1, 3), 2, Fraction(33, 100)),
        (Fraction(2, 3), 2, Fraction(67, 100)),
        (Fraction(1, 8), 2, Fraction(13, 100)),
        (Fraction(-1, 8), 2, Fraction(-13, 100)),
        (Fraction(1, 4), 2, Fraction(1, 4)),
        (Fraction(3), 0, Fraction(3)),
        (Fraction(-1, 200), 2, Fraction(-1, 100)),
        (Fraction(1, 201), 2, Fraction(0)),
    ],
)
def test_round_half_up_helper(x: Fraction, places: int, value: Fraction) -> None:
    got = round_half_up(x, places)
    assert type(got) is Fraction
    assert got == value


def test_round_half_up_agrees_with_decimal_round_half_up() -> None:
    for den in (1, 2, 3, 4, 7, 8, 40, 200, 1000, 3000):
        for num in range(-2 * den - 7, 2 * den + 8):
            x = Fraction(num, den)
            for places in (0, 1, 2):
                exact = Decimal(x.numerator) / Decimal(x.denominator)
                want = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
                assert round_half_up(x, places) == Fraction(want), (x, places)


def test_round_with_negative_places_does_not_crash() -> None:
    try:
        e = parse("round(1234, -2)", TYPES)
    except ExpressionError:
        return  # rejecting it at parse time is fine too
    assert e.evaluate(ENV) == Fraction(1200)


def test_count_of_empty_set() -> None:
    assert ev("count(documents)", {"documents": frozenset()}) == 0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('has(documents, "会议记录")', True),
        ('has(documents, "妇女培训登记簿")', False),
        ("has(documents, '花名册')", True),
        ("has(documents, village)", False),
        ('not has(documents, "x") and count(documents) >= 2', True),
    ],
)
def test_has(text: str, value: bool) -> None:
    assert ev(text) is value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("min()", "min() takes 1 or more argument(s), got 0"),
        ("max()", "max() takes 1 or more argument(s), got 0"),
        ("abs(1, 2)", "abs() takes 1 argument(s), got 2"),
        ("floor()", "floor() takes 1 argument(s), got 0"),
        ("round(1, 2, 3)", "round() takes 1 to 2 argument(s), got 3"),
        ("count(documents, documents)", "count() takes 1 argument(s), got 2"),
        ("has(documents)", "has() takes 2 argument(s), got 1"),
    ],
)
def test_function_arity(text: str, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (1, reason)


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("count(population)", 7, "count() needs a set, not a number"),
        ("documents + 1", 1, "'+' needs a number, not a set"),
        ("1 - documents", 5, "'-' needs a number, not a set"),
        ("village * 2", 1, "'*' needs a number, not a string"),
        ("has(documents, 3)", 16, "has() needs a string, not a number"),
        ('has(village, "x")', 5, "has() needs a set, not a string"),
        ("min(1, has_plate)", 8, "min() needs a number, not true/false"),
        ("max(documents)", 5, "max() needs a number, not a set"),
        ("abs(has_plate)", 5, "abs() needs a number, not true/false"),
        ("round(1, documents)", 10, "round() needs a number, not a set"),
        ("has_plate and 1", 15, "'and' needs true/false, not a number"),
        ("cases or has_plate", 1, "'or' needs true/false, not a number"),
        ("not 1", 5, "'not' needs true/false, not a number"),
        ("-has_plate", 2, "unary '-' needs a number, not true/false"),
    ],
)
def test_type_errors_at_parse_time(text: str, column: int, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (column, reason)


@pytest.mark.parametrize(
    ("text", "want", "reason"),
    [
        ("cases", "bool", "expression gives a number but true/false is needed"),
        ("cases > 1", "num", "expression gives true/false but a number is needed"),
        ("documents", "num", "expression gives a set but a number is needed"),
    ],
)
def test_result_type_is_checked(text: str, want: str, reason: str) -> None:
    err = parse_error(text, want=want)
    assert (err.column, err.reason) == (1, reason)


def test_result_type_accepted() -> None:
    e = parse("cases > 0", TYPES, "bool")
    assert e.type == "bool"
    assert parse("cases + 1", TYPES, "num").type == "num"


# ------------------------------------------------------------------ strings


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"a\\"b"', 'a"b'),
        ("'it\\'s'", "it's"),
        ('"a\\\\b"', "a\\b"),
        ("'say \"hi\"'", 'say "hi"'),
        ('"会议记录"', "会议记录"),
        ('""', ""),
        ('"a b  c"', "a b  c"),
    ],
)
def test_string_literals_and_escapes(text: str, value: str) -> None:
    e = parse(text, TYPES)
    assert e.type == "str"
    assert e.evaluate({}) == value


def test_escaped_quote_inside_has() -> None:
    env = {"documents": frozenset({'"五簿"齐全'})}
    assert ev('has(documents, "\\"五簿\\"齐全")', env) is True


@pytest.mark.parametrize("text", ['"abc', "has(documents, '会议记录)"])
def test_unterminated_string_is_named(text: str) -> None:
    err = parse_error(text)
    assert "unterminated string" in err.reason


# ------------------------------------------------------------------ absent values


def test_missing_name_raises_missing_value() -> None:
    e = parse("closed / cases", TYPES)
    with pytest.raises(MissingValue) as info:
        e.evaluate({"closed": Fraction(1)})
    assert info.value.name == "cases"


def test_absent_missing_raises_missing_value() -> None:
    with pytest.raises(MissingValue) as info:
        ev("cases + 1", {"cases": Absent("missing")})
    assert info.value.name == "cases"


def test_absent_not_applicable_raises_not_applicable_value() -> None:
    env = {"cases": Absent("not_applicable", "受理数为0")}
    with pytest.raises(NotApplicableValue) as info:
        ev("cases > 1", env)
    assert info.value.name == "cases"
    assert info.value.why == "受理数为0"


@pytest.mark.parametrize("text", ["1 / 0", "closed / cases", "min(1, 1 / (cases - cases))"])
def test_division_by_zero(text: str) -> None:
    with pytest.raises(DivisionByZero):
        ev(text, {"closed": Fraction(1), "cases": Fraction(0)})


def test_evaluation_errors_are_not_expression_errors() -> None:
    # Evaluation problems are distinct from rulebook problems: the scorer maps them to statuses.
    for exc in (MissingValue, NotApplicableValue, DivisionByZero):
        assert not issubclass(exc, ExpressionError)


# ------------------------------------------------------------------ syntax errors


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("1 +", 4, "expression ends too early"),
        ("cases >", 8, "expression ends too early"),
        ("(1 + 2", 7, "expected ')' but found the end"),
        ("min(1, 2", 9, "expected ')' but found the end"),
        ('has(documents "a")', 15, "expected ')' but found '\"a\"'"),
        ("1 2", 3, "unexpected '2'"),
        (")", 1, "unexpected ')'"),
        ("()", 2, "unexpected ')'"),
        ("(1))", 4, "unexpected ')'"),
        ("min(1,)", 7, "unexpected ')'"),
        ("min(,1)", 5, "unexpected ','"),
        ("1 +* 2", 4, "unexpected '*'"),
        ("2 ** 3", 4, "unexpected '*'"),
        ("1e3", 2, "unexpected 'e3'"),
        ("1 % 2", 3, "unexpected character '%'"),
        ("x.y", 2, "unexpected character '.'"),
        ("[1]", 1, "unexpected character '['"),
        ("1 & 2", 3, "unexpected character '&'; use 'and' / 'or'"),
        ("cases > 0 || has_plate", 11, "unexpected character '|'; use 'and' / 'or'"),
        ("!has_plate", 1, "unexpected character '!'; use 'not'"),
        ("and", 1, "'and' needs a value before it"),
        ("cases > 1 and or true", 15, "'or' needs a value before it"),
        ("", 1, "expression is empty"),
        ("   ", 1, "expression is empty"),
        ("min", 1, "'min' is a function; call it as min(...)"),
        ("count > 1", 1, "'count' is a function; call it as count(...)"),
        ("人口 > 1", 1, "unexpected character '人'"),
    ],
)
def test_syntax_errors_point_at_the_column(text: str, column: int, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (column, reason)
    assert err.text == text


@pytest.mark.parametrize(
    ("text", "column"),
    [("cases = 1", 7), ("has_plate = true", 11), ("cases >= 1 and closed = 2", 23)],
)
def test_single_equals_hints_at_double(text: str, column: int) -> None:
    err = parse_error(text)
    assert err.reason == "unexpected character '='; use '==' to compare"
    assert err.column == column


def test_error_message_draws_a_caret_under_the_column() -> None:
    err = parse_error("cases = 1")
    assert str(err) == (
        "unexpected character '='; use '==' to compare (at column 7)\n    cases = 1\n          ^"
    )


def test_expression_error_is_a_value_error_and_a_fulian_error() -> None:
    err = parse_error("1 +")
    assert isinstance(err, ValueError)
    assert isinstance(err, FulianEvalError)


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("popul > 1", 1, "unknown name 'popul' (did you mean 'population'?)"),
        ("polulation > 1", 1, "unknown name 'polulation' (did you mean 'population'?)"),
        ("cases + clsoed", 9, "unknown name 'clsoed' (did you mean 'closed'?)"),
        ("has_plat", 1, "unknown name 'has_plat' (did you mean 'has_plate'?)"),
        ("zzz > 1", 1, "unknown name 'zzz'"),
        ("True", 1, "unknown name 'True'"),
        ("foo(1)", 1, "unknown function 'foo' (did you mean 'floor'?)"),
        ("rond(1.5)", 1, "unknown function 'rond' (did you mean 'round'?)"),
        ("sum(1, 2)", 1, "unknown function 'sum'"),
    ],
)
@pytest.mark.usefixtures("english")
def test_unknown_names(text: str, column: int, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (column, reason)


def test_names_read_are_recorded() -> None:
    e = parse("cases > 0 and closed / cases >= 0.9 or has(documents, village)", TYPES)
    assert isinstance(e, Expr)
    assert e.names == frozenset({"cases", "closed", "documents", "village"})
    assert e.type == "bool"
    assert str(e) == "cases > 0 and closed / cases >= 0.9 or has(documents, village)"
    assert parse("1 + 2", TYPES).names == frozenset()


def test_parse_once_evaluate_many_times() -> None:
    e = parse("min(10, closed / cases * 10)", TYPES)
    got = [e.evaluate({"cases": Fraction(n), "closed": Fraction(9)}) for n in (9, 10, 18)]
    assert got == [Fraction(10), Fraction(9), Fraction(5)]


# ------------------------------------------------------------------ limits


@pytest.mark.parametrize(
    ("open_", "close"),
    [("(", ")"), ("abs(", ")"), ("min(1, ", ")")],
)
def test_nesting_of_64_is_accepted_and_65_rejected(open_: str, close: str) -> None:
    ok = open_ * 64 + "1" + close * 64
    assert parse(ok, TYPES).evaluate({}) == 1
    err = parse_error(open_ * 65 + "1" + close * 65)
    assert err.reason == "expression nested deeper than 64"
    assert err.column == 64 * len(open_) + 1  # the 65th opening


@pytest.mark.parametrize(("prefix", "tail"), [("-", "1"), ("not ", "true")])
def test_deep_prefix_operators_are_limited(prefix: str, tail: str) -> None:
    assert parse(prefix * 64 + tail, TYPES).evaluate({}) in (Fraction(1), True)
    err = parse_error(prefix * 65 + tail)
    assert err.reason == "expression nested deeper than 64"
    assert err.column == 64 * len(prefix) + 1


def test_text_of_4096_characters_is_accepted() -> None:
    text = "1" + " " * 4095
    assert len(text) == 4096
    assert parse(text, TYPES).evaluate({}) == 1


def test_text_longer_than_4096_characters_is_rejected() -> None:
    text = "1" + " " * 4096
    err = parse_error(text)
    assert err.reason == "expression longer than 4096 characters"
    assert err.column == 1
    assert err.text == text[:60] + "…"  # the message does not repeat 4 KB of text


def test_long_flat_chain_within_limits_evaluates() -> None:
    text = "+".join(["1"] * 2048)
    assert len(text) <= 4096
    e = parse(text, TYPES)
    assert e.evaluate({}) == 2048
    mixed = parse("-".join(["cases"] * 600), TYPES)  # 3599 characters, 599 subtractions
    assert mixed.evaluate({"cases": Fraction(1)}) == 1 - 599


# ------------------------------------------------------------------ safety


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ('__import__("os")', 1, "unknown function '__import__'"),
        ('eval("1")', 1, "unknown function 'eval'"),
        ('exec("1")', 1, "unknown function 'exec'"),
        ('open("/etc/passwd")', 1, "unknown function 'open'"),
        ("__builtins__", 1, "unknown name '__builtins__'"),
        ("os.system", 3, "unexpected character '.'"),
        ("().__class__", 3, "unexpected character '.'"),
        ("lambda: 1", 7, "unexpected character ':'"),
        ("[c for c in documents]", 1, "unexpected character '['"),
        ("1 if true else 2", 3, "unexpected 'if'"),
    ],
)
def test_python_is_not_reachable(text: str, column: int, reason: str) -> None:
    err = parse_error(text)
    assert (err.column, err.reason) == (column, reason)


def test_expr_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(expr_module.__file__).read_text(encoding="utf-8"))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__"}


def test_parse_and_evaluate_without_builtin_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec must never be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", forbidden)
    e = parse(
        'cases > 0 and round(closed / cases * 100, 1) >= 90 and has(documents, "花名册")', TYPES
    )
    assert e.evaluate(ENV) is True


# ------------------------------------------------------------------ the tree
# One typed tree, parsed once, read by both interpreters (issue 9). Columns are
# counted by hand in the source text.


def num(v: int | str) -> Fraction:
    return Fraction(v)


def test_tree_of_a_condition() -> None:
    #         1234567890123456789012345678901234
    text = "cases > 0 and closed / cases >= 0.9"
    tree = parse(text, TYPES).tree
    assert tree == And(
        (
            Compare(
                ">",
                Name("cases", type="num", col=1),
                Const(num(0), type="num", col=9),
                type="bool",
                col=7,
            ),
            Compare(
                ">=",
                Arith(
                    Name("closed", type="num", col=15),
                    (("/", Name("cases", type="num", col=24)),),
                    type="num",
                    col=15,
                ),
                Const(num("0.9"), type="num", col=33),
                type="bool",
                col=30,
            ),
        ),
        type="bool",
        col=7,  # a chain takes its first part's column; a comparison, its operator's
    )


def test_tree_keeps_precedence_and_flat_chains() -> None:
    # * binds tighter than + and -, which chain flat, left to right
    tree = parse("1 + 2 * 3 - 4", TYPES).tree
    assert isinstance(tree, Arith)
    assert [op for op, _ in tree.rest] == ["+", "-"]
    assert tree.first == Const(num(1), type="num", col=1)
    inner = tree.rest[0][1]
    assert inner == Arith(
        Const(num(2), type="num", col=5),
        (("*", Const(num(3), type="num", col=9)),),
        type="num",
        col=5,
    )
    # and binds tighter than or; not is a node of its own each time
    tree = parse("fabricated or has_plate and not not fabricated", TYPES).tree
    assert isinstance(tree, Or) and len(tree.parts) == 2
    right = tree.parts[1]
    assert isinstance(right, And)
    assert right.parts[1] == Not(
        Not(Name("fabricated", type="bool", col=37), type="bool", col=33), type="bool", col=29
    )


def test_tree_of_signs_and_parentheses() -> None:
    # a unary + leaves no node; a parenthesised node takes the column of its "("
    assert parse("+cases", TYPES).tree == Name("cases", type="num", col=2)
    assert parse("(cases)", TYPES).tree == Name("cases", type="num", col=1)
    assert parse("-(cases + 1)", TYPES).tree == Neg(
        Arith(
            Name("cases", type="num", col=3),
            (("+", Const(num(1), type="num", col=11)),),
            type="num",
            col=2,
        ),
        type="num",
        col=1,
    )


def test_tree_of_calls_carries_each_type() -> None:
    tree = parse('round(closed / cases * 100, 1) >= 90 and has(documents, "花名册")', TYPES).tree
    assert isinstance(tree, And)
    cmp, has = tree.parts
    assert isinstance(cmp, Compare) and isinstance(cmp.left, Call)
    rnd = cmp.left
    assert (rnd.function, rnd.type, rnd.col, len(rnd.args)) == ("round", "num", 1, 2)
    assert rnd.args[1] == Const(num(1), type="num", col=29)
    assert has == Call(
        "has",
        (Name("documents", type="set", col=46), Const("花名册", type="str", col=57)),
        type="bool",
        col=42,
    )
    eq = parse('village == "宁锋村" and count(documents) > 1', TYPES).tree
    assert [n.type for n in walk(eq)] == ["bool", "bool", "str", "str", "bool", "num", "set", "num"]


def test_walk_goes_depth_first_left_to_right() -> None:
    tree = parse("min(cases, -closed) * 2 == 3 or true", TYPES).tree
    assert [type(n).__name__ for n in walk(tree)] == [
        "Or",
        "Compare",
        "Arith",
        "Call",
        "Name",
        "Neg",
        "Name",
        "Const",
        "Const",
        "Const",
    ]


class _Show(Visitor[str]):
    """Writes a tree back out, fully parenthesised: a visitor of the same tree."""

    def const(self, node: Const) -> str:
        return repr(node.value) if isinstance(node.value, str) else str(node.value).lower()

    def name(self, node: Name) -> str:
        return node.name

    def or_(self, node: Or) -> str:
        return "(" + " or ".join(self.visit(p) for p in node.parts) + ")"

    def and_(self, node: And) -> str:
        return "(" + " and ".join(self.visit(p) for p in node.parts) + ")"

    def not_(self, node: Not) -> str:
        return f"(not {self.visit(node.operand)})"

    def compare(self, node: Compare) -> str:
        return f"({self.visit(node.left)} {node.op} {self.visit(node.right)})"

    def arith(self, node: Arith) -> str:
        return (
            "("
            + self.visit(node.first)
            + "".join(f" {op} {self.visit(n)}" for op, n in node.rest)
            + ")"
        )

    def neg(self, node: Neg) -> str:
        return f"(-{self.visit(node.operand)})"

    def call(self, node: Call) -> str:
        return f"{node.function}(" + ", ".join(self.visit(a) for a in node.args) + ")"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("cases > 0 and closed / cases >= 0.9", "((cases > 0) and ((closed / cases) >= 9/10))"),
        ("not has_plate or fabricated and true", "((not has_plate) or (fabricated and true))"),
        ("-abs(1 - cases) * 2 + 1", "(((-abs((1 - cases))) * 2) + 1)"),
        (
            "village != 'x' and has(documents, \"花名册\")",
            "((village != 'x') and has(documents, '花名册'))",
        ),
    ],
)
def test_a_visitor_reads_the_tree(text: str, shown: str) -> None:
    # the same tree the exact and columnar interpreters read, dispatched on node class
    e = parse(text, TYPES)
    out = _Show().visit(e.tree)
    assert out == shown
    # and what it writes parses back to a tree that evaluates the same
    assert parse(out.replace("9/10", "(9 / 10)"), TYPES).evaluate(ENV) == e.evaluate(ENV)


def test_tree_is_frozen_and_not_tuples() -> None:
    tree = parse("cases + 1", TYPES).tree
    assert isinstance(tree, Node) and not isinstance(tree, tuple)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        tree.col = 3  # type: ignore[misc]


def test_set_names_asked_by_has_are_read_from_the_tree() -> None:
    # io.evidence learns which names a set cell may hold from has(field, "…") in the tree
    from fulian_eval.io.evidence import _has_names

    found: dict[str, list[str]] = {}
    for text in (
        "has(documents, \"花名册\") and not (count(documents) > 2 or has(documents, '会议记录'))",
        'has_plate == has(documents, "台账")',
        "has(documents, village)",
    ):
        _has_names(parse(text, TYPES).tree, found)
    assert found == {"documents": ["花名册", "会议记录", "台账"]}
