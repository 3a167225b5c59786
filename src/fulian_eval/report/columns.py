"""Reports written straight from a scored table's arrays (national scale): CSV as the per-unit reports write it."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from ..analysis.rank import Ranking
from ..lang.text import csv_cell, csv_cells
from ..scoring.exact import NOT_APPLICABLE
from ..scoring.stream import HundredthsText, Table

__all__ = [
    "write_rank_csv",
    "write_score_csv",
]

def _open_out(output: str | IO[str] | None) -> tuple[IO[str], bool]:
    if output is None:
        return sys.stdout, False
    if not isinstance(output, str):
        return output, False
    # Excel opens a UTF-8 CSV with Chinese correctly only when it starts with a BOM.
    return open(output, "w", encoding="utf-8-sig", newline=""), True


Extra = Callable[[Any, "HundredthsText"], list[list[str]]]  # a block's rows (indices) -> their last columns


def _rows_out(t: Table, r: Ranking, extra: Extra, head: list[str], out: IO[str], block: int = 8192) -> None:
    # Text cells as report.py's CSV writes them (csv_cell: no cell a spreadsheet takes for a formula);
    # the numbers come from HundredthsText and are left alone.
    w = csv.writer(out, lineterminator="\n")
    w.writerow(csv_cells(head))
    fmt = HundredthsText()
    grade_of = [*csv_cells(list(t.plan.grade_names)), ""]  # index −1 -> ""
    order = r.order
    for a in range(0, len(order), block):
        idx = order[a : a + block]
        totals = fmt.many(t.total_h[idx])
        ranks = r.rank[idx].tolist()
        granks = r.group_rank[idx].tolist()
        grades = t.grade[idx].tolist()
        vet = t.vetoed[idx].tolist()
        tails = extra(idx, fmt)
        ids = idx.tolist()
        unit, name, group, role = (csv_cells([col[i] for i in ids]) for col in (t.unit, t.name, t.group, t.role))
        w.writerows([ranks[j], granks[j], unit[j], name[j], group[j], role[j], totals[j],
                     grade_of[grades[j]], "true" if vet[j] else "false", *tails[j]]
                    for j in range(len(ids)))


def _columns_of(fmt: HundredthsText, h: Any, na: Any = None) -> list[list[str]]:
    """A block of hundredths (rows × columns) as printed, row by row; ``不适用`` where ``na`` holds."""
    n, k = h.shape
    flat = fmt.many(h.ravel())
    if na is not None and na.any():
        for pos in np.flatnonzero(na.ravel()).tolist():
            flat[pos] = NOT_APPLICABLE
    return [flat[j * k : (j + 1) * k] for j in range(n)]


def write_rank_csv(t: Table, r: Ranking, output: str | IO[str] | None) -> None:
    """The ``rank --format csv`` report, streamed: as :func:`~fulian_eval.report.render.rank_report` writes it."""
    rb = t.plan.rb
    cat_ids = [c.id for c, _ in t.plan.cats]
    cols = [cat_ids.index(c) for c in rb.tie_break]
    _write_csv(t, r, output, list(rb.tie_break),
               lambda idx, fmt: _columns_of(fmt, t.cat_h[idx][:, cols], ~t.cat_ok[idx][:, cols]))


def write_score_csv(t: Table, r: Ranking, output: str | IO[str] | None) -> None:
    """The ``score --format csv`` report, streamed: as :func:`~fulian_eval.report.render.score_report` writes it."""
    plan = t.plan
    head = [*(c.id for c, _ in plan.cats), *(p.item.id for p in plan.items), "flags"]

    def extra(idx: Any, fmt: HundredthsText) -> list[list[str]]:
        cats = _columns_of(fmt, t.cat_h[idx], ~t.cat_ok[idx])
        item_h = t.item_h[idx]
        na = None if t.item_na is None else t.item_na[idx] & (item_h == 0)  # an awarded max stays points
        items = _columns_of(fmt, item_h, na)
        return [[*c, *p, csv_cell(" | ".join(t.flags(i)))] for c, p, i in zip(cats, items, idx.tolist(), strict=True)]

    _write_csv(t, r, output, head, extra)


def _write_csv(t: Table, r: Ranking, output: str | IO[str] | None, head: list[str], extra: Extra) -> None:
    """Rows in report order to ``output`` (stdout if None): the common columns, then ``extra``'s."""
    out, close = _open_out(output)
    try:
        _rows_out(t, r, extra, ["rank", "group_rank", "unit", "name", "group", "role", "total", "grade", "vetoed",
                                *head], out)
    finally:
        if close:
            out.close()
        else:
            out.flush()
