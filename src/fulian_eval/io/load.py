"""Loading and validating rulebooks (SPEC §2): TOML bytes in, a frozen Rulebook out.

Every problem is collected — file, path inside it, line, bad value, what would be
right — and raised together as one :class:`RulebookError`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from ..errors import ExpressionError, Problem, RulebookError, did_you_mean
from ..kinds import KINDS, ManualRule
from ..kinds.base import Bound, Ref, Skip, fmt, is_number, show_value, type_name
from ..kinds.veto import SCORE_PREFIX, TOTAL
from ..lang.expr import Expr, parse, round_half_up
from ..lang.messages import N_, _
from ..lang.text import PRECISIONS
from ..lang.units import UnitError, conversion_factor, normalize_unit
from ..lang.values import BadNumber, TomlProblem, ValueProblem, loads_toml, parse_number
from ..model.roles import DEFAULT_ROLES, Award, Roles
from ..model.rulebook import (
    CATEGORY_TYPES,
    EXPR_TYPE,
    FIELD_TYPES,
    ON_MISSING,
    Category,
    CategoryType,
    Consistency,
    Derived,
    FieldSpec,
    Grade,
    Group,
    Item,
    OnMissing,
    Rulebook,
    RuleSpec,
    SourceFile,
    Survey,
)
from .crosscheck_table import check_crosscheck
from .locate import PathKey
from .tables import FileProblem, read_bounded
from .tailor import Chain, resolve

__all__ = ["RULEBOOK_SCHEMA", "load_rulebook", "parse_rulebook", "read_toml"]

RULEBOOK_SCHEMA = "fulian-eval/rulebook/2"
#: Every schema this version reads, all with the same rules (SPEC §10.10).
RULEBOOK_SCHEMAS = ("fulian-eval/rulebook/1", RULEBOOK_SCHEMA)

#: A rulebook file (and each file it extends) is read only if it is a regular file of at most this size.
MAX_RULEBOOK_BYTES = 10_000_000
#: No item, category, floor or scale may exceed this many points: a larger score is
#: almost certainly a slip of the keyboard (and would not fit the table path's integers).
MAX_POINTS = 10_000

_ID = re.compile(r"^[a-z0-9_-]+$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_TOP_KEYS = {
    "on_missing",
    "schema",
    "id",
    "version",
    "title",
    "scale",
    "precision",
    "not_applicable",
    "extends",
    "tie_break",
    "fields",
    "derived",
    "consistency",
    "grades",
    "categories",
    "crosscheck",
    "override",
    "disable",
    "note",
    "description",
    "roles",
    "awards",
    "surveys",
}
_SURVEY_KEYS = {"title", "field", "question", "answers", "aggregate", "positive", "min_responses"}
_FIELD_KEYS = {"type", "unit", "title", "note", "options", "aliases", "headers"}
_DERIVED_KEYS = {"expr", "unit", "on_zero", "title", "note"}
_CATEGORY_KEYS = {
    "id",
    "title",
    "max",
    "type",
    "weight",
    "applies_when",
    "floor",
    "items",
    "groups",
    "note",
    "on_missing",
    "not_applicable",
}
#: A group's keys (SPEC §10.3): a category's, less what only a whole category has.
_GROUP_KEYS = {
    "id",
    "title",
    "max",
    "floor",
    "items",
    "note",
    "on_missing",
    "not_applicable",
}
_ITEM_COMMON = {
    "id",
    "title",
    "max",
    "kind",
    "applies_when",
    "method",
    "note",
    "floor",
    "on_missing",
    "requires",
    "not_applicable",
}


class _KindKeys(Mapping[str, set[str]]):
    """Each kind's own keys, read from :data:`~fulian_eval.kinds.KINDS` when asked (a kind added there counts)."""

    def __getitem__(self, name: str) -> set[str]:
        return set(KINDS[name].keys)

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


class _AllItemKeys:
    """Every key an item of some kind may have (read from KINDS when asked)."""

    def __contains__(self, key: object) -> bool:
        return key in _ITEM_COMMON or any(key in k.keys for k in KINDS.values())

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(_ITEM_COMMON.union(*(k.keys for k in KINDS.values()))))


_KIND_KEYS = _KindKeys()
_ALL_ITEM_KEYS = _AllItemKeys()
#: ``score("cat")`` / ``score('cat')`` in a veto's when (SPEC §10.4), and the word ``total``.
_SCORE_CALL = re.compile(r"""(?<![A-Za-z0-9_])score\s*\(\s*(?:"([^"]*)"|'([^']*)')\s*\)""")
_TOTAL_WORD = re.compile(r"(?<![A-Za-z0-9_])total(?![A-Za-z0-9_])")


def read_toml(path: Path) -> tuple[dict[str, Any], str, bytes]:
    """Read a TOML file with exact decimals; returns (data, text, raw bytes).

    Raises:
        RulebookError: unreadable file or bad TOML syntax, with its line.
    """
    return _parse_bytes(str(path), _read_regular(path))


def _parse_bytes(file: str, raw: bytes) -> tuple[dict[str, Any], str, bytes]:
    """A rulebook file's (data, text, raw bytes) from its bytes, which must be UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulebookError(
            [
                Problem(
                    file=file,
                    message=_("not UTF-8 text (byte {byte}); save the file as UTF-8").format(
                        byte=exc.start
                    ),
                )
            ]
        ) from None
    return _loads(text, file), text, raw


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_RULEBOOK_BYTES (never a device, FIFO or folder)."""
    try:
        return read_bounded(path, MAX_RULEBOOK_BYTES, what="a rulebook")
    except FileProblem as exc:
        raise RulebookError([Problem(file=str(path), message=str(exc))]) from None
    except OSError as exc:
        raise RulebookError(
            [
                Problem(
                    file=str(path),
                    message=_("cannot read file: {error}").format(error=exc.strerror),
                )
            ]
        ) from None


def _loads(text: str, file: str) -> dict[str, Any]:
    try:
        return loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError([_with_hint(_toml_problem(file, exc), text)]) from None
    except TomlProblem as exc:
        raise RulebookError(
            [
                Problem(
                    file=file,
                    line=exc.line,
                    message=_("invalid TOML: {error}").format(error=exc.message),
                )
            ]
        ) from None


def _toml_problem(file: str, exc: Exception) -> Problem:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    line = int(m.group(1)) if m else None
    if m:
        msg = msg[: m.start()].strip() + _(" (column {column})").format(column=m.group(2))
    return Problem(file=file, line=line, message=_("invalid TOML: {error}").format(error=msg))


#: Full-width punctuation that a Chinese input method types where TOML needs ASCII: what to write instead.
_FULL_WIDTH = {
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "「": '"',
    "」": '"',
    "『": '"',
    "』": '"',
    "＝": "=",
    "：": "=",
    "，": ",",
    "［": "[",
    "］": "]",
    "｛": "{",
    "｝": "}",
    "＃": "#",
    "　": " ",
}
_BARE_KEY_CHAR = re.compile(r"[A-Za-z0-9_\-]")


def _outside_strings(line: str) -> tuple[str, bool]:
    """The characters of a TOML line outside ASCII-quoted strings and comments, and whether a string is left open."""
    out = []
    quote: str | None = None
    esc = False
    for ch in line:
        if quote:
            if esc:
                esc = False
            elif ch == "\\" and quote == '"':
                esc = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        else:
            out.append(ch)
    return "".join(out), quote is not None


def _full_width_hint(line: str) -> str:
    outside, open_string = _outside_strings(line)
    found = [ch for ch in dict.fromkeys(outside) if ch in _FULL_WIDTH]
    if not found and open_string:  # "妇联” — the closing quote typed full-width
        found = [ch for ch in dict.fromkeys(line) if ch in "”’」』"]
    if not found:
        return ""
    shown = "、".join(f"{ch} → {_FULL_WIDTH[ch]}" for ch in found)
    return (
        f"; 提示：此行有全角标点，请改为半角（英文）标点：{shown} "
        "(hint: TOML needs ASCII quotes and punctuation; switch the input method to English for them)"
    )


def _bare_key_hint(line: str) -> str:
    stripped = line.strip()
    rule = "提示：不加引号的键名只能用英文字母、数字、_ 和 -"
    english = "(hint: a bare key takes only A-Z a-z 0-9 _ -; "
    if stripped.startswith("["):  # a header: [fields.妇女之家]
        parts = [p for p in re.split(r"[\[\].\s]+", stripped) if p]
        chinese = next(
            (
                p
                for p in parts
                if p[0] not in "\"'" and any(not _BARE_KEY_CHAR.match(ch) for ch in p)
            ),
            "",
        )
        if chinese:
            return (
                f'; {rule}，字段名和 id 请用英文，如 [fields.women_home]，中文名称写在 title = "{chinese}" 里 '
                f"{english}name it in English and put '{chinese}' in title)"
            )
        return ""
    key = stripped.split("=", 1)[0] if "=" in stripped else stripped
    if key and any(
        not _BARE_KEY_CHAR.match(ch) and ch not in ". \t\"'" and ch not in _FULL_WIDTH for ch in key
    ):
        word = key.strip()
        return (
            f'; {rule}，评分细则的键名用英文（id、title、max …），中文写在值里，如 title = "{word}"；'
            f'确需中文键名时加英文引号："{word}" = … {english}use an English key, or quote it: "{word}")'
        )
    return ""


def _with_hint(problem: Problem, text: str) -> Problem:
    """A TOML syntax problem with a hint for what a Chinese keyboard gets wrong (SPEC §10.8)."""
    lines = text.splitlines()
    line = problem.line
    if line is None:  # "Unterminated string (at end of document)": find the line that opened it
        line = next(
            (
                n
                for n, ln in enumerate(lines, start=1)
                if _outside_strings(ln)[1] and _full_width_hint(ln)
            ),
            None,
        )
        if line is None:
            return problem
    if not 1 <= line <= len(lines):
        return problem
    hint = _full_width_hint(lines[line - 1]) or _bare_key_hint(lines[line - 1])
    if not hint:
        return problem
    return attrs.evolve(problem, line=line, message=problem.message + hint)


def load_rulebook(path: str | Path) -> Rulebook:
    """Load and validate a rulebook file.

    Args:
        path: the TOML file.

    Returns:
        The validated, immutable :class:`Rulebook`.

    Raises:
        RulebookError: with every problem found, each naming file, path and line.
    """
    data, text, raw = read_toml(Path(path))
    return _build(resolve(data, text, str(path), raw, read_toml))


def parse_rulebook(text: str, file: str = "<rulebook>") -> Rulebook:
    """Validate a rulebook given as TOML text (see :func:`load_rulebook`).

    An ``extends`` is read relative to ``file``'s folder (the current folder for
    the default name).
    """
    data = _loads(text, file)
    return _build(resolve(data, text, file, text.encode("utf-8"), read_toml))


def load_rulebook_chain(files: list[tuple[str, bytes]]) -> Rulebook:
    """Validate a rulebook from the stored bytes of its whole chain, reading no file.

    ``files`` is ``(path, bytes)`` of the rulebook, then of the file it extends, and
    so on, as :attr:`Rulebook.sources` named them when it was loaded (the audit
    trail's replay uses it): each ``extends`` is answered by the next file of the
    chain, whatever it names, so nothing on this machine's disk is read.

    Raises:
        RulebookError: a file is not a sound rulebook, or the chain has more or fewer
            files than the rulebook extends.
    """
    if not files:
        raise RulebookError(
            [Problem(file="<rulebook>", message=_("no rulebook file in the chain"))]
        )
    used = [1]

    def read(path: Path) -> tuple[dict[str, Any], str, bytes]:
        k = used[0]
        if k >= len(files):
            raise RulebookError(
                [
                    Problem(
                        file=str(path),
                        message=_(
                            "the stored chain has {n} file(s) and none for this extends"
                        ).format(n=len(files)),
                    )
                ]
            )
        used[0] += 1
        return _parse_bytes(*files[k])

    data, text, raw = _parse_bytes(*files[0])
    rb = _build(resolve(data, text, files[0][0], raw, read))
    if used[0] != len(files):
        raise RulebookError(
            [
                Problem(
                    file=files[0][0],
                    path="extends",
                    message=_(
                        "the stored chain has {n} files, but the rulebook extends through {used}"
                    ).format(n=len(files), used=used[0]),
                )
            ]
        )
    return rb


# ------------------------------------------------------------------ builder


class _Ctx:
    """Collects problems, each located in the file (of a tailoring chain) that wrote it."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.problems: list[Problem] = list(chain.problems)

    def err(self, key: PathKey, label: str, message: str) -> None:
        file, line = self.chain.origins.locate(self.chain.data, key)
        self.problems.append(Problem(file=file, path=label, line=line, message=message))


_Bad = Skip  # a value was already reported; stop building this part
_show = show_value
_typename = type_name


class _Builder:
    def __init__(self, chain: Chain) -> None:
        self.d = chain.data
        self.c = _Ctx(chain)
        self.types: dict[str, str] = {}  # expression name -> type
        self.units: dict[str, str] = {}  # field/derived name -> unit
        self.kinds: dict[str, str] = {}  # field name -> field type ("derived" for derived)
        self.cat_index: dict[str, int] = {}  # category id -> its index in [[categories]]
        self.options: dict[str, tuple[str, ...]] = {}  # choice field -> its options (SPEC §10.6)
        self.broken_fields: set[str] = (
            set()
        )  # fields/derived values that failed: their uses are not reported again
        self.broken_cats: set[int] = (
            set()
        )  # categories with an item that failed to build: no sum checks
        self.untyped_cats: set[int] = (
            set()
        )  # categories of an unknown type, read as base: no base-only checks

    # -- small typed getters -------------------------------------------------
    def label(self, key: PathKey, tail: str = "") -> str:
        out = ""
        for k in key:
            if isinstance(k, int):
                out += f"[{k}]"
            else:
                out += ("." if out else "") + (k if _ID.match(k) else f'"{k}"')
        return out + tail

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        allowed: set[str],
        key: PathKey,
        what: str,
        label: str | None = None,
    ) -> None:
        for k in table:
            if k not in allowed:
                hint = did_you_mean(k, allowed)
                shown = f"{label}.{k}" if label else self.label((*key, k))
                self.c.err(
                    (*key, k),
                    shown,
                    _("unknown key '{key}' in {what}{hint}").format(key=k, what=_(what), hint=hint),
                )

    def get(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        check: Callable[[Any], bool],
        want: str,
        default: Any = None,
        required: bool = False,
    ) -> Any:
        if name not in table:
            if required:
                self.c.err(
                    key,
                    label or name,
                    _("'{key}' is required ({want})").format(key=name, want=_(want)),
                )
                raise _Bad
            return default
        v = table[name]
        if isinstance(v, BadNumber):
            self.c.err((*key, name), f"{label}.{name}" if label else name, v.reason)
            raise _Bad
        if not check(v):
            self.c.err(
                (*key, name),
                f"{label}.{name}" if label else name,
                _("{value} is {type}; expected {want}").format(
                    value=_show(v), type=_typename(v), want=_(want)
                ),
            )
            raise _Bad
        return v

    def num(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: Fraction | None = None,
        required: bool = False,
    ) -> Fraction | None:
        v = self.get(table, name, key, label, _is_num, N_("a number"), required=required)
        return default if v is None else Fraction(v)

    def points(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: Fraction | None = None,
        required: bool = False,
    ) -> Fraction | None:
        """A number of points: kept to 0.01, like every score (SPEC §4.1)."""
        v = self.num(table, name, key, label, default=default, required=required)
        if v is not None and abs(v) > MAX_POINTS:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _(
                    "{value} points is beyond ±{max}; a score this large is almost certainly a slip "
                    "(items, categories and the scale take at most {max} points)"
                ).format(value=_fmt(v), max=MAX_POINTS),
            )
            raise _Bad
        if v is not None and (v * 100).denominator != 1:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _(
                    "{value} has more than two decimals; points are kept to 0.01 (e.g. {rounded})"
                ).format(value=_fmt(v), rounded=_fmt(round_half_up(v, 2))),
            )
            raise _Bad
        return v

    def text(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        *,
        default: str = "",
        required: bool = False,
    ) -> str:
        v = self.get(
            table, name, key, label, lambda x: isinstance(x, str), N_("a string"), required=required
        )
        return default if v is None else str(v)

    def expr(self, source: Any, key: PathKey, label: str, want: str) -> Expr:
        if not isinstance(source, str):
            self.c.err(
                key,
                label,
                _("{value} is {type}; expected an expression string").format(
                    value=_show(source), type=_typename(source)
                ),
            )
            raise _Bad
        try:
            return parse(source, self.types, want, options=self.options)
        except ExpressionError as exc:
            hint = ""
            if exc.reason.startswith((f"unknown name '{TOTAL}'", "unknown function 'score'")):
                hint = _(
                    "\n    ('{total}' and score(\"…\") may be used only in a veto item's when)"
                ).format(total=TOTAL)
            if not self._follows_broken(exc):
                self.c.err(
                    key, label, _("expression error: {error}{hint}").format(error=exc, hint=hint)
                )
            raise _Bad from None

    def _follows_broken(self, exc: ExpressionError) -> bool:
        """The expression fails only because it names a field that is already reported broken."""
        bad = re.search(r"unknown name '(\w+)'", exc.reason)
        return bad is not None and bad.group(1) in self.broken_fields

    def bound(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = False,
    ) -> Fraction | None:
        """A number in the field's unit, or a string with a unit converted to it."""
        if name not in table:
            if required:
                self.c.err(
                    key,
                    label,
                    _(
                        "'{key}' is required (a number, or a string with a unit like \"20 m^2\")"
                    ).format(key=name),
                )
                raise _Bad
            return None
        v = table[name]
        try:
            value, approx = parse_number(v, unit)
        except ValueProblem as exc:
            shown = _("'{unit}'").format(unit=unit) if unit else _("a pure number")
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _("{error}; the field is in {unit}").format(error=exc, unit=shown),
            )
            raise _Bad from None
        if approx:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _("{value} is approximate; a rulebook needs exact bounds").format(value=_show(v)),
            )
            raise _Bad
        if (
            isinstance(v, str)
            and _PERCENT_BOUND.search(v)
            and unit.strip().replace("％", "%") not in _PERCENT_UNITS
        ):
            where = (
                _("a field without a unit")
                if not unit
                else _("a field in '{unit}'").format(unit=unit)
            )
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _('{value} on {where} would be {result}; declare unit = "%"').format(
                    value=_show(v),
                    where=where,
                    result=_fmt(value) + (" " + unit if unit else ""),
                ),
            )
            raise _Bad
        return value

    def veto_expr(
        self, source: Any, key: PathKey, label: str
    ) -> tuple[Expr, tuple[tuple[str, str], ...]]:
        """A veto's ``when``: a condition that may also use ``total`` and ``score("cat")`` (SPEC §10.4).

        Each ``score("cat")`` is read as a name of its own (``score__<index>``); the
        expression keeps its text as written, for reasons.
        """
        if not isinstance(source, str):
            return self.expr(source, key, label, "bool"), ()
        raw = self.d.get("categories")
        ids = [c.get("id") for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
        known = [i for i in ids if isinstance(i, str)]
        scores: dict[str, str] = {}
        bad: list[str] = []

        def swap(m: re.Match[str]) -> str:
            cid = m.group(1) if m.group(1) is not None else m.group(2)
            if cid not in known:
                bad.append(cid)
                return m.group(0)
            name = f"{SCORE_PREFIX}{ids.index(cid)}"
            scores[name] = cid
            return name

        text = _SCORE_CALL.sub(swap, source)
        for cid in bad:
            self.c.err(
                key,
                label,
                _("score(\"{id}\"): unknown category '{id}'{hint}; known: {ids}").format(
                    id=cid, hint=did_you_mean(cid, known), ids=", ".join(known)
                ),
            )
        if bad:
            raise _Bad
        if TOTAL in self.types and _TOTAL_WORD.search(source):
            self.c.err(
                key,
                label,
                _(
                    "'{total}' is both a field or derived value and, in a veto's when, the unit's "
                    "total; rename [fields.{total}] (or [derived.{total}])"
                ).format(total=TOTAL),
            )
            raise _Bad
        types = {**self.types, TOTAL: "num", **dict.fromkeys(scores, "num")}
        try:
            e = parse(text, types, "bool")
        except ExpressionError as exc:
            if not scores:  # the text parsed is the text written: its column holds
                self.c.err(
                    key, label, _("expression error: {error}{hint}").format(error=exc, hint="")
                )
            else:  # columns point into the text with score(…) swapped for names: leave them out
                self.c.err(
                    key,
                    label,
                    _("expression error: {error}{hint}").format(
                        error=exc.reason, hint="\n    " + source
                    ),
                )
            raise _Bad from None
        return attrs.evolve(e, text=source), tuple(scores.items())

    def bound_ref(
        self,
        table: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = False,
    ) -> Bound | None:
        """A bound (see :meth:`bound`), or the name of a number field or derived value (SPEC §10.4).

        The named value's unit must convert to the item field's ``unit``; a unit-less value
        beside a unit (or the other way round) is refused, as the ``%`` trap would be.
        """
        v = table.get(name)
        if not isinstance(v, str) or not _NAME.match(v.strip()):
            return self.bound(table, name, key, label, unit, required=required)
        ref = v.strip()
        if ref not in self.kinds:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _(
                    "unknown field '{name}'{hint}; a bound is a number, a number with a unit "
                    '("90 %") or the name of a number field or derived value'
                ).format(name=ref, hint=did_you_mean(ref, self.kinds)),
            )
            raise _Bad
        if self.kinds[ref] not in ("count", "number", "quantity", "derived"):
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _(
                    "'{name}' is a {type} field; a bound must be a number field or derived value"
                ).format(name=ref, type=self.kinds[ref]),
            )
            raise _Bad
        have = self.units.get(ref, "")
        shown_have = _("'{unit}'").format(unit=have) if have else _("no unit")
        shown_want = _("'{unit}'").format(unit=unit) if unit else _("no unit")
        if bool(have) != bool(unit):
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _(
                    "'{name}' has {have} but the item's field has {want}; "
                    "give [fields.{name}] the same unit"
                ).format(name=ref, have=shown_have, want=shown_want),
            )
            raise _Bad
        try:
            factor = conversion_factor(have, unit) if have != unit else Fraction(1)
        except UnitError as exc:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                _("'{name}' cannot be this bound: {error}").format(name=ref, error=exc),
            )

            raise _Bad from None
        return Ref(ref, factor)

    # -- the parts ---------------------------------------------------------------
    def build(self) -> Rulebook:
        d = self.d
        self.unknown_keys(d, _TOP_KEYS, (), N_("the rulebook"))
        schema = d.get("schema")
        if schema is not None and schema not in RULEBOOK_SCHEMAS:
            self.c.err(
                ("schema",),
                "schema",
                _("{value} is not a known schema; expected '{schema}'").format(
                    value=_show(schema), schema=RULEBOOK_SCHEMA
                ),
            )
        rid = self._safe(lambda: self.text(d, "id", (), "", required=True), "")
        if rid and not _ID.match(rid):
            self.c.err(
                ("id",),
                "id",
                _("{value} is not a valid id; use lower-case letters, digits, '_' and '-'").format(
                    value=_show(rid)
                ),
            )
        version = self._safe(
            lambda: str(
                self.get(
                    d,
                    "version",
                    (),
                    "",
                    lambda x: isinstance(x, str | int | Decimal),
                    N_('a string like "2026.1"'),
                    default="",
                )
            ),
            "",
        )
        title = self._safe(lambda: self.text(d, "title", (), ""), "")
        na = self._safe(
            lambda: self.text(d, "not_applicable", (), "", default="rescale"), "rescale"
        )
        if na not in ("rescale", "award"):
            self.c.err(
                ("not_applicable",),
                "not_applicable",
                _("{value} is not allowed; expected 'rescale' or 'award'{hint}").format(
                    value=_show(na), hint=did_you_mean(na, ["rescale", "award"])
                ),
            )
        self.on_missing = self._on_missing(d, (), "") or "worst"
        self.precision = self._precision()

        fields = self._fields()
        derived = self._derived()
        consistency = self._consistency()
        grades = self._grades()
        categories = self._categories()
        roles = self._roles()
        awards = self._awards()
        surveys = self._surveys(fields)

        base = [c for c in categories if c.base_like]
        weighted = [c for c in base if c.weight is not None]
        unweighted = [
            c
            for c in base
            if c.weight is None and self.cat_index.get(c.id) not in self.untyped_cats
        ]
        if weighted and unweighted:
            missing = ", ".join(c.id for c in unweighted)
            ci = self.cat_index[unweighted[0].id]
            self.c.err(
                ("categories", ci),
                f'categories[{ci}] "{unweighted[0].id}"',
                _(
                    "either every base category has a weight or none has; no weight on: {ids}"
                ).format(ids=missing),
            )
        scale_default = sum((c.max for c in base), Fraction(0))
        # Not `or scale_default`: a scale of 0 is a mistake to report, not a request for the default.
        scale = self._safe(
            lambda: self.num(d, "scale", (), "", default=scale_default), scale_default
        )
        if "scale" in d and scale <= 0:
            self.c.err(
                ("scale",),
                "scale",
                _(
                    "{value} must be above 0 "
                    "(or leave scale out for the sum of the base categories' max, {default})"
                ).format(value=_fmt(scale), default=_fmt(scale_default)),
            )
        elif "scale" in d and scale > MAX_POINTS:
            self.c.err(
                ("scale",),
                "scale",
                _(
                    "{value} points is beyond {max}; a score this large is "
                    "almost certainly a slip (items, categories and the scale take at most {max} points)"
                ).format(value=_fmt(scale), max=MAX_POINTS),
            )

        tie = self._safe(
            lambda: self.get(
                d,
                "tie_break",
                (),
                "",
                lambda x: isinstance(x, list) and all(isinstance(i, str) for i in x),
                N_("a list of category ids"),
                default=[],
            ),
            [],
        )
        cat_ids = [c.id for c in categories]
        written = self._written_category_ids()
        for i, t in enumerate(tie):
            if (
                t not in cat_ids and t not in written
            ):  # a category that failed to build is reported already
                self.c.err(
                    ("tie_break",),
                    f"tie_break[{i}]",
                    _("unknown category '{id}'{hint}; known: {ids}").format(
                        id=t, hint=did_you_mean(t, cat_ids), ids=", ".join(cat_ids)
                    ),
                )

        extra: dict[str, Any] = {}
        if "crosscheck" in d:
            extra["crosscheck"] = d["crosscheck"]
            self._crosscheck(d["crosscheck"], roles)
        if not categories and "categories" not in d:
            self.c.err(
                (),
                "categories",
                _("the rulebook has no [[categories]]; a scheme needs at least one"),
            )
        if self.c.problems:
            raise RulebookError(self._in_line_order(self.c.problems))
        return Rulebook(
            id=rid,
            version=version,
            title=title,
            scale=scale,
            not_applicable=na,
            tie_break=tuple(tie),
            fields=fields,
            derived=tuple(derived),
            consistency=tuple(consistency),
            grades=tuple(grades),
            categories=tuple(categories),
            sources=tuple(
                SourceFile(path=src.file, sha256=src.sha256) for src in self.c.chain.sources
            ),
            extra=extra,
            on_missing=self.on_missing,
            roles=roles,
            awards=tuple(awards),
            precision=self.precision,
            surveys=tuple(surveys),
        )

    def _precision(self) -> Fraction:
        """``precision`` (SPEC §10.5): the TOML number 0.01 (the default), 0.1 or 1."""
        default = Fraction(1, 100)
        if "precision" not in self.d:
            return default
        v = self.d["precision"]
        want = _(
            "0.01, 0.1 or 1 (评分精确到0.01分、0.1分或1分), written as a number: precision = 0.1"
        )
        if isinstance(v, BadNumber):
            self.c.err(("precision",), "precision", v.reason)
        elif _is_num(v) and Fraction(v) in PRECISIONS:
            return Fraction(v)
        elif isinstance(v, str):
            quoted = v.strip()
            written = Fraction(quoted) if quoted.replace(".", "", 1).isdigit() else None
            msg = (
                _(
                    "{value} is a string; write it as a number, without quotes: precision = {number}"
                ).format(value=_show(v), number=quoted)
                if written in PRECISIONS
                else _("{value} is {type}; expected {want}").format(
                    value=_show(v), type=_typename(v), want=want
                )
            )
            self.c.err(("precision",), "precision", msg)
        else:
            self.c.err(
                ("precision",),
                "precision",
                _("{value} is not allowed; expected {want}").format(value=_show(v), want=want),
            )
        return default

    def _roles(self) -> Roles:
        """``[roles]`` (SPEC §10.5): id → title, least to most authoritative; the default without it."""
        if "roles" not in self.d:
            return DEFAULT_ROLES
        t = self._table("roles", dict)
        if not t:
            if isinstance(self.d["roles"], dict):
                self.c.err(
                    ("roles",),
                    "roles",
                    _(
                        "[roles] is empty; list the roles least to most authoritative, "
                        'e.g. self = "自评", district = "区评", city = "市抽查" (or leave [roles] out)'
                    ),
                )
            return DEFAULT_ROLES
        pairs: list[tuple[str, str]] = []
        seen: dict[str, str] = {}  # every spelling (id or title) -> the role that has it
        for rid, title in t.items():
            label = self.label(("roles", rid))
            if not _ID.match(rid):
                self.c.err(
                    ("roles", rid),
                    label,
                    _(
                        "{value} is not a valid role id; use lower-case letters, "
                        "digits, '_' and '-' (the title, e.g. \"区评\", goes on the right of '=')"
                    ).format(value=_show(rid)),
                )
                continue
            if not isinstance(title, str) or not title.strip():
                self.c.err(
                    ("roles", rid),
                    label,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(title),
                        type=_typename(title),
                        want=_('the role\'s title, a non-empty string like "区评"'),
                    ),
                )
                continue
            title = title.strip()
            clash = seen.get(title) if title != rid else None
            if clash is not None:
                self.c.err(
                    ("roles", rid),
                    label,
                    _(
                        "title {value} is already used by role '{role}'; "
                        "each role needs its own id and title"
                    ).format(value=_show(title), role=clash),
                )
                continue
            if rid in seen:
                self.c.err(
                    ("roles", rid),
                    label,
                    _("role id '{id}' is already the title of role '{role}'").format(
                        id=rid, role=seen[rid]
                    ),
                )
                continue
            seen[rid] = seen[title] = rid
            pairs.append((rid, title))
        return Roles.of(pairs) if pairs else DEFAULT_ROLES

    def _awards(self) -> list[Award]:
        """``[[awards]]`` (SPEC §10.5): name, count or share, optional min_total and per_group."""
        out: list[Award] = []
        keys = {"name", "count", "share", "min_total", "per_group"}
        for i, t in self._array("awards"):
            key: PathKey = ("awards", i)
            label = f"awards[{i}]"
            self.unknown_keys(t, keys, key, N_("an award"))
            try:
                name = self.text(t, "name", key, label, required=True).strip()
                if not name:
                    self.c.err(
                        (*key, "name"),
                        f"{label}.name",
                        _('the award\'s name is empty; e.g. name = "一等奖"'),
                    )
                    raise _Bad
                if any(a.name == name for a in out):
                    self.c.err(
                        (*key, "name"),
                        f"{label}.name",
                        _("award '{name}' is listed twice").format(name=name),
                    )
                    raise _Bad
                if ("count" in t) == ("share" in t):
                    self.c.err(
                        key,
                        label,
                        _(
                            "award '{name}' needs exactly one of 'count' (how many units, "
                            "e.g. count = 3) or 'share' (the top fraction, e.g. share = 0.2)"
                        ).format(name=name),
                    )
                    raise _Bad
                count = self.get(
                    t,
                    "count",
                    key,
                    label,
                    lambda x: isinstance(x, int) and not isinstance(x, bool),
                    N_("a whole number of units"),
                )
                if count is not None and count < 1:
                    self.c.err(
                        (*key, "count"),
                        f"{label}.count",
                        _("{value} must be at least 1").format(value=count),
                    )
                    raise _Bad
                share = self.num(t, "share", key, label)
                if share is not None and not 0 < share <= 1:
                    self.c.err(
                        (*key, "share"),
                        f"{label}.share",
                        _(
                            "{value} must be above 0 and at most 1 "
                            "(a fraction of the units: 0.2 is the top 20%)"
                        ).format(value=_fmt(share)),
                    )
                    raise _Bad
                mt = self.points(t, "min_total", key, label)
                per_group = self.get(
                    t,
                    "per_group",
                    key,
                    label,
                    lambda x: isinstance(x, bool),
                    N_("true or false"),
                    default=False,
                )
            except _Bad:
                continue
            out.append(
                Award(name=name, count=count, share=share, min_total=mt, per_group=per_group)
            )
        return out

    def _surveys(self, fields: Mapping[str, FieldSpec]) -> list[Survey]:
        """``[surveys.ID]`` (SPEC §10.9): a question's answers, aggregated per unit into a field."""
        out: list[Survey] = []
        filled: dict[str, str] = {}  # field -> the survey that fills it
        for sid, t in self._table("surveys", dict).items():
            key: PathKey = ("surveys", sid)
            label = self.label(key)
            if not isinstance(t, dict):
                self.c.err(
                    key,
                    label,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(t),
                        type=_typename(t),
                        want=_(
                            "a table [surveys.{id}] with field, question, answers and aggregate"
                        ).format(id=sid),
                    ),
                )
                continue
            if not _ID.match(sid):
                self.c.err(
                    key,
                    label,
                    _(
                        "{value} is not a valid survey id; use lower-case letters, digits, '_' and '-'"
                    ).format(value=_show(sid)),
                )
            self.unknown_keys(t, _SURVEY_KEYS, key, N_("a survey"))
            try:
                out.append(self._survey(t, key, label, sid, fields, filled))
            except _Bad:
                continue
        return out

    def _survey(
        self,
        t: Mapping[str, Any],
        key: PathKey,
        label: str,
        sid: str,
        fields: Mapping[str, FieldSpec],
        filled: dict[str, str],
    ) -> Survey:
        title = self.text(t, "title", key, label).strip() or sid
        field = self.text(t, "field", key, label, required=True)
        aggregate = self._one_of(t, "aggregate", key, label, ("mean", "share"))
        if aggregate is None:
            if "aggregate" in t:
                raise _Bad
            aggregate = "mean"
        spec = fields.get(field)
        if spec is None:
            if field not in self.broken_fields:
                known = [n for n, f in fields.items() if f.type == "number"]
                self.c.err(
                    (*key, "field"),
                    f"{label}.field",
                    _(
                        "unknown field '{name}'{hint}; a survey fills a "
                        "number field declared under [fields] (number fields: {names})"
                    ).format(
                        name=field,
                        hint=did_you_mean(field, fields),
                        names=", ".join(known) or _("none"),
                    ),
                )
            raise _Bad
        if spec.type != "number":
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                _(
                    "field '{name}' is a {type} field; a survey fills a number field "
                    '(type = "number", unit "%" for a share)'
                ).format(name=field, type=spec.type),
            )
            raise _Bad
        if aggregate == "share" and (not spec.unit or normalize_unit(spec.unit) != "%"):
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                _(
                    "field '{name}' has unit {unit}; a share "
                    'is a percentage: give the field unit = "%"'
                ).format(name=field, unit=_show(spec.unit) if spec.unit else _("none")),
            )
            raise _Bad
        if field in filled:
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                _(
                    "field '{name}' is already filled by survey '{survey}'; one survey per field"
                ).format(name=field, survey=filled[field]),
            )
            raise _Bad
        filled[field] = sid
        question = self.text(t, "question", key, label, required=True).strip()
        if not question:
            self.c.err(
                (*key, "question"),
                f"{label}.question",
                _(
                    "the question is empty; give the survey table's column header, "
                    'e.g. question = "您对本村妇联工作是否满意"'
                ),
            )
            raise _Bad
        raw_answers = self.get(
            t,
            "answers",
            key,
            label,
            lambda x: isinstance(x, dict),
            N_('a table of answer = value, e.g. answers = {"满意" = 100, "不满意" = 0}'),
            required=True,
        )
        answers: list[tuple[str, Fraction]] = []
        for ans, v in raw_answers.items():
            akey: PathKey = (*key, "answers", ans)
            alabel = self.label(akey)
            written = unicodedata.normalize("NFC", ans).strip()
            if not written:
                self.c.err(
                    akey, alabel, _("an answer is empty; answers are the texts respondents chose")
                )
                raise _Bad
            if isinstance(v, BadNumber):
                self.c.err(akey, alabel, v.reason)
                raise _Bad
            if not _is_num(v):
                self.c.err(
                    akey,
                    alabel,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(v),
                        type=_typename(v),
                        want=_("the answer's value, a number in the field's unit{unit}").format(
                            unit=f" ({spec.unit})" if spec.unit else ""
                        ),
                    ),
                )
                raise _Bad
            if abs(Fraction(v)) > 10**9:
                self.c.err(
                    akey,
                    alabel,
                    _("{value} is too large for an answer's value").format(value=_show(v)),
                )
                raise _Bad
            if any(a == written for a, _ in answers):
                self.c.err(
                    akey, alabel, _("answer '{answer}' is listed twice").format(answer=written)
                )
                raise _Bad
            answers.append((written, Fraction(v)))
        if not answers:
            self.c.err(
                (*key, "answers"),
                f"{label}.answers",
                _(
                    'answers is empty; list each answer and its value, e.g. {{"满意" = 100, "不满意" = 0}}'
                ).format(),
            )
            raise _Bad
        names = [a for a, _ in answers]
        positive: list[str] = []
        if "positive" in t:
            pos = self.get(
                t,
                "positive",
                key,
                label,
                lambda x: isinstance(x, list) and all(isinstance(i, str) for i in x),
                N_('a list of answers, e.g. positive = ["满意", "基本满意"]'),
            )
            if aggregate != "share":
                self.c.err(
                    (*key, "positive"),
                    f"{label}.positive",
                    _(
                        'positive is for aggregate = "share" (the percentage of answers in positive); '
                        "a mean uses every answer's value"
                    ),
                )
                raise _Bad
            for i, p in enumerate(pos):
                p = unicodedata.normalize("NFC", p).strip()
                if p not in names:
                    self.c.err(
                        (*key, "positive"),
                        f"{label}.positive[{i}]",
                        _("'{answer}' is not one of the answers{hint}; answers: {answers}").format(
                            answer=p, hint=did_you_mean(p, names), answers=", ".join(names)
                        ),
                    )
                    raise _Bad
                positive.append(p)
            if not positive:
                self.c.err(
                    (*key, "positive"),
                    f"{label}.positive",
                    _('positive is empty; list the answers that count, e.g. ["满意"]'),
                )
                raise _Bad
        elif aggregate == "share":
            self.c.err(
                key,
                label,
                _(
                    'aggregate = "share" needs positive: the answers that count, '
                    'e.g. positive = ["{answer}"]'
                ).format(answer=names[0]),
            )
            raise _Bad
        least = self.get(
            t,
            "min_responses",
            key,
            label,
            lambda x: isinstance(x, int) and not isinstance(x, bool),
            N_("a whole number of answers"),
            default=1,
        )
        if not 1 <= least <= 10**7:
            self.c.err(
                (*key, "min_responses"),
                f"{label}.min_responses",
                _(
                    "{value} must be at least 1 (fewer answers leave the field missing for that unit)"
                ).format(value=least),
            )
            raise _Bad
        return Survey(
            id=sid,
            title=title,
            field=field,
            question=unicodedata.normalize("NFC", question),
            answers=tuple(answers),
            aggregate="share" if aggregate == "share" else "mean",
            positive=frozenset(positive),
            min_responses=least,
        )

    def _written_category_ids(self) -> set[str]:
        cats = self.d.get("categories")
        if not isinstance(cats, list):
            return set()
        return {c["id"] for c in cats if isinstance(c, dict) and isinstance(c.get("id"), str)}

    def _crosscheck(self, raw: Any, roles: Roles) -> None:
        """``[crosscheck]``, checked here with lines as analysis.crosscheck.config_of reads it."""
        for sub, message in check_crosscheck(raw, roles)[1]:
            self.c.err(("crosscheck", *sub), ".".join(["crosscheck", *map(str, sub)]), message)

    def _in_line_order(self, problems: list[Problem]) -> list[Problem]:
        """By file (the rulebook, then what it extends), then line, then as found (SPEC §10.8)."""
        files = [src.file for src in self.c.chain.sources]

        def order(n_p: tuple[int, Problem]) -> tuple[int, bool, int, int]:
            n, p = n_p
            rank = files.index(p.file) if p.file in files else len(files)
            return (rank, p.line is None, p.line or 0, n)

        return [p for _, p in sorted(enumerate(problems), key=order)]

    def _one_of(
        self, t: Mapping[str, Any], name: str, key: PathKey, label: str, choices: Sequence[str]
    ) -> str | None:
        """A key whose value is one of ``choices``, given at this level; None if absent or wrong (reported)."""
        if name not in t:
            return None
        try:
            v = self.text(t, name, key, label)
        except _Bad:
            return None
        if v in choices:
            return v
        allowed = _("{choices} or '{last}'").format(
            choices=", ".join(f"'{c}'" for c in choices[:-1]), last=choices[-1]
        )
        self.c.err(
            (*key, name),
            f"{label}.{name}" if label else name,
            _("{value} is not allowed; expected {want}{hint}").format(
                value=_show(v), want=allowed, hint=did_you_mean(v, choices)
            ),
        )
        return None

    def _on_missing(self, t: Mapping[str, Any], key: PathKey, label: str) -> OnMissing | None:
        """An ``on_missing`` given at this level (SPEC §10.2), or None."""
        v = self._one_of(t, "on_missing", key, label, ON_MISSING)
        return next((c for c in ON_MISSING if c == v), None)

    def _safe(self, fn: Callable[[], Any], fallback: Any) -> Any:
        try:
            return fn()
        except _Bad:
            return fallback

    def _table(self, name: str, kind: type) -> Any:
        v = self.d.get(name, kind())
        if not isinstance(v, kind):
            want = (
                _("a table")
                if kind is dict
                else _("an array of tables ([[{name}]])").format(name=name)
            )
            self.c.err(
                (name,),
                name,
                _("{value} is {type}; expected {want}").format(
                    value=_show(v), type=_typename(v), want=want
                ),
            )
            return kind()
        return v

    def _fields(self) -> dict[str, FieldSpec]:
        out: dict[str, FieldSpec] = {}
        for name, spec in self._table("fields", dict).items():
            key: PathKey = ("fields", name)
            label = self.label(key)
            if not isinstance(spec, dict):
                self.c.err(
                    key,
                    label,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(spec),
                        type=_typename(spec),
                        want=_('a table like [fields.{name}] with type = "count"').format(
                            name=name
                        ),
                    ),
                )
                continue
            if not _NAME.match(name):
                self.c.err(
                    key,
                    label,
                    _(
                        "field name '{name}' cannot be used in expressions; use lower-case "
                        "letters, digits and '_' and start with a letter"
                    ).format(name=name),
                )
            self.unknown_keys(spec, _FIELD_KEYS, key, N_("a field"))
            try:
                ftype = self.text(spec, "type", key, label, required=True)
                if ftype not in FIELD_TYPES:
                    self.c.err(
                        (*key, "type"),
                        f"{label}.type",
                        _("unknown field type '{type}'{hint}; expected one of {types}").format(
                            type=ftype,
                            hint=did_you_mean(ftype, FIELD_TYPES),
                            types=", ".join(FIELD_TYPES),
                        ),
                    )
                    self.broken_fields.add(name)
                    continue
                unit = self.text(spec, "unit", key, label)
                if unit and ftype in ("bool", "set", "text"):
                    self.c.err(
                        (*key, "unit"),
                        f"{label}.unit",
                        _("a {type} field has no unit (got {value})").format(
                            type=ftype, value=_show(unit)
                        ),
                    )
                    unit = ""
                if ftype == "quantity" and not unit:
                    self.c.err(
                        key, label, _('a quantity field needs a unit, e.g. unit = "m^2" or "元"')
                    )
                if unit:
                    try:
                        normalize_unit(unit)
                    except UnitError as exc:
                        self.c.err(
                            (*key, "unit"),
                            f"{label}.unit",
                            _("{error}; expected a unit such as 人 户 元 万元 % m^2 册 件").format(
                                error=exc
                            ),
                        )
                        unit = ""
                        self.broken_fields.add(name)  # its bounds cannot be read in an unknown unit
                title = self.text(spec, "title", key, label)
                options, aliases = _choice_spec(self, spec, ftype, key, label)
                headers = _headers(self, spec, key, label)
            except _Bad:
                self.broken_fields.add(name)
                if (
                    spec.get("type") == "choice"
                ):  # reported; items and expressions using it add nothing
                    self.types[name], self.units[name], self.kinds[name] = "str", "", "choice"
                continue
            out[name] = FieldSpec(
                name=name,
                type=ftype,
                unit=unit,
                title=title,
                options=options,
                aliases=aliases,
                headers=headers,
            )
            if ftype == "choice":
                self.options[name] = options
            self.types[name] = EXPR_TYPE[ftype]
            self.units[name] = unit
            self.kinds[name] = ftype
        _header_clashes(self, out)
        return out

    def _derived(self) -> list[Derived]:
        out: list[Derived] = []
        table = self._table("derived", dict)
        for name, spec in table.items():
            key: PathKey = ("derived", name)
            label = self.label(key)
            if not isinstance(spec, dict):
                self.c.err(
                    key,
                    label,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(spec),
                        type=_typename(spec),
                        want=_('a table with expr = "..."'),
                    ),
                )
                continue
            if name in self.types:
                self.c.err(
                    key,
                    label,
                    _("'{name}' is already a field; a derived value needs its own name").format(
                        name=name
                    ),
                )
                continue
            if not _NAME.match(name):
                self.c.err(
                    key,
                    label,
                    _(
                        "derived name '{name}' cannot be used in expressions; use lower-case "
                        "letters, digits and '_'"
                    ).format(name=name),
                )
            self.unknown_keys(spec, _DERIVED_KEYS, key, N_("a derived value"))
            try:
                if "expr" not in spec:
                    self.c.err(
                        key,
                        label,
                        _("'expr' is required (an expression, e.g. \"closed / received * 100\")"),
                    )
                    raise _Bad
                later = [n for n in table if n not in self.types and n != name]
                try:
                    e = (
                        parse(str(spec["expr"]), self.types, "num")
                        if isinstance(spec["expr"], str)
                        else None
                    )
                except ExpressionError as exc:
                    bad = re.search(r"unknown name '(\w+)'", exc.reason)
                    if self._follows_broken(exc):
                        pass  # the field it names is reported already
                    elif bad and bad.group(1) in later:
                        self.c.err(
                            (*key, "expr"),
                            f"{label}.expr",
                            _(
                                "'{later}' is a derived value defined later; define it before '{name}'"
                            ).format(later=bad.group(1), name=name),
                        )
                    elif bad and bad.group(1) == name:
                        self.c.err(
                            (*key, "expr"),
                            f"{label}.expr",
                            _("'{name}' refers to itself").format(name=name),
                        )
                    else:
                        self.c.err(
                            (*key, "expr"),
                            f"{label}.expr",
                            _("expression error: {error}{hint}").format(error=exc, hint=""),
                        )
                    raise _Bad from None
                if e is None:
                    e = self.expr(spec["expr"], (*key, "expr"), f"{label}.expr", "num")
                unit = self.text(spec, "unit", key, label)
                if unit:
                    try:
                        normalize_unit(unit)
                    except UnitError as exc:
                        self.c.err((*key, "unit"), f"{label}.unit", str(exc))
                        self.broken_fields.add(name)
                on_zero = self.text(spec, "on_zero", key, label, default="not_applicable")
                if on_zero not in ("not_applicable", "missing", "zero"):
                    self.c.err(
                        (*key, "on_zero"),
                        f"{label}.on_zero",
                        _("{value} is not allowed; expected {want}{hint}").format(
                            value=_show(on_zero),
                            want=_("{choices} or '{last}'").format(
                                choices="'not_applicable', 'missing'", last="zero"
                            ),
                            hint=did_you_mean(on_zero, ["not_applicable", "missing", "zero"]),
                        ),
                    )
                title = self.text(spec, "title", key, label)
            except _Bad:
                self.broken_fields.add(name)
                self.types[name] = "num"  # avoid cascades of "unknown name"
                self.units[name] = ""
                self.kinds[name] = "derived"
                continue
            out.append(Derived(name=name, expr=e, unit=unit, on_zero=on_zero, title=title))
            self.types[name] = "num"
            self.units[name] = unit
            self.kinds[name] = "derived"
        return out

    def _array(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        arr = self._table(name, list)
        out = []
        for i, t in enumerate(arr):
            if not isinstance(t, dict):
                self.c.err(
                    (name, i),
                    f"{name}[{i}]",
                    _("{value} is {type}; expected {want}").format(
                        value=_show(t),
                        type=_typename(t),
                        want=_("a table ([[{name}]])").format(name=name),
                    ),
                )
                continue
            out.append((i, t))
        return out

    def _consistency(self) -> list[Consistency]:
        out = []
        for i, t in self._array("consistency"):
            key: PathKey = ("consistency", i)
            label = f"consistency[{i}]"
            self.unknown_keys(t, {"when", "message"}, key, N_("a consistency check"))
            try:
                if "when" not in t:
                    self.c.err(
                        key,
                        label,
                        _(
                            "'when' is required (a condition that should hold, "
                            'e.g. "closed <= received")'
                        ),
                    )
                    raise _Bad
                when = self.expr(t["when"], (*key, "when"), f"{label}.when", "bool")
                msg = self.text(t, "message", key, label, default=str(t["when"]))
            except _Bad:
                continue
            out.append(Consistency(when=when, message=msg))
        return out

    def _grades(self) -> list[Grade]:
        out: list[Grade] = []
        for i, t in self._array("grades"):
            key: PathKey = ("grades", i)
            label = f"grades[{i}]"
            self.unknown_keys(t, {"name", "min"}, key, N_("a grade"))
            try:
                name = self.text(t, "name", key, label, required=True)
                mn = self.num(t, "min", key, label, required=True)
            except _Bad:
                continue
            assert mn is not None
            if any(g.name == name for g in out):
                self.c.err(
                    (*key, "name"),
                    f"{label}.name",
                    _("grade '{name}' is listed twice").format(name=name),
                )
            if any(g.min == mn for g in out):
                self.c.err(
                    (*key, "min"),
                    f"{label}.min",
                    _("two grades have min {value}; each grade needs its own").format(
                        value=_fmt(mn)
                    ),
                )
            out.append(Grade(name=name, min=mn))
        out.sort(key=lambda g: g.min, reverse=True)
        return out

    def _categories(self) -> list[Category]:
        out: list[Category] = []
        seen: dict[str, int] = {}
        for ci, t in self._array("categories"):
            key: PathKey = ("categories", ci)
            cid = t.get("id") if isinstance(t.get("id"), str) else None
            label = f"categories[{ci}]" + (f' "{cid}"' if cid else "")
            self.unknown_keys(t, _CATEGORY_KEYS, key, N_("a category"))
            try:
                cid = self.text(t, "id", key, label, required=True)
                if not _ID.match(cid):
                    self.c.err(
                        (*key, "id"),
                        f"{label}.id",
                        _(
                            "{value} is not a valid id; use lower-case letters, digits, '_' and '-'"
                        ).format(value=f"'{cid}'"),
                    )
                if cid in seen:
                    self.c.err(
                        (*key, "id"),
                        f"{label}.id",
                        _("category id '{id}' is used twice (first at {place})").format(
                            id=cid, place=f"categories[{seen[cid]}]"
                        ),
                    )
                seen[cid] = ci
                self.cat_index.setdefault(cid, ci)
                title = self.text(t, "title", key, label, default=cid)
                ctype_text = self.text(t, "type", key, label, default="base")
                ctype: CategoryType = next((c for c in CATEGORY_TYPES if c == ctype_text), "base")
                if ctype_text not in CATEGORY_TYPES:
                    self.untyped_cats.add(
                        ci
                    )  # read as base only to go on: no base-only checks on it
                    self.c.err(
                        (*key, "type"),
                        f"{label}.type",
                        _(
                            "'{type}' is not a category type; expected 'base', 'deduction', "
                            "'bonus' or 'penalty'{hint}"
                        ).format(type=ctype_text, hint=did_you_mean(ctype_text, CATEGORY_TYPES)),
                    )
                weight = self.num(t, "weight", key, label)
                if weight is not None and weight <= 0:
                    self.c.err(
                        (*key, "weight"),
                        f"{label}.weight",
                        _("{value} must be above 0").format(value=_fmt(weight)),
                    )
                if weight is not None and ctype not in ("base", "deduction"):
                    self.c.err(
                        (*key, "weight"),
                        f"{label}.weight",
                        _(
                            "only base and deduction categories have weights; this one is {type}"
                        ).format(type=ctype),
                    )
                floor = self.points(t, "floor", key, label, default=Fraction(0)) or Fraction(0)
                applies = self._applies(t, key, label)
                cmax = self.points(t, "max", key, label)
                cat_missing = self._on_missing(t, key, label)
                cat_na = self._na_mode(t, key, label)
            except _Bad:
                self._items_of_broken_category(t, key, label)
                continue
            if cmax is None and ctype == "deduction":
                self.c.err(
                    key,
                    label,
                    _(
                        "a deduction category needs 'max' (its starting score, 基本分, e.g. max = 100)"
                    ),
                )
            if cmax is not None and cmax <= 0:
                self.c.err(
                    (*key, "max"),
                    f"{label}.max",
                    _("{value} must be above 0").format(value=_fmt(cmax)),
                )
            place = _Place(
                type=ctype, max=cmax, floor=floor, on_missing=cat_missing or self.on_missing
            )
            used: dict[str, str] = {}  # ids of the category's items and groups -> where
            items = self._items(t, key, label, cid, place, seen=used)
            groups, grouped = self._groups(t, key, cid, place, used)
            items_max = sum((i.max for i in items), Fraction(0)) + sum(
                (g.max for g in groups), Fraction(0)
            )
            items = self._in_written_order(key, items, grouped)
            if cmax is None:
                cmax = items_max
            elif (
                cmax > items_max
                and items
                and ctype == "base"
                and ci not in self.broken_cats | self.untyped_cats
            ):
                self.c.err(
                    (*key, "max"),
                    f"{label}.max",
                    _(
                        "{value} is above the sum of its items' max ({sum}); "
                        "lower it to {sum} or add items"
                    ).format(value=_fmt(cmax), sum=_fmt(items_max)),
                )
            if floor > 0 or (cmax is not None and floor > cmax):
                self.c.err(
                    (*key, "floor"),
                    f"{label}.floor",
                    _("{value} must not be above 0").format(value=_fmt(floor)),
                )
            raw_items = t.get("items")
            if (
                not items
                and (not isinstance(raw_items, list) or not raw_items)
                and not t.get("groups")
            ):
                where = (*key, "items") if "items" in t else key
                self.c.err(
                    where,
                    f"{label}.items" if "items" in t else label,
                    _(
                        "a category needs at least one [[categories.items]] (or [[categories.groups]])"
                    ),
                )
            out.append(
                Category(
                    id=cid,
                    title=title,
                    type=ctype,
                    max=cmax,
                    items=tuple(items),
                    floor=floor,
                    weight=weight,
                    applies_when=applies,
                    on_missing=cat_missing,
                    not_applicable=cat_na,
                    groups=tuple(groups),
                )
            )
        return out

    def _in_written_order(
        self, ckey: PathKey, items: list[Item], grouped: list[Item]
    ) -> list[Item]:
        """A category's direct items and its groups (each group's items together) in the order
        the file writes them; items of a group come after the direct items when lines are unknown
        or the parts come from different files of a tailoring chain."""
        if not grouped:
            return items
        direct = self._raw_list(ckey, "items")
        groups = self._raw_list(ckey, "groups")
        where: dict[str, tuple[str, int | None]] = {}
        for item in items:
            k = direct.get(item.short_id)
            if k is not None:
                where[item.id] = self.c.chain.origins.locate(self.d, (*ckey, "items", k))
        for item in grouped:
            k = groups.get(item.group or "")
            if k is not None:
                where[item.id] = self.c.chain.origins.locate(self.d, (*ckey, "groups", k))
        spots = [where.get(i.id) for i in (*items, *grouped)]
        if any(s is None or s[1] is None for s in spots) or len({s[0] for s in spots if s}) > 1:
            return [*items, *grouped]
        order = {i.id: where[i.id][1] or 0 for i in (*items, *grouped)}
        return sorted([*items, *grouped], key=lambda i: order[i.id])  # stable: a group stays whole

    def _raw_list(self, ckey: PathKey, name: str) -> dict[str, int]:
        """The ids of the tables in a category's raw ``items`` or ``groups`` list, to their index."""
        cat = self.d["categories"][ckey[1]]
        arr = cat.get(name) if isinstance(cat, dict) else None
        out: dict[str, int] = {}
        if isinstance(arr, list):
            for k, t in enumerate(arr):
                if isinstance(t, dict) and isinstance(t.get("id"), str):
                    out.setdefault(t["id"], k)
        return out

    def _items_of_broken_category(self, t: dict[str, Any], key: PathKey, label: str) -> None:
        """Check the items of a category that failed to build, so that their own problems are not hidden.

        Only what an item says of itself is reported: the category's type is taken as written (base if
        that is unusable), its on_missing likewise, and its max as the largest there is (an uncapped
        item is then checked against nothing the broken category would have said).
        """
        cid = t.get("id")
        if not (isinstance(cid, str) and _ID.match(cid)):
            return
        written = t.get("type", "base")
        ctype: CategoryType = next((c for c in CATEGORY_TYPES if c == written), "base")
        cat_missing = next((m for m in ON_MISSING if m == t.get("on_missing")), None)
        place = _Place(
            type=ctype,
            max=Fraction(MAX_POINTS),
            floor=Fraction(0),
            on_missing=cat_missing or self.on_missing,
        )
        seen: dict[str, str] = {}
        self._items(t, key, label, cid, place, seen=seen)
        self._groups(t, key, cid, place, seen)

    def _items(
        self,
        cat: dict[str, Any],
        ckey: PathKey,
        clabel: str,
        cid: str,
        place: _Place,
        *,
        seen: dict[str, str] | None = None,
        prefix: str = "",
        group: str | None = None,
    ) -> list[Item]:
        """The items of a category, or of one of its groups (``group``, ``prefix`` its path).

        ``seen`` maps the ids already used in the category (items and groups) to where.
        """
        arr = cat.get("items", [])
        what = "[[categories.groups.items]]" if group is not None else "[[categories.items]]"
        if not isinstance(arr, list):
            self.c.err(
                (*ckey, "items"),
                f"{clabel}.items",
                _("{value} is {type}; expected {want}").format(
                    value=_show(arr), type=_typename(arr), want=_("{what} tables").format(what=what)
                ),
            )
            return []
        out: list[Item] = []
        seen = {} if seen is None else seen
        prefix = prefix or f"categories[{ckey[1]}]"
        for ii, t in enumerate(arr):
            key: PathKey = (*ckey, "items", ii)
            if not isinstance(t, dict):
                self.c.err(
                    key,
                    f"{prefix}.items[{ii}]",
                    _("{value} is {type}; expected {want}").format(
                        value=_show(t), type=_typename(t), want=_("a table")
                    ),
                )
                continue
            iid = t.get("id") if isinstance(t.get("id"), str) else None
            label = f"{prefix}.items[{ii}]" + (f' "{cid}.{iid}"' if iid else "")
            try:
                item = self._item(t, key, label, cid, place)
            except _Bad:
                self.broken_cats.add(ckey[1] if isinstance(ckey[1], int) else -1)
                continue
            here = f"{prefix.split('.', 1)[1] + '.' if '.' in prefix else ''}items[{ii}]"
            if item.short_id in seen:
                self.c.err(
                    (*key, "id"),
                    f"{label}.id",
                    _("item id '{id}' is used twice (first at {place})").format(
                        id=item.id, place=seen[item.short_id]
                    ),
                )
            seen.setdefault(item.short_id, here)
            out.append(item if group is None else attrs.evolve(item, group=group))
        return out

    def _groups(
        self,
        t: dict[str, Any],
        ckey: PathKey,
        cid: str,
        place: _Place,
        seen: dict[str, str],
    ) -> tuple[list[Group], list[Item]]:
        """A category's ``[[categories.groups]]`` (SPEC §10.3) and their items, one level only."""
        arr = t.get("groups")
        if arr is None:
            return [], []
        ci = ckey[1]
        if not isinstance(arr, list):
            self.c.err(
                (*ckey, "groups"),
                f"categories[{ci}].groups",
                _("{value} is {type}; expected {want}").format(
                    value=_show(arr),
                    type=_typename(arr),
                    want=_("{what} tables").format(what="[[categories.groups]]"),
                ),
            )
            return [], []
        groups: list[Group] = []
        items: list[Item] = []
        for gi, g in enumerate(arr):
            gkey: PathKey = (*ckey, "groups", gi)
            prefix = f"categories[{ci}].groups[{gi}]"
            if not isinstance(g, dict):
                self.c.err(
                    gkey,
                    prefix,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(g), type=_typename(g), want=_("a table")
                    ),
                )
                continue
            gid_raw = g.get("id") if isinstance(g.get("id"), str) else None
            glabel = prefix + (f' "{cid}.{gid_raw}"' if gid_raw else "")
            if "groups" in g:
                inner = g["groups"]
                self.c.err(
                    (*gkey, "groups", 0)
                    if isinstance(inner, list) and inner
                    else (*gkey, "groups"),
                    f"{glabel}.groups",
                    _(
                        "a group holds items, not groups (one level only); "
                        "make the inner group a group of the category"
                    ),
                )
            for k in ("applies_when", "weight", "type"):  # a whole category's, not a group's
                if k in g:
                    self.c.err(
                        (*gkey, k),
                        f"{glabel}.{k}",
                        (
                            _(
                                "a group takes no '{key}'; put the condition on its items "
                                "(or on the category)"
                            )
                            if k == "applies_when"
                            else _(
                                "a group takes no '{key}'; a group counts within its category, "
                                "with the category's type and weight"
                            )
                        ).format(key=k),
                    )
            self.unknown_keys(
                {
                    k: v
                    for k, v in g.items()
                    if k not in ("groups", "applies_when", "weight", "type")
                },
                _GROUP_KEYS,
                gkey,
                N_("a group"),
            )
            try:
                gid = self.text(g, "id", gkey, glabel, required=True)
                if not _ID.match(gid):
                    self.c.err(
                        (*gkey, "id"),
                        f"{glabel}.id",
                        _(
                            "{value} is not a valid id; use lower-case letters, digits, '_' and '-'"
                        ).format(value=f"'{gid}'"),
                    )
                title = self.text(g, "title", gkey, glabel, default=gid)
                gmax = self.points(g, "max", gkey, glabel)
                floor = self.points(g, "floor", gkey, glabel, default=Fraction(0)) or Fraction(0)
                g_missing = self._on_missing(g, gkey, glabel)
                g_na = self._na_mode(g, gkey, glabel)
            except _Bad:
                self.broken_cats.add(ci if isinstance(ci, int) else -1)
                self._items(g, gkey, glabel, cid, place, seen=seen, prefix=prefix)
                continue
            if gid in seen:
                self.c.err(
                    (*gkey, "id"),
                    f"{glabel}.id",
                    _(
                        "'{id}' is used twice in category '{category}' (first at {place}); "
                        "groups and items of a category need ids of their own"
                    ).format(id=gid, category=cid, place=seen[gid]),
                )
            seen.setdefault(gid, f"groups[{gi}]")
            if gmax is not None and gmax <= 0:
                self.c.err(
                    (*gkey, "max"),
                    f"{glabel}.max",
                    _("{value} must be above 0").format(value=_fmt(gmax)),
                )
                gmax = None
            if floor > 0:
                self.c.err(
                    (*gkey, "floor"),
                    f"{glabel}.floor",
                    _("{value} must not be above 0 (a negative floor means 该组可负分)").format(
                        value=_fmt(floor)
                    ),
                )
            elif floor < 0 and place.deducts:
                self.c.err(
                    (*gkey, "floor"),
                    f"{glabel}.floor",
                    _(
                        "a group of a {type} category deducts 0 or more, at most its max; "
                        "it has no floor (remove floor)"
                    ).format(type=place.type),
                )
            gplace = attrs.evolve(
                place,
                on_missing=g_missing or place.on_missing,
                group_cap=gmax if place.deducts else None,
                na=g_na,
            )
            broken_before = len(self.broken_cats)
            gitems = self._items(g, gkey, glabel, cid, gplace, seen=seen, prefix=prefix, group=gid)
            broken = len(self.broken_cats) > broken_before or ci in self.broken_cats
            raw_items = g.get("items")
            if not gitems and (not isinstance(raw_items, list) or not raw_items):
                where = (*gkey, "items") if "items" in g else gkey
                self.c.err(
                    where,
                    f"{glabel}.items" if "items" in g else glabel,
                    _("a group needs at least one [[categories.groups.items]]"),
                )
                continue
            items_sum = sum((i.max for i in gitems), Fraction(0))
            capped = True
            if gmax is None:
                if place.deducts and any(not i.capped for i in gitems):
                    capped = False  # an uncapped item and no max of its own (SPEC §10.10)
                    gmax = place.span or items_sum
                else:
                    gmax = items_sum
            elif gmax > items_sum and place.type == "base" and not broken and gitems:
                self.c.err(
                    (*gkey, "max"),
                    f"{glabel}.max",
                    _(
                        "{value} is above the sum of its items' max ({sum}); "
                        "lower it to {sum} or add items"
                    ).format(value=_fmt(gmax), sum=_fmt(items_sum)),
                )
            groups.append(
                Group(
                    id=gid,
                    title=title,
                    max=gmax,
                    items=tuple(i.id for i in gitems),
                    floor=floor,
                    capped=capped,
                    on_missing=g_missing,
                    not_applicable=g_na,
                )
            )
            items.extend(gitems)
        return groups, items

    def _item(self, t: dict[str, Any], key: PathKey, label: str, cid: str, place: _Place) -> Item:
        given_kind = t.get("kind")
        if not (isinstance(given_kind, str) and given_kind in _KIND_KEYS):
            # No kind to hold the keys to: a key no kind knows is still reported, with its did-you-mean,
            # beside the missing or unknown kind (SPEC §10.8).
            for k in t:
                if k not in _ALL_ITEM_KEYS:
                    self.c.err(
                        (*key, k),
                        f"{label}.{k}",
                        _("unknown key '{key}' in {what}{hint}").format(
                            key=k, what=_("an item"), hint=did_you_mean(k, _ALL_ITEM_KEYS)
                        ),
                    )
        elif not isinstance(t.get("id"), str):
            self._item_keys(t, key, label, given_kind)
        iid = self.text(t, "id", key, label, required=True)
        if not _ID.match(iid):
            self.c.err(
                (*key, "id"),
                f"{label}.id",
                _("{value} is not a valid id; use lower-case letters, digits, '_' and '-'").format(
                    value=f"'{iid}'"
                ),
            )
        kind = self.text(t, "kind", key, label, required=True)
        if kind not in _KIND_KEYS:
            self.c.err(
                (*key, "kind"),
                f"{label}.kind",
                _("unknown kind '{kind}'{hint}; expected one of {kinds}").format(
                    kind=kind, hint=did_you_mean(kind, _KIND_KEYS), kinds=", ".join(_KIND_KEYS)
                ),
            )
            raise _Bad
        self._item_keys(t, key, label, kind)
        title = self.text(t, "title", key, label, default=iid)
        method = self.text(t, "method", key, label)
        note = self.text(t, "note", key, label)
        mx = Fraction(0)
        capped = True
        if kind == "veto":
            given_veto = self.num(t, "max", key, label, default=Fraction(0))
            if given_veto:
                self.c.err(
                    (*key, "max"),
                    f"{label}.max",
                    _("a veto item scores no points; remove max = {value}").format(
                        value=_fmt(given_veto)
                    ),
                )
        else:
            given = self.points(t, "max", key, label, required=not place.deducts)
            if given is None and place.deducts:  # a kind that bounds itself (choice) caps itself
                given = KINDS[kind].implied_max(t)
            if given is None:  # an uncapped deduction: at most what its group or category can lose
                capped = False
                given = place.group_cap if place.group_cap is not None else place.span
                if given is None and place.type == "deduction":
                    raise _Bad  # the category's missing max is reported already; nothing to add here
                if given is None:
                    self.c.err(
                        key,
                        label,
                        _(
                            "an item without max deducts without a cap; give its {type} "
                            "category a max (the most it can deduct), or give the item a max"
                        ).format(type=place.type),
                    )
                    raise _Bad
            mx = given
            if mx <= 0:
                self.c.err(
                    (*key, "max"),
                    f"{label}.max",
                    _("{value} must be above 0").format(value=_fmt(mx)),
                )
        floor = self.points(t, "floor", key, label, default=Fraction(0))
        assert floor is not None
        if floor > 0:
            self.c.err(
                (*key, "floor"),
                f"{label}.floor",
                _("{value} must not be above 0 (a negative floor means 该项可负分)").format(
                    value=_fmt(floor)
                ),
            )
        elif floor < 0 and place.deducts:
            self.c.err(
                (*key, "floor"),
                f"{label}.floor",
                _(
                    "an item of a {type} category deducts 0 or more; "
                    "it has no floor (remove floor, or move the item to a base category)"
                ).format(type=place.type),
            )
        on_missing = self._on_missing(t, key, label) or place.on_missing
        if not capped and on_missing == "worst" and place.group_cap is None:
            self.c.err(
                key,
                label,
                _(
                    "an item without max deducts without a cap, so missing evidence cannot deduct "
                    "'the most it could' (on_missing = \"worst\", the default); give it a max "
                    '(本条最高扣X分) or on_missing = "none" or "reject"'
                ),
            )
        applies = self._applies(t, key, label)
        requires = self._requires(t, key, label, kind)
        na_mode = self._na_mode(t, key, label) or place.na
        rule = self._rule(kind, t, key, label, mx)
        if isinstance(rule, ManualRule):
            rule = self._manual_step(rule, t, key, label)
        return Item(
            id=f"{cid}.{iid}",
            title=title,
            kind=kind,
            max=mx,
            rule=rule,
            floor=floor,
            applies_when=applies,
            method=method,
            note=note,
            capped=capped,
            on_missing=on_missing,
            requires=requires,
            not_applicable=na_mode,
        )

    def _manual_step(
        self, rule: ManualRule, t: Mapping[str, Any], key: PathKey, label: str
    ) -> ManualRule:
        """A ``manual`` item's step against the precision (SPEC §10.5): a step the scores
        would round away is an error; the default step (0.5) becomes the precision where
        that is coarser (precision = 1: step 1)."""
        prec = self.precision
        if "step" not in t:
            return attrs.evolve(rule, step=prec) if rule.step < prec else rule
        step = rule.step
        if step <= 0 or (step / prec).denominator == 1:
            return rule  # a step ≤ 0 is reported by the kind
        message = (
            _(
                "{step} is finer than the rulebook's precision = {precision}: points given in steps "
                "of {step} would be rounded to {precision}; make step a multiple of {precision} "
                "(e.g. step = {example})"
            )
            if step < prec
            else _(
                "{step} is not a whole multiple of the rulebook's precision = {precision}: points "
                "given in steps of {step} would be rounded to {precision}; make step a multiple of "
                "{precision} (e.g. step = {example})"
            )
        )
        self.c.err(
            (*key, "step"),
            f"{label}.step",
            message.format(
                step=_fmt(step),
                precision=_fmt(prec),
                example=_fmt(max(prec, step - step % prec)),
            ),
        )
        return rule

    def _requires(self, t: dict[str, Any], key: PathKey, label: str, kind: str) -> Expr | None:
        """An item's precondition (SPEC §10.4): a condition; not on a veto item."""
        if "requires" not in t:
            return None
        if kind == "veto":
            self.c.err(
                (*key, "requires"),
                f"{label}.requires",
                _("a veto item takes no 'requires'; put the condition into its 'when'"),
            )
            return None
        try:
            return self.expr(t["requires"], (*key, "requires"), f"{label}.requires", "bool")
        except _Bad:
            return None

    def _na_mode(self, t: Mapping[str, Any], key: PathKey, label: str) -> str | None:
        """A ``not_applicable`` given on a category or item (SPEC §10.4), or None."""
        return self._one_of(t, "not_applicable", key, label, ("rescale", "award"))

    def _item_keys(self, t: dict[str, Any], key: PathKey, label: str, kind: str) -> None:
        """Keys an item of ``kind`` does not take: another kind's (named), or none's (with a did-you-mean)."""
        allowed = _ITEM_COMMON | _KIND_KEYS[kind]
        for k in t:
            if k not in allowed:
                if k in _ALL_ITEM_KEYS:
                    users = [kk for kk, ks in _KIND_KEYS.items() if k in ks]
                    self.c.err(
                        (*key, k),
                        f"{label}.{k}",
                        _(
                            "'{key}' is not used by a {kind} item (it belongs to {users}); "
                            "a {kind} item takes {keys}"
                        ).format(
                            key=k,
                            kind=kind,
                            users=", ".join(users),
                            keys=", ".join(sorted(_KIND_KEYS[kind])),
                        ),
                    )
                else:
                    self.c.err(
                        (*key, k),
                        f"{label}.{k}",
                        _("unknown key '{key}' in {what}{hint}").format(
                            key=k,
                            what=_("a {kind} item").format(kind=kind),
                            hint=did_you_mean(k, allowed),
                        ),
                    )

    def _applies(self, t: dict[str, Any], key: PathKey, label: str) -> Expr | None:
        if "applies_when" not in t:
            return None
        try:
            return self.expr(
                t["applies_when"], (*key, "applies_when"), f"{label}.applies_when", "bool"
            )
        except _Bad:
            return None

    def field_ref(
        self,
        t: Mapping[str, Any],
        key: PathKey,
        label: str,
        kinds: tuple[str, ...],
        what: str,
        *,
        name: str = "field",
    ) -> str:
        """The field (or derived value) the key ``name`` names, of one of the types ``kinds``."""
        key_name = name
        name = self.text(t, key_name, key, label, required=True)
        if name in self.broken_fields:
            raise _Bad  # the field's own problem is reported; its uses would only repeat it
        if name not in self.kinds:
            self.c.err(
                (*key, key_name),
                f"{label}.{key_name}",
                _(
                    "unknown field '{name}'{hint}; declare it under [fields.{name}] or [derived.{name}]"
                ).format(name=name, hint=did_you_mean(name, self.kinds)),
            )
            raise _Bad
        k = self.kinds[name]
        ok = k in kinds or (k == "derived" and "derived" in kinds)
        if not ok:
            self.c.err(
                (*key, key_name),
                f"{label}.{key_name}",
                _("'{name}' is a {type} field; this item needs {what}").format(
                    name=name, type=k, what=_(what)
                ),
            )
            raise _Bad
        return name

    def positive(
        self,
        t: Mapping[str, Any],
        name: str,
        key: PathKey,
        label: str,
        unit: str,
        *,
        required: bool = True,
        default: Fraction | None = None,
    ) -> Fraction:
        v = self.bound(t, name, key, label, unit, required=required)
        if v is None:
            assert default is not None
            return default
        if v <= 0:
            self.c.err(
                (*key, name), f"{label}.{name}", _("{value} must be above 0").format(value=_fmt(v))
            )
        return v

    def _rule(
        self, kind: str, t: dict[str, Any], key: PathKey, label: str, mx: Fraction
    ) -> RuleSpec:
        rule: RuleSpec = KINDS[kind].build(self, t, key, label, mx)
        return rule

    # -- what a kind may ask (kinds.base.Reader) --------------------------------
    def err(self, key: PathKey, label: str, message: str) -> None:
        self.c.err(key, label, message)

    def unit_of(self, name: str) -> str:
        return self.units.get(name, "")

    def field_type(self, name: str) -> str | None:
        return self.kinds.get(name)

    def field_names(self) -> Collection[str]:
        return self.kinds.keys()

    def options_of(self, name: str) -> tuple[str, ...]:
        return self.options.get(name, ())


def _choice_spec(
    b: _Builder, spec: Mapping[str, Any], ftype: str, key: PathKey, label: str
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """A field's ``options`` and ``aliases`` (SPEC §10.6): a choice field needs options,
    unique non-empty strings; each alias names an option. Other field types take neither."""
    if ftype != "choice":
        for k in ("options", "aliases"):
            if k in spec:
                b.c.err(
                    (*key, k),
                    f"{label}.{k}",
                    _(
                        "only a choice field (type = \"choice\") takes '{key}'; this one is {type}"
                    ).format(key=k, type=ftype),
                )
        return (), ()
    raw = spec.get("options")
    example = _('e.g. options = ["健全", "欠规范", "不健全", "无"]')
    if raw is None:
        b.c.err(
            key,
            label,
            _("a choice field needs 'options' (the values it may take, {example})").format(
                example=example
            ),
        )
        raise _Bad
    if not isinstance(raw, list) or not raw:
        b.c.err(
            (*key, "options"),
            f"{label}.options",
            _("{value} is {type}; expected {want}").format(
                value=_show(raw) if raw != [] else "[]",
                type=_typename(raw) if raw != [] else _("empty"),
                want=_("a list of strings, {example}").format(example=example),
            ),
        )
        raise _Bad
    options: list[str] = []
    bad = False
    for i, o in enumerate(raw):
        if not isinstance(o, str) or not o.strip():
            b.c.err(
                (*key, "options"),
                f"{label}.options[{i}]",
                _("{value} is {type}; each option is a non-empty string").format(
                    value=_show(o), type=_("empty") if isinstance(o, str) else _typename(o)
                ),
            )
            bad = True
        elif o.strip() in options:
            b.c.err(
                (*key, "options"),
                f"{label}.options[{i}]",
                _("option '{option}' is listed twice").format(option=o.strip()),
            )
            bad = True
        else:
            options.append(o.strip())
    aliases: list[tuple[str, str]] = []
    if "aliases" in spec:
        table = spec["aliases"]
        if not isinstance(table, dict):
            b.c.err(
                (*key, "aliases"),
                f"{label}.aliases",
                _("{value} is {type}; expected {want}").format(
                    value=_show(table),
                    type=_typename(table),
                    want=_(
                        'a table of written value -> option, e.g. aliases = {{"没有" = "无"}}'
                    ).format(),
                ),
            )
            raise _Bad
        for a, o in table.items():
            akey: PathKey = (*key, "aliases", a)
            alabel = f'{label}.aliases."{a}"'
            if not isinstance(o, str):
                b.c.err(
                    akey,
                    alabel,
                    _("{value} is {type}; expected {want}").format(
                        value=_show(o),
                        type=_typename(o),
                        want=_("one of the options ({options})").format(options="、".join(options)),
                    ),
                )
                bad = True
            elif a.strip() in options:
                b.c.err(
                    akey,
                    alabel,
                    _(
                        "'{alias}' is an option itself; an alias is another way of writing one"
                    ).format(alias=a),
                )
                bad = True
            elif o.strip() not in options:
                b.c.err(
                    akey,
                    alabel,
                    _("'{option}' is not an option{hint}; options: {options}").format(
                        option=o, hint=did_you_mean(o, options), options="、".join(options)
                    ),
                )
                bad = True
            else:
                aliases.append((a.strip(), o.strip()))
    if bad:
        raise _Bad
    return tuple(options), tuple(aliases)


def _header_clashes(b: _Builder, fields: Mapping[str, FieldSpec]) -> None:
    """A header that is also another field's id, title or header would make a column so
    headed ambiguous: an error now, not when a table first uses it."""

    def norm(text: str) -> str:  # as a table's column names are compared (io.evidence)
        return "".join(unicodedata.normalize("NFKC", text).split()).casefold()

    owner: dict[str, tuple[str, str]] = {}
    for name, spec in fields.items():
        for text, how in ((name, N_("id")), (spec.title, N_("title"))):
            if text:
                owner.setdefault(norm(text), (name, how))
    for name, spec in fields.items():
        for h in spec.headers:
            first = owner.setdefault(norm(h), (name, N_("header")))
            if first[0] != name:
                b.c.err(
                    ("fields", name, "headers"),
                    f"fields.{name}.headers",
                    _(
                        "header '{header}' is also field '{field}''s {what}; a column so headed "
                        "could be either field — give each field headers of its own"
                    ).format(header=h, field=first[0], what=_(first[1])),
                )


def _headers(b: _Builder, spec: Mapping[str, Any], key: PathKey, label: str) -> tuple[str, ...]:
    """A field's ``headers``: extra column headers a table may use for it (SPEC §10.6)."""
    if "headers" not in spec:
        return ()
    raw = spec["headers"]
    if not isinstance(raw, list) or not all(isinstance(h, str) and h.strip() for h in raw):
        b.c.err(
            (*key, "headers"),
            f"{label}.headers",
            _(
                "{value} is not a list of non-empty strings; "
                'expected e.g. headers = ["活动室面积", "妇女之家面积"]'
            ).format(value=_show(raw)),
        )
        raise _Bad
    out: list[str] = []
    for h in raw:
        if h.strip() in out:
            b.c.err(
                (*key, "headers"),
                f"{label}.headers",
                _("header '{header}' is listed twice").format(header=h.strip()),
            )

            raise _Bad
        out.append(h.strip())
    return tuple(out)


_is_num = is_number
_fmt = fmt
#: A bound written in percent ("92 %", "92％"), and the field units that take it as it reads.
_PERCENT_BOUND = re.compile(r"(%|％|percent)\s*$")
_PERCENT_UNITS = ("%", "percent")


@attrs.frozen(kw_only=True)
class _Place:
    """What an item takes from its category: the type, the bounds, the on_missing in force."""

    type: CategoryType
    max: Fraction | None
    floor: Fraction
    on_missing: OnMissing
    #: In a group of a deduction or penalty category that has a max: what an item without a max
    #: of its own deducts at most, and under ``on_missing = "worst"`` (SPEC §10.10).
    group_cap: Fraction | None = None
    #: The ``not_applicable`` of the item's group, if it says one (SPEC §10.4).
    na: str | None = None

    @property
    def deducts(self) -> bool:
        return self.type in ("deduction", "penalty")

    @property
    def span(self) -> Fraction | None:
        """The most the category can lose (its max less its floor; None without a max)."""
        if self.max is None:
            return None
        return self.max - min(self.floor, Fraction(0))


def _build(chain: Chain) -> Rulebook:
    return _Builder(chain).build()
