"""Reading evidence tables stored as Parquet (``.parquet``), with pyarrow (the ``arrow`` extra).

A Parquet table is read as a CSV table is (SPEC §10.7): its column names are the header
(field ids or titles, header aliases, the meta columns), and every cell is turned into the
text a CSV cell holding the same value would have, so that both paths — the per-unit path
(:func:`read_parquet`) and the streamed columnar one (:meth:`ParquetTable.batches`) — read
it exactly as they read that CSV text:

- text columns as they are;
- integer columns in decimal digits; decimal columns as their exact digits (``1.50``);
- floating-point columns as the shortest decimal that reads back as the same float
  (``0.1``, ``0.0000001``, never ``1e-07``);
- true/false columns as 是/否; date columns as ``YYYY-MM-DD``;
- a null as an empty cell: missing evidence.

A float that is NaN or infinite, or a text cell longer than a CSV cell may be, is a
:class:`~fulian_eval.io.tables.BadCell`, which rejects its row naming the column. A column
of any other type (lists, structs, binary, timestamps …) rejects the file, naming the
column and its type. Rows are numbered from 1, the first row of data.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..lang.messages import _
from .tables import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_CSV_BYTES,
    MAX_PARQUET_BYTES,
    BadCell,
    FileProblem,
    nfc,
    open_regular,
)

__all__ = [
    "MAX_PARQUET_BYTES",
    "MAX_PARQUET_UNPACKED",
    "PARQUET_BATCH_ROWS",
    "ParquetTable",
    "cell_text",
    "open_parquet",
    "read_parquet",
]

#: A Parquet table unpacks to at most this many bytes (as its footer says): what a CSV table may hold.
MAX_PARQUET_UNPACKED = MAX_CSV_BYTES
#: Rows read from a Parquet table at a time (the streamed path's batches).
PARQUET_BATCH_ROWS = 65_536

YES, NO = "是", "否"


def _pyarrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            _("reading .parquet needs the 'arrow' extra: pip install 'fulian_eval[arrow]'")
        ) from None
    return pa, pc, pq


class ParquetTable:
    """An open Parquet table: its header, then its rows batch by batch as CSV text.

    Close it (or use it in ``with``) when done.
    """

    def __init__(self, path: Path) -> None:
        pa, pc, pq = _pyarrow()
        self._pa, self._pc = pa, pc
        self._file: BinaryIO = open_regular(path, MAX_PARQUET_BYTES)
        try:
            try:
                self._pf = _parquet_file(pq, self._file)
                schema = self._pf.schema_arrow
                meta = self._pf.metadata
                unpacked = sum(
                    meta.row_group(k).total_byte_size for k in range(meta.num_row_groups)
                )
            except Exception as exc:  # pyarrow raises several types for a damaged file
                raise FileProblem(
                    _("not a readable Parquet file ({error})").format(
                        error=f"{type(exc).__name__}: {str(exc).strip()}"
                    )
                ) from None
            if len(schema) > MAX_COLUMNS:
                raise FileProblem(
                    _("the header has {n} columns; a table may have at most {max}").format(
                        n=f"{len(schema):,}", max=f"{MAX_COLUMNS:,}"
                    )
                )
            if unpacked > MAX_PARQUET_UNPACKED:
                raise FileProblem(
                    _(
                        "the Parquet file unpacks to {size} bytes; a Parquet table may unpack to at most {max}"
                    ).format(size=f"{unpacked:,}", max=f"{MAX_PARQUET_UNPACKED:,}")
                )
            self.header = [nfc(str(f.name).strip()) for f in schema]
            for f, title in zip(schema, self.header, strict=True):
                if not _usable(pa, f.type):
                    raise FileProblem(
                        _(
                            "column '{column}' holds values of type {type}, which are not evidence; store it as text, whole numbers, decimals or true/false"
                        ).format(column=title or f.name, type=str(f.type))
                    )
            self.num_rows = int(meta.num_rows)
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> ParquetTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def batches(
        self, size: int = PARQUET_BATCH_ROWS, numbers: frozenset[int] = frozenset()
    ) -> Iterator[tuple[int, list[Any], dict[int, list[Any]]]]:
        """The rows in batches: (number of the batch's first row, its columns as Arrow string
        arrays of CSV text with no nulls, its bad rows by index in the batch).

        A bad row's cells are the row as the per-unit path reads it (a :class:`BadCell`
        where a cell cannot be used); its cells in the string arrays are empty. The
        columns ``numbers`` (indices) that hold integers are given as their integer
        arrays, nulls and all, for a caller that reads them as numbers (the digits they
        stand for are :func:`cell_text`).

        Raises:
            FileProblem: the file is damaged part way.
        """
        start = 1
        it = self._pf.iter_batches(batch_size=size, use_threads=False)
        while True:
            try:
                batch = next(it, None)
            except Exception as exc:  # a damaged page, a bad compressed block
                raise FileProblem(
                    _("the Parquet file is damaged after row {row} ({error})").format(
                        row=f"{start - 1:,}", error=f"{type(exc).__name__}: {str(exc).strip()}"
                    )
                ) from None
            if batch is None:
                return
            n = batch.num_rows
            cols: list[Any] = []
            bad: dict[int, dict[int, BadCell]] = {}
            for k, arr in enumerate(batch.columns):
                if k in numbers and self._pa.types.is_integer(arr.type):
                    cols.append(arr)
                    continue
                text, cells = self._text(arr, start)
                cols.append(text)
                for i, cell in cells.items():
                    bad.setdefault(i, {})[k] = cell
            rows: dict[int, list[Any]] = {}
            if bad:
                for i, got in sorted(bad.items()):
                    row: list[Any] = [cell_text(c, i) for c in cols]
                    for k, cell in got.items():
                        row[k] = cell
                    rows[i] = row
            yield start, cols, rows
            start += n

    def _text(self, arr: Any, start: int) -> tuple[Any, dict[int, BadCell]]:
        """One column of a batch as CSV text (string array, no nulls) and its bad cells by row."""
        pa, pc = self._pa, self._pc
        t = arr.type
        if pa.types.is_dictionary(t):
            arr = arr.dictionary_decode()
            t = arr.type
        bad: dict[int, BadCell] = {}
        if pa.types.is_null(t):
            return pa.array([""] * len(arr), pa.string()), bad
        if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(pa, t):
            text = pc.cast(arr, pa.string()).fill_null("")
            if len(text) and pc.max(pc.utf8_length(text)).as_py() > MAX_CELL_CHARS:
                long = pc.greater(pc.utf8_length(text), MAX_CELL_CHARS).to_numpy(
                    zero_copy_only=False
                )
                for i in np.flatnonzero(long).tolist():
                    bad[i] = BadCell(
                        text[i].as_py()[:20] + "…",
                        _("a cell of more than {max} characters").format(max=f"{MAX_CELL_CHARS:,}"),
                    )
                text = pc.if_else(pa.array(long), "", text)
            return text, bad
        if pa.types.is_boolean(t):
            return pc.if_else(arr, YES, NO).fill_null(""), bad
        if pa.types.is_integer(t) or pa.types.is_date(t):
            return pc.cast(arr, pa.string()).fill_null(""), bad
        if pa.types.is_decimal(t):
            text = pc.cast(arr, pa.string())
            odd = pc.fill_null(pc.match_substring(text, "E", ignore_case=True), False)
            if pc.any(odd).as_py():  # a negative scale: Arrow writes 1E+3
                at = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
                fixed = [format(Decimal(v), "f") for v in arr.take(pa.array(at)).to_pylist()]
                text = pc.replace_with_mask(text, odd, pa.array(fixed, pa.string()))
            return text.fill_null(""), bad
        if pa.types.is_floating(t):
            if pa.types.is_float16(t):
                arr = pc.cast(arr, pa.float32())
                t = arr.type
            finite = pc.is_finite(arr)
            notfinite = pc.invert(pc.fill_null(finite, True)).to_numpy(zero_copy_only=False)
            text = pc.cast(arr, pa.string())
            if notfinite.any():
                for i in np.flatnonzero(notfinite).tolist():
                    raw = str(arr[i].as_py())
                    bad[i] = BadCell(
                        raw,
                        _(
                            "{value} is not a finite number; a Parquet cell must hold a number or be empty (null)"
                        ).format(value=raw),
                    )
                text = pc.if_else(pa.array(notfinite), "", text)
            odd = pc.fill_null(pc.match_substring(text, "e"), False)
            if pc.any(odd).as_py():  # 1e-7, 1e+20: written out in full, as a clerk would
                at = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
                kind = np.float32 if pa.types.is_float32(t) else np.float64
                fixed = [
                    np.format_float_positional(kind(v), unique=True, trim="-")
                    for v in arr.take(pa.array(at)).to_pylist()
                ]
                text = pc.replace_with_mask(text, odd, pa.array(fixed, pa.string()))
            return text.fill_null(""), bad
        raise FileProblem(  # pragma: no cover - the header check refuses such columns
            _("column type {type} cannot be read").format(type=str(t))
        )


def cell_text(col: Any, i: int) -> str:
    """Cell ``i`` of a column :meth:`ParquetTable.batches` gives, as CSV text (an integer
    array's cell as its digits, a null as empty)."""
    v = col[i].as_py()
    return "" if v is None else str(v)


def _parquet_file(pq: Any, f: BinaryIO) -> Any:
    """The file's reader, checking each page's checksum where the writer stored one."""
    try:
        return pq.ParquetFile(f, page_checksum_verification=True)
    except TypeError:  # pragma: no cover - pyarrow before 15
        return pq.ParquetFile(f)


def _is_string_view(pa: Any, t: Any) -> bool:
    check = getattr(pa.types, "is_string_view", None)
    return bool(check(t)) if check is not None else False


def _usable(pa: Any, t: Any) -> bool:
    if pa.types.is_dictionary(t):
        return _usable(pa, t.value_type)
    return bool(
        pa.types.is_null(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or _is_string_view(pa, t)
        or pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date(t)
    )


def open_parquet(path: Path) -> ParquetTable:
    """An open Parquet evidence table (see :class:`ParquetTable`).

    Raises:
        ImportError: pyarrow is not installed.
        OSError, FileProblem: the file cannot be read, is damaged, too big, or has a
            column of a type that is not evidence.
    """
    return ParquetTable(path)


def read_parquet(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """A whole Parquet table: (header, [(row number, cells)]), rows numbered from 1; cells are
    CSV text (see the module), or a :class:`BadCell` where a value cannot be used."""
    with open_parquet(path) as table:
        rows: list[tuple[int, list[Any]]] = []
        for start, cols, bad in table.batches():
            texts = [c.to_pylist() for c in cols]
            n = len(texts[0]) if texts else 0
            for i in range(n):
                got = bad.get(i)
                rows.append((start + i, got if got is not None else [c[i] for c in texts]))
        return table.header, rows
