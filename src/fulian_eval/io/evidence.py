"""Loading evidence (SPEC §3): TOML per unit, CSV/XLSX tables of many units.

Values are converted to their field's unit once, here. A bad value rejects only
its unit, with a message naming file, key or row, and value; every other unit
is still loaded.
"""

from __future__ import annotations

import csv
import datetime as _dt
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from ..errors import EvidenceError, FulianEvalError, Problem, did_you_mean
from ..kinds import DeductRule, ManualRule
from ..lang.expr import Call, Const, Expr, Name, Node, option_hint, walk
from ..lang.messages import _
from ..lang.text import decimal_text as _fmt
from ..lang.units import UnitError, conversion_factor
from ..lang.values import (
    MAX_EXPONENT,
    TomlProblem,
    ValueProblem,
    loads_toml,
    parse_bool,
    parse_number,
    parse_set,
)
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Assessment, Evidence, Rulebook, UnitInfo
from .locate import Locator, split_keys
from .surveys import SurveyData
from .tables import (
    BadCell,
    BadRow,
    FileProblem,
    decode_text,
    named_width,
    nfc,
    read_bounded,
    read_csv,
    read_xls,
    read_xlsx,
    report_kind,
)

__all__ = ["EvidenceSet", "NoEvidence", "Rejection", "load_evidence", "parse_evidence", "read_rows"]

ROLES = DEFAULT_ROLES.ids  # the default roles; a rulebook's own are rb.roles (model/roles.py)
#: The roles' Chinese titles (SPEC §10.5 defaults); a role may be written by id or by title.
ROLE_TITLES = DEFAULT_ROLES.titles
_PLAIN_NUMBER_TYPES = frozenset({"count", "number", "quantity"})
_META_COLUMNS = {"unit", "name", "group", "kind", "role", "assessor", "date"}
#: The meta columns as a Chinese table heads them (SPEC §10.7).
META_TITLES = {
    "单位编码": "unit",
    "单位名称": "name",
    "片区": "group",
    "组别": "group",
    "角色": "role",
    "评审人": "assessor",
}
_POINTS_PREFIX = "points:"
#: A manual item's points column headed in Chinese, as the form (``template``) heads it:
#: ``得分：ITEM``, ITEM the item's full id or its title.
_POINTS_ZH = re.compile(r"^得分\s*[:：]\s*(?P<item>.+?)\s*$")
#: A unit after a column's name: ``room_area[m^2]``, ``活动室面积（平方米）``, ``面积(m2)``.
_HEADER_UNIT = (
    re.compile(r"^\s*(?P<name>.+?)\s*\[(?P<unit>[^\[\]]*)\]\s*$"),
    re.compile(r"^\s*(?P<name>.+?)\s*（(?P<unit>[^（）()]*)）\s*$"),
    re.compile(r"^\s*(?P<name>.+?)\s*\((?P<unit>[^（）()]*)\)\s*$"),
)


class NoEvidence(FulianEvalError, ValueError):
    """An evidence path that gives nothing to load (an empty folder, only .docx files,
    only fulian-eval's own reports): a usage error, naming the path."""


@attrs.frozen(kw_only=True)
class Rejection:
    """A unit (or a whole file) that could not be scored, and why."""

    source: str
    error: str
    unit: str = ""
    problems: tuple[Problem, ...] = ()


@attrs.frozen(kw_only=True)
class EvidenceSet:
    """What loading gave: accepted evidence, rejections, and warnings that lost nothing."""

    evidence: tuple[Evidence, ...]
    rejected: tuple[Rejection, ...] = ()
    warnings: tuple[str, ...] = ()


# ----------------------------------------------------------------- one record


class EvidenceRecord:
    """Turns one unit's raw values into Evidence, collecting problems."""

    def __init__(
        self, rb: Rulebook, source: str, strict: bool, where: str, locate: Locator | None = None
    ) -> None:
        self.rb = rb
        self.locate = locate
        self.source = source
        self.strict = strict
        self.where = where  # "values" for TOML, "column" for tables
        self.problems: list[Problem] = []
        self.flags: list[str] = []
        #: Fields given a value, readable or not (one that is not has its own problem).
        self.given: set[str] = set()

    def bad(self, place: str, message: str) -> None:
        line = None
        if self.locate is not None:
            line = self.locate.line_of(tuple(split_keys(place)))
        self.problems.append(Problem(file=self.source, path=place, line=line, message=message))

    def value(self, name: str, raw: Any, place: str, header_unit: str = "") -> Any:
        spec = self.rb.fields[name]
        self.given.add(name)
        if (
            spec.type in _PLAIN_NUMBER_TYPES
            and raw.__class__ is str
            and raw.isdigit()
            and raw.isascii()
            and len(raw) <= MAX_EXPONENT
        ):  # longer: parse_number bounds it
            # The common case, kept cheap: a plain whole number, never negative.
            if header_unit:
                return Fraction(int(raw)) * conversion_factor(header_unit, spec.unit)
            return Fraction(int(raw))
        try:
            if spec.type == "bool":
                return parse_bool(raw)
            if spec.type == "set":
                return self.members(name, raw)
            if spec.type == "text":
                if not isinstance(raw, str | int | Decimal):
                    raise ValueProblem(f"expected text, got {raw!r}")
                return str(raw)
            if spec.type == "choice":
                return self.choice(name, raw, place)
            value, approx = parse_number(raw, header_unit or spec.unit)
            if header_unit:
                value *= conversion_factor(header_unit, spec.unit)
        except ValueProblem as exc:
            self.bad(place, f"{exc}{_unit_hint(spec.unit)}")
            return None
        except UnitError as exc:
            self.bad(place, f"{exc}{_unit_hint(spec.unit)}")
            return None
        if spec.type in ("count", "quantity") and value < 0:
            what = "count" if spec.type == "count" else "quantity"
            self.bad(
                place,
                (
                    _("negative count {value}; expected a number ≥ 0")
                    if what == "count"
                    else _("negative quantity {value}; expected a number ≥ 0")
                ).format(value=_show_raw(raw)),
            )
            return None
        if spec.type == "count" and value.denominator != 1:
            self.bad(
                place,
                _("{value} is not a whole number; a count must be whole").format(
                    value=_show_raw(raw)
                ),
            )
            return None
        if approx:
            if self.strict:
                self.bad(
                    place,
                    _("approximate figure {value}; --strict needs exact figures").format(
                        value=_show_raw(raw)
                    ),
                )
                return None
            self.flags.append(
                f"约数: {name} = {_show_raw(raw)}，按 {_fmt(value)} 计分 (approximate)"
            )
        return value

    def choice(self, name: str, raw: Any, place: str) -> str | None:
        """A choice field's option (SPEC §10.6): the value as written or through an alias;
        anything else rejects the unit, naming the options and the nearest one."""
        spec = self.rb.fields[name]
        written = (
            nfc(str(raw)).strip()
            if isinstance(raw, str | int | Decimal) and not isinstance(raw, bool)
            else None
        )
        got = spec.choice(written) if written is not None else None
        if got is not None:
            return got
        shown = _show_raw(raw) if written is None else f"'{written}'"
        hint = option_hint(written, spec.options) if written is not None else ""
        if not hint and written is not None:
            hint = option_hint(written, [a for a, _ in spec.aliases])
        self.bad(
            place,
            f"{shown} 不是“{spec.title or name}”的选项{hint}；可选：{'、'.join(spec.options)}"
            f" (not an option of choice field '{name}')",
        )
        return None

    def members(self, name: str, raw: Any) -> frozenset[str]:
        """A set field's members; one that is not a name the rulebook asks for but one
        edit away from one it lacks is flagged with a did-you-mean (it still counts as absent)."""
        wanted = set_names(self.rb).get(name, ())
        got = parse_set(raw, tuple(w for w in wanted if _SEPARATOR.search(w)))
        if wanted:
            for m in sorted(got):
                if m in wanted:
                    continue
                near = next((w for w in wanted if w not in got and _one_edit(m, w)), None)
                if near is not None:
                    self.flags.append(
                        f"名称近似: {name} 中的 '{m}' 不是要求的名称，按缺少计；"
                        f"是否应为 '{near}'？(not a required name; did you mean '{near}'?)"
                    )
        return got

    def points(self, item_id: str, raw: Any, place: str) -> Fraction | None:
        try:
            item = self.rb.item(item_id)
        except KeyError:
            manual = [i.id for i in self.rb.items() if i.kind == "manual"]
            self.bad(
                place,
                _("unknown item '{item}'{hint}; manual items: {items}").format(
                    item=item_id,
                    hint=did_you_mean(item_id, manual),
                    items=", ".join(manual) or _("none"),
                ),
            )
            return None
        if not isinstance(item.rule, ManualRule):
            self.bad(
                place,
                _(
                    "'{item}' is a {kind} item, scored from values; only manual items take [points]"
                ).format(item=item_id, kind=item.kind),
            )
            return None
        try:
            value, approx = parse_number(raw, "")
        except ValueProblem as exc:
            self.bad(place, str(exc))
            return None
        if approx:
            self.bad(place, _("points must be exact, got {value}").format(value=_show_raw(raw)))
            return None
        if value < item.floor or value > item.max:
            self.bad(
                place,
                _("{value} points is outside [{floor}, {max}] for '{item}'").format(
                    value=_fmt(value), floor=_fmt(item.floor), max=_fmt(item.max), item=item_id
                ),
            )
            return None
        step = item.rule.step
        if (value / step).denominator != 1:
            self.bad(
                place,
                _("{value} is not a multiple of {step} (the step of '{item}')").format(
                    value=_fmt(value), step=_fmt(step), item=item_id
                ),
            )
            return None
        return value


_SEPARATOR = re.compile(r"[;；、,，/\n\r]")
_SET_NAMES: dict[int, tuple[Rulebook, dict[str, tuple[str, ...]]]] = {}


def _exprs(rb: Rulebook) -> Iterator[Expr]:
    for d in rb.derived:
        yield d.expr
    for c in rb.consistency:
        yield c.when
    for cat in rb.categories:
        if cat.applies_when is not None:
            yield cat.applies_when
        for item in cat.items:
            if item.applies_when is not None:
                yield item.applies_when
            rule: Any = item.rule  # every kind's rule is an attrs class
            for v in attrs.asdict(rule, recurse=False).values() if attrs.has(type(rule)) else ():
                if isinstance(v, Expr):
                    yield v
            extra = getattr(item, "requires", None)
            if isinstance(extra, Expr):
                yield extra


def _has_names(tree: Node, out: dict[str, list[str]]) -> None:
    """Collect ``has(field, "name")`` calls from an expression tree."""
    for node in walk(tree):
        if isinstance(node, Call) and node.function == "has" and len(node.args) == 2:
            target, lit = node.args
            if isinstance(target, Name) and isinstance(lit, Const) and isinstance(lit.value, str):
                out.setdefault(target.name, []).append(lit.value)


def set_names(rb: Rulebook) -> dict[str, tuple[str, ...]]:
    """Each set field's required names (``deduct`` items' ``required``, ``has(field, "…")``
    in expressions), longest first; worked out once per rulebook."""
    got = _SET_NAMES.get(id(rb))
    if got is not None and got[0] is rb:
        return got[1]
    found: dict[str, list[str]] = {}
    for item in rb.items():
        if isinstance(item.rule, DeductRule) and item.rule.field and item.rule.required:
            found.setdefault(item.rule.field, []).extend(item.rule.required)
    for e in _exprs(rb):
        _has_names(e.tree, found)
    out = {
        f: tuple(sorted(set(ns), key=lambda n: (-len(n), n)))
        for f, ns in found.items()
        if f in rb.fields and rb.fields[f].type == "set"
    }
    if len(_SET_NAMES) >= 16:
        _SET_NAMES.clear()
    _SET_NAMES[id(rb)] = (rb, out)
    return out


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one inserted, deleted or replaced character."""
    if (
        a == b or abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < 3
    ):  # 标牌/门牌: too short to tell
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def _unit_hint(unit: str) -> str:
    return _(" (field unit: {unit})").format(unit=unit) if unit else ""


def _as_written(raw: Any, unit: str = "") -> str:
    """A value as a clerk wrote it, for explanations: lists joined, yes/no in words."""
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, list):
        return "、".join(str(x) for x in raw)
    text = str(raw)
    return f"{text} {unit}" if unit and text and (text[-1].isdigit()) else text


def _show_raw(raw: Any) -> str:
    return f"'{raw}'" if isinstance(raw, str) else str(raw)


def _check_role(rec: EvidenceRecord, role: Any, place: str) -> str:
    """A role by id (``self``) or by its title (``自评``, as the form's 角色 column holds it) -> its id.

    The roles are the rulebook's ``[roles]`` (SPEC §10.5), or the default four; none given is the first.
    """
    roles = rec.rb.roles
    if role is None:
        return roles.first
    got = roles.resolve(role) if isinstance(role, str) else None
    if got is None:
        rec.bad(
            place,
            _("{value} is not a role; expected one of {roles} (or {titles}){hint}").format(
                value=_show_raw(role),
                roles=", ".join(roles.ids),
                titles="、".join(roles.titles.values()),
                hint=did_you_mean(str(role), roles.names()),
            ),
        )
        return roles.first
    return got


def _finish(
    rec: EvidenceRecord,
    unit: UnitInfo,
    assessment: Assessment,
    values: dict[str, Any],
    points: dict[str, Fraction],
    raw: dict[str, str],
    surveys: SurveyData | None = None,
) -> Evidence:
    surveyed: dict[str, str] = {}
    if surveys is not None and surveys.has(unit.id, unit.name):
        # Questionnaires fill the fields this assessment does not give (SPEC §10.9),
        # before any check that a field is given.
        surveyed = surveys.fill(unit.id, unit.name, values, raw, rec.flags)
    if rec.strict:
        # A value given but refused (an approximate figure) has its own problem already.
        absent = [f for f in rec.rb.fields if f not in values and f not in rec.given]
        if absent:
            rec.bad(
                rec.where, _("--strict: no value for {fields}").format(fields=", ".join(absent))
            )
        manual = [i.id for i in rec.rb.items() if i.kind == "manual" and i.id not in points]
        if manual:
            rec.bad("points", _("--strict: no points for {items}").format(items=", ".join(manual)))
    must_fields, must_points = rec.rb.must_report
    if must_fields or must_points:
        lacking = sorted(f for f in must_fields if f not in values)
        if lacking:
            shown = "、".join(rec.rb.fields[f].title or f for f in lacking)
            rec.bad(
                rec.where,
                f"缺{shown}（{', '.join(lacking)}）：细则规定缺此资料的单位不予评分"
                '（on_missing = "reject"）',
            )
        unmarked = sorted(i for i in must_points if i not in points)
        if unmarked:
            rec.bad("points", f'无评审打分：{", ".join(unmarked)}（on_missing = "reject"）')
    if rec.problems:
        raise EvidenceError(rec.problems, rec.source)
    return Evidence(
        unit=unit,
        assessment=assessment,
        values=values,
        points=points,
        flags=tuple(rec.flags),
        source=rec.source,
        raw=raw,
        surveyed=surveyed,
    )


# ------------------------------------------------------------------------ TOML


def parse_evidence(
    rb: Rulebook,
    data: Mapping[str, Any],
    source: str = "<evidence>",
    *,
    strict: bool = False,
    warnings: list[str] | None = None,
    text: str | None = None,
    surveys: SurveyData | None = None,
) -> Evidence:
    """Build one unit's Evidence from a parsed TOML table.

    Args:
        rb: the rulebook.
        data: the parsed TOML.
        source: where it came from, for messages.
        strict: reject approximate figures, missing values and unknown keys.
        warnings: a list to append non-fatal warnings to.
        text: the TOML text, so that problems can name their line.
        surveys: questionnaires (SPEC §10.9) that fill fields the unit does not give.

    Raises:
        EvidenceError: with every problem in this unit's evidence.
    """
    rec = EvidenceRecord(rb, source, strict, "values", Locator(text) if text is not None else None)

    def unknown(place: str, msg: str) -> None:
        # Extra keys lose nothing that is scored: a warning, or a rejection with --strict.
        if strict:
            rec.bad(place, msg)
        elif warnings is not None:
            warnings.append(f"{source}: {place}: {msg}; ignored")

    for k in data:
        if (
            k == "schema"
            and isinstance(data[k], str)
            and data[k].startswith("fulian-eval/evidence")
        ):
            continue
        if k not in ("unit", "assessment", "values", "points"):
            rec.bad(
                k,
                f"unknown table '{k}'{did_you_mean(k, ['unit', 'assessment', 'values', 'points'])}; expected [unit], [assessment], [values], [points]",
            )
    u = data.get("unit")
    if not isinstance(u, dict):
        rec.bad("unit", 'missing [unit] table with at least id = "…"')
        u = {}
    uid = u.get("id")
    if not isinstance(uid, str) or not uid.strip():
        if isinstance(data.get("unit"), dict):
            rec.bad("unit.id", 'missing unit id (id = "…", a stable id such as "ningfeng")')
        uid = ""
    for k in u:
        if k not in ("id", "name", "group", "kind"):
            unknown(
                f"unit.{k}", f"unknown key '{k}'{did_you_mean(k, ['id', 'name', 'group', 'kind'])}"
            )
    unit = UnitInfo(
        id=nfc(str(uid)),
        name=nfc(str(u.get("name", ""))),
        group=nfc(str(u.get("group", ""))),
        kind=nfc(str(u.get("kind", ""))),
    )
    a = data.get("assessment", {})
    if not isinstance(a, dict):
        rec.bad("assessment", "expected a table [assessment]")
        a = {}
    for k in a:
        if k not in ("role", "assessor", "date"):
            unknown(
                f"assessment.{k}",
                f"unknown key '{k}'{did_you_mean(k, ['role', 'assessor', 'date'])}",
            )
    role = _check_role(rec, a.get("role"), "assessment.role")
    date = a.get("date")
    if isinstance(date, str):
        try:
            date = _dt.date.fromisoformat(date)
        except ValueError:
            rec.bad("assessment.date", f"'{date}' is not a date; expected YYYY-MM-DD")
            date = None
    elif isinstance(date, _dt.datetime):
        date = date.date()
    elif date is not None and not isinstance(date, _dt.date):
        rec.bad("assessment.date", f"{date!r} is not a date; expected YYYY-MM-DD")
        date = None
    assessment = Assessment(role=role, assessor=nfc(str(a.get("assessor", ""))), date=date)

    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    vals = data.get("values", {})
    if not isinstance(vals, dict):
        rec.bad("values", "expected a table [values]")
        vals = {}
    for name, v in vals.items():
        place = f"values.{name}"
        if name not in rb.fields:
            unknown(place, f"unknown field '{name}'{did_you_mean(name, rb.fields)}")
            continue
        got = rec.value(name, v, place)
        if got is not None:
            values[name] = got
            raw[name] = _as_written(v)
    pts = data.get("points", {})
    if not isinstance(pts, dict):
        rec.bad("points", 'expected a table [points] of "category.item" = points')
        pts = {}
    points: dict[str, Fraction] = {}
    for item_id, v in pts.items():
        got_pts = rec.points(item_id, v, f'points."{item_id}"')
        if got_pts is not None:
            points[item_id] = got_pts
    return _finish(rec, unit, assessment, values, points, raw, surveys)


# ---------------------------------------------------------------------- tables


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """Read a CSV, XLSX/XLSM, XLS or Parquet table: (header, [(row number, cells)]).

    Only a regular file of bounded size is read (see :mod:`fulian_eval.io.tables`); CSV
    text is UTF-8, UTF-16 (with its BOM) or GB18030/GBK, detected. A row that cannot be
    read as it stands (broken quoting) is a :class:`~fulian_eval.io.tables.BadRow`, which
    rejects that row.

    Raises:
        OSError, ImportError, ValueError (FileProblem): the file cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix == ".xls":
        return read_xls(path)
    if suffix == ".parquet":
        from .parquet import read_parquet  # numpy and pyarrow: only for a Parquet table

        return read_parquet(path)
    return read_csv(path)


_SHOWN_UNKNOWN = 10  # unknown columns named one by one; the rest in one line


def _name_key(text: str) -> str:
    """A column name as compared: NFKC (full-width brackets and letters as ASCII), no
    spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def field_names(rb: Rulebook) -> dict[str, list[tuple[str, str]]]:
    """What a column may be headed to give a field (SPEC §10.7): its id, its ``title``
    and its ``headers``, as compared (:func:`_name_key`) -> [(field, "id" | "title" |
    "header")]. More than one field under a name makes a column so headed ambiguous."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, spec in rb.fields.items():
        names = [(name, "id")]
        if spec.title:
            names.append((spec.title, "title"))
        names.extend((h, "header") for h in getattr(spec, "headers", ()) or ())
        for text, how in names:
            got = out.setdefault(_name_key(nfc(text)), [])
            if all(f != name for f, _ in got):
                got.append((name, how))
    return out


def _unique_name(
    rb: Rulebook, names: Mapping[str, list[tuple[str, str]]], field: str
) -> str | None:
    """A name that heads a column as ``field`` and no other field."""
    spec = rb.fields[field]
    for text in (field, spec.title, *(getattr(spec, "headers", ()) or ())):
        if text and len(names.get(_name_key(nfc(text)), ())) == 1:
            return str(text)
    return None


def _points_item(rb: Rulebook, text: str) -> tuple[str | None, str]:
    """The item a ``得分：…`` column gives points to: by full id, or by a manual item's title
    (one only); else (None, why)."""
    ids = {i.id for i in rb.items()}
    if text in ids:
        return text, ""
    manual = [i for i in rb.items() if i.kind == "manual"]
    hits = [i.id for i in manual if _name_key(nfc(i.title)) == _name_key(text)]
    if len(hits) == 1:
        return hits[0], ""
    if hits:
        return (
            None,
            f"{len(hits)} manual items are titled '{text}'; head it 得分：ITEM with one id ({', '.join(hits)})",
        )
    known = [*(i.title for i in manual), *(i.id for i in manual)]
    listed = "、".join(f"{i.title}（{i.id}）" for i in manual) or "none"
    return None, f"no manual item '{text}'{did_you_mean(text, known)}; manual items: {listed}"


class TableLayout:
    """What each column of a table means, worked out once per file.

    A column is a meta column (``unit`` … or 单位编码 …), a ``points:ITEM`` column, or a
    field named by its id, title or one of its ``headers``, with an optional unit in
    ``[]``, ``（）`` or ``()``. A column that is none of these rejects the table unless
    ``ignore_columns`` (then a warning). ``skip`` says why the table is not evidence
    (one of fulian-eval's own reports, or nothing but meta columns): it is skipped with
    a warning. ``exact``: a CSV table, whose rows must have a cell for every named column.
    """

    def __init__(
        self,
        rb: Rulebook,
        header: Sequence[str],
        source: str,
        strict: bool,
        exact: bool = False,
        ignore_columns: bool = False,
    ) -> None:
        header = [nfc(str(h).strip()) for h in header]
        self.width = len(header)
        self.named = named_width(header)
        self.exact = exact
        self.meta: dict[str, int] = {}
        self.fields: list[tuple[int, str, str, str]] = []  # (col, field, header unit, header)
        self.points: list[tuple[int, str, str]] = []
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.skip: str | None = None
        report = report_kind(header)
        if report is not None:
            self.skip = _("{source}: a fulian-eval {report} report, not evidence").format(
                source=source, report=report
            ) + _("; skipped")
            return
        seen: dict[tuple[str, str], tuple[int, str]] = {}
        unknown: list[tuple[int, str, str]] = []
        names = field_names(rb)
        if rb.surveys:  # a questionnaire among the evidence (SPEC §10.9) is read with --survey
            questions = {_name_key(q.question) for q in rb.surveys}
            if any(_name_key(h) in questions and _name_key(h) not in names for h in header):
                self.skip = (
                    f"{source}: 这是问卷表，不是资料，已跳过；问卷表请用 --survey 给出 "
                    "(a survey table, not evidence; skipped)"
                )
                return
        meta_titles = {_name_key(k): v for k, v in META_TITLES.items()}

        def problem(message: str) -> None:
            self.problems.append(Problem(file=source, path="header", line=1, message=message))

        def once(key: tuple[str, str], what: str, col: int, h: str) -> bool:
            if key in seen:
                c0, h0 = seen[key]
                problem(
                    f"columns {c0 + 1} ('{h0}') and {col + 1} ('{h}') both give {what}; keep one of them"
                )
                return False
            seen[key] = (col, h)
            return True

        for col, h in enumerate(header):
            if not h:
                continue
            if h in _META_COLUMNS:
                if once(("meta", h), f"the '{h}' column", col, h):
                    self.meta[h] = col
                continue
            if h.startswith(_POINTS_PREFIX):
                iid = h[len(_POINTS_PREFIX) :].strip()
                if once(("points", iid), f"the points of '{iid}'", col, h):
                    self.points.append((col, iid, h))
                continue
            key = _name_key(h)
            found = names.get(key, [])
            zh = _POINTS_ZH.match(h) if not found else None
            if zh is not None:
                item, why = _points_item(rb, zh.group("item"))
                if item is None:
                    problem(f"column '{h}': {why}")
                elif once(("points", item), f"the points of '{item}'", col, h):
                    self.points.append((col, item, h))
                continue
            hunit = ""
            name = h
            if not found and key not in meta_titles:
                for pattern in _HEADER_UNIT:
                    m = pattern.match(h)
                    if m and _name_key(m.group("name")) in names:
                        name, hunit = m.group("name"), m.group("unit").strip()
                        found = names[_name_key(name)]
                        break
                else:
                    m = next((m for m in (pt.match(h) for pt in _HEADER_UNIT) if m), None)
                    name = m.group("name") if m else h
            meta = meta_titles.get(key)
            if meta is not None and not found:
                if once(("meta", meta), f"the '{meta}' column", col, h):
                    self.meta[meta] = col
                continue
            if meta is not None or len(found) > 1:
                what = [f"field '{f}' (its {how})" for f, how in found]
                if meta is not None:
                    what.insert(0, f"the '{meta}' column")
                alts = [
                    f"'{u}' for '{f}'"
                    for f, _ in found
                    if (u := _unique_name(rb, names, f)) is not None
                ]
                hint = (
                    f"; head it {' or '.join(alts)}"
                    if alts
                    else "; give the fields titles of their own"
                )
                problem(f"column '{h}' could be {' or '.join(what)}{hint}")
                continue
            if not found:
                unknown.append((col, h, name))
                continue
            field = found[0][0]
            spec = rb.fields[field]
            if hunit:
                if spec.type not in ("count", "number", "quantity"):
                    problem(f"column '{h}': a {spec.type} field takes no unit")
                    continue
                try:
                    conversion_factor(hunit, spec.unit)
                except UnitError as exc:
                    problem(f"column '{h}': {exc}")
                    continue
            if once(("field", field), f"field '{field}'", col, h):
                self.fields.append((col, field, hunit, h))
        if (
            "unit" in self.meta
            and not self.fields
            and not self.points
            and not self.problems
            and not unknown
        ):
            self.skip = _(
                "{source}: no column is a field of the rulebook or a points: column; not evidence"
            ).format(source=source) + _("; skipped")
            return
        known = [
            *rb.fields,
            *(s.title for s in rb.fields.values() if s.title),
            *(h for s in rb.fields.values() for h in getattr(s, "headers", ()) or ()),
            *_META_COLUMNS,
            *META_TITLES,
            *(f"{_POINTS_PREFIX}{i.id}" for i in rb.items() if i.kind == "manual"),
        ]
        fix = _("; head it with a field's id or title (or --ignore-columns to leave it out)")
        for _col, h, name in unknown[:_SHOWN_UNKNOWN]:
            msg = _("column '{header}': unknown field '{name}'{hint}").format(
                header=h, name=name, hint=did_you_mean(name, known)
            )
            if ignore_columns:
                self.warnings.append(
                    _("{source}: {problem}; column ignored").format(source=source, problem=msg)
                )
            else:
                problem(msg + fix)
        if len(unknown) > _SHOWN_UNKNOWN:
            rest = unknown[_SHOWN_UNKNOWN:]
            shown = ", ".join(f"'{h}'" for _, h, _ in rest[:3])
            msg = _("{n} more columns that are not fields ({shown} …)").format(
                n=f"{len(rest):,}", shown=shown
            )
            if ignore_columns:
                self.warnings.append(
                    _("{source}: {problem}; columns ignored").format(source=source, problem=msg)
                )
            else:
                problem(msg)
        if "unit" not in self.meta:
            problem(
                _("no 'unit' column; a table needs unit, name, group, then one column per field")
            )


def split_source(source: str) -> tuple[str, int]:
    """A unit's source as (file, row): ``"town.csv row 4"`` -> ("town.csv", 4); a file
    that is one unit (``"x.toml"``) has row 0."""
    path, sep, r = source.rpartition(" row ")
    if sep and r.isdigit() and str(int(r)) == r:
        return path, int(r)
    return source, 0


def is_blank_row(cells: Sequence[Any]) -> bool:
    """A row with nothing in it (skipped); a row that could not be read is never blank."""
    return cells.__class__ is not BadRow and not any(str(c).strip() for c in cells if c is not None)


def table_evidence(
    rb: Rulebook,
    layout: TableLayout,
    source: str,
    rowno: int,
    cells: Sequence[Any],
    strict: bool,
    surveys: SurveyData | None = None,
) -> Evidence:
    src = f"{source} row {rowno}"
    rec = EvidenceRecord(rb, src, strict, "row")
    broken = isinstance(cells, BadRow)
    if broken:
        rec.bad("", cells.problem)  # type: ignore[attr-defined]
    elif layout.exact:
        n = len(cells)
        if n < layout.named:
            rec.bad(
                "",
                f"{n} cells, but the header names {layout.named} columns; give every column "
                "(an empty cell for no value)",
            )
        elif any(str(c).strip() for c in cells[layout.named :]):
            rec.bad(
                "",
                f"{n} cells, but the header names {layout.named} columns, and a cell right of the "
                "last column holds something: a comma in a cell that is not quoted?",
            )
    bad_cells: set[int] = set()

    def cell(col: int) -> Any:
        v = cells[col] if col < len(cells) else ""
        if isinstance(v, BadCell):
            if col not in bad_cells:
                bad_cells.add(col)
                h = next((h for c, _, _, h in layout.fields if c == col), None)
                h = h or next((h for c, _, h in layout.points if c == col), None)
                h = h or next((k for k, c in layout.meta.items() if c == col), str(col + 1))
                rec.bad(f"column '{h}'", v.problem)
            return ""
        return v.strip() if isinstance(v, str) else v

    def meta(name: str) -> str:
        col = layout.meta.get(name)
        if col is None:
            return ""
        v = cell(col)
        return "" if v is None else nfc(str(v))

    uid = meta("unit")
    if not uid and not broken and layout.meta["unit"] not in bad_cells:
        rec.bad("unit", _("empty unit id"))
    role = _check_role(rec, meta("role") or None, "role")
    date: _dt.date | None = None
    d = cell(layout.meta["date"]) if "date" in layout.meta else ""
    if isinstance(d, _dt.datetime):
        date = d.date()
    elif isinstance(d, _dt.date):
        date = d
    elif d:
        try:
            date = _dt.date.fromisoformat(str(d))
        except ValueError:
            rec.bad("date", f"'{d}' is not a date; expected YYYY-MM-DD")
    unit = UnitInfo(id=uid, name=meta("name"), group=meta("group"), kind=meta("kind"))
    assessment = Assessment(role=role, assessor=meta("assessor"), date=date)
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for col, name, hunit, h in layout.fields:
        v = cell(col)
        if v == "" or v is None:
            continue
        if isinstance(v, float):
            v = Decimal(repr(v))
        got = rec.value(name, v, f"column '{h}'", hunit)
        if got is not None:
            values[name] = got
            raw[name] = _as_written(v, hunit)
    points: dict[str, Fraction] = {}
    for col, item_id, h in layout.points:
        v = cell(col)
        if v == "" or v is None:
            continue
        if isinstance(v, float):
            v = Decimal(repr(v))
        got_pts = rec.points(item_id, v, f"column '{h}'")
        if got_pts is not None:
            points[item_id] = got_pts
    return _finish(rec, unit, assessment, values, points, raw, surveys)


# ----------------------------------------------------------------------- files


#: The files evidence is read from: TOML, and tables (the one list: the CLI, the pipeline and replay use it).
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".parquet")
EVIDENCE_SUFFIXES = (".toml", *TABLE_SUFFIXES)
_SUFFIXES = EVIDENCE_SUFFIXES
_TABLES = TABLE_SUFFIXES


def _expand_one(p: str | Path) -> Iterator[tuple[Path, str]]:
    path = Path(p)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.suffix.lower() in _SUFFIXES and not child.is_dir():
                yield child, str(child)
    else:
        yield path, str(p)


def expand_paths(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """Evidence paths with folders expanded (recursively, sorted); in a folder every
    entry with an evidence suffix that is not a folder, so that a FIFO or a dangling
    link there is rejected by name rather than passed over."""
    for p in paths:
        yield from _expand_one(p)


def expand_each(paths: Iterable[str | Path]) -> Iterator[tuple[str, list[tuple[Path, str]]]]:
    """Each evidence path as given, with the files it stands for (as :func:`expand_paths`)."""
    for p in paths:
        yield str(p), list(_expand_one(p))


def no_evidence(
    given: str, files: Sequence[tuple[Path, str]], skipped: Sequence[str] = ()
) -> NoEvidence:
    """The usage error for an evidence path that gave nothing to load; ``skipped``: the
    warnings that said why its tables were skipped."""
    path = Path(given)
    why = [w.removesuffix(_("; skipped")) for w in skipped]
    if path.is_dir():
        if not files:
            others = sorted({c.suffix.lower() or c.name for c in path.rglob("*") if not c.is_dir()})
            what = (
                _("only {suffixes} files in it").format(suffixes=", ".join(others[:5]))
                if others
                else _("nothing in it")
            )
            return NoEvidence(
                _(
                    "{path}: no evidence in this folder ({what}); evidence is .toml, .csv, .xlsx, .xlsm, .xls or .parquet"
                ).format(path=given, what=what)
            )
        shown = "".join(f"\n  {w}" for w in why[:10])
        more = _("\n  … and {n} more").format(n=f"{len(why) - 10:,}") if len(why) > 10 else ""
        return NoEvidence(
            _("{path}: no evidence in this folder; every file in it was skipped:").format(
                path=given
            )
            + shown
            + more
        )
    if path.suffix.lower() not in _SUFFIXES:
        return NoEvidence(
            _("{path}: not evidence (expected .toml, .csv, .xlsx, .xlsm, .xls or .parquet)").format(
                path=given
            )
        )
    return NoEvidence(why[0] if why else _("{path}: not evidence").format(path=given))


def _is_other_toml(data: Mapping[str, Any]) -> bool:
    """Rulebooks and waiver files may sit beside evidence; they are not units."""
    schema = data.get("schema")
    if isinstance(schema, str) and not schema.startswith("fulian-eval/evidence"):
        return True
    return "categories" in data or "waivers" in data


@attrs.frozen
class _FileTask:
    """One TOML file: one unit."""

    path: Path
    shown: str


@attrs.frozen
class RowsTask:
    """A run of rows of one table, with the layout worked out from its header."""

    shown: str
    layout: TableLayout
    rows: list[tuple[int, list[Any]]]


Task = _FileTask | RowsTask
Outcome = Evidence | Rejection


def os_error_text(exc: BaseException) -> str:
    """Why a file cannot be read, as a clerk reads it (no "[Errno 2]")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def plan_sources(
    rb: Rulebook,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    chunk: int = 0,
    ignore_columns: bool = False,
    empty_ok: bool = False,
) -> tuple[list[Task], list[Rejection], list[str]]:
    """Split evidence paths into tasks that can be loaded independently (and in parallel).

    Tables are read and their headers checked here; with ``chunk`` > 0 their rows
    are split into tasks of at most that many rows.

    Returns:
        (tasks in input order, files rejected whole, warnings).

    Raises:
        NoEvidence: a path gives nothing to load (an empty folder, only .docx files,
            only reports), unless ``empty_ok``.
    """
    tasks: list[Task] = []
    rejected: list[Rejection] = []
    warnings: list[str] = []
    for given, files in expand_each(paths):
        gave = False
        start = len(warnings)
        for path, shown in files:
            gave = (
                plan_file(rb, path, shown, strict, chunk, ignore_columns, tasks, rejected, warnings)
                or gave
            )
        if not gave and not empty_ok:
            raise no_evidence(given, files, warnings[start:])
    return tasks, rejected, warnings


def plan_file(
    rb: Rulebook,
    path: Path,
    shown: str,
    strict: bool,
    chunk: int,
    ignore_columns: bool,
    tasks: list[Task],
    rejected: list[Rejection],
    warnings: list[str],
) -> bool:
    """Plan one file (see :func:`plan_sources`); whether it is evidence (good or rejected),
    not a skipped report or a file of another kind."""
    suffix = path.suffix.lower()
    if not path.exists():
        rejected.append(
            Rejection(source=shown, error=_("{path}: no such file or folder").format(path=shown))
        )
    elif suffix == ".toml":
        tasks.append(_FileTask(path, shown))
    elif suffix in _TABLES:
        try:
            header, rows = read_rows(path)
        except (OSError, UnicodeDecodeError, ImportError, ValueError, csv.Error) as exc:
            rejected.append(
                Rejection(
                    source=shown,
                    error=_("{path}: cannot read: {error}").format(
                        path=shown, error=os_error_text(exc)
                    ),
                )
            )
            return True
        layout = TableLayout(
            rb, header, shown, strict, exact=suffix == ".csv", ignore_columns=ignore_columns
        )
        if layout.skip is not None:
            warnings.append(layout.skip)
            return False
        warnings.extend(layout.warnings)
        if layout.problems:
            rejected.append(
                Rejection(
                    source=shown,
                    error="\n".join(str(p) for p in layout.problems),
                    problems=tuple(layout.problems),
                )
            )
            return True
        step = chunk if chunk > 0 else max(1, len(rows))
        for i in range(0, len(rows), step):
            tasks.append(RowsTask(shown, layout, rows[i : i + step]))
    else:
        return False  # a file given by name that is no evidence (x.docx): see no_evidence
    return True


def run_task(
    rb: Rulebook,
    task: Task,
    *,
    strict: bool = False,
    warnings: list[str] | None = None,
    surveys: SurveyData | None = None,
) -> Iterator[Outcome]:
    """Load one task: yields each unit's Evidence, or a Rejection naming file, place and value
    (``surveys``: questionnaires that fill fields, SPEC §10.9)."""
    if isinstance(task, _FileTask):
        shown = task.shown
        try:
            text = decode_text(read_bounded(task.path))  # a regular file; UTF-8, UTF-16 or GB18030
            data = loads_toml(text)  # numbers bounded; nan, inf and huge values rejected where used
        except (
            OSError,
            UnicodeDecodeError,
            tomllib.TOMLDecodeError,
            TomlProblem,
            FileProblem,
        ) as exc:
            yield Rejection(
                source=shown,
                error=_("{path}: cannot read: {error}").format(
                    path=shown, error=os_error_text(exc)
                ),
            )
            return
        if _is_other_toml(data):
            if "waivers" in data and warnings is not None:
                warnings.append(
                    _(
                        "{path}: waiver files (SPEC §2.5) are not applied by this version; ignored"
                    ).format(path=shown)
                )
            return
        try:
            yield parse_evidence(
                rb, data, shown, strict=strict, warnings=warnings, text=text, surveys=surveys
            )
        except EvidenceError as exc:
            uid = data.get("unit", {}).get("id", "") if isinstance(data.get("unit"), dict) else ""
            yield Rejection(source=shown, unit=str(uid), error=str(exc), problems=exc.problems)
        return
    layout = task.layout
    for rowno, cells in task.rows:
        if is_blank_row(cells):
            continue
        try:
            yield table_evidence(rb, layout, task.shown, rowno, cells, strict, surveys)
        except EvidenceError as exc:
            uid = cells[layout.meta["unit"]] if layout.meta["unit"] < len(cells) else ""
            yield Rejection(
                source=f"{task.shown} row {rowno}",
                unit=str(uid),
                error=str(exc),
                problems=exc.problems,
            )


class _Loaded(Protocol):
    @property
    def unit(self) -> UnitInfo: ...

    @property
    def role(self) -> str: ...

    @property
    def source(self) -> str: ...


_U = TypeVar("_U", bound=_Loaded)


def duplicate_message(source: str, unit: str, role: str, first: str) -> str:
    """Why a second assessment of a unit in the same role is rejected."""
    return _(
        "{source}: unit '{unit}' ({role}) was already given in {first}; each unit once per role"
    ).format(source=source, unit=unit, role=role, first=first)


class Deduplicator:
    """Each unit once per role: a later assessment of the same unit and role is rejected."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def check(self, unit: str, role: str, source: str) -> Rejection | None:
        key = (unit, role)
        if key in self.seen:
            return Rejection(
                source=source,
                unit=unit,
                error=duplicate_message(source, unit, role, self.seen[key]),
            )
        self.seen[key] = source
        return None

    def admit(
        self, outcomes: Iterable[_U | Rejection], accepted: list[_U], rejected: list[Rejection]
    ) -> None:
        """Sort loaded units into accepted and rejected (bad ones, and repeats of a unit and role)."""
        for o in outcomes:
            if isinstance(o, Rejection):
                rejected.append(o)
                continue
            dup = self.check(o.unit.id, o.role, o.source)
            if dup is not None:
                rejected.append(dup)
            else:
                accepted.append(o)


def load_evidence(
    rb: Rulebook,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    ignore_columns: bool = False,
    empty_ok: bool = False,
    surveys: SurveyData | None = None,
) -> EvidenceSet:
    """Load evidence files and folders for ``rb``.

    Args:
        rb: the rulebook whose fields the evidence fills.
        paths: TOML files (one unit each), CSV/XLSX/XLS/Parquet tables (one unit per row), or folders of them.
        strict: reject units with approximate figures, missing values or unknown keys.
        ignore_columns: a table column that is no field (nor meta or points column) is
            left out with a warning, instead of rejecting the table.
        empty_ok: a path that gives nothing to load is not an error (replaying a stored run).
        surveys: questionnaires (SPEC §10.9, :func:`~fulian_eval.io.surveys.load_surveys`):
            they fill the fields an assessment does not give; a surveyed unit that no
            evidence has is a warning.

    Returns:
        An :class:`EvidenceSet`; a bad unit is in ``rejected`` and never stops the others.
        A second assessment of the same unit in the same role is rejected as a duplicate.

    Raises:
        NoEvidence: a path gives nothing to load (an empty folder, only .docx files,
            only fulian-eval's reports), unless ``empty_ok``.
    """
    tasks, rejected, warnings = plan_sources(
        rb, paths, strict=strict, ignore_columns=ignore_columns, empty_ok=empty_ok
    )
    accepted: list[Evidence] = []
    dedup = Deduplicator()
    for task in tasks:
        dedup.admit(
            run_task(rb, task, strict=strict, warnings=warnings, surveys=surveys),
            accepted,
            rejected,
        )
    if surveys is not None:
        warnings.extend(
            surveys.unmatched(
                [(ev.unit.id, ev.unit.name) for ev in accepted]
                + [(r.unit, "") for r in rejected if r.unit]
            )
        )
    return EvidenceSet(evidence=tuple(accepted), rejected=tuple(rejected), warnings=tuple(warnings))
