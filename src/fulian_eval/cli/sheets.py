"""``fulian-eval sheets``: every unit's record sheet (审核记录表), printable, as HTML or PDF.

The command's options and its page; ``cli.app`` registers it, loads and scores the
evidence and writes the file (through its temporary-file-and-rename output).
"""

from __future__ import annotations

import argparse
import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

from ..analysis.rank import Ranked
from ..errors import FulianEvalError, did_you_mean
from ..io.evidence import EvidenceSet
from ..model.rulebook import Rulebook
from ..report.sheets import record_sheets_html
from ..scoring.exact import UnitResult

__all__ = ["FORMATS", "SheetsError", "add_parser", "render"]

FORMATS = ("html", "pdf")


class SheetsError(FulianEvalError, ValueError):
    """A usage error of ``sheets`` (exit status 2)."""


def add_parser(
    sub: argparse._SubParsersAction[Any], *, date: Callable[[str], _dt.date]
) -> argparse.ArgumentParser:
    """Register ``sheets`` (``date`` parses ``--today``)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "sheets",
        help="打印审核记录表：每个单位一页（A4），按名次排列，输出 HTML 或 PDF",
        description="每个单位的审核记录表（逐项得分、评分依据、分类折算、提示、签字栏），"
        "全部单位在一个文件里，按名次排列，每个单位从新的一页开始。",
    )
    p.add_argument("rulebook", metavar="RULEBOOK", help="考核细则（TOML）")
    p.add_argument(
        "evidence", nargs="+", metavar="EVIDENCE", help="资料：TOML/CSV/XLSX 文件或文件夹"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="写入文件：审核记录表.html 或 .pdf（PDF 需要 Chromium）；不给则把 HTML 写到标准输出",
    )
    p.add_argument("--format", "-f", choices=FORMATS, help="html 或 pdf（默认按 -o 的扩展名）")
    p.add_argument(
        "--role",
        metavar="ROLE",
        help="只打印这一类评审，写编码或名称：self/自评、peer/互查、field/实地、town/镇核，"
        "或考核细则 [roles] 中的角色（默认全部）",
    )
    p.add_argument(
        "--waivers", metavar="FILE", help="豁免文件（[[waivers]]）：被豁免的项目按不适用计"
    )
    p.add_argument(
        "--survey",
        metavar="FILE",
        action="append",
        help="问卷表（CSV/XLSX，可重复）：按考核细则 [surveys] 汇总成字段值",
    )
    p.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        type=date,
        help="打印日期，也是豁免到期的参照日（默认今天）",
    )
    p.add_argument("--strict", action="store_true", help="拒收含约数、缺值或未知字段的单位")
    p.add_argument(
        "--ignore-columns",
        action="store_true",
        help="表格中不是字段的列给出警告后忽略，而不是拒收整张表",
    )
    return p


def render(
    args: argparse.Namespace, rb: Rulebook, es: EvidenceSet, ranked: Sequence[Ranked[UnitResult]]
) -> str:
    """The sheets document for the ranked results (only ``--role``'s, if given)."""
    role = None if args.role is None else rb.roles.resolve(args.role)
    if args.role is not None and role is None:
        raise SheetsError(
            f"未知的评审类别 '{args.role}'{did_you_mean(args.role, rb.roles.names())}；"
            f"可用：{rb.roles.listing()}"
        )
    shown = [r for r in ranked if role is None or r.result.role == role]
    if not shown:
        if role is not None and ranked:
            have = "、".join(sorted({rb.roles.title(r.result.role) for r in ranked}))
            raise SheetsError(f"资料中没有“{rb.roles.title(role)}”（{role}）的评审；有：{have}")
        raise SheetsError("没有可打印的单位：所有资料都被拒收（见上面的 rejected 信息）")
    dates: dict[tuple[str, str, str], _dt.date | None] = {
        (ev.unit.id, ev.role, ev.source): ev.assessment.date for ev in es.evidence
    }
    return record_sheets_html(rb, shown, dates=dates, printed=args.today)
