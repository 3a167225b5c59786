"""Questionnaires (SPEC §10.9): residents' answers, per unit, fill a number field.

A survey table has one row per respondent, a ``unit`` column (the unit's id or
name; also headed 单位编码 or 单位名称) and one column per question::

    unit,您对本村妇联工作是否满意
    dongqiao,满意
    东桥村,基本满意
    dongqiao,

A blank cell is no answer; an answer the rulebook does not list is a warning
(file, row, value) and is not counted. :meth:`SurveyData.fill` then gives each
assessment of a unit the exact value of every survey it has answers for — the
mean of the answers' values, or the % of answers in ``positive`` — unless the
assessment gives the field itself (its own value is kept; a difference beyond
0.01 is flagged). With fewer than ``min_responses`` answers the field is left
missing and the unit is flagged.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs

from ..errors import Problem, RulebookError, did_you_mean
from ..lang.text import reason_number
from ..model.rulebook import Rulebook, Survey
from .tables import BadCell, BadRow, nfc, read_csv, read_xls, read_xlsx

__all__ = ["SurveyData", "SurveyError", "Tally", "load_surveys"]

SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".parquet")
#: Headers of the column naming the unit: its id (or name) …
_UNIT_HEADERS = ("unit", "单位编码", "单位")
#: … or its name only.
_NAME_HEADERS = ("name", "单位名称")
_NEAR = 0.01  # a unit's own value further than this from its survey's is flagged
_TOLERANCE = Fraction(1, 100)


class SurveyError(RulebookError):
    """A survey table is unreadable or has no column the run can use (every problem listed).

    A :class:`~fulian_eval.errors.RulebookError`, as for waiver files: the command
    line says which input file is wrong and exits 2.
    """

    def __init__(self, problems: Sequence[Problem], file: str = "") -> None:
        super().__init__(problems)
        self.file = file


@attrs.frozen(kw_only=True)
class Tally:
    """One survey's valid answers for one unit: how many, and their exact value."""

    survey: Survey
    count: int
    value: Fraction | None  # None: fewer than min_responses

    def note(self) -> str:
        """How a reason names the count: ``问卷42份`` (``…，不足20份`` when too few)."""
        if self.value is None:
            return f"问卷{self.count}份，不足{self.survey.min_responses}份"
        return f"问卷{self.count}份"


def _key(text: str) -> str:
    """A header or unit as compared: NFKC, no spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _cell(v: Any) -> str:
    """A cell as text: an XLSX number 5 or 5.0 reads as "5"."""
    if v is None or isinstance(v, BadCell):
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return nfc(str(v)).strip()


@attrs.frozen(kw_only=True)
class SurveyData:
    """Every survey table of a run, tallied: per survey, unit (id or name) -> answers' values.

    Attributes:
        files: the survey tables read, as given.
        answers: survey id -> unit as written -> the values of its valid answers, in file order.
        counts: survey id -> unit -> how many of those answers were in ``positive`` (share).
    """

    rulebook: Rulebook
    files: tuple[str, ...] = ()
    answers: Mapping[str, Mapping[str, tuple[Fraction, ...]]] = attrs.field(factory=dict)
    positives: Mapping[str, Mapping[str, int]] = attrs.field(factory=dict)

    @property
    def units(self) -> frozenset[str]:
        """Every unit (id or name, as written) some survey has a row for."""
        return frozenset(u for by_unit in self.answers.values() for u in by_unit)

    def has(self, unit_id: str, name: str = "") -> bool:
        """Whether any survey has rows for this unit (by id, or by name)."""
        return any(unit_id in m or (name and name in m) for m in self.answers.values())

    def tallies(self, unit_id: str, name: str = "") -> list[Tally]:
        """The unit's tally of every survey it has rows for (rows by id and by name together)."""
        out: list[Tally] = []
        for s in self.rulebook.surveys:
            by_unit = self.answers.get(s.id, {})
            keys = [k for k in dict.fromkeys((unit_id, name)) if k and k in by_unit]
            if not keys:
                continue
            values = [v for k in keys for v in by_unit[k]]
            n = len(values)
            value: Fraction | None = None
            if n >= s.min_responses and n > 0:
                if s.aggregate == "share":
                    pos = sum(self.positives.get(s.id, {}).get(k, 0) for k in keys)
                    value = Fraction(100 * pos, n)
                else:
                    value = sum(values, Fraction(0)) / n
            out.append(Tally(survey=s, count=n, value=value))
        return out

    def fill(
        self,
        unit_id: str,
        name: str,
        values: dict[str, Any],
        raw: dict[str, str],
        flags: list[str],
    ) -> dict[str, str]:
        """Fill one assessment's ``values`` (and ``raw``, ``flags``) from the unit's surveys.

        Returns:
            field -> the reason's note (``问卷42份``) for each field a survey filled or,
            having too few answers, left missing.
        """
        surveyed: dict[str, str] = {}
        rb = self.rulebook
        for t in self.tallies(unit_id, name):
            s = t.survey
            spec = rb.fields[s.field]
            title = spec.title or s.field
            u = spec.unit.replace("^2", "²")
            unit = u if u in ("%", "", "m²") or not u.isascii() else f" {u}"  # as reasons show it
            if s.field in values:
                own = values[s.field]
                if (
                    t.value is not None
                    and isinstance(own, Fraction)
                    and abs(own - t.value) > _TOLERANCE
                ):
                    flags.append(
                        f"问卷不符: {title}填报{reason_number(own)}{unit}，{s.title}"
                        f"（{t.count}份）为{reason_number(t.value)}{unit}，相差超过{_NEAR}；"
                        f"按填报值计分 (differs from the survey)"
                    )
                continue
            surveyed[s.field] = t.note()
            if t.value is None:
                flags.append(
                    f"问卷不足: {s.title}仅{t.count}份有效答卷，少于{s.min_responses}份，"
                    f"{title}按缺资料计 (too few survey answers)"
                )
                continue
            values[s.field] = t.value
            raw[s.field] = f"{reason_number(t.value)}{unit}（{s.title}，{t.count}份）"
        return surveyed

    def unmatched(self, seen: Iterable[tuple[str, str]]) -> list[str]:
        """Warnings for the units the surveys name that no evidence has (seen: (id, name) pairs)."""
        known: set[str] = set()
        for uid, name in seen:
            known.add(uid)
            if name:
                known.add(name)
        out = []
        for s in self.rulebook.surveys:
            for u in self.answers.get(s.id, {}):
                if u not in known:
                    out.append(
                        f"问卷：{s.title}中的单位“{u}”不在任何资料中，其答卷未使用 "
                        f"(survey unit '{u}' is in no evidence)"
                    )
        return out


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix == ".xls":
        return read_xls(path)
    if suffix == ".parquet":  # a county platform's export (the arrow extra)
        from .parquet import read_parquet

        return read_parquet(path)
    return read_csv(path)


def load_surveys(paths: Iterable[str | Path], rb: Rulebook) -> tuple[SurveyData, list[str]]:
    """Read survey tables (CSV, XLSX, XLS, Parquet) for ``rb``'s ``[surveys]``.

    Args:
        paths: the survey tables, one row per respondent.
        rb: the rulebook; its surveys say which columns are read and how.

    Returns:
        (the tallied answers, warnings: answers not in ``answers``, rows without a unit,
        too few answers for a unit).

    Raises:
        SurveyError: the rulebook has no surveys, a file cannot be read, or has no unit
            column or no column of any survey (every problem of the file listed).
    """
    answers: dict[str, dict[str, list[Fraction]]] = {s.id: {} for s in rb.surveys}
    positives: dict[str, dict[str, int]] = {s.id: {} for s in rb.surveys}
    warnings: list[str] = []
    files: list[str] = []
    for given in paths:
        file = str(given)
        files.append(file)

        def bad(message: str, file: str = file) -> SurveyError:
            return SurveyError([Problem(file=file, path="", line=None, message=message)], file)

        if not rb.surveys:
            raise bad(
                "考核细则中没有问卷（[surveys.ID]），无法使用问卷表 (the rulebook has no "
                "[surveys.ID]: a survey table is read for a survey the rulebook defines)"
            )
        if Path(given).suffix.lower() not in SUFFIXES:
            raise bad("不是问卷表：应为 .csv、.xlsx、.xls 或 .parquet 文件 (not a survey table)")
        try:
            header, rows = _read(Path(given))
        except (OSError, UnicodeDecodeError, ImportError, ValueError, csv.Error) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise bad(f"无法读取问卷表：{why} (cannot read the survey table)") from None
        heads = [_key(h) for h in header]
        ucol = next((i for i, h in enumerate(heads) if h in {_key(x) for x in _UNIT_HEADERS}), None)
        ncol = next((i for i, h in enumerate(heads) if h in {_key(x) for x in _NAME_HEADERS}), None)
        if ucol is None and ncol is None:
            raise bad(
                "没有单位列：问卷表需要一列“unit”（或“单位编码”“单位”“单位名称”），"
                "写每份答卷所属单位的编码或名称 (no unit column)"
            )
        cols: list[tuple[int, Survey]] = []
        for s in rb.surveys:
            want = {_key(s.question), _key(s.id)}
            col = next((i for i, h in enumerate(heads) if h in want), None)
            if col is not None:
                cols.append((col, s))
        if not cols:
            questions = "; ".join(f"“{s.question}”" for s in rb.surveys)
            near = did_you_mean(
                next((h for i, h in enumerate(header) if i not in (ucol, ncol)), ""),
                [s.question for s in rb.surveys],
            )
            raise bad(
                f"没有问卷题目列：应有一列以{questions}为列名{near} "
                "(no column of the rulebook's surveys)"
            )
        for rowno, cells in rows:
            if isinstance(cells, BadRow):
                warnings.append(f"{file} 第{rowno}行：无法读取（{cells.problem}），整行不计入")
                continue
            if not any(_cell(c) for c in cells):
                continue
            unit = _cell(cells[ucol]) if ucol is not None and ucol < len(cells) else ""
            if not unit and ncol is not None and ncol < len(cells):
                unit = _cell(cells[ncol])
            if not unit:
                warnings.append(
                    f"{file} 第{rowno}行：没有填单位，整行答卷不计入 (row {rowno}: no unit)"
                )
                continue
            for col, s in cols:
                text = _cell(cells[col]) if col < len(cells) else ""
                if not text:
                    continue  # no answer
                value = s.value_of(text)
                if value is None:
                    options = "、".join(a for a, _ in s.answers)
                    warnings.append(
                        f"{file} 第{rowno}行：“{text}”不是“{s.question}”的答案"
                        f"（可选：{options}），不计入 (row {rowno}: '{text}' is not an answer)"
                    )
                    continue
                answers[s.id].setdefault(unit, []).append(value)
                if text in s.positive:
                    positives[s.id][unit] = positives[s.id].get(unit, 0) + 1
    data = SurveyData(
        rulebook=rb,
        files=tuple(files),
        answers={k: {u: tuple(vs) for u, vs in m.items()} for k, m in answers.items()},
        positives=positives,
    )
    return data, warnings
