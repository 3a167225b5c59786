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
                    file=file, message=f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
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
            [Problem(file=str(path), message=f"cannot read file: {exc.strerror}")]
        ) from None


def _loads(text: str, file: str) -> dict[str, Any]:
    try:
        return loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError([_with_hint(_toml_problem(file, exc), text)]) from None
    except TomlProblem as exc:
        raise RulebookError(
            [Problem(file=file, line=exc.line, message=f"invalid TOML: {exc.message}")]
        ) from None


def _toml_problem(file: str, exc: Exception) -> Problem:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    line = int(m.group(1)) if m else None
    if m:
        msg = msg[: m.start()].strip() + f" (column {m.group(2)})"
    return Problem(file=file, line=line, message=f"invalid TOML: {msg}")


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
        raise RulebookError([Problem(file="<rulebook>", message="no rulebook file in the chain")])
    used = [1]

    def read(path: Path) -> tuple[dict[str, Any], str, bytes]:
        k = used[0]
        if k >= len(files):
            raise RulebookError(
                [
                    Problem(
                        file=str(path),
                        message=f"the stored chain has {len(files)} file(s) "
                        "and none for this extends",
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
                    message=f"the stored chain has {len(files)} files, but the rulebook "
                    f"extends through {used[0]}",
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
                self.c.err((*key, k), shown, f"unknown key '{k}' in {what}{hint}")

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
                self.c.err(key, label or name, f"'{name}' is required ({want})")
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
                f"{_show(v)} is {_typename(v)}; expected {want}",
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
        v = self.get(table, name, key, label, _is_num, "a number", required=required)
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
                f"{_fmt(v)} points is beyond ±{MAX_POINTS}; a score this large is almost certainly a slip "
                f"(items, categories and the scale take at most {MAX_POINTS} points)",
            )
            raise _Bad
        if v is not None and (v * 100).denominator != 1:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                f"{_fmt(v)} has more than two decimals; points are kept to 0.01 (e.g. {_fmt(round_half_up(v, 2))})",
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
            table, name, key, label, lambda x: isinstance(x, str), "a string", required=required
        )
        return default if v is None else str(v)

    def expr(self, source: Any, key: PathKey, label: str, want: str) -> Expr:
        if not isinstance(source, str):
            self.c.err(
                key, label, f"{_show(source)} is {_typename(source)}; expected an expression string"
            )
            raise _Bad
        try:
            return parse(source, self.types, want, options=self.options)
        except ExpressionError as exc:
            hint = ""
            if exc.reason.startswith((f"unknown name '{TOTAL}'", "unknown function 'score'")):
                hint = f"\n    ('{TOTAL}' and score(\"…\") may be used only in a veto item's when)"
            if not self._follows_broken(exc):
                self.c.err(key, label, f"expression error: {exc}{hint}")
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
                    f"'{name}' is required (a number, or a string with a unit like \"20 m^2\")",
                )
                raise _Bad
            return None
        v = table[name]
        try:
            value, approx = parse_number(v, unit)
        except ValueProblem as exc:
            shown = f"'{unit}'" if unit else "a pure number"
            self.c.err((*key, name), f"{label}.{name}", f"{exc}; the field is in {shown}")
            raise _Bad from None
        if approx:
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                f"{_show(v)} is approximate; a rulebook needs exact bounds",
            )
            raise _Bad
        if (
            isinstance(v, str)
            and _PERCENT_BOUND.search(v)
            and unit.strip().replace("％", "%") not in _PERCENT_UNITS
        ):
            where = "a field without a unit" if not unit else f"a field in '{unit}'"
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                f'{_show(v)} on {where} would be {_fmt(value)}{" " + unit if unit else ""}; declare unit = "%"',
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
                f"score(\"{cid}\"): unknown category '{cid}'{did_you_mean(cid, known)}; "
                f"known: {', '.join(known)}",
            )
        if bad:
            raise _Bad
        if TOTAL in self.types and _TOTAL_WORD.search(source):
            self.c.err(
                key,
                label,
                f"'{TOTAL}' is both a field or derived value and, in a veto's when, the unit's "
                f"total; rename [fields.{TOTAL}] (or [derived.{TOTAL}])",
            )
            raise _Bad
        types = {**self.types, TOTAL: "num", **dict.fromkeys(scores, "num")}
        try:
            e = parse(text, types, "bool")
        except ExpressionError as exc:
            if not scores:  # the text parsed is the text written: its column holds
                self.c.err(key, label, f"expression error: {exc}")
            else:  # columns point into the text with score(…) swapped for names: leave them out
                self.c.err(key, label, f"expression error: {exc.reason}\n    {source}")
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
                f"unknown field '{ref}'{did_you_mean(ref, self.kinds)}; "
                f'a bound is a number, a number with a unit ("90 %") or the name of a number field or derived value',
            )
            raise _Bad
        if self.kinds[ref] not in ("count", "number", "quantity", "derived"):
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                f"'{ref}' is a {self.kinds[ref]} field; a bound must be a number field or derived value",
            )
            raise _Bad
        have = self.units.get(ref, "")
        shown_have = f"'{have}'" if have else "no unit"
        shown_want = f"'{unit}'" if unit else "no unit"
        if bool(have) != bool(unit):
            self.c.err(
                (*key, name),
                f"{label}.{name}",
                f"'{ref}' has {shown_have} but the item's field has {shown_want}; "
                f"give [fields.{ref}] the same unit",
            )
            raise _Bad
        try:
            factor = conversion_factor(have, unit) if have != unit else Fraction(1)
        except UnitError as exc:
            self.c.err((*key, name), f"{label}.{name}", f"'{ref}' cannot be this bound: {exc}")
            raise _Bad from None
        return Ref(ref, factor)

    # -- the parts ---------------------------------------------------------------
    def build(self) -> Rulebook:
        d = self.d
        self.unknown_keys(d, _TOP_KEYS, (), "the rulebook")
        schema = d.get("schema")
        if schema is not None and schema not in RULEBOOK_SCHEMAS:
            self.c.err(
                ("schema",),
                "schema",
                f"{_show(schema)} is not a known schema; expected '{RULEBOOK_SCHEMA}'",
            )
        rid = self._safe(lambda: self.text(d, "id", (), "", required=True), "")
        if rid and not _ID.match(rid):
            self.c.err(
                ("id",),
                "id",
                f"{_show(rid)} is not a valid id; use lower-case letters, digits, '_' and '-'",
            )
        version = self._safe(
            lambda: str(
                self.get(
                    d,
                    "version",
                    (),
                    "",
                    lambda x: isinstance(x, str | int | Decimal),
                    'a string like "2026.1"',
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
                f"{_show(na)} is not allowed; expected 'rescale' or 'award'{did_you_mean(na, ['rescale', 'award'])}",
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
                f"either every base category has a weight or none has; no weight on: {missing}",
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
                f"{_fmt(scale)} must be above 0 "
                f"(or leave scale out for the sum of the base categories' max, {_fmt(scale_default)})",
            )
        elif "scale" in d and scale > MAX_POINTS:
            self.c.err(
                ("scale",),
                "scale",
                f"{_fmt(scale)} points is beyond {MAX_POINTS}; a score this large is "
                f"almost certainly a slip (items, categories and the scale take at most {MAX_POINTS} points)",
            )

        tie = self._safe(
            lambda: self.get(
                d,
                "tie_break",
                (),
                "",
                lambda x: isinstance(x, list) and all(isinstance(i, str) for i in x),
                "a list of category ids",
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
                    f"unknown category '{t}'{did_you_mean(t, cat_ids)}; known: {', '.join(cat_ids)}",
                )

        extra: dict[str, Any] = {}
        if "crosscheck" in d:
            extra["crosscheck"] = d["crosscheck"]
            self._crosscheck(d["crosscheck"], roles)
        if not categories and "categories" not in d:
            self.c.err(
                (), "categories", "the rulebook has no [[categories]]; a scheme needs at least one"
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
        want = "0.01, 0.1 or 1 (评分精确到0.01分、0.1分或1分), written as a number: precision = 0.1"
        if isinstance(v, BadNumber):
            self.c.err(("precision",), "precision", v.reason)
        elif _is_num(v) and Fraction(v) in PRECISIONS:
            return Fraction(v)
        elif isinstance(v, str):
            quoted = v.strip()
            written = Fraction(quoted) if quoted.replace(".", "", 1).isdigit() else None
            msg = (
                f"{_show(v)} is a string; write it as a number, without quotes: precision = {quoted}"
                if written in PRECISIONS
                else f"{_show(v)} is a string; expected {want}"
            )
            self.c.err(("precision",), "precision", msg)
        else:
            self.c.err(("precision",), "precision", f"{_show(v)} is not allowed; expected {want}")
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
                    "[roles] is empty; list the roles least to most authoritative, "
                    'e.g. self = "自评", district = "区评", city = "市抽查" (or leave [roles] out)',
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
                    f"{_show(rid)} is not a valid role id; use lower-case letters, "
                    "digits, '_' and '-' (the title, e.g. \"区评\", goes on the right of '=')",
                )
                continue
            if not isinstance(title, str) or not title.strip():
                self.c.err(
                    ("roles", rid),
                    label,
                    f"{_show(title)} is {_typename(title)}; expected the role's "
                    'title, a non-empty string like "区评"',
                )
                continue
            title = title.strip()
            clash = seen.get(title) if title != rid else None
            if clash is not None:
                self.c.err(
                    ("roles", rid),
                    label,
                    f"title {_show(title)} is already used by role '{clash}'; "
                    "each role needs its own id and title",
                )
                continue
            if rid in seen:
                self.c.err(
                    ("roles", rid),
                    label,
                    f"role id '{rid}' is already the title of role '{seen[rid]}'",
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
            self.unknown_keys(t, keys, key, "an award")
            try:
                name = self.text(t, "name", key, label, required=True).strip()
                if not name:
                    self.c.err(
                        (*key, "name"),
                        f"{label}.name",
                        'the award\'s name is empty; e.g. name = "一等奖"',
                    )
                    raise _Bad
                if any(a.name == name for a in out):
                    self.c.err((*key, "name"), f"{label}.name", f"award '{name}' is listed twice")
                    raise _Bad
                if ("count" in t) == ("share" in t):
                    self.c.err(
                        key,
                        label,
                        f"award '{name}' needs exactly one of 'count' (how many units, "
                        "e.g. count = 3) or 'share' (the top fraction, e.g. share = 0.2)",
                    )
                    raise _Bad
                count = self.get(
                    t,
                    "count",
                    key,
                    label,
                    lambda x: isinstance(x, int) and not isinstance(x, bool),
                    "a whole number of units",
                )
                if count is not None and count < 1:
                    self.c.err((*key, "count"), f"{label}.count", f"{count} must be at least 1")
                    raise _Bad
                share = self.num(t, "share", key, label)
                if share is not None and not 0 < share <= 1:
                    self.c.err(
                        (*key, "share"),
                        f"{label}.share",
                        f"{_fmt(share)} must be above 0 and at most 1 "
                        "(a fraction of the units: 0.2 is the top 20%)",
                    )
                    raise _Bad
                mt = self.points(t, "min_total", key, label)
                per_group = self.get(
                    t,
                    "per_group",
                    key,
                    label,
                    lambda x: isinstance(x, bool),
                    "true or false",
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
                    f"{_show(t)} is {_typename(t)}; expected a table [surveys.{sid}] with "
                    "field, question, answers and aggregate",
                )
                continue
            if not _ID.match(sid):
                self.c.err(
                    key,
                    label,
                    f"{_show(sid)} is not a valid survey id; use lower-case letters, digits, '_' and '-'",
                )
            self.unknown_keys(t, _SURVEY_KEYS, key, "a survey")
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
                    f"unknown field '{field}'{did_you_mean(field, fields)}; a survey fills a "
                    f"number field declared under [fields] (number fields: {', '.join(known) or 'none'})",
                )
            raise _Bad
        if spec.type != "number":
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                f"field '{field}' is a {spec.type} field; a survey fills a number field "
                '(type = "number", unit "%" for a share)',
            )
            raise _Bad
        if aggregate == "share" and (not spec.unit or normalize_unit(spec.unit) != "%"):
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                f"field '{field}' has unit {_show(spec.unit) if spec.unit else 'none'}; a share "
                'is a percentage: give the field unit = "%"',
            )
            raise _Bad
        if field in filled:
            self.c.err(
                (*key, "field"),
                f"{label}.field",
                f"field '{field}' is already filled by survey '{filled[field]}'; one survey per field",
            )
            raise _Bad
        filled[field] = sid
        question = self.text(t, "question", key, label, required=True).strip()
        if not question:
            self.c.err(
                (*key, "question"),
                f"{label}.question",
                "the question is empty; give the survey table's column header, "
                'e.g. question = "您对本村妇联工作是否满意"',
            )
            raise _Bad
        raw_answers = self.get(
            t,
            "answers",
            key,
            label,
            lambda x: isinstance(x, dict),
            'a table of answer = value, e.g. answers = {"满意" = 100, "不满意" = 0}',
            required=True,
        )
        answers: list[tuple[str, Fraction]] = []
        for ans, v in raw_answers.items():
            akey: PathKey = (*key, "answers", ans)
            alabel = self.label(akey)
            written = unicodedata.normalize("NFC", ans).strip()
            if not written:
                self.c.err(
                    akey, alabel, "an answer is empty; answers are the texts respondents chose"
                )
                raise _Bad
            if isinstance(v, BadNumber):
                self.c.err(akey, alabel, v.reason)
                raise _Bad
            if not _is_num(v):
                self.c.err(
                    akey,
                    alabel,
                    f"{_show(v)} is {_typename(v)}; expected the answer's value, a number "
                    f"in the field's unit{f' ({spec.unit})' if spec.unit else ''}",
                )
                raise _Bad
            if abs(Fraction(v)) > 10**9:
                self.c.err(akey, alabel, f"{_show(v)} is too large for an answer's value")
                raise _Bad
            if any(a == written for a, _ in answers):
                self.c.err(akey, alabel, f"answer '{written}' is listed twice")
                raise _Bad
            answers.append((written, Fraction(v)))
        if not answers:
            self.c.err(
                (*key, "answers"),
                f"{label}.answers",
                'answers is empty; list each answer and its value, e.g. {"满意" = 100, "不满意" = 0}',
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
                'a list of answers, e.g. positive = ["满意", "基本满意"]',
            )
            if aggregate != "share":
                self.c.err(
                    (*key, "positive"),
                    f"{label}.positive",
                    'positive is for aggregate = "share" (the % of answers in positive); '
                    "a mean uses every answer's value",
                )
                raise _Bad
            for i, p in enumerate(pos):
                p = unicodedata.normalize("NFC", p).strip()
                if p not in names:
                    self.c.err(
                        (*key, "positive"),
                        f"{label}.positive[{i}]",
                        f"'{p}' is not one of the answers{did_you_mean(p, names)}; "
                        f"answers: {', '.join(names)}",
                    )
                    raise _Bad
                positive.append(p)
            if not positive:
                self.c.err(
                    (*key, "positive"),
                    f"{label}.positive",
                    'positive is empty; list the answers that count, e.g. ["满意"]',
                )
                raise _Bad
        elif aggregate == "share":
            self.c.err(
                key,
                label,
                'aggregate = "share" needs positive: the answers that count, '
                f'e.g. positive = ["{names[0]}"]',
            )
            raise _Bad
        least = self.get(
            t,
            "min_responses",
            key,
            label,
            lambda x: isinstance(x, int) and not isinstance(x, bool),
            "a whole number of answers",
            default=1,
        )
        if not 1 <= least <= 10**7:
            self.c.err(
                (*key, "min_responses"),
                f"{label}.min_responses",
                f"{least} must be at least 1 (fewer answers leave the field missing for that unit)",
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
        allowed = ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"
        self.c.err(
            (*key, name),
            f"{label}.{name}" if label else name,
            f"{_show(v)} is not allowed; expected {allowed}{did_you_mean(v, choices)}",
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
            want = "a table" if kind is dict else f"an array of tables ([[{name}]])"
            self.c.err((name,), name, f"{_show(v)} is {_typename(v)}; expected {want}")
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
                    f'{_show(spec)} is {_typename(spec)}; expected a table like [fields.{name}] with type = "count"',
                )
                continue
            if not _NAME.match(name):
                self.c.err(
                    key,
                    label,
                    f"field name '{name}' cannot be used in expressions; use lower-case letters, digits and '_' and start with a letter",
                )
            self.unknown_keys(spec, _FIELD_KEYS, key, "a field")
            try:
                ftype = self.text(spec, "type", key, label, required=True)
                if ftype not in FIELD_TYPES:
                    self.c.err(
                        (*key, "type"),
                        f"{label}.type",
                        f"unknown field type '{ftype}'{did_you_mean(ftype, FIELD_TYPES)}; expected one of {', '.join(FIELD_TYPES)}",
                    )
                    self.broken_fields.add(name)
                    continue
                unit = self.text(spec, "unit", key, label)
                if unit and ftype in ("bool", "set", "text"):
                    self.c.err(
                        (*key, "unit"),
                        f"{label}.unit",
                        f"a {ftype} field has no unit (got {_show(unit)})",
                    )
                    unit = ""
                if ftype == "quantity" and not unit:
                    self.c.err(
                        key, label, 'a quantity field needs a unit, e.g. unit = "m^2" or "元"'
                    )
                if unit:
                    try:
                        normalize_unit(unit)
                    except UnitError as exc:
                        self.c.err(
                            (*key, "unit"),
                            f"{label}.unit",
                            f"{exc}; expected a unit such as 人 户 元 万元 % m^2 册 件",
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
                    f'{_show(spec)} is {_typename(spec)}; expected a table with expr = "..."',
                )
                continue
            if name in self.types:
                self.c.err(
                    key, label, f"'{name}' is already a field; a derived value needs its own name"
                )
                continue
            if not _NAME.match(name):
                self.c.err(
                    key,
                    label,
                    f"derived name '{name}' cannot be used in expressions; use lower-case letters, digits and '_'",
                )
            self.unknown_keys(spec, _DERIVED_KEYS, key, "a derived value")
            try:
                if "expr" not in spec:
                    self.c.err(
                        key,
                        label,
                        "'expr' is required (an expression, e.g. \"closed / received * 100\")",
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
                            f"'{bad.group(1)}' is a derived value defined later; define it before '{name}'",
                        )
                    elif bad and bad.group(1) == name:
                        self.c.err((*key, "expr"), f"{label}.expr", f"'{name}' refers to itself")
                    else:
                        self.c.err((*key, "expr"), f"{label}.expr", f"expression error: {exc}")
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
                        f"{_show(on_zero)} is not allowed; expected 'not_applicable', 'missing' or 'zero'{did_you_mean(on_zero, ['not_applicable', 'missing', 'zero'])}",
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
                    f"{_show(t)} is {_typename(t)}; expected a table ([[{name}]])",
                )
                continue
            out.append((i, t))
        return out

    def _consistency(self) -> list[Consistency]:
        out = []
        for i, t in self._array("consistency"):
            key: PathKey = ("consistency", i)
            label = f"consistency[{i}]"
            self.unknown_keys(t, {"when", "message"}, key, "a consistency check")
            try:
                if "when" not in t:
                    self.c.err(
                        key,
                        label,
                        "'when' is required (a condition that should hold, e.g. \"closed <= received\")",
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
            self.unknown_keys(t, {"name", "min"}, key, "a grade")
            try:
                name = self.text(t, "name", key, label, required=True)
                mn = self.num(t, "min", key, label, required=True)
            except _Bad:
                continue
            assert mn is not None
            if any(g.name == name for g in out):
                self.c.err((*key, "name"), f"{label}.name", f"grade '{name}' is listed twice")
            if any(g.min == mn for g in out):
                self.c.err(
                    (*key, "min"),
                    f"{label}.min",
                    f"two grades have min {_fmt(mn)}; each grade needs its own",
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
            self.unknown_keys(t, _CATEGORY_KEYS, key, "a category")
            try:
                cid = self.text(t, "id", key, label, required=True)
                if not _ID.match(cid):
                    self.c.err(
                        (*key, "id"),
                        f"{label}.id",
                        f"'{cid}' is not a valid id; use lower-case letters, digits, '_' and '-'",
                    )
                if cid in seen:
                    self.c.err(
                        (*key, "id"),
                        f"{label}.id",
                        f"category id '{cid}' is used twice (first at categories[{seen[cid]}])",
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
                        f"'{ctype_text}' is not a category type; expected 'base', 'deduction', 'bonus' or 'penalty'{did_you_mean(ctype_text, CATEGORY_TYPES)}",
                    )
                weight = self.num(t, "weight", key, label)
                if weight is not None and weight <= 0:
                    self.c.err(
                        (*key, "weight"), f"{label}.weight", f"{_fmt(weight)} must be above 0"
                    )
                if weight is not None and ctype not in ("base", "deduction"):
                    self.c.err(
                        (*key, "weight"),
                        f"{label}.weight",
                        f"only base and deduction categories have weights; this one is {ctype}",
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
                    "a deduction category needs 'max' (its starting score, 基本分, e.g. max = 100)",
                )
            if cmax is not None and cmax <= 0:
                self.c.err((*key, "max"), f"{label}.max", f"{_fmt(cmax)} must be above 0")
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
                    f"{_fmt(cmax)} is above the sum of its items' max ({_fmt(items_max)}); lower it to {_fmt(items_max)} or add items",
                )
            if floor > 0 or (cmax is not None and floor > cmax):
                self.c.err((*key, "floor"), f"{label}.floor", f"{_fmt(floor)} must not be above 0")
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
                    "a category needs at least one [[categories.items]] (or [[categories.groups]])",
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
                f"{_show(arr)} is {_typename(arr)}; expected {what} tables",
            )
            return []
        out: list[Item] = []
        seen = {} if seen is None else seen
        prefix = prefix or f"categories[{ckey[1]}]"
        for ii, t in enumerate(arr):
            key: PathKey = (*ckey, "items", ii)
            if not isinstance(t, dict):
                self.c.err(
                    key, f"{prefix}.items[{ii}]", f"{_show(t)} is {_typename(t)}; expected a table"
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
                    f"item id '{item.id}' is used twice (first at {seen[item.short_id]})",
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
                f"{_show(arr)} is {_typename(arr)}; expected [[categories.groups]] tables",
            )
            return [], []
        groups: list[Group] = []
        items: list[Item] = []
        for gi, g in enumerate(arr):
            gkey: PathKey = (*ckey, "groups", gi)
            prefix = f"categories[{ci}].groups[{gi}]"
            if not isinstance(g, dict):
                self.c.err(gkey, prefix, f"{_show(g)} is {_typename(g)}; expected a table")
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
                    "a group holds items, not groups (one level only); "
                    "make the inner group a group of the category",
                )
            for k in ("applies_when", "weight", "type"):  # a whole category's, not a group's
                if k in g:
                    self.c.err(
                        (*gkey, k),
                        f"{glabel}.{k}",
                        f"a group takes no '{k}'; "
                        + (
                            "put the condition on its items (or on the category)"
                            if k == "applies_when"
                            else "a group counts within its category, with the category's type and weight"
                        ),
                    )
            self.unknown_keys(
                {
                    k: v
                    for k, v in g.items()
                    if k not in ("groups", "applies_when", "weight", "type")
                },
                _GROUP_KEYS,
                gkey,
                "a group",
            )
            try:
                gid = self.text(g, "id", gkey, glabel, required=True)
                if not _ID.match(gid):
                    self.c.err(
                        (*gkey, "id"),
                        f"{glabel}.id",
                        f"'{gid}' is not a valid id; use lower-case letters, digits, '_' and '-'",
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
                    f"'{gid}' is used twice in category '{cid}' (first at {seen[gid]}); "
                    "groups and items of a category need ids of their own",
                )
            seen.setdefault(gid, f"groups[{gi}]")
            if gmax is not None and gmax <= 0:
                self.c.err((*gkey, "max"), f"{glabel}.max", f"{_fmt(gmax)} must be above 0")
                gmax = None
            if floor > 0:
                self.c.err(
                    (*gkey, "floor"),
                    f"{glabel}.floor",
                    f"{_fmt(floor)} must not be above 0 (a negative floor means 该组可负分)",
                )
            elif floor < 0 and place.deducts:
                self.c.err(
                    (*gkey, "floor"),
                    f"{glabel}.floor",
                    f"a group of a {place.type} category deducts 0 or more, at most its max; "
                    "it has no floor (remove floor)",
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
                    "a group needs at least one [[categories.groups.items]]",
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
                    f"{_fmt(gmax)} is above the sum of its items' max ({_fmt(items_sum)}); "
                    f"lower it to {_fmt(items_sum)} or add items",
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
                        f"unknown key '{k}' in an item{did_you_mean(k, _ALL_ITEM_KEYS)}",
                    )
        elif not isinstance(t.get("id"), str):
            self._item_keys(t, key, label, given_kind)
        iid = self.text(t, "id", key, label, required=True)
        if not _ID.match(iid):
            self.c.err(
                (*key, "id"),
                f"{label}.id",
                f"'{iid}' is not a valid id; use lower-case letters, digits, '_' and '-'",
            )
        kind = self.text(t, "kind", key, label, required=True)
        if kind not in _KIND_KEYS:
            self.c.err(
                (*key, "kind"),
                f"{label}.kind",
                f"unknown kind '{kind}'{did_you_mean(kind, _KIND_KEYS)}; expected one of {', '.join(_KIND_KEYS)}",
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
                    f"a veto item scores no points; remove max = {_fmt(given_veto)}",
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
                        f"an item without max deducts without a cap; give its {place.type} "
                        "category a max (the most it can deduct), or give the item a max",
                    )
                    raise _Bad
            mx = given
            if mx <= 0:
                self.c.err((*key, "max"), f"{label}.max", f"{_fmt(mx)} must be above 0")
        floor = self.points(t, "floor", key, label, default=Fraction(0))
        assert floor is not None
        if floor > 0:
            self.c.err(
                (*key, "floor"),
                f"{label}.floor",
                f"{_fmt(floor)} must not be above 0 (a negative floor means 该项可负分)",
            )
        elif floor < 0 and place.deducts:
            self.c.err(
                (*key, "floor"),
                f"{label}.floor",
                f"an item of a {place.type} category deducts 0 or more; "
                "it has no floor (remove floor, or move the item to a base category)",
            )
        on_missing = self._on_missing(t, key, label) or place.on_missing
        if not capped and on_missing == "worst" and place.group_cap is None:
            self.c.err(
                key,
                label,
                "an item without max deducts without a cap, so missing evidence cannot deduct "
                "'the most it could' (on_missing = \"worst\", the default); give it a max (本条最高扣X分) "
                'or on_missing = "none" or "reject"',
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
        how = "finer than" if step < prec else "not a whole multiple of"
        self.c.err(
            (*key, "step"),
            f"{label}.step",
            f"{_fmt(step)} is {how} the rulebook's precision = {_fmt(prec)}: points given in steps "
            f"of {_fmt(step)} would be rounded to {_fmt(prec)}; make step a multiple of {_fmt(prec)} "
            f"(e.g. step = {_fmt(max(prec, step - step % prec))})",
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
                "a veto item takes no 'requires'; put the condition into its 'when'",
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
                        f"'{k}' is not used by a {kind} item (it belongs to {', '.join(users)}); a {kind} item takes {', '.join(sorted(_KIND_KEYS[kind]))}",
                    )
                else:
                    self.c.err(
                        (*key, k),
                        f"{label}.{k}",
                        f"unknown key '{k}' in a {kind} item{did_you_mean(k, allowed)}",
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
                f"unknown field '{name}'{did_you_mean(name, self.kinds)}; declare it under [fields.{name}] or [derived.{name}]",
            )
            raise _Bad
        k = self.kinds[name]
        ok = k in kinds or (k == "derived" and "derived" in kinds)
        if not ok:
            self.c.err(
                (*key, key_name),
                f"{label}.{key_name}",
                f"'{name}' is a {k} field; this item needs {what}",
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
            self.c.err((*key, name), f"{label}.{name}", f"{_fmt(v)} must be above 0")
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
                    f"only a choice field (type = \"choice\") takes '{k}'; this one is {ftype}",
                )
        return (), ()
    raw = spec.get("options")
    example = 'e.g. options = ["健全", "欠规范", "不健全", "无"]'
    if raw is None:
        b.c.err(key, label, f"a choice field needs 'options' (the values it may take, {example})")
        raise _Bad
    if not isinstance(raw, list) or not raw:
        b.c.err(
            (*key, "options"),
            f"{label}.options",
            f"{_show(raw) if raw != [] else '[]'} is {_typename(raw) if raw != [] else 'empty'}; expected a list of strings, {example}",
        )
        raise _Bad
    options: list[str] = []
    bad = False
    for i, o in enumerate(raw):
        if not isinstance(o, str) or not o.strip():
            b.c.err(
                (*key, "options"),
                f"{label}.options[{i}]",
                f"{_show(o)} is {'empty' if isinstance(o, str) else _typename(o)}; each option is a non-empty string",
            )
            bad = True
        elif o.strip() in options:
            b.c.err(
                (*key, "options"), f"{label}.options[{i}]", f"option '{o.strip()}' is listed twice"
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
                f'{_show(table)} is {_typename(table)}; expected a table of written value -> option, e.g. aliases = {{"没有" = "无"}}',
            )
            raise _Bad
        for a, o in table.items():
            akey: PathKey = (*key, "aliases", a)
            alabel = f'{label}.aliases."{a}"'
            if not isinstance(o, str):
                b.c.err(
                    akey,
                    alabel,
                    f"{_show(o)} is {_typename(o)}; expected one of the options ({'、'.join(options)})",
                )
                bad = True
            elif a.strip() in options:
                b.c.err(
                    akey,
                    alabel,
                    f"'{a}' is an option itself; an alias is another way of writing one",
                )
                bad = True
            elif o.strip() not in options:
                b.c.err(
                    akey,
                    alabel,
                    f"'{o}' is not an option{did_you_mean(o, options)}; options: {'、'.join(options)}",
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
        for text, how in ((name, "id"), (spec.title, "title")):
            if text:
                owner.setdefault(norm(text), (name, how))
    for name, spec in fields.items():
        for h in spec.headers:
            first = owner.setdefault(norm(h), (name, "header"))
            if first[0] != name:
                b.c.err(
                    ("fields", name, "headers"),
                    f"fields.{name}.headers",
                    f"header '{h}' is also field '{first[0]}''s {first[1]}; a column so headed could be either "
                    "field — give each field headers of its own",
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
            f'{_show(raw)} is not a list of non-empty strings; expected e.g. headers = ["活动室面积", "妇女之家面积"]',
        )
        raise _Bad
    out: list[str] = []
    for h in raw:
        if h.strip() in out:
            b.c.err((*key, "headers"), f"{label}.headers", f"header '{h.strip()}' is listed twice")
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
