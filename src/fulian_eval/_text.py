"""Small text helpers shared by the reports: JSON and CSV as printed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

__all__ = ["csv_text", "decimal_text", "json_text"]


def decimal_text(x: Fraction) -> str:
    """A number from a rulebook or evidence as a person writes it: 12, 0.85, 0.001."""
    if x.denominator == 1:
        return str(x.numerator)
    return format((Decimal(x.numerator) / Decimal(x.denominator)).normalize(), "f")


def json_text(obj: Any) -> str:
    """JSON as the reports print it: UTF-8 characters as they are, one-space indent."""
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV table with a header row and \\n line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
