"""Reading evidence files safely: regular files of bounded size, text in a detected
encoding, CSV records checked for broken quoting, XLSX sheets bounded and read cell by cell.

Both evidence paths — loading unit by unit (:mod:`fulian_eval.io.evidence`) and the
streamed tables (:mod:`fulian_eval.scoring.stream`) — read through here, so that a file is
accepted, or rejected with the same message, whichever path reads it. The limits are
documented in ``docs/evidence.md`` ("Limits on tables and workbooks").
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import itertools
import math
import os
import re
import stat
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ..lang.messages import N_, _

#: A TOML evidence file (one unit) holds at most this many bytes.
MAX_TOML_BYTES = 16 * 2**20
#: A CSV table holds at most this many bytes.
MAX_CSV_BYTES = 4 * 2**30
#: A workbook (.xlsx, .xlsm, .xls) as stored holds at most this many bytes.
MAX_XLSX_BYTES = 256 * 2**20
#: All parts of a workbook together unpack to at most this many bytes (as its zip directory says).
MAX_XLSX_UNPACKED = 2**30
#: Each part of a workbook but its sheets (shared strings, styles …) unpacks to at most this many bytes.
MAX_XLSX_PART = 128 * 2**20
#: A sheet holds at most this many cells with a value (merged ranges filled in).
MAX_XLSX_CELLS = 10_000_000
#: A Parquet table as stored holds at most this many bytes (it unpacks to at most a CSV's worth).
MAX_PARQUET_BYTES = 2**30
#: A table has at most this many columns (Excel's own limit).
MAX_COLUMNS = 16_384
#: Excel's last row.
MAX_XLSX_ROWS = 1_048_576
#: One CSV cell holds at most this many characters (Excel's own limit is 32,767).
MAX_CELL_CHARS = 2**20

_CHUNK = 2**20
#: The sheet of a workbook that holds the evidence when there are several: the data sheet of the
#: form ``fulian-eval template`` writes (beside its 说明 instructions sheet). Else the first sheet.
DATA_SHEET = "填报"
_SAVE_AS = N_("save the file as UTF-8 (Excel: 'CSV UTF-8')")

if csv.field_size_limit() < MAX_CELL_CHARS:
    csv.field_size_limit(MAX_CELL_CHARS)


class FileProblem(ValueError):
    """A file that cannot be read as evidence; the message says why (without the file's name)."""


def nfc(text: str) -> str:
    """Text in Unicode NFC, so that one id typed two ways (composed or not) is one id."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


# ------------------------------------------------------------------- files


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return _("a FIFO (named pipe)")
    if stat.S_ISCHR(mode):
        return _("a character device")
    if stat.S_ISBLK(mode):
        return _("a block device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    if stat.S_ISDIR(mode):
        return _("a folder")
    return _("not a regular file")


def limit_for(path: Path) -> int:
    """The most bytes an evidence file of this kind may hold."""
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return MAX_TOML_BYTES
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return MAX_XLSX_BYTES
    if suffix == ".parquet":
        return MAX_PARQUET_BYTES
    return MAX_CSV_BYTES


def open_regular(path: Path, limit: int | None = None, *, what: str = "evidence") -> BinaryIO:
    """Open an input file: only a regular file of at most ``limit`` bytes.

    A FIFO is opened without waiting for a writer and refused, as are devices
    (``/dev/zero``), folders and sockets, so that no input can hang a run or feed it
    for ever. Every file the program reads (evidence, rulebooks and the files they
    extend, units and waiver files) comes through here. ``what`` names the file in
    the messages: ``evidence`` (the default), ``a rulebook``, ``a units file``.

    Raises:
        OSError: the file cannot be opened.
        FileProblem: not a regular file, or too big.
    """
    limit = limit_for(path) if limit is None else limit
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem(
                _("{kind}, not a regular file; {what} must be a file").format(
                    kind=_kind(st.st_mode), what=_(what)
                )
            )
        if st.st_size > limit:
            raise FileProblem(
                _("{size} bytes; {what} may hold at most {limit} bytes").format(
                    size=f"{st.st_size:,}", what=_holder(what), limit=f"{limit:,}"
                )
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: Path, limit: int | None = None, *, what: str = "evidence") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    limit = limit_for(path) if limit is None else limit
    with open_regular(path, limit, what=what) as f:
        raw = f.read(limit + 1)
    if len(raw) > limit:  # it grew while being read
        raise FileProblem(
            _("more than {limit} bytes; {what} may hold at most {limit} bytes").format(
                what=_holder(what), limit=f"{limit:,}"
            )
        )
    return raw


# What callers name a file in messages (``what``), and what holds it; translated where used.
_WHAT = (N_("evidence"), N_("a rulebook"), N_("a units file"), N_("a waiver file"))
_HOLDER = {"evidence": N_("an evidence file like this"), "a rulebook": N_("a rulebook file")}


def _holder(what: str) -> str:
    return _(_HOLDER.get(what, what))


# ---------------------------------------------------------------- encodings


def _first_bad(chunks: Iterable[bytes], name: str) -> int | None:
    """The offset of the first byte ``name`` cannot decode (counted from the file's start), or None."""
    it = iter(chunks)
    head = b""
    for c in it:
        head += c
        if len(head) >= 3:
            break
    skip = len(codecs.BOM_UTF8) if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else 0
    dec = codecs.getincrementaldecoder(name)()
    offset = skip
    buffered = 0
    try:
        for c in itertools.chain([head[skip:]], it):
            buffered = len(dec.getstate()[0])
            dec.decode(c)
            offset += len(c)
        buffered = len(dec.getstate()[0])
        dec.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return max(0, offset - buffered + exc.start)
    return None


#: Bytes of a file checked by Python's decoder before the rest is checked by Arrow (if installed).
_PY_CHECKED = 8 * _CHUNK


def _arrow_utf8_ok(chunks: Iterator[bytes], carry: bytes) -> bool | None:
    """Whether ``carry`` + the rest of ``chunks`` is valid UTF-8, checked by Arrow's validator
    (C++, some ten times Python's decoder); None if pyarrow is not installed."""
    try:
        import numpy as np
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the arrow extra is not installed
        return None
    for c in chunks:
        data = carry + c if carry else c
        cut = _utf8_cut(data)
        carry = data[cut:]
        body = pa.py_buffer(data[:cut] if cut < len(data) else data)
        offsets = pa.py_buffer(np.array([0, body.size], dtype=np.int64))
        try:
            pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, body]).validate(full=True)
        except pa.ArrowInvalid:
            return False
    return not carry


def _utf8_cut(data: bytes) -> int:
    """Where ``data`` is cut so that no character is split: before a last sequence that is not
    complete (its remaining bytes are in the next chunk), else at its end."""
    end = len(data)
    j = end - 1
    while j >= 0 and end - j <= 3 and data[j] & 0xC0 == 0x80:
        j -= 1
    if j < 0 or data[j] < 0xC0:
        return end
    need = 2 if data[j] < 0xE0 else 3 if data[j] < 0xF0 else 4
    return j if end - j < need else end


def _utf8_first_bad(chunks: Callable[[], Iterable[bytes]]) -> int | None:
    """:func:`_first_bad` for UTF-8: the first bytes by Python's decoder (a GBK file fails at its
    header), the rest of a long file by Arrow; where Arrow finds a bad byte, Python's decoder
    reads the file again to name it."""
    it = iter(chunks())
    head: list[bytes] = []
    size = 0
    for c in it:
        head.append(c)
        size += len(c)
        if size >= _PY_CHECKED:
            break
    else:
        return _first_bad(head, "utf-8")
    dec = codecs.getincrementaldecoder("utf-8")()
    raw = b"".join(head)
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        dec.decode(raw[skip:])
    except UnicodeDecodeError:
        return _first_bad(chunks(), "utf-8")
    ok = _arrow_utf8_ok(it, dec.getstate()[0])
    if ok:
        return None
    return _first_bad(chunks(), "utf-8")


def text_encoding(chunks: Callable[[], Iterable[bytes]]) -> str:
    """The encoding a text file is read in (SPEC §10.7), from its bytes (``chunks()`` gives them, again if asked).

    UTF-8, with or without a BOM (``"utf-8-sig"``); UTF-16 if the file starts with its
    BOM; otherwise GB18030 (a superset of GBK, what Chinese Excel saves), but only if
    the whole file decodes as it — never a guess that reads some bytes wrong.

    Raises:
        FileProblem: no encoding reads the whole file; the message names the first bad byte.
    """
    head = b""
    for c in chunks():
        head += c
        if len(head) >= 3:
            break
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bad = _first_bad(chunks(), "utf-16")
        if bad is None:
            return "utf-16"
        raise FileProblem(
            _("starts as UTF-16 text (its BOM) but byte {byte} is not UTF-16; {fix}").format(
                byte=bad, fix=_(_SAVE_AS)
            )
        )
    bad = _utf8_first_bad(chunks)
    if bad is None:
        return "utf-8-sig"
    if not head.startswith(codecs.BOM_UTF8) and _first_bad(chunks(), "gb18030") is None:
        return "gb18030"
    raise FileProblem(
        _("not UTF-8 text (byte {byte}), nor GB18030/GBK; {fix}").format(byte=bad, fix=_(_SAVE_AS))
    )


def decode_text(raw: bytes) -> str:
    """A whole evidence file's text, in the encoding :func:`text_encoding` finds."""
    return raw.decode(text_encoding(lambda: [raw]))


def file_chunks(path: Path) -> Callable[[], Iterator[bytes]]:
    """A file's bytes, in chunks, from the start each time it is called."""

    def chunks() -> Iterator[bytes]:
        with open_regular(path) as f:
            while True:
                c = f.read(_CHUNK)
                if not c:
                    return
                yield c

    return chunks


def open_text(path: Path, encoding: str | None = None) -> io.TextIOWrapper:
    """A CSV table as text, in ``encoding`` or else the one its bytes say (two passes: detect, then read)."""
    encoding = encoding or text_encoding(file_chunks(path))
    f = open_regular(path)
    try:
        return io.TextIOWrapper(f, encoding=encoding, newline="")
    except BaseException:
        f.close()
        raise


# --------------------------------------------------------------------- CSV


class BadRow(list[Any]):
    """A table row that cannot be read as it stands: its cells (as far as they were read) and why.

    The row is rejected by number, on both paths; its neighbours are read as usual.
    """

    def __init__(self, cells: Iterable[Any], problem: str) -> None:
        super().__init__(cells)
        self.problem = problem


class BadCell:
    """A workbook cell whose value cannot be used (an uncached formula, an Excel error, inf);
    the row it is in is rejected, naming the cell."""

    __slots__ = ("problem", "raw")

    def __init__(self, raw: str, problem: str) -> None:
        self.raw = raw or "?"
        self.problem = problem

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"BadCell({self.raw!r})"


def named_width(header: Sequence[str]) -> int:
    """How many columns a header names: up to its last non-empty cell."""
    n = len(header)
    while n and not str(header[n - 1]).strip():
        n -= 1
    return n


def csv_rows(f: Iterable[str]) -> Iterator[list[str]]:
    """CSV records of a text file: the header, then each row (a :class:`BadRow` where it is broken).

    A quoted cell may hold line breaks (Excel's Alt+Enter). What a stray quote does is
    caught: a quote never closed swallows the rest of the file (the table is rejected,
    naming the row and line); a cell with line breaks in which a line holds a whole row's
    commas joined rows (that row is rejected); text after a closing quote, or a cell of
    more than :data:`MAX_CELL_CHARS` characters on one line, rejects its row.

    Raises:
        FileProblem: the table cannot be read past some row.
    """
    reader = csv.reader(f, strict=True)
    last = 0  # the last physical line read
    rowno = 0
    header: list[str] | None = None
    width = 0
    while True:
        first = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            rowno += 1
            last = reader.line_num
            problem = _quote_problem(str(exc), rowno, first, last)
            if header is None:
                raise FileProblem(
                    _("row 1 (the header): {problem}").format(problem=problem)
                ) from None
            yield BadRow([], problem)
            continue
        rowno += 1
        last = reader.line_num
        if header is None:
            if len(cells) > MAX_COLUMNS:
                raise FileProblem(
                    _("the header has {n} columns; a table may have at most {max}").format(
                        n=f"{len(cells):,}", max=f"{MAX_COLUMNS:,}"
                    )
                )
            header = cells
            width = named_width(cells)
            yield cells
            continue
        if last > first:
            joined = _joined_rows(cells, header, width, first, last)
            if joined:
                yield BadRow(cells, joined)
                continue
        yield cells


def _quote_problem(error: str, rowno: int, first: int, last: int) -> str:
    lines = (
        _("line {first}").format(first=first)
        if last <= first
        else _("lines {first}–{last}").format(first=first, last=last)
    )
    if "unexpected end of data" in error:
        if last > first:
            raise FileProblem(
                _(
                    'row {row}: a quote (") opens a cell at line {first} that is never closed, so lines {first}–{last} (the end of the file) would be one cell; fix the quoting'
                ).format(row=rowno, first=first, last=last)
            )
        return _('{lines}: a quote (") opens a cell that is never closed; fix the quoting').format(
            lines=lines
        )
    if "field larger than field limit" in error:
        if last > first:
            raise FileProblem(
                _(
                    'row {row}: a quote (") opens a cell at line {first} that runs past line {last} and over {max} characters: a quote never closed?; fix the quoting'
                ).format(row=rowno, first=first, last=last, max=f"{MAX_CELL_CHARS:,}")
            )
        return _("{lines}: a cell of more than {max} characters").format(
            lines=lines, max=f"{MAX_CELL_CHARS:,}"
        )
    if "expected after" in error:
        return _(
            '{lines}: a quoted cell goes on after its closing quote ({error}); write "" for a quote inside a quoted cell, or quote the whole cell'
        ).format(lines=lines, error=error)
    return _("{lines}: not valid CSV ({error})").format(lines=lines, error=error)


def _joined_rows(
    cells: Sequence[str], header: Sequence[str], width: int, first: int, last: int
) -> str:
    need = max(1, width - 1)
    for k, c in enumerate(cells):
        if "\n" not in c and "\r" not in c:
            continue
        for line in c.splitlines()[1:]:
            if line.count(",") >= need:
                name = str(header[k]).strip() if k < len(header) else ""
                col = (
                    _("column '{name}'").format(name=name)
                    if name
                    else _("column {n}").format(n=k + 1)
                )
                return _(
                    'lines {first}–{last}: the cell in {column} holds line breaks and a line with {n} commas, like a whole row: a stray quote (") has joined rows into one cell; fix the quoting'
                ).format(first=first, last=last, column=col, n=need)
    return ""


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """A whole CSV table: (header, [(row number, cells)]); the header is row 1."""
    text = decode_text(read_bounded(path, MAX_CSV_BYTES))
    it = csv_rows(io.StringIO(text, newline=""))
    header = next(it, None)
    if header is None:
        return [], []
    return [nfc(h.strip()) for h in header], list(enumerate(it, start=2))


def readable_to_end(path: Path, encoding: str | None = None) -> Exception | None:
    """Why a CSV table cannot be read to its end (as :func:`read_csv` would fail), if it cannot."""
    try:
        with open_text(path, encoding) as f:
            for _ in csv_rows(f):
                pass
    except (OSError, UnicodeDecodeError, FileProblem) as exc:
        return exc
    return None


# -------------------------------------------------------------------- reports

#: How the reports fulian-eval writes begin; such a table in an evidence folder is skipped.
_REPORTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("rank", "group_rank", "unit", "name", "group", "role", "total"), "score or rank"),
    (("名次", "片区名次", "单位", "名称", "片区"), "score or rank"),
    (("rank", "unit", "name", "group"), "crosscheck"),
    (("item", "title", "max", "points", "status"), "explain"),
    (("项目", "考核内容", "分值", "得分"), "explain"),
    (("item", "title", "points", "max", "gain"), "explain --gains"),
    (("项目", "考核内容", "得分", "分值", "可提高总分"), "explain --gains"),
    (("assessor", "unit", "group", "seed"), "plan"),
    (("unit", "group", "seed", "fraction"), "sample"),
)


def report_kind(header: Sequence[str]) -> str | None:
    """Which fulian-eval report a table's header is the header of, if it is one."""
    h = tuple(str(c).strip().lstrip("'") for c in header)
    for sig, what in _REPORTS:
        if h[: len(sig)] == sig:
            return what
    return None


# --------------------------------------------------------------------- XLSX


def _column_letter(col: int) -> str:
    out = ""
    while col > 0:
        col, r = divmod(col - 1, 26)
        out = chr(65 + r) + out
    return out


def cell_ref(row: int, col: int) -> str:
    """An Excel cell reference: (7, 2) -> "B7"."""
    return f"{_column_letter(col)}{row}"


def _check_zip(f: BinaryIO) -> None:
    import zipfile  # a workbook's: not imported where none is read (start-up)

    try:
        z = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise FileProblem(
            _("not a readable .xlsx workbook ({error})").format(
                error=f"{type(exc).__name__}: {exc}"
            )
        ) from None
    infos = z.infolist()
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNPACKED:
        raise FileProblem(
            _(
                "the workbook unpacks to {size} bytes; a workbook may unpack to at most {max} (save the sheet alone, or as CSV)"
            ).format(size=f"{total:,}", max=f"{MAX_XLSX_UNPACKED:,}")
        )
    for i in infos:
        if not i.filename.startswith("xl/worksheets/") and i.file_size > MAX_XLSX_PART:
            raise FileProblem(
                _(
                    "the workbook's part {part} unpacks to {size} bytes; at most {max} (save the sheet as CSV)"
                ).format(part=i.filename, size=f"{i.file_size:,}", max=f"{MAX_XLSX_PART:,}")
            )
    f.seek(0)


def data_sheet_index(names: Sequence[str]) -> int:
    """Which sheet of a workbook is read: the one named :data:`DATA_SHEET` (填报, the form's data
    sheet, so that its instructions sheet is passed over), else the first."""
    for i, name in enumerate(names):
        if nfc(str(name).strip()) == DATA_SHEET:
            return i
    return 0


def _lock_hint(path: Path) -> str:
    return (
        _("; it looks like an Excel lock file (~$…): close the workbook or delete it")
        if path.name.startswith("~$")
        else ""
    )


def read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The data worksheet of a workbook (:func:`data_sheet_index`: the sheet 填报 if there is one,
    else the first): (header, [(Excel row number, cells)]).

    Cells are as Excel holds them (text, int, float, bool, datetime); a merged range
    gives every cell in it the value of its first cell; a cell that cannot be used
    (a formula with no saved value, an Excel error, a number that is not finite) is
    a :class:`BadCell`, which rejects its row.

    How it is read (:func:`read_xlsx_sheet`): python-calamine reads the cells; openpyxl reads
    the workbook's small parts (its sheets, styles and date system) and, cell by cell, the
    few cells a scan of the sheet's XML finds calamine cannot be taken at its word on
    (formulas with no saved value, Excel errors, date-formatted and ISO-date cells, numbers
    written with a point or an exponent that are whole, integers of 16 digits or more,
    numbers that are not finite), so every cell reads as openpyxl alone read it. Where
    calamine is not installed, fails on the workbook, or the sheet's XML is not in the
    plain form the scan checks (a namespace prefix, a cell without its reference first,
    a reference with a leading zero, cells spanning more than :data:`MAX_XLSX_DENSE`
    cells from A1), the whole sheet is read by openpyxl as before
    (:func:`_read_xlsx_openpyxl`), which also gives the messages for a damaged workbook.
    Kept differences from openpyxl alone (see ``docs/evidence.md``), none of which changes
    evidence: a cell holding empty text is an empty cell (it no longer widens its row, and
    a row of only such cells is no row); text written without ``xml:space="preserve"``
    loses the spaces at its ends (cells are read stripped anyway); ``_x000D_``-style
    escapes in text are unescaped as Excel means them (``_x000D_`` is a carriage return);
    calamine's XML reader is more lenient than openpyxl's on some not-well-formed sheets.

    Raises:
        ImportError: openpyxl is not installed.
        OSError, FileProblem: the workbook cannot be read, is damaged or too big.
    """
    sheet = read_xlsx_sheet(path)
    if sheet is None:
        return _read_xlsx_openpyxl(path)
    return sheet.rows()


def _read_xlsx_openpyxl(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """:func:`read_xlsx` by openpyxl alone, cell by cell (the reading before calamine; the
    fallback, and what tests/test_xlsx_calamine.py compares the calamine reading with)."""
    try:
        import openpyxl
    except ImportError:
        raise ImportError(
            _("reading .xlsx needs the 'excel' extra: pip install 'fulian_eval[excel]'")
        ) from None
    lock = _lock_hint(path)
    with open_regular(path, MAX_XLSX_BYTES) as f:
        try:
            _check_zip(f)
        except FileProblem as exc:
            raise FileProblem(f"{exc}{lock}") from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
            except Exception as exc:  # openpyxl and zipfile raise many types for a bad file
                raise FileProblem(
                    _("not a readable .xlsx workbook ({error})").format(
                        error=f"{type(exc).__name__}: {exc}"
                    )
                    + lock
                ) from None
            try:
                if not wb.worksheets:
                    raise FileProblem(_("the workbook has no worksheet"))
                return _read_sheet(wb, wb.worksheets[data_sheet_index(wb.sheetnames)])
            finally:
                wb.close()


#: A sheet whose cells span more than this many cells (from A1 to its last row and column) is
#: read by openpyxl, cell by cell, not by calamine (which holds the whole span in memory).
MAX_XLSX_DENSE = 5_000_000
#: A sheet part that unpacks to more than this is read by openpyxl (streamed), not scanned whole.
_MAX_SCANNED = 512 * 2**20
_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


_DATES = frozenset((_dt.date, _dt.datetime, _dt.time, _dt.timedelta))


class _Fallback(Exception):
    """The sheet is to be read by openpyxl alone (see :func:`read_xlsx`)."""


class XlsxSheet:
    """A workbook's data sheet as calamine read it, with the cells openpyxl read instead."""

    def __init__(
        self,
        name: str,
        grid: list[list[Any]],
        fixed: dict[tuple[int, int], Any],
        floats: set[tuple[int, int]],
        spans: list[tuple[str, int, int, int, int]],
    ) -> None:
        self.name = name
        #: calamine's cells, row 0 being Excel's row 1 and column 0 column A
        self.grid = grid
        #: (row, column), 1-based -> the value openpyxl gives (None: no value)
        self.fixed = fixed
        #: cells of whole numbers openpyxl reads as floats (written with a point or an exponent)
        self.floats = floats
        self.spans = spans

    def value(self, r: int, c: int, v: Any) -> Any:
        """Cell (r, c) (1-based), calamine's ``v``, as openpyxl reads it (None for no value)."""
        if (r, c) in self.fixed:
            return self.fixed[r, c]
        if v.__class__ is float:
            if v.is_integer() and (r, c) not in self.floats:
                return int(v)
            return v
        if v == "":
            return None
        return v

    def rows(self) -> tuple[list[str], list[tuple[int, list[Any]]]]:
        """(header, [(row number, cells)]) as :func:`_read_xlsx_openpyxl` gives them."""
        rows: dict[int, dict[int, Any]] = {}
        cells = 0
        fixed, floats = self.fixed, self.floats
        for r, row in enumerate(self.grid, start=1):
            got: dict[int, Any] = {}
            for c, v in enumerate(row, start=1):
                if v.__class__ is str:
                    if v:
                        got[c] = v
                    continue
                if v.__class__ is float and v.is_integer() and (r, c) not in floats:
                    got[c] = int(v)
                    continue
                got[c] = v
            if got:
                rows[r] = got
                cells += len(got)
        for (r, c), v in fixed.items():
            got = rows.setdefault(r, {})
            if v is None:
                if c in got:
                    del got[c]
                    cells -= 1
            else:
                if c not in got:
                    cells += 1
                got[c] = v
        for r in [r for r, got in rows.items() if not got]:
            del rows[r]
        self.check_cells(cells)
        return _laid_out(self.name, rows, cells, self.spans)

    def table(self) -> tuple[list[str], list[list[Any]]] | None:
        """(header, the grid's rows from row 2 on) where every cell reads as calamine gives it
        but for whole floats (ints in openpyxl) and empty text (no value): no cell openpyxl
        read instead, no whole float openpyxl keeps a float, no merged range. Else None
        (:meth:`rows` reads such a sheet). Rows are of one length, row ``k`` Excel's ``k + 2``.

        Raises:
            FileProblem: more than :data:`MAX_XLSX_CELLS` cells with a value.
        """
        if self.fixed or self.floats or self.spans:
            return None
        grid = self.grid
        if not grid:
            return [], []
        if len(grid) * len(grid[0]) > MAX_XLSX_CELLS:
            self.check_cells(sum(1 for row in grid for v in row if v != ""))
        head = [int(v) if v.__class__ is float and v.is_integer() else v for v in grid[0]]
        width = len(head)
        while width and head[width - 1] == "":
            width -= 1
        return [nfc(str(v).strip()) for v in head[:width]], grid[1:]

    def check_cells(self, cells: int) -> None:
        """Refuse a sheet of more than :data:`MAX_XLSX_CELLS` cells with a value, as openpyxl's reading does."""
        if cells > MAX_XLSX_CELLS:
            raise FileProblem(
                _("the sheet '{sheet}' has more than {max} cells; save it as CSV").format(
                    sheet=self.name, max=f"{MAX_XLSX_CELLS:,}"
                )
            )


def read_xlsx_sheet(path: Path) -> XlsxSheet | None:
    """The data sheet of a workbook as calamine reads it (see :func:`read_xlsx`); None where
    openpyxl alone is to read it.

    Raises:
        OSError, FileProblem: the workbook cannot be read, or is too big.
    """
    lock = _lock_hint(path)
    with open_regular(path, MAX_XLSX_BYTES) as f:
        try:
            _check_zip(f)
        except FileProblem as exc:
            raise FileProblem(f"{exc}{lock}") from None
        try:
            return _calamine_sheet(f)
        except _Fallback:
            return None


class _CalamineThread:
    """calamine parses the data sheet in a thread while :func:`_scan_sheet` finishes.

    calamine lets go of the GIL while it parses a sheet, so on two cores the scan for the
    cells calamine cannot be taken at its word on runs beside the parse. The parse starts
    only once the scan has found the sheet's cells within :data:`MAX_XLSX_DENSE` (calamine
    holds the whole span in memory): :meth:`sheet`. The workbook is opened in the calling
    thread first (calamine reads a Python file holding the GIL, a block at a time). The
    thread is always joined by :meth:`close` before :func:`_calamine_sheet` returns, so none
    is left when the table workers fork.
    """

    def __init__(self, book: Any) -> None:
        import threading

        self._book = book
        self._name: str | None = None
        self._named = threading.Event()
        self.range: Any = None
        self.failed = False
        self._thread = threading.Thread(target=self._run, name="fulian-eval calamine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._named.wait()
            if self._name is not None:
                self.range = self._book.get_sheet_by_name(self._name)
        except BaseException:  # calamine's errors, and a panic (pyo3's PanicException)
            self.failed = True

    def sheet(self, name: str) -> None:
        """Parse the sheet ``name`` (the first call counts)."""
        if not self._named.is_set():
            self._name = name
            self._named.set()

    def close(self) -> Any:
        """Wait for the thread, close the workbook (once): the parsed sheet, or None."""
        self._named.set()
        self._thread.join()
        if self._book is not None:
            try:
                self._book.close()
            except BaseException:  # calamine's errors, and a panic (pyo3's PanicException)
                self.failed = True
            self._book = None
        return None if self.failed else self.range


def _calamine_sheet(f: BinaryIO) -> XlsxSheet:
    try:
        import openpyxl  # noqa: F401 - read by _calamine_read
        import python_calamine
    except ImportError:
        raise _Fallback from None
    try:
        f.seek(0)
        book = python_calamine.CalamineWorkbook.from_filelike(f)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # calamine's errors, and a panic (pyo3's PanicException)
        raise _Fallback from None
    calamine = _CalamineThread(book)
    try:
        return _calamine_read(f, calamine)
    finally:
        calamine.close()


def _calamine_read(f: BinaryIO, calamine: _CalamineThread) -> XlsxSheet:
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            f.seek(0)
            reader = ExcelReader(f, read_only=True, data_only=True)
            reader.read_manifest()
            reader.read_workbook()
            apply_stylesheet(reader.archive, reader.wb)
            wb = reader.wb
            names: list[str] = []
            sheets: list[tuple[str, str]] = []
            for sheet, rel in reader.parser.find_sheets():
                if rel.target not in reader.valid_files:
                    continue
                names.append(sheet.name)
                if "chartsheet" not in rel.Type:
                    sheets.append((sheet.name, rel.target))
            name, part = sheets[data_sheet_index(names)]
            if reader.archive.getinfo(part).file_size > _MAX_SCANNED:
                raise _Fallback
            data = reader.archive.read(part)
            parser = _sheet_parser()(
                None,
                [],
                data_only=True,
                epoch=wb.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            date_styles = sorted(wb._date_formats)
        except _Fallback:
            raise
        except Exception:  # let openpyxl read it again and say what is wrong
            raise _Fallback from None
    try:
        scan = _scan_sheet(data, date_styles, lambda: calamine.sheet(name))
    except (IndexError, ValueError, OverflowError):  # XML this scan cannot take apart
        raise _Fallback from None
    calamine.sheet(name)  # a sheet with no cells: the scan found nothing to bound
    ws = calamine.close()
    try:
        if ws is None:
            raise _Fallback
        grid = ws.to_python(skip_empty_area=False)
        merged = ws.merged_cell_ranges or []
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # calamine's errors, and a panic (pyo3's PanicException)
        raise _Fallback from None
    fixed: dict[tuple[int, int], Any] = {}
    floats: set[tuple[int, int]] = set()
    for at in scan.cells:
        _fix(data, at, parser, fixed)
    for at in scan.numbers:
        _fix(data, at, parser, fixed, floats)
    # Cells calamine reads as dates where openpyxl reads them otherwise (a number format
    # one takes for a date and the other not): read by openpyxl.
    if not _DATES.isdisjoint(set(map(type, itertools.chain.from_iterable(grid)))):
        for r, row in enumerate(grid, start=1):
            for c, v in enumerate(row, start=1):
                if v.__class__ in _DATES and (r, c) not in fixed:
                    at = data.find(f'<c r="{cell_ref(r, c)}"'.encode(), scan.start, scan.end)
                    if at < 0:
                        raise _Fallback
                    _fix(data, at, parser, fixed)
    spans = [
        (f"{cell_ref(r0 + 1, c0 + 1)}:{cell_ref(r1 + 1, c1 + 1)}", r0 + 1, c0 + 1, r1 + 1, c1 + 1)
        for (r0, c0), (r1, c1) in merged
    ]
    return XlsxSheet(str(name), grid, fixed, floats, spans)


def _fix(
    data: bytes,
    at: int,
    parser: Any,
    fixed: dict[tuple[int, int], Any],
    floats: set[tuple[int, int]] | None = None,
) -> None:
    """Read the cell whose element starts at ``at`` as openpyxl reads it, into ``fixed``
    (``floats``: only note it there if openpyxl reads it as a whole float)."""
    from xml.etree.ElementTree import ParseError, fromstring

    gt = data.find(b">", at)
    if gt < 0:
        raise _Fallback
    if data[gt - 1] == 47:  # <c …/>: no value
        end = gt + 1
    else:
        end = data.find(b"</c>", gt)
        if end < 0:
            raise _Fallback
        end += 4
    try:
        el = fromstring(b'<sheetData xmlns="' + _MAIN_NS + b'">' + data[at:end] + b"</sheetData>")[
            0
        ]
    except ParseError:
        raise _Fallback from None
    if el.get("t") == "s" and el.find(f"{{{_MAIN_NS.decode()}}}v") is not None:
        return  # a shared string (with a date style, say): calamine's text is openpyxl's
    cell = parser.parse_cell(el)
    key = (cell["row"], cell["column"])
    value = cell["value"]
    if floats is None:
        fixed[key] = value
    elif isinstance(value, float) and value.is_integer():
        floats.add(key)
    elif not isinstance(value, (int, float)) or isinstance(value, bool) or abs(value) >= 2**53:
        fixed[key] = value


#: Number texts that may not read as calamine's float suggests: whole numbers with a point,
#: exponents, inf and nan, integers of 16 digits or more (a plain decimal like 0.85 is none).
_ODD_NUMBER = re.compile(rb"<v>(-?[0-9]*\.0*|[^<]*[eEnN][^<]*|-?[0-9]{16,})</v>")


class _Scan:
    """Where the cells are in a sheet's XML that openpyxl must read (:func:`_scan_sheet`)."""

    def __init__(self, start: int, end: int, cells: list[int], numbers: list[int]) -> None:
        self.start, self.end = start, end
        self.cells = cells  # offsets of <c> elements openpyxl reads
        self.numbers = numbers  # offsets of cells with numbers calamine may type otherwise


def _scan_sheet(
    data: bytes, date_styles: Sequence[int], bounded: Callable[[], None] | None = None
) -> _Scan:
    """Scan a sheet's XML for the cells calamine cannot be taken at its word on, and check
    that its cells are within :data:`MAX_XLSX_DENSE` (calamine holds them densely).

    Raises:
        _Fallback: the XML is not in the plain form this scan reads, or is too wide and tall.
    """
    import numpy as np

    s = data.find(b"<sheetData")
    if s < 0:
        if data.find(b":sheetData") >= 0:
            raise _Fallback
        return _Scan(0, 0, [], [])
    e = data.find(b"</sheetData>", s)
    if e < 0:
        if data.find(b"<c", s) >= 0:
            raise _Fallback
        return _Scan(s, s, [], [])
    a = np.frombuffer(data, dtype=np.uint8)
    colons = np.flatnonzero(a[s:e] == 58) + s
    if len(colons):
        # A namespace prefix (<x:c …>, </x:v>): the letters before a colon reach back to '<' or '/'.
        back = a[colons[:, None] - 1 - np.arange(24)]
        name = (
            ((back | 32) >= 97) & ((back | 32) <= 122)
            | ((back >= 48) & (back <= 57))
            | (back == 95)
            | (back == 45)
            | (back == 46)
            | (back >= 128)
        )
        j = np.argmin(name, axis=1)
        stop = back[np.arange(len(colons)), j]
        if (name.all(axis=1) | (stop == 60) | (stop == 47)).any():
            raise _Fallback  # a namespace prefix (or text that looks like one): openpyxl reads it
    lt = np.flatnonzero(a[s:e] == 60) + s  # every '<' in the sheet's data
    n1 = a[lt + 1]
    n2 = a[lt + 2]
    ends = (n2 == 32) | (n2 == 62) | (n2 == 47) | (n2 == 9) | (n2 == 10) | (n2 == 13)
    cells = lt[(n1 == 99) & ends]  # <c
    if not len(cells):
        return _Scan(s, e, [], [])
    if not (
        (a[cells + 2] == 32) & (a[cells + 3] == 114) & (a[cells + 4] == 61) & (a[cells + 5] == 34)
    ).all():
        raise _Fallback  # a cell whose reference is not its first attribute, as <c r="A1"
    vs = lt[(n1 == 118) & ends]  # <v
    if (
        len(vs)
        and not (
            (a[vs + 2] == 62)
            | ((a[vs + 2] == 47) & (a[vs + 3] == 62))
            | ((a[vs + 2] == 32) & (a[vs + 3] == 47) & (a[vs + 4] == 62))
        ).all()
    ):
        raise _Fallback  # <v attr="…">: only <v>, <v/> and <v /> are read here
    # The references: 1–3 letters, then 1–7 digits, then the closing quote.
    c6 = cells + 6
    letters = [a[c6 + k] for k in range(4)]
    up = [(x >= 65) & (x <= 90) for x in letters]
    if not up[0].all() or (up[0] & up[1] & up[2] & up[3]).any():
        raise _Fallback
    two = up[1]
    three = two & up[2]
    # The last column: the largest of the references with the most letters.
    widest = three if three.any() else two if two.any() else up[0]
    col = np.zeros(int(widest.sum()), dtype=np.int64)
    for k in range(3 if three.any() else 2 if two.any() else 1):
        col = col * 26 + letters[k][widest].astype(np.int64) - 64
    at = c6 + 1 + two + three
    digits = [a[at + k] - 48 for k in range(8)]  # uint8: a non-digit wraps past 9
    alive = digits[0] < 10
    nd = alive.astype(np.int64)
    for k in range(1, 8):
        alive &= digits[k] < 10
        nd += alive
    if not ((nd >= 1) & (nd <= 7) & (a[at + nd] == 34)).all() or (digits[0] == 0).any():
        raise _Fallback  # not a reference (or row 0, or a leading zero)
    # The last row: the largest of the references with the most digits.
    most = int(nd.max())
    sel = nd == most
    row = np.zeros(int(sel.sum()), dtype=np.int64)
    for k in range(most):
        row = row * 10 + digits[k][sel]
    max_row, max_col = int(row.max()), int(col.max())
    if max_row > MAX_XLSX_ROWS or max_col > MAX_COLUMNS or max_row * max_col > MAX_XLSX_DENSE:
        raise _Fallback
    if bounded is not None:  # calamine may hold the sheet densely now: it parses meanwhile
        bounded()
    odd: set[int] = set()

    def owner(pos: int) -> int | None:
        """The <c> element whose start tag ``pos`` is in, if any."""
        k = int(np.searchsorted(cells, pos, side="right")) - 1
        if k < 0:
            return None
        at = int(cells[k])
        gt = data.find(b">", at)
        return at if pos < gt else None

    def cell_of(pos: int) -> int | None:
        """The <c> element ``pos`` is inside (start tag or content)."""
        k = int(np.searchsorted(cells, pos, side="right")) - 1
        return int(cells[k]) if k >= 0 else None

    # formulas with no saved value (and all formulas' cells, checked cheaply first)
    for fpos in lt[(n1 == 102) & ends].tolist():
        at = cell_of(fpos)
        if at is None:
            raise _Fallback
        close = data.find(b"</c>", fpos)
        v = data.find(b"<v>", fpos, close)
        if v < 0 or data[v + 3] == 60:
            odd.add(at)
    # Excel errors (t="e"), ISO dates (t="d"), date-formatted numbers (s="N"): found by the
    # quoted value, in either quotes and with any spacing around '='.
    wanted = [b"e", b"d", *(str(i).encode() for i in date_styles)]
    for quote in (34, 39):
        qs = np.flatnonzero(a[s:e] == quote) + s
        if not len(qs):
            continue
        for w_ in wanted:
            hit = a[qs + 1 + len(w_)] == quote
            for k, ch in enumerate(w_):
                hit &= a[qs + 1 + k] == ch
            for pos in qs[hit].tolist():
                at = owner(pos)
                if at is not None:
                    odd.add(at)
    numbers: list[int] = []
    # Numbers openpyxl types by their text (a float if written with a point or an exponent,
    # else an int), and texts calamine reads as inf or nan: read by openpyxl where it matters.
    for m in _ODD_NUMBER.finditer(data, s, e):
        text = m.group(1)
        try:
            x = float(text)
        except ValueError:  # not a number: a bool written true/false, a formula's text …
            at = cell_of(m.start())
            if at is None:
                raise _Fallback from None
            odd.add(at)
            continue
        if x.is_integer() or not math.isfinite(x) or not (b"." in text or b"e" in text.lower()):
            at = cell_of(m.start())
            if at is None:
                raise _Fallback
            if at not in odd:
                numbers.append(at)
    return _Scan(s, e, sorted(odd), numbers)


def _sheet_parser() -> Any:
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class SheetParser(WorkSheetParser):  # type: ignore[misc]
        """openpyxl's sheet parser, keeping each cell's trouble to that cell."""

        def parse_cell(self, element: Any) -> dict[str, Any]:
            ref = element.get("r")
            try:
                cell: dict[str, Any] = super().parse_cell(element)
            except (ValueError, TypeError, OverflowError, IndexError, KeyError) as exc:
                if ref:
                    try:
                        row, col = coordinate_to_tuple(ref)
                    except (ValueError, TypeError, KeyError):
                        raise FileProblem(
                            _("the sheet is damaged: '{ref}' is not a cell reference").format(
                                ref=ref
                            )
                        ) from None
                else:
                    row, col = self.row_counter, self.col_counter
                where = cell_ref(row, col)
                raw = element.findtext(VALUE_TAG) or ""
                if element.get("t") == "s":
                    n = len(self.shared_strings)
                    raise FileProblem(
                        _(
                            "the workbook is damaged: cell {cell} refers to shared string {raw}, but there are {n} ({error})"
                        ).format(cell=where, raw=repr(raw), n=f"{n:,}", error=type(exc).__name__)
                    ) from None
                return {
                    "row": row,
                    "column": col,
                    "value": BadCell(
                        raw,
                        _("cell {cell} holds {raw}, which is not a number Excel can hold").format(
                            cell=where, raw=repr(raw)
                        ),
                    ),
                    "data_type": "e",
                    "style_id": 0,
                }
            value = cell["value"]
            where = cell_ref(cell["row"], cell["column"])
            formula = element.find(FORMULA_TAG)
            saved = element.find(VALUE_TAG)
            if formula is not None and (
                saved is None or (not saved.text and element.get("t") != "str")
            ):
                text = f"={formula.text}" if formula.text else _("a formula")
                cell["value"] = BadCell(
                    text,
                    _(
                        "cell {cell} holds a formula with no saved value ({formula}); open and save it in Excel"
                    ).format(cell=where, formula=text),
                )
            elif cell["data_type"] == "e" and value is not None:
                cell["value"] = BadCell(
                    str(value),
                    _("cell {cell} holds the Excel error {error}; fix it in Excel").format(
                        cell=where, error=value
                    ),
                )
            elif isinstance(value, float) and not math.isfinite(value):
                raw = element.findtext(VALUE_TAG) or str(value)
                cell["value"] = BadCell(
                    raw,
                    _("cell {cell} holds {raw}, which is not a finite number").format(
                        cell=where, raw=raw
                    ),
                )
            return cell

    return SheetParser


def _read_sheet(wb: Any, ws: Any) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    from openpyxl.utils.cell import range_boundaries

    parser = _sheet_parser()(
        wb._archive.open(ws._worksheet_path),
        ws._shared_strings,
        data_only=True,
        epoch=wb.epoch,
        date_formats=wb._date_formats,
        timedelta_formats=wb._timedelta_formats,
    )
    sheet = str(ws.title)
    rows: dict[int, dict[int, Any]] = {}
    cells = 0
    try:
        for rowno, row in parser.parse():
            if rowno > MAX_XLSX_ROWS or rowno < 1:
                raise FileProblem(
                    _("the sheet '{sheet}' is damaged: row {row} is outside Excel's rows").format(
                        sheet=sheet, row=rowno
                    )
                )
            got = rows.setdefault(rowno, {})
            for c in row:
                value, col = c["value"], c["column"]
                if value is None:
                    continue
                if not 1 <= col <= MAX_COLUMNS:
                    raise FileProblem(
                        _(
                            "the sheet '{sheet}' is damaged: a cell in column {column} is outside Excel's columns"
                        ).format(sheet=sheet, column=col)
                    )
                got[col] = value
                cells += 1
            if cells > MAX_XLSX_CELLS:
                raise FileProblem(
                    _("the sheet '{sheet}' has more than {max} cells; save it as CSV").format(
                        sheet=sheet, max=f"{MAX_XLSX_CELLS:,}"
                    )
                )
        merged = parser.merged_cells
    except FileProblem:
        raise
    except Exception as exc:  # damaged XML, anything openpyxl trips on
        raise FileProblem(
            _("the sheet '{sheet}' is damaged ({error})").format(
                sheet=sheet, error=f"{type(exc).__name__}: {exc}"
            )
        ) from None
    spans = []
    for rng in merged.mergeCell if merged is not None else []:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(rng.ref)
        except (ValueError, TypeError):
            raise FileProblem(
                _("the sheet '{sheet}' is damaged: merged range '{ref}' is not a range").format(
                    sheet=sheet, ref=rng.ref
                )
            ) from None
        spans.append((rng.ref, min_row, min_col, max_row, max_col))
    return _laid_out(sheet, rows, cells, spans)


# ---------------------------------------------------------------------- XLS


def read_xls(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The data worksheet of an old Excel workbook (.xls, read with python-calamine; the sheet
    填报 if there is one, else the first, as :func:`data_sheet_index` picks), as
    :func:`read_xlsx` gives a sheet: (header, [(Excel row number, cells)]), cells as text,
    int, float, bool or date, a merged range's value in every cell of it, bounded alike.

    A formula with no saved value, and an Excel error, read as an empty cell (calamine
    gives no more), that is as missing evidence.

    Raises:
        ImportError: python-calamine is not installed.
        OSError, FileProblem: the workbook cannot be read, is damaged or too big.
    """
    try:
        import python_calamine
    except ImportError:
        raise ImportError(
            _(
                "reading .xls needs the 'excel' extra: pip install 'fulian_eval[excel]' (or save the workbook as .xlsx)"
            )
        ) from None
    lock = (
        _("; it looks like an Excel lock file (~$…): close the workbook or delete it")
        if path.name.startswith("~$")
        else ""
    )
    with open_regular(path, MAX_XLSX_BYTES) as f:
        try:
            wb = python_calamine.CalamineWorkbook.from_filelike(f)
        except python_calamine.PasswordError:
            raise FileProblem(
                _("the workbook is protected by a password; save it without one")
            ) from None
        except Exception as exc:  # calamine raises several types for a bad file
            raise FileProblem(
                _("not a readable .xls workbook ({error})").format(
                    error=f"{type(exc).__name__}: {exc}"
                )
                + lock
            ) from None
        try:
            names = wb.sheet_names
            if not names:
                raise FileProblem(_("the workbook has no worksheet"))
            index = data_sheet_index(names)
            try:
                ws = wb.get_sheet_by_index(index)
                grid = ws.to_python(skip_empty_area=False)
                merged = ws.merged_cell_ranges or []
            except Exception as exc:
                raise FileProblem(
                    _("the sheet '{sheet}' is damaged ({error})").format(
                        sheet=names[index], error=f"{type(exc).__name__}: {exc}"
                    )
                ) from None
        finally:
            wb.close()
    sheet = str(names[index])
    rows: dict[int, dict[int, Any]] = {}
    cells = 0
    for r, row in enumerate(grid, start=1):
        got: dict[int, Any] = {
            c: v for c, v in enumerate(row, start=1) if v is not None and v != ""
        }
        if got:
            if r > MAX_XLSX_ROWS or max(got) > MAX_COLUMNS:
                raise FileProblem(
                    _(
                        "the sheet '{sheet}' is damaged: a cell lies outside Excel's rows and columns"
                    ).format(sheet=sheet)
                )
            rows[r] = got
            cells += len(got)
            if cells > MAX_XLSX_CELLS:
                raise FileProblem(
                    _("the sheet '{sheet}' has more than {max} cells; save it as CSV").format(
                        sheet=sheet, max=f"{MAX_XLSX_CELLS:,}"
                    )
                )
        for c, v in got.items():
            if isinstance(v, float) and not math.isfinite(v):
                got[c] = BadCell(
                    str(v),
                    _("cell {cell} holds {raw}, which is not a finite number").format(
                        cell=cell_ref(r, c), raw=v
                    ),
                )
    spans = [
        (f"{cell_ref(r0 + 1, c0 + 1)}:{cell_ref(r1 + 1, c1 + 1)}", r0 + 1, c0 + 1, r1 + 1, c1 + 1)
        for (r0, c0), (r1, c1) in merged
    ]
    return _laid_out(sheet, rows, cells, spans)


def _laid_out(
    sheet: str,
    rows: dict[int, dict[int, Any]],
    cells: int,
    spans: Sequence[tuple[str, int, int, int, int]],
) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """A sheet's (header, [(row number, cells)]) from its cells by row and column, merged ranges
    (``ref``, first row, first column, last row, last column) filled with their value (XLSX and XLS alike)."""
    last_row = max((r for r, got in rows.items() if got), default=0)
    last_col = max((max(got) for got in rows.values() if got), default=0)
    for ref, min_row, min_col, max_row, max_col in spans:
        if min_row <= 1 < max_row:
            raise FileProblem(
                _(
                    "cells {ref} of the sheet '{sheet}' are merged across the header row; the header must be a row of its own: unmerge them"
                ).format(ref=ref, sheet=sheet)
            )
        value = rows.get(min_row, {}).get(min_col)
        if value is None:
            continue
        max_row, max_col = min(max_row, last_row), min(max_col, last_col)
        cells += max(0, max_row - min_row + 1) * max(0, max_col - min_col + 1)
        if cells > MAX_XLSX_CELLS:
            raise FileProblem(
                _(
                    "the sheet '{sheet}' has more than {max} cells with merged ranges filled in; save it as CSV"
                ).format(sheet=sheet, max=f"{MAX_XLSX_CELLS:,}")
            )
        for r in range(min_row, max_row + 1):
            got = rows.setdefault(r, {})
            for c in range(min_col, max_col + 1):
                got[c] = value
    head = rows.get(1, {})
    for v in head.values():
        if isinstance(v, BadCell):
            raise FileProblem(_("the header: {problem}").format(problem=v.problem))
    width = max(head, default=0)
    header = [nfc(str(head.get(c, "")).strip()) for c in range(1, width + 1)]
    out = []
    for r in sorted(rows):
        got = rows[r]
        if r == 1 or not got:
            continue
        n = max(width, max(got))
        out.append((r, [got.get(c, "") for c in range(1, n + 1)]))
    return header, out
