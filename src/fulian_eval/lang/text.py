"""Numbers and text as fulian_eval prints them: exact rounding to hundredths, points, reason
numbers, JSON and CSV cells, and the bounds on numbers read."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

#: At most this many significant digits are read in any number (TOML, text, table cell,
#: expression constant).
MAX_DIGITS = 60
#: A number other than 0 must lie within 1e-30 ≤ |x| < 1e31: its leading digit's
#: decimal exponent is at most this in size. Real figures are far inside both bounds.
MAX_EXPONENT = 30

__all__ = [
    "PRECISIONS",
    "csv_cell",
    "csv_text",
    "decimal_text",
    "fmt_bound",
    "fmt_hundredths",
    "fmt_points",
    "hundredths",
    "json_text",
    "param_text",
    "points_h",
    "reason_number",
    "round_h",
    "round_half_up",
    "round_points",
]

#: The precisions a rulebook may score to (``precision``, SPEC §10.5) and the decimals each
#: prints with: 0.01 (the default) → 2, 0.1 → 1, 1 → 0. Every other function here that takes
#: ``places`` takes one of these values.
PRECISIONS: dict[Fraction, int] = {Fraction(1, 100): 2, Fraction(1, 10): 1, Fraction(1): 0}


def round_half_up(x: Fraction, places: int = 0) -> Fraction:
    """Round half away from zero (四舍五入) to ``places`` decimals, exactly.

    >>> round_half_up(Fraction(14375, 1000), 2)
    Fraction(719, 50)
    """
    num, den = x.numerator, x.denominator
    if places < 0:  # round to tens, hundreds, …
        unit = 10**-places
        q = Fraction(num, den * unit)
        return Fraction(round_half_up(q, 0) * unit)
    scale = 10**places
    if scale % den == 0:
        return x  # already exact at this precision
    n = (abs(num) * scale * 2 + den) // (den * 2)
    return Fraction(n if num >= 0 else -n, scale)


def round_points(x: Fraction, places: int = 2) -> Fraction:
    """Points rounded half-up to the rulebook's precision: THE rounding of every item,
    group, category and total (SPEC §4.1, §10.5). ``places``: 2 for 0.01, 1 for 0.1, 0 for 1.

    Always from the exact value, never from an earlier rounding (2.449 → 2.4 at 0.1, not 2.5).

    >>> round_points(Fraction(49, 20), 1)  # 2.45
    Fraction(5, 2)
    """
    return round_half_up(x, places)


def hundredths(x: Fraction) -> int:
    """``x`` rounded half-up to 0.01, as a whole number of hundredths (87.5 -> 8750)."""
    r = x if 100 % x.denominator == 0 else round_half_up(x, 2)
    return r.numerator * (100 // r.denominator)


def points_h(x: Fraction, places: int = 2) -> int:
    """``x`` rounded to the precision (:func:`round_points`), in whole hundredths (91.64 at 0.1 -> 9160)."""
    if places == 2:
        return hundredths(x)
    r = round_half_up(x, places)
    return r.numerator * (100 // r.denominator)


def round_h(n: int, places: int = 2) -> int:
    """Whole hundredths rounded half-up (away from zero) to the precision: 245 -> 250 at 0.1."""
    if places == 2:
        return n
    step: int = (1, 10, 100)[2 - places]
    q = (2 * abs(n) + step) // (2 * step) * step
    return q if n >= 0 else -q


def fmt_hundredths(n: int, places: int = 2) -> str:
    """Whole hundredths as printed with ``places`` decimals: 8750 -> ``"87.50"`` (2), ``"87.5"`` (1).

    ``n`` is normally already at that precision; if not, it is rounded half-up first.
    """
    if places != 2:
        n = round_h(n, places)
    sign = "-" if n < 0 else ""
    n = abs(n)
    if places == 2:
        return f"{sign}{n // 100}.{n % 100:02d}"
    if places == 1:
        return f"{sign}{n // 100}.{n % 100 // 10}"
    return f"{sign}{n // 100}"


def fmt_points(x: Fraction, places: int = 2) -> str:
    """Points as printed: half-up to ``places`` decimals, e.g. ``"87.50"``, ``"87.5"``, ``"88"``."""
    return fmt_hundredths(points_h(x, places), places)


def fmt_bound(x: Fraction, places: int = 2) -> str:
    """A maximum or starting score as printed: ``places`` decimals, or more (at most two) when
    the rulebook wrote it finer, so a max is never shown rounded (2.5 at precision 1: ``"2.5"``)."""
    for p in range(places, 2):
        if (x * 10**p).denominator == 1:
            return fmt_points(x, p)
    return fmt_points(x)


def reason_number(x: Fraction, places: int = 2) -> str:
    """A number in a reason: up to ``places`` decimals (half-up), no trailing zeros (92.19, 3, 0.5)."""
    r = round_half_up(x, places)
    if r.denominator == 1:
        return str(r.numerator)
    return fmt_points(r).rstrip("0").rstrip(".")


def param_text(x: Fraction) -> str:
    """A rule parameter in a reason, exact when it is a short decimal (0.001, 2.5)."""
    for places in range(7):
        if (x * 10**places).denominator == 1:
            n = x * 10**places
            s = str(abs(n.numerator)).rjust(places + 1, "0")
            body = s if places == 0 else f"{s[:-places]}.{s[-places:]}"
            return ("-" if x < 0 else "") + body
    return reason_number(x)


def decimal_text(x: Fraction) -> str:
    """A number from a rulebook or evidence as a person writes it: 12, 0.85, 0.001."""
    if x.denominator == 1:
        return str(x.numerator)
    return format((Decimal(x.numerator) / Decimal(x.denominator)).normalize(), "f")


def json_text(obj: Any) -> str:
    """JSON as the reports print it: UTF-8 characters as they are, one-space indent."""
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


# A spreadsheet takes a cell starting with one of these for a formula (the OWASP
# "CSV injection" rule): = + - @, and tab or carriage return before one of them.
FORMULA_START = frozenset("=+-@\t\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")  # a number as the reports print it: 3, -2.50


def csv_cell(text: str) -> str:
    """A text cell as the CSV reports write it: ``'`` before a would-be formula.

    ``=HYPERLINK(…)``, ``+1``, ``-x``, ``@SUM(…)`` and text starting with a tab
    or carriage return get a leading ``'`` so that a spreadsheet shows them as
    text; a number (``-2.50``) is left alone.
    """
    if text[:1] in FORMULA_START and not NUMBER.match(text):
        return "'" + text
    return text


def csv_cells(texts: list[str]) -> list[str]:
    """:func:`csv_cell` over a column; quick when no cell starts like a formula."""
    if not any(t[:1] in FORMULA_START for t in texts):
        return texts
    return [csv_cell(t) for t in texts]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV table with a header row and \\n line ends; text cells as :func:`csv_cell` writes them."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_cell(h) if isinstance(h, str) else h for h in header])
    w.writerows([csv_cell(c) if isinstance(c, str) else c for c in row] for row in rows)
    return buf.getvalue()
