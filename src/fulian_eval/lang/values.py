"""Reading one value as written by a clerk: numbers with units, approximate figures, bools, sets."""

from __future__ import annotations

import functools
import re
import tomllib
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .messages import _
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
    "numeral",
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
        return (
            f"{shown} is too large; numbers below 1e{MAX_EXPONENT + 1} are read "
            f"(check the figure, or use a larger unit)"
        )
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
        raise TomlProblem(
            f"tables or arrays are nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        m = _LONG_DIGITS.search(text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise TomlProblem(
            f"a number of thousands of digits; at most {MAX_DIGITS} significant digits are read",
            line,
        ) from None
    _bound_tree(data)
    return data


def _bound_tree(data: dict[str, Any]) -> None:
    """Check the nesting depth, and turn whole numbers out of bounds into BadNumber (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TomlProblem(
                f"tables or arrays are nested too deeply (at most {MAX_DEPTH} levels)"
            )
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for k in keys:
            v = node[k]
            if isinstance(v, dict | list):
                stack.append((v, depth + 1))
            elif isinstance(v, int) and not isinstance(v, bool) and not -_LIMIT < v < _LIMIT:
                shown = _int_text(v)
                node[k] = BadNumber(shown, _range_problem(shown, 1))


# The characters of Chinese numerals (SPEC §10.6): digits, 大写 digits, multipliers, 点.
_CN_DIGIT = {
    **dict.fromkeys("零〇○", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二贰貳两兩", 2),
    **dict.fromkeys("三叁參", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆陸", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
_CN_SMALL = {
    **dict.fromkeys("十拾", 10),
    **dict.fromkeys("百佰", 100),
    **dict.fromkeys("千仟", 1000),
}
_CN_BIG = {**dict.fromkeys("万萬", 10**4), **dict.fromkeys("亿億", 10**8)}
_CN_CHARS = "".join(_CN_DIGIT) + "".join(_CN_SMALL) + "".join(_CN_BIG) + "点點"
_CN_SET = frozenset(_CN_CHARS)
_NUMBER = re.compile(
    r"""^\s*
    (?P<pre>近|约|約|大约|大約|将近|將近)?\s*
    (?P<num>(?:(?:[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)(?:[eE][+-]?\d+)?|[CN])
            (?:\d+(?:\.\d+)?|[CN])*+)\s*
    (?P<post>余|餘|多|左右|以上|来|來)?\s*
    (?P<unit>.*?)\s*$""".replace("CN", _CN_CHARS),
    re.VERBOSE,
)
_PERCENT_WORDS = re.compile(
    r"^(?P<pre>\s*(?:近|约|約|大约|大約|将近|將近)?\s*)百分之(?P<rest>[^%％]+)$"
)
_APPROX_TAIL = ("左右", "余", "多", "以上")

_CN_TOKEN = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?|[+-]?\.\d+|.", re.DOTALL
)
_POINT = "点點"
_ZERO = "零〇○"


class _Tok:
    """One token of a numeral: a digit (Chinese 1–9, or Arabic figures), a multiplier, 零, or 点."""

    __slots__ = ("arabic", "kind", "value")

    def __init__(self, kind: str, value: Fraction = Fraction(0), arabic: bool = False) -> None:
        self.kind = kind  # "d" digit, "u" 十百千, "b" 万亿, "z" 零, "p" 点
        self.value = value
        self.arabic = arabic

    @property
    def single(self) -> bool:
        """A digit 1–9 (a place of a numeral)."""
        return self.kind == "d" and self.value.denominator == 1 and 1 <= self.value <= 9


def _cn_problem(text: str, why: str) -> ValueProblem:
    return ValueProblem(
        f"'{brief(text)}' 不是规范的数字写法：{why}"
        f"（请写成 1200、一千二百 或 1.2万）(not a well-formed Chinese numeral)"
    )


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _CN_TOKEN.finditer(text):
        t = m.group()
        if t in _ZERO:
            out.append(_Tok("z"))
        elif t in _CN_DIGIT:
            out.append(_Tok("d", Fraction(_CN_DIGIT[t])))
        elif t in _CN_SMALL:
            out.append(_Tok("u", Fraction(_CN_SMALL[t])))
        elif t in _CN_BIG:
            out.append(_Tok("b", Fraction(_CN_BIG[t])))
        elif t in _POINT:
            out.append(_Tok("p"))
        elif t[:1].isdigit() or t[:1] in "+-.":
            if "e" in t.lower():
                raise _cn_problem(text, f"'{brief(t)}' 的指数写法不能与万、千等连用")
            if out and t[:1] in "+-":
                raise _cn_problem(text, "正负号只能写在最前面")
            try:
                d = Decimal(t.replace(",", ""))
            except (
                InvalidOperation
            ):  # pragma: no cover - parse_number's pattern admits only figures
                raise _cn_problem(text, f"'{t}' 不是数字") from None
            if len(d.as_tuple().digits) > MAX_DIGITS:
                raise ValueProblem(
                    f"'{brief(text)}' has {len(d.as_tuple().digits)} significant digits; "
                    f"at most {MAX_DIGITS} are read"
                )
            out.append(_Tok("d", Fraction(d), arabic=True))
        else:  # pragma: no cover - parse_number's pattern admits only these characters
            raise _cn_problem(text, f"'{t}' 不是数字")
    return out


def _section(toks: list[_Tok], text: str, first: bool) -> Fraction:
    """A numeral below 万 (千百十 and digits): 一千二百, 二十五, 一百零五, 一百二 (= 120)."""
    if not toks:
        raise _cn_problem(text, "万、亿前后缺少数字")
    if len(toks) == 1 and toks[0].kind == "d":
        if toks[0].value.denominator != 1 and not first:
            raise _cn_problem(text, "小数只能写在最前面（如 1.2万）")
        return toks[0].value
    value = Fraction(0)
    last: Fraction | None = None  # the last multiplier, 千 > 百 > 十
    pending: _Tok | None = None
    zero = False
    for i, t in enumerate(toks):
        if t.kind == "d":
            if pending is not None:
                raise _cn_problem(text, "数字连写（如 三四十、二〇二四）意思不明，请写成阿拉伯数字")
            pending = t
        elif t.kind == "z":
            if pending is not None or i == 0:
                raise _cn_problem(text, "'零' 的位置不对")
            zero = True
        else:
            if last is not None and t.value >= last:
                raise _cn_problem(text, "十、百、千要从大到小写")
            if pending is None:
                if not (first and i == 0):
                    raise _cn_problem(text, "十、百、千前面缺少数字")
                digit = Fraction(1)  # 十五, 百余, 千余
            else:
                if not pending.single and not (
                    pending.arabic and first and i == 1 and pending.value < 10
                ):
                    raise _cn_problem(text, "十、百、千前面只能是一位数")
                digit = pending.value
            value += digit * t.value
            last, pending, zero = t.value, None, False
    if pending is not None:
        if pending.value.denominator != 1 or pending.value < 0:
            raise _cn_problem(text, "小数只能写在最前面（如 1.2万）")
        if last is None or zero or last == 10:
            if last is not None and pending.value >= (10 if last == 10 else last / 10):
                raise _cn_problem(text, "个位只能是一位数")
            value += pending.value
        elif pending.single:
            value += pending.value * last / 10  # 一百二 = 120, 一千五 = 1500
        else:
            raise _cn_problem(text, "百、千后面的数意思不明（写成 一千零五 或 一千五百）")
    elif zero:
        raise _cn_problem(text, "'零' 不能写在最后")
    return value


def _rest(toks: list[_Tok], text: str, big: int) -> Fraction:
    """What follows 万 or 亿: nothing, 零 and a smaller number, or one digit (一万五 = 15000)."""
    if not toks:
        return Fraction(0)
    if toks[0].kind == "z":
        if len(toks) == 1:
            raise _cn_problem(text, "'零' 不能写在最后")
        value = _below(toks[1:], text, False, big)
        if value >= big // 10:
            raise _cn_problem(text, "'零' 后面的数太大")
        return value
    if len(toks) == 1 and toks[0].kind == "d":
        if toks[0].single:
            return toks[0].value * big / 10  # 一万五 = 15000, 3万5 = 35000
        raise _cn_problem(text, "万、亿后面的数意思不明（写成 1万零200 或 1.02万）")
    value = _below(toks, text, False, big)
    if value >= big:
        raise _cn_problem(text, "万、亿后面的数太大")
    return value


def _below(toks: list[_Tok], text: str, first: bool, big: int) -> Fraction:
    return _wan(toks, text, first) if big > 10**4 else _section(toks, text, first)


def _wan(toks: list[_Tok], text: str, first: bool) -> Fraction:
    at = [i for i, t in enumerate(toks) if t.kind == "b"]
    if not at:
        return _section(toks, text, first)
    if len(at) > 1:
        raise _cn_problem(text, "'万' 写了不止一次")
    i = at[0]
    head = Fraction(1) if i == 0 and first else _section(toks[:i], text, first)
    return head * 10**4 + _rest(toks[i + 1 :], text, 10**4)


@functools.lru_cache(maxsize=4096)  # a table's column repeats its figures; Fractions are immutable
def numeral(text: str) -> Fraction:
    """The exact value of a number written with Chinese numerals or multipliers (SPEC §10.6).

    ``一千二百`` 1200, ``两`` 2, ``十五`` 15, ``1.2万`` 12000, ``3千`` 3000, ``3万5千`` 35000,
    ``一万五`` 15000 (a digit after 万 千 百 is the next place), ``零点五`` 0.5, ``壹仟贰佰`` 1200,
    ``1.5千万`` 15000000, ``一万亿`` 10**12. Digits written side by side (``三四十``, ``二〇二四``)
    are refused: 三四十 means "thirty or forty".

    Raises:
        ValueProblem: not a well-formed numeral.
    """
    toks = _tokens(text)
    points = [i for i, t in enumerate(toks) if t.kind == "p"]
    if len(points) > 1:
        raise _cn_problem(text, "'点' 写了不止一次")
    if points:
        toks = _decimal_point(toks, points[0], text)
    if len(toks) == 1 and toks[0].kind == "z":
        return Fraction(0)
    sign = 1
    if toks and toks[0].arabic and toks[0].value < 0:
        sign = -1
        toks[0] = _Tok("d", -toks[0].value, arabic=True)
    at = [i for i, t in enumerate(toks) if t.kind == "b" and t.value == 10**8]
    if len(at) > 1:
        raise _cn_problem(text, "'亿' 写了不止一次")
    if not at:
        return sign * _wan(toks, text, True)
    i = at[0]
    head = Fraction(1) if i == 0 else _wan(toks[:i], text, True)
    return sign * (head * 10**8 + _rest(toks[i + 1 :], text, 10**8))


def _bounded_decimal(x: Fraction, shown: str) -> Fraction:
    """``x`` (a decimal fraction, as numerals give) held to the same bounds as digits are."""
    places = 0
    while (x * 10**places).denominator != 1:
        places += 1
    n = x * 10**places
    return bounded(Decimal(f"{n.numerator}E-{places}"), shown)


def _decimal_point(toks: list[_Tok], at: int, text: str) -> list[_Tok]:
    """``三点一四`` → the digit 3.14; ``一点二万`` → 1.2 followed by 万."""
    left, right = toks[:at], toks[at + 1 :]
    places: list[str] = []
    k = 0
    while k < len(right) and (right[k].kind in "zd"):
        t = right[k]
        if t.arabic and not (t.value.denominator == 1 and t.value >= 0 and k == 0):
            raise _cn_problem(text, "'点' 后面只能是数字")
        places.append("0" if t.kind == "z" else str(t.value.numerator))
        k += 1
    if not places:
        raise _cn_problem(text, "'点' 后面缺少数字")
    tail = right[k:]
    if any(t.kind not in "ub" for t in tail):
        raise _cn_problem(text, "'点' 后面只能是数字和万、千等")
    if len(left) == 1 and left[0].kind == "z":
        whole = Fraction(0)
    elif any(t.kind == "b" for t in left) or not left:
        raise _cn_problem(text, "'点' 前面缺少数字，或写了万、亿")
    else:
        whole = _section(left, text, True)
        if whole.denominator != 1:
            raise _cn_problem(text, "小数点写了两次")
    digits = "".join(places)
    return [_Tok("d", whole + Fraction(int(digits), 10 ** len(digits)), arabic=True), *tail]


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
        raise ValueProblem(_("expected a number, got {value}").format(value=str(raw).lower()))
    if isinstance(raw, BadNumber):
        raise ValueProblem(raw.reason)
    if isinstance(raw, int | Decimal):
        return bounded(raw), False
    if isinstance(raw, float):
        return bounded(Decimal(repr(raw))), False
    if not isinstance(raw, str):
        raise ValueProblem(_("expected a number, got {value}").format(value=type(raw).__name__))
    if (
        raw.isdigit() and raw.isascii() and len(raw) <= MAX_EXPONENT
    ):  # the common case: a plain whole number
        return Fraction(int(raw)), False
    text = raw.strip().replace("，", ",").replace("．", ".")
    if len(text) > MAX_TEXT:  # also keeps the pattern below linear
        raise ValueProblem(
            _(
                "'{value}' is not a number: a figure with its unit takes at most {n} characters"
            ).format(value=brief(raw), n=MAX_TEXT)
        )
    if "百分之" in text:  # 百分之九十 is 90 %
        text = _PERCENT_WORDS.sub(r"\g<pre>\g<rest>%", text)
    m = _NUMBER.match(text)
    if not m:
        raise ValueProblem(
            _("'{value}' is not a number (expected e.g. 120 or \"120 m^2\")").format(
                value=brief(raw)
            )
        )
    approx = bool(m.group("pre") or m.group("post"))
    given_unit = m.group("unit")
    if given_unit and (given_unit[0].isdigit() or given_unit[0] in ",."):
        raise ValueProblem(
            _("'{value}' is not a number (expected e.g. 120 or \"120 m^2\")").format(
                value=brief(raw)
            )
        )
    if given_unit[:1] in ("几", "幾"):
        raise ValueProblem(
            f"'{brief(raw)}' 不是一个数：'几' 说的是一个范围，请写出数字，如 15 或 15余 "
            f"(a range such as 十几 is not a figure; write the number)"
        )
    for tail in _APPROX_TAIL:
        if given_unit.endswith(tail):
            given_unit = given_unit[: -len(tail)].strip()
            approx = True
    num = m.group("num").replace(",", "")
    if not num.isascii() and not _CN_SET.isdisjoint(
        num
    ):  # Chinese numerals or multipliers: 一千二百, 1.2万
        if not given_unit and unit.strip()[:1] in _CN_BIG and any(c in _CN_BIG for c in num):
            raise ValueProblem(
                f"'{brief(raw)}' 在以 {unit.strip()} 计的字段中意思不明：写 '{brief(raw)}元' 或不带万、亿的数 "
                f"(ambiguous in a field counted in {unit.strip()}: write the unit, e.g. '3.5万元', or a plain figure)"
            )
        value = _bounded_decimal(numeral(num), f"'{brief(raw)}'")
        return _in_unit(value, given_unit, unit, raw), approx
    mantissa, _e, exp = num.lower().partition("e")
    if len(exp.lstrip("+-").lstrip("0")) > 6:  # beyond what Decimal holds, and far out of bounds
        if not Decimal(mantissa):
            num = "0"
        else:
            raise ValueProblem(_range_problem(f"'{brief(raw)}'", -1 if exp.startswith("-") else 1))
    try:
        value = bounded(Decimal(num), f"'{brief(raw)}'")
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise ValueProblem(_("'{value}' is not a number").format(value=raw)) from None
    return _in_unit(value, given_unit, unit, raw), approx


def _in_unit(value: Fraction, given_unit: str, unit: str, raw: str) -> Fraction:
    """``value`` written in ``given_unit`` (none: already in ``unit``), in ``unit``."""
    if given_unit:
        try:
            value *= conversion_factor(given_unit, unit or "")
        except UnitError as exc:
            raise ValueProblem(f"'{raw}': {exc}") from None
    return value


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
    raise ValueProblem(
        _("'{value}' is not a yes/no value (expected true/false, 是/否, 有/无 or 1/0)").format(
            value=raw
        )
    )


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
                raise ValueProblem(
                    _("expected a list of names, found {value}").format(value=repr(x))
                )
            out.update(p.strip() for p in _members(x, keep) if p.strip())
        return frozenset(out)
    raise ValueProblem(_("expected a list of names, got {value}").format(value=repr(raw)))
