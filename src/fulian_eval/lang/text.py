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
    "csv_cell",
    "csv_text",
    "decimal_text",
    "fmt_hundredths",
    "fmt_points",
    "hundredths",
    "json_text",
    "param_text",
    "reason_number",
    "round_half_up",
]


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


def hundredths(x: Fraction) -> int:
    """``x`` rounded half-up to 0.01, as a whole number of hundredths (87.5 -> 8750)."""
    r = x if 100 % x.denominator == 0 else round_half_up(x, 2)
    return r.numerator * (100 // r.denominator)


def fmt_hundredths(n: int) -> str:
    """Whole hundredths as printed: 8750 -> ``"87.50"``."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    return f"{sign}{n // 100}.{n % 100:02d}"


def fmt_points(x: Fraction) -> str:
    """Points as printed: half-up to two decimals, e.g. ``"87.50"``."""
    return fmt_hundredths(hundredths(x))


def reason_number(x: Fraction) -> str:
    """A number in a reason: up to two decimals, no trailing zeros (92.19, 3, 0.5)."""
    r = round_half_up(x, 2)
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
