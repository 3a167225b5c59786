"""Units: the one pint registry, and exact conversion factors computed once per unit pair.

Pint is only touched when a rulebook loads or when a new unit spelling is seen in
evidence; every conversion after that is one cached :class:`~fractions.Fraction`
multiplication, so scoring many units never builds per-value pint objects.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["UnitError", "conversion_factor", "normalize_unit", "registry"]

from .errors import FulianEvalError

# Counting words of Chinese ledgers: each counts a different thing, so each
# gets its own dimension and "3 次" can never fill a field counted in 册.
_COUNTING_WORDS = {
    "册": "volume_count",
    "件": "piece_count",
    "个": "item_count",
    "次": "times_count",
    "份": "copy_count",
    "台": "machine_count",
    "本": "book_count",
    "场": "session_count",
    "项": "entry_count",
    "篇": "article_count",
    "条": "record_count",
}

_DEFINITIONS = [
    "person = [person] = 人 = 位 = 名",
    "household = [household] = 户",
    "yuan = [currency] = 元 = CNY",
    "wanyuan = 10000 yuan = 万元",
    "yiyuan = 100000000 yuan = 亿元",
    "square_metre = meter ** 2 = 平方米",  # ㎡ is rewritten to m^2 before pint sees it
] + [f"{name} = [{name}] = {word}" for word, name in _COUNTING_WORDS.items()]


class UnitError(FulianEvalError, ValueError):
    """A unit is unknown or has the wrong dimension."""


# The units rulebooks and ledgers use most, known without pint: spelling -> (dimension,
# factor to that dimension's base unit), exactly as the definitions above give them
# (tests/test_units_values.py holds every pair to pint). Building pint's registry costs
# about 0.2 s, which a rulebook that needs nothing else should not pay.
_KNOWN: dict[str, tuple[str, Fraction]] = {
    "": ("", Fraction(1)),
    "%": ("", Fraction(1, 100)),
    "percent": ("", Fraction(1, 100)),
    **{w: ("person", Fraction(1)) for w in ("person", "人", "位", "名")},
    **{w: ("household", Fraction(1)) for w in ("household", "户")},
    **{w: ("currency", Fraction(1)) for w in ("yuan", "元", "CNY")},
    **{w: ("currency", Fraction(10000)) for w in ("wanyuan", "万元")},
    **{w: ("currency", Fraction(100000000)) for w in ("yiyuan", "亿元")},
    **{w: ("area", Fraction(1)) for w in ("m^2", "m**2", "平方米", "square_metre")},
    **{w: (name, Fraction(1)) for word, name in _COUNTING_WORDS.items() for w in (word, name)},
}


@functools.cache
def registry() -> Any:
    """The program's one pint registry, with 人 户 元 万元 % and the counting words."""
    import pint

    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
    for line in _DEFINITIONS:
        ureg.define(line)
    return ureg


def _clean(text: str) -> str:
    text = text.strip().replace("㎡", "m^2").replace("²", "^2").replace("³", "^3").replace("％", "%")
    return text


@functools.cache
def _parse(text: str) -> Any:
    ureg = registry()
    cleaned = _clean(text)
    if not cleaned:
        return ureg.Quantity(1)
    try:
        q = ureg.Quantity(1, cleaned) if cleaned != "%" else ureg.Quantity(1, "percent")
    except Exception as exc:  # pint raises several unrelated types here
        raise UnitError(f"unknown unit '{text}'") from exc
    return q


def normalize_unit(text: str) -> str:
    """Check that ``text`` names a unit and return it as given (stripped).

    Raises:
        UnitError: the unit is unknown.
    """
    if _clean(text) not in _KNOWN:
        _parse(text)
    return text.strip()


def _exact(x: Any) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float):
        # Factors such as 2.54 come from decimal definitions: keep what was written.
        return Fraction(Decimal(repr(x)))
    return Fraction(x)


@functools.cache
def conversion_factor(from_unit: str, to_unit: str) -> Fraction:
    """Exact factor f such that ``v [from_unit] == v * f [to_unit]``.

    >>> conversion_factor("hectare", "m^2")
    Fraction(10000, 1)
    >>> conversion_factor("万元", "元")
    Fraction(10000, 1)

    Raises:
        UnitError: a unit is unknown or the two have different dimensions.
    """
    a, b = _clean(from_unit), _clean(to_unit)
    if a == b:
        return Fraction(1)
    known_a, known_b = _KNOWN.get(a), _KNOWN.get(b)
    if known_a is not None and known_b is not None and known_a[0] == known_b[0]:
        return known_a[1] / known_b[1]
    src = _parse(from_unit)
    dst = _parse(to_unit)
    if src.dimensionality != dst.dimensionality:
        a = _describe(from_unit, src)
        b = _describe(to_unit, dst)
        raise UnitError(f"'{from_unit}' cannot be converted to '{to_unit}' ({a} vs {b})")
    ureg = registry()
    value = ureg.Quantity(Fraction(1), src.units).to(dst.units).magnitude
    return _exact(value)


def _describe(text: str, q: Any) -> str:
    dim = str(q.dimensionality)
    return "a pure number" if dim == "dimensionless" else dim


def is_dimensionless(unit: str) -> bool:
    """Whether ``unit`` (possibly empty) is a pure number such as % or nothing."""
    known = _KNOWN.get(_clean(unit))
    if known is not None:
        return known[0] == ""
    return bool(_parse(unit).dimensionless)
