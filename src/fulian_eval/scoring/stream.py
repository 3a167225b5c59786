"""Scoring at national scale: evidence tables streamed in chunks through the columnar plan.

CSV in, ranked CSV out, at a memory cost of a few hundred bytes per unit: each
chunk of rows is read with :mod:`csv`, turned into columns (plain numbers parsed
by numpy, anything else — units in cells, ``1000余``, 是/否, sets — read by the
per-unit path's own cell reader, memoized), scored by the compiled plan
(:mod:`fulian_eval.scoring.columnar`), and kept as compact arrays. Rows the columns
cannot take as they are (a bad value, a missing unit id, a doubtful decision) go
through the per-unit path, so every row scores, or is rejected, exactly as
``load_evidence`` + ``score`` would do. Ranks are computed at the end from the
arrays.

XLSX sheets are read whole (openpyxl) and then scored in chunks the same way;
TOML evidence is accepted too and scored by the per-unit path.
"""

from __future__ import annotations

import array
import contextlib
import csv
import itertools
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import attrs
import numpy as np

from ..errors import EvidenceError
from ..io.evidence import (
    ROLES,
    EvidenceRecord,
    Rejection,
    RowsTask,
    TableLayout,
    duplicate_message,
    expand_each,
    is_blank_row,
    no_evidence,
    os_error_text,
    plan_file,
    run_task,
    split_source,
    table_evidence,
)
from ..io.parquet import PARQUET_BATCH_ROWS, cell_text, open_parquet
from ..io.surveys import SurveyData
from ..io.tables import (
    MAX_CELL_CHARS,
    FileProblem,
    csv_rows,
    file_chunks,
    nfc,
    open_regular,
    open_text,
    read_xlsx_sheet,
    readable_to_end,
    text_encoding,
)
from ..lang.messages import _
from ..lang.units import conversion_factor
from ..model.roles import DEFAULT_ROLES
from ..model.rulebook import Evidence, Rulebook, UnitInfo
from .columnar import (
    EXACT_INT,
    LIMIT,
    MISSING,
    OK,
    SMALL,
    STATUSES,
    Col,
    Plan,
    Scores,
    State,
)
from .exact import UnitResult, UnitSummary, consistency_flag, fmt_hundredths, score

__all__ = [
    "CHUNK_ROWS",
    "ChunkRows",
    "HundredthsText",
    "RowSink",
    "StreamResult",
    "Table",
    "UnitObjects",
    "score_tables",
]

#: Rows scored together; big enough that numpy's per-call cost vanishes, small enough to keep memory flat.
CHUNK_ROWS = 16384

_NA = STATUSES.index("not_applicable")
_NUM_CHARS = str.maketrans({c: None for c in "0123456789.|"})
_ROLES = frozenset(ROLES)

#: A chunk's flags: the distinct flag sets (the first one empty), each row's index into them,
#: and the flagged rows in the order the run numbers new sets (see :func:`_chunk_flags`).
_Flags = tuple[list[tuple[str, ...]], Any, Any]


def _add_flags(
    flags: dict[int, list[str]], rows: Any, codes: Any, by_code: Mapping[int, Sequence[str]]
) -> None:
    """Rows ``rows`` (ascending) with a code in ``by_code`` get its flags after theirs."""
    codes = np.asarray(codes, dtype=np.int64)
    if isinstance(flags, _RowFlags):
        texts: list[tuple[str, ...]] = [()] * (int(codes.max()) + 1 if len(codes) else 0)
        for c, f in by_code.items():
            if 0 <= c < len(texts) and f:
                texts[c] = tuple(f)
        has = np.array([bool(t) for t in texts], dtype=bool)
        hit = has[codes] if len(codes) else np.zeros(0, dtype=bool)
        flags.add_column(np.asarray(rows, dtype=np.int64)[hit], codes[hit], texts)
        return
    for i, code in zip(np.asarray(rows).tolist(), codes.tolist(), strict=True):
        if code in by_code:
            flags.setdefault(i, []).extend(by_code[code])


def _chunk_flags(flags: Mapping[int, Sequence[str]], n: int) -> _Flags:
    """Rows' flags (by row, as :meth:`_Scorer._flags` gives them) as a chunk's :data:`_Flags`
    (a table worker sends them so: a few sets and an array, not a tuple a row); the run numbers
    sets new to it in the order the mapping gives them first, as it did from the mapping."""
    index: dict[tuple[str, ...], int] = {(): 0}
    codes = np.zeros(n, dtype=np.int32)
    rows = np.fromiter(flags.keys(), dtype=np.int64, count=len(flags))
    if flags:
        codes[rows] = np.fromiter(
            (index.setdefault(tuple(f), len(index)) for f in flags.values()),
            dtype=np.int32,
            count=len(flags),
        )
    return list(index), codes, rows


class _RowFlags(dict[int, list[str]]):
    """Rows' flags from the cell readers (row -> flags, in the order they were added), where a
    reader of an Arrow column may add a whole column's at once (:meth:`add_column`): kept as
    arrays until a row is asked for, so that :meth:`_Scorer._flags` can number them with numpy."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: list[tuple[Any, Any, list[tuple[str, ...]]]] = []  # (rows, codes, texts)

    def add_column(self, rows: Any, codes: Any, texts: list[tuple[str, ...]]) -> None:
        """Rows ``rows`` (ascending) get ``texts[code]`` each, after the flags they have."""
        if not len(rows):
            return
        if super().__len__():  # rows added one by one already: keep to the order of adding
            self._flush()
        self.columns.append((rows, codes, texts))

    def _flush(self) -> None:
        cols, self.columns = self.columns, []
        for rows, codes, texts in cols:
            for i, c in zip(rows.tolist(), codes.tolist(), strict=True):
                super().setdefault(i, []).extend(texts[c])

    def setdefault(self, key: int, default: Any = None) -> Any:
        self._flush()
        return super().setdefault(key, default)

    def get(self, key: int, default: Any = None) -> Any:
        self._flush()
        return super().get(key, default)

    def items(self) -> Any:
        self._flush()
        return super().items()

    def keys(self) -> Any:
        self._flush()
        return super().keys()

    def values(self) -> Any:
        self._flush()
        return super().values()

    def __getitem__(self, key: int) -> list[str]:
        self._flush()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._flush()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[int]:
        self._flush()
        return super().__iter__()

    def __len__(self) -> int:
        self._flush()
        return super().__len__()


# ------------------------------------------------------------------- table


#: The text columns a table worker hands over as Arrow arrays (:meth:`Table.text_array`).
_ARROW_TEXTS: tuple[str, ...] = ("unit", "name")
#: The text columns a table worker hands over as codes into a few distinct values.
_CODED_TEXTS: tuple[str, ...] = ("group", "kind", "role")


class _Texts(Sequence[str]):
    """A table's unit or name column: Arrow string arrays as the table workers send them, made
    Python strings only when a row is asked for (the CSV report and the ranking need none, so
    a national run keeps about 150 bytes a unit less); rows given as Python strings are kept so."""

    def __init__(self) -> None:
        self._list: list[str] = []  # the rows made Python strings (all but those in _pending)
        self._pending: list[Any] = []  # Arrow arrays after _list
        self._arrays: list[Any] | None = []  # every row's array, while every row came in one
        self._n = 0

    def _flush(self) -> list[str]:
        if self._pending:
            for a in self._pending:
                self._list.extend(a.to_pylist())
            self._pending = []
        return self._list

    def add_arrow(self, arr: Any) -> None:
        self._pending.append(arr)
        if self._arrays is not None:
            self._arrays.append(arr)
        self._n += len(arr)

    def extend(self, values: Iterable[str]) -> None:
        lst = self._flush()
        before = len(lst)
        lst.extend(values)
        self._n += len(lst) - before
        if len(lst) > before:
            self._arrays = None

    def append(self, value: str) -> None:
        self.extend([value])

    def arrow(self) -> Any:
        """The column as one Arrow string array."""
        import pyarrow as pa

        if self._arrays is not None:
            return pa.concat_arrays(self._arrays) if self._arrays else pa.array([], pa.string())
        return pa.array(self._flush(), pa.string())

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self._flush()[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flush())

    def __delitem__(self, i: slice) -> None:
        lst = self._flush()
        del lst[i]
        self._n = len(lst)
        self._arrays = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Texts):
            other = other._flush()
        return self._flush() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"_Texts({self._flush()!r})"


@attrs.define(kw_only=True)
class Table:
    """Every unit scored, as compact columns in input order.

    Attributes:
        unit, name, group, kind, role: per row, as loading gives them (repeated
            values share one string).
        files, file_of, rowno: where each row came from (see :meth:`source`).
        total_h: rounded totals in hundredths (at the rulebook's precision); ``vetoed``;
            ``grade`` (index, −1: none).
        cat_h, cat_ok: rounded category scores in hundredths and whether each applies.
        item_h: item points in hundredths (rows × items; int32).
        item_na: whether each item is not applicable (rows × items; bool).
        flag_code: per row, an index into ``flag_sets`` (0: no flags); see :meth:`flags`.
        settled: how many rows the per-unit path scored (not plain, or doubtful).
    """

    plan: Plan
    unit: _Texts = attrs.field(factory=_Texts)
    name: _Texts = attrs.field(factory=_Texts)
    group: list[str] = attrs.field(factory=list)
    kind: list[str] = attrs.field(factory=list)
    role: list[str] = attrs.field(factory=list)
    files: list[str] = attrs.field(factory=list)
    file_of: array.array[int] = attrs.field(factory=lambda: array.array("i"))
    rowno: array.array[int] = attrs.field(factory=lambda: array.array("i"))
    total_h: Any = None
    vetoed: Any = None
    grade: Any = None
    cat_h: Any = None
    cat_ok: Any = None
    item_h: Any = None
    item_na: Any = None
    group_code: array.array[int] = attrs.field(factory=lambda: array.array("i"))
    role_code: array.array[int] = attrs.field(factory=lambda: array.array("b"))
    groups: dict[str, int] = attrs.field(
        factory=dict
    )  # group -> code, in order of first appearance
    roles: dict[str, int] = attrs.field(factory=dict)
    id_bytes: Any = None  # unit ids as UTF-8 (numpy bytes), for sorting ties by id
    nul_ids: bool = False  # some id holds a NUL, which numpy bytes would drop
    _id_parts: list[Any] = attrs.field(factory=list)
    flag_code: array.array[int] = attrs.field(factory=lambda: array.array("i"))
    flag_sets: list[tuple[str, ...]] = attrs.field(factory=lambda: [()])
    settled: int = 0
    #: Where each row's JSON object was written (:class:`UnitObjects`): (rows, 4) int64, or None.
    objects: Any = None
    _parts: list[list[Any]] = attrs.field(factory=lambda: [[] for _ in range(7)])
    _object_parts: list[Any] = attrs.field(factory=list)
    _flag_index: dict[tuple[str, ...], int] = attrs.field(factory=lambda: {(): 0})

    def __len__(self) -> int:
        return len(self.unit)

    def text_array(self, name: str) -> Any:
        """The ``unit``, ``name``, ``group`` or ``role`` column as an Arrow string array."""
        import pyarrow as pa

        if name in _ARROW_TEXTS:
            return getattr(self, name).arrow()
        if name not in ("group", "role"):
            raise ValueError(name)
        # from the codes: each row's code indexes the distinct values in order of first appearance
        values = pa.array(list(self.groups if name == "group" else self.roles), pa.string())
        code = self.group_code if name == "group" else self.role_code
        if not len(code):
            return pa.array([], pa.string())
        dtype = np.int32 if name == "group" else np.int8
        return values.take(pa.array(np.frombuffer(code, dtype=dtype)))

    def source(self, i: int) -> str:
        """Where row ``i`` came from, as loading names it ("town.csv row 4", "x.toml")."""
        f = self.files[self.file_of[i]]
        r = self.rowno[i]
        return f if r == 0 else f"{f} row {r}"

    def file_index(self, shown: str) -> int:
        try:
            return self.files.index(shown)
        except ValueError:
            self.files.append(shown)
            return len(self.files) - 1

    def flags(self, i: int) -> tuple[str, ...]:
        """Row ``i``'s flags (approximate figures, failed consistency checks)."""
        return self.flag_sets[self.flag_code[i]]

    def _add(self, sc: Scores, keep: Any, flags: _Flags, objects: Any = None) -> None:
        """Keep the ``keep`` rows of a scored chunk (their text columns are already appended)."""
        if objects is not None:
            self._object_parts.append(objects[keep])
        sets, local, rows = flags
        codes = local[keep]
        if len(sets) > 1:
            # the sets of the kept rows as the run's codes, new ones numbered in the order
            # the chunk's mapping gave them first
            seq = local[rows[keep[rows]]]
            seq = seq[seq != 0]
            got, at = np.unique(seq, return_index=True)
            to_run = np.zeros(len(sets), dtype=np.int32)
            index = self._flag_index
            for k in got[np.argsort(at)].tolist():
                to_run[k] = index.setdefault(sets[k], len(index))
            if len(index) > len(self.flag_sets):
                self.flag_sets = list(index)
            codes = to_run[codes]
        self.flag_code.frombytes(codes.astype(np.int32).tobytes())
        for part, arr in zip(
            self._parts,
            (
                sc.total_h[keep],
                sc.vetoed[keep],
                sc.grade[keep],
                sc.cat_h[keep].astype(np.int32),
                sc.cat_ok[keep],
                sc.item_h[keep].astype(np.int32),
                sc.status[keep] == _NA,
            ),
            strict=True,
        ):
            part.append(arr)

    def _finish(self) -> None:
        p = self.plan
        n_cats, n_items = len(p.cats), len(p.items)
        empty = (
            np.zeros(0, np.int64),
            np.zeros(0, bool),
            np.zeros(0, np.int16),
            np.zeros((0, n_cats), np.int32),
            np.zeros((0, n_cats), bool),
            np.zeros((0, n_items), np.int32),
            np.zeros((0, n_items), bool),
        )
        cols = []
        for part, none in zip(self._parts, empty, strict=True):
            cols.append(np.concatenate(part) if part else none)
            part.clear()  # one field at a time, so the chunks go as the whole comes
        (
            self.total_h,
            self.vetoed,
            self.grade,
            self.cat_h,
            self.cat_ok,
            self.item_h,
            self.item_na,
        ) = cols
        self.id_bytes = (
            np.concatenate(self._id_parts) if self._id_parts else np.zeros(0, dtype="S1")
        )
        self._id_parts = []
        if self._object_parts:
            self.objects = np.concatenate(self._object_parts)
            self._object_parts = []

    def _truncate(self, n: int) -> None:
        """Forget rows from ``n`` on (a file that turned out unreadable half way)."""
        for lst in (
            self.unit,
            self.name,
            self.group,
            self.kind,
            self.role,
            self.file_of,
            self.rowno,
            self.flag_code,
            self.group_code,
            self.role_code,
        ):
            del lst[n:]
        for part in [*self._parts, self._id_parts, self._object_parts]:
            kept = 0
            keep = []
            for arr in part:
                if kept + len(arr) <= n:
                    keep.append(arr)
                elif kept < n:
                    keep.append(arr[: n - kept])
                kept += len(arr)
            part[:] = keep

    # ------------------------------------------------------------ views

    def _unshown(self, i: int) -> tuple[int, ...]:
        """Row ``i``'s not-applicable items that earn nothing (none in a table built without ``item_na``)."""
        if self.item_na is None:
            return ()
        return tuple(np.flatnonzero(self.item_na[i] & (self.item_h[i] == 0)).tolist())

    def summary(self, i: int) -> UnitSummary:
        """Row ``i`` as the per-unit path's :class:`~fulian_eval.scoring.exact.UnitSummary`."""
        p = self.plan
        places = p.places
        return UnitSummary(
            unit=UnitInfo(
                id=self.unit[i], name=self.name[i], group=self.group[i], kind=self.kind[i]
            ),
            role=self.role[i],
            source=self.source(i),
            total=fmt_hundredths(int(self.total_h[i]), places),
            total_h=int(self.total_h[i]),
            vetoed=bool(self.vetoed[i]),
            grade=p.grade_names[int(self.grade[i])] if self.grade[i] >= 0 else None,
            categories=tuple(
                (
                    c.id,
                    fmt_hundredths(int(self.cat_h[i, k]), places),
                    int(self.cat_h[i, k]),
                    bool(self.cat_ok[i, k]),
                )
                for k, (c, _) in enumerate(p.cats)
            ),
            items=tuple(fmt_hundredths(int(h), places) for h in self.item_h[i]),
            unshown=self._unshown(i),
            flags=self.flags(i),
        )


class HundredthsText:
    """fmt_hundredths over arrays (with ``places`` decimals: the rulebook's precision),
    with the common values made once."""

    def __init__(self, lo: int = -2000, hi: int = 20001, places: int = 2) -> None:
        self.lo = lo
        self.places = places
        self.table = np.array([fmt_hundredths(h, places) for h in range(lo, hi)], dtype=object)

    def many(self, hs: Any) -> list[str]:
        if not len(hs):
            return []
        k = hs - self.lo
        if int(k.min()) >= 0 and int(k.max()) < len(self.table):
            out: list[str] = self.table[k].tolist()
            return out
        return [fmt_hundredths(h, self.places) for h in hs.tolist()]


class RowSink(Protocol):
    """Where scored rows go as they come, in input order (the audit trail's :class:`~fulian_eval.audit.sink.AuditSink`)."""

    def rows(self, t: Table, first: int, n: int) -> None: ...

    def mark(self) -> None: ...

    def back_to_mark(self) -> None: ...


@attrs.frozen(kw_only=True)
class ChunkRows:
    """A scored chunk as :class:`UnitObjects` sees it, while its columns are alive."""

    rb: Rulebook
    n: int
    fields: Mapping[str, Col]  # the value columns, by field name (a field not in the table: absent)
    points: Mapping[str, Col]  # manual items' points, by item id
    keep: Any  # rows kept (bool; a repeat of a unit may still be dropped later)
    exact: Mapping[int, UnitResult]  # rows the per-unit path scored, their full results
    units: Sequence[str]
    names: Sequence[str]
    groups: Sequence[str]
    kinds: Sequence[str]
    roles: Sequence[str]
    reader_flags: Mapping[int, Sequence[str]]  # what reading a row's cells noted
    scores: Scores  # what the columns (and the per-unit path, for its rows) scored
    flags: _Flags  # every row's flags, as the table keeps them
    shown: str
    start: int  # the first row's number
    evidence: Callable[[int], Evidence]  # row i read by the per-unit path (rare rows)


class UnitObjects(Protocol):
    """Where each scored unit's ``score --format json`` object is written as its chunk is
    scored (:mod:`~fulian_eval.report.json_columns`): it gives back where, per row."""

    def part(self, c: ChunkRows) -> Any:
        """The objects of ``c``'s kept rows: (n, 4) int64, per row (file, offset, split, length)."""
        ...

    def one(self, result: UnitResult) -> Any:
        """One unit scored by the per-unit path: (1, 4) int64 as :meth:`part`."""
        ...


@attrs.frozen(kw_only=True)
class StreamResult:
    table: Table
    rejected: tuple[Rejection, ...]
    warnings: tuple[str, ...]


# ------------------------------------------------------------ reading cells


class _Column:
    """One field's column of a table file: how to turn a chunk of its cells into a Col."""

    def __init__(
        self, rb: Rulebook, col: int, name: str, hunit: str, header: str, source: str, strict: bool
    ) -> None:
        self.rb = rb
        self.col = col
        self.name = name
        self.spec = rb.fields[name]
        self.hunit = hunit
        self.place = f"column '{header}'"
        self.source = source
        self.strict = strict
        self.cache: dict[str, tuple[Any, str | None] | None] = {}
        self.factor = conversion_factor(hunit, self.spec.unit) if hunit else Fraction(1)

    def read(self, raw: str) -> tuple[Any, str | None] | None:
        """One odd cell, read exactly as the per-unit path reads it: (value, flag) or None if bad."""
        got = self.cache.get(raw, False)
        if got is not False:
            return got  # type: ignore[return-value]
        rec = EvidenceRecord(self.rb, self.source, self.strict, "row")
        value = rec.value(self.name, raw.strip(), self.place, self.hunit)
        out = (
            None if rec.problems or value is None else (value, rec.flags[-1] if rec.flags else None)
        )
        if len(self.cache) < 100_000:
            self.cache[raw] = out
        return out

    def parse(self, cells: Sequence[str], slow: Any, flags: dict[int, list[str]]) -> Col:
        t = self.spec.type
        if t in ("count", "number", "quantity"):
            return self._numbers(cells, slow, flags)
        # Few distinct values: read each once, then look every cell up.
        n = len(cells)
        meaning: dict[str, tuple[int, Any]] = {}  # raw -> (state, value), state −1: bad
        for raw in set(cells):
            if not raw or raw.isspace():
                meaning[raw] = (MISSING, None)
            elif t == "text":
                meaning[raw] = (OK, raw.strip())
            else:
                got = self.read(raw)
                meaning[raw] = (-1, None) if got is None else (OK, got[0])
        looked = [meaning[c] for c in cells]
        state = np.fromiter((m[0] for m in looked), dtype=np.int8, count=n)
        bad = state < 0
        if bad.any():
            slow |= bad
            state[bad] = MISSING
        st = state if state.any() else 0
        if t == "bool":
            return Col(
                "bool", b=np.fromiter((bool(m[1]) for m in looked), dtype=bool, count=n), s=st
            )
        if t == "set":
            noted = {
                raw: got[1]
                for raw in meaning
                if meaning[raw][0] == OK
                and (got := self.read(raw)) is not None
                and got[1] is not None
            }
            if (
                noted
            ):  # a member one edit from a required name: flagged as the per-unit path flags it
                for i, c in enumerate(cells):
                    if c in noted:
                        flags.setdefault(i, []).append(noted[c])
            codes: dict[frozenset[str], int] = {frozenset(): 0}
            code_of = {
                raw: codes.setdefault(m[1], len(codes)) if m[1] is not None else 0
                for raw, m in meaning.items()
            }
            idx = np.fromiter((code_of[c] for c in cells), dtype=np.intp, count=n)
            return Col("set", b=idx, s=st, table=tuple(codes))
        text = np.empty(n, dtype=object)
        text[:] = [m[1] if m[1] is not None else "" for m in looked]
        return Col("str", b=text, s=st)

    def odd_number(self, raw: str) -> tuple[Fraction, str | None] | Literal[False] | None:
        """A number cell that is not plain, in the header's unit: (value, flag); None for a
        blank; False where the per-unit path must take the row (a bad value, or one too
        large to keep exact in int64)."""
        if not raw or raw.isspace():
            return None
        got = self.read(raw)
        if got is None:
            return False
        value, flag = got
        if self.factor != 1:  # read() gives the field's unit; _scaled converts again
            value = value / self.factor
        if abs(value.numerator) >= SMALL or value.denominator >= SMALL:
            return False
        return value, flag

    def parse_arrow(self, arr: Any, slow: Any, flags: dict[int, list[str]]) -> Col:
        """:meth:`parse` for an Arrow string array: numbers without a Python object per cell.

        Plain whole numbers (up to 18 digits) and plain decimals (up to 11 + 7 digits) are
        parsed by Arrow's kernels into exact numerators and a power-of-ten denominator;
        every other cell (``1000余``, ``8659 人``, a blank) is read once per distinct text
        by :meth:`read`, as :meth:`_numbers` reads it. Other field types go through :meth:`parse`.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_integer(arr.type):  # a Parquet table's integers (ParquetTable.batches)
            return self._ints(arr, slow, flags)
        if self.spec.type not in ("count", "number", "quantity"):
            # Few distinct cells (是/否, lists of registers): read each distinct text once,
            # as parse() reads a chunk, then give every row its distinct text's reading.
            enc = pc.dictionary_encode(arr)
            codes = enc.indices.to_numpy()
            distinct = enc.dictionary.to_pylist()
            d_slow = np.zeros(len(distinct), dtype=bool)
            d_flags: dict[int, list[str]] = {}
            col = self.parse(distinct, d_slow, d_flags)
            slow |= d_slow[codes]
            if d_flags:
                _add_flags(flags, np.arange(len(codes)), codes, d_flags)
            s = col.s if isinstance(col.s, int) else col.s[codes]
            return Col(col.kind, b=col.b[codes], s=s, table=col.table)

        n = len(arr)
        digits = pc.ascii_is_decimal(arr)  # false for a blank
        if n and pc.all(digits).as_py() and pc.max(pc.binary_length(arr)).as_py() <= 18:
            # Every cell a plain whole number (the common column): one cast, no masks.
            qn = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)
            return self._scaled(qn, 1, 0, slow)
        empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
        whole = pc.and_(digits, pc.less_equal(pc.binary_length(arr), 18)).to_numpy(
            zero_copy_only=False
        )
        qn = np.zeros(n, dtype=np.int64)
        qd: Any = 1
        if whole.any():
            qn[whole] = pc.cast(pc.filter(arr, pa.array(whole)), pa.int64()).to_numpy()
        dec = np.zeros(n, dtype=bool)
        rest = ~(empty | whole)
        if self.spec.type != "count" and rest.any():
            # a count's decimals are read (and refused) one by one
            at = np.flatnonzero(rest)
            sub = pc.take(arr, pa.array(at))
            dot = pc.find_substring(sub, ".")
            tail_len = pc.subtract(pc.subtract(pc.binary_length(sub), dot), 1)
            ok = pc.and_(
                pc.and_(
                    pc.and_(pc.greater_equal(dot, 1), pc.less_equal(dot, 11)),
                    pc.and_(pc.greater_equal(tail_len, 1), pc.less_equal(tail_len, 7)),
                ),
                pc.ascii_is_decimal(pc.replace_substring(sub, ".", "", max_replacements=1)),
            )
            dec[at] = ok.to_numpy(zero_copy_only=False)
        if dec.any():
            parts = pc.split_pattern(pc.filter(arr, pa.array(dec)), ".")
            head, tail = pc.list_element(parts, 0), pc.list_element(parts, 1)
            places = int(pc.max(pc.utf8_length(tail)).as_py())
            tail = pc.utf8_rpad(tail, width=places, padding="0")
            scale = 10**places
            qn[dec] = (
                pc.cast(head, pa.int64()).to_numpy() * scale + pc.cast(tail, pa.int64()).to_numpy()
            )
            qd = np.ones(n, dtype=np.int64)
            qd[dec] = scale
        state = np.where(empty, MISSING, OK).astype(np.int8)
        odd = ~(empty | whole | dec)
        if odd.any():
            at = np.flatnonzero(odd)
            enc = pc.dictionary_encode(pc.take(arr, pa.array(at)))
            codes = enc.indices.to_numpy()
            k = len(enc.dictionary)
            o_state = np.full(k, OK, dtype=np.int8)
            o_slow = np.zeros(k, dtype=bool)
            o_num = np.zeros(k, dtype=np.int64)
            o_den = np.ones(k, dtype=np.int64)
            o_flag: dict[int, str] = {}
            for j, raw in enumerate(enc.dictionary.to_pylist()):
                got = self.odd_number(raw)
                if got is None:
                    o_state[j] = MISSING
                    continue
                if got is False:
                    o_slow[j], o_state[j] = True, MISSING
                    continue
                value, flag = got
                if flag is not None:
                    o_flag[j] = flag
                o_num[j], o_den[j] = value.numerator, value.denominator
            state[at] = o_state[codes]
            slow[at] |= o_slow[codes]
            qn[at] = o_num[codes]
            if (o_den != 1).any():
                if isinstance(qd, int):
                    qd = np.ones(n, dtype=np.int64)
                qd[at] = o_den[codes]
            if o_flag:
                _add_flags(flags, at, codes, {c: [f] for c, f in o_flag.items()})
        return self._scaled(qn, qd, state if state.any() else 0, slow)

    def _ints(self, arr: Any, slow: Any, flags: dict[int, list[str]]) -> Col:
        """:meth:`parse_arrow` for an Arrow integer array of a number field: the values as
        they are, a null missing. A column with a negative value or one of more than 18
        digits is read as its digits, as the CSV cells holding them are read."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(arr)
        if n and arr.null_count < n:
            lo, hi = pc.min_max(arr).values()
            if lo.as_py() < 0 or hi.as_py() >= 10**18:
                return self.parse_arrow(pc.cast(arr, pa.string()).fill_null(""), slow, flags)
        qn = pc.cast(arr.fill_null(0), pa.int64()).to_numpy(zero_copy_only=False)
        state: State = 0
        if arr.null_count:
            state = np.where(arr.is_null().to_numpy(zero_copy_only=False), MISSING, OK).astype(
                np.int8
            )
        return self._scaled(qn, 1, state, slow)

    def _numbers(self, cells: Sequence[str], slow: Any, flags: dict[int, list[str]]) -> Col:
        n = len(cells)
        given = cells
        blank: State = 0
        if "" in cells:  # empty cells are missing evidence; read the rest as usual
            empty = np.fromiter((not c for c in cells), dtype=bool, count=n)
            blank = np.where(empty, MISSING, OK).astype(np.int8)
            cells = [c or "0" for c in cells]
        joined = "|".join(cells)
        plain = (
            not joined.translate(_NUM_CHARS)
            and ".|" not in joined
            and not joined.endswith(".")
            and "|." not in joined
            and not joined.startswith(".")
        )
        if plain and "." not in joined:
            try:
                qn = np.array(cells, dtype=np.int64)
            except (ValueError, OverflowError):
                plain = False
            else:
                return self._scaled(qn, 1, blank, slow)
        if plain and max(map(len, cells)) <= 15:
            try:
                v = np.array(cells, dtype=np.float64)
            except ValueError:
                plain = False
            else:
                for places in range(1, 8):
                    scale = 10**places
                    qn = np.rint(v * scale)
                    if np.max(np.abs(qn)) >= EXACT_INT:
                        break
                    if np.array_equal(qn / scale, v):
                        qi = qn.astype(np.int64)
                        if self.spec.type == "count":
                            frac = qi % scale != 0
                            if frac.any():
                                slow |= frac
                                qi = np.where(frac, 0, qi)
                        return self._scaled(qi, scale, blank, slow)
        # Some cells are not plain whole numbers: parse the plain ones together and
        # read the rest one by one, as the per-unit path reads them (memoized).
        cells = given
        odd = [i for i, c in enumerate(cells) if not (c.isdigit() and c.isascii())]
        patched = list(cells)
        for i in odd:
            patched[i] = "0"
        try:
            qn = np.array(patched, dtype=np.int64)
        except (ValueError, OverflowError):
            qn = np.zeros(n, dtype=np.int64)
            odd = list(range(n))
        qd: Any = 1
        state = np.zeros(n, dtype=np.int8)
        for i in odd:
            got = self.odd_number(cells[i])
            if got is None:
                state[i] = MISSING
                continue
            if got is False:
                slow[i] = True
                state[i] = MISSING
                continue
            value, flag = got
            if flag is not None:
                flags.setdefault(i, []).append(flag)
            qn[i] = value.numerator
            if value.denominator != 1:
                if isinstance(qd, int):
                    qd = np.ones(n, dtype=np.int64)
                qd[i] = value.denominator
        return self._scaled(qn, qd, state if state.any() else 0, slow)

    def _scaled(self, qn: Any, qd: Any, state: Any, slow: Any) -> Col:
        """Cells are in the header's unit: convert to the field's, exactly.

        Values too large to convert in int64 go to the per-unit path.
        """
        f = self.factor
        if f != 1:
            fn, fd = f.numerator, f.denominator
            big = (np.abs(qn) >= LIMIT // fn) | (np.asarray(qd) >= LIMIT // fd)
            if big.any():
                slow |= big
                qn = np.where(big, 0, qn)
                qd = np.where(big, 1, qd) if isinstance(qd, np.ndarray) else qd
            qn = qn * fn
            qd = qd * fd
        col = Col.ratio(qn, qd, state)
        if (
            col.bn >= SMALL or col.bd >= SMALL
        ):  # keep exact forms small; the plan reduces as it goes
            g = np.gcd(np.asarray(qn), np.asarray(qd))
            g = np.where(g == 0, 1, g)
            col = Col.ratio(qn // g, np.asarray(qd) // g, state)
        return col


class _Points:
    """A manual item's ``points:`` column."""

    def __init__(self, rb: Rulebook, col: int, item_id: str, header: str, source: str) -> None:
        self.rb = rb
        self.col = col
        self.item_id = item_id
        self.place = f"column '{header}'"
        self.source = source
        self.cache: dict[str, Fraction | None] = {}

    def parse(self, cells: Sequence[str], slow: Any) -> Col:
        n = len(cells)
        qn = np.zeros(n, dtype=np.int64)
        qd = np.ones(n, dtype=np.int64)
        state = np.zeros(n, dtype=np.int8)
        cache = self.cache
        for i, raw in enumerate(cells):
            if not raw or raw.isspace():
                state[i] = MISSING
                continue
            got = cache.get(raw, False)
            if got is False:
                rec = EvidenceRecord(self.rb, self.source, False, "row")
                got = rec.points(self.item_id, raw.strip(), self.place)
                if rec.problems or (
                    got is not None and (abs(got.numerator) >= SMALL or got.denominator >= SMALL)
                ):
                    got = None
                if len(cache) < 100_000:
                    cache[raw] = got
            if got is None:
                slow[i] = True
                state[i] = MISSING
                continue
            qn[i], qd[i] = got.numerator, got.denominator
        return Col.ratio(qn, qd, state if state.any() else 0)


# ------------------------------------------------------------------ streaming


@attrs.define(kw_only=True)
class _Part:
    """A chunk of rows scored, before it joins the run (see :meth:`_Scorer._merge`): its text
    columns packed (:func:`_packed`), as a table worker sends them."""

    n: int
    texts: dict[str, Any]  # unit, name as Arrow string arrays
    coded: dict[str, tuple[list[str], Any]]  # group, kind, role: (distinct values, int32 codes)
    nul: bool  # some unit id holds a NUL (which numpy bytes would drop)
    sc: Scores
    keep: Any
    redo: Any
    rejected: list[tuple[int, Rejection]]
    flags: _Flags  # every row's flags (rows a repeat drops included)
    ids: Any  # units as UTF-8 bytes (numpy), for ties
    objects: Any = None  # where each row's JSON object went (UnitObjects.part), or None
    _lists: dict[str, list[str]] = attrs.field(factory=dict)

    def column(self, key: str) -> list[str]:
        """The ``unit``, ``name``, ``group``, ``kind`` or ``role`` column as Python strings (made
        once, where rows are taken one by one)."""
        got = self._lists.get(key)
        if got is None:
            if key in self.texts:
                got = self.texts[key].to_pylist()
            else:
                values, codes = self.coded[key]
                got = np.array(values, dtype=object)[codes].tolist() if values else [""] * self.n
            self._lists[key] = got
        return got


class _ArrowTexts:
    """A chunk's unit or name column as an Arrow string array, made a list of Python strings
    only if a row is asked for or changed (a row the per-unit path scored, a survey)."""

    def __init__(self, arr: Any) -> None:
        self.arr: Any = arr  # None once made a list
        self._list: list[str] = []

    def list(self) -> list[str]:
        if self.arr is not None:
            self._list, self.arr = self.arr.to_pylist(), None
        return self._list

    def arrow(self) -> Any:
        import pyarrow as pa

        return self.arr if self.arr is not None else pa.array(self._list, pa.string())

    def __len__(self) -> int:
        return len(self.arr) if self.arr is not None else len(self._list)

    def __getitem__(self, i: int) -> str:
        return self.list()[i]

    def __setitem__(self, i: int, v: str) -> None:
        self.list()[i] = v

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())


def _plain_strings(arr: Any) -> bool:
    """Whether ``arr`` is an Arrow string array without nulls (a CSV table's cells)."""
    import pyarrow as pa

    return bool(arr.type == pa.string() and arr.null_count == 0)


def _all_set(texts: Any) -> bool:
    """Whether no text of a column is empty."""
    if isinstance(texts, _ArrowTexts) and texts.arr is not None:
        import pyarrow.compute as pc

        return not len(texts.arr) or bool(pc.min(pc.binary_length(texts.arr)).as_py() > 0)
    return all(texts)


def _meta_arrow(arr: Any) -> Any:
    """:func:`_meta_texts` of a mostly distinct column (ids, names) as an Arrow string array:
    only the cells that are not plain go through Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.match_substring_regex(arr, _PLAIN_META)
    if not len(arr) or pc.all(plain).as_py():
        return arr
    odd = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    fixed = [nfc(x.strip()) for x in arr.take(pa.array(odd)).to_pylist()]
    return pc.replace_with_mask(arr, pc.invert(plain), pa.array(fixed, pa.string()))


def _arrow_id_bytes(arr: Any) -> Any:
    """:func:`_id_bytes` of an Arrow string array, from its buffers (no Python object a row)."""
    n = len(arr)
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + n + 1].astype(np.int64)
    lens = np.diff(off)
    w = max(1, int(lens.max()) if n else 1)
    out = np.zeros((n, w), dtype=np.uint8)
    total = int(off[-1] - off[0]) if n else 0
    if total:
        data = np.frombuffer(bufs[2], dtype=np.uint8)[off[0] : off[-1]]
        rows = np.repeat(np.arange(n), lens)
        at = np.arange(total) - np.repeat(off[:-1] - off[0], lens)
        out[rows, at] = data
    return out.view(f"S{w}").reshape(n)


def _packed(units: Any, names: Any, **coded: list[str]) -> dict[str, Any]:
    """A chunk's text columns as :class:`_Part` holds them: units and names as Arrow arrays,
    the others as codes into their distinct values (in order of first appearance)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(texts: Any) -> Any:
        return texts.arrow() if isinstance(texts, _ArrowTexts) else pa.array(texts, pa.string())

    u, nm = arrow(units), arrow(names)
    out: dict[str, Any] = {
        "texts": {"unit": u, "name": nm},
        "nul": bool(len(u)) and bool(pc.any(pc.match_substring(u, "\x00")).as_py()),
    }
    codes = {}
    for key, values in coded.items():
        enc = pa.array(values, pa.string()).dictionary_encode()
        codes[key] = (
            enc.dictionary.to_pylist(),
            enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False),
        )
    out["coded"] = codes
    return out


def _codes(known: dict[str, int], values: list[str]) -> Iterable[int]:
    """Each value's code in ``known``; new values get the next codes, in order of first appearance."""
    if known.keys() >= set(values):
        return map(known.__getitem__, values)
    return [known.setdefault(v, len(known)) for v in values]


def _run_codes(known: dict[str, int], values: list[str], codes: Any) -> Any:
    """:func:`_codes` for a column given as codes into ``values``: the run's code of each row
    (int64), values new to ``known`` numbered in order of first appearance among the rows."""
    got, first = np.unique(codes, return_index=True)
    run = np.zeros(len(values), dtype=np.int64)
    for k in got[np.argsort(first)].tolist():
        run[k] = known.setdefault(values[k], len(known))
    return run[codes]


#: FNV-1a (64-bit) over a unit id's bytes, then a finalizer (splitmix64's) to spread the bits.
_FNV_START, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def _key_hashes(ids: Any, role_hash: Any) -> Any:
    """A 64-bit hash of each row's unit id (numpy bytes, no NUL in any) and role (``role_hash``:
    each row's role's hash), for the check that a key is new to the run (:meth:`_Scorer._new_keys`)."""
    n = len(ids)
    w = ids.dtype.itemsize
    h = np.full(n, _FNV_START, dtype=np.uint64)
    if n and w:
        b = np.ascontiguousarray(ids).view(np.uint8).reshape(n, w)
        for j in range(w):
            c = b[:, j].astype(np.uint64)
            h = np.where(c != 0, (h ^ c) * _FNV_PRIME, h)  # the zero bytes pad a shorter id
    h ^= role_hash
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _id_bytes(units: list[str]) -> Any:
    """Unit ids as a numpy bytes array of their UTF-8 (the table's tie-break by id)."""
    return np.array([u.encode("utf-8") for u in units], dtype=np.bytes_)


class _Scorer:
    """Scores chunks of one rulebook's table rows into a :class:`Table`."""

    def __init__(
        self,
        plan: Plan,
        strict: bool,
        sink: RowSink | None = None,
        surveys: SurveyData | None = None,
        objects: UnitObjects | None = None,
    ) -> None:
        self.plan = plan
        self.surveys = surveys
        self.objects = objects
        self.rb = plan.rb
        self.strict = strict
        self.sink = sink
        self.table = Table(plan=plan)
        self.rejected: list[Rejection] = []
        self.warnings: list[str] = []
        self.seen: set[str | tuple[str, str]] = set()  # units (with their role, if not self) taken
        self.first: dict[str | tuple[str, str], int] | None = (
            None  # key -> row, made at the first repeat
        )
        self._by_file: dict[str, tuple[list[_Column], list[_Points]]] = {}
        # While every row's key was checked by hash (_new_keys), the sorted hashes of the keys
        # taken (runs of decreasing size, merged as they come), and seen holds none of them
        self._hashing = True
        self._levels: list[Any] = []
        self._pool: dict[str, str] = {}

    # one unit at a time (TOML files, rows the columns cannot take)

    def _key(self, unit: str, role: str) -> str | tuple[str, str]:
        return unit if role == "self" else (unit, role)

    def _duplicate(self, unit: str, role: str, source: str) -> Rejection | None:
        self._settle()
        key = self._key(unit, role)
        if key not in self.seen:
            self.seen.add(key)
            if self.first is not None:
                self.first[key] = len(self.table.unit)
            return None
        if self.first is None:  # rare: index every row once, then keep it up to date
            t = self.table
            self.first = {}
            for i in range(len(t.unit)):
                self.first.setdefault(self._key(t.unit[i], t.role[i]), i)
        return Rejection(
            source=source,
            unit=unit,
            error=duplicate_message(source, unit, role, self.table.source(self.first[key])),
        )

    def add_exact(self, outcomes: Iterable[Evidence | Rejection]) -> None:
        for o in outcomes:
            if isinstance(o, Rejection):
                self.rejected.append(o)
                continue
            dup = self._duplicate(o.unit.id, o.role, o.source)
            if dup is not None:
                self.rejected.append(dup)
                continue
            res = score(self.rb, o)
            sc = self.plan.blank(1)
            self.plan.settle(sc, 0, res)
            path, row = split_source(o.source)
            self._append(
                [o.unit.id], [o.unit.name], [o.unit.group], [o.unit.kind], [o.role], path, [row]
            )
            self.table.settled += 1
            objects = None if self.objects is None else self.objects.one(res)
            self._keep(sc, np.ones(1, dtype=bool), _chunk_flags({0: res.flags}, 1), objects)

    def _intern(self, values: list[str]) -> Iterable[str]:
        """``values`` with repeated texts sharing one string (a column has few distinct ones)."""
        pool = self._pool
        canon = {v: pool.setdefault(v, v) for v in set(values)}
        return map(canon.__getitem__, values)

    def _append(
        self,
        units: list[str],
        names: list[str],
        groups: list[str],
        kinds: list[str],
        roles: list[str],
        shown: str,
        rownos: Sequence[int],
    ) -> None:
        """Rows' text columns onto the table, one by one (:meth:`_append_part`: a chunk's)."""
        t = self.table
        t.unit.extend(units)
        t.name.extend(names)
        t.group.extend(self._intern(groups))
        t.kind.extend(self._intern(kinds))
        t.role.extend(self._intern(roles))
        t.group_code.extend(_codes(t.groups, groups))
        t.role_code.extend(_codes(t.roles, roles))
        if units:
            t._id_parts.append(_id_bytes(units))
            t.nul_ids = t.nul_ids or "\x00" in "".join(units)
        f = t.file_index(shown)
        t.file_of.extend([f] * len(units))
        t.rowno.extend(rownos)

    # a chunk of CSV rows

    def add_rows(
        self,
        layout: TableLayout,
        shown: str,
        start: int,
        rows: list[list[str]],
        typed: list[list[Any]] | None = None,
    ) -> None:
        """Score rows ``start``, ``start + 1`` … of a table (cells as text; ``typed``: the
        cells as an XLSX sheet gave them, numbers and dates, which the per-unit path reads)."""
        width = layout.width
        n = len(rows)
        slow = np.zeros(n, dtype=bool)
        given: dict[int, list[Any]] = {}  # rows as read, where the per-unit path needs them so
        if typed is not None:
            for i, r in enumerate(rows):
                given[i] = typed[i]
                if r is _ODD_CELLS:  # a cell the text form cannot stand for (a date, say)
                    slow[i] = True
                    rows[i] = ["" if c is None else str(c) for c in typed[i]]
        if any(
            len(r) != width or r.__class__ is not list for r in rows
        ):  # short, long or unreadable rows
            for i, r in enumerate(rows):
                if len(r) != width or r.__class__ is not list:
                    slow[i] = True
                    given.setdefault(i, r)
                    rows[i] = (r + [""] * width)[:width]
        cols: list[Sequence[str]] = (
            list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
        )
        self._score_chunk(layout, shown, start, n, rows, cols, given, slow)

    def add_batch(
        self,
        layout: TableLayout,
        shown: str,
        start: int,
        batch: Any,
        bad: dict[int, list[Any]] | None = None,
    ) -> None:
        """Score the rows of an Arrow record batch of a table's text cells (a CSV table's, see
        :func:`_arrow_batches`, or a Parquet table's, a list of string arrays; ``bad``: rows
        the per-unit path reads, by index, as it reads them).

        Number columns are parsed in vectorized form straight from the Arrow strings; other
        columns, and the few rows the per-unit path needs, as Python text.
        """
        cols: list[Any] = list(batch) if isinstance(batch, list) else list(batch.columns)
        n = len(cols[0]) if cols else 0
        slow = np.zeros(n, dtype=bool)
        given: dict[int, list[Any]] = {}
        if bad:
            given.update(bad)
            slow[list(bad)] = True
        self._score_chunk(layout, shown, start, n, _BatchRows(cols), cols, given, slow)

    def _score_chunk(
        self,
        layout: TableLayout,
        shown: str,
        start: int,
        n: int,
        rows: Any,
        cols: list[Any],
        given: Mapping[int, list[Any]],
        slow: Any,
    ) -> None:
        """The rows of a chunk as columns (text lists, or Arrow arrays): scored and kept."""
        self._merge(
            self._score_part(layout, shown, start, n, rows, cols, given, slow), shown, start
        )

    def _score_part(
        self,
        layout: TableLayout,
        shown: str,
        start: int,
        n: int,
        rows: Any,
        cols: list[Any],
        given: Mapping[int, list[Any]],
        slow: Any,
    ) -> _Part:
        """:meth:`_score_chunk`'s scoring: what depends on the chunk alone (no state of the run),
        so that another process can do it (:func:`_score_block`)."""
        plan, rb = self.plan, self.rb
        meta = layout.meta
        ucol = meta["unit"]

        def texts(c: int) -> Sequence[str]:
            col = cols[c]
            if not isinstance(col, (list, tuple)):
                col = cols[c] = col.to_pylist()
            return col  # type: ignore[no-any-return]

        def meta_col(key: str, default: str = "") -> Any:
            c = meta.get(key)
            if c is None:
                return [default] * n
            col = cols[c]
            if isinstance(col, (list, tuple)):
                return [nfc(x.strip()) for x in col]
            if key in ("unit", "name") and _plain_strings(col):
                return _ArrowTexts(_meta_arrow(col))
            return _meta_texts(col, distinct=key in ("unit", "name"))

        units = meta_col("unit")
        blank = np.zeros(n, dtype=bool)
        if not _all_set(
            units
        ):  # no unit id: a blank row (skipped), or one the per-unit path rejects
            for i, u in enumerate(units):
                if not u:
                    if not is_blank_row(given.get(i, rows[i])):
                        slow[i] = True
                    else:
                        blank[i] = True
        names = meta_col("name")
        if self.surveys is not None:  # a surveyed unit's row takes the per-unit path (SPEC §10.9)
            has = self.surveys.has
            for i, u in enumerate(units):
                if has(u, names[i]):
                    slow[i] = True
        groups = meta_col("group")
        kinds = meta_col("kind")
        roles = meta_col("role")
        known = rb.roles.ids if rb.roles is not DEFAULT_ROLES else _ROLES
        if not set(roles) <= set(
            known
        ):  # blank, a title (自评) or not a role: to ids, or the per-unit path
            for i, role in enumerate(roles):
                if role not in known:
                    got = rb.roles.resolve(role) if role else rb.roles.first
                    if got is None:
                        slow[i] = True
                    else:
                        roles[i] = got
        if "date" in meta:
            for i, d in enumerate(texts(meta["date"])):
                if d.strip() and not _date_ok(d.strip()):
                    slow[i] = True
        flags: dict[int, list[str]] = _RowFlags()
        fields: dict[str, Col] = {}
        readers, point_readers = self._readers(layout, shown)
        for c in readers:
            col = cols[c.col]
            if isinstance(col, (list, tuple)):
                fields[c.name] = c.parse(col, slow, flags)
            else:
                fields[c.name] = c.parse_arrow(col, slow, flags)
        points: dict[str, Col] = {}
        for p in point_readers:
            if p.item_id in plan.manual:
                points[p.item_id] = p.parse(texts(p.col), slow)
            else:  # unknown or not manual: the per-unit path rejects the row
                for i, raw in enumerate(texts(p.col)):
                    if raw.strip():
                        slow[i] = True
        if self.strict:
            self._strict(fields, points, flags, slow)
        must_fields, must_points = self.rb.must_report
        if must_fields or must_points:  # on_missing = "reject": the per-unit path rejects such rows
            self._lacking(fields, points, must_fields, must_points, slow)
        sc = plan.run_columns(fields, points, n)
        keep = ~blank
        redo = (slow | sc.doubt) & ~blank
        rejected: list[
            tuple[int, Rejection]
        ] = []  # reported in row order, bad rows and repeats alike
        exact: dict[int, UnitResult] = {}
        for i in map(int, np.flatnonzero(redo)):
            rowno = start + i
            cells = given.get(i, rows[i])
            try:
                ev = table_evidence(rb, layout, shown, rowno, cells, self.strict, self.surveys)
            except EvidenceError as exc:
                uid = cells[ucol] if ucol < len(cells) else ""
                rejected.append(
                    (
                        i,
                        Rejection(
                            source=f"{shown} row {rowno}",
                            unit=str(uid),
                            error=str(exc),
                            problems=exc.problems,
                        ),
                    )
                )
                keep[i] = False
                continue
            res = score(rb, ev)
            plan.settle(sc, i, res)
            if self.objects is not None:
                exact[i] = res
            units[i], names[i], groups[i], kinds[i], roles[i] = (
                ev.unit.id,
                ev.unit.name,
                ev.unit.group,
                ev.unit.kind,
                ev.role,
            )
        chunk_flags = self._chunk_flags(sc, keep, flags, n)
        objects = None
        if self.objects is not None:

            def evidence(i: int) -> Evidence:
                cells = given.get(i, rows[i])
                return table_evidence(
                    rb, layout, shown, start + i, cells, self.strict, self.surveys
                )

            objects = self.objects.part(
                ChunkRows(
                    rb=rb,
                    n=n,
                    fields=fields,
                    points=points,
                    keep=keep,
                    exact=exact,
                    units=units,
                    names=names,
                    groups=groups,
                    kinds=kinds,
                    roles=roles,
                    reader_flags=flags,
                    scores=sc,
                    flags=chunk_flags,
                    shown=shown,
                    start=start,
                    evidence=evidence,
                )
            )
        return _Part(
            n=n,
            objects=objects,
            **_packed(units, names, group=groups, kind=kinds, role=roles),
            ids=_arrow_id_bytes(units.arr)
            if isinstance(units, _ArrowTexts) and units.arr is not None
            else _id_bytes(list(units)),
            sc=sc,
            keep=keep,
            redo=redo,
            rejected=rejected,
            flags=chunk_flags,
        )

    def _merge(self, part: _Part, shown: str, start: int) -> None:
        """A scored chunk into the run: repeats of a unit rejected, rows kept, the audit fed."""
        sc, keep, redo, rejected, flags = part.sc, part.keep, part.redo, part.rejected, part.flags
        kept = np.flatnonzero(keep)
        idx = None if len(kept) == part.n else kept  # None: every row kept (the common chunk)
        if self._new_keys(part, idx):
            self._append_part(part, idx, shown, start)
        else:
            units, roles = part.column("unit"), part.column("role")
            rows = kept.tolist()
            keys = [units[i] if roles[i] == "self" else (units[i], roles[i]) for i in rows]
            base = len(self.table)
            if len(set(keys)) == len(keys) and self.seen.isdisjoint(keys):
                self.seen.update(keys)
                if self.first is not None:
                    self.first.update(zip(keys, range(base, base + len(keys)), strict=True))
                self._append_part(part, idx, shown, start)
            else:  # a repeated unit and role: the first stays, later ones are rejected
                names, groups, kinds = (part.column(k) for k in ("name", "group", "kind"))
                for i in rows:
                    source = f"{shown} row {start + i}"
                    dup = self._duplicate(units[i], roles[i], source)
                    if dup is not None:
                        rejected.append((i, dup))
                        keep[i] = False
                        continue
                    self._append(
                        [units[i]],
                        [names[i]],
                        [groups[i]],
                        [kinds[i]],
                        [roles[i]],
                        shown,
                        [start + i],
                    )
        rejected.sort(key=lambda ir: ir[0])
        self.rejected.extend(r for _, r in rejected)
        self.table.settled += int((redo & keep).sum())
        self._keep(sc, keep, flags, part.objects)

    def _new_keys(self, part: _Part, idx: Any) -> bool:
        """Whether the kept rows' keys (unit and role) are new to the run and to each other, told
        by 64-bit hashes with numpy (and then noted), while every row so far was checked so.
        False: the Python set of keys must say (a hash met again, an id with a NUL, a run with
        rows checked one by one); from then on it always does (:meth:`_settle`)."""
        if not self._hashing:
            return False
        if part.nul:
            self._settle()
            return False
        values, codes = part.coded["role"]
        role_hash = np.array([hash(v) for v in values], dtype=np.int64).view(np.uint64)
        if idx is not None:
            codes = codes[idx]
        if not len(codes):
            return True
        h = np.sort(
            _key_hashes(part.ids if idx is None else part.ids[idx], role_hash[codes]),
            kind="stable",
        )
        clash = bool((h[1:] == h[:-1]).any())
        for level in self._levels:
            if clash:
                break
            at = np.minimum(np.searchsorted(level, h), len(level) - 1)
            clash = bool((level[at] == h).any())
        if clash:
            self._settle()
            return False
        levels = self._levels
        levels.append(h)
        while len(levels) > 1 and len(levels[-2]) <= len(levels[-1]):  # sorted runs, merged
            top = levels.pop()
            levels[-1] = np.sort(np.concatenate([levels[-1], top]), kind="stable")
        return True

    def _settle(self) -> None:
        """The keys of the rows only hashes stood for (:meth:`_new_keys`) into the Python set;
        the hashes forgotten, and not used again in this run."""
        if not self._hashing:
            return
        self._hashing = False
        self._levels = []
        t = self.table
        self.seen.update(u if r == "self" else (u, r) for u, r in zip(t.unit, t.role, strict=True))

    def _forget(self, mark: int) -> None:
        """Forget the keys of the table's rows from ``mark`` on (their file is read again another
        way, or rejected whole); the caller then cuts the table back."""
        if self._hashing and mark == 0:
            self._levels = []
        else:
            self._settle()
            t = self.table
            for i in range(mark, len(t.unit)):
                self.seen.discard(self._key(t.unit[i], t.role[i]))
        self.first = None

    def _append_part(self, part: _Part, idx: Any, shown: str, start: int) -> None:
        """A chunk's rows ``idx`` (None: all) onto the table's text columns."""
        t = self.table
        if idx is None:
            for k in _ARROW_TEXTS:
                getattr(t, k).add_arrow(part.texts[k])
            m = part.n
            rownos = np.arange(start, start + m, dtype=np.int32)
        else:
            import pyarrow as pa

            at = pa.array(idx, pa.int64())
            for k in _ARROW_TEXTS:
                getattr(t, k).add_arrow(part.texts[k].take(at))
            m = len(idx)
            rownos = (start + idx).astype(np.int32)
        pool = self._pool
        for key, lst, code_of, known, dtype in (
            ("group", t.group, t.group_code, t.groups, np.int32),
            ("kind", t.kind, None, None, None),
            ("role", t.role, t.role_code, t.roles, np.int8),
        ):
            values, codes = part.coded[key]
            if idx is not None:
                codes = codes[idx]
            if not m:
                continue
            shared = np.array([pool.setdefault(v, v) for v in values], dtype=object)
            lst.extend(shared[codes].tolist())
            if code_of is not None and known is not None:
                code_of.frombytes(_run_codes(known, values, codes).astype(dtype).tobytes())
        if m:
            t._id_parts.append(part.ids if idx is None else part.ids[idx])
            if part.nul and not t.nul_ids:
                units = part.column("unit")
                t.nul_ids = "\x00" in "".join(units if idx is None else [units[i] for i in idx])
        f = t.file_index(shown)
        t.file_of.frombytes(np.full(m, f, dtype=np.int32).tobytes())
        t.rowno.frombytes(rownos.tobytes())

    def _keep(self, sc: Scores, keep: Any, flags: _Flags, objects: Any = None) -> None:
        """Keep the scored rows whose text columns were just appended; pass them on to the audit."""
        self.table._add(sc, keep, flags, objects)
        if self.sink is not None:
            n = int(keep.sum())
            if n:
                self.sink.rows(self.table, len(self.table) - n, n)

    def _chunk_flags(self, sc: Scores, keep: Any, flags: dict[int, list[str]], n: int) -> _Flags:
        """:func:`_chunk_flags` of :meth:`_flags`, with numpy where the readers' flags came as
        columns (:class:`_RowFlags`) and no row was scored by the per-unit path: each row's
        flags (the readers', column by column, then its failed checks' messages) as a key of
        codes, every distinct key's flags made once; the rows the per-unit path scored take
        its flags, after the others, as :meth:`_flags` has them."""
        k = sc.checks.shape[1]
        if (
            not isinstance(flags, _RowFlags)
            or dict.__len__(flags)
            or k > 62
            or not (flags.columns or k)
        ):
            return _chunk_flags(self._flags(sc, keep, flags), n)
        cols = flags.columns
        key = np.zeros((n, len(cols) + 1), dtype=np.int64)
        for j, (rows, codes, _texts) in enumerate(cols):
            key[rows, j] = codes + 1
        if k:
            weights = np.array([1 << j for j in range(k)], dtype=np.int64)
            key[:, -1] = sc.checks @ weights
        settled = np.zeros(n, dtype=bool)
        settled[list(sc.flags)] = True
        taken = (key[:, -1] != 0) | settled
        checked = np.flatnonzero(taken & keep & ~settled)
        # the readers' rows in the order the mapping had them: column by column, new rows
        order = [checked]
        for col in cols:
            new = col[0][~taken[col[0]]]
            taken[new] = True
            order.append(new[keep[new]])
        seq = np.concatenate(order)
        codes = np.zeros(n, dtype=np.int32)
        sets: list[tuple[str, ...]] = [()]
        if len(seq):
            # the key as one int64 where its columns' ranges fit (np.unique on rows sorts slowly)
            spans = [len(col[2]) + 1 for col in cols] + [1 << k]
            if float(np.prod(np.array(spans, dtype=np.float64))) < 2.0**62:
                packed = np.zeros(len(seq), dtype=np.int64)
                for j, span in enumerate(spans):
                    packed = packed * span + key[seq, j]
                _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
                distinct = key[seq][first]
            else:
                distinct, first, inverse = np.unique(
                    key[seq], axis=0, return_index=True, return_inverse=True
                )
            rank = np.empty(len(distinct), dtype=np.int32)
            by_first = np.argsort(first, kind="stable")
            rank[by_first] = np.arange(1, len(distinct) + 1, dtype=np.int32)
            codes[seq] = rank[inverse.reshape(-1)]
            messages = [consistency_flag(c) for c in self.rb.consistency]
            for d in by_first.tolist():
                row = distinct[d].tolist()
                got: list[str] = []
                for j, col in enumerate(cols):
                    if row[j]:
                        got.extend(col[2][row[j] - 1])
                c = row[-1]
                got.extend(m for j, m in enumerate(messages) if c >> j & 1)
                sets.append(tuple(got))
        if sc.flags:  # rows the per-unit path scored: its flags, last
            index = {f: c for c, f in reversed(list(enumerate(sets)))}
            more = [i for i, f in sc.flags.items() if keep[i] and f]
            for i in more:
                codes[i] = index.setdefault(sc.flags[i], len(sets))
                if codes[i] == len(sets):
                    sets.append(sc.flags[i])
            seq = np.concatenate([seq, np.array(more, dtype=np.int64)])
        return sets, codes, seq

    def _flags(
        self, sc: Scores, keep: Any, flags: dict[int, list[str]]
    ) -> dict[int, tuple[str, ...]]:
        """Each kept row's flags: the reader's (approximate figures), then failed consistency checks."""
        plan = self.plan
        out: dict[int, tuple[str, ...]] = {}
        k = sc.checks.shape[1]
        messages = [consistency_flag(c) for c in self.rb.consistency]
        if k:
            weights = np.array([1 << j for j in range(min(k, 62))], dtype=np.int64)
            codes = sc.checks[:, : len(weights)] @ weights
            rows = np.flatnonzero(sc.checks.any(axis=1) & keep).tolist()
            by_code: dict[int, tuple[str, ...]] = {}
            for i in rows:
                if i in sc.flags:
                    continue
                if k > 62:
                    out[i] = plan.flags_of(sc, i, flags.get(i, ()))
                    continue
                c = int(codes[i])
                tail = by_code.get(c)
                if tail is None:
                    tail = by_code[c] = tuple(m for j, m in enumerate(messages) if c >> j & 1)
                out[i] = (*flags.get(i, ()), *tail)
        for i, fl in flags.items():
            if i not in out and i not in sc.flags and keep[i]:
                out[i] = tuple(fl)
        for i, fl2 in sc.flags.items():
            if keep[i] and fl2:
                out[i] = fl2
        return out

    @staticmethod
    def _lacking(
        fields: dict[str, Col],
        points: dict[str, Col],
        must_fields: frozenset[str],
        must_points: frozenset[str],
        slow: Any,
    ) -> None:
        """Rows that lack a value an ``on_missing = "reject"`` item needs go to the per-unit path."""
        for cols, names in ((fields, must_fields), (points, must_points)):
            for name in names:
                c = cols.get(name)
                if c is None:
                    slow[:] = True
                elif not isinstance(c.s, int):
                    slow |= c.s != OK

    def _strict(
        self, fields: dict[str, Col], points: dict[str, Col], flags: dict[int, list[str]], slow: Any
    ) -> None:
        """--strict: rows with a missing value or an approximate figure go to the per-unit path."""
        for name in self.rb.fields:
            c = fields.get(name)
            if c is None:
                slow[:] = True
            elif not isinstance(c.s, int):
                slow |= c.s != OK
        for iid in self.plan.manual:
            c = points.get(iid)
            if c is None:
                slow[:] = True
            elif not isinstance(c.s, int):
                slow |= c.s != OK
        for i in flags:
            slow[i] = True

    def _readers(self, layout: TableLayout, shown: str) -> tuple[list[_Column], list[_Points]]:
        """The cell readers of a file's columns, made once per file (their memos last the file)."""
        got = self._by_file.get(shown)
        if got is None:
            cols = [
                _Column(self.rb, c, name, hunit, h, shown, self.strict)
                for c, name, hunit, h in layout.fields
            ]
            pts = [_Points(self.rb, c, iid, h, shown) for c, iid, h in layout.points]
            got = self._by_file[shown] = (cols, pts)
        return got


#: A cell that ``nfc(cell.strip())`` leaves as it is: printable ASCII and CJK unified ideographs
#: (each its own NFC form, none combining), neither end a space. Village names and ids are.
_PLAIN_META = (
    r"^[\x21-\x7e\x{4e00}-\x{9fff}]([\x20-\x7e\x{4e00}-\x{9fff}]*[\x21-\x7e\x{4e00}-\x{9fff}])?$"
)


def _meta_texts(arr: Any, distinct: bool = False) -> list[str]:
    """A meta column (unit, name, group, role …) of an Arrow batch as ``nfc(cell.strip())`` each.

    Few distinct cells (groups, roles): each distinct text once (``distinct``: the column is
    known to be mostly distinct, ids and names, and this is not tried). Otherwise cells of
    printable ASCII and CJK ideographs without edge spaces are kept as they are, and only
    the others go through Python.
    """
    import pyarrow.compute as pc

    n = len(arr)
    if not distinct:
        enc = pc.dictionary_encode(arr)
        if len(enc.dictionary) * 4 <= n:
            fixed = np.array([nfc(x.strip()) for x in enc.dictionary.to_pylist()], dtype=object)
            out: list[str] = fixed[enc.indices.to_numpy()].tolist()
            return out
    texts: list[str] = arr.to_pylist()
    plain = pc.match_substring_regex(arr, _PLAIN_META).to_numpy(zero_copy_only=False)
    if not plain.all():
        for i in np.flatnonzero(~plain).tolist():
            texts[i] = nfc(texts[i].strip())
    return texts


def _crs_end_lines(c: bytes) -> bool:
    """Whether every carriage return in ``c`` is followed by a line feed (one at the very end
    may be: the next chunk says). numpy, not ``bytes.count``: a CRLF table has one a line."""
    a = np.frombuffer(c, dtype=np.uint8)
    at = np.flatnonzero(a[:-1] == 13)
    return bool((a[at + 1] == 10).all())


class _PlainScan:
    """A file's chunks (as :func:`~fulian_eval.io.tables.file_chunks` gives them), noting on the
    way whether the whole file is plain CSV for the Arrow reader: no quote or NUL byte, and
    carriage returns only in CRLF line ends. ``plain`` is None until a pass reached the end."""

    def __init__(self, chunks: Callable[[], Iterable[bytes]]) -> None:
        self.chunks = chunks
        self.plain: bool | None = None

    def __call__(self) -> Iterator[bytes]:
        ok, cr = True, False  # cr: the last chunk ended in a carriage return
        for c in self.chunks():
            if ok:
                if b'"' in c or b"\0" in c or (cr and not c.startswith(b"\n")):
                    ok = False
                elif b"\r" in c:
                    cr = c.endswith(b"\r")
                    if not _crs_end_lines(c):  # a CR that is not a line end
                        ok = False
                else:
                    cr = False
            yield c
        self.plain = ok and not cr


class _BatchRows:
    """Rows of an Arrow batch, made as lists of text only where asked for (the per-unit path's rows)."""

    def __init__(self, cols: list[Any]) -> None:
        self.cols = cols

    def __getitem__(self, i: int) -> list[str]:
        return [c[i] if isinstance(c, (list, tuple)) else cell_text(c, i) for c in self.cols]


#: Bytes of CSV text per Arrow batch (whole lines; about 9,500 rows of the town table). Each
#: block is parsed by Arrow on every core; larger blocks cost memory (Arrow's allocator keeps
#: a block's buffers) and save little.
ARROW_BLOCK = 1 << 22
#: Where each unit's JSON object is written as it is scored (``objects``), a row costs a
#: hundred times more: tables from this size on go to the workers, in blocks this size.
OBJECTS_BLOCK = 1 << 20


class _CsvBlocks:
    """A plain CSV table's rows after its header, as Arrow record batches of text columns.

    The file is read a block of whole lines at a time (a plain table has no newline inside a
    cell) and each block is parsed by :func:`pyarrow.csv.read_csv` with its threads: memory
    stays one block or two, where Arrow's streaming reader would read 32 blocks ahead.
    A row of another width raises :class:`pyarrow.ArrowInvalid` in its block's turn.
    """

    def __init__(self, path: Path, width: int, block: int = ARROW_BLOCK) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.block = block
        names = [f"c{k}" for k in range(width)]
        self._pa, self._pcsv, self._names = pa, pcsv, names
        self._parse = pcsv.ParseOptions(
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        )
        self._convert = pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        self.path = path
        self._f: IO[bytes] | None = None
        self._pos = 0

    def __enter__(self) -> _CsvBlocks:
        self._f = open_regular(self.path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._f is not None:
            self._f.close()

    def tell(self) -> int:
        """Bytes read so far (the progress shown)."""
        return self._pos

    def _batch(self, block: bytes, first: bool) -> Any:
        pa, pcsv = self._pa, self._pcsv
        t = pcsv.read_csv(
            pa.BufferReader(block),
            read_options=pcsv.ReadOptions(
                skip_rows=int(first), column_names=self._names, use_threads=True
            ),
            parse_options=self._parse,
            convert_options=self._convert,
        )
        return t.combine_chunks().to_batches() if t.num_rows else []

    def blocks(self) -> Iterator[tuple[int, bytes, bool]]:
        """The file's bytes after :meth:`__enter__`, a block of whole lines at a time: (its
        offset in the file, the block, whether it is the first, which starts with the header)."""
        f = self._f
        assert f is not None, "read inside 'with'"
        rest: list[bytes] = []  # the start of a line the last block cut
        first = True
        at = 0  # where the next block starts
        while True:
            data = f.read(self.block)
            self._pos += len(data)
            if not data:
                if rest:
                    yield at, b"".join(rest), first
                return
            cut = data.rfind(b"\n")
            if cut < 0:  # a line longer than a block
                rest.append(data)
                continue
            block = b"".join([*rest, data[: cut + 1]]) if rest else data[: cut + 1]
            rest = [data[cut + 1 :]] if cut + 1 < len(data) else []
            yield at, block, first
            at += len(block)
            first = False

    def cuts(self) -> Iterator[tuple[int, int, bool, int]]:
        """Where :meth:`blocks` would cut, without joining the blocks' bytes: (offset, size,
        whether it is the first, how many table rows it holds), for workers that read their
        block themselves. Line ends are counted by numpy (``bytes.count`` goes a byte at a
        time)."""
        f = self._f
        assert f is not None, "read inside 'with'"
        carried = 0  # bytes of a line the last read cut, and whether they hold a line end
        first = True
        at = 0
        lines = 0
        while True:
            data = f.read(self.block)
            self._pos += len(data)
            if not data:
                if carried:  # the last line, without a line end
                    yield at, carried, first, lines + 1 - int(first)
                return
            cut = data.rfind(b"\n")
            if cut < 0:  # a line longer than a block
                carried += len(data)
                continue
            lines += int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 10))
            size = carried + cut + 1
            yield at, size, first, lines - int(first)
            at += size
            carried = len(data) - cut - 1
            first = False
            lines = 0

    def __iter__(self) -> Iterator[Any]:
        for _at, block, first in self.blocks():
            yield from self._batch(block, first)


#: Tables of at least this many bytes are scored by worker processes, block by block, when
#: the machine has more than one core (fork start method): the parent reads, merges and feeds
#: the audit trail in input order, so every report is the same as scored in one process.
PARALLEL_BYTES = 32 << 20

#: What a forked worker scores with: set by the parent just before its workers start.
_FORKED: tuple[_Scorer, TableLayout, str, Path, bool] | None = None
#: A worker's open table (path, file), read with pread.
_WORKER_FILE: list[Any] = []


def _score_block(at: int, size: int, first: bool, start: int) -> list[_Part]:
    """A worker's task: the block of ``size`` bytes at ``at`` of a plain table (whole lines, as
    the parent cut it), parsed and scored (:meth:`_Scorer._score_part`)."""
    import pyarrow.compute as pc

    assert _FORKED is not None
    sc, layout, shown, path, unchecked = _FORKED
    if not _WORKER_FILE or _WORKER_FILE[0] != path:
        _WORKER_FILE[:] = [path, open_regular(path)]
    block = os.pread(_WORKER_FILE[1].fileno(), size, at)
    if len(block) != size:
        raise OSError(_("the file changed while it was read"))
    if unchecked and (  # as _PlainScan checks a whole file (a block ends with a line end)
        b'"' in block or b"\0" in block or block.endswith(b"\r") or not _crs_end_lines(block)
    ):
        raise _NotPlain
    parts = []
    for batch in _CsvBlocks(Path(), layout.width)._batch(block, first):
        cols: list[Any] = list(batch.columns)
        for col in cols:
            if len(col) and pc.max(pc.binary_length(col)).as_py() > MAX_CELL_CHARS:
                raise _NotPlain
        n = batch.num_rows
        part = sc._score_part(
            layout, shown, start, n, _BatchRows(cols), cols, {}, np.zeros(n, dtype=bool)
        )
        parts.append(part)
        start += n
    return parts


def _workers() -> int:
    """Worker processes for a large table: ``FULIAN_EVAL_WORKERS`` if set (0: none), else one per
    core this process may use (at most 4); none on one core, where fork is not the way
    processes start, or where the process runs threads of its own (a caller's threads could
    hold locks a forked child would inherit)."""
    import multiprocessing
    import threading

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    want = min(cores, 4)
    given = os.environ.get("FULIAN_EVAL_WORKERS", "").strip()
    if given.isdigit():
        want = int(given)
    if want < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    main = threading.main_thread()
    if any(
        t is not main and not t.name.startswith("QueueFeederThread")  # the audit trail's pipe
        for t in threading.enumerate()
    ):
        return 0
    return want


def _parallel_rows(
    sc: _Scorer,
    stream: _CsvBlocks,
    shown: str,
    layout: TableLayout,
    progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
    workers: int,
    unchecked: bool = False,
) -> None:
    """:func:`_arrow_rows`'s loop with the blocks scored by ``workers`` forked processes and
    merged here in input order (at most two blocks a worker in flight; ``unchecked``: each
    worker checks that its block is plain CSV, Arrow's reader that it is UTF-8)."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    global _FORKED
    _FORKED = (sc, layout, shown, stream.path, unchecked)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        ahead: deque[tuple[Future[list[_Part]], int, int]] = deque()
        start = 2

        def merge_one() -> None:
            fut, first_row, rows = ahead.popleft()
            parts = fut.result()
            if sum(p.n for p in parts) != rows:  # not one row a line: the csv reader decides
                raise _NotPlain
            row = first_row
            for part in parts:
                sc._merge(part, shown, row)
                row += part.n
            if progress is not None:
                progress(min(total, done + stream.tell()), total)

        for at, size, first, rows in stream.cuts():
            ahead.append((pool.submit(_score_block, at, size, first, start), start, rows))
            start += rows
            while len(ahead) >= 2 * workers:
                merge_one()
        while ahead:
            merge_one()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _FORKED = None


def _arrow_batches(
    path: Path, width: int, plain: bool | None = None, block: int = ARROW_BLOCK
) -> _CsvBlocks | None:
    """A CSV table's rows (after its header) as Arrow batches of text columns (:class:`_CsvBlocks`), or None.

    Only for a table whose every row is one line of plain cells: UTF-8, no quote or NUL
    byte anywhere, and carriage returns only in CRLF line ends (``plain``: what
    :class:`_PlainScan` found, else checked here); anything else, or pyarrow not
    installed, is None and the table takes the :mod:`csv` reader, which knows every
    quoting rule and names every broken row. A row of another width makes the reader
    raise part way; the caller then reads the file again the other way.
    """
    try:
        import pyarrow
        import pyarrow.csv  # noqa: F401
    except ImportError:  # pragma: no cover - the arrow extra is not installed
        return None
    if plain is None:
        scan = _PlainScan(file_chunks(path))
        for _ in scan():
            pass
        plain = scan.plain
    if not plain:
        return None
    return _CsvBlocks(path, width, block)


def _date_ok(text: str) -> bool:
    import datetime as _dt

    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _csv_chunks(records: Iterator[list[str]], size: int) -> Iterator[tuple[int, list[list[str]]]]:
    """The rows of a table (after its header) in chunks of ``size``, with the number of each chunk's first row."""
    start = 2
    while True:
        rows = list(itertools.islice(records, size))
        if not rows:
            return
        yield start, rows
        start += len(rows)


def _cannot_read(shown: str, exc: BaseException) -> Rejection:
    """A file rejected whole because it cannot be read (to its end), as loading says it."""
    return Rejection(
        source=shown,
        error=_("{path}: cannot read: {error}").format(path=shown, error=os_error_text(exc)),
    )


def _plan_stream(
    rb: Rulebook,
    path: Path,
    shown: str,
    pos: int,
    strict: bool,
    ignore_columns: bool,
    jobs: list[tuple[int, str, Any]],
    file_rejects: list[tuple[int, Rejection]],
    header_warnings: dict[int, list[str]],
) -> bool:
    """One file of the input: a CSV's header read and checked (its rows are streamed later);
    an XLSX sheet calamine reads plainly (:meth:`~fulian_eval.io.tables.XlsxSheet.table`)
    read whole, its columns scored later through Arrow; any other file planned as loading
    plans it. Whether it is evidence (as :func:`plan_file`)."""
    suffix = path.suffix.lower()
    if (
        suffix == ".parquet"
        and path.exists()
        and _plan_parquet(rb, path, shown, pos, strict, ignore_columns, jobs, header_warnings)
    ):
        return True
    if suffix in (".xlsx", ".xlsm") and path.exists():
        try:
            sheet = read_xlsx_sheet(path)
            table = sheet.table() if sheet is not None else None
        except (OSError, FileProblem) as exc:
            file_rejects.append(
                (
                    pos,
                    _cannot_read(shown, exc),
                )
            )
            return True
        if table is not None:  # as plan_file plans a table it read
            header, rows = table
            layout = TableLayout(
                rb, header, shown, strict, exact=False, ignore_columns=ignore_columns
            )
            if layout.skip is not None:
                header_warnings[pos] = [layout.skip]
                return False
            header_warnings[pos] = list(layout.warnings)
            if layout.problems:
                file_rejects.append(
                    (
                        pos,
                        Rejection(
                            source=shown,
                            error="\n".join(str(p) for p in layout.problems),
                            problems=tuple(layout.problems),
                        ),
                    )
                )
                return True
            if rows:
                jobs.append((pos, "sheet", (shown, layout, rows)))
            return True
    if suffix != ".csv" or not path.exists():
        tasks: list[Any] = []
        rejected: list[Rejection] = []
        warnings: list[str] = []
        gave = plan_file(rb, path, shown, strict, 0, ignore_columns, tasks, rejected, warnings)
        file_rejects.extend((pos, r) for r in rejected)
        header_warnings[pos] = warnings
        if tasks:
            jobs.append((pos, "tasks", tasks))
        return gave
    if _utf8_start(path):  # a large table: the workers check the rest as they read it
        try:
            with open_text(path, "utf-8-sig") as f:
                header = next(csv_rows(f), [])
        except (OSError, UnicodeDecodeError, csv.Error, FileProblem):
            pass  # the whole file is checked first, as below
        else:
            layout = TableLayout(
                rb, header, shown, strict, exact=True, ignore_columns=ignore_columns
            )
            if not layout.problems and layout.skip is None:
                header_warnings[pos] = layout.warnings
                jobs.append((pos, "csv", (path, shown, layout, None, None)))
                return True
    try:
        scan = _PlainScan(file_chunks(path))
        encoding = text_encoding(scan)  # the whole file, as loading decodes it
        with open_text(path, encoding) as f:
            header = next(csv_rows(f), [])
    except (OSError, UnicodeDecodeError, csv.Error, FileProblem) as exc:
        file_rejects.append(
            (
                pos,
                _cannot_read(shown, exc),
            )
        )
        return True
    layout = TableLayout(rb, header, shown, strict, exact=True, ignore_columns=ignore_columns)
    if layout.problems or layout.skip is not None:
        problem = readable_to_end(
            path, encoding
        )  # loading reads the whole file before it looks at the header
        if problem is not None:
            file_rejects.append(
                (
                    pos,
                    _cannot_read(shown, problem),
                )
            )
            return True
        if layout.skip is not None:
            header_warnings[pos] = [layout.skip]
            return False
        header_warnings[pos] = layout.warnings
        file_rejects.append(
            (
                pos,
                Rejection(
                    source=shown,
                    error="\n".join(str(p) for p in layout.problems),
                    problems=tuple(layout.problems),
                ),
            )
        )
        return True
    header_warnings[pos] = layout.warnings
    jobs.append((pos, "csv", (path, shown, layout, encoding, scan.plain)))
    return True


#: Bytes at the start of a large table that Python's decoder checks as UTF-8 before its rows
#: are scored; the rest is checked (UTF-8, plain CSV) by the table workers' reader, block by
#: block, and a table that fails is checked whole again as loading checks it.
_GUESS_BYTES = 1 << 20


def _utf8_start(path: Path) -> bool:
    """Whether ``path`` is a table the workers will score (:func:`_workers`, at least
    :data:`PARALLEL_BYTES`) whose first :data:`_GUESS_BYTES` read as UTF-8 (no UTF-16 BOM)."""
    import codecs

    try:
        if path.stat().st_size < PARALLEL_BYTES or not _workers():
            return False
        with open_regular(path) as f:
            head = f.read(_GUESS_BYTES)
    except (OSError, FileProblem):
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _plan_parquet(
    rb: Rulebook,
    path: Path,
    shown: str,
    pos: int,
    strict: bool,
    ignore_columns: bool,
    jobs: list[tuple[int, str, Any]],
    header_warnings: dict[int, list[str]],
) -> bool:
    """A Parquet table whose header is good: planned to be streamed batch by batch. False
    for any other (unreadable, a bad header, pyarrow missing): loading plans it, as it rejects it."""
    try:
        with open_parquet(path) as table:
            header = table.header
    except (OSError, ImportError, ValueError):
        return False
    layout = TableLayout(rb, header, shown, strict, exact=False, ignore_columns=ignore_columns)
    if layout.problems or layout.skip is not None:
        return False
    header_warnings[pos] = layout.warnings
    jobs.append((pos, "parquet", (path, shown, layout, "", None)))
    return True


def score_tables(
    plan: Plan,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    chunk: int = CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
    sink: RowSink | None = None,
    ignore_columns: bool = False,
    empty_ok: bool = False,
    surveys: SurveyData | None = None,
    objects: UnitObjects | None = None,
) -> StreamResult:
    """Score every unit under ``paths`` with the compiled ``plan``, streaming CSV and Parquet tables.

    Results are the same as :func:`~fulian_eval.load_evidence` followed by
    :func:`~fulian_eval.scoring.exact` for each unit, in the same order, with the same
    rejections (bad units, repeats of a unit and role) and warnings.

    Args:
        plan: the compiled rulebook (:func:`~fulian_eval.scoring.columnar.compile_plan`).
        paths: evidence files and folders (CSV and Parquet streamed, Parquet batch by
            batch; XLSX read whole, then in chunks; TOML by the per-unit path).
        strict: as for :func:`~fulian_eval.load_evidence`.
        chunk: rows scored together.
        progress: called as ``progress(bytes_read, bytes_total)`` after each chunk.
        sink: receives the scored rows as they come, in input order (the audit trail).
        ignore_columns, empty_ok, surveys: as for :func:`~fulian_eval.load_evidence`; the
            rows of units a survey names take the per-unit path.
        objects: writes each scored unit's JSON object as its chunk is scored (``score
            --format json``); the table's ``objects`` then says where each row's went.

    Raises:
        NoEvidence: a path gives nothing to load, unless ``empty_ok``.
    """
    rb = plan.rb
    sc = _Scorer(plan, strict, sink, surveys, objects)
    # Whole-file problems first, in path order, as loading reports them: missing files,
    # unreadable files, bad headers; then every row's outcome in input order.
    file_rejects: list[tuple[int, Rejection]] = []
    header_warnings: dict[int, list[str]] = {}
    jobs: list[tuple[int, str, Any]] = []
    pos = -1
    for given, files in expand_each(paths):
        gave = False
        first = pos + 1
        for path, shown in files:
            pos += 1
            gave = (
                _plan_stream(
                    rb,
                    path,
                    shown,
                    pos,
                    strict,
                    ignore_columns,
                    jobs,
                    file_rejects,
                    header_warnings,
                )
                or gave
            )
        if not gave and not empty_ok:
            raise no_evidence(
                given, files, [w for k in range(first, pos + 1) for w in header_warnings.get(k, ())]
            )
    total = sum(job[2][0].stat().st_size for job in jobs if job[1] in ("csv", "parquet")) or 1
    done = 0
    for pos, kind, payload in jobs:
        if kind == "sheet":
            if sink is not None:
                sink.mark()
            shown, layout, rows = payload
            _sheet_rows(sc, layout, shown, rows, chunk)
            continue
        if kind == "tasks":
            for task in payload:
                if (
                    isinstance(task, RowsTask) and task.rows
                ):  # an XLSX sheet, read whole: score it in chunks
                    if sink is not None:
                        sink.mark()
                    names = {
                        c
                        for c, name, _, _ in task.layout.fields
                        if rb.fields[name].type in ("set", "text")
                    }
                    for part in _runs(task.rows, chunk):
                        typed = [cells for _, cells in part]
                        sc.add_rows(
                            task.layout,
                            task.shown,
                            part[0][0],
                            [_as_text(c, names) for c in typed],
                            typed,
                        )
                else:
                    sc.add_exact(
                        run_task(rb, task, strict=strict, warnings=sc.warnings, surveys=surveys)
                    )
            continue
        path, shown, layout, encoding, plain = payload
        mark = len(sc.table)
        rejected_before = len(sc.rejected)
        if sink is not None:
            sink.mark()
        settled_before = sc.table.settled
        try:
            if kind == "parquet":
                _parquet_rows(sc, path, shown, layout, chunk, progress, done, total)
            elif not (
                encoding in ("utf-8-sig", None)  # None: UTF-8 so far (_utf8_start)
                and chunk == CHUNK_ROWS
                and plain is not False
                and _arrow_rows(
                    sc, path, shown, layout, progress, done, total, sink, plain, encoding is None
                )
            ):
                if encoding is None:  # not plain UTF-8 after all: as loading reads it
                    encoding = text_encoding(file_chunks(path))
                with open_text(path, encoding) as f:
                    records = csv_rows(f)
                    next(records, None)
                    for start, rows in _csv_chunks(records, chunk):
                        sc.add_rows(layout, shown, start, rows)
                        if progress is not None:
                            progress(min(total, done + _tell(f)), total)
        except (OSError, UnicodeDecodeError, csv.Error, FileProblem) as exc:
            # The file cannot be read to the end: reject it whole, as loading would.
            t = sc.table
            sc._forget(mark)
            del sc.rejected[rejected_before:]
            t._truncate(mark)
            t.settled = settled_before
            header_warnings.pop(pos, None)
            if sink is not None:
                sink.back_to_mark()
            file_rejects.append(
                (
                    pos,
                    _cannot_read(shown, exc),
                )
            )
        done += path.stat().st_size
    if progress is not None:
        progress(total, total)
    sc.table._finish()
    rejected = [r for _, r in sorted(file_rejects, key=lambda pr: pr[0])] + sc.rejected
    warnings = [w for pos in sorted(header_warnings) for w in header_warnings[pos]] + sc.warnings
    if surveys is not None:
        t = sc.table
        warnings += surveys.unmatched(
            [*zip(t.unit, t.name, strict=True), *((r.unit, "") for r in rejected if r.unit)]
        )
    return StreamResult(table=sc.table, rejected=tuple(rejected), warnings=tuple(warnings))


def _arrow_rows(
    sc: _Scorer,
    path: Path,
    shown: str,
    layout: TableLayout,
    progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
    sink: RowSink | None,
    plain: bool | None = None,
    unchecked: bool = False,
) -> bool:
    """Score a CSV table's rows through Arrow batches; False (nothing kept) where it cannot
    (``unchecked``: only the table's start is known to be UTF-8; the workers check the rest)."""
    objects = sc.objects is not None
    least = OBJECTS_BLOCK if objects else PARALLEL_BYTES
    workers = _workers() if path.stat().st_size >= least else 0
    if unchecked and not workers:
        return False
    block = OBJECTS_BLOCK if objects and workers else ARROW_BLOCK
    stream = _arrow_batches(path, layout.width, True if unchecked else plain, block)
    if stream is None:
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    t = sc.table
    mark, rejected_before, settled_before = len(t), len(sc.rejected), t.settled
    seen_before = len(sc.seen)
    start = 2
    try:
        if workers:
            with stream:
                _parallel_rows(sc, stream, shown, layout, progress, done, total, workers, unchecked)
            return True
        with stream, contextlib.closing(_read_ahead(iter(stream))) as batches:
            for batch in batches:
                for col in batch.columns:  # a cell too long for the csv reader: let it say so
                    if len(col) and pc.max(pc.binary_length(col)).as_py() > MAX_CELL_CHARS:
                        raise _NotPlain
                sc.add_batch(layout, shown, start, batch)
                start += batch.num_rows
                if progress is not None:
                    progress(min(total, done + stream.tell()), total)
    except (
        pa.ArrowInvalid,
        _NotPlain,
    ):  # a row of another width, say: read it all again the other way
        if len(sc.seen) != seen_before or len(t) != mark:
            sc._forget(mark)
            t._truncate(mark)
        del sc.rejected[rejected_before:]
        t.settled = settled_before
        if sink is not None:
            sink.back_to_mark()
            sink.mark()
        return False
    return True


def _read_ahead(reader: Iterator[Any]) -> Generator[Any, None, None]:
    """Arrow batches, the next one read in a second thread while this one is scored.

    Arrow parses a block without the GIL, so on two cores reading and scoring overlap; at
    most one batch is read ahead. An error reading a batch is raised here, in its turn.
    """
    from concurrent.futures import ThreadPoolExecutor

    def next_batch() -> Any:
        return next(reader, None)

    with ThreadPoolExecutor(1, thread_name_prefix="fulian-read") as pool:
        ahead = pool.submit(next_batch)
        while True:
            batch = ahead.result()
            if batch is None:
                return
            ahead = pool.submit(next_batch)
            yield batch


def _parquet_rows(
    sc: _Scorer,
    path: Path,
    shown: str,
    layout: TableLayout,
    chunk: int,
    progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
) -> None:
    """Score a Parquet table's rows batch by batch through the Arrow columns (as a plain CSV's).

    Raises:
        OSError, FileProblem: the file cannot be read to its end (the caller rejects it whole).
    """
    size = path.stat().st_size
    # number fields' integer columns are read as numbers, without the trip through text
    numbers = (
        frozenset(
            c
            for c, name, _, _ in layout.fields
            if sc.rb.fields[name].type in ("count", "number", "quantity")
        )
        - set(layout.meta.values())
        - {c for c, _, _ in layout.points}
    )
    with open_parquet(path) as table:
        rows = max(1, table.num_rows)
        for start, cols, bad in table.batches(
            PARQUET_BATCH_ROWS if chunk == CHUNK_ROWS else chunk, numbers
        ):
            sc.add_batch(layout, shown, start, cols, bad)
            if progress is not None:
                got = start - 1 + (len(cols[0]) if cols else 0)
                progress(min(total, done + size * got // rows), total)


def _sheet_rows(
    sc: _Scorer, layout: TableLayout, shown: str, rows: list[list[Any]], chunk: int
) -> None:
    """Score an XLSX sheet's rows (from row 2, as calamine gives them; see
    :meth:`~fulian_eval.io.tables.XlsxSheet.table`) through Arrow text columns.

    Each cell becomes the text :func:`_as_text` makes of the cell openpyxl reads (a whole
    float is openpyxl's int: its digits; another float its shortest repr; a bool true or
    false; empty text no value); a row :func:`_as_text` leaves to the per-unit path (a
    number or bool in a set or text column, a cell of another type) goes there with its
    cells as openpyxl reads them, as before.
    """
    import pyarrow as pa

    rb = sc.rb
    names = {c for c, name, _, _ in layout.fields if rb.fields[name].type in ("set", "text")}
    width = layout.width
    step = max(chunk, 1) if chunk != CHUNK_ROWS else 1 << 16
    for lo in range(0, len(rows), step):
        part = rows[lo : lo + step]
        n = len(part)
        slow = np.zeros(n, dtype=bool)
        cols: list[Any] = []
        columns = list(zip(*part, strict=True))
        for k, col in enumerate(columns):
            kinds = set(map(type, col))
            if kinds <= {str}:
                if k < width:
                    cols.append(pa.array(col, type=pa.string()))
                continue
            if k in names:  # a number or bool in a set or text column
                slow |= np.fromiter((c.__class__ is not str for c in col), dtype=bool, count=n)
            elif not kinds <= {str, float, bool}:
                slow |= np.fromiter(
                    (c.__class__ not in (str, float, bool) for c in col), dtype=bool, count=n
                )
            if k < width:
                cols.append(_cell_texts(col, n))
        for _k in range(len(cols), width):  # the grid is narrower than the header
            cols.append(pa.array([""] * n, type=pa.string()))
        sc._score_chunk(
            layout, shown, lo + 2, n, _BatchRows(cols), cols, _SheetRows(part, width), slow
        )


def _cell_texts(col: Sequence[Any], n: int) -> Any:
    """A column of calamine cells (text, floats, bools) as the Arrow text :func:`_as_text`
    makes of the cells openpyxl reads: whole floats as int digits (Arrow's int64 to string
    cast, which writes what ``str(int)`` writes), other floats by ``repr``, bools as
    true/false, anything else (left to the per-unit path) as ``str``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = set(map(type, col))
    if kinds == {float}:
        f = np.array(col, dtype=np.float64)
        whole = (f == np.trunc(f)) & (np.abs(f) < 2**53)
        ints = pa.array(np.where(whole, f, 0).astype(np.int64)).cast(pa.string())
        if whole.all():
            return ints
        reprs = pa.array([repr(x) for x in f[~whole].tolist()], type=pa.string())
        return pc.replace_with_mask(ints, pa.array(~whole), reprs)
    obj = np.array(col, dtype=object)
    isf = np.fromiter((c.__class__ is float for c in col), dtype=bool, count=n)
    if isf.any():
        at = np.flatnonzero(isf)
        f = obj[at].astype(np.float64)
        whole = (f == np.trunc(f)) & (np.abs(f) < 2**53)
        if whole.any():
            obj[at[whole]] = (
                pa.array(f[whole].astype(np.int64)).cast(pa.string()).to_numpy(zero_copy_only=False)
            )
        if not whole.all():
            obj[at[~whole]] = [repr(x) for x in f[~whole].tolist()]
    if bool in kinds:
        for i in np.flatnonzero(
            np.fromiter((c.__class__ is bool for c in col), dtype=bool, count=n)
        ).tolist():
            obj[i] = "true" if col[i] else "false"
    if not kinds <= {str, float, bool}:
        for i, c in enumerate(col):
            if c.__class__ not in (str, float, bool):
                obj[i] = str(c)
    return pa.array(obj.tolist(), type=pa.string())


class _SheetRows(Mapping[int, list[Any]]):
    """A chunk of a sheet's rows as openpyxl reads them (:meth:`~fulian_eval.io.tables.XlsxSheet.rows`),
    made only for the rows the per-unit path reads."""

    def __init__(self, part: list[list[Any]], width: int) -> None:
        self.part = part
        self.width = width

    def __getitem__(self, i: int) -> list[Any]:
        cells = [int(v) if v.__class__ is float and v.is_integer() else v for v in self.part[i]]
        n = len(cells)
        while n > self.width and cells[n - 1] == "":
            n -= 1
        return cells[:n]

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.part)))

    def __len__(self) -> int:
        return len(self.part)


class _NotPlain(Exception):
    """A table the Arrow reader reads differently from the csv reader."""


def _runs(rows: list[tuple[int, list[Any]]], size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    """A sheet's rows in chunks of at most ``size`` consecutive row numbers (a sheet may skip rows)."""
    a = 0
    while a < len(rows):
        b = a + 1
        while b < len(rows) and b - a < size and rows[b][0] == rows[b - 1][0] + 1:
            b += 1
        yield rows[a:b]
        a = b


_ODD_CELLS: list[str] = []  # stands for a row with a cell only the per-unit path reads


def _as_text(cells: Sequence[Any], names: set[int]) -> list[str]:
    """An XLSX row as CSV text, where the text reads the same: numbers as Python writes
    them (as the per-unit path reads them), yes/no as true/false. A row with a date, or
    with anything but text in a set or text column (``names``), is left to the per-unit path."""
    out = []
    for k, c in enumerate(cells):
        if isinstance(c, str):
            out.append(c)
        elif c is None:
            out.append("")
        elif k in names:
            return _ODD_CELLS
        elif isinstance(c, bool):
            out.append("true" if c else "false")
        elif isinstance(c, int):
            out.append(str(c))
        elif isinstance(c, float):
            out.append(repr(c))
        else:
            return _ODD_CELLS
    return out


def _tell(f: IO[str]) -> int:
    try:
        return f.buffer.tell()  # type: ignore[attr-defined, no-any-return]
    except (AttributeError, OSError, ValueError):
        return 0
