"""Reading one value as written by a clerk: numbers with units, approximate figures, bools, sets."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .units import UnitError, conversion_factor

__all__ = ["ValueProblem", "parse_bool", "parse_number", "parse_set"]


class ValueProblem(ValueError):
    """A value could not be read; the message says what would be right."""


_NUMBER = re.compile(
    r"""^\s*
    (?P<pre>近|约|大约|将近)?\s*
    (?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)\s*
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
    if isinstance(raw, int):
        return Fraction(raw), False
    if isinstance(raw, Decimal):
        return Fraction(raw), False
    if isinstance(raw, float):
        return Fraction(Decimal(repr(raw))), False
    if not isinstance(raw, str):
        raise ValueProblem(f"expected a number, got {type(raw).__name__}")
    if raw.isdigit() and raw.isascii():  # the common case: a plain whole number
        return Fraction(int(raw)), False
    text = raw.strip().replace("，", ",").replace("．", ".")
    m = _NUMBER.match(text)
    if not m:
        raise ValueProblem(f"'{raw}' is not a number (expected e.g. 120 or \"120 m^2\")")
    approx = bool(m.group("pre") or m.group("post"))
    given_unit = m.group("unit")
    if given_unit and (given_unit[0].isdigit() or given_unit[0] in ",."):
        raise ValueProblem(f"'{raw}' is not a number (expected e.g. 120 or \"120 m^2\")")
    for tail in _APPROX_TAIL:
        if given_unit.endswith(tail):
            given_unit = given_unit[: -len(tail)].strip()
            approx = True
    try:
        value = Fraction(Decimal(m.group("num").replace(",", "")))
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


def parse_set(raw: Any) -> frozenset[str]:
    """Read a set of names: a TOML array, or text separated by ``;``.

    Raises:
        ValueProblem: not a list of names.
    """
    if isinstance(raw, str):
        parts = re.split(r"[;；]", raw)
        return frozenset(p.strip() for p in parts if p.strip())
    if isinstance(raw, list):
        out: set[str] = set()
        for x in raw:
            if not isinstance(x, str):
                raise ValueProblem(f"expected a list of names, found {x!r}")
            if x.strip():
                out.add(x.strip())
        return frozenset(out)
    raise ValueProblem(f"expected a list of names, got {raw!r}")
