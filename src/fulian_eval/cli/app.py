"""The ``fulian-eval`` command line (SPEC §9). Imported by nothing else.

Exit status: 0 all scored; 1 some units rejected (the rest scored and reported);
2 usage error or invalid rulebook (or units/waiver file); 3 internal error (a bug);
130 interrupted. No traceback ever reaches a user.

A report named by ``-o`` is never an input of the run (refused before anything is
read), and it is written to a temporary file beside it that replaces the file only
when the run succeeded: a failed or interrupted run leaves an older report as it was.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import datetime as _dt
import json
import os
import shlex
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engines and reports are imported by the commands that use them
    from .. import audit
    from ..analysis import sampling
    from ..analysis.rank import Ranked
    from ..scoring.columnar import Plan
    from ..scoring.exact import UnitResult, UnitSummary

from .._runtime import quiet_gc
from .._version import __version__

if TYPE_CHECKING:  # the engines and reports are imported by the commands that use them
    from ..errors import RulebookError
    from ..io.evidence import EvidenceSet, Rejection
    from ..io.surveys import SurveyData, SurveyError
    from ..io.waivers import WaiverError, WaiverSet
from ..lang.messages import LANGUAGES, N_, _, ngettext, set_language
from ..model.formats import FORMATS

if TYPE_CHECKING:  # the engines and reports are imported by the commands that use them
    from ..model.rulebook import Rulebook

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

_EPILOG = N_("""exit status:
  0    every unit scored (validate: every rulebook valid; explain: the unit printed)
  1    some evidence rejected (named on stderr); every other unit scored and reported
  2    usage error; invalid rulebook, units file or waiver file; no -o report written
  3    internal error: a bug in fulian-eval (please report it with the command)
  130  interrupted (Ctrl-C)
A report written with -o is never one of the run's inputs, and it replaces an older
file only when the run succeeded.""")


class _UsageError(Exception):
    pass


_FORMAT_HELP = N_("output format (default: as -o's extension, else table)")
_SCORE_FORMATS = (*FORMATS, "parquet")  # score and rank: a Parquet file of the CSV report's rows
_RANK_FORMATS = (*_SCORE_FORMATS, "pdf")  # the ranking handout prints (HTML through Chromium)
_PARQUET_NEEDS_FILE = N_(
    "--format parquet writes a Parquet file: give it a file with -o FILE.parquet"
)

# What -o's extension says the report is (SPEC §9, issue 11): the format when --format is not given.
_EXTENSIONS = {
    ".txt": "table",
    ".json": "json",
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pdf": "pdf",
}
_FORMAT_NAMES = {
    "table": N_("plain text"),
    "json": "JSON",
    "csv": "CSV",
    "markdown": "Markdown",
    "html": "HTML",
    "xlsx": N_("an Excel workbook"),
    "parquet": "Parquet",
    "pdf": "PDF",
}


def _format_of(args: argparse.Namespace, choices: Sequence[str]) -> str:
    """The report's format: ``--format``, else what ``-o``'s extension says, else ``table``.

    A file name without an extension (or ``/dev/stdout``) is plain text; an
    extension this command does not write, a ``--format`` that contradicts the
    extension, and ``.pdf`` for a command that does not print, are usage errors, so a
    report is never written into a file that names another format.
    """
    given: str | None = args.format
    output: str | None = getattr(args, "output", None)
    ext = os.path.splitext(os.path.basename(output))[1].lower() if output else ""
    if not ext:
        return given or ("table" if "table" in choices else choices[0])
    implied = _EXTENSIONS.get(ext)
    if implied is None:
        if given is not None:
            return given  # --format says what it is: the file name is the user's business
        known = ", ".join(e for e in _EXTENSIONS if _EXTENSIONS[e] in choices)
        raise _UsageError(
            _(
                "cannot tell the report's format from {output}: '{ext}' is not a report extension this command writes ({known}); name the file so, or give --format"
            ).format(output=output, ext=ext, known=known)
        )
    if given is not None and given != implied:
        raise _UsageError(
            _(
                "--format {given} contradicts -o {output}, whose extension '{ext}' means {format}; drop --format or name the file .{wanted}"
            ).format(
                given=given,
                output=output,
                ext=ext,
                format=_(_FORMAT_NAMES[implied]),
                wanted=_ext_of(given),
            )
        )
    if implied not in choices:
        hint = (
            _(
                "; PDF is printed by sheets (the record sheets) and rank (the ranking): fulian-eval sheets RULEBOOK EVIDENCE… -o sheets.pdf"
            )
            if implied == "pdf"
            else ""
        )
        raise _UsageError(
            _(
                "cannot write {output}: {command} does not write {format} ({ext}); it writes {extensions}"
            ).format(
                output=output,
                command=args.command,
                format=_(_FORMAT_NAMES[implied]),
                ext=ext,
                extensions=", ".join("." + _ext_of(c) for c in choices),
            )
            + hint
        )
    return implied


def _ext_of(fmt: str) -> str:
    return {"table": "txt", "markdown": "md"}.get(fmt, fmt)


_PDF_NEEDS_FILE = N_("a PDF is a file: name it with -o FILE.pdf (or write .html)")

# argparse's own words (usage:, options:, its errors), in our catalog: argparse looks them up
# through ``argparse._`` and ``argparse.ngettext``, which :func:`_use_language` points at it.
_ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
)


def _use_language(argv: Sequence[str]) -> str | None:
    """Messages in ``--lang``'s language (else as the environment says), argparse's own words too.

    Read before the parser is built (its help is translated when it is made); worker
    processes are forked and speak it too. Returns the language set before.
    """
    lang = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
    lang = lang.strip().lower() if lang else None
    before = set_language(
        lang if lang in LANGUAGES else None
    )  # another: argparse names the choices
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
    _console()
    return before


def _console() -> None:
    """Standard output and error never fail on a character their encoding lacks (a GBK console).

    ``m²`` is written ``m2``, ``①`` ``1`` (their compatibility forms); what has none becomes ``?``.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=_FALLBACK)


_FALLBACK = "fulian_eval.console"


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start : exc.end]:
        plain = _PLAIN.get(ch) or unicodedata.normalize("NFKC", ch)
        try:
            plain.encode(exc.encoding)
        except UnicodeError:
            plain = "?"
        out.append(plain)
    return "".join(out), exc.end


_PLAIN = {"\u2212": "-", "\u2013": "-", "\u2714": "√", "\u2713": "√", "\u2717": "×", "\u00a0": " "}
codecs.register_error(_FALLBACK, _fallback)


def _lang_option(p: argparse.ArgumentParser, default: Any = None) -> None:
    p.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=default,
        help=_(
            "language of messages and help: zh (default) or en; else FULIAN_EVAL_LANG, else the locale"
        ),
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(
            _("{prog}: error: {message}").format(prog=self.prog, message=message), file=sys.stderr
        )
        raise SystemExit(EXIT_USAGE)


class _LangParser(_Parser):
    """A command's parser: ``--lang`` is one of its options too (``fulian-eval score --lang en …``)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        _lang_option(self, argparse.SUPPRESS)


def _common(p: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    p.add_argument("--format", "-f", choices=formats, help=_(_FORMAT_HELP))
    p.add_argument(
        "-o", "--output", metavar="FILE", help=_("write the report to FILE instead of stdout")
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
    _audit_options(p)
    p.add_argument(
        "--waivers",
        metavar="FILE",
        help=_("a waiver file ([[waivers]]): excused items become not applicable"),
    )
    _survey_option(p)
    p.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        type=_date,
        help=_("the date waivers expire against (default: today)"),
    )


def _survey_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--survey",
        metavar="FILE",
        action="append",
        help=_(
            "a survey table (CSV/XLSX/Parquet; repeatable): its answers fill the rulebook's "
            "[surveys] fields"
        ),
    )


def _audit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--audit",
        metavar="FILE",
        help=_("append this run to an audit store (SQLite; made if need be)"),
    )
    p.add_argument(
        "--actor", metavar="NAME", help=_("who ran it, for the audit trail (default: the OS user)")
    )


def build_parser() -> argparse.ArgumentParser:
    from ..model.formats import SAMPLE_FORMATS
    from . import sheets as _sheets
    from . import template

    parser = _Parser(
        prog="fulian-eval",
        description=_(
            "Score women's-federation work (妇联工作考核) against a TOML assessment scheme: exact, explained, ranked."
        ),
        epilog=_(_EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"fulian-eval {__version__}",
        help=_("show program's version number and exit"),
    )
    _lang_option(parser, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_LangParser)
    sub.required = True

    p = sub.add_parser("validate", help=_("check rulebooks and report every problem"))
    p.add_argument("rulebooks", nargs="+", metavar="RULEBOOK")

    p = sub.add_parser("score", help=_("score units: categories, total, grade, rank"))
    p.add_argument("rulebook", metavar="RULEBOOK")
    p.add_argument(
        "evidence",
        nargs="+",
        metavar="EVIDENCE",
        help=_("TOML/CSV/XLSX/Parquet files or folders"),
    )
    _common(p, _SCORE_FORMATS)

    p = sub.add_parser("rank", help=_("rank units: place, group place, total, grade"))
    p.add_argument("rulebook", metavar="RULEBOOK")
    p.add_argument("evidence", nargs="+", metavar="EVIDENCE")
    _common(p, _RANK_FORMATS)
    p.add_argument(
        "--sensitivity",
        metavar="PCT",
        type=_percent,
        help=_("also show each unit's best and worst place when weights move by ±PCT (e.g. 10%%)"),
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help=_("seed for sampled weightings (many categories or units)"),
    )

    p = sub.add_parser(
        "explain", help=_("one unit's audit record sheet (审核记录表), or where to improve")
    )
    p.add_argument("rulebook", metavar="RULEBOOK")
    p.add_argument("evidence", nargs="+", metavar="EVIDENCE")
    p.add_argument("--unit", required=True, metavar="ID", help=_("the unit to explain"))
    p.add_argument(
        "--item", metavar="ID", help=_("only this item (e.g. archives.registers), with its inputs")
    )
    p.add_argument(
        "--gains",
        action="store_true",
        help=_("points each not-full item would add to the total if it were full, largest first"),
    )
    p.add_argument(
        "--role", metavar="ROLE", help=_("which assessment of the unit (default: the first found)")
    )
    _common(p)

    _sheets.add_parser(sub, date=_date)

    p = sub.add_parser(
        "crosscheck",
        help=_("compare self, peer, town and field assessments of each unit (交错互查)"),
    )
    p.add_argument("rulebook", metavar="RULEBOOK")
    p.add_argument(
        "evidence",
        nargs="+",
        metavar="EVIDENCE",
        help=_("assessments in any roles: files or folders"),
    )
    p.add_argument("--format", "-f", choices=_CROSSCHECK_FORMATS, help=_(_FORMAT_HELP))
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--strict", action="store_true", help=_("as for score"))
    p.add_argument("--ignore-columns", action="store_true", help=_("as for score"))
    _survey_option(p)
    _audit_options(p)

    p = sub.add_parser("audit", help=_("the audit trail: verify, head, replay, export, show, runs"))
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_LangParser)
    asub.required = True
    a = asub.add_parser(
        "verify", help=_("check every record, link and stored file; name the first bad record")
    )
    a.add_argument("store", metavar="FILE")
    a.add_argument(
        "--head",
        metavar="HASH",
        help=_("the head hash kept elsewhere: also catches a truncated tail"),
    )
    a = asub.add_parser("head", help=_("print the newest record's hash, to keep outside the store"))
    a.add_argument("store", metavar="FILE")
    a = asub.add_parser("runs", help=_("list the stored runs"))
    a.add_argument("store", metavar="FILE")
    a = asub.add_parser(
        "replay", help=_("re-score stored runs from their stored inputs and show any difference")
    )
    a.add_argument("store", metavar="FILE")
    a.add_argument("--run", type=int, metavar="N", help=_("only this run"))
    a = asub.add_parser("export", help=_("write the store as JSON Lines"))
    a.add_argument("store", metavar="FILE")
    a.add_argument("-o", "--output", metavar="FILE", help=_("write to FILE (default: stdout)"))
    a.add_argument("--blobs", action="store_true", help=_("include the stored files (base64)"))
    a = asub.add_parser(
        "show",
        help=_("print a stored run's score sheet again, or a unit's record sheet (审核记录表)"),
    )
    a.add_argument("store", metavar="FILE")
    a.add_argument("run", type=int, metavar="RUN")
    a.add_argument(
        "--unit",
        metavar="ID",
        help=_("this unit's record sheet, with reasons re-derived from the stored files"),
    )
    a.add_argument(
        "--role", metavar="ROLE", help=_("which assessment of the unit (default: the first found)")
    )
    a.add_argument(
        "--format",
        "-f",
        choices=("table", "json", "csv", "markdown", "html"),
        help=_("table (default), csv, markdown, html; json: the stored records as they are"),
    )

    p = sub.add_parser(
        "plan", help=_("who checks whom (交错互查), within groups, reproducible from a seed")
    )
    p.add_argument("units", metavar="UNITS.csv", help=_("a table with columns unit, name, group"))
    p.add_argument(
        "--seed",
        type=int,
        required=True,
        help=_("the random seed (keep it: the same seed gives the same plan)"),
    )
    p.add_argument("--format", "-f", choices=SAMPLE_FORMATS, help=_(_FORMAT_HELP))
    p.add_argument("-o", "--output", metavar="FILE")
    _audit_options(p)

    p = sub.add_parser(
        "sample", help=_("a stratified random sample of units for field visits (实地走访)")
    )
    p.add_argument("units", metavar="UNITS.csv", help=_("a table with columns unit, name, group"))
    p.add_argument(
        "--fraction", required=True, help=_("share of each group to visit, e.g. 0.04 or 5%%")
    )
    p.add_argument(
        "--seed", type=int, required=True, help=_("the random seed (printed in the output)")
    )
    p.add_argument(
        "--min-per-group",
        type=int,
        default=1,
        metavar="N",
        help=_("visit at least N per group (default 1)"),
    )
    p.add_argument("--format", "-f", choices=SAMPLE_FORMATS, help=_(_FORMAT_HELP))
    p.add_argument("-o", "--output", metavar="FILE")
    _audit_options(p)

    template.add_parser(sub)
    return parser


def _percent(text: str) -> Fraction:
    try:
        value = Fraction(text.strip().rstrip("%").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'{text}' is not a percentage like 10%").format(text=text)
        ) from None
    if not 0 <= value < 100:
        raise argparse.ArgumentTypeError(
            _("'{text}' must be from 0% to below 100%").format(text=text)
        )
    return value / 100


def _date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("'{text}' is not a date like 2026-11-20").format(text=text)
        ) from None


def _waivers(args: argparse.Namespace, rb: Rulebook) -> WaiverSet | None:
    from ..io.waivers import load_waivers

    if not getattr(args, "waivers", None):
        return None
    _readable(args.waivers, _("waiver file"))
    waivers, warnings = load_waivers(args.waivers, rb, args.today or _dt.date.today())
    for w in warnings:
        _warn(w)
    return waivers


def _surveys(args: argparse.Namespace, rb: Rulebook) -> SurveyData | None:
    """The survey tables of ``--survey`` (SPEC §10.9), read once per run; their warnings told."""
    from ..io.surveys import load_surveys

    paths = getattr(args, "survey", None)
    if not paths:
        return None
    cached = getattr(args, "_survey_data", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    for path in paths:
        _readable(path, "survey table")
    data, warnings = load_surveys(paths, rb)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    args._survey_data = data
    return data


_CROSSCHECK_FORMATS = ("table", "json", "csv", "markdown", "html", "xlsx")


def _render(args: argparse.Namespace, render: Callable[..., str], *rest: Any) -> str:
    """``render(*rest, format)``: a report as text (a workbook is written by :func:`_emit_workbook`; PDF is printed from the HTML)."""
    if args.format == "pdf":
        return render(*rest, "html")
    return render(*rest, str(args.format))


# ------------------------------------------------------------------ output


class _Output:
    """The report file of ``-o``: a :class:`~fulian_eval.report.files.ReplacingFile`.

    Made (and so checked for writability) when the run starts; :meth:`discard`
    removes it, so a failed or interrupted run never leaves a truncated report
    and never removes an older one. A symlink is written through (the file it
    names is replaced); a device or FIFO (``/dev/null``) is written directly.
    """

    def __init__(self, path: str) -> None:
        from ..report.files import ReplacingFile

        self.path = path
        try:
            self.out = ReplacingFile(path)
        except IsADirectoryError:
            raise _UsageError(
                _("cannot write {path}: it is a folder; give -o a file name").format(path=path)
            ) from None
        except OSError as exc:
            raise _UsageError(
                _("cannot write {path}: {error}").format(path=path, error=exc.strerror)
            ) from None
        self.target = self.out.target

    def _open(self, mode: str, **kw: Any) -> IO[Any]:
        try:
            return self.out.open(mode, **kw)
        except OSError as exc:
            raise _UsageError(
                _("cannot write {path}: {error}").format(path=self.path, error=exc.strerror)
            ) from None

    def text(self, csv: bool) -> IO[str]:
        # Excel opens a UTF-8 CSV with Chinese correctly only when it starts with a BOM.
        out: IO[str] = self._open(
            "w", encoding="utf-8-sig" if csv else "utf-8", newline="" if csv else None
        )
        return out

    def binary(self) -> IO[bytes]:
        out: IO[bytes] = self._open("wb")
        return out

    def commit(self) -> None:
        """Put the report in place (the run succeeded)."""
        try:
            self.out.commit()
        except OSError as exc:
            raise _UsageError(
                _("cannot write {path}: {error}").format(path=self.path, error=exc.strerror or exc)
            ) from None

    def discard(self) -> None:
        """Drop the temporary file (the run failed); an older report is left as it was."""
        self.out.discard()


@contextlib.contextmanager
def _to_stdout() -> Iterator[None]:
    """Writing to standard output: a closed pipe passes through (not an error), anything else is named."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _UsageError(
            _("cannot write to standard output: {error}").format(error=exc.strerror or exc)
        ) from None


def _say(*values: object) -> None:
    """``print`` to standard output, its failures named as :func:`_to_stdout` does."""
    with _to_stdout():
        print(*values)


def _emit_workbook(args: argparse.Namespace, write: Callable[[IO[bytes]], None]) -> None:
    """A workbook (``--format xlsx``) to ``-o``'s temporary file: ``write(file)`` writes it from typed rows."""
    from ..report.workbook import TooBig

    out: _Output | None = getattr(args, "out", None)
    if out is None:
        raise _UsageError(_("--format xlsx writes a workbook: give it a file with -o FILE.xlsx"))
    try:
        write(out.binary())
    except TooBig as exc:
        raise _UsageError(
            _("cannot write {path}: {error}").format(path=out.path, error=exc)
        ) from None
    except OSError as exc:
        raise _UsageError(
            _("cannot write {path}: {error}").format(path=out.path, error=exc.strerror or exc)
        ) from None


def _emit_parquet(args: argparse.Namespace, run: Any, kind: str) -> None:
    """The ``score``/``rank`` report (``kind``) as Parquet to ``-o``'s temporary file."""
    out: _Output | None = getattr(args, "out", None)
    if out is None:
        raise _UsageError(_(_PARQUET_NEEDS_FILE))
    try:
        run.report(kind, "parquet", out.binary())
    except OSError as exc:
        raise _UsageError(
            _("cannot write {path}: {error}").format(path=out.path, error=exc.strerror or exc)
        ) from None


def _emit(args: argparse.Namespace, text: str) -> None:
    """The rendered report to ``-o`` (its temporary file) or stdout."""
    from ..report.pdf import html_to_pdf

    out: _Output | None = getattr(args, "out", None)
    if args.format == "xlsx":  # a workbook is never text
        raise AssertionError("a workbook is written with _emit_workbook")
    if args.format == "pdf":
        if out is None:
            raise _UsageError(_(_PDF_NEEDS_FILE))
        try:
            out.binary().write(html_to_pdf(text))
        except OSError as exc:
            raise _UsageError(
                _("cannot write {path}: {error}").format(path=out.path, error=exc.strerror or exc)
            ) from None
        return
    if out is None:
        with _to_stdout():
            sys.stdout.write(text)
            sys.stdout.flush()
        return
    try:
        out.text(args.format == "csv").write(text)
    except OSError as exc:
        raise _UsageError(
            _("cannot write {path}: {error}").format(path=out.path, error=exc.strerror or exc)
        ) from None


def _readable(path: str, what: str) -> None:
    """A file the run reads besides the evidence must be a regular file: else a usage error naming it."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _UsageError(
            _("cannot read the {what} {path}: {error}").format(
                what=what, path=path, error=exc.strerror
            )
        ) from None
    if not stat.S_ISREG(st.st_mode):
        kind = _("it is a folder") if stat.S_ISDIR(st.st_mode) else _("it is not a regular file")
        raise _UsageError(
            _("cannot read the {what} {path}: {error}").format(what=what, path=path, error=kind)
        )


def _inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(path, what it is) for every file the command reads or keeps, but the evidence and rulebook chain."""
    found: list[tuple[str, str]] = []
    for attr, what in (
        ("rulebook", N_("the rulebook {path}")),
        ("waivers", N_("the waiver file {path}")),
        ("units", N_("the units file {path}")),
    ):
        path = getattr(args, attr, None)
        if path:
            found.append((path, _(what).format(path=path)))
    for path in getattr(args, "survey", None) or []:
        found.append((path, _("the survey table {path}").format(path=path)))
    for attr in ("audit", "store"):
        store = getattr(args, attr, None)
        if store:
            found.append((store, _("the audit store {path}").format(path=store)))
            found.extend(
                (
                    store + end,
                    _("{file}, a file of the audit store {path}").format(
                        file=store + end, path=store
                    ),
                )
                for end in ("-wal", "-shm", "-journal")
            )
    return found


def _guard(args: argparse.Namespace, chain: Sequence[str] = ()) -> None:
    """Refuse an ``-o`` that is one of the run's inputs (a usage error, before it is read or written).

    Paths are compared resolved (symlinks) and by device and inode (hard links): an
    evidence file, any file of an evidence folder, a file ``-o`` would add to an
    evidence folder, the rulebook and its ``extends`` chain, a waiver or units file,
    and the audit store with its ``-wal``/``-shm``/``-journal`` files.
    """
    output = getattr(args, "output", None)
    if not output:
        return
    from ..io.evidence import EVIDENCE_SUFFIXES, expand_paths

    real = os.path.realpath(output)
    try:
        st: os.stat_result | None = os.stat(output)
    except OSError:
        st = None

    def same(path: str | Path) -> bool:
        if os.path.realpath(path) == real:
            return True
        if st is None:
            return False
        try:
            other = os.stat(path)
        except OSError:
            return False
        return (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino)

    def refuse(what: str, why: str = "") -> None:
        raise _UsageError(
            _(
                "cannot write the report to {output}: it is {what}, {why}; nothing was written — write the report to another file"
            ).format(output=output, what=what, why=why or _("an input of this run"))
        )

    named = [
        *_inputs(args),
        *(
            (c, _("{file}, a file of the rulebook's extends chain").format(file=c))
            for c in chain[1:]
        ),
    ]
    for path, what in named:
        if same(path):
            refuse(what)
    for path in getattr(args, "evidence", None) or []:
        if os.path.isdir(path):
            folder = os.path.realpath(path)
            if os.path.commonpath([real, folder]) == folder and real.lower().endswith(
                EVIDENCE_SUFFIXES
            ):
                refuse(
                    _("in the evidence folder {path}").format(path=path),
                    _("so it would be read as evidence next time"),
                )
            if st is not None:
                for child, shown in expand_paths([path]):
                    if same(child):
                        refuse(_("the evidence file {path}").format(path=shown))
        elif same(path):
            refuse(_("the evidence file {path}").format(path=path))


def _rulebook(args: argparse.Namespace) -> Rulebook:
    """The rulebook; ``-o`` may not be a file of its ``extends`` chain either."""
    from ..io.load import load_rulebook

    rb = load_rulebook(args.rulebook)
    _guard(args, [src.path for src in rb.sources])
    return rb


def _load(args: argparse.Namespace) -> tuple[Rulebook, EvidenceSet]:
    from ..io.evidence import load_evidence

    rb = _rulebook(args)
    es = load_evidence(
        rb,
        args.evidence,
        strict=args.strict,
        ignore_columns=getattr(args, "ignore_columns", False),
        surveys=_surveys(args, rb),
    )
    _tell(es.warnings, es.rejected)
    return rb, es


def _warn(text: object) -> None:
    print(_("warning: {text}").format(text=text), file=sys.stderr)


def _tell(warnings: Sequence[str], rejected: Sequence[Rejection]) -> None:
    for w in warnings:
        _warn(w)
    for r in rejected:
        print(_("rejected: {error}").format(error=r.error), file=sys.stderr)


def _ranked(
    rb: Rulebook, es: EvidenceSet, waivers: WaiverSet | None = None
) -> list[Ranked[UnitResult]]:
    from ..analysis.rank import rank
    from ..scoring.exact import score

    results = []
    for ev in es.evidence:
        waived: dict[str, str] = {}
        if waivers is not None:
            waived, warnings = waivers.for_unit(ev)
            for w in warnings:
                _warn(w)
        results.append(score(rb, ev, waived))
    return rank(rb, results)


def _status(es: EvidenceSet) -> int:
    return EXIT_REJECTED if es.rejected else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from ..errors import RulebookError
    from ..io.load import load_rulebook
    from ..model.notes import rulebook_notes

    code = EXIT_OK
    for path in args.rulebooks:
        try:
            rb = load_rulebook(path)
        except RulebookError as exc:
            code = _problems(f"{path}:", exc, parenthesised=False)
            continue
        n_items = len(rb.items())
        name = f"{rb.id} {rb.version}".strip()
        _say(
            _(
                "{path}: ok — {name}: {categories} categories, {items} items, {fields} fields, scale {scale}"
            ).format(
                path=path,
                name=name,
                categories=len(rb.categories),
                items=n_items,
                fields=len(rb.fields),
                scale=rb.scale,
            )
        )
        for src in rb.sources[1:]:
            _say(
                _("  extends {path} (sha256 {sha256})").format(
                    path=src.path, sha256=src.sha256[:12]
                )
            )
        for note in rulebook_notes(rb):  # not errors: what the scheme adds up to (SPEC §10.8)
            _say(f"  提示：{note}")
    return code


def _report(args: argparse.Namespace, render: Callable[..., str]) -> int:
    """argv → :func:`~fulian_eval.score_run` → the report → the exit status.

    The library chooses the pipeline: tables stream through the compiled plan (with
    ``--audit`` the run is stored while it is scored); TOML evidence, waivers and the
    reports that need every reason (JSON) or status (the workbook) score unit by unit.
    """
    from ..pipeline import columnar_plan, score_run
    from ..report.json_memo import fast_path_for
    from ..report.render import rank_report, score_report
    from ..scoring.parallel import terminal_progress

    rb = _rulebook(args)
    waivers = _waivers(args, rb)
    surveys = _surveys(args, rb)
    # The score report in JSON carries every reason: it is scored unit by unit, in bounded
    # memory (json_stream). With --audit a table is first scored through the columns, which
    # store the run as they go; the JSON is then made from the same files. The rank report
    # in JSON holds what the columns hold, so a table streams for it.
    audited = bool(getattr(args, "audit", None))
    score_json = args.format == "json" and render is score_report
    plan = (
        None
        if waivers is not None or (score_json and not audited and not fast_path_for(rb))
        else columnar_plan(rb, args.evidence)
    )
    if plan is not None:
        return _report_columnar(args, rb, plan, render, surveys)
    if score_json and not audited:
        return _report_json(args, rb, waivers, surveys)
    run = score_run(
        rb,
        args.evidence,
        waivers=waivers,
        surveys=surveys,
        strict=args.strict,
        ignore_columns=getattr(args, "ignore_columns", False),
        full=args.format in ("json", "xlsx"),
        progress=terminal_progress("评分"),
    )
    _tell(run.warnings, run.rejected)
    if args.format == "xlsx":
        _emit_workbook(args, run.workbook)
    elif args.format == "parquet":
        _emit_parquet(args, run, "rank" if render is rank_report else "score")
    else:
        _emit(args, _render(args, render, rb, run.ranked, run.rejected))
    _audit(args, rb, [r.result for r in run.ranked], run.rejected)
    return EXIT_REJECTED if run.rejected else EXIT_OK


def _report_json(
    args: argparse.Namespace,
    rb: Rulebook,
    waivers: WaiverSet | None,
    surveys: SurveyData | None,
) -> int:
    """``score --format json`` in bounded memory (issue 12): every unit scored by the exact
    engine in chunks, its object spooled, then the document written in rank order."""
    from ..report.json_stream import spool_score_json
    from ..scoring.parallel import terminal_progress

    with spool_score_json(
        rb,
        args.evidence,
        strict=args.strict,
        ignore_columns=getattr(args, "ignore_columns", False),
        waivers=waivers,
        surveys=surveys,
        progress=terminal_progress("评分", percent=True),
    ) as spool:
        _tell(spool.warnings, spool.rejected)
        out: _Output | None = getattr(args, "out", None)
        if out is None:
            with _to_stdout():
                spool.write(sys.stdout)
                sys.stdout.flush()
        else:
            try:
                # The document's bytes as they are, where a text file translates no newlines.
                if os.linesep == "\n":
                    spool.write_bytes(out.binary())
                else:
                    spool.write(out.text(False))
            except OSError as exc:
                raise _UsageError(
                    _("cannot write {path}: {error}").format(
                        path=out.path, error=exc.strerror or exc
                    )
                ) from None
        rejected = spool.rejected
    return EXIT_REJECTED if rejected else EXIT_OK


def _report_columnar(
    args: argparse.Namespace,
    rb: Rulebook,
    plan: Plan,
    render: Callable[..., str],
    surveys: SurveyData | None = None,
) -> int:
    """Tables streamed through the compiled plan (issue 5), by :func:`~fulian_eval.score_run`.

    A CSV report's (temporary) file is opened before scoring starts, so a path that
    cannot be written fails at once; with ``--audit`` the run is then stored while
    it is scored and committed while the report is written.
    """
    from .. import audit
    from ..audit.sink import AuditSink, audit_bodies
    from ..pipeline import score_run
    from ..report.render import rank_report
    from ..scoring.parallel import terminal_progress

    out: IO[str] | None = None
    if args.format == "csv" and args.out is not None:
        out = args.out.text(True)
    sink = None
    if getattr(args, "audit", None) and AuditSink.available():
        # The run is stored while it is scored, from a second process (records in input order).
        def start() -> tuple[audit.RunWriter, list[str]]:
            files = audit.read_files(args.evidence)
            writer = audit.start_run(
                args.audit,
                rulebook=rb,
                evidence_files=files,
                command=_COMMAND_LINE[0],
                actor=args.actor,
                options=_audit_options_of(args),
                survey_files=_survey_files(args),
            )
            return writer, [p for p, _ in files]

        sink = AuditSink(args.audit, start, plan)
    kind = "rank" if render is rank_report else "score"
    closing = contextlib.ExitStack()
    try:
        run = score_run(
            rb,
            args.evidence,
            strict=args.strict,
            ignore_columns=getattr(args, "ignore_columns", False),
            progress=terminal_progress("评分", percent=True),
            sink=sink,
            plan=plan,
            surveys=surveys,
            json=kind == "score" and args.format == "json",
        )
        closing.callback(run.close)  # the JSON objects' spool files, if any
        _tell(run.warnings, run.rejected)
        if sink is not None and out is not None:
            sink.end(run.rejected)  # the writer commits while the report is written
        if args.format in ("csv", "json"):  # streamed (score JSON: its objects spooled as scored)
            if args.out is None:
                with _to_stdout():
                    run.report(kind, args.format, sys.stdout)
                    sys.stdout.flush()
            else:
                try:
                    if run.json_spool is not None and os.linesep == "\n":
                        # the document's bytes as they are, where a text file translates no newlines
                        run.json_spool.write_bytes(args.out.binary())
                    else:
                        run.report(kind, args.format, out or args.out.text(False))
                except OSError as exc:
                    raise _UsageError(
                        _("cannot write {path}: {error}").format(
                            path=args.output, error=exc.strerror or exc
                        )
                    ) from None
        elif args.format == "xlsx":
            _emit_workbook(args, run.workbook)
        elif args.format == "parquet":
            _emit_parquet(args, run, kind)
        else:
            _emit(args, _render(args, render, rb, run.ranked, run.rejected))
        if sink is not None:
            if out is None:
                sink.end(run.rejected)
            done = sink.result()
            _stored(done.run, args.audit, done.head)
    except BaseException:
        if sink is not None:
            sink.abort()  # stops the writer: the run is not stored, unless its commit was already done
        raise
    finally:
        closing.close()
    if sink is None and getattr(args, "audit", None):
        files = audit.read_files(args.evidence)
        enc = audit.UnitBodies(rb, [p for p, _ in files])
        assert run.table is not None
        _audit(
            args,
            rb,
            [],
            run.rejected,
            bodies=audit_bodies(run.table, run.ranking, enc),
            files=files,
        )
    return EXIT_REJECTED if run.rejected else EXIT_OK


def _audit_options_of(args: argparse.Namespace) -> dict[str, Any]:
    """The run options the audit trail keeps."""
    return {
        k: v
        for k, v in (
            ("strict", args.strict),
            ("ignore_columns", getattr(args, "ignore_columns", False)),
            ("format", args.format),
            ("waivers", getattr(args, "waivers", None)),
            ("survey", getattr(args, "survey", None)),
        )
        if v not in (None, False)
    }


def _survey_files(args: argparse.Namespace) -> list[tuple[str, bytes]]:
    """(path, bytes) of every ``--survey`` table, for the audit store (replay reads them)."""
    return [(p, _input_bytes(p, "a survey table")) for p in getattr(args, "survey", None) or []]


def _audit(
    args: argparse.Namespace,
    rb: Rulebook,
    results: Iterable[UnitResult | UnitSummary],
    rejected: Sequence[Rejection],
    bodies: Iterable[str] | None = None,
    files: list[tuple[str, bytes]] | None = None,
) -> None:
    """Append the run to the audit store named by --audit, whole or not at all."""
    from .. import audit

    if not getattr(args, "audit", None):
        return
    options = _audit_options_of(args)
    waivers_file = None
    if getattr(args, "waivers", None):
        waivers_file = (
            args.waivers,
            _input_bytes(args.waivers, N_("a waiver file")),
            args.today or _dt.date.today(),
        )
    done = audit.append_run(
        args.audit,
        rulebook=rb,
        results=results,
        evidence_files=files if files is not None else audit.read_files(args.evidence),
        command=_COMMAND_LINE[0],
        actor=args.actor,
        options=options,
        rejected=rejected,
        waivers_file=waivers_file,
        survey_files=_survey_files(args),
        bodies=bodies,
    )
    _stored(done.run, args.audit, done.head)


def _stored(run: int, store: str, head: str) -> None:
    print(
        _("audit: run {run} stored in {store}; head {head}").format(
            run=run, store=store, head=head
        ),
        file=sys.stderr,
    )


def cmd_score(args: argparse.Namespace) -> int:
    from ..report.render import score_report

    return _report(args, score_report)


def cmd_rank(args: argparse.Namespace) -> int:
    from ..analysis.sensitivity import sensitivity
    from ..report.render import rank_report
    from ..report.workbook import score_workbook

    if args.sensitivity is None:
        return _report(args, rank_report)
    if args.format == "parquet":
        raise _UsageError(
            _(
                "--sensitivity adds best and worst places, which the Parquet report does not hold; write --format csv or xlsx"
            )
        )
    rb, es = _load(args)
    waivers = _waivers(args, rb)
    ranked = _ranked(rb, es, waivers)
    sens = sensitivity(rb, [r.result for r in ranked], args.sensitivity, seed=args.seed)
    if not sens.exhaustive:
        print(_("sensitivity: {searched}").format(searched=sens.searched), file=sys.stderr)
    if args.format == "xlsx":
        _emit_workbook(
            args, lambda f: score_workbook(rb, ranked, es.rejected, es.warnings, f, sens)
        )
    else:
        _emit(
            args,
            _render(
                args,
                lambda rb_, ranked_, rej, fmt: rank_report(rb_, ranked_, rej, fmt, sens),
                rb,
                ranked,
                es.rejected,
            ),
        )
    _audit(args, rb, [r.result for r in ranked], es.rejected)
    return _status(es)


def cmd_explain(args: argparse.Namespace) -> int:
    from ..report.render import explain_report, gains_report
    from ..report.workbook import gains_workbook, record_workbook
    from ..scoring.exact import gains

    rb, es = _load(args)
    ranked = _ranked(rb, es, _waivers(args, rb))
    if args.role is not None:  # by id or by title (SPEC §10.5)
        args.role = rb.roles.resolve(args.role) or args.role
    matches = [
        r
        for r in ranked
        if r.result.unit.id == args.unit and (args.role is None or r.result.role == args.role)
    ]
    if not matches and args.role is not None and any(r.result.unit.id == args.unit for r in ranked):
        roles = sorted(
            {
                f"{r.result.role}（{rb.roles.title(r.result.role)}）"
                for r in ranked
                if r.result.unit.id == args.unit
            }
        )
        raise _UsageError(
            _("unit '{unit}' has no '{role}' assessment; it has: {roles}").format(
                unit=args.unit, role=args.role, roles=", ".join(roles)
            )
        )
    if not matches:
        rejected = [r for r in es.rejected if r.unit == args.unit]
        if rejected:
            raise _UsageError(
                _("unit '{unit}' was rejected:\n{error}").format(
                    unit=args.unit, error=rejected[0].error
                )
            )
        known = sorted({r.result.unit.id for r in ranked})
        from ..errors import did_you_mean

        raise _UsageError(
            _("no unit '{unit}' in the evidence{hint}; units: {units}").format(
                unit=args.unit,
                hint=did_you_mean(args.unit, known),
                units=", ".join(known[:20]) + (" …" if len(known) > 20 else ""),
            )
        )
    r = matches[0]
    if args.item is not None and all(i.id != args.item for i in r.result.items):
        from ..errors import did_you_mean

        ids = [i.id for i in r.result.items]
        raise _UsageError(
            _("no item '{item}'{hint}; items: {items}").format(
                item=args.item, hint=did_you_mean(args.item, ids), items=", ".join(ids)
            )
        )
    if args.format == "xlsx":
        if args.gains:
            _emit_workbook(args, lambda f: gains_workbook(r, gains(rb, r.result), f))
        else:
            _emit_workbook(args, lambda f: record_workbook(rb, r, args.item, f))
        return EXIT_OK
    if args.gains:
        text = _render(args, gains_report, r, gains(rb, r.result))
    else:
        text = _render(args, lambda rb_, r_, fmt: explain_report(rb_, r_, fmt, args.item), rb, r)
    _emit(args, text)
    return EXIT_OK


def cmd_sheets(args: argparse.Namespace) -> int:
    from . import sheets as _sheets

    rb, es = _load(args)
    _emit(args, _sheets.render(args, rb, es, _ranked(rb, es, _waivers(args, rb))))
    return _status(es)


def cmd_crosscheck(args: argparse.Namespace) -> int:
    from ..analysis.crosscheck import config_of, crosscheck, crosscheck_report
    from ..report.workbook import crosscheck_workbook
    from ..scoring.exact import score

    rb, es = _load(args)
    results = [score(rb, ev) for ev in es.evidence]
    cc = crosscheck(rb, results, config_of(rb))
    if args.format == "xlsx":
        _emit_workbook(args, lambda f: crosscheck_workbook(rb, cc, f))
    else:
        _emit(args, crosscheck_report(rb, cc, args.format))
    _audit(args, rb, results, es.rejected)
    return _status(es)


def cmd_audit(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .. import audit

    action = args.audit_command
    if action == "verify":
        result = audit.verify(args.store, args.head)
        _say(result.message if result.ok else _("FAILED: {message}").format(message=result.message))
        if result.ok:
            _say(_("head {head}").format(head=result.head))
        return EXIT_OK if result.ok else EXIT_REJECTED
    if action == "head":
        _say(audit.head(args.store))
        return EXIT_OK
    if action == "runs":
        rows = [
            [r.run, _local_time(r.time), r.actor, r.rulebook, r.units, r.rejected, r.command]
            for r in audit.runs(args.store)
        ]
        _say(
            tabulate(
                rows,
                headers=[
                    _("run"),
                    _("time"),
                    _("actor"),
                    _("rulebook"),
                    _("units"),
                    _("rejected"),
                    _("command"),
                ],
                disable_numparse=True,
            )
        )
        return EXIT_OK
    if action == "replay":
        diffs = audit.replay(args.store, args.run)
        for d in diffs:
            _say(str(d))
        _say(
            ngettext("replay: {n} difference", "replay: {n} differences", len(diffs)).format(
                n=len(diffs)
            )
        )
        return EXIT_REJECTED if diffs else EXIT_OK
    if action == "export":
        if args.out is None:
            with _to_stdout():
                n = audit.export(args.store, sys.stdout, blobs=args.blobs)
        else:
            try:
                n = audit.export(
                    args.store,
                    args.out._open("w", encoding="utf-8", newline="\n"),
                    blobs=args.blobs,
                )
            except OSError as exc:
                raise _UsageError(
                    _("cannot write {path}: {error}").format(
                        path=args.output, error=exc.strerror or exc
                    )
                ) from None
        if args.output:
            print(
                ngettext("exported {n} line to {path}", "exported {n} lines to {path}", n).format(
                    n=n, path=args.output
                ),
                file=sys.stderr,
            )
        return EXIT_OK
    # show
    if args.format == "json":
        with (
            audit.AuditStore.open(args.store, create=False) as s,
            audit.damaged_as_error(args.store),
        ):
            header = s.header(args.run)
        if header.get("draw") and args.unit is None:  # a plan or sample: what was drawn
            _say(json.dumps(header.get("result"), ensure_ascii=False, indent=1))
            return EXIT_OK
        records = audit.show(args.store, args.run, args.unit)
        if not records:
            raise _UsageError(
                _("run {run} has no unit '{unit}'").format(run=args.run, unit=args.unit)
                if args.unit
                else _("no run {run}").format(run=args.run)
            )
        _say(json.dumps(records, ensure_ascii=False, indent=1))
        return EXIT_OK
    return _audit_sheet(args)


def _local_time(stored: str) -> str:
    """A stored time (ISO 8601 with its offset) in this machine's time zone: ``2026-12-01 21:37:05+08:00``."""
    try:
        when = _dt.datetime.fromisoformat(stored)
    except ValueError:
        return stored
    if when.tzinfo is None:
        return stored
    return when.astimezone().isoformat(sep=" ", timespec="seconds")


def _audit_sheet(args: argparse.Namespace) -> int:
    """``audit show``: the run's score sheet, or one unit's record sheet, scored again from the stored files.

    Reasons are not stored; they come from scoring the stored rulebook and evidence
    again. If that no longer gives what the run stored (``audit replay``), the
    sheet is still printed, with a warning, and the exit status is 1.
    """
    from .. import audit
    from ..analysis.rank import rank
    from ..report.render import explain_report, score_report

    with audit.AuditStore.open(args.store, create=False) as s, audit.damaged_as_error(args.store):
        header = s.header(args.run)
    info = next(r for r in audit.runs(args.store) if r.run == args.run)
    if header.get("draw"):
        raise _UsageError(
            _(
                "run {run} is a {draw} draw, not a scoring run: it has no score sheet; 'audit show {store} {run} --format json' prints what was drawn"
            ).format(run=args.run, draw=header["draw"], store=args.store)
        )
    res, diffs = audit.rescore_compared(args.store, args.run)
    rb = res.rulebook
    ranked = rank(rb, list(res.results))
    fmt = str(args.format)
    if getattr(args, "role", None) is not None:  # by id or by title (SPEC §10.5)
        args.role = rb.roles.resolve(args.role) or args.role
    if args.unit is None:
        text = score_report(rb, ranked, res.rejected, fmt)
    else:
        matches = [
            r
            for r in ranked
            if r.result.unit.id == args.unit and (args.role is None or r.result.role == args.role)
        ]
        if not matches:
            from ..errors import did_you_mean

            roles = sorted(
                {
                    f"{r.result.role}（{rb.roles.title(r.result.role)}）"
                    for r in ranked
                    if r.result.unit.id == args.unit
                }
            )
            if roles:
                raise _UsageError(
                    _(
                        "run {run}: unit '{unit}' has no '{role}' assessment; it has: {roles}"
                    ).format(run=args.run, unit=args.unit, role=args.role, roles=", ".join(roles))
                )
            known = sorted({r.result.unit.id for r in ranked})
            raise _UsageError(
                _("run {run} has no unit '{unit}'{hint}; units: {units}").format(
                    run=args.run,
                    unit=args.unit,
                    hint=did_you_mean(args.unit, known),
                    units=", ".join(known[:20]) + (" …" if len(known) > 20 else ""),
                )
            )
        text = explain_report(rb, matches[0], fmt)
    note = (
        f"审计存储 {args.store} 第{args.run}次运行 · {_local_time(info.time)} · {info.actor}\n"
        f"由存储的考核细则与资料重新计算（{info.command}）\n"
    )
    if text.startswith("<!doctype html>"):  # a whole document: the note goes inside its body
        import html

        text = text.replace("<body>\n", f'<body>\n<p class="sub">{html.escape(note)}</p>\n', 1)
    elif fmt != "csv":
        text = note + text
    diffs = [d for d in diffs if args.unit is None or d.unit in ("", args.unit)]
    for d in diffs:
        _warn(d)
    if diffs:
        _warn(
            ngettext(
                "run {run} scores differently now than it was stored ({n} difference, see 'audit replay'); the sheet shows the result scored now",
                "run {run} scores differently now than it was stored ({n} differences, see 'audit replay'); the sheet shows the result scored now",
                len(diffs),
            ).format(run=args.run, n=len(diffs))
        )
    _emit(args, text)
    return EXIT_REJECTED if diffs else EXIT_OK


def _names(units: Sequence[sampling.UnitRow]) -> dict[str, str]:
    return {u.unit: u.name for u in units if u.name}


def _input_bytes(path: str, what: str) -> bytes:
    """An input file's bytes for the audit store, read as every input is (regular files only, bounded)."""
    from ..io.tables import FileProblem, read_bounded

    try:
        return read_bounded(Path(path), what=what)
    except OSError as exc:
        raise _UsageError(
            _("cannot read {path}: {error}").format(path=path, error=exc.strerror)
        ) from None
    except FileProblem as exc:
        raise _UsageError(_("cannot read {path}: {error}").format(path=path, error=exc)) from None


def _audit_draw(
    args: argparse.Namespace, kind: str, result: dict[str, object], options: dict[str, object]
) -> None:
    from .. import audit

    if not args.audit:
        return
    data = _input_bytes(args.units, N_("a units file"))
    done = audit.append_draw(
        args.audit,
        kind=kind,
        units_file=(args.units, data),
        seed=args.seed,
        result=result,
        command=_COMMAND_LINE[0],
        actor=args.actor,
        options=options,
    )
    _stored(done.run, args.audit, done.head)


def cmd_plan(args: argparse.Namespace) -> int:
    from ..analysis import sampling

    units = sampling.read_units(args.units)
    drawn = sampling.plan(units, args.seed)
    _emit(args, sampling.plan_report(drawn, args.format, _names(units)))
    _audit_draw(args, "plan", sampling.plan_json(drawn), {})
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    from ..analysis import sampling

    units = sampling.read_units(args.units)
    try:
        drawn = sampling.sample(units, args.fraction, args.seed, args.min_per_group)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    _emit(args, sampling.sample_report(drawn, args.format, _names(units)))
    _audit_draw(
        args,
        "sample",
        sampling.sample_json(drawn),
        {"fraction": args.fraction, "min_per_group": args.min_per_group},
    )
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    from . import template

    return template.cmd_template(
        args, _rulebook(args)
    )  # _rulebook: -o is no file of the extends chain


_COMMANDS = {
    "validate": cmd_validate,
    "score": cmd_score,
    "rank": cmd_rank,
    "explain": cmd_explain,
    "crosscheck": cmd_crosscheck,
    "plan": cmd_plan,
    "sample": cmd_sample,
    "audit": cmd_audit,
    "template": cmd_template,
    "sheets": cmd_sheets,
}

_COMMAND_LINE = [""]  # the command as typed, for the audit trail


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    before = _use_language(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        _COMMAND_LINE[0] = "fulian-eval " + shlex.join(sys.argv[1:] if argv is None else list(argv))
        with (
            quiet_gc()
        ):  # no cyclic-GC passes over the run's long-lived objects; as before afterwards
            return _main(args)
    finally:
        set_language(before)  # a library caller's choice, as it was


def _main(args: argparse.Namespace) -> int:
    # What only some commands need is imported where it is used, so `validate` starts fast;
    # an error class an except clause names is imported only when an error is being handled.
    from ..errors import FulianEvalError, RulebookError

    args.out = None
    try:
        try:
            _guard(args)  # before anything is read or written
            if hasattr(args, "format"):
                args.format = _format_of(args, _choices(args))
            if getattr(args, "format", None) == "xlsx" and not args.output:
                raise _UsageError(
                    _("--format xlsx writes a workbook: give it a file with -o FILE.xlsx")
                )
            if getattr(args, "format", None) == "parquet" and not args.output:
                raise _UsageError(_(_PARQUET_NEEDS_FILE))
            if getattr(args, "format", None) == "pdf":
                if not args.output:
                    raise _UsageError(_(_PDF_NEEDS_FILE))
                from ..report.pdf import require_chromium

                require_chromium()  # before anything is scored
            if getattr(args, "waivers", None):
                _readable(args.waivers, _("waiver file"))
            if getattr(args, "output", None):
                args.out = _Output(args.output)
            code = _COMMANDS[args.command](args)
            with _to_stdout():
                sys.stdout.flush()
        except BaseException:
            if args.out is not None:
                args.out.discard()
            raise
        if args.out is not None:
            args.out.commit()
        return code
    except _waiver_error() as exc:
        return _problems(_("invalid waiver file {path}").format(path=exc.file or args.waivers), exc)
    except _survey_error() as exc:
        return _problems(_("invalid survey table {path}").format(path=exc.file), exc)
    except _units_error() as exc:
        units = getattr(args, "units", None)
        return _problems(
            _("invalid units file {path}").format(path=units) if units else _("invalid units"), exc
        )
    except RulebookError as exc:
        return _problems(_("invalid rulebook"), exc)
    except (_UsageError, FulianEvalError) as exc:
        print(f"fulian-eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``… | head``): not an error. Later writes (the
        # interpreter's own flush at exit) go nowhere instead of failing.
        _stdout_to_devnull()
        if getattr(args, "audit", None):
            print(
                _(
                    "fulian-eval: standard output was closed before the report was written; the run was not stored in {store}"
                ).format(store=args.audit),
                file=sys.stderr,
            )
            return EXIT_USAGE
        return EXIT_OK
    except KeyboardInterrupt:
        print(_("fulian-eval: interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the promise: no traceback reaches a user
        print(
            _(
                "fulian-eval: internal error: {error}\nThis is a bug in fulian-eval; please report it with the command you ran."
            ).format(error=f"{type(exc).__name__}: {exc}"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _waiver_error() -> type[WaiverError]:
    """A bad waiver file's error class, imported only when an error is being handled."""
    from ..io.waivers import WaiverError

    return WaiverError


def _survey_error() -> type[SurveyError]:
    """A bad survey table's error class, imported only when an error is being handled."""
    from ..io.surveys import SurveyError

    return SurveyError


def _units_error() -> type[RulebookError]:
    """A bad units file's error class, imported only when an error is being handled."""
    from ..analysis.sampling import UnitsError

    return UnitsError


def _choices(args: argparse.Namespace) -> Sequence[str]:
    """The formats the command writes (its --format choices)."""
    from ..model.formats import SAMPLE_FORMATS, SHEETS_FORMATS

    if args.command in ("plan", "sample"):
        return SAMPLE_FORMATS
    if args.command == "crosscheck":
        return _CROSSCHECK_FORMATS
    if args.command == "rank":
        return _RANK_FORMATS
    if args.command == "score":
        return _SCORE_FORMATS
    if args.command == "sheets":
        return SHEETS_FORMATS
    return FORMATS


def _problems(heading: str, exc: RulebookError, *, parenthesised: bool = True) -> int:
    """Every problem of a file on stderr under ``heading (N problems):`` (or ``heading N problems``)."""
    n = len(exc.problems)
    count = ngettext("{n} problem", "{n} problems", n).format(n=n)
    print(
        _("{heading} ({count}):").format(heading=heading, count=count)
        if parenthesised
        else _("{path} {count}").format(path=heading, count=count),
        file=sys.stderr,
    )
    for p in exc.problems:
        print(f"  {p}", file=sys.stderr)
    return EXIT_USAGE


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (tests capture it): nothing to redirect
        pass
