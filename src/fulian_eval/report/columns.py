"""Reports written straight from a scored table's arrays (national scale): CSV as the per-unit reports write it,
and the office workbook (:mod:`fulian_eval.report.workbook`) with the same cells as the per-unit path gives."""

from __future__ import annotations

import csv
import io
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np

from ..analysis.rank import Ranking
from ..io.evidence import Rejection, RowsTask, plan_sources, run_task
from ..io.surveys import SurveyData
from ..lang.text import csv_cell, csv_cells
from ..model.rulebook import Item
from ..scoring.exact import NOT_APPLICABLE, ZERO, score
from ..scoring.stream import HundredthsText, Table
from .render import CSV_HEAD
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


Extra = Callable[
    [Any, "HundredthsText"], list[list[str]]
]  # a block's rows (indices) -> their last columns


def _rows_out(
    t: Table, r: Ranking, extra: Extra, head: list[str], out: IO[str], block: int = 8192
) -> None:
    # Text cells as report.py's CSV writes them (csv_cell: no cell a spreadsheet takes for a formula);
    # the numbers come from HundredthsText and are left alone.
    w = csv.writer(out, lineterminator="\n")
    w.writerow(csv_cells(head))
    fmt = HundredthsText(places=t.plan.places)
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
        unit, name, group, role = (
            csv_cells([col[i] for i in ids]) for col in (t.unit, t.name, t.group, t.role)
        )
        if (
            r.award is not None
        ):  # [[awards]]: an award column after vetoed (as report/render.py writes it)
            names = [*csv_cells([a.name for a in t.plan.rb.awards]), ""]  # index −1 -> ""
            tails = [
                [names[c], *tail] for c, tail in zip(r.award[idx].tolist(), tails, strict=True)
            ]
        w.writerows(
            [
                ranks[j],
                granks[j],
                unit[j],
                name[j],
                group[j],
                role[j],
                totals[j],
                grade_of[grades[j]],
                "true" if vet[j] else "false",
                *tails[j],
            ]
            for j in range(len(ids))
        )


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
    _write_csv(
        t,
        r,
        output,
        list(rb.tie_break),
        lambda idx, fmt: _columns_of(fmt, t.cat_h[idx][:, cols], ~t.cat_ok[idx][:, cols]),
        lambda idx, arrow: [
            arrow.hundredths(t.cat_h[idx][:, j], ~t.cat_ok[idx][:, j]) for j in cols
        ],
    )


def write_score_csv(t: Table, r: Ranking, output: str | IO[str] | None) -> None:
    """The ``score --format csv`` report, streamed: as :func:`~fulian_eval.report.render.score_report` writes it."""
    plan = t.plan
    head = [*(c.id for c, _ in plan.cats), *(p.item.id for p in plan.items), "flags"]

    def extra(idx: Any, fmt: HundredthsText) -> list[list[str]]:
        cats = _columns_of(fmt, t.cat_h[idx], ~t.cat_ok[idx])
        item_h = t.item_h[idx]
        na = (
            None if t.item_na is None else t.item_na[idx] & (item_h == 0)
        )  # an awarded max stays points
        items = _columns_of(fmt, item_h, na)
        return [
            [*c, *p, csv_cell(" | ".join(t.flags(i)))]
            for c, p, i in zip(cats, items, idx.tolist(), strict=True)
        ]

    def arrow_extra(idx: Any, arrow: _ArrowCells) -> list[Any]:
        cat_h, cat_ok = t.cat_h[idx], t.cat_ok[idx]
        item_h = t.item_h[idx]
        na = None if t.item_na is None else t.item_na[idx] & (item_h == 0)
        flag_texts = [csv_cell(" | ".join(f)) for f in t.flag_sets]
        codes = np.frombuffer(t.flag_code, dtype=np.int32)[idx]
        return [
            *(arrow.hundredths(cat_h[:, j], ~cat_ok[:, j]) for j in range(cat_h.shape[1])),
            *(
                arrow.hundredths(item_h[:, j], None if na is None else na[:, j])
                for j in range(item_h.shape[1])
            ),
            arrow.lookup(flag_texts, codes),
        ]

    _write_csv(t, r, output, head, extra, arrow_extra)


def _write_csv(
    t: Table,
    r: Ranking,
    output: str | IO[str] | None,
    head: list[str],
    extra: Extra,
    arrow_extra: Callable[[Any, _ArrowCells], list[Any]],
) -> None:
    """Rows in report order to ``output`` (stdout if None): the common columns, then ``extra``'s.

    With pyarrow the rows are joined by Arrow kernels (:func:`_rows_out_arrow`); without it,
    by the csv module (:func:`_rows_out`). Both write the same bytes.
    """
    out, close = _open_out(output)
    full_head = [*CSV_HEAD, *(["award"] if r.award is not None else []), *head]
    try:
        if _have_arrow():
            _rows_out_arrow(t, r, arrow_extra, full_head, out)
        else:
            _rows_out(t, r, extra, full_head, out)
    finally:
        if close:
            out.close()
        else:
            out.flush()


# ---------------------------------------------------- CSV rows joined by Arrow


def _have_arrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - the arrow extra is not installed
        return False
    return True


#: A text cell the csv module might write otherwise than as it is (quoted, or with a
#: doubled quote), or that csv_cell would change (a would-be formula): such cells are
#: written by the csv module itself, so the bytes are those of :func:`_rows_out`.
_NOT_PLAIN_CELL = r'[,"\r\n\x00]|^[=+\-@\t]'


def _csv_field(text: str) -> str:
    """One cell as ``csv.writer(lineterminator="\\n")`` writes it inside a row."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text, ""])
    return buf.getvalue()[:-2]  # the empty last cell and the line end


class _ArrowCells:
    """A block's columns as Arrow string arrays of their CSV cells (written as the csv module
    writes them: text through :func:`~fulian_eval.lang.text.csv_cell`, quoted where needed)."""

    def __init__(self, fmt: HundredthsText) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pa, self.pc, self.fmt = pa, pc, fmt
        self.numbers = pa.array(fmt.table.tolist(), pa.string())  # hundredths lo … hi as printed
        self._lookups: dict[int, Any] = {}

    def text(self, arr: Any) -> Any:
        """A text column (an Arrow string array) as CSV cells."""
        pa, pc = self.pa, self.pc
        odd = pc.match_substring_regex(arr, _NOT_PLAIN_CELL)
        if not pc.any(odd).as_py():
            return arr
        pos = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
        fixed = [_csv_field(csv_cell(v)) for v in arr.take(pa.array(pos)).to_pylist()]
        return pc.replace_with_mask(arr, odd, pa.array(fixed, pa.string()))

    def lookup(self, texts: Sequence[str], codes: Any) -> Any:
        """``texts[code]`` for each code (texts already csv_cell'd); −1 takes the last text."""
        pa = self.pa
        key = id(texts)
        got = self._lookups.get(key)
        if got is None or got[0] is not texts:
            got = self._lookups[key] = (
                texts,
                pa.array([_csv_field(x) for x in texts], pa.string()),
            )
        codes = np.asarray(codes, dtype=np.int64)
        return got[1].take(pa.array(np.where(codes < 0, len(texts) - 1, codes)))

    def ints(self, values: Any) -> Any:
        return self.pc.cast(self.pa.array(np.asarray(values, dtype=np.int64)), self.pa.string())

    def hundredths(self, h: Any, na: Any = None) -> Any:
        """Hundredths as the reports print them; ``不适用`` where ``na`` holds."""
        pa, pc, fmt = self.pa, self.pc, self.fmt
        h = np.asarray(h, dtype=np.int64)
        k = h - fmt.lo
        if len(k) and (int(k.min()) < 0 or int(k.max()) >= len(self.numbers)):
            col = pa.array(fmt.many(h), pa.string())
        else:
            col = self.numbers.take(pa.array(k))
        if na is not None and na.any():
            col = pc.if_else(pa.array(na), NOT_APPLICABLE, col)
        return col


def _rows_out_arrow(
    t: Table,
    r: Ranking,
    extra: Callable[[Any, _ArrowCells], list[Any]],
    head: list[str],
    out: IO[str],
    block: int = 65536,
) -> None:
    """:func:`_rows_out`'s bytes, each block of rows joined by Arrow kernels (no Python object per cell)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    w = csv.writer(out, lineterminator="\n")
    w.writerow(csv_cells(head))
    raw = _utf8_buffer(out)
    arrow = _ArrowCells(HundredthsText(places=t.plan.places))
    grade_of = [*csv_cells(list(t.plan.grade_names)), ""]  # index −1 -> ""
    award_of = [*csv_cells([a.name for a in t.plan.rb.awards]), ""]
    texts = {name: arrow.text(t.text_array(name)) for name in ("unit", "name", "group", "role")}
    vetoed = pa.array(["false", "true"], pa.string())
    order = r.order

    def lines_of(a: int) -> memoryview:
        idx = order[a : a + block]
        take = pa.array(idx)
        cols = [
            arrow.ints(r.rank[idx]),
            arrow.ints(r.group_rank[idx]),
            *(texts[name].take(take) for name in ("unit", "name", "group", "role")),
            arrow.hundredths(t.total_h[idx]),
            arrow.lookup(grade_of, t.grade[idx]),
            vetoed.take(pa.array(t.vetoed[idx].astype(np.int8))),
        ]
        if r.award is not None:  # [[awards]]: an award column after vetoed
            cols.append(arrow.lookup(award_of, r.award[idx]))
        cols += extra(idx, arrow)
        lines = pc.binary_join_element_wise(*cols, ",")
        lines = pc.binary_join_element_wise(lines, "", "\n")
        return _string_bytes(lines)

    # Arrow's kernels let go of the GIL: two threads make blocks, written in order as they come.
    with ThreadPoolExecutor(_WRITE_THREADS) as pool:
        ahead: deque[Future[memoryview]] = deque()
        starts = iter(range(0, len(order), block))
        for a in starts:
            ahead.append(pool.submit(lines_of, a))
            if len(ahead) > _WRITE_THREADS:
                _write_block(ahead.popleft().result(), raw, out)
        while ahead:
            _write_block(ahead.popleft().result(), raw, out)
    if raw is not None:
        raw.flush()


#: Threads making CSV blocks at a time (each holds one block of text, ~16 MB at 65,536 rows).
_WRITE_THREADS = 2


def _write_block(data: memoryview, raw: Any, out: IO[str]) -> None:
    if raw is not None:
        raw.write(data)
    else:
        out.write(data.tobytes().decode("utf-8"))


def _utf8_buffer(out: IO[str]) -> Any:
    """The byte stream under a UTF-8 text file, flushed (None where the text layer must see every
    character: another encoding, or a console that replaces what it cannot show)."""
    if type(out) is not io.TextIOWrapper:
        return None
    if (out.encoding or "").lower().replace("_", "-") not in ("utf-8", "utf8", "utf-8-sig"):
        return None
    out.flush()
    return out.buffer


def _string_bytes(arr: Any) -> memoryview:
    """The characters of an Arrow string array without nulls, end to end."""
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    return memoryview(data)[int(off[0]) : int(off[-1])]


# ------------------------------------------------------------ the workbook


def write_table_workbook(
    t: Table,
    r: Ranking,
    rejected: Sequence[Rejection],
    warnings: Sequence[str],
    missing: Iterable[Sequence[Any]],
    out: str | IO[bytes],
) -> None:
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
    roles_zh = {role: role_zh(role, rb) for role in t.roles}
    block = 4096

    award_names = [*(a.name for a in rb.awards), None]  # index −1 -> none

    def blocks() -> Iterator[tuple[list[int], list[int], list[int], list[float]]]:
        order = r.order
        for a in range(0, len(order), block):
            idx = order[a : a + block]
            yield (
                idx.tolist(),
                r.rank[idx].tolist(),
                r.group_rank[idx].tolist(),
                (t.total_h[idx] / 100).tolist(),
            )

    def awards_of(
        ids: list[int],
    ) -> list[list[Any]]:  # the 奖项 cell, if the rulebook has [[awards]]
        if r.award is None:
            return [[] for _ in ids]
        return [[award_names[c]] for c in r.award[ids].tolist()]

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
            aw = awards_of(ids)
            for j, i in enumerate(ids):
                yield [
                    ranks[j],
                    granks[j],
                    t.unit[i],
                    t.name[i],
                    t.group[i],
                    roles_zh[t.role[i]],
                    totals[j],
                    grade_of[grades[j]],
                    vetoed[j],
                    *aw[j],
                    *tie[j],
                ]

    cols, where = score_columns(rb)
    # Where each score column is in the arrays: categories by id, items by id.
    pick_cat = [
        (k, cat_ids.index(rb.categories[n].id))
        for k, (kind, n) in enumerate(where)
        if kind == "cat"
    ]
    items_rb = rb.items()
    pick_item = [
        (k, item_ids.index(items_rb[n].id)) for k, (kind, n) in enumerate(where) if kind == "item"
    ]

    def scores() -> Iterator[list[Any]]:
        for ids, ranks, _, totals in blocks():
            cats = shown(t.cat_h[ids], ~t.cat_ok[ids])
            item_h = t.item_h[ids]
            na = (
                np.zeros(item_h.shape, dtype=bool)
                if t.item_na is None
                else t.item_na[ids] & (item_h == 0)
            )
            items = shown(item_h, na)  # an awarded max stays points
            grades = t.grade[ids].tolist()
            for j, i in enumerate(ids):
                row: list[Any] = [None] * len(where)
                cj, ij = cats[j], items[j]
                for k, c in pick_cat:
                    row[k] = cj[c]
                for k, c in pick_item:
                    row[k] = ij[c]
                yield [
                    ranks[j],
                    t.unit[i],
                    t.name[i],
                    t.group[i],
                    roles_zh[t.role[i]],
                    totals[j],
                    grade_of[grades[j]],
                    *row,
                ]

    def notes() -> Iterator[list[Any]]:
        yield from warning_rows(warnings)
        flagged = [i for i in range(len(t)) if t.flag_code[i]]
        flagged.sort(key=lambda i: missing_key(t.group[i], t.unit[i], t.role[i], rb))
        for i in flagged:
            for f in t.flags(i):
                yield ["评分提示", t.unit[i], t.name[i], t.group[i], roles_zh[t.role[i]], f]

    write_workbook(
        out,
        [
            Sheet("排名", ranking_columns(rb), ranking(), freeze_columns=4),
            Sheet("各项得分", cols, scores(), freeze_columns=3),
            Sheet("被拒收", REJECTED_COLUMNS, rejected_rows(rejected)),
            Sheet("提示", NOTES_COLUMNS, notes()),
            Sheet("缺资料", MISSING_COLUMNS, missing, freeze_columns=3),
        ],
        rb.places,
    )


def table_missing_rows(
    t: Table,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    ignore_columns: bool = False,
    surveys: SurveyData | None = None,
) -> list[list[Any]]:
    """The 缺资料 rows of a streamed run, exactly as the per-unit path finds them.

    The streamed table keeps each item's points and whether it applies, not whether
    it lacked evidence. So the evidence is read again, and the per-unit path scores
    again only the rows that can hold a missing item: an applicable item at the
    points a missing item gets, with a blank cell (or no column) for one of the
    fields it reads, or for its points if it is a manual item, or reading a derived
    value that is missing when its divisor is 0 (``on_zero = "missing"``). Only the rows the
    table holds count (not rejected rows, not a repeated unit's later rows). TOML
    files are scored again whole.
    """
    rb = t.plan.rb
    items = [p.item for p in t.plan.items]
    n = len(t)
    if n == 0:
        return []
    miss_h = np.array([rb.points_h(min(ZERO, it.floor)) for it in items], dtype=np.int64)
    na = np.zeros(t.item_h.shape, dtype=bool) if t.item_na is None else t.item_na
    can = (t.item_h == miss_h) & ~na
    row_of = {t.source(i): i for i in range(n)}
    # An item reading a derived value that is missing when its divisor is 0 may lack nothing in the cells.
    by_zero = {d.name for d in rb.derived if getattr(d, "on_zero", "") == "missing"}
    reads = [[name for name in rb.inputs_of(it.fields_used()) if name in rb.fields] for it in items]
    always = [not by_zero.isdisjoint(rb.inputs_of(it.fields_used())) for it in items]
    tasks, _, _ = plan_sources(
        rb, paths, strict=strict, ignore_columns=ignore_columns, empty_ok=True
    )
    found: list[tuple[tuple[str, str, int, str], list[Any]]] = []
    for task in tasks:
        if isinstance(task, RowsTask):
            task = attrs.evolve(task, rows=_may_lack(task, row_of, can, items, reads, always))
        for ev in run_task(rb, task, strict=strict, surveys=surveys):
            if isinstance(ev, Rejection) or ev.source not in row_of:
                continue
            u = score(rb, ev)
            key = missing_key(u.unit.group, u.unit.id, u.role, rb)
            found.extend((key, missing_row(rb, u, i)) for i in u.items if i.status == "missing")
    found.sort(key=lambda kr: kr[0])  # stable: items stay in rulebook order
    return [row for _, row in found]


def _may_lack(
    task: RowsTask,
    row_of: dict[str, int],
    can: Any,
    items: Sequence[Item],
    reads: Sequence[Sequence[str]],
    always: Sequence[bool],
) -> list[tuple[int, list[Any]]]:
    """The rows of ``task`` the table holds that can have a missing item (see :func:`table_missing_rows`)."""
    col_of = {name: col for col, name, _, _ in task.layout.fields}
    points_of = {item_id: col for col, item_id, _ in task.layout.points}

    def blank(cells: Sequence[Any], col: int | None) -> bool:
        if col is None or col >= len(cells):
            return True
        v = cells[col]
        return v is None or (isinstance(v, str) and not v.strip())

    out = []
    for rowno, cells in task.rows:
        i = row_of.get(f"{task.shown} row {rowno}")
        if i is None:
            continue
        for k in np.flatnonzero(can[i]).tolist():
            it = items[k]
            if always[k] or (
                blank(cells, points_of.get(it.id))
                if it.kind == "manual"
                else any(blank(cells, col_of.get(name)) for name in reads[k])
            ):
                out.append((rowno, cells))
                break
    return out
