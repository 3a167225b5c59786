"""The workbook an office keeps (issue 11): typed rows written as Excel sheets with XlsxWriter.

Rows are Python values in typed columns, never CSV text parsed back: a text
column writes every value as a string (unit ``007`` stays ``007``, a name
``=HYPERLINK(…)`` stays text), a points column writes numbers shown as ``0.00``
(and ``不适用`` as text: a not-applicable cell is never a zero), a yes/no column
writes ``是``/``否``. Header rows are bold and frozen, columns as wide as their text
(a CJK character counts two). Sheets are written row by row (``constant_memory``),
so a big run costs memory for one row at a time plus the 2,000 rows the widths
are fitted to.

:func:`score_workbook` builds the sheets of ``score``/``rank`` from full results
(排名, 各项得分, 被拒收, 提示, 缺资料); :mod:`fulian_eval.report.columns` builds the
same sheets from a streamed table's arrays.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import IO, Any

import attrs

from ..analysis.crosscheck import CrossCheck, crosscheck_tables
from ..analysis.rank import Ranked
from ..analysis.sensitivity import Sensitivity
from ..io.evidence import Rejection, split_source
from ..lang.text import fmt_bound
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Item, Rulebook
from ..model.status import LABELS
from ..scoring.exact import NOT_APPLICABLE, ItemResult, UnitResult, fmt_points

__all__ = [
    "BOUND",
    "INT",
    "POINTS",
    "ROLE_ZH",
    "STATUS_ZH",
    "TEXT",
    "XLSX_MAX_COLUMNS",
    "XLSX_MAX_ROWS",
    "YESNO",
    "Column",
    "Sheet",
    "TooBig",
    "crosscheck_workbook",
    "gains_workbook",
    "missing_row",
    "record_workbook",
    "score_workbook",
    "write_workbook",
]

TEXT, INT, POINTS, YESNO = "text", "int", "points", "yesno"
#: A max (分值, 满分): points, but never shown rounded to a coarser precision (2.5 at 1 stays 2.5).
BOUND = "bound"
XLSX_MAX_ROWS, XLSX_MAX_COLUMNS = 1_048_576, 16_384  # what one Excel sheet holds
ROLE_ZH = DEFAULT_ROLES.titles  # the default roles; a rulebook's own: role_zh(role, rb)
CATEGORY_TYPE_ZH = {"base": "基本分", "bonus": "加分", "penalty": "扣分"}
_FIT_ROWS = 2000  # rows the column widths are fitted to
_TITLE_WRAP = 16  # a number column's title wider than this (8 CJK characters) wraps


class TooBig(ValueError):
    """A sheet has more rows or columns than Excel holds."""


@attrs.frozen
class Column:
    """A column: its header, how its values are written, and an optional second header line."""

    title: str
    kind: str = TEXT
    sub: str = ""


@attrs.frozen
class Sheet:
    """A sheet: its name, columns and rows (values in column order; ``None`` is an empty cell)."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    freeze_columns: int = 0


def role_zh(role: str, rb: Rulebook | None = None) -> str:
    """A role's title: the rulebook's ``[roles]`` (SPEC §10.5), or the default ones."""
    return (rb.roles if rb is not None else DEFAULT_ROLES).title(role)


def write_workbook(out: str | IO[bytes], sheets: Iterable[Sheet], places: int = 2) -> None:
    """Write ``sheets`` as one Excel workbook to ``out`` (a path or a binary file).

    Points columns are shown with ``places`` decimals (the rulebook's precision,
    SPEC §10.5: ``0.00``, ``0.0`` or ``0``).

    The workbook is built in memory and written in one go, so a failed write
    never leaves a half-written zip behind. Characters XML cannot hold (control
    characters) are shown as U+FFFD; a cell holds at most 32,767 characters.

    Raises:
        TooBig: a sheet has more rows or columns than an Excel sheet holds.
        OSError: ``out`` cannot be written.
    """
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    fmts = {
        "head": wb.add_format(
            {"bold": True, "bg_color": "#EEEEEE", "border": 1, "text_wrap": True, "valign": "top"}
        ),
        "points": wb.add_format({"num_format": points_format(places)}),
        "na": wb.add_format({"align": "right", "font_color": "#666666"}),
    }
    # At the default precision a max is shown as points are: the same format, the same file.
    fmts["bound"] = (
        fmts["points"] if places == 2 else wb.add_format({"num_format": bound_format(places)})
    )
    try:
        for sheet in sheets:
            _write_sheet(wb, fmts, sheet, places)
    finally:
        wb.close()
    data = buf.getvalue()
    if isinstance(out, str):
        with open(out, "wb") as f:
            f.write(data)
    else:
        out.write(data)


def points_format(places: int) -> str:
    """The Excel number format of points with ``places`` decimals: ``0.00``, ``0.0``, ``0``."""
    return "0." + "0" * places if places else "0"


def bound_format(places: int) -> str:
    """The Excel number format of a max: as points, with room for a finer max (``0.0#``;
    at precision 1 ``General``, which shows 10 and 2.5 alike)."""
    return {2: "0.00", 1: "0.0#"}.get(places, "General")


def _write_sheet(wb: Any, fmts: dict[str, Any], sheet: Sheet, places: int = 2) -> None:
    cols = list(sheet.columns)
    if len(cols) > XLSX_MAX_COLUMNS:
        raise TooBig(
            f"工作表“{sheet.name}”有 {len(cols):,} 列，超过 Excel 一张工作表最多的 "
            f"{XLSX_MAX_COLUMNS:,} 列；请改用 --format csv"
        )
    ws = wb.add_worksheet(sheet.name)
    heads = 2 if any(c.sub for c in cols) else 1
    rows = iter(sheet.rows)
    first = list(itertools.islice(rows, _FIT_ROWS))
    # A number column is as wide as its numbers and second header line; a longer title wraps in its cell.
    widths = [
        max(_width(c.title) if c.kind == TEXT else min(_width(c.title), _TITLE_WRAP), _width(c.sub))
        for c in cols
    ]
    for row in first:
        for k, v in enumerate(row):
            w = _width(_shown(v, cols[k].kind, places))
            if w > widths[k]:
                widths[k] = w
    shown = [min(max(w, 4) + 2, 60) for w in widths]
    for k, w in enumerate(shown):
        ws.set_column(k, k, w)
    # Header rows tall enough for their wrapped lines (a viewer need not fit them itself).
    for r, texts in enumerate([[c.title for c in cols], [c.sub for c in cols]][:heads]):
        lines = max(
            (
                sum(-(-_width(line) // max(int(shown[k]) - 1, 1)) or 1 for line in t.split("\n"))
                for k, t in enumerate(texts)
            ),
            default=1,
        )
        if lines > 1:
            ws.set_row(r, 15 * min(lines, 6))
    ws.freeze_panes(heads, sheet.freeze_columns)
    head = fmts["head"]
    for k, c in enumerate(cols):  # constant_memory: a row is done when the next one starts
        ws.write_string(0, k, _xml_text(c.title), head)
    if heads == 2:
        for k, c in enumerate(cols):
            ws.write_string(1, k, _xml_text(c.sub), head)
    # XlsxWriter's public write_* only add a check for "A1" cell names (rows and columns here are numbers);
    # its _write_* do the writing and save a third of the time on a big sheet. Public ones where they are not.
    write_string = getattr(ws, "_write_string", ws.write_string)
    write_number = getattr(ws, "_write_number", ws.write_number)
    text = [c.kind == TEXT for c in cols]
    for c in cols:
        if c.kind not in _KINDS:
            raise ValueError(f"unknown column kind {c.kind!r}")
    number_format = [
        fmts["points"] if c.kind == POINTS else fmts["bound"] if c.kind == BOUND else None
        for c in cols
    ]
    na = fmts["na"]
    r = heads
    for row in itertools.chain(first, rows):
        if r >= XLSX_MAX_ROWS:
            raise TooBig(
                f"工作表“{sheet.name}”超过 Excel 一张工作表最多的 {XLSX_MAX_ROWS:,} 行；"
                "请改用 --format csv"
            )
        # By the value's type, in the column's way: a text column writes every value as text.
        for k, v in enumerate(row):
            t = v.__class__
            if v is None or v == "":
                continue
            if text[k]:
                write_string(r, k, _xml_text(v if t is str else str(v)))
            elif t is float or t is int:
                write_number(r, k, v, number_format[k])
            elif t is bool:
                write_string(r, k, "是" if v else "否")
            elif t is str:  # 不适用 in a points column, a note in a number column
                write_string(r, k, _xml_text(v), na)
            else:  # Fraction
                write_number(r, k, float(v), number_format[k])
        r += 1


_KINDS = (TEXT, INT, POINTS, BOUND, YESNO)


def _shown(v: Any, kind: str, places: int = 2) -> str:
    if v is None:
        return ""
    if kind == YESNO:
        return "是" if v else "否"
    if kind == POINTS and not isinstance(v, str):
        return f"{float(v):.{places}f}"
    if kind == BOUND and not isinstance(v, str):
        return fmt_bound(Fraction(v), places)
    return str(v)


def _width(text: str) -> int:
    """Columns a cell needs: a CJK (wide) character takes two; the longest line of the cell counts."""
    return max(
        (sum(2 if ord(ch) > 0x2E7F else 1 for ch in line) for line in text[:200].split("\n")),
        default=0,
    )


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    if len(text) > 32767:
        text = text[:32767]
    if text.isprintable():  # the common case, cheap: no control character
        return text
    return _NOT_XML.sub("\ufffd", text)


# ------------------------------------------------------------ the sheets


def ranking_columns(
    rb: Rulebook, *, waivers: bool = False, sensitivity: bool = False
) -> list[Column]:
    """The 排名 sheet's columns."""
    return [
        Column("名次", INT),
        Column("片区名次", INT),
        Column("单位"),
        Column("名称"),
        Column("片区"),
        Column("角色"),
        Column("总分", POINTS),
        *([Column("未豁免总分", POINTS)] if waivers else []),
        Column("等次"),
        Column("一票否决", YESNO),
        *([Column("奖项")] if rb.awards else []),
        *[Column(rb.category(c).title or c, POINTS) for c in rb.tie_break],
        *([Column("最好名次", INT), Column("最差名次", INT)] if sensitivity else []),
    ]


def _max_text(type_: str, x: Fraction, places: int = 2) -> str:
    shown = fmt_bound(x, places)
    return f"最多扣{shown}" if type_ == "penalty" else f"满分{shown}"


def score_columns(rb: Rulebook) -> tuple[list[Column], list[tuple[str, int]]]:
    """The 各项得分 sheet's columns, and where each score column's value comes from:
    ("cat", k) the k-th category, ("item", k) the k-th item of ``rb.items()``, each
    category followed by its items."""
    cols = [
        Column("名次", INT),
        Column("单位"),
        Column("名称"),
        Column("片区"),
        Column("角色"),
        Column("总分", POINTS),
        Column("等次"),
    ]
    where: list[tuple[str, int]] = []
    item_pos = {i.id: k for k, i in enumerate(rb.items())}
    for k, c in enumerate(rb.categories):
        type_ = CATEGORY_TYPE_ZH.get(c.type, c.type)
        cols.append(
            Column(f"{c.title or c.id}", POINTS, f"{type_}\n{_max_text(c.type, c.max, rb.places)}")
        )
        where.append(("cat", k))
        for i in c.items:
            limit = "一票否决" if i.kind == "veto" else _max_text(c.type, i.max, rb.places)
            if i.group is not None:  # a group's item (SPEC §10.3): the group and its cap
                g = c.group(i.group)
                cap = (
                    ("最多扣" if c.deducts else "满分") + fmt_bound(g.max, rb.places)
                    if g.capped
                    else "扣分不封顶"
                )
                limit += f"\n属「{g.title}」（本组{cap}）"
            cols.append(Column(i.title or i.id, POINTS, f"{i.id}\n{limit}"))
            where.append(("item", item_pos[i.id]))
    return cols, where


REJECTED_COLUMNS = [Column("来源文件"), Column("行号", INT), Column("单位"), Column("错误")]
NOTES_COLUMNS = [
    Column("类别"),
    Column("单位"),
    Column("名称"),
    Column("片区"),
    Column("角色"),
    Column("内容"),
]
MISSING_COLUMNS = [
    Column("片区"),
    Column("单位"),
    Column("名称"),
    Column("角色"),
    Column("项目"),
    Column("考核内容"),
    Column("分值", BOUND),
    Column("缺少的资料"),
    Column("说明"),
    Column("来源"),
]


def rejected_rows(rejected: Sequence[Rejection]) -> Iterator[list[Any]]:
    for r in rejected:
        path, row = split_source(r.source)
        yield [path, row or None, r.unit, r.error]


def warning_rows(warnings: Sequence[str]) -> Iterator[list[Any]]:
    for w in warnings:
        yield ["读取资料", None, None, None, None, w]


def missing_fields(rb: Rulebook, item: Item, i: ItemResult) -> str:
    """The titles of the evidence an item lacked, as a clerk asks for it (``、``-separated)."""
    got = dict(i.inputs)
    names = [
        n
        for n in rb.inputs_of(item.fields_used())
        if n in rb.fields and (n not in got or got[n] == "missing")
    ]
    if names:
        return "、".join(rb.fields[n].title or n for n in names)
    if item.kind == "manual":
        return "评审打分"
    return i.reason


def missing_row(rb: Rulebook, u: UnitResult, i: ItemResult) -> list[Any]:
    """A 缺资料 row: one missing item of one unit."""
    item = rb.item(i.id)
    return [
        u.unit.group,
        u.unit.id,
        u.unit.name,
        role_zh(u.role, rb),
        i.id,
        i.title,
        i.max,
        missing_fields(rb, item, i),
        i.reason,
        u.source,
    ]


def missing_key(
    group: str, unit: str, role: str, rb: Rulebook | None = None
) -> tuple[str, str, int, str]:
    """The order of the 缺资料 and 提示 rows: by group, unit and role (the order a clerk phones round in)."""
    return (group, unit, (rb.roles if rb is not None else DEFAULT_ROLES).rank_order(role), role)


def score_workbook(
    rb: Rulebook,
    ranked: Sequence[Ranked[UnitResult]],
    rejected: Sequence[Rejection],
    warnings: Sequence[str],
    out: str | IO[bytes],
    sensitivity: Sensitivity | None = None,
) -> None:
    """The ``score``/``rank`` workbook from full results: 排名, 各项得分, 被拒收, 提示, 缺资料."""
    results = [r.result for r in ranked]
    waivers = any(u.total_without_waivers is not None for u in results)

    def ranking() -> Iterator[list[Any]]:
        for r in ranked:
            u = r.result
            by_id = {c.id: c for c in u.categories}
            span: list[Any] = []
            if sensitivity is not None:
                key = (u.unit.id, u.role)
                span = [sensitivity.best[key], sensitivity.worst[key]]
            yield [
                r.rank,
                r.group_rank,
                u.unit.id,
                u.unit.name,
                u.unit.group,
                role_zh(u.role, rb),
                rb.round(u.total),
                *(
                    [
                        rb.round(
                            u.total_without_waivers
                            if u.total_without_waivers is not None
                            else u.total
                        )
                    ]
                    if waivers
                    else []
                ),
                u.grade,
                u.vetoed,
                *([r.award] if rb.awards else []),
                *[
                    rb.round(by_id[c].score) if by_id[c].applicable else NOT_APPLICABLE
                    for c in rb.tie_break
                ],
                *span,
            ]

    cols, where = score_columns(rb)

    def scores() -> Iterator[list[Any]]:
        for r in ranked:
            u = r.result
            cells: list[Any] = [
                r.rank,
                u.unit.id,
                u.unit.name,
                u.unit.group,
                role_zh(u.role, rb),
                rb.round(u.total),
                u.grade,
            ]
            for kind, k in where:
                if kind == "cat":
                    c = u.categories[k]
                    cells.append(rb.round(c.score) if c.applicable else NOT_APPLICABLE)
                else:
                    i = u.items[k]
                    cells.append(
                        NOT_APPLICABLE
                        if i.status == "not_applicable" and not i.points
                        else i.points
                    )
            yield cells

    in_order = sorted(results, key=lambda u: missing_key(u.unit.group, u.unit.id, u.role, rb))

    def notes() -> Iterator[list[Any]]:
        yield from warning_rows(warnings)
        for u in in_order:
            for f in u.flags:
                yield ["评分提示", u.unit.id, u.unit.name, u.unit.group, role_zh(u.role, rb), f]

    def missing() -> Iterator[list[Any]]:
        for u in in_order:
            for i in u.items:
                if i.status == "missing":
                    yield missing_row(rb, u, i)

    write_workbook(
        out,
        [
            Sheet(
                "排名",
                ranking_columns(rb, waivers=waivers, sensitivity=sensitivity is not None),
                ranking(),
                freeze_columns=4,
            ),
            Sheet("各项得分", cols, scores(), freeze_columns=3),
            Sheet("被拒收", REJECTED_COLUMNS, rejected_rows(rejected)),
            Sheet("提示", NOTES_COLUMNS, notes()),
            Sheet("缺资料", MISSING_COLUMNS, missing(), freeze_columns=3),
        ],
        rb.places,
    )


# ------------------------------------------------ explain, gains, crosscheck

STATUS_ZH = LABELS  # 已评分 无资料 不适用 否决 (model.status)


def _item_points(i: ItemResult) -> Any:
    return NOT_APPLICABLE if i.status == "not_applicable" and not i.points else i.points


def record_workbook(
    rb: Rulebook, r: Ranked[UnitResult], item: str | None, out: str | IO[bytes]
) -> None:
    """``explain --format xlsx``: one unit's audit record sheet (审核记录表): its items, its categories, the unit."""
    u = r.result
    about = [
        ["考核方案", f"{rb.title or rb.id}（{rb.version}）"],
        ["单位", u.unit.id],
        ["名称", u.unit.name],
        ["片区", u.unit.group],
        ["角色", role_zh(u.role, rb)],
        ["评审人", u.assessor],
        ["来源", u.source],
        ["总分", fmt_points(u.total, u.places)],
        ["等次", u.grade or ""],
        ["名次", str(r.rank)],
        ["片区名次", str(r.group_rank)],
        ["一票否决", "是" if u.vetoed else "否"],
        *[["提示", f] for f in u.flags],
    ]
    items = [i for i in u.items if item is None or i.id == item]
    # The record sheet first: it is what a reader of the workbook (and the evidence loader) looks at first.
    sheets = [
        Sheet(
            "审核记录表",
            [
                Column("项目"),
                Column("考核内容"),
                Column("分值", BOUND),
                Column("得分", POINTS),
                Column("状态"),
                Column("评分依据"),
                Column("方式"),
                Column("所用资料"),
            ],
            (
                [
                    i.id,
                    i.title,
                    i.max,
                    _item_points(i),
                    STATUS_ZH.get(i.status, i.status),
                    i.reason,
                    i.method,
                    "；".join(
                        f"{rb.fields[k].title if k in rb.fields else k} = {v}" for k, v in i.inputs
                    ),
                ]
                for i in items
            ),
            freeze_columns=2,
        ),
    ]
    about_sheet = Sheet("单位", [Column("事项"), Column("内容")], about)
    if item is None:
        sheets.append(
            Sheet(
                "类别",
                [Column("类别"), Column("类型"), Column("满分", BOUND), Column("得分", POINTS)],
                (
                    [
                        c.title,
                        CATEGORY_TYPE_ZH.get(c.type, c.type),
                        c.max,
                        rb.round(c.score) if c.applicable else NOT_APPLICABLE,
                    ]
                    for c in u.categories
                ),
            )
        )
    write_workbook(out, [*sheets, about_sheet], rb.places)


def gains_workbook(
    r: Ranked[UnitResult], gains: Sequence[tuple[ItemResult, Fraction]], out: str | IO[bytes]
) -> None:
    """``explain --gains --format xlsx``: the points each not-full item would add, largest first."""
    write_workbook(
        out,
        [
            Sheet(
                "可提高",
                [
                    Column("项目"),
                    Column("考核内容"),
                    Column("得分", POINTS),
                    Column("分值", BOUND),
                    Column("可提高总分", POINTS),
                ],
                ([i.id, i.title, i.points, i.max, g] for i, g in gains),
                freeze_columns=2,
            )
        ],
        r.result.places,
    )


def crosscheck_workbook(rb: Rulebook, cc: CrossCheck, out: str | IO[bytes]) -> None:
    """``crosscheck --format xlsx``: 汇总 (each role's total), 争议项目 (each role's points and evidence side
    by side), 提示 (all-full-marks self-assessments, flags, agreement)."""
    t = crosscheck_tables(rb, cc)
    kinds = {"int": INT, "points": POINTS, "text": TEXT, "yesno": YESNO}
    write_workbook(
        out,
        [
            Sheet(
                name,
                [Column(title, kinds[kind]) for title, kind in cols],
                rows,
                freeze_columns=freeze,
            )
            for name, cols, rows, freeze in (
                ("汇总", t.unit_columns, t.units, 3),
                ("争议项目", t.dispute_columns, t.disputes, 3),
                ("提示", t.note_columns, t.notes, 0),
            )
        ],
        rb.places,
    )
