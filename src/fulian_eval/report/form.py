"""The evidence-collection form (填报表) a town office sends to its villages, made from a rulebook.

``fulian-eval template`` writes it: an instructions sheet (说明) and a data sheet (填报)
with one row per unit, one column per field, headed by the field's title and unit
(``妇女之家活动室面积（平方米）``), and a ``得分：TITLE`` column per manual item. Every
header is one the evidence reader maps back to its field (checked here, with the
reader's own header parsing), and the reader picks the sheet 填报 of a workbook, so the
form filled in — or saved from Excel as CSV, UTF-8 or GBK — scores exactly as the same
values written in TOML. Excel data validation keeps the cells readable: 是/否 lists,
whole numbers ≥ 0 for counts, numbers for quantities, the assessor's points within
their range and step; a checklist (set field) is one cell of names separated by ``、``
(its required names in the cell's input message and on 说明).
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import unicodedata
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import IO, Any

import attrs

from ..io.evidence import ROLE_TITLES, TableLayout, set_names
from ..io.tables import DATA_SHEET
from ..kinds import ManualRule
from ..lang.text import decimal_text
from ..model.rulebook import Rulebook

__all__ = ["INFO_SHEET", "FormColumn", "form_columns", "write_form"]

#: The instructions sheet, first in the workbook; the reader passes it over (it reads 填报).
INFO_SHEET = "说明"
#: Rows below the units (or below the header, with no units file) that carry the data validation.
SPARE_ROWS = 300
#: Excel's limits on data validation text (longer text makes Excel drop the validation).
_INPUT_TITLE_MAX = 32
_INPUT_MESSAGE_MAX = 255
_LIST_SOURCE_MAX = 255
#: The widest a data column is made (Excel units, about one Latin letter; a Chinese character takes two).
_MAX_WIDTH = 24
#: How units are printed in headers: as a clerk writes them, and in characters a GBK CSV keeps
#: (``²`` is not in GBK: Excel's "CSV (逗号分隔)" would turn ``m²`` into ``m?``).
_UNIT_SHOWN = {
    "m^2": "平方米",
    "m**2": "平方米",
    "m²": "平方米",
    "km^2": "平方千米",
    "km**2": "平方千米",
    "m^3": "立方米",
    "m**3": "立方米",
}

_TYPE_ZH = {
    "count": "整数",
    "number": "数值",
    "quantity": "数量",
    "bool": "是/否",
    "set": "名称清单",
    "text": "文字",
    "choice": "选项",
}
_META = (
    ("unit", "单位编码", "必填：单位的编码（已预填的不要改动）"),
    ("name", "单位名称", "单位的名称，如“宁锋村”"),
    ("group", "片区", "单位所属片区（组别）"),
    (
        "role",
        "角色",
        "评审角色，从下拉列表选：" + "、".join(ROLE_TITLES.values()) + "；留空按自评计",
    ),
    ("assessor", "评审人", "填表或评审的人（可留空）"),
)


def _role_note(rb: Rulebook) -> str:
    """The 角色 column's note: the rulebook's roles (SPEC §10.5), blank counting as the first."""
    titles = list(rb.roles.titles.values())
    return "评审角色，从下拉列表选：" + "、".join(titles) + f"；留空按{titles[0]}计"


@attrs.frozen(kw_only=True)
class FormColumn:
    """One column of the data sheet.

    Attributes:
        header: the header cell, as the reader reads it back.
        kind: ``meta``, ``field`` or ``points``.
        name: the meta column (``unit`` …), the field id, or the manual item's full id.
        type: the field's type (``count`` …), ``points``, or ``text`` for meta columns.
        unit: the unit printed in the header (``平方米``), or "".
        allowed: what may be written in it, in Chinese (shown on 说明 and as the cell's input message).
        note: more for 说明: the required names of a checklist, an item's title.
    """

    header: str
    kind: str
    name: str
    type: str
    unit: str = ""
    allowed: str = ""
    note: str = ""


def shown_unit(unit: str) -> str:
    """A field's unit as the form's header prints it (``m^2`` -> ``平方米``), GBK-safe."""
    shown = _UNIT_SHOWN.get(unit.replace(" ", ""), unit)
    try:
        shown.encode("gbk")
    except UnicodeEncodeError:
        return unit
    return shown


def _reads_back(rb: Rulebook, header: str, field: str) -> bool:
    """Whether the evidence reader maps a column headed ``header`` to ``field`` (and nothing else)."""
    layout = TableLayout(rb, ["单位编码", header], "form", False)
    return not layout.problems and [(c, f) for c, f, _, _ in layout.fields] == [(1, field)]


def _field_header(rb: Rulebook, name: str) -> str:
    spec = rb.fields[name]
    unit = (
        shown_unit(spec.unit) if spec.unit and spec.type in ("count", "number", "quantity") else ""
    )
    for base in (spec.title, name):
        if not base:
            continue
        for header in (f"{base}（{unit}）", f"{base}[{spec.unit}]") if unit else (base,):
            if _reads_back(rb, header, name):
                return header
    raise ValueError(
        f"no header reads back as field '{name}'"
    )  # the id always does: a bug if reached


def _points_header(rb: Rulebook, item_id: str, title: str) -> str:
    """``得分：TITLE`` where that reads back as the item's points (a title of its own), else ``points:ID``."""
    for header in (f"得分：{title}", f"points:{item_id}"):
        layout = TableLayout(rb, ["单位编码", header], "form", False)
        if not layout.problems and [(c, i) for c, i, _ in layout.points] == [(1, item_id)]:
            return header
    raise ValueError(f"no header reads back as the points of '{item_id}'")  # points:ID always does


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def form_columns(rb: Rulebook) -> list[FormColumn]:
    """The data sheet's columns: the meta columns, one per field, one per manual item."""
    cols = [
        FormColumn(
            header=h, kind="meta", name=m, type="text", allowed=_role_note(rb) if m == "role" else a
        )
        for m, h, a in _META
    ]
    required = set_names(rb)
    for name, spec in rb.fields.items():
        unit = shown_unit(spec.unit) if spec.unit else ""
        note = ""
        if spec.type == "bool":
            allowed = "从下拉列表选“是”或“否”"
        elif spec.type == "count":
            allowed = "不小于0的整数" + (f"，单位：{unit}" if unit else "")
        elif spec.type == "quantity":
            allowed = "不小于0的数，可带小数" + (f"，单位：{unit}" if unit else "")
        elif spec.type == "number":
            allowed = "数，可带小数" + (f"，单位：{unit}" if unit else "")
        elif spec.type == "set":
            names = required.get(name, ())
            allowed = "已具备的名称，一个格内填写，用“、”分隔"
            if names:
                ordered = sorted(names, key=_rulebook_order(rb, name))
                note = "要求的名称：" + "、".join(ordered)
                allowed += "，名称须与要求的一字不差"
        elif spec.type == "choice":
            options = tuple(getattr(spec, "options", ()) or ())
            allowed = "从下拉列表选：" + "、".join(options)
        else:
            allowed = "文字"
        cols.append(
            FormColumn(
                header=_field_header(rb, name),
                kind="field",
                name=name,
                type=spec.type,
                unit=unit if spec.type in ("count", "number", "quantity") else "",
                allowed=allowed,
                note=note,
            )
        )
    for item in rb.items():
        if isinstance(item.rule, ManualRule):
            step = decimal_text(item.rule.step)
            allowed = (
                f"{decimal_text(item.floor)}至{decimal_text(item.max)}分，按{step}分的整数倍打分"
            )
            cols.append(
                FormColumn(
                    header=_points_header(rb, item.id, item.title),
                    kind="points",
                    name=item.id,
                    type="points",
                    unit="分",
                    allowed=allowed,
                    note=item.title,
                )
            )
    return cols


def _rulebook_order(rb: Rulebook, field: str) -> Any:
    """Required names in the order the rulebook lists them (``required = [...]``), others after."""
    order: dict[str, int] = {}
    for item in rb.items():
        if getattr(item.rule, "field", None) == field:
            for n in getattr(item.rule, "required", ()) or ():
                order.setdefault(n, len(order))
    return lambda n: (order.get(n, len(order)), n)


def display_width(text: str) -> int:
    """Columns a text needs in Excel: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _step_formula(ref: str, floor: Fraction, top: Fraction, step: Fraction) -> str:
    def num(x: Fraction) -> str:
        return (
            decimal_text(x) if 10**12 % x.denominator == 0 else f"({x.numerator}/{x.denominator})"
        )

    q = f"ROUND({ref}/{num(step)},9)"
    return f"=AND(ISNUMBER({ref}),{ref}>={num(floor)},{ref}<={num(top)},{q}=INT({q}))"


def write_form(
    rb: Rulebook,
    out: str | IO[bytes],
    *,
    units: Iterable[Sequence[str]] = (),
    role: str | None = None,
    today: _dt.date,
) -> None:
    """Write the evidence-collection workbook (填报表) for ``rb``.

    Args:
        rb: the rulebook.
        out: a file name or a binary file to write the workbook to.
        units: rows of (unit id, name, group), pre-filled one per row in this order.
        role: a role id (``self`` …): its title (自评 …) is pre-filled in the 角色 column.
        today: the date printed on 说明 and stored as the workbook's date.

    Raises:
        ValueError: ``role`` is not a role.
        OSError: ``out`` cannot be written.
    """
    import xlsxwriter

    if role is not None and role not in rb.roles:
        raise ValueError(f"'{role}' is not a role")
    rows = [tuple(str(x) for x in u) for u in units]
    cols = form_columns(rb)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    when = _dt.datetime(today.year, today.month, today.day)
    wb.set_properties(
        {
            "title": rb.title,
            "subject": f"{rb.title} 填报表",
            "comments": f"{rb.id} {rb.version}",
            "created": when,
        }
    )
    info = wb.add_worksheet(INFO_SHEET)
    data = wb.add_worksheet(DATA_SHEET)
    _write_info(wb, info, rb, cols, role, today, len(rows))
    _write_data(wb, data, rb, cols, rows, role)
    info.activate()
    wb.close()
    if isinstance(out, str):
        with open(out, "wb") as f:
            f.write(buf.getvalue())
    else:
        out.write(buf.getvalue())


def _write_data(
    wb: Any,
    ws: Any,
    rb: Rulebook,
    cols: Sequence[FormColumn],
    rows: Sequence[tuple[str, ...]],
    role: str | None,
) -> None:
    head = wb.add_format(
        {
            "bold": True,
            "text_wrap": True,
            "align": "center",
            "valign": "vcenter",
            "bg_color": "#DDEBF7",
            "border": 1,
            "locked": True,
        }
    )
    text = wb.add_format({"num_format": "@", "locked": False})
    whole = wb.add_format({"num_format": "0", "locked": False})
    plain = wb.add_format({"locked": False})
    centred = wb.add_format({"locked": False, "align": "center"})
    last = len(rows) + SPARE_ROWS  # the last row (0-based) that carries validation
    lines = 1
    meta_values = {"unit": 0, "name": 1, "group": 2}
    for k, col in enumerate(cols):
        values = (
            [r[meta_values[col.name]] for r in rows if len(r) > meta_values[col.name]]
            if col.kind == "meta" and col.name in meta_values
            else []
        )
        need = max([display_width(col.header) // 2 + 1, 8, *(display_width(v) + 1 for v in values)])
        width = min(need, _MAX_WIDTH)
        lines = max(lines, math.ceil(display_width(col.header) / max(1, width - 1)))
        fmt = (
            text
            if col.type in ("text", "set", "choice")
            else whole
            if col.type == "count"
            else centred
            if col.type == "bool"
            else plain
        )
        ws.set_column(k, k, width + 2, fmt)
        ws.write_string(0, k, col.header, head)
        _validate(ws, k, last, col, rb)
    ws.set_row(0, 15 * min(lines, 6) + 6)
    role_title = rb.roles.title(role) if role is not None else ""
    for r, unit in enumerate(rows, start=1):
        for k, value in enumerate(unit[:3]):
            if value:
                ws.write_string(r, k, value, text)
        if role_title:
            ws.write_string(r, 3, role_title, text)
    ws.freeze_panes(1, 2)
    ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "insert_rows": True,
            "delete_rows": True,
            "sort": True,
        },
    )
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.repeat_rows(0)
    ws.repeat_columns(0, 1)
    ws.set_header(f"&C{_header_text(rb.title)} 填报表")
    ws.set_footer("&C第 &P 页，共 &N 页")


def _header_text(text: str) -> str:
    return text.replace("&", "&&")[:200]


def _validate(ws: Any, k: int, last: int, col: FormColumn, rb: Rulebook) -> None:
    """The column's data validation from row 2 to ``last`` + 1, with its input message."""
    title = _clip(col.header if col.kind != "points" else "评审组打分", _INPUT_TITLE_MAX)
    message = col.allowed + (f"。{col.note}" if col.note else "")
    if col.kind == "points":
        message = f"{col.note}：{col.allowed}"
    opts: dict[str, Any] = {
        "input_title": title,
        "input_message": _clip(message, _INPUT_MESSAGE_MAX),
        "error_title": "填写有误",
        "ignore_blank": True,
    }
    error = f"{col.header}：{col.allowed}"
    if col.kind == "meta":
        if col.name != "role":
            opts["validate"] = "any"
        else:
            opts.update(validate="list", source=list(rb.roles.titles.values()))
    elif col.type == "bool":
        opts.update(validate="list", source=["是", "否"])
    elif col.type == "count":
        opts.update(validate="integer", criteria=">=", value=0)
    elif col.type == "quantity":
        opts.update(validate="decimal", criteria=">=", value=0)
    elif col.type == "number":
        opts.update(validate="decimal", criteria="between", minimum=-1e15, maximum=1e15)
    elif col.type == "choice" and col.allowed:
        options = list(
            rb.fields[col.name].options
        )  # as the rulebook lists them (an option may hold "、")
        # Excel's literal list is comma-separated and at most 255 characters; else the
        # input message names the options and the reader rejects anything else.
        if sum(len(o) + 1 for o in options) <= _LIST_SOURCE_MAX and not any(
            "," in o or '"' in o for o in options
        ):
            opts.update(validate="list", source=options)
        else:
            opts["validate"] = "any"
    elif col.kind == "points":
        from xlsxwriter.utility import xl_rowcol_to_cell

        item = rb.item(col.name)
        assert isinstance(item.rule, ManualRule)
        formula = _step_formula(xl_rowcol_to_cell(1, k), item.floor, item.max, item.rule.step)
        opts.update(validate="custom", value=formula)
    else:
        opts["validate"] = "any"
    if opts["validate"] != "any":
        opts["error_message"] = _clip(error, _INPUT_MESSAGE_MAX)
    if col.type in ("count", "quantity", "number"):
        # A warning the clerk may pass: the reader also takes approximate figures
        # (1000余, scored as stated and flagged), and rejects anything else naming row and column.
        opts["error_type"] = "warning"
        opts["error_message"] = _clip(
            f"{error}。约数（如“1000余”）可以保留，评分时会标为约数；其他文字会使本行被拒收。",
            _INPUT_MESSAGE_MAX,
        )
    ws.data_validation(1, k, last, k, opts)


def _write_info(
    wb: Any,
    ws: Any,
    rb: Rulebook,
    cols: Sequence[FormColumn],
    role: str | None,
    today: _dt.date,
    n_units: int,
) -> None:
    """The instructions sheet: the scheme, how to fill the form, what each column means, the
    manual items, the values worked out from the others."""
    title = wb.add_format({"bold": True, "font_size": 16})
    bold = wb.add_format({"bold": True, "font_size": 12})
    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    cell = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    for k, w in enumerate((34, 22, 10, 10, 60)):
        ws.set_column(k, k, w)
    r = 0
    ws.write_string(r, 0, f"{rb.title} 填报表", title)
    r += 1
    facts = [f"细则编号：{rb.id}", f"版本：{rb.version}", f"生成日期：{today.isoformat()}"]
    if role is not None:
        facts.append(f"评审角色：{rb.roles.title(role)}")
    ws.write_string(r, 0, "　".join(facts))
    r += 2
    manual = [c for c in cols if c.kind == "points"]
    steps = [
        f"在“{DATA_SHEET}”表填写，每个单位一行"
        + (f"（已预填{n_units}个单位的编码、名称和片区）" if n_units else "")
        + "；单位编码必填，预填的编码和名称不要改动；新增单位可在下方空行填写。",
        "表头（第一行）已保护（无密码），请勿修改、增删或调换列；各列的填法见下表，选中单元格时也有提示。",
        "数字只填数字，不带单位，单位按表头括号里的（如“活动室面积（平方米）”填 105）；"
        "是/否 项从下拉列表选；整数项填不小于0的整数。约数（如“1000余”“160多”）可以填，按所写的数计分并标为约数。",
        "清单项（如“五簿”）在一个格内填写已具备的名称，用“、”分隔，名称须与要求的一字不差"
        "（如：工作活动记录簿、妇女培训登记簿）；一项也没有的填“无”。",
        "留空表示无资料：按细则“无资料”的规定计分（不得分，或按未开展扣分）；数量为零的填 0，不要留空。",
        (
            "人工评分项由评审组填写："
            + "；".join(f"“{c.header}”列（{c.allowed}）" for c in manual)
            + "。"
        )
        if manual
        else "本细则没有人工评分项。",
        f"填好后保存为 .xlsx 交回（收表时读取“{DATA_SHEET}”表）；如需另存为 CSV，请在“{DATA_SHEET}”表上"
        "另存为“CSV UTF-8（逗号分隔）”或“CSV（逗号分隔）”，两种都能读取。",
    ]
    ws.write_string(r, 0, "填写方法", bold)
    r += 1
    for i, text in enumerate(steps, start=1):
        ws.merge_range(r, 0, r, 4, f"{i}. {text}", wrap)
        ws.set_row(r, 15 * max(1, math.ceil(display_width(text) / 130)) + 3)
        r += 1
    r += 1
    ws.write_string(r, 0, "各列含义", bold)
    r += 1
    for k, h in enumerate(("表头", "字段编号", "类型", "单位", "可填内容")):
        ws.write_string(r, k, h, head)
    r += 1
    for c in cols:
        what = (
            _TYPE_ZH.get(c.type, c.type)
            if c.kind == "field"
            else "人工评分"
            if c.kind == "points"
            else "单位信息"
        )
        allowed = c.allowed + (f"。{c.note}" if c.note and c.kind == "field" else "")
        for k, v in enumerate((c.header, c.name, what, c.unit, allowed)):
            ws.write_string(r, k, v, cell)
        ws.set_row(
            r,
            15
            * max(
                1, math.ceil(display_width(allowed) / 58), math.ceil(display_width(c.header) / 32)
            )
            + 3,
        )
        r += 1
    r += 1
    ws.write_string(r, 0, "人工评分项（评审组打分）", bold)
    r += 1
    if manual:
        for k, h in enumerate(("表头", "考核项目", "分值", "步长", "所属类别、评分方法")):
            ws.write_string(r, k, h, head)
        r += 1
        cats = {i.id: c for c in rb.categories for i in c.items}
        for c in manual:
            item = rb.item(c.name)
            assert isinstance(item.rule, ManualRule)
            where = cats[item.id].title + (f"；{item.method}" if item.method else "")
            row = (
                c.header,
                item.title,
                f"{decimal_text(item.floor)}–{decimal_text(item.max)}",
                decimal_text(item.rule.step),
                where,
            )
            for k, v in enumerate(row):
                ws.write_string(r, k, v, cell)
            ws.set_row(r, 15 * max(1, math.ceil(display_width(item.title) / 20)) + 3)
            r += 1
    else:
        ws.write_string(r, 0, "无")
        r += 1
    if rb.derived:
        r += 1
        ws.write_string(r, 0, "自动计算的指标（不用填写，评分时由填写的数算出）", bold)
        r += 1
        for k, h in enumerate(("指标", "编号", "单位", "", "计算式")):
            ws.write_string(r, k, h, head)
        r += 1
        for d in rb.derived:
            for k, v in enumerate(
                (d.title or d.name, d.name, shown_unit(d.unit) if d.unit else "", "", d.expr.text)
            ):
                ws.write_string(r, k, v, cell)
            r += 1
    ws.protect("", {"format_columns": True, "format_rows": True})
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
