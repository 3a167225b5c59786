"""Cross-check plans (交错互查) and stratified field-visit samples (SPEC §6, §9).

Everything here is a pure function of its inputs and a seed, except
:func:`read_units`, which reads UNITS.csv. The same units and the same seed
always give the same plan or sample, whatever order the units are listed in:
units are sorted by id inside each group before anything random happens.

Randomness: each group draws from its own ``random.Random(f"{seed}:{group}")``
(string seeds are hashed with SHA-512 by :mod:`random`, so the stream is the
same on every machine and Python run). A group's plan or sample therefore
depends only on the seed and that group's own units: adding a unit to 东片
does not reshuffle 西片.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from os import PathLike
from pathlib import Path
from typing import Any

import attrs

from ..errors import Problem, RulebookError, did_you_mean
from ..io.tables import FileProblem, decode_text, read_bounded
from ..lang.expr import round_half_up
from ..lang.text import csv_text as _csv
from ..lang.text import json_text as _dumps
from ..model.formats import SAMPLE_FORMATS as FORMATS

__all__ = [
    "FORMATS",
    "Assignment",
    "GroupCount",
    "Plan",
    "Sample",
    "Sampled",
    "UnitRow",
    "UnitsError",
    "parse_fraction",
    "plan",
    "plan_json",
    "plan_report",
    "read_units",
    "sample",
    "sample_json",
    "sample_report",
    "sample_size",
]

COLUMNS = ("unit", "name", "group")


class UnitsError(RulebookError):
    """UNITS.csv (or a list of units) is unusable, or plan/sample arguments are invalid.

    A :class:`~fulian_eval.errors.RulebookError` (so a :class:`ValueError` and a
    :class:`~fulian_eval.errors.FulianEvalError`): a configuration file is invalid.
    ``problems`` holds every problem found, each naming file, line and value.
    """


@attrs.frozen(kw_only=True)
class UnitRow:
    """One row of UNITS.csv.

    Attributes:
        unit: the unit id (``ningfeng``), unique in the file.
        name: its display name (宁锋村), may be empty.
        group: the group (片区) it belongs to; plans and samples never cross groups.
        line: the 1-based line it was read from (0 when not read from a file).
    """

    unit: str
    group: str
    name: str = ""
    line: int = attrs.field(default=0, eq=False)


@attrs.frozen(kw_only=True)
class Assignment:
    """The team of ``assessor`` checks ``unit``; both belong to ``group``."""

    assessor: str
    unit: str
    group: str


@attrs.frozen(kw_only=True)
class Plan:
    """A cross-check plan: who checks whom, sorted by group then assessor."""

    seed: int
    assignments: tuple[Assignment, ...]


@attrs.frozen(kw_only=True)
class Sampled:
    """One unit drawn for a field visit."""

    unit: str
    group: str


@attrs.frozen(kw_only=True)
class GroupCount:
    """How many units a group has (``size``) and how many were drawn (``drawn``)."""

    group: str
    size: int
    drawn: int


@attrs.frozen(kw_only=True)
class Sample:
    """A stratified sample for field visits (实地走访).

    Attributes:
        seed: the seed it was drawn with.
        fraction: the sampling fraction as given, normalized like :class:`~decimal.Decimal`
            prints it (``"0.04"``; ``"5%"`` becomes ``"0.05"``).
        min_per_group: the least drawn from each group (fewer only when the group is smaller).
        sample: the units drawn, sorted by group then unit.
        counts: per group, its size and how many were drawn, sorted by group.
    """

    seed: int
    fraction: str
    min_per_group: int
    sample: tuple[Sampled, ...]
    counts: tuple[GroupCount, ...]


# ------------------------------------------------------------------ reading


def read_units(path: str | PathLike[str]) -> list[UnitRow]:
    """Read UNITS.csv: columns ``unit``, ``name``, ``group`` (UTF-8, with or without BOM).

    Other columns are ignored; blank lines are skipped; values are stripped of
    surrounding spaces. Rows keep the file's order.

    Raises:
        UnitsError: the file cannot be read or is not UTF-8; a column is missing;
            a row has an empty unit id or group, a duplicate unit id, or more
            values than the header has columns; or no unit is listed. Every
            problem names the file, the line and the value.
    """
    file = str(path)
    try:
        text = decode_text(read_bounded(Path(path), what="a units file"))
    except OSError as exc:
        raise UnitsError(
            [Problem(file=file, message=f"cannot read file: {exc.strerror}")]
        ) from None
    except (
        FileProblem,
        UnicodeDecodeError,
    ) as exc:  # not a file, too big, or in no encoding we read
        raise UnitsError([Problem(file=file, message=str(exc))]) from None
    try:
        return _parse_units(text, file)
    except csv.Error as exc:
        raise UnitsError([Problem(file=file, message=f"not valid CSV: {exc}")]) from None


def _parse_units(text: str, file: str) -> list[UnitRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            header_line = reader.line_num
            break
    if header is None:
        raise UnitsError(
            [Problem(file=file, message="empty file; expected a header row: unit,name,group")]
        )
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        found = ", ".join(f"'{h}'" for h in header if h) or "none"
        raise UnitsError(
            [
                Problem(
                    file=file,
                    line=header_line,
                    path="header",
                    message=f"missing column '{c}'{did_you_mean(c, header)}; found {found}",
                )
                for c in missing
            ]
        )
    index = {c: header.index(c) for c in COLUMNS}
    problems: list[Problem] = []
    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            extra = ", ".join(repr(c) for c in cells[len(header) :])
            problems.append(
                Problem(
                    file=file,
                    line=line,
                    message=(
                        f"{len(cells)} values but the header has {len(header)} columns (extra: {extra}); "
                        "quote values that contain commas"
                    ),
                )
            )
            continue

        def cell(col: str, cells: list[str] = cells) -> str:
            i = index[col]
            return cells[i].strip() if i < len(cells) else ""

        uid, name, group = cell("unit"), cell("name"), cell("group")
        if not uid:
            problems.append(
                Problem(
                    file=file,
                    line=line,
                    path="unit",
                    message=f"empty unit id (name {name!r}, group {group!r})",
                )
            )
            continue
        if uid in seen:
            problems.append(
                Problem(
                    file=file,
                    line=line,
                    path="unit",
                    message=f"duplicate unit id {uid!r} (first on line {seen[uid]})",
                )
            )
            continue
        seen[uid] = line
        if not group:
            problems.append(
                Problem(
                    file=file,
                    line=line,
                    path="group",
                    message=f"unit {uid!r} has an empty group; every unit needs a group (片区)",
                )
            )
            continue
        rows.append(UnitRow(unit=uid, name=name, group=group, line=line))
    if not problems and not rows:
        problems.append(Problem(file=file, message="no units listed below the header"))
    if problems:
        raise UnitsError(problems)
    return rows


def _by_group(units: Iterable[UnitRow]) -> dict[str, list[str]]:
    """Unit ids per group, groups and ids sorted; raises UnitsError on duplicate or empty ids."""
    groups: dict[str, list[str]] = {}
    seen: dict[str, UnitRow] = {}
    problems: list[Problem] = []
    for u in units:
        if not u.unit:
            problems.append(
                Problem(line=u.line or None, message=f"empty unit id in group {u.group!r}")
            )
            continue
        if u.unit in seen:
            problems.append(Problem(line=u.line or None, message=f"duplicate unit id {u.unit!r}"))
            continue
        seen[u.unit] = u
        groups.setdefault(u.group, []).append(u.unit)
    if problems:
        raise UnitsError(problems)
    return {g: sorted(groups[g]) for g in sorted(groups)}


def _rng(seed: int, group: str) -> random.Random:
    return random.Random(f"{seed}:{group}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UnitsError(
            [Problem(path="seed", message=f"seed must be a whole number, got {seed!r}")]
        )


# --------------------------------------------------------------------- plan


def plan(units: Iterable[UnitRow], seed: int) -> Plan:
    """Cross-check plan (交错互查): each unit's team checks another unit of its own group.

    Rules, all guaranteed:

    - nobody checks itself, and nobody checks outside its group;
    - every unit checks exactly one unit and is checked exactly once;
    - in a group of 3 or more units no two units check each other: the group is
      shuffled and each unit checks the next one round a single cycle
      (A→B→C→…→A);
    - a group of exactly 2 units has no other choice: **the two check each other**;
    - the same units and seed give the same plan, whatever order the rows are in.

    Raises:
        UnitsError: a group has only one unit (the error names the group and the
            unit), a unit id is empty or duplicated, or the seed is not a whole number.
    """
    _check_seed(seed)
    groups = _by_group(units)
    lonely = [
        Problem(
            message=f"group {g!r} has only one unit ({ids[0]!r}); it has nobody to check it — "
            "merge it into another group"
        )
        for g, ids in groups.items()
        if len(ids) == 1
    ]
    if lonely:
        raise UnitsError(lonely)
    out: list[Assignment] = []
    for g, ids in groups.items():
        order = list(ids)
        _rng(seed, g).shuffle(order)
        n = len(order)
        out.extend(
            Assignment(assessor=order[i], unit=order[(i + 1) % n], group=g) for i in range(n)
        )
    out.sort(key=lambda a: (a.group, a.assessor))
    return Plan(seed=seed, assignments=tuple(out))


# ------------------------------------------------------------------- sample


def parse_fraction(fraction: Fraction | Decimal | str) -> tuple[Fraction, str]:
    """The sampling fraction, exact, and as printed: ``"0.04"``, ``"4%"`` → (1/25, ``"0.04"``).

    A string may be a decimal (``"0.05"``, ``".05"``), a percentage (``"5%"``) or a
    ratio (``"1/20"``). The printed form is :class:`~decimal.Decimal`'s (trailing
    zeros as given), or ``"p/q"`` when the fraction has no finite decimal form.

    Raises:
        UnitsError: not a number, or not in (0, 1].
    """
    shown = str(fraction).strip() if isinstance(fraction, str) else str(fraction)
    if isinstance(fraction, float):
        raise UnitsError(
            [
                Problem(
                    path="fraction",
                    message=(
                        f'fraction {fraction!r} is a float; give it as a string or Decimal ("0.05") so it is exact'
                    ),
                )
            ]
        )
    value: Fraction | None = None
    text: str = shown
    if isinstance(fraction, Fraction):
        value = fraction
        text = _fraction_text(fraction)
    elif isinstance(fraction, Decimal):
        if fraction.is_finite():
            value = Fraction(fraction)
            text = str(fraction)
    elif isinstance(fraction, str):
        s = shown
        percent = s.endswith("%")
        body = s[:-1].strip() if percent else s
        try:
            d = Decimal(body)
        except InvalidOperation:
            d = None
        if d is not None and d.is_finite():
            if percent:
                d = d.scaleb(-2)
            value = Fraction(d)
            text = str(d)
        elif not percent and "/" in body:
            try:
                value = Fraction(body)
            except (ValueError, ZeroDivisionError):
                value = None
            if value is not None:
                text = _fraction_text(value)
    if value is None:
        raise UnitsError(
            [
                Problem(
                    path="fraction",
                    message=f"fraction must be a number such as 0.05, 5% or 1/20, got {shown!r}",
                )
            ]
        )
    if not 0 < value <= 1:
        raise UnitsError(
            [
                Problem(
                    path="fraction",
                    message=f"fraction must be more than 0 and at most 1, got {text}",
                )
            ]
        )
    return value, text


def _fraction_text(x: Fraction) -> str:
    """A fraction as a Decimal would print it when it has a finite decimal form, else "p/q"."""
    den = x.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return f"{x.numerator}/{x.denominator}"
    places = 0
    while (x * 10**places).denominator != 1:
        places += 1
    return str(Decimal(x.numerator * 10**places // x.denominator).scaleb(-places))


def sample_size(size: int, fraction: Fraction, min_per_group: int = 1) -> int:
    """How many of a group of ``size`` units to draw:
    ``min(size, max(min_per_group, round_half_up(fraction × size)))`` — 不足量的全查.
    """
    want = int(round_half_up(fraction * size))
    return min(size, max(min_per_group, want))


def sample(
    units: Iterable[UnitRow],
    fraction: Fraction | Decimal | str,
    seed: int,
    min_per_group: int = 1,
) -> Sample:
    """Stratified random sample for field visits (实地走访), drawn separately in each group.

    Per group of ``n`` units, ``k = max(min_per_group, round_half_up(fraction × n))``
    units are drawn, but never more than ``n`` (不足量的全查: a group smaller than
    its quota is checked in full). ``fraction × n`` is exact and rounded half up,
    so 5 % of 30 units is 2 (1.5 rounds up) and 4 % of 21 is 1.

    The draw is a simple random sample without replacement from the group's
    units sorted by id, using the group's own random stream (see the module
    docstring): the same units and seed always give the same sample.

    Raises:
        UnitsError: fraction not a number in (0, 1]; min_per_group below 0 or not a
            whole number; seed not a whole number; an empty or duplicate unit id.
    """
    _check_seed(seed)
    frac, text = parse_fraction(fraction)
    if isinstance(min_per_group, bool) or not isinstance(min_per_group, int) or min_per_group < 0:
        raise UnitsError(
            [
                Problem(
                    path="min_per_group",
                    message=f"min_per_group must be a whole number 0 or more, got {min_per_group!r}",
                )
            ]
        )
    groups = _by_group(units)
    drawn: list[Sampled] = []
    counts: list[GroupCount] = []
    for g, ids in groups.items():
        k = sample_size(len(ids), frac, min_per_group)
        chosen = _rng(seed, g).sample(ids, k)
        drawn.extend(Sampled(unit=u, group=g) for u in sorted(chosen))
        counts.append(GroupCount(group=g, size=len(ids), drawn=k))
    return Sample(
        seed=seed,
        fraction=text,
        min_per_group=min_per_group,
        sample=tuple(drawn),
        counts=tuple(counts),
    )


# ---------------------------------------------------------------- rendering


def plan_json(p: Plan) -> dict[str, Any]:
    """The ``plan --format json`` document of SPEC §9."""
    return {
        "seed": p.seed,
        "assignments": [
            {"assessor": a.assessor, "unit": a.unit, "group": a.group} for a in p.assignments
        ],
    }


def sample_json(s: Sample) -> dict[str, Any]:
    """The ``sample --format json`` document of SPEC §9."""
    return {
        "seed": s.seed,
        "fraction": s.fraction,
        "sample": [{"unit": x.unit, "group": x.group} for x in s.sample],
    }


def _grid(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=list(header), tablefmt="simple", disable_numparse=True)


def _label(uid: str, names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(uid, "")
    return f"{uid} {name}" if name and name != uid else uid


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def plan_report(p: Plan, fmt: str = "table", names: Mapping[str, str] | None = None) -> str:
    """A plan as text: ``table`` (Chinese headers, seed on top), ``json`` (SPEC §9) or ``csv``.

    ``names`` (unit id → name) adds names to the table; JSON and CSV hold ids only.
    CSV columns: ``assessor,unit,group,seed``.
    """
    _check_fmt(fmt)
    if fmt == "json":
        return _dumps(plan_json(p))
    if fmt == "csv":
        return _csv(
            ("assessor", "unit", "group", "seed"),
            ((a.assessor, a.unit, a.group, p.seed) for a in p.assignments),
        )
    groups = sorted({a.group for a in p.assignments})
    head = [
        "交错互查安排",
        f"随机种子 seed = {p.seed}",
        f"{len(p.assignments)} 个单位，{len(groups)} 个片区；各单位检查组检查同片区另一单位，不查本单位。",
        "",
    ]
    rows = [(a.group, _label(a.assessor, names), _label(a.unit, names)) for a in p.assignments]
    return "\n".join(head) + "\n" + _grid(("片区", "检查组（来自单位）", "被检查单位"), rows) + "\n"


def sample_report(s: Sample, fmt: str = "table", names: Mapping[str, str] | None = None) -> str:
    """A sample as text: ``table`` (Chinese headers, seed on top), ``json`` (SPEC §9) or ``csv``.

    ``names`` (unit id → name) adds names to the table; JSON and CSV hold ids only.
    CSV columns: ``unit,group,seed,fraction``.
    """
    _check_fmt(fmt)
    if fmt == "json":
        return _dumps(sample_json(s))
    if fmt == "csv":
        return _csv(
            ("unit", "group", "seed", "fraction"),
            ((x.unit, x.group, s.seed, s.fraction) for x in s.sample),
        )
    total = sum(c.size for c in s.counts)
    head = [
        "实地走访抽样",
        f"随机种子 seed = {s.seed}",
        f"抽样比例 fraction = {s.fraction}，每片区至少 {s.min_per_group} 个（不足量的全查）",
        f"共抽取 {len(s.sample)} / {total} 个单位",
        "",
    ]
    counts = _grid(
        ("片区", "单位数", "抽取数"), [(c.group, str(c.size), str(c.drawn)) for c in s.counts]
    )
    rows = [(x.group, _label(x.unit, names)) for x in s.sample]
    return "\n".join(head) + "\n" + counts + "\n\n" + _grid(("片区", "被抽查单位"), rows) + "\n"
