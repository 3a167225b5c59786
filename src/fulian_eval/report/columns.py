"""Reports written straight from a scored table's arrays (national scale): CSV as the per-unit reports write it,
and the office workbook (:mod:`fulian_eval.report.workbook`) with the same cells as the per-unit path gives."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..analysis.rank import Ranking
from ..io.evidence import Rejection, plan_sources, run_task
from ..lang.expr import Absent
from ..lang.text import csv_cell, csv_cells
from ..model.rulebook import Evidence, Rulebook
from ..scoring.exact import NOT_APPLICABLE, score
from ..scoring.stream import HundredthsText, Table
from .workbook import (
    MISSING_COLUMNS,
    NOTES_COLUMNS,
    REJECTED_COLUMNS,
    Sheet,
    missing_key,
    missing_row,
    ranking_columns,
    rejected_rows,
    role_zh,
    score_columns,
    warning_rows,
    write_workbook,
)

__all__ = [
    "table_missing_rows",
    "write_rank_csv",
    "write_score_csv",
    "write_table_workbook",
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


# ------------------------------------------------------------ the workbook


def write_table_workbook(t: Table, r: Ranking, rejected: Sequence[Rejection], warnings: Sequence[str],
                         missing: Iterable[Sequence[Any]], out: str | IO[bytes]) -> None:
    """The ``score``/``rank`` workbook from the table's arrays: the cells
    :func:`~fulian_eval.report.workbook.score_workbook` writes for the same units.

    ``missing`` holds the 缺资料 rows (:func:`table_missing_rows`): the table keeps
    which items are not applicable, not which lack evidence.
    """
    plan = t.plan
    rb = plan.rb
    cat_ids = [c.id for c, _ in plan.cats]
    item_ids = [p.item.id for p in plan.items]
    ties = [cat_ids.index(c) for c in rb.tie_break]
    grade_of = [*plan.grade_names, None]  # index −1 -> none
    roles_zh = {role: role_zh(role) for role in t.roles}
    block = 4096

    def blocks() -> Iterator[tuple[list[int], list[int], list[int], list[float]]]:
        order = r.order
        for a in range(0, len(order), block):
            idx = order[a : a + block]
            yield (idx.tolist(), r.rank[idx].tolist(), r.group_rank[idx].tolist(),
                   (t.total_h[idx] / 100).tolist())

    def shown(h: Any, na: Any) -> list[list[Any]]:
        vals: list[list[Any]] = (h / 100).tolist()
        for j, k in zip(*np.nonzero(na), strict=True):
            vals[j][k] = NOT_APPLICABLE
        return vals

    def ranking() -> Iterator[list[Any]]:
        for ids, ranks, granks, totals in blocks():
            tie = shown(t.cat_h[ids][:, ties], ~t.cat_ok[ids][:, ties])
            grades = t.grade[ids].tolist()
            vetoed = t.vetoed[ids].tolist()
            for j, i in enumerate(ids):
                yield [ranks[j], granks[j], t.unit[i], t.name[i], t.group[i], roles_zh[t.role[i]], totals[j],
                       grade_of[grades[j]], vetoed[j], *tie[j]]

    cols, where = score_columns(rb)
    # Where each score column is in the arrays: categories by id, items by id.
    pick_cat = [(k, cat_ids.index(rb.categories[n].id)) for k, (kind, n) in enumerate(where) if kind == "cat"]
    items_rb = rb.items()
    pick_item = [(k, item_ids.index(items_rb[n].id)) for k, (kind, n) in enumerate(where) if kind == "item"]

    def scores() -> Iterator[list[Any]]:
        for ids, ranks, _, totals in blocks():
            cats = shown(t.cat_h[ids], ~t.cat_ok[ids])
            item_h = t.item_h[ids]
            na = np.zeros(item_h.shape, dtype=bool) if t.item_na is None else t.item_na[ids] & (item_h == 0)
            items = shown(item_h, na)  # an awarded max stays points
            grades = t.grade[ids].tolist()
            for j, i in enumerate(ids):
                row: list[Any] = [None] * len(where)
                cj, ij = cats[j], items[j]
                for k, c in pick_cat:
                    row[k] = cj[c]
                for k, c in pick_item:
                    row[k] = ij[c]
                yield [ranks[j], t.unit[i], t.name[i], t.group[i], roles_zh[t.role[i]], totals[j],
                       grade_of[grades[j]], *row]

    def notes() -> Iterator[list[Any]]:
        yield from warning_rows(warnings)
        flagged = [i for i in range(len(t)) if t.flag_code[i]]
        flagged.sort(key=lambda i: missing_key(t.group[i], t.unit[i], t.role[i]))
        for i in flagged:
            for f in t.flags(i):
                yield ["评分提示", t.unit[i], t.name[i], t.group[i], roles_zh[t.role[i]], f]

    write_workbook(out, [
        Sheet("排名", ranking_columns(rb), ranking(), freeze_columns=4),
        Sheet("各项得分", cols, scores(), freeze_columns=3),
        Sheet("被拒收", REJECTED_COLUMNS, rejected_rows(rejected)),
        Sheet("提示", NOTES_COLUMNS, notes()),
        Sheet("缺资料", MISSING_COLUMNS, missing, freeze_columns=3),
    ])


def table_missing_rows(t: Table, paths: Iterable[str | Path], *, strict: bool = False,
                       ignore_columns: bool = False) -> list[list[Any]]:
    """The 缺资料 rows of a streamed run, exactly as the per-unit path finds them.

    The streamed table keeps no item statuses but not-applicable, so the evidence
    is read again by the per-unit loader and the units that can lack anything
    (a field without a value, a manual item without points, a derived value that
    is missing when its divisor is 0) are scored again one by one; only the rows
    the table holds count (not rejected rows, not a repeated unit's later rows).
    """
    rb = t.plan.rb
    sources = {t.source(i) for i in range(len(t))}
    always = any(getattr(d, "on_zero", "") == "missing" for d in rb.derived)
    manual = [i.id for i in rb.items() if i.kind == "manual"]
    tasks, _, _ = plan_sources(rb, paths, strict=strict, ignore_columns=ignore_columns, empty_ok=True)
    found: list[tuple[tuple[str, str, int, str], list[Any]]] = []
    for task in tasks:
        for ev in run_task(rb, task, strict=strict):
            if isinstance(ev, Rejection) or ev.source not in sources:
                continue
            if not always and not _may_lack(rb, ev, manual):
                continue
            u = score(rb, ev)
            key = missing_key(u.unit.group, u.unit.id, u.role)
            found.extend((key, missing_row(rb, u, i)) for i in u.items if i.status == "missing")
    found.sort(key=lambda kr: kr[0])  # stable: items stay in rulebook order
    return [row for _, row in found]


def _may_lack(rb: Rulebook, ev: Evidence, manual: Sequence[str]) -> bool:
    """Whether any item of ``ev`` can be scored as missing: some field has no value, or a manual item no points."""
    values = ev.values
    for name in rb.fields:
        v = values.get(name)
        if v is None or (v.__class__ is Absent and v.kind == "missing"):
            return True
    return any(m not in ev.points for m in manual)
