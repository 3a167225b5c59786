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
from ..lang.messages import _
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
        help=_(
            "print the record sheets (审核记录表): one A4 page per unit, in rank order, as HTML or PDF"
        ),
        description=_(
            "Every unit's record sheet (points and reasons item by item, category totals, notes, signature lines), all units in one file in rank order, each unit on a new page."
        ),
    )
    p.add_argument("rulebook", metavar="RULEBOOK", help=_("the rulebook (TOML)"))
    p.add_argument(
        "evidence", nargs="+", metavar="EVIDENCE", help=_("TOML/CSV/XLSX files or folders")
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=_(
            "write to FILE: sheets.html or .pdf (PDF needs Chromium); without it the HTML goes to stdout"
        ),
    )
    p.add_argument(
        "--format", "-f", choices=FORMATS, help=_("html or pdf (default: as -o's extension)")
    )
    p.add_argument(
        "--role",
        metavar="ROLE",
        help=_(
            "only this role's assessments, by id or title: self/自评, peer/互查, field/实地, town/镇核, or a role of the rulebook's [roles] (default: all)"
        ),
    )
    p.add_argument(
        "--waivers",
        metavar="FILE",
        help=_("a waiver file ([[waivers]]): excused items become not applicable"),
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
        help=_("the date printed, and the date waivers expire against (default: today)"),
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help=_("reject units with approximate figures, missing values or unknown fields"),
    )
    p.add_argument(
        "--ignore-columns",
        action="store_true",
        help=_(
            "leave out table columns that are no field (a warning each) instead of rejecting the table"
        ),
    )
    return p


def render(
    args: argparse.Namespace, rb: Rulebook, es: EvidenceSet, ranked: Sequence[Ranked[UnitResult]]
) -> str:
    """The sheets document for the ranked results (only ``--role``'s, if given)."""
    role = None if args.role is None else rb.roles.resolve(args.role)
    if args.role is not None and role is None:
        raise SheetsError(
            _("unknown role '{role}'{hint}; roles: {roles}").format(
                role=args.role,
                hint=did_you_mean(args.role, rb.roles.names()),
                roles=rb.roles.listing(),
            )
        )
    shown = [r for r in ranked if role is None or r.result.role == role]
    if not shown:
        if role is not None and ranked:
            have = "、".join(sorted({rb.roles.title(r.result.role) for r in ranked}))
            raise SheetsError(
                _("the evidence has no '{title}' ({role}) assessments; it has: {have}").format(
                    title=rb.roles.title(role), role=role, have=have
                )
            )
        raise SheetsError(
            _("no unit to print: all evidence was rejected (see the rejected: lines above)")
        )
    dates: dict[tuple[str, str, str], _dt.date | None] = {
        (ev.unit.id, ev.role, ev.source): ev.assessment.date for ev in es.evidence
    }
    return record_sheets_html(rb, shown, dates=dates, printed=args.today)
