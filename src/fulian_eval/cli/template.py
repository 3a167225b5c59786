"""``fulian-eval template``: the evidence-collection form (填报表) a town office sends out.

Registered by :mod:`fulian_eval.cli.app` (which checks ``-o`` is none of the run's inputs
and writes the workbook to a temporary file that replaces ``-o`` only when the run
succeeds); the workbook itself is made by :mod:`fulian_eval.report.form`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from typing import Any

from ..analysis import sampling
from ..errors import FulianEvalError, did_you_mean
from ..io.tables import DATA_SHEET
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Rulebook
from ..report.form import form_columns, write_form

__all__ = ["TemplateUsageError", "add_parser", "cmd_template"]

HELP = "生成填报表：由考核细则生成发给各村（社区）填写的 Excel 表 (the evidence form, .xlsx)"


class TemplateUsageError(FulianEvalError, ValueError):
    """A ``template`` command line that cannot be carried out (exit 2)."""


def add_parser(sub: Any) -> None:
    """Add ``template`` to the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("template", help=HELP, description=HELP)
    p.add_argument("rulebook", metavar="RULEBOOK", help="考核细则 (the rulebook, TOML)")
    p.add_argument(
        "--units",
        metavar="UNITS.csv",
        help="预填的单位名单，列 unit,name,group（与 plan、sample 所用相同）；不给则留空由填表人填写",
    )
    p.add_argument(
        "--unit",
        metavar="ID",
        action="append",
        dest="only",
        help="只写名单中的这个单位（可重复），用于一村一表：各村只拿到自己的一行",
    )
    p.add_argument(
        "--role",
        metavar="ROLE",
        help="评审角色，预填在“角色”列："
        + DEFAULT_ROLES.listing()
        + "，或考核细则 [roles] 中的角色",
    )
    p.add_argument(
        "--today", metavar="YYYY-MM-DD", type=_date, help="印在说明表上的日期（默认今天）"
    )
    p.add_argument(
        "-o", "--output", metavar="FILE.xlsx", required=True, help="写出的填报表 (.xlsx)"
    )


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"“{text}”不是日期，应写作 2026-11-20 (not a date)"
        ) from None


def role_id(text: str, rb: Rulebook | None = None) -> str:
    """A role given by id (``self``) or title (``自评``) -> its id: the rulebook's ``[roles]`` or the default ones.

    Raises:
        TemplateUsageError: no such role.
    """
    roles = rb.roles if rb is not None else DEFAULT_ROLES
    t = text.strip()
    got = roles.resolve(t)
    if got is not None:
        return got
    raise TemplateUsageError(
        f"--role {text}：没有这个角色，可选 "
        + roles.listing()
        + f" (not a role{did_you_mean(t, roles.names())})"
    )


def check_output(output: str) -> None:
    """``-o`` must name an .xlsx workbook (the form is one; anything else is a usage error)."""
    if os.path.splitext(output)[1].lower() != ".xlsx":
        raise TemplateUsageError(
            f"-o {output}：填报表是 Excel 工作簿，文件名须以 .xlsx 结尾，如 -o 填报表.xlsx "
            "(the form is an .xlsx workbook)"
        )


def cmd_template(args: argparse.Namespace, rb: Rulebook) -> int:
    """Write the form for ``rb`` to ``args.out`` (the ``-o`` file app.py opened)."""
    check_output(args.output)
    role = role_id(args.role, rb) if args.role is not None else None
    units = sampling.read_units(args.units) if args.units else []
    if args.only:
        if not args.units:
            raise TemplateUsageError(
                "--unit 要与 --units 单位名单一起用 (--unit picks units of --units)"
            )
        known = {u.unit for u in units}
        for uid in args.only:
            if uid not in known:
                raise TemplateUsageError(
                    f"--unit {uid}：单位名单 {args.units} 中没有这个单位"
                    f" (no such unit{did_you_mean(uid, known)})"
                )
        wanted = set(args.only)
        units = [u for u in units if u.unit in wanted]
    out = args.out
    write_form(
        rb,
        out.binary(),
        units=[(u.unit, u.name, u.group) for u in units],
        role=role,
        today=args.today or _dt.date.today(),
    )
    cols = form_columns(rb)
    fields = sum(1 for c in cols if c.kind == "field")
    manual = sum(1 for c in cols if c.kind == "points")
    rows = f"{len(units)}个单位已预填" if units else "单位留空待填"
    print(
        f"已写出填报表 {args.output}：“{DATA_SHEET}”表{rows}，{fields}个字段列，{manual}个人工评分列",
        file=sys.stderr,
    )
    return 0
