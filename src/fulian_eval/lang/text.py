"""Small text helpers shared by the reports (JSON and CSV as printed), and the bounds on numbers read."""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

#: At most this many significant digits are read in any number (TOML, text, table cell,
#: expression constant).
MAX_DIGITS = 60
#: A number other than 0 must lie within 1e-30 ≤ |x| < 1e31: its leading digit's
#: decimal exponent is at most this in size. Real figures are far inside both bounds.
MAX_EXPONENT = 30

__all__ = ["csv_cell", "csv_text", "decimal_text", "json_text", "raw_csv_cells"]


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
_RAW: contextvars.ContextVar[bool] = contextvars.ContextVar("raw_csv_cells", default=False)


def csv_cell(text: str) -> str:
    """A text cell as the CSV reports write it: ``'`` before a would-be formula.

    ``=HYPERLINK(…)``, ``+1``, ``-x``, ``@SUM(…)`` and text starting with a tab
    or carriage return get a leading ``'`` so that a spreadsheet shows them as
    text; a number (``-2.50``) is left alone.
    """
    if text[:1] in FORMULA_START and not NUMBER.match(text) and not _RAW.get():
        return "'" + text
    return text


def csv_cells(texts: list[str]) -> list[str]:
    """:func:`csv_cell` over a column; quick when no cell starts like a formula."""
    if _RAW.get() or not any(t[:1] in FORMULA_START for t in texts):
        return texts
    return [csv_cell(t) for t in texts]


@contextlib.contextmanager
def raw_csv_cells() -> Iterator[None]:
    """Within: CSV text is written as it is (for a workbook, whose cells are typed text)."""
    token = _RAW.set(True)
    try:
        yield
    finally:
        _RAW.reset(token)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV table with a header row and \\n line ends; text cells as :func:`csv_cell` writes them."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([csv_cell(h) if isinstance(h, str) else h for h in header])
    w.writerows([csv_cell(c) if isinstance(c, str) else c for c in row] for row in rows)
    return buf.getvalue()
