"""Printable HTML: the record sheets (审核记录表, one A4 page or more per unit) and the ranking handout.

Full HTML documents (``<!doctype html>``, UTF-8, ``lang="zh-CN"``) with print CSS:
A4 pages, a page break per unit, table headers repeated on every page, a CJK font
stack and fixed column widths, so a browser prints them as they are (``report.pdf``
prints them with headless Chromium). Every text is escaped. Built from typed
results (:class:`~fulian_eval.scoring.exact.UnitResult`, ranked), never from report text.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from html import escape
from typing import Any

import attrs

from ..analysis.rank import Ranked
from ..analysis.sensitivity import Sensitivity
from ..io.evidence import Rejection
from ..lang.text import decimal_text, fmt_bound, points_h
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Rulebook
from ..model.status import LABELS
from ..scoring.exact import (
    NOT_APPLICABLE,
    CategoryResult,
    GroupResult,
    ItemResult,
    UnitResult,
    UnitSummary,
    fmt_hundredths,
    fmt_points,
    group_reason,
)

__all__ = [
    "CATEGORY_TYPE_ZH",
    "ROLE_ZH",
    "STATUS_ZH",
    "Share",
    "document",
    "ranking_html",
    "record_sheets_html",
    "score_html",
    "shares",
]

ROLE_ZH = DEFAULT_ROLES.titles  # the default roles; a rulebook's own: role_zh(role, rb)
STATUS_ZH = LABELS  # 已评分 无资料 不适用 否决 (model.status)
CATEGORY_TYPE_ZH = {
    "base": "基本",
    "deduction": "基本（扣分制）",
    "bonus": "加分",
    "penalty": "扣分",
}
_SUBTRACTED = ("penalty", "deduction")  # item points in these categories are deductions
_BLANK_DATE = "______年____月____日"

FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei", '
    '"WenQuanYi Zen Hei", "Microsoft YaHei", SimSun, "Songti SC", sans-serif'
)

_CSS = """
@page { size: A4; margin: 12mm 11mm 13mm 11mm; }
* { box-sizing: border-box; }
html { font-family: %(fonts)s; font-size: 8.5pt; line-height: 1.3; color: #000; }
body { margin: 0; }
@media screen { body { width: 188mm; margin: 8mm auto; } .sheet { padding-bottom: 10mm; border-bottom: 1px dashed #999; margin-bottom: 10mm; } }
h1 { font-size: 15pt; text-align: center; margin: 0 0 1mm; letter-spacing: 0.05em; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm; }
.sub { text-align: center; margin: 0 0 3mm; color: #333; }
table { border-collapse: collapse; width: 100%%; table-layout: fixed; }
th, td { border: 0.5pt solid #555; padding: 0.5mm 1mm; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; font-weight: bold; text-align: center; vertical-align: middle; }
thead { display: table-header-group; }
tfoot { display: table-footer-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.c, th.c { text-align: center; white-space: nowrap; }
td.id { font-size: 7.5pt; white-space: nowrap; overflow-wrap: normal; }
.nowrap { white-space: nowrap; }
tr.cat td { background: #f4f4f4; font-weight: bold; }
tr.sum td { font-weight: bold; }
tr.gsum td { font-style: italic; border-top: 0.2mm dashed #888; }
td.na { color: #444; }
.head td { border: none; padding: 0.6mm 1mm; }
.head td.k { color: #333; white-space: nowrap; width: 15mm; }
.notes { margin: 2mm 0 0; padding-left: 5mm; }
.notes li { margin: 0.5mm 0; }
.small { font-size: 8pt; color: #333; }
.sign { margin-top: 8mm; display: flex; justify-content: space-between; break-inside: avoid; page-break-inside: avoid; }
.sign div { white-space: nowrap; font-size: 10pt; }
.sheet { break-after: page; page-break-after: always; }
.sheet:last-of-type { break-after: auto; page-break-after: auto; }
.keep { break-inside: avoid; page-break-inside: avoid; }
"""


def document(title: str, body: str, *, landscape: bool = False) -> str:
    """A whole printable HTML document around ``body`` (already HTML)."""
    css = _CSS % {"fonts": FONTS}
    if landscape:
        css += "@page { size: A4 landscape; }\n@media screen { body { width: 275mm; } }\n"
    return (
        f'<!doctype html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="fulian-eval">\n<title>{escape(title)}</title>\n'
        f"<style>{css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _e(x: object) -> str:
    return escape(str(x))


def _date(d: _dt.date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d is not None else _BLANK_DATE


def role_zh(role: str, rb: Rulebook | None = None) -> str:
    """An assessment role's title: the rulebook's ``[roles]`` (SPEC §10.5) or 自评/互查/实地/镇核;
    an unknown role as it is."""
    return (rb.roles if rb is not None else DEFAULT_ROLES).title(role)


# ------------------------------------------------------------------ 折算分


@attrs.frozen(kw_only=True)
class Share:
    """A category's contribution to the total (折算分), as a record sheet prints it.

    Attributes:
        category: the category's result.
        weight: its weight (or, in a scheme without weights, its max) when it is a base
            category that counts; None for bonus/penalty and for categories left out.
        exact: the contribution, exact and signed (a penalty is negative).
        shown: the contribution as printed, in hundredths: ``exact`` rounded half-up, with the
            rounding difference (尾差) of the whole moved onto ``adjusted`` categories so the
            printed contributions add up to the printed total.
        formula: how it is worked out by hand, e.g. ``100×30/100×23.00/25``.
        adjusted: the printed value carries one unit of the precision (0.01) of rounding difference.
    """

    category: CategoryResult
    weight: Fraction | None
    exact: Fraction
    shown: int
    formula: str
    adjusted: bool = False


def _base_like(kind: str) -> bool:
    return kind not in ("bonus", "penalty")


def shares(rb: Rulebook, u: UnitResult) -> list[Share]:
    """Each category's 折算分 (SPEC §4.3): scale × weight share × score/max for base categories,
    + score for bonus and − score for penalty categories; not-applicable categories give nothing.

    The printed values (``shown``) add up exactly to the rounded sum of the exact ones:
    where rounding each on its own would miss it by some hundredths, the categories
    rounded furthest are moved by 0.01 each (largest remainder). At a precision of 0.1
    or 1 (SPEC §10.5) everything is rounded, and moved, by that instead.
    """
    places = rb.places
    unit_h = rb.step_h
    weighted = any(c.weight is not None for c in rb.categories if _base_like(c.type))
    counted = [
        (spec, c)
        for spec, c in zip(rb.categories, u.categories, strict=True)
        if _base_like(c.type) and c.applicable and c.max != 0
    ]
    den = sum(
        ((spec.weight or Fraction(0)) if weighted else c.max for spec, c in counted), Fraction(0)
    )
    scale = rb.scale
    raw: list[tuple[CategoryResult, Fraction | None, Fraction, str]] = []
    for spec, c in zip(rb.categories, u.categories, strict=True):
        if not c.applicable:
            raw.append((c, None, Fraction(0), "不适用，不计入"))
        elif _base_like(c.type):
            if c.max == 0 or not den:
                raw.append((c, None, Fraction(0), "不计分"))
                continue
            w = (spec.weight or Fraction(0)) if weighted else c.max
            score = fmt_points(c.score, places)
            if weighted:
                formula = f"{_num(scale)}×{_num(w)}/{_num(den)}×{score}/{_num(c.max)}"
                exact = scale * w / den * c.score / c.max
            else:
                formula = f"{_num(scale)}×{score}/{_num(den)}"
                exact = scale * c.score / den
            raw.append((c, w, exact, formula))
        elif c.type == "bonus":
            raw.append((c, None, c.score, f"+{fmt_points(c.score, places)}"))
        else:
            raw.append((c, None, -c.score, f"-{fmt_points(c.score, places)}"))
    exact_sum = sum((x for _, _, x, _ in raw), Fraction(0))
    shown = [points_h(x, places) for _, _, x, _ in raw]
    short = (points_h(exact_sum, places) - sum(shown)) // unit_h
    adjusted: set[int] = set()
    if short:
        # the categories whose rounding moved furthest the other way take 0.01 each
        live = [k for k, (c, w, x, _) in enumerate(raw) if w is not None or (c.applicable and x)]
        err = {k: raw[k][2] * 100 - shown[k] for k in live}
        order = sorted(live, key=lambda k: (-err[k] if short > 0 else err[k], k))
        step = unit_h if short > 0 else -unit_h
        for k in order[: abs(short)]:
            shown[k] += step
            adjusted.add(k)
    return [
        Share(category=c, weight=w, exact=x, shown=shown[k], formula=f, adjusted=k in adjusted)
        for k, (c, w, x, f) in enumerate(raw)
    ]


def _num(x: Fraction) -> str:
    """A rule parameter: a whole number as it is, else up to two decimals."""
    if x.denominator == 1:
        return str(x.numerator)
    return fmt_points(x).rstrip("0").rstrip(".")


# --------------------------------------------------------------- record sheets


def _item_points(i: ItemResult, cat_type: str, places: int = 2) -> str:
    if i.status == "not_applicable" and not i.points:
        return NOT_APPLICABLE
    if cat_type in _SUBTRACTED and i.points:
        return "-" + fmt_points(i.points, places)
    return fmt_points(i.points, places)


def _cat_score(c: CategoryResult) -> str:
    if not c.applicable:
        return NOT_APPLICABLE
    if c.type == "penalty" and c.score:
        return "-" + fmt_points(c.score, c.places)
    return fmt_points(c.score, c.places)


def _group_row(c: CategoryResult, g: GroupResult, u: UnitResult) -> str:
    """A group's subtotal row (SPEC §10.3), after its last item: what the category adds for it."""
    if not g.applicable:
        pts = NOT_APPLICABLE
    elif c.type in _SUBTRACTED and g.score:
        pts = "-" + fmt_points(g.score, g.places)
    else:
        pts = fmt_points(g.score, g.places)
    cap = fmt_bound(g.max, g.places) if g.capped else "—"
    return (
        f'<tr class="gsum"><td></td><td>小计（{_e(g.title)}）</td><td class="n">{_e(cap)}</td>'
        f'<td class="n{" na" if pts == NOT_APPLICABLE else ""}">{_e(pts)}</td><td></td>'
        f"<td>{_e(group_reason(c.type, g, u.items))}</td><td></td></tr>"
    )


_ITEM_COLS = (
    ("序号", "10mm", "c"),
    ("考核内容", "54mm", ""),
    ("分值", "11mm", "n"),
    ("得分", "12mm", "n"),
    ("状态", "11mm", "c"),
    ("评分依据", "", ""),
    ("方式", "11mm", "c"),
)


def _colgroup(cols: Sequence[tuple[str, str, str]]) -> str:
    return (
        "<colgroup>"
        + "".join(f'<col style="width:{w}">' if w else "<col>" for _, w, _ in cols)
        + "</colgroup>"
    )


def _thead(cols: Sequence[tuple[str, str, str]]) -> str:
    return (
        "<thead><tr>"
        + "".join(
            f'<th class="{k}">{_e(h)}</th>' if k in ("n", "c") else f"<th>{_e(h)}</th>"
            for h, _, k in cols
        )
        + "</tr></thead>"
    )


_NUMERALS = "一二三四五六七八九十"


def _numeral(k: int) -> str:
    if k <= 10:
        return _NUMERALS[k - 1]
    if k < 20:
        return "十" + _NUMERALS[k - 11]
    return str(k)


def _sheet(
    rb: Rulebook, r: Ranked[UnitResult], assessed: _dt.date | None, printed: _dt.date
) -> str:
    u = r.result
    p = u.places
    name = u.unit.name or u.unit.id
    title = rb.title or rb.id
    out = [
        '<section class="sheet">',
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">审核记录表（{_e(role_zh(u.role, rb))}）</p>',
    ]
    head = [
        ("被评单位", f"{name}（编码 {u.unit.id}）"),
        ("考核细则", f"版本 {rb.version}（{rb.id}）" if rb.version else rb.id),
        ("片区", u.unit.group or "—"),
        ("评审类别", role_zh(u.role, rb)),
        ("评审人", u.assessor or "________________"),
        ("评审日期", _date(assessed)),
        (
            "总分",
            f"{fmt_points(u.total, p)}　等次：{u.grade or '—'}　名次：{r.rank}　片区名次：{r.group_rank}"
            + (f"　奖项：{r.award}" if r.award else "")
            + ("　一票否决" if u.vetoed else ""),
        ),
        ("打印日期", _date(printed)),
    ]
    cells = [f'<td class="k">{_e(k)}</td><td>{_e(v)}</td>' for k, v in head]
    out.append(
        '<table class="head"><colgroup><col style="width:17mm"><col><col style="width:17mm"><col>'
        "</colgroup><tbody>"
    )
    for k in range(0, len(cells), 2):
        out.append(
            "<tr>"
            + cells[k]
            + (cells[k + 1] if k + 1 < len(cells) else "<td></td><td></td>")
            + "</tr>"
        )
    out.append("</tbody></table>")

    # every item, category by category
    out.append(
        f'<h2>一、逐项评分</h2><table class="items">{_colgroup(_ITEM_COLS)}{_thead(_ITEM_COLS)}<tbody>'
    )
    by_id = {i.id: i for i in u.items}
    sh = shares(rb, u)
    for ci, (cat, c) in enumerate(zip(rb.categories, u.categories, strict=True), start=1):
        what = CATEGORY_TYPE_ZH.get(c.type, c.type)
        extra = f"，权重{_num(cat.weight)}" if cat.weight is not None and _base_like(c.type) else ""
        cap = "最多扣" if c.type == "penalty" else "满分"
        out.append(
            f'<tr class="cat"><td colspan="7">{_numeral(ci)}、{_e(c.title)}（{_e(what)}，{cap}'
            f"{_e(fmt_bound(c.max, p))}分{_e(extra)}）"
            + ("　不适用" if not c.applicable else "")
            + "</td></tr>"
        )
        groups = {g.id: g for g in c.groups}
        for ii, spec in enumerate(cat.items, start=1):
            i = by_id[spec.id]
            pts = _item_points(i, c.type, p)
            out.append(
                f'<tr><td class="c">{ci}.{ii}</td><td>{_e(i.title)}</td><td class="n">{_e(fmt_bound(i.max, p))}</td>'
                f'<td class="n{" na" if pts == NOT_APPLICABLE else ""}">{_e(pts)}</td>'
                f'<td class="c">{_e(STATUS_ZH.get(i.status, i.status))}</td><td>{_e(i.reason)}</td>'
                f'<td class="c">{_e(i.method)}</td></tr>'
            )
            nxt = cat.items[ii] if ii < len(cat.items) else None
            if spec.group is not None and (nxt is None or nxt.group != spec.group):
                out.append(_group_row(c, groups[spec.group], u))
        s = sh[ci - 1]
        out.append(
            f'<tr class="sum"><td></td><td>小计（{_e(c.title)}）</td><td class="n">{_e(fmt_bound(c.max, p))}</td>'
            f'<td class="n">{_e(_cat_score(c))}</td><td colspan="3">折算分 {_e(fmt_hundredths(s.shown, p))}'
            f"（{_e(s.formula)}）</td></tr>"
        )
    out.append("</tbody></table>")

    # category subtotals with weight and 折算分: re-adds by hand to the total
    cols = (
        ("类别", "", ""),
        ("类型", "22mm", "c"),
        ("满分", "13mm", "n"),
        ("得分", "13mm", "n"),
        ("权重", "12mm", "n"),
        ("折算方法", "52mm", ""),
        ("折算分", "16mm", "n"),
    )
    out.append(
        f'<div class="keep"><h2>二、分类汇总与折算</h2><table class="cats">{_colgroup(cols)}{_thead(cols)}<tbody>'
    )
    for cat, s in zip(rb.categories, sh, strict=True):
        c = s.category
        weight = _num(cat.weight) if cat.weight is not None and _base_like(c.type) else "—"
        out.append(
            f'<tr><td>{_e(c.title)}</td><td class="c">{_e(CATEGORY_TYPE_ZH.get(c.type, c.type))}</td>'
            f'<td class="n">{_e(fmt_bound(c.max, p))}</td><td class="n">{_e(_cat_score(c))}</td>'
            f'<td class="n">{_e(weight)}</td><td>{_e(s.formula)}</td>'
            f'<td class="n">{_e(fmt_hundredths(s.shown, p))}{"*" if s.adjusted else ""}</td></tr>'
        )
    added = sum(s.shown for s in sh)
    out.append(
        f'<tr class="sum"><td colspan="6">合计（各类折算分相加）</td><td class="n">{_e(fmt_hundredths(added, p))}</td></tr>'
    )
    out.append(
        f'<tr class="sum"><td colspan="6">总分</td><td class="n">{_e(fmt_points(u.total, p))}</td></tr>'
    )
    out.append("</tbody></table>")
    notes = []
    if any(s.adjusted for s in sh):
        moved = "、".join(s.category.title for s in sh if s.adjusted)
        notes.append(
            f"带*的折算分含{decimal_text(rb.precision)}的四舍五入尾差（{moved}），使各类折算分之和等于总分。"
        )
    if points_h(u.total, p) != added:
        if u.vetoed and u.veto_effect == "zero":
            notes.append("一票否决，总分记0。")
        elif added < 0:
            notes.append("各类折算分之和为负，总分记0。")
    if u.vetoed and u.veto_effect != "zero":
        notes.append("一票否决：保留得分，等次评为最低等次，排在未否决单位之后。")
    if u.total_without_waivers is not None:
        waived = "、".join(f"{by_id[i].title}（{i}）" if i in by_id else i for i in u.waived)
        notes.append(
            f"已豁免：{waived}，按不适用计；未豁免时总分 {fmt_points(u.total_without_waivers, p)}。"
        )
    if notes:
        out.append(
            '<ul class="notes small">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
        )
    out.append("</div>")

    # flags and missing evidence
    missing = [i for i in u.items if i.status == "missing"]
    out.append('<div class="keep"><h2>三、提示与缺报资料</h2>')
    if not u.flags and not missing:
        out.append('<p class="small">无提示，无缺报资料。</p>')
    if u.flags:
        out.append(
            '<p><b>提示（需人工核对）：</b></p><ul class="notes">'
            + "".join(f"<li>{_e(f)}</li>" for f in u.flags)
            + "</ul>"
        )
    if missing:
        out.append(
            '<p><b>缺报资料：</b></p><ul class="notes">'
            + "".join(f"<li>{_e(i.title)}：{_e(i.reason)}</li>" for i in missing)
            + "</ul>"
        )
    out.append("</div>")
    out.append(
        '<div class="sign"><div>评审人（签字）：________________</div>'
        "<div>被评单位负责人（签字）：________________</div>"
        f"<div>日期：{_BLANK_DATE}</div></div>"
    )
    out.append(
        f'<p class="small">来源：{_e(u.source)}　考核细则 {_e(rb.id)} sha256:{_e(rb.sha256[:12])}</p>'
    )
    out.append("</section>\n")
    return "\n".join(out)


def record_sheets_html(
    rb: Rulebook,
    ranked: Sequence[Ranked[UnitResult]],
    *,
    dates: Mapping[tuple[str, str, str], _dt.date | None] | None = None,
    printed: _dt.date | None = None,
) -> str:
    """The record sheets (审核记录表) of every unit, in the order given (ranking order), as one HTML document.

    Args:
        rb: the rulebook.
        ranked: ranked full results.
        dates: (unit id, role, source) -> the assessment's date, printed as 评审日期 (blank lines when unknown).
        printed: the date printed as 打印日期 (default: today).

    Returns:
        A whole HTML document, one ``<section class="sheet">`` (a new page) per unit.
    """
    when = printed or _dt.date.today()
    dates = dates or {}
    body = "".join(
        _sheet(rb, r, dates.get((r.result.unit.id, r.result.role, r.result.source)), when)
        for r in ranked
    )
    if not ranked:
        body = "<p>没有可打印的单位。</p>\n"
    return document(f"{rb.title or rb.id} 审核记录表", body)


# ------------------------------------------------------------------ handout


def _summary(res: UnitResult | UnitSummary) -> UnitSummary:
    return res.summary() if isinstance(res, UnitResult) else res


def _remarks(u: UnitSummary) -> str:
    bits = []
    if u.vetoed:
        bits.append("一票否决")
    if u.total_without_waivers is not None:
        bits.append(f"含豁免（未豁免 {u.total_without_waivers}）")
    if u.flags:
        bits.append(f"{len(u.flags)}条提示")
    return "；".join(bits)


def ranking_html(
    rb: Rulebook,
    ranked: Sequence[Ranked[Any]],
    rejected: Sequence[Rejection],
    sensitivity: Sensitivity | None = None,
    *,
    printed: _dt.date | None = None,
    heading: str = "排名",
) -> str:
    """The ranking handout: one printable HTML document.

    Title (scheme title + 排名), date, a table per role in rank order (place, group
    place, unit, group, total, grade, every category's score with 不适用 where it does
    not apply, remarks), the grades counted, and notes on vetoed and rejected units,
    flags and (with ``sensitivity``) each unit's best and worst place.
    """
    when = printed or _dt.date.today()
    title = f"{rb.title or rb.id}{heading}"
    rows = [(r, _summary(r.result)) for r in ranked]
    roles = list(dict.fromkeys(u.role for _, u in rows))
    out = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">考核细则 {_e(rb.id)}（版本 {_e(rb.version)}）　共{len(rows)}个单位'
        f"{'　被拒收' + str(len(rejected)) + '份' if rejected else ''}　{_e(_date(when))}</p>",
    ]
    cols: list[tuple[str, str, str]] = [
        ("名次", "9mm", "c"),
        ("片区名次", "14mm", "c"),
        ("单位", "", ""),
        ("编码", "17mm", ""),
        ("片区", "10mm", ""),
        ("总分", "13mm", "n"),
        ("等次", "15mm", "c"),
    ]
    if rb.awards:
        cols.append(("奖项", f"{max(13, max(len(a.name) for a in rb.awards) * 4 + 3)}mm", "c"))
    cols += [(c.title, f"{_title_mm(c.title)}mm", "") for c in rb.categories]
    if sensitivity is not None:
        cols += [("最好名次", "14mm", "c"), ("最差名次", "14mm", "c")]
    cols.append(("备注", "", ""))
    for role in roles:
        if len(roles) > 1:
            out.append(f"<h2>{_e(role_zh(role, rb))}</h2>")
        out.append(f'<table class="rank">{_colgroup(cols)}{_thead(cols)}<tbody>')
        for r, u in rows:
            if u.role != role:
                continue
            cats = "".join(
                f'<td class="n{"" if ok else " na"}">{_e(shown if ok else NOT_APPLICABLE)}</td>'
                for _, shown, _, ok in u.categories
            )
            span = ""
            if sensitivity is not None:
                key = (u.unit.id, u.role)
                span = (
                    f'<td class="c">{_e(sensitivity.best[key])}</td>'
                    f'<td class="c">{_e(sensitivity.worst[key])}</td>'
                )
            out.append(
                f'<tr><td class="c">{r.rank}</td><td class="c">{r.group_rank}</td>'
                f'<td class="nowrap">{_e(u.unit.name or u.unit.id)}</td><td class="id">{_e(u.unit.id)}</td>'
                f'<td class="nowrap">{_e(u.unit.group)}</td><td class="n">{_e(u.total)}</td>'
                f'<td class="c">{_e(u.grade or "—")}</td>'
                + (f'<td class="c">{_e(r.award or "")}</td>' if rb.awards else "")
                + f"{cats}{span}<td>{_e(_remarks(u))}</td></tr>"
            )
        out.append("</tbody></table>")
        grades = Counter(u.grade or "—" for _, u in rows if u.role == role)
        order = [g.name for g in rb.grades] + sorted(set(grades) - {g.name for g in rb.grades})
        out.append(
            '<p class="small">等次：'
            + "，".join(f"{_e(g)} {grades[g]}个" for g in order if grades[g])
            + "</p>"
        )
        if rb.awards:
            got = Counter(r.award for r, u in rows if u.role == role and r.award)
            out.append(
                '<p class="small">奖项：'
                + (
                    "，".join(f"{_e(a.name)} {got[a.name]}个" for a in rb.awards if got[a.name])
                    or "无"
                )
                + "</p>"
            )
    notes: list[str] = []
    vetoed = [u for _, u in rows if u.vetoed]
    if vetoed:
        notes.append(
            "一票否决："
            + "、".join(u.unit.name or u.unit.id for u in vetoed)
            + "（保留得分，评为最低等次，排在未否决单位之后）。"
        )
    flagged = [u for _, u in rows if u.flags]
    if flagged:
        notes.append(
            "有提示需人工核对："
            + "、".join(f"{u.unit.name or u.unit.id}（{len(u.flags)}条）" for u in flagged)
            + "；详见各单位审核记录表。"
        )
    if any(not ok for _, u in rows for *_, ok in u.categories):
        notes.append("“不适用”的类别不计入总分，其权重按其余基本类别折算。")
    for rej in rejected:
        notes.append(
            f"被拒收（未参加排名）：{rej.source}{'（' + rej.unit + '）' if rej.unit else ''}：{rej.error}"
        )
    if sensitivity is not None:
        how = (
            "为整个浮动范围内的精确极值"
            if sensitivity.exhaustive
            else f"只搜索了部分权重（{sensitivity.searched}）"
        )
        notes.append(
            f"最好、最差名次：各基本类别权重上下浮动 {fmt_points(sensitivity.pct * 100)}%，{how}。"
        )
    notes.append(
        f"名次按总分（四舍五入到{decimal_text(rb.precision)}）从高到低排列；总分相同时依次比较"
        + "、".join(rb.category(c).title for c in rb.tie_break)
        + "得分。"
        if rb.tie_break
        else f"名次按总分（四舍五入到{decimal_text(rb.precision)}）从高到低排列，总分相同者名次并列。"
    )
    out.append(
        '<h2>说明</h2><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
    )
    out.append(
        '<div class="sign"><div>制表人：________________</div><div>审核人：________________</div>'
        f"<div>日期：{_BLANK_DATE}</div></div>"
    )
    fixed = sum(int(w[:-2]) for _, w, _ in cols if w)
    return document(
        title, "\n".join(out) + "\n", landscape=fixed > 150
    )  # leaves 单位 and 备注 ≥ 19 mm each


def _title_mm(title: str) -> int:
    """A column wide enough for its title on one line, or in lines of five characters (8.5pt bold), and 0.00."""
    return max(13, int(min(len(title), 5) * 3.1 + 3))


def score_html(
    rb: Rulebook,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    printed: _dt.date | None = None,
) -> str:
    """The score table (``score --format html``) as a printable document."""
    when = printed or _dt.date.today()
    title = f"{rb.title or rb.id}得分表"
    cols = [(h, "", "") for h in header]
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">考核细则 {_e(rb.id)}（版本 {_e(rb.version)}）　{_e(_date(when))}</p>',
        f'<table class="scores">{_colgroup(cols)}{_thead(cols)}<tbody>',
    ]
    for row in rows:
        body.append(
            "<tr>"
            + "".join(
                f'<td class="n">{_e(v)}</td>' if _numeric(v) else f"<td>{_e(v)}</td>" for v in row
            )
            + "</tr>"
        )
    body.append("</tbody></table>")
    return document(title, "\n".join(body) + "\n", landscape=len(header) > 10)


def _numeric(v: object) -> bool:
    s = str(v)
    return bool(s) and s.replace(".", "", 1).lstrip("-").isdigit()
