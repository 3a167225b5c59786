"""Notes on a valid rulebook that are not errors (SPEC §10.8), in Chinese for the clerk.

``validate`` prints them under the rulebook's ``ok`` line: the highest total a unit can
reach, categories whose ``max`` caps their items, and how deduction and penalty
categories count. Pure: a Rulebook in, lines of text out.
"""

from __future__ import annotations

from fractions import Fraction

from ..lang.text import decimal_text
from .rulebook import Category, Rulebook

__all__ = ["highest_total", "rulebook_notes"]


def _n(x: Fraction) -> str:
    return decimal_text(x)


def _name(c: Category) -> str:
    return f"{c.id}「{c.title}」" if c.title and c.title != c.id else c.id


def _bonus_reach(c: Category) -> Fraction:
    """The most a bonus category can add: its max, or less when its items cannot reach it."""
    return min(c.max, c.items_max)


def highest_total(rb: Rulebook) -> Fraction:
    """The highest total a unit can reach: the base scaled to ``scale`` (every base and deduction
    category at its max), plus every bonus category at its most, no penalty (SPEC §4.3)."""
    base = [c for c in rb.categories if c.base_like]
    bonus = sum((_bonus_reach(c) for c in rb.categories if c.type == "bonus"), Fraction(0))
    return (rb.scale if base else Fraction(0)) + bonus


def rulebook_notes(rb: Rulebook) -> list[str]:
    """The notes for ``validate``, one line each."""
    out: list[str] = []
    base = [c for c in rb.categories if c.base_like]
    bonus = [c for c in rb.categories if c.type == "bonus"]
    base_sum = sum((c.max for c in base), Fraction(0))
    parts = []
    if base:
        if any(c.weight is not None for c in base):
            parts.append(f"基础类别按权重折算为 {_n(rb.scale)} 分")
        elif base_sum == rb.scale:
            parts.append(f"基础类别满分合计 {_n(base_sum)} 分")
        else:
            parts.append(f"基础类别满分合计 {_n(base_sum)} 分，折算为 {_n(rb.scale)} 分")
    if bonus:
        parts.append(f"加分类别最多加 {_n(sum((_bonus_reach(c) for c in bonus), Fraction(0)))} 分")
    out.append(f"最高可得总分 {_n(highest_total(rb))} 分（{'，'.join(parts)}）")
    for c in rb.categories:
        if c.type in ("base", "bonus") and c.items and c.max < c.items_max:
            out.append(
                f"类别 {_name(c)}：满分 {_n(c.max)} 分，低于各项满分之和 {_n(c.items_max)} 分，得分以 {_n(c.max)} 分封顶"
            )
        if c.type == "bonus" and c.items and c.max > c.items_max:
            out.append(
                f"加分类别 {_name(c)}：满分 {_n(c.max)} 分，但各项满分之和只有 {_n(c.items_max)} 分，最多加 {_n(c.items_max)} 分"
            )
        if c.type == "deduction":
            bottom = "扣完为止（最低 0 分）" if c.floor == 0 else f"最低 {_n(c.floor)} 分"
            out.append(
                f"扣分类别 {_name(c)}：基本分 {_n(c.max)} 分，各项扣分从基本分中扣除，{bottom}"
            )
        if c.type == "penalty":
            out.append(f"减分类别 {_name(c)}：从总分中最多减 {_n(c.max)} 分")
        out.extend(_group_notes(c))
    if rb.places != 2:  # SPEC §10.5
        p = _n(rb.precision)
        out.append(f"评分精确到{p}分：各项得分、各类别得分和总分均四舍五入到{p}分")
        for item in rb.items():
            if item.kind != "veto" and rb.round(item.max) != item.max:
                out.append(
                    f"项目 {item.title}（{item.id}）：满分 {_n(item.max)} 分不是{p}分的整数倍，"
                    f"得满分时记 {_n(rb.round(item.max))} 分"
                )
        for c in rb.categories:
            for g in c.groups:
                if rb.round(g.max) != g.max:
                    out.append(
                        f"分组 {c.id}.{g.id}：满分 {_n(g.max)} 分不是{p}分的整数倍，"
                        f"小计四舍五入到{p}分，最高记 {_n(rb.round(g.max))} 分"
                    )
    return out


def _group_notes(c: Category) -> list[str]:
    """One line per group (SPEC §10.3): its cap, and whether it caps its items."""
    out: list[str] = []
    for g in c.groups:
        mine = [i for i in c.items if i.group == g.id]
        name = f"{c.id}.{g.id}「{g.title}」" if g.title and g.title != g.id else f"{c.id}.{g.id}"
        head = f"分组 {name}（{len(mine)} 项）"
        if c.deducts:
            if not g.capped:
                out.append(f"{head}：扣分不封顶")
                continue
            out.append(f"{head}：本组最多扣 {_n(g.max)} 分")
            continue
        total = sum((i.max for i in mine), Fraction(0))
        if g.max < total:
            out.append(
                f"{head}：满分 {_n(g.max)} 分，低于各项满分之和 {_n(total)} 分，本组以 {_n(g.max)} 分封顶"
            )
        else:
            out.append(f"{head}：满分 {_n(g.max)} 分")
    return out
