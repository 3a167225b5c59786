"""Write town.xls (old Excel, BIFF8) beside this file from examples/town/town.csv.

The fixture of tests/test_office_in.py; made with xlwt (``pip install xlwt``), which
fulian-eval does not need: reading .xls uses python-calamine. Numbers are written as
numbers, everything else as text, as a clerk's sheet holds them; the report date column
``date`` (2026-11-20) as an Excel date. Run: ``python tests/data/office/make_xls.py``.
"""

from __future__ import annotations

import csv
import datetime
import re
from pathlib import Path

import xlwt  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
TOWN = HERE.parents[2] / "examples" / "town" / "town.csv"


def typed(cell: str) -> object:
    if re.fullmatch(r"[0-9]+", cell):
        return int(cell)
    if re.fullmatch(r"[0-9]+\.[0-9]+", cell):
        return float(cell)
    return cell


def main() -> None:
    with TOWN.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("填报表")
    day = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for c, h in enumerate([*rows[0], "date"]):
        ws.write(0, c, h)
    for r, row in enumerate(rows[1:], start=1):
        for c, cell in enumerate(row):
            if cell:
                ws.write(r, c, typed(cell))
        ws.write(r, len(row), datetime.date(2026, 11, 20), day)
    wb.save(str(HERE / "town.xls"))


if __name__ == "__main__":
    main()
