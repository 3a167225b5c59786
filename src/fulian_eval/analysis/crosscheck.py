"""Cross-checks (SPEC §6): several assessments of one unit, a final result, and where they disagree.

Each village scores itself (self), a neighbouring village's team checks it (peer),
the town verifies (town), some get field visits (field). Every assessment is
scored on its own; this module picks or combines a final result per unit, lists
the items whose points differ between roles by more than the tolerance (with the
evidence each role used side by side), vetoes one role saw and another did not,
self-inflation, all-full-marks self-assessments, failed consistency checks, and
the agreement between roles. Pure: results in, a report out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from ..errors import Problem, RulebookError
from ..io.crosscheck_table import DEFAULT_PRECEDENCE, check_crosscheck
from ..lang.text import csv_text, fmt_bound, json_text, points_h, round_points
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Rulebook, UnitInfo
from ..scoring.exact import UnitResult, fmt_points
from .agreement import Agreement, agreement, agreement_json, fmt_alpha
from .rank import Ranked, rank

__all__ = [
    "CrossCheck",
    "CrossCheckConfig",
    "CrossCheckTables",
    "Discrepancy",
    "FinalResult",
    "config_of",
    "crosscheck",
    "crosscheck_json",
    "crosscheck_report",
    "crosscheck_tables",
]

ROLES = DEFAULT_ROLES.ids  # the default roles; a rulebook's own are rb.roles
# The roles and the [crosscheck] keys are checked in io.crosscheck_table, which the loader uses too.


@attrs.frozen(kw_only=True)
class CrossCheckConfig:
    """The rulebook's ``[crosscheck]`` table."""

    precedence: tuple[str, ...] = DEFAULT_PRECEDENCE
    combine: str = "precedence"  # precedence | weighted
    role_weights: Mapping[str, Fraction] = attrs.field(factory=dict)
    tolerance: Fraction = Fraction(0)


def config_of(rb: Rulebook) -> CrossCheckConfig:
    """Read and check ``[crosscheck]`` (kept aside by the loader).

    Raises:
        RulebookError: a bad key or value, named with the rulebook file.
    """
    raw = rb.extra.get("crosscheck")
    if raw is None:
        return CrossCheckConfig(precedence=rb.roles.precedence)
    file = rb.path
    problems: list[Problem] = []

    settings, found = check_crosscheck(raw, rb.roles)
    for key, message in found:
        problems.append(
            Problem(file=file, path=".".join(["crosscheck", *map(str, key)]), message=message)
        )
    if problems:
        raise RulebookError(problems)
    return CrossCheckConfig(
        precedence=settings["precedence"],
        combine=settings["combine"],
        role_weights=settings["role_weights"],
        tolerance=settings["tolerance"],
    )


@attrs.frozen(kw_only=True)
class FinalResult:
    """One unit's final result over its assessments (rankable like a UnitResult)."""

    unit: UnitInfo
    final_role: str  # the role chosen, or "weighted"
    total: Fraction
    vetoed: bool
    roles: Mapping[str, UnitResult]
    self_inflation: Fraction | None
    basis: UnitResult  # the assessment whose categories break ties

    @property
    def role(self) -> str:
        return "final"

    @property
    def places(self) -> int:
        """The rulebook's precision as decimals (SPEC §10.5), as its assessments have it."""
        return self.basis.places

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        p = self.places
        return (
            self.vetoed,
            -points_h(self.total, p),
            tuple(-points_h(self.basis.category(c).score, p) for c in tie_break),
        )


@attrs.frozen(kw_only=True)
class Discrepancy:
    unit: str
    item: str
    points: Mapping[str, Fraction]
    values: Mapping[str, Mapping[str, str]]
    veto: bool = False  # a veto one role saw and another did not


@attrs.frozen(kw_only=True)
class CrossCheck:
    config: CrossCheckConfig
    ranked: tuple[Ranked[FinalResult], ...]
    discrepancies: tuple[Discrepancy, ...]
    all_full_marks: tuple[
        str, ...
    ]  # units whose self-assessment gave every applicable item full marks
    flags: Mapping[
        str, Mapping[str, tuple[str, ...]]
    ]  # unit -> role -> consistency/approximate flags
    agreement: Agreement
    places: int = 2  # the rulebook's precision as decimals (SPEC §10.5): how points print


def _final(
    config: CrossCheckConfig, roles: Mapping[str, UnitResult], self_role: str = "self"
) -> FinalResult:
    """A unit's final result; ``self_role`` is the self-assessment (the rulebook's least authoritative role)."""
    first = next((r for r in config.precedence if r in roles), None)
    if first is None:  # only roles left out of precedence: take them in the usual order
        first = next(r for r in (*DEFAULT_PRECEDENCE, *sorted(roles)) if r in roles)
    basis = roles[first]
    if config.combine == "weighted":
        present = {r: w for r, w in config.role_weights.items() if r in roles}
        if present:
            total = sum((w * roles[r].total for r, w in present.items()), Fraction(0)) / sum(
                present.values()
            )
            role = "weighted"
        else:
            total, role = basis.total, first
    else:
        total, role = basis.total, first
    selfr = roles.get(self_role)
    inflation = None
    if selfr is not None and role != self_role:
        p = basis.places
        inflation = round_points(selfr.total, p) - round_points(total, p)
    return FinalResult(
        unit=basis.unit,
        final_role=role,
        total=total,
        vetoed=basis.vetoed,
        roles=dict(roles),
        self_inflation=inflation,
        basis=basis,
    )


def _differing(values: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Keep the evidence values the roles disagree on (all of them if none differ, e.g. manual points)."""
    keys = {k for v in values.values() for k in v}
    differ = {k for k in keys if len({v.get(k) for v in values.values()}) > 1}
    keep = differ or keys
    return {role: {k: v[k] for k in sorted(keep) if k in v} for role, v in values.items()}


def _all_full(r: UnitResult, deducts: set[str]) -> bool:
    """Every judged item at its best: its max, or nothing deducted for a penalty (deduction) item.

    Not-applicable and veto items are left out, and so are items that can earn
    nothing (max 0 and no deduction); at least one item must be judged.
    """
    judged = 0
    for i in r.items:
        if i.status in ("not_applicable", "veto"):
            continue
        if i.id in deducts:
            judged += 1
            if i.points != 0:
                return False
        elif i.max > 0:
            judged += 1
            if i.points != i.max:
                return False
    return judged > 0


def crosscheck(
    rb: Rulebook, results: Iterable[UnitResult], config: CrossCheckConfig | None = None
) -> CrossCheck:
    """Compare every unit's assessments by role (SPEC §6).

    Args:
        rb: the rulebook (its ``[crosscheck]`` table unless ``config`` is given).
        results: scored assessments; one per unit and role.
    """
    cfg = config if config is not None else config_of(rb)
    by_unit: dict[str, dict[str, UnitResult]] = defaultdict(dict)
    by_role: dict[str, list[UnitResult]] = defaultdict(list)
    for r in results:
        by_unit[r.unit.id][r.role] = r
        by_role[r.role].append(r)
    self_role = rb.roles.first  # 自评 by default; a rulebook's [roles] names its own first role
    finals = [_final(cfg, roles, self_role) for _, roles in sorted(by_unit.items())]
    discrepancies: list[Discrepancy] = []
    full: list[str] = []
    flags: dict[str, dict[str, tuple[str, ...]]] = {}
    # Items whose points are a deduction: "full" for them is nothing deducted (0 of 10), not their max.
    deducts = {i.id for c in rb.categories if c.type in ("penalty", "deduction") for i in c.items}
    order = [*rb.roles.precedence]
    for uid, roles in sorted(by_unit.items()):
        present = sorted(roles, key=lambda r: (order.index(r) if r in order else len(order), r))
        items = {role: {i.id: i for i in roles[role].items} for role in present}
        for item in rb.items():
            got = {role: items[role][item.id] for role in present if item.id in items[role]}
            if item.kind == "veto":
                seen = {role: i.status == "veto" for role, i in got.items()}
                if len(set(seen.values())) > 1:
                    discrepancies.append(
                        Discrepancy(
                            unit=uid,
                            item=item.id,
                            points={role: i.points for role, i in got.items()},
                            values=_differing({role: dict(i.inputs) for role, i in got.items()}),
                            veto=True,
                        )
                    )
                continue
            judged = {role: i for role, i in got.items() if i.status != "not_applicable"}
            pts = [i.points for i in judged.values()]
            if len(pts) >= 2 and max(pts) - min(pts) > cfg.tolerance:
                discrepancies.append(
                    Discrepancy(
                        unit=uid,
                        item=item.id,
                        points={role: i.points for role, i in judged.items()},
                        values=_differing({role: dict(i.inputs) for role, i in judged.items()}),
                    )
                )
        selfr = roles.get(self_role)
        if selfr is not None and _all_full(selfr, deducts):
            full.append(uid)
        unit_flags = {role: roles[role].flags for role in present if roles[role].flags}
        if unit_flags:
            flags[uid] = unit_flags
    return CrossCheck(
        config=cfg,
        ranked=tuple(rank(rb, finals)),
        discrepancies=tuple(discrepancies),
        all_full_marks=tuple(full),
        flags=flags,
        agreement=agreement(dict(by_role)),
        places=rb.places,
    )


# ------------------------------------------------------------------- reports


def _cat_title(rb: Rulebook, cid: str) -> str:
    """A category as reports name it: by its title (its id when it has none or is unknown)."""
    try:
        return rb.category(cid).title or cid
    except KeyError:
        return cid


def crosscheck_json(cc: CrossCheck) -> dict[str, Any]:
    """The ``crosscheck --format json`` document of SPEC §9 (with a few extra keys)."""
    return {
        "units": [
            {
                "unit": r.result.unit.id,
                "name": r.result.unit.name,
                "group": r.result.unit.group,
                "final_role": r.result.final_role,
                "total": fmt_points(r.result.total, cc.places),
                "roles": {
                    role: fmt_points(res.total, cc.places) for role, res in r.result.roles.items()
                },
                "self_inflation": None
                if r.result.self_inflation is None
                else fmt_points(r.result.self_inflation, cc.places),
                "vetoed": r.result.vetoed,
                "rank": r.rank,
                "group_rank": r.group_rank,
                "award": r.award,
            }
            for r in cc.ranked
        ],
        "discrepancies": [
            {
                "unit": d.unit,
                "item": d.item,
                "points": {k: fmt_points(v, cc.places) for k, v in d.points.items()},
                "values": {k: dict(v) for k, v in d.values.items()},
                **({"veto": True} if d.veto else {}),
            }
            for d in cc.discrepancies
        ],
        "all_full_marks": list(cc.all_full_marks),
        "flags": {
            u: {role: list(f) for role, f in by_role.items()} for u, by_role in cc.flags.items()
        },
        "agreement": {
            **agreement_json(cc.agreement),
            **({"message": cc.agreement.message} if cc.agreement.message else {}),
        },
    }


ROLE_ZH = DEFAULT_ROLES.titles  # the default roles' titles; a rulebook's own are rb.roles.title


@attrs.frozen(kw_only=True)
class CrossCheckTables:
    """The cross-check as typed tables (for the workbook and the HTML page).

    Columns are (title, kind) with kind ``int``, ``points`` (a Fraction, shown 0.00),
    ``text`` or ``yesno`` (a bool); a cell is ``None`` where a role gave nothing.
    """

    title: str
    summary: str
    unit_columns: list[tuple[str, str]]
    units: list[list[Any]]
    dispute_columns: list[tuple[str, str]]
    disputes: list[list[Any]]
    note_columns: list[tuple[str, str]]
    notes: list[list[Any]]


def _summary_line(cc: CrossCheck, rb: Rulebook | None = None) -> str:
    zh = (rb.roles if rb is not None else DEFAULT_ROLES).title
    how = (
        "按权重 " + "、".join(f"{zh(r)}{w}" for r, w in cc.config.role_weights.items())
        if cc.config.combine == "weighted"
        else "按 " + " > ".join(zh(r) for r in cc.config.precedence)
    )
    return f"容差 {fmt_bound(cc.config.tolerance, cc.places)} 分；最终得分{how}"


def crosscheck_tables(rb: Rulebook, cc: CrossCheck) -> CrossCheckTables:
    """Units with each role's total; the items in dispute with each role's points and evidence side by side;
    all-full-marks self-assessments, flags and the agreement between roles."""
    roles = [r for r in rb.roles.precedence if any(r in x.result.roles for x in cc.ranked)][::-1]
    zh = rb.roles.title
    units = []
    for r in cc.ranked:
        f = r.result
        units.append(
            [
                r.rank,
                f.unit.id,
                f.unit.name,
                f.unit.group,
                *[rb.round(f.roles[role].total) if role in f.roles else None for role in roles],
                "加权" if f.final_role == "weighted" else zh(f.final_role),
                rb.round(f.total),
                f.self_inflation,
                f.vetoed,
            ]
        )
    names = {r.result.unit.id: r.result.unit for r in cc.ranked}
    disputes = []
    for d in cc.discrepancies:
        item = rb.item(d.item)
        unit = names.get(d.unit)

        def shown(vals: Mapping[str, str]) -> str | None:
            if not vals:
                return None
            return "；".join(
                f"{rb.fields[k].title if k in rb.fields and rb.fields[k].title else k} = {v}"
                for k, v in vals.items()
            )

        disputes.append(
            [
                d.unit,
                unit.name if unit else "",
                unit.group if unit else "",
                d.item,
                item.title,
                item.max,
                *[d.points.get(role) for role in roles],
                *[shown(d.values.get(role, {})) for role in roles],
                d.veto,
            ]
        )
    notes: list[list[Any]] = [
        ["自评全部满分", uid, "自评", "自评每一项都是满分，请核实"] for uid in cc.all_full_marks
    ]
    for uid, by_role in cc.flags.items():
        for role, fl in by_role.items():
            notes.extend(["评分提示", uid, zh(role), f] for f in fl)
    a = cc.agreement
    notes.append(
        [
            "评分一致性",
            None,
            None,
            f"Krippendorff's alpha = {fmt_alpha(a.alpha) or '无法计算'}（{a.pairs} 对）"
            + (f"；{a.message}" if a.message else "")
            + (
                "；分类别: "
                + "，".join(
                    f"{_cat_title(rb, c)} {fmt_alpha(x) or '—'}" for c, x in a.by_category.items()
                )
                if a.by_category
                else ""
            ),
        ]
    )
    return CrossCheckTables(
        title=f"交错互查汇总 — {rb.title or rb.id}（{rb.version}）",
        summary=_summary_line(cc, rb),
        unit_columns=[
            ("名次", "int"),
            ("单位", "text"),
            ("名称", "text"),
            ("片区", "text"),
            *[(f"{zh(r)}总分", "points") for r in roles],
            ("采用", "text"),
            ("最终得分", "points"),
            ("自评虚高", "points"),
            ("一票否决", "yesno"),
        ],
        units=units,
        dispute_columns=[
            ("单位", "text"),
            ("名称", "text"),
            ("片区", "text"),
            ("项目", "text"),
            ("考核内容", "text"),
            ("分值", "points"),
            *[(f"{zh(r)}得分", "points") for r in roles],
            *[(f"{zh(r)}所用资料", "text") for r in roles],
            ("否决争议", "yesno"),
        ],
        disputes=disputes,
        note_columns=[("类别", "text"), ("单位", "text"), ("角色", "text"), ("内容", "text")],
        notes=notes,
    )


_HTML_STYLE = """body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",\
"SimSun",sans-serif;margin:1.5em;color:#111}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #888;padding:0.2em 0.5em;vertical-align:top}
th{background:#eee;white-space:nowrap}
td.n{text-align:right;white-space:nowrap}
td.ev{max-width:28em}
h1{font-size:1.4em}h2{font-size:1.15em}
@media print{@page{size:A4 landscape;margin:12mm}thead{display:table-header-group}}"""


def crosscheck_html(rb: Rulebook, cc: CrossCheck) -> str:
    """``crosscheck --format html``: a page for the review meeting, each role's evidence side by side."""
    from html import escape

    t = crosscheck_tables(rb, cc)

    def cell(v: Any, kind: str) -> str:
        if v is None:
            return "<td></td>"
        if kind == "points":
            return f'<td class="n">{fmt_points(v, cc.places)}</td>'
        if kind == "int":
            return f'<td class="n">{v}</td>'
        if kind == "yesno":
            return f"<td>{'是' if v else '否'}</td>"
        cls = ' class="ev"' if "；" in str(v) or "=" in str(v) else ""
        return f"<td{cls}>{escape(str(v))}</td>"

    def table(cols: list[tuple[str, str]], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{escape(title)}</th>" for title, _ in cols)
        body = "\n".join(
            "<tr>"
            + "".join(cell(v, kind) for v, (_, kind) in zip(row, cols, strict=True))
            + "</tr>"
            for row in rows
        )
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"

    parts = [
        f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(t.title)}</title>\n<style>\n{_HTML_STYLE}\n</style>\n</head>\n<body>",
        f"<h1>{escape(t.title)}</h1>",
        f"<p>{escape(t.summary)}</p>",
        "<h2>各单位得分</h2>",
        table(t.unit_columns, t.units),
    ]
    if t.disputes:
        parts += [
            f"<h2>有争议的项目（{len(t.disputes)} 项）</h2>",
            table(t.dispute_columns, t.disputes),
        ]
    else:
        parts.append("<p>各方评分一致，无争议项目。</p>")
    parts += ["<h2>提示</h2>", table(t.note_columns, t.notes), "</body>\n</html>\n"]
    return "\n".join(parts)


def crosscheck_report(rb: Rulebook, cc: CrossCheck, fmt: str) -> str:
    """The review-meeting view: units with each role's total, then the items in dispute."""
    if fmt == "json":
        return json_text(crosscheck_json(cc))
    if fmt == "html":
        return crosscheck_html(rb, cc)
    roles = [r for r in rb.roles.precedence if any(r in x.result.roles for x in cc.ranked)][::-1]
    tablefmt = {"table": "simple", "markdown": "github", "csv": "csv"}.get(fmt, "simple")
    units_rows = [
        [
            r.rank,
            r.result.unit.id,
            r.result.unit.name,
            r.result.unit.group,
            *[
                fmt_points(r.result.roles[role].total, cc.places) if role in r.result.roles else ""
                for role in roles
            ],
            r.result.final_role,
            fmt_points(r.result.total, cc.places),
            ""
            if r.result.self_inflation is None
            else fmt_points(r.result.self_inflation, cc.places),
            "是" if r.result.vetoed else "",
        ]
        for r in cc.ranked
    ]
    role_zh = rb.roles.titles
    if fmt != "csv":  # a table a clerk reads names the role used by its title (CSV keeps ids)
        used = 4 + len(roles)
        units_rows = [
            [*row[:used], rb.roles.title(str(row[used])), *row[used + 1 :]] for row in units_rows
        ]
    head = [
        "名次",
        "单位",
        "名称",
        "片区",
        *[role_zh[r] for r in roles],
        "采用",
        "最终得分",
        "自评虚高",
        "否决",
    ]
    if fmt == "csv":
        return csv_text(
            [
                "rank",
                "unit",
                "name",
                "group",
                *roles,
                "final_role",
                "total",
                "self_inflation",
                "vetoed",
            ],
            ([*row[:-1], "true" if row[-1] else "false"] for row in units_rows),
        )
    from tabulate import tabulate

    out = [
        f"交错互查汇总 — {rb.title or rb.id}",
        f"容差 tolerance = {fmt_bound(cc.config.tolerance, cc.places)} 分；最终得分："
        + (
            "按权重 "
            + "、".join(f"{role_zh.get(r, r)}{w}" for r, w in cc.config.role_weights.items())
            if cc.config.combine == "weighted"
            else "按 " + " > ".join(role_zh.get(r, r) for r in cc.config.precedence)
        ),
        "",
        tabulate(units_rows, headers=head, tablefmt=tablefmt, disable_numparse=True),
        "",
    ]
    if cc.discrepancies:
        out.append(f"有争议的项目（{len(cc.discrepancies)} 项）")
        rows = []
        for d in cc.discrepancies:
            values = "；".join(
                f"{role_zh.get(role, role)}: " + ", ".join(f"{k}={v}" for k, v in vals.items())
                for role, vals in d.values.items()
                if vals
            )
            rows.append(
                [
                    d.unit,
                    d.item + ("（否决）" if d.veto else ""),
                    *[fmt_points(d.points[r], cc.places) if r in d.points else "" for r in roles],
                    values,
                ]
            )
        out += [
            tabulate(
                rows,
                headers=["单位", "项目", *[role_zh[r] for r in roles], "各方所用资料"],
                tablefmt=tablefmt,
                disable_numparse=True,
            ),
            "",
        ]
    else:
        out += ["各方评分一致，无争议项目。", ""]
    if cc.all_full_marks:
        out.append("自评全部满分: " + "、".join(cc.all_full_marks))
    for uid, by_role in cc.flags.items():
        for role, fl in by_role.items():
            for f in fl:
                out.append(f"提示 {uid}（{role_zh.get(role, role)}）: {f}")
    a = cc.agreement
    out.append(
        f"评分一致性 Krippendorff's alpha = {fmt_alpha(a.alpha) or '无法计算'}（{a.pairs} 对）"
        + (f"；{a.message}" if a.message else "")
    )
    if a.by_category:
        out.append(
            "  分类别: "
            + "，".join(
                f"{_cat_title(rb, c)} {fmt_alpha(x) or '—'}" for c, x in a.by_category.items()
            )
        )
    return "\n".join(out) + "\n"
