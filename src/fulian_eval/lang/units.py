"""Units: the one pint registry, and exact conversion factors computed once per unit pair.

Pint is only touched when a rulebook loads or when a new unit spelling is seen in
evidence; every conversion after that is one cached :class:`~fractions.Fraction`
multiplication, so scoring many units never builds per-value pint objects.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = [
    "MAX_POWER",
    "MAX_UNIT_TEXT",
    "UnitError",
    "conversion_factor",
    "normalize_unit",
    "registry",
]

from ..errors import FulianEvalError
from .messages import _

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
    # SPEC §10.6: banners and paintings, sheets, boards/plaques, sites, enterprises and
    # families, institutions, rooms, sets, sessions/issues, batches.
    "幅": "picture_count",
    "张": "sheet_count",
    "块": "board_count",
    "处": "site_count",
    "家": "firm_count",
    "所": "institution_count",
    "间": "room_count",
    "套": "suite_count",
    "期": "issue_count",
    "批": "batch_count",
}

_DEFINITIONS = (
    [
        "person = [person] = 人 = 位 = 名",
        "household = [household] = 户",
        "yuan = [currency] = 元 = CNY",
        "wanyuan = 10000 yuan = 万元",
        "yiyuan = 100000000 yuan = 亿元",
        "square_metre = meter ** 2 = 平方米 = 平米",  # ㎡ and m2 are rewritten to m^2 before pint sees it
        "mu_area = 10000 / 15 * meter ** 2 = 亩",  # 1 亩 = 10000/15 m², exactly (the registry reads Fractions)
        "points_score = 1 = 分",  # 分: points, a pure number
    ]
    + [f"{name} = [{name}] = {word}" for word, name in _COUNTING_WORDS.items()]
)


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
    **{w: ("area", Fraction(1)) for w in ("m^2", "m**2", "平方米", "平米", "square_metre")},
    **{w: ("area", Fraction(10000, 15)) for w in ("亩", "mu_area")},
    **{w: ("", Fraction(1)) for w in ("分", "points_score")},
    **{w: (name, Fraction(1)) for word, name in _COUNTING_WORDS.items() for w in (word, name)},
}


@functools.cache
def registry() -> Any:
    """The program's one pint registry, with 人 户 元 万元 % and the counting words."""
    import pint

    # non_int_type=Fraction: pint reads its definitions' numbers as Fractions, so every
    # factor it computes is exact (90 minute is 3/2 hour, not 1.49999999999999994).
    ureg: Any = pint.UnitRegistry(autoconvert_offset_to_baseunit=False, non_int_type=Fraction)
    for line in _DEFINITIONS:
        ureg.define(line)
    return ureg


_M_POWER = re.compile(r"(?<![A-Za-z_])([kcdm]?m)([23])(?![\w])")


def _clean(text: str) -> str:
    text = (
        text.strip().replace("㎡", "m^2").replace("²", "^2").replace("³", "^3").replace("％", "%")
    )
    if "m2" in text or "m3" in text:  # m2, km2, cm3 as keyboards write m², km², cm³
        text = _M_POWER.sub(r"\1^\2", text)
    return text


#: A unit is names joined by products (``*``, ``·``, a space) and quotients (``/``),
#: each name with an optional whole power from -MAX_POWER to MAX_POWER (``^2``, ``**3``,
#: ``²``). Nothing else reaches pint: pint would evaluate arithmetic such as
#: ``10**10**10`` written inside a unit, for ever.
MAX_POWER = 4
#: A unit's text takes at most this many characters, and at most 8 names.
MAX_UNIT_TEXT = 40
_MAX_NAMES = 8
#: A conversion between two units multiplies by at most 1e20 (亿元 to 元 is 1e8,
#: km^2 to m^2 1e6), so a bounded figure stays a bounded figure.
_FACTOR_EXP = 20
MAX_FACTOR = 10**_FACTOR_EXP
_UNIT_TOKEN = re.compile(
    r"""(?P<name>(?:[^\W\d_]|°)(?:\w|°)*|%)
      | (?P<power>(?:\^|\*\*)\s*(?P<exp>[+-]?\d+))
      | (?P<op>\*|·|/)
      | (?P<ws>\s+)""",
    re.VERBOSE,
)
_UNIT_GRAMMAR = (
    f"a unit is names such as m, hectare, 万元 joined by '*', '·' or '/', "
    f"with whole powers up to {MAX_POWER} (m^2, m**3, m²)"
)


def _grammar(text: str, shown: str) -> str:
    """``text`` (cleaned) checked against the unit grammar, as plain text for pint.

    Raises:
        UnitError: anything the grammar does not admit (numbers, brackets, big powers).
    """
    if len(text) > MAX_UNIT_TEXT:
        raise UnitError(
            f"unit '{shown}' is too long (at most {MAX_UNIT_TEXT} characters); {_UNIT_GRAMMAR}"
        )
    out: list[str] = []
    pending = ""  # the operator before the next name
    names = 0
    pos = 0
    while pos < len(text):
        m = _UNIT_TOKEN.match(text, pos)
        if m is None:
            raise UnitError(
                f"unit '{shown}' cannot be read at '{text[pos : pos + 10]}'; {_UNIT_GRAMMAR}"
            )
        pos = m.end()
        if m.group("ws"):
            continue
        if m.group("name"):
            name = "percent" if m.group("name") == "%" else m.group("name")
            names += 1
            if names > _MAX_NAMES:
                raise UnitError(f"unit '{shown}' has more than {_MAX_NAMES} names; {_UNIT_GRAMMAR}")
            if out:
                out.append(pending or "*")
            out.append(name)
            pending = ""
            continue
        if m.group("power"):
            exp = m.group("exp")
            if not out or "**" in out[-1] or pending:
                raise UnitError(f"unit '{shown}': a power must follow a unit name; {_UNIT_GRAMMAR}")
            if len(exp) > 3 or not 1 <= abs(int(exp)) <= MAX_POWER:
                raise UnitError(f"unit '{shown}': power {exp} is not allowed; {_UNIT_GRAMMAR}")
            out[-1] = f"{out[-1]}**{int(exp)}"
            continue
        op = "/" if m.group("op") == "/" else "*"
        if not out or pending:
            raise UnitError(
                f"unit '{shown}': '{m.group('op')}' must stand between two unit names; {_UNIT_GRAMMAR}"
            )
        pending = op
    if pending:
        raise UnitError(f"unit '{shown}' ends with '{pending}'; {_UNIT_GRAMMAR}")
    return " ".join(out)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    cleaned = _clean(text)
    shown = text.strip()
    if not cleaned:
        return registry().Quantity(1)
    plain = _grammar(cleaned, shown)
    ureg = registry()
    try:
        q = ureg.Quantity(1, plain)
    except Exception as exc:  # pint raises several unrelated types here
        raise UnitError(_("unknown unit '{unit}'").format(unit=text)) from exc
    _no_temperature(q, shown)
    return q


def _no_temperature(q: Any, shown: str) -> None:
    """Refuse a unit with an offset (°C, °F) and any temperature (K): never converted by a factor.

    Raises:
        UnitError: the unit measures temperature or is not multiplicative.
    """
    ureg = registry()
    offset = any(
        not ureg._units[name].is_multiplicative for name in q._units if name in ureg._units
    )
    if offset or "[temperature]" in q.dimensionality:
        raise UnitError(
            f"不接受温度单位 '{shown}'：带零点偏移的单位（°C、°F、K）不能按倍数换算 "
            f"(unit '{shown}' is a temperature; units with an offset are refused, never converted by a factor)"
        )


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


@functools.lru_cache(maxsize=4096)
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
        raise UnitError(
            _("'{unit}' cannot be converted to '{to}' ({a} vs {b})").format(
                unit=from_unit, to=to_unit, a=a, b=b
            )
        )
    ureg = registry()
    try:
        factor = _exact(ureg.Quantity(Fraction(1), src.units).to(dst.units).magnitude)
    except (ArithmeticError, ValueError) as exc:  # pint's float steps overflow for absurd prefixes
        raise UnitError(
            _(
                "'{unit}' cannot be converted to '{to}' exactly ({error}); write the figure in a nearer unit"
            ).format(unit=from_unit, to=to_unit, error=exc)
        ) from None
    if not Fraction(1, MAX_FACTOR) <= factor <= MAX_FACTOR:
        size = round((factor.numerator.bit_length() - factor.denominator.bit_length()) * 0.30103)
        raise UnitError(
            f"'{from_unit}' to '{to_unit}' multiplies by about 1e{size}, beyond 1e±{_FACTOR_EXP}; "
            f"write the figure in a nearer unit"
        )
    return factor


def _describe(text: str, q: Any) -> str:
    # The registry's exponents are Fractions, which pint's own formatting cannot print.
    dims = dict(q.dimensionality)
    if not dims:
        return "a pure number"

    def term(k: str, v: Fraction) -> str:
        return k if v == 1 else f"{k} ** {v}"

    up = " * ".join(term(k, v) for k, v in dims.items() if v > 0) or "1"
    down = [term(k, -v) for k, v in dims.items() if v < 0]
    return up if not down else f"{up} / {' / '.join(down)}"


def is_dimensionless(unit: str) -> bool:
    """Whether ``unit`` (possibly empty) is a pure number such as % or nothing."""
    known = _KNOWN.get(_clean(unit))
    if known is not None:
        return known[0] == ""
    return bool(_parse(unit).dimensionless)
