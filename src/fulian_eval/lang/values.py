"""Reading one value as written by a clerk: numbers with units, approximate figures, bools, sets."""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .text import MAX_DIGITS, MAX_EXPONENT
from .units import UnitError, conversion_factor

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_TEXT",
    "SET_SEPARATORS",
    "BadNumber",
    "TomlProblem",
    "ValueProblem",
    "bounded",
    "brief",
    "loads_toml",
    "parse_bool",
    "parse_number",
    "parse_set",
]

#: A number written as text, with its unit, takes at most this many characters.
MAX_TEXT = 200
#: TOML tables and arrays may nest this deep (evidence needs 3, rulebooks 6).
MAX_DEPTH = 32
_LIMIT = 10 ** (MAX_EXPONENT + 1)


class ValueProblem(ValueError):
    """A value could not be read; the message says what would be right."""


def brief(text: str, keep: int = 24) -> str:
    """``text`` for a message: long values are cut, saying how long they were."""
    if len(text) <= 2 * keep:
        return text
    return f"{text[:keep]}…({len(text)} characters)"


def _int_text(n: int) -> str:
    if n.bit_length() > 400:  # str() of a huge int is slow, and refused above 4300 digits
        return f"a number of about {n.bit_length() * 3 // 10 + 1} digits"
    return brief(str(n))


def _range_problem(shown: str, size: int) -> str:
    if size > 0:
        return (f"{shown} is too large; numbers below 1e{MAX_EXPONENT + 1} are read "
                f"(check the figure, or use a larger unit)")
    return f"{shown} is too small; numbers from 1e-{MAX_EXPONENT} on are read (write 0 or check the figure)"


def _decimal_problem(d: Decimal, shown: str) -> str | None:
    """Why ``d`` is not read, or None if it is within the bounds."""
    if d.is_nan():
        return f"{shown} is not a number"
    if d.is_infinite():
        return f"{shown} is not a finite number; write the figure"
    if not d:
        return None
    digits = len(d.as_tuple().digits)
    if digits > MAX_DIGITS:
        return f"{shown} has {digits} significant digits; at most {MAX_DIGITS} are read"
    size = d.adjusted()
    if size > MAX_EXPONENT:
        return _range_problem(shown, 1)
    if size < -MAX_EXPONENT:
        return _range_problem(shown, -1)
    return None


def bounded(raw: int | Decimal, shown: str | None = None) -> Fraction:
    """The exact value of a whole number or decimal, within the bounds above.

    Raises:
        ValueProblem: not finite, too many digits, too large or too small.
    """
    if isinstance(raw, int):
        if -_LIMIT < raw < _LIMIT:
            return Fraction(raw)
        raise ValueProblem(_range_problem(shown or _int_text(raw), 1))
    problem = _decimal_problem(raw, shown or brief(str(raw)))
    if problem is not None:
        raise ValueProblem(problem)
    if not raw:
        return Fraction(0)  # 0E+999999999 is 0, without building 10**999999999
    return Fraction(raw)


class BadNumber:
    """A TOML number that is not read (nan, inf, out of the bounds): reported where it is used."""

    __slots__ = ("reason", "text")

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def _toml_float(text: str) -> Decimal | BadNumber:
    shown = brief(text)
    try:
        d = Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal holds
        return BadNumber(shown, _range_problem(shown, -1 if "e-" in text.lower() else 1))
    problem = _decimal_problem(d, shown)
    return d if problem is None else BadNumber(shown, problem)


class TomlProblem(ValueError):
    """TOML text that is not read: nested too deeply, or a number too long for Python."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"{message} (at line {line})")
        self.message = message
        self.line = line


_LONG_DIGITS = re.compile(r"\d[\d_]{4000,}")


def loads_toml(text: str) -> dict[str, Any]:
    """Parse TOML text with exact decimals and every number bounded.

    Floats become :class:`~decimal.Decimal`; a float or whole number outside the
    bounds (and nan, inf) becomes a :class:`BadNumber`, which every reader of a
    number reports with its place. Dates and strings are as tomllib gives them.

    Raises:
        tomllib.TOMLDecodeError: bad TOML syntax (its message has the line).
        TomlProblem: nesting deeper than MAX_DEPTH, or a whole number of thousands of digits.
    """
    try:
        data = tomllib.loads(text, parse_float=_toml_float)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:
        raise TomlProblem(f"tables or arrays are nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        m = _LONG_DIGITS.search(text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise TomlProblem(f"a number of thousands of digits; at most {MAX_DIGITS} significant digits are read",
                          line) from None
    _bound_tree(data)
    return data


def _bound_tree(data: dict[str, Any]) -> None:
    """Check the nesting depth, and turn whole numbers out of bounds into BadNumber (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TomlProblem(f"tables or arrays are nested too deeply (at most {MAX_DEPTH} levels)")
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for k in keys:
            v = node[k]
            if isinstance(v, dict | list):
                stack.append((v, depth + 1))
            elif isinstance(v, int) and not isinstance(v, bool) and not -_LIMIT < v < _LIMIT:
                shown = _int_text(v)
                node[k] = BadNumber(shown, _range_problem(shown, 1))


_NUMBER = re.compile(
    r"""^\s*
    (?P<pre>近|约|大约|将近)?\s*
    (?P<num>(?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)(?:[eE][+-]?\d+)?)\s*
    (?P<post>余|多|左右|以上|来)?\s*
    (?P<unit>.*?)\s*$""",
    re.VERBOSE,
)
_APPROX_TAIL = ("左右", "余", "多", "以上")

_TRUE = {"true", "是", "有", "1", "yes", "y", "√", "✓", "t"}
_FALSE = {"false", "否", "无", "0", "no", "n", "×", "✗", "f", "没有"}


def parse_number(raw: Any, unit: str) -> tuple[Fraction, bool]:
    """Read a number in ``unit`` from a TOML/CSV value.

    Returns:
        (value in ``unit``, whether it was approximate like ``1000余``).

    Raises:
        ValueProblem: not a number, unknown unit, or the wrong dimension.
    """
    if isinstance(raw, bool):
        raise ValueProblem(f"expected a number, got {str(raw).lower()}")
    if isinstance(raw, BadNumber):
        raise ValueProblem(raw.reason)
    if isinstance(raw, int | Decimal):
        return bounded(raw), False
    if isinstance(raw, float):
        return bounded(Decimal(repr(raw))), False
    if not isinstance(raw, str):
        raise ValueProblem(f"expected a number, got {type(raw).__name__}")
    if raw.isdigit() and raw.isascii() and len(raw) <= MAX_EXPONENT:  # the common case: a plain whole number
        return Fraction(int(raw)), False
    text = raw.strip().replace("，", ",").replace("．", ".")
    if len(text) > MAX_TEXT:  # also keeps the pattern below linear
        raise ValueProblem(f"'{brief(raw)}' is not a number: a figure with its unit takes at most {MAX_TEXT} characters")
    m = _NUMBER.match(text)
    if not m:
        raise ValueProblem(f"'{brief(raw)}' is not a number (expected e.g. 120 or \"120 m^2\")")
    approx = bool(m.group("pre") or m.group("post"))
    given_unit = m.group("unit")
    if given_unit and (given_unit[0].isdigit() or given_unit[0] in ",."):
        raise ValueProblem(f"'{brief(raw)}' is not a number (expected e.g. 120 or \"120 m^2\")")
    for tail in _APPROX_TAIL:
        if given_unit.endswith(tail):
            given_unit = given_unit[: -len(tail)].strip()
            approx = True
    num = m.group("num").replace(",", "")
    mantissa, _, exp = num.lower().partition("e")
    if len(exp.lstrip("+-").lstrip("0")) > 6:  # beyond what Decimal holds, and far out of bounds
        if not Decimal(mantissa):
            num = "0"
        else:
            raise ValueProblem(_range_problem(f"'{brief(raw)}'", -1 if exp.startswith("-") else 1))
    try:
        value = bounded(Decimal(num), f"'{brief(raw)}'")
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise ValueProblem(f"'{raw}' is not a number") from None
    if given_unit:
        try:
            value *= conversion_factor(given_unit, unit or "")
        except UnitError as exc:
            raise ValueProblem(f"'{raw}': {exc}") from None
    return value, approx


def parse_bool(raw: Any) -> bool:
    """Read true/false, 是/否, 有/无, 1/0.

    Raises:
        ValueProblem: anything else.
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | Decimal | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        t = raw.strip().lower()
        if t in _TRUE:
            return True
        if t in _FALSE:
            return False
    raise ValueProblem(f"'{raw}' is not a yes/no value (expected true/false, 是/否, 有/无 or 1/0)")


#: What separates the members of a set written as text (SPEC §10.6): ``;`` ``；`` ``、``
#: ``,`` ``，`` ``/`` and line breaks, in TOML strings and table cells alike.
SET_SEPARATORS = ";；、,，/\n\r"
_SET_SPLIT = re.compile(r"[;；、,，/\n\r]")


def _members(text: str, keep: tuple[str, ...]) -> list[str]:
    """``text`` split at the set separators; a name in ``keep`` (a required name that
    holds a separator itself) is kept whole."""
    held: list[str] = []
    for name in keep:
        if name in text:
            text = text.replace(name, f"\x00{len(held)}\x00")
            held.append(name)
    parts = _SET_SPLIT.split(text)
    if held:
        parts = [re.sub("\x00(\\d+)\x00", lambda m: held[int(m.group(1))], p) for p in parts]
    return parts


def parse_set(raw: Any, keep: tuple[str, ...] = ()) -> frozenset[str]:
    """Read a set of names: a TOML array, or text with members separated as offices
    write them (:data:`SET_SEPARATORS`: ``工作活动记录簿、妇女培训登记簿``). Each member
    of an array is split the same way.

    Args:
        raw: the value as written.
        keep: names that hold a separator themselves (``办公场所/标牌``), longest first:
            such a name is one member, never split.

    Raises:
        ValueProblem: not a list of names.
    """
    if isinstance(raw, str):
        return frozenset(p.strip() for p in _members(raw, keep) if p.strip())
    if isinstance(raw, list):
        out: set[str] = set()
        for x in raw:
            if not isinstance(x, str):
                raise ValueProblem(f"expected a list of names, found {x!r}")
            out.update(p.strip() for p in _members(x, keep) if p.strip())
        return frozenset(out)
    raise ValueProblem(f"expected a list of names, got {raw!r}")
