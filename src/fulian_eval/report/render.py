"""Reports: results as tables (tabulate), JSON (SPEC §9), CSV, Markdown and HTML.

Renderers take results and return text; writing files is the caller's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..analysis.rank import Ranked
from ..analysis.sensitivity import Sensitivity
from ..io.evidence import Rejection
from ..lang.text import csv_text as _csv
from ..lang.text import decimal_text, fmt_bound, reason_number
from ..lang.text import json_text as _dumps
from ..model.formats import FORMATS
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
    fmt_points,
    group_reason,
)
from .sheets import CATEGORY_TYPE_ZH, ranking_html, score_html

__all__ = [
    "FORMATS",
    "explain_report",
    "gains_report",
    "rank_report",
    "score_json",
    "score_report",
]

_TABLEFMT = {"table": "simple", "markdown": "github", "html": "html"}

#: The first columns of every score and rank CSV (the streamed writer, report.columns, writes the same).
CSV_HEAD = ("rank", "group_rank", "unit", "name", "group", "role", "total", "grade", "vetoed")
STATUS_ZH = LABELS  # 已评分 无资料 不适用 否决 (model.status)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    if fmt == "csv":
        return _csv(header, rows)
    from tabulate import tabulate  # its import (wcwidth's tables) costs every CSV and JSON run

    return (
        tabulate(rows, headers=list(header), tablefmt=_TABLEFMT[fmt], disable_numparse=True) + "\n"
    )


def rulebook_json(rb: Rulebook) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rb.id, "version": rb.version, "sha256": rb.sha256}
    if len(rb.sources) > 1:
        out["chain"] = [{"path": s.path, "sha256": s.sha256} for s in rb.sources]
    if rb.places != 2:  # SPEC §10.5; the default 0.01 leaves the document as it was
        out["precision"] = decimal_text(rb.precision)
    return out


def item_json(i: ItemResult, places: int = 2) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": i.id,
        "title": i.title,
        "points": fmt_points(i.points, places),
        "max": fmt_bound(i.max, places)
        if i.capped
        else None,  # an uncapped deduction has no max (SPEC §10.1)
        "status": i.status,
        "reason": i.reason,
        "group": i.group,  # its group in its category (SPEC §10.3), or null
    }
    if i.method:
        out["method"] = i.method
    return out


def group_json(g: GroupResult) -> dict[str, Any]:
    """A group's subtotal (SPEC §10.3); in a deduction or penalty category its deduction and cap."""
    return {
        "id": g.id,
        "title": g.title,
        "score": fmt_points(g.score, g.places),
        "max": fmt_bound(g.max, g.places) if g.capped else None,
        "applicable": g.applicable,
    }


def category_json(c: CategoryResult, places: int = 2) -> dict[str, Any]:
    """A category's score, cap and groups in a unit's object (SPEC §9)."""
    return {
        "id": c.id,
        "title": c.title,
        "type": c.type,
        "score": fmt_points(c.score, places),
        "max": fmt_bound(c.max, places),
        "applicable": c.applicable,
        "groups": [group_json(g) for g in c.groups],
    }


def unit_json(r: Ranked[UnitResult], rb: Rulebook | None = None) -> dict[str, Any]:
    u = r.result
    p = u.places
    role_title = (rb.roles if rb is not None else DEFAULT_ROLES).title(u.role)
    return {
        "unit": u.unit.id,
        "name": u.unit.name,
        "group": u.unit.group,
        "role": u.role,
        "role_title": role_title,
        "total": fmt_points(u.total, p),
        "grade": u.grade,
        "vetoed": u.vetoed,
        "rank": r.rank,
        "group_rank": r.group_rank,
        "award": r.award,
        "categories": [category_json(c, p) for c in u.categories],
        "items": [item_json(i, p) for i in u.items],
        "flags": list(u.flags),
        "source": u.source,
        **(
            {
                "waived": list(u.waived),
                "total_without_waivers": fmt_points(u.total_without_waivers, p),
            }
            if u.total_without_waivers is not None
            else {}
        ),
    }


def rejected_json(rejected: Sequence[Rejection]) -> list[dict[str, Any]]:
    return [{"source": r.source, "unit": r.unit, "error": r.error} for r in rejected]


def score_json(
    rb: Rulebook, ranked: Sequence[Ranked[UnitResult]], rejected: Sequence[Rejection]
) -> dict[str, Any]:
    """The ``score --format json`` document of SPEC §9."""
    return {
        "rulebook": rulebook_json(rb),
        "units": [unit_json(r, rb) for r in ranked],
        "rejected": rejected_json(rejected),
    }


def _summaries(ranked: Sequence[Ranked[Any]]) -> list[Ranked[UnitSummary]]:
    out: list[Ranked[UnitSummary]] = []
    for r in ranked:
        res = r.result
        summary = res.summary() if isinstance(res, UnitResult) else res
        out.append(Ranked(result=summary, rank=r.rank, group_rank=r.group_rank, award=r.award))
    return out


def _shown_items(u: UnitSummary) -> list[str]:
    """Item points as a report shows them: ``不适用`` for a not-applicable item that earns nothing."""
    items = list(u.items)
    for k in u.unshown:
        items[k] = NOT_APPLICABLE
    return items


def _remark(u: UnitSummary) -> str:
    bits = []
    if u.vetoed:
        bits.append("一票否决")
    if u.flags:
        bits.append(f"{len(u.flags)}条提示")
    return "，".join(bits)


def _full(ranked: Sequence[Ranked[Any]]) -> list[Ranked[UnitResult]]:
    if not all(isinstance(r.result, UnitResult) for r in ranked):
        raise TypeError("JSON output needs full results (UnitResult), not summaries")
    return list(ranked)


def score_report(
    rb: Rulebook, ranked: Sequence[Ranked[Any]], rejected: Sequence[Rejection], fmt: str
) -> str:
    """Every unit with category scores and total, in rank order.

    ``ranked`` holds :class:`UnitResult` (any format) or :class:`UnitSummary` (all but JSON).
    """
    if fmt == "json":
        return _dumps(score_json(rb, _full(ranked), rejected))
    rows_in = _summaries(ranked)
    roles = {r.result.role for r in rows_in}
    awards = ["award"] if rb.awards else []
    waivers = any(r.result.total_without_waivers is not None for r in rows_in)
    if fmt == "csv":
        items = [i.id for i in rb.items()]
        header = [
            *CSV_HEAD,
            *awards,
            *[c.id for c in rb.categories],
            *items,
            "flags",
            *(["total_without_waivers"] if waivers else []),
        ]
        return _csv(
            header,
            (
                [
                    r.rank,
                    r.group_rank,
                    u.unit.id,
                    u.unit.name,
                    u.unit.group,
                    u.role,
                    u.total,
                    u.grade or "",
                    "true" if u.vetoed else "false",
                    *([r.award or ""] if awards else []),
                    *[c[1] if c[3] else NOT_APPLICABLE for c in u.categories],
                    *_shown_items(u),
                    " | ".join(u.flags),
                    *([u.total_without_waivers or u.total] if waivers else []),
                ]
                for r in rows_in
                for u in (r.result,)
            ),
        )
    header = [
        "名次",
        "片区名次",
        "单位",
        "名称",
        "片区",
        *(["角色"] if len(roles) > 1 else []),
        *[c.title for c in rb.categories],
        "总分",
        *(["未豁免总分"] if waivers else []),
        "等次",
        *(["奖项"] if awards else []),
        "备注",
    ]
    rows = []
    for r in rows_in:
        u = r.result
        rows.append(
            [
                r.rank,
                r.group_rank,
                u.unit.id,
                u.unit.name,
                u.unit.group,
                *([rb.roles.title(u.role)] if len(roles) > 1 else []),
                *[c[1] if c[3] else NOT_APPLICABLE for c in u.categories],
                u.total,
                *([u.total_without_waivers or u.total] if waivers else []),
                u.grade or "",
                *([r.award or ""] if awards else []),
                _remark(u),
            ]
        )
    if fmt == "html":  # a whole printable document (A4, CJK fonts)
        return score_html(rb, header, rows)
    out = f"{rb.title or rb.id}（{rb.version}）\n" if fmt == "table" else ""
    return out + _table(header, rows, fmt)


def rank_report(
    rb: Rulebook,
    ranked: Sequence[Ranked[Any]],
    rejected: Sequence[Rejection],
    fmt: str,
    sensitivity: Sensitivity | None = None,
) -> str:
    """The ranking: place, group place, total, grade, tie-break scores (and best/worst places)."""
    rows_in = _summaries(ranked)
    sens = sensitivity

    def span(u: UnitSummary) -> list[Any]:
        if sens is None:
            return []
        key = (u.unit.id, u.role)
        return [sens.best[key], sens.worst[key]]

    def ties(u: UnitSummary, fmt: str) -> list[str]:
        # JSON keeps SPEC §9's points (a category's "applicable" says the rest); reports show 不适用
        by_id = {c[0]: c[1] if c[3] or fmt == "json" else NOT_APPLICABLE for c in u.categories}
        return [by_id[c] for c in rb.tie_break]

    if fmt == "json":
        doc = {
            "rulebook": rulebook_json(rb),
            "ranking": [
                {
                    "rank": r.rank,
                    "group_rank": r.group_rank,
                    "unit": r.result.unit.id,
                    "name": r.result.unit.name,
                    "group": r.result.unit.group,
                    "role": r.result.role,
                    "role_title": rb.roles.title(r.result.role),
                    "total": r.result.total,
                    "grade": r.result.grade,
                    "vetoed": r.result.vetoed,
                    "award": r.award,
                    "tie_break": dict(zip(rb.tie_break, ties(r.result, fmt), strict=True)),
                    **(
                        dict(zip(("best_rank", "worst_rank"), span(r.result), strict=True))
                        if sens
                        else {}
                    ),
                }
                for r in rows_in
            ],
            "rejected": rejected_json(rejected),
        }
        if sens is not None:
            doc["sensitivity"] = {
                "pct": fmt_points(sens.pct * 100),
                "weightings": sens.weightings,
                "exhaustive": sens.exhaustive,
                "seed": sens.seed,
                "searched": sens.searched,
            }
        return _dumps(doc)
    if fmt == "html":  # the ranking handout: a whole printable document
        return ranking_html(rb, ranked, rejected, sens)
    tie_names = [rb.category(c).title if fmt != "csv" else c for c in rb.tie_break]
    if fmt == "csv":
        header = [
            *CSV_HEAD,
            *(["award"] if rb.awards else []),
            *tie_names,
            *(["best_rank", "worst_rank"] if sens else []),
        ]
    else:
        header = [
            "名次",
            "片区名次",
            "单位",
            "名称",
            "片区",
            "角色",
            "总分",
            "等次",
            "一票否决",
            *(["奖项"] if rb.awards else []),
            *tie_names,
            *(["最好名次", "最差名次"] if sens else []),
        ]
    rows = []
    for r in rows_in:
        u = r.result
        veto = ("true" if u.vetoed else "false") if fmt == "csv" else ("是" if u.vetoed else "")
        role = u.role if fmt == "csv" else rb.roles.title(u.role)
        rows.append(
            [
                r.rank,
                r.group_rank,
                u.unit.id,
                u.unit.name,
                u.unit.group,
                role,
                u.total,
                u.grade or "",
                veto,
                *([r.award or ""] if rb.awards else []),
                *ties(u, fmt),
                *span(u),
            ]
        )
    out = _table(header, rows, fmt)
    if sens is not None and fmt != "csv":
        how = (
            "最好、最差名次为整个浮动范围内的精确极值"
            if sens.exhaustive
            else f"只搜索了部分权重，真实的最好名次可能更好、最差名次可能更差（{sens.searched}）"
        )
        out += f"\n权重敏感性：各基本类别权重上下浮动 {fmt_points(sens.pct * 100)}%，{how}。\n"
    return out


def explain_report(rb: Rulebook, r: Ranked[UnitResult], fmt: str, item: str | None = None) -> str:
    """One unit's audit record sheet (审核记录表): item, max, points, reason, method."""
    u = r.result
    p = u.places
    items = [i for i in u.items if item is None or i.id == item]
    if fmt == "json":
        doc = unit_json(r, rb)
        doc["items"] = [dict(item_json(i, p), inputs=dict(i.inputs)) for i in items]
        return _dumps(doc)
    if fmt == "csv":
        header = ["item", "title", "max", "points", "status", "reason", "method", "inputs"]
        rows: list[list[str]] = [
            [
                i.id,
                i.title,
                fmt_bound(i.max, p),
                _points(i, p),
                i.status,
                i.reason,
                i.method,
                "; ".join(f"{k}={v}" for k, v in i.inputs),
            ]
            for i in items
        ]
        return _csv(header, rows)
    head = [
        f"审核记录表 — {u.unit.name or u.unit.id}（{u.unit.id}）",
        f"片区 {u.unit.group or '—'} · 角色 {rb.roles.title(u.role)}"
        + (f" · 评审 {u.assessor}" if u.assessor else "")
        + f" · 来源 {u.source}",
        f"总分 {fmt_points(u.total, p)} · 等次 {u.grade or '—'} · 名次 {r.rank} · 片区名次 {r.group_rank}"
        + (f" · 奖项 {r.award}" if r.award else "")
        + (" · 一票否决" if u.vetoed else ""),
        f"考核细则 {rb.id} {rb.version} sha256:{rb.sha256[:12]}",
        "",
    ]
    header = ["项目", "考核内容", "分值", "得分", "状态", "评分依据", "方式"]
    rows = []
    for k, i in enumerate(items):
        rows.append(
            [
                i.id,
                i.title,
                fmt_bound(i.max, p),
                _points(i, p),
                STATUS_ZH.get(i.status, i.status),
                i.reason,
                i.method,
            ]
        )
        if item is None and i.group is not None and _group_ends(items, k):
            rows.append(_group_row(u, i))
    out = "\n".join(head) + "\n" + _table(header, rows, fmt)
    if item is not None:
        for i in items:
            if i.inputs:
                shown = "；".join(f"{_title(rb, k)} = {v}" for k, v in i.inputs)
                out += f"\n所用资料：{shown}\n"
        return out
    cat_rows = [
        [
            c.title,
            CATEGORY_TYPE_ZH.get(c.type, c.type),
            fmt_bound(c.max, p),
            fmt_points(c.score, p) if c.applicable else NOT_APPLICABLE,
        ]
        for c in u.categories
    ]
    out += "\n" + _table(["类别", "类型", "满分", "得分"], cat_rows, fmt)
    notes = category_notes(u)
    if notes:
        out += "\n" + "".join(f"{n}\n" for n in notes)
    if u.flags:
        out += "\n提示:\n" + "".join(f"  - {f}\n" for f in u.flags)
    return out


def _group_ends(items: Sequence[ItemResult], k: int) -> bool:
    """Whether ``items[k]`` is the last item of its group (groups' items come together)."""
    nxt = items[k + 1] if k + 1 < len(items) else None
    return nxt is None or nxt.group != items[k].group or _cat_of(nxt) != _cat_of(items[k])


def _cat_of(i: ItemResult) -> str:
    return i.id.split(".", 1)[0]


def _group_row(u: UnitResult, last: ItemResult) -> list[str]:
    """A group's subtotal row (SPEC §10.3), after its last item."""
    c = u.category(_cat_of(last))
    g = next(g for g in c.groups if g.id == last.group)
    return [
        f"{c.id}.{g.id}",
        f"小计：{g.title}",
        fmt_bound(g.max, g.places) if g.capped else "—",
        fmt_points(g.score, g.places) if g.applicable else NOT_APPLICABLE,
        "",
        group_reason(c.type, g, u.items),
        "",
    ]


def _title(rb: Rulebook, name: str) -> str:
    """A field's or derived value's title (its name when it has none)."""
    f = rb.fields.get(name)
    if f is not None:
        return f.title or name
    return next((d.title or name for d in rb.derived if d.name == name), name)


def category_notes(u: UnitResult) -> list[str]:
    """Where a category's cap was reached (有依有据: the reason for a score below the items'
    sum), one line each: "加分项：各项合计7分，已达本类上限5分"; a penalty category
    "扣分项：扣分合计12分，本类最多扣10分"; a deduction category past its floor
    "业务工作：扣分合计112分，扣完为止，得0分". Categories with an item not applicable
    (rescaled) are left out: their sum is not what the cap was applied to."""
    notes = []
    for c in u.categories:
        its = [i for i in u.items if i.id.split(".", 1)[0] == c.id]
        if not c.applicable or any(i.status == "not_applicable" for i in its):
            continue
        # what the category's cap was applied to: its direct items and its groups' subtotals
        total = sum((i.points for i in its if i.group is None), Fraction(0))
        total += sum((g.score for g in c.groups if g.applicable), Fraction(0))
        got, cap = reason_number(total), reason_number(c.max)
        if c.type == "deduction":
            if c.max - total < c.score:
                notes.append(f"{c.title}：扣分合计{got}分，扣完为止，得{reason_number(c.score)}分")
        elif total > c.max and c.score == c.max:
            if c.type == "penalty":
                notes.append(f"{c.title}：扣分合计{got}分，本类最多扣{cap}分")
            else:
                notes.append(f"{c.title}：各项合计{got}分，已达本类上限{cap}分")
    return notes


def _points(i: ItemResult, places: int = 2) -> str:
    """An item's points as a report shows them: ``不适用`` for a not-applicable item that earns nothing."""
    if i.status == "not_applicable" and not i.points:
        return NOT_APPLICABLE
    return fmt_points(i.points, places)


def gains_report(
    r: Ranked[UnitResult], gains: Sequence[tuple[ItemResult, Fraction]], fmt: str
) -> str:
    """Where to improve: the points each not-full item would add to the total, largest first."""
    u = r.result
    p = u.places
    if fmt == "json":
        return _dumps(
            {
                "unit": u.unit.id,
                "total": fmt_points(u.total, p),
                "gains": [
                    {
                        "id": i.id,
                        "title": i.title,
                        "points": fmt_points(i.points, p),
                        "max": fmt_bound(i.max, p),
                        "gain": fmt_points(g, p),
                    }
                    for i, g in gains
                ],
            }
        )
    header = (
        ["item", "title", "points", "max", "gain"]
        if fmt == "csv"
        else ["项目", "考核内容", "得分", "分值", "可提高总分"]
    )
    rows = [
        [i.id, i.title, fmt_points(i.points, p), fmt_bound(i.max, p), fmt_points(g, p)]
        for i, g in gains
    ]
    pre = (
        ""
        if fmt == "csv"
        else f"{u.unit.name or u.unit.id}（{u.unit.id}）当前总分 {fmt_points(u.total, p)}；各项如得满分，总分可提高:\n"
    )
    return pre + _table(header, rows, fmt)
