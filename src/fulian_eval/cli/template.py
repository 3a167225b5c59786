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
from ..lang.messages import N_, _
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Rulebook
from ..report.form import form_columns, write_form

__all__ = ["TemplateUsageError", "add_parser", "cmd_template"]

HELP = N_(
    "make the evidence form (填报表): an Excel workbook from the rulebook for each village or community to fill in"
)


class TemplateUsageError(FulianEvalError, ValueError):
    """A ``template`` command line that cannot be carried out (exit 2)."""


def add_parser(sub: Any) -> None:
    """Add ``template`` to the subcommands ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser("template", help=_(HELP), description=_(HELP))
    p.add_argument("rulebook", metavar="RULEBOOK", help=_("the rulebook (TOML)"))
    p.add_argument(
        "--units",
        metavar="UNITS.csv",
        help=_(
            "the units to fill in, columns unit, name, group (as for plan and sample); without it the rows are left for the clerk"
        ),
    )
    p.add_argument(
        "--unit",
        metavar="ID",
        action="append",
        dest="only",
        help=_(
            "only this unit of the list (may be repeated): one form per village, each with its own row only"
        ),
    )
    p.add_argument(
        "--role",
        metavar="ROLE",
        help=_(
            "the role, filled in the role column: {roles}, or a role of the rulebook's [roles]"
        ).format(roles=DEFAULT_ROLES.listing()),
    )
    p.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        type=_date,
        help=_("the date printed on the instructions sheet (default: today)"),
    )
    p.add_argument(
        "-o", "--output", metavar="FILE.xlsx", required=True, help=_("the form to write (.xlsx)")
    )


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'{text}' is not a date like 2026-11-20").format(text=text)
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
        _("--role {role}: no such role; roles: {roles}{hint}").format(
            role=text, roles=roles.listing(), hint=did_you_mean(t, roles.names())
        )
    )


def check_output(output: str) -> None:
    """``-o`` must name an .xlsx workbook (the form is one; anything else is a usage error)."""
    if os.path.splitext(output)[1].lower() != ".xlsx":
        raise TemplateUsageError(
            _(
                "-o {output}: the form is an Excel workbook; its name must end in .xlsx, e.g. -o form.xlsx"
            ).format(output=output)
        )


def cmd_template(args: argparse.Namespace, rb: Rulebook) -> int:
    """Write the form for ``rb`` to ``args.out`` (the ``-o`` file app.py opened)."""
    check_output(args.output)
    role = role_id(args.role, rb) if args.role is not None else None
    units = sampling.read_units(args.units) if args.units else []
    if args.only:
        if not args.units:
            raise TemplateUsageError(_("--unit picks units of --units: give the units file too"))
        known = {u.unit for u in units}
        for uid in args.only:
            if uid not in known:
                raise TemplateUsageError(
                    _("--unit {unit}: no such unit in the units file {path}{hint}").format(
                        unit=uid, path=args.units, hint=did_you_mean(uid, known)
                    )
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
    rows = _("{n} units filled in").format(n=len(units)) if units else _("units left to fill in")
    print(
        _(
            "wrote the form {path}: sheet '{sheet}', {rows}, {fields} field columns, {manual} manual points columns"
        ).format(path=args.output, sheet=DATA_SHEET, rows=rows, fields=fields, manual=manual),
        file=sys.stderr,
    )
    return 0
