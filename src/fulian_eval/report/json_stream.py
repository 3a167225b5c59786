"""``score --format json`` for any number of units, in bounded memory (issue 12).

The per-unit path builds every unit's full result (reasons, inputs) and the whole
JSON document in memory: about 150 kB a unit. Here every unit is scored once by
the exact engine, in chunks of rows (on every core, as :mod:`~fulian_eval.scoring.parallel`
does), and its JSON object is written at once to a spool file, its byte offsets
kept; only a chunk of full results is alive at a time. What the ranking needs of
a unit (its identity, role and rank key) is all that stays in memory. The units
are then ranked exactly as :func:`~fulian_eval.analysis.rank.rank` ranks full
results, and their objects are copied from the spool in rank order, with their
``rank``, ``group_rank`` and ``award`` spliced in.

The bytes are those :func:`~fulian_eval.report.render.score_report` prints for
the same input (``tests/test_json_stream.py`` holds the two together): the unit
objects are made by the same :func:`~fulian_eval.report.render.unit_json` and
``json.dumps``; loading, duplicates, rejections and warnings follow
:func:`~fulian_eval.io.evidence.load_evidence` step by step. A CSV table is
read row by row (its text is checked to its end first, as loading reads it
whole before its first row is scored); a table that changes while it is read
stops the run with :class:`InputChanged`.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring as _quoted  # the C function json.dumps uses
from pathlib import Path
from typing import IO, Any

import attrs

from ..analysis.rank import Ranked, rank
from ..errors import FulianEvalError
from ..io.evidence import (
    Deduplicator,
    Rejection,
    RowsTask,
    TableLayout,
    Task,
    expand_each,
    no_evidence,
    os_error_text,
    plan_file,
    run_task,
)
from ..io.surveys import SurveyData
from ..io.tables import FileProblem, csv_rows, file_chunks, nfc, open_text, text_encoding
from ..io.waivers import WaiverSet
from ..lang.messages import _
from ..lang.text import json_text
from ..model.rulebook import Rulebook, UnitInfo
from ..scoring.exact import score
from .json_memo import UnitWriter
from .render import rejected_json, rulebook_json, unit_json

__all__ = [
    "CHUNK_ROWS",
    "InputChanged",
    "JsonSpool",
    "dumps_at",
    "spool_score_json",
    "stamp_of",
    "unit_bytes",
]

#: Units scored (and their full results alive) per chunk; a worker holds one chunk at a time.
CHUNK_ROWS = 1000
#: Below this many units (two chunks), one process is faster than starting workers.
_PARALLEL_MIN_TASKS = 2

# The unit object's lines between ``vetoed`` and ``categories``, as json.dumps writes them
# at the depth of a unit in the document (the unit's keys at three spaces).
_RANK_AT = '\n   "rank": 0,\n   "group_rank": 0,\n   "award": null,\n'
_SENTINEL = "\0units\0"


class InputChanged(FulianEvalError):
    """An evidence file changed while the run read it: its report would mix two versions."""


def stamp_of(path: str | Path) -> tuple[int, int]:
    """What tells that a file changed: (size, modification time in ns)."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


@attrs.define(slots=True)
class _Entry:
    """What the ranking needs of one scored unit, and where its JSON object is spooled."""

    unit: UnitInfo
    role: str
    key: tuple[bool, int, tuple[int, ...]]
    file: int  # which spool file (one per process that scored)
    at: int  # offset in it
    split: int  # bytes before the rank lines
    end: int  # bytes in all

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        return self.key


# One scored unit as a worker sends it: (unit, role, source, rank key, waiver warnings,
# where its object (UTF-8, without its rank lines) starts in the worker's spool file, where
# the rank lines go in it, its length). The bytes themselves stay in the worker's file.
_Scored = tuple[UnitInfo, str, str, tuple[bool, int, tuple[int, ...]], list[str], int, int, int]

_RB: Rulebook | None = None  # set in the parent before forking; workers inherit it
_STRICT = False
_WAIVERS: WaiverSet | None = None
_SURVEYS: SurveyData | None = None
_SPOOL_DIR: str | None = None  # where each process that scores writes its own spool file


class _ProcessSpool:
    """This process's spool file in a run's folder (a forked worker opens its own)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.pid = os.getpid()
        self.path = os.path.join(folder, f"{self.pid}.spool")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        self.at = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.at += len(data)

    def close(self) -> None:
        os.close(self.fd)


_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_OWN: _ProcessSpool | None = None


def _own_spool() -> _ProcessSpool:
    global _OWN
    assert _SPOOL_DIR is not None
    if _OWN is None or _OWN.pid != os.getpid() or _OWN.folder != _SPOOL_DIR:
        _OWN = _ProcessSpool(_SPOOL_DIR)  # a forked child does not write its parent's file
    return _OWN


def _close_own_spool() -> None:
    global _OWN
    if _OWN is not None and _OWN.pid == os.getpid():
        _OWN.close()
    _OWN = None


_SCALARS: dict[Any, str] = {None: "null", True: "true", False: "false"}


def _put(o: Any, nl: str, put: Callable[[str], Any]) -> None:
    """``o`` as ``json.dumps(o, ensure_ascii=False, indent=1)`` writes it, its lines after
    the first starting with ``nl`` (a line break and the indentation of its depth)."""
    if isinstance(o, str):
        put(_quoted(o))
    elif o is None or o is True or o is False:
        put(_SCALARS[o])
    elif isinstance(o, int):
        put(int.__repr__(o))
    elif isinstance(o, dict):
        if not o:
            put("{}")
            return
        inner = nl + " "
        sep = "{" + inner
        for k, v in o.items():
            if not isinstance(k, str):
                raise TypeError(f"a key that is not text: {k!r}")
            if isinstance(v, str):  # the common cases written here, without a call
                put(f"{sep}{_quoted(k)}: {_quoted(v)}")
            elif v is None or v is True or v is False:
                put(f"{sep}{_quoted(k)}: {_SCALARS[v]}")
            else:
                put(f"{sep}{_quoted(k)}: ")
                _put(v, inner, put)
            sep = "," + inner
        put(nl + "}")
    elif isinstance(o, list | tuple):
        if not o:
            put("[]")
            return
        inner = nl + " "
        sep = "[" + inner
        for v in o:
            if isinstance(v, str):
                put(sep + _quoted(v))
            else:
                put(sep)
                _put(v, inner, put)
            sep = "," + inner
        put(nl + "]")
    else:  # floats and anything else: json.dumps itself (the reports hold none)
        raise TypeError(f"not written by the fast writer: {type(o).__name__}")


def dumps_at(o: Any, depth: int = 0) -> str:
    """``json.dumps(o, ensure_ascii=False, indent=1)`` as it stands at ``depth`` in a document
    (every line after the first indented ``depth`` more), written without the pure-Python
    encoder json.dumps falls back to when it indents (about three times as fast)."""
    parts: list[str] = []
    try:
        _put(o, "\n" + " " * depth, parts.append)
    except TypeError:
        # json.dumps escapes a line break inside a string, so every one it writes is layout.
        return json.dumps(o, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * depth)
    return "".join(parts)


def unit_bytes(rb: Rulebook, result: Any) -> tuple[bytes, int]:
    """A unit's object as the document holds it (indented at its depth), without its rank
    lines: (UTF-8 bytes, the offset where ``rank``, ``group_rank`` and ``award`` go)."""
    return _split(dumps_at(unit_json(Ranked(result=result, rank=0, group_rank=0), rb), 2))


def _split(text: str) -> tuple[bytes, int]:
    at = text.index(_RANK_AT)
    head = text[:at].encode()
    return head + text[at + len(_RANK_AT) :].encode(), len(head)


def rank_lines(r: Ranked[Any]) -> bytes:
    """The rank lines of a unit's object (see :func:`unit_bytes`)."""
    award = json.dumps(r.award, ensure_ascii=False)
    return (
        f'\n   "rank": {r.rank},\n   "group_rank": {r.group_rank},\n   "award": {award},\n'.encode()
    )


#: Piece unit objects together from remembered item outcomes (:mod:`.json_memo`); False:
#: score every unit whole (the same bytes, slower; for comparison).
PIECED = True
_WRITER: UnitWriter | None = None


def _writer(rb: Rulebook) -> UnitWriter:
    """This process's :class:`UnitWriter` for ``rb`` (a forked worker makes its own)."""
    global _WRITER
    if _WRITER is None or _WRITER.rb is not rb:
        _WRITER = UnitWriter(rb, dumps_at)
    return _WRITER


def _work(tasks: list[Task]) -> tuple[list[_Scored | Rejection], list[str], int, str]:
    """Score a batch; its unit objects go to this process's spool file, their places back."""
    assert _RB is not None
    rb = _RB
    warnings: list[str] = []
    out: list[_Scored | Rejection] = []
    own = _own_spool()
    at = own.at
    buf: list[bytes] = []
    for task in tasks:
        for o in run_task(rb, task, strict=_STRICT, warnings=warnings, surveys=_SURVEYS):
            if isinstance(o, Rejection):
                out.append(o)
                continue
            waived: dict[str, str] = {}
            told: list[str] = []
            if _WAIVERS is not None:
                waived, told = _WAIVERS.for_unit(o)
            made = None if waived or not PIECED else _writer(rb).write(o)
            if made is None:
                res = score(rb, o, waived)
                data, split = unit_bytes(rb, res)
                key = res.rank_key(rb.tie_break)
            else:
                res, key, text = made
                data, split = _split(text)
            out.append((res.unit, res.role, res.source, key, told, at, split, len(data)))
            buf.append(data)
            at += len(data)
    own.write(b"".join(buf))
    return out, warnings, sum(_size(t) for t in tasks), own.path


def _size(task: Task) -> int:
    rows = getattr(task, "rows", None)
    return len(rows) if rows is not None else 1


@attrs.define
class _CsvJob:
    """A CSV table whose header is checked; its rows are read when its turn comes."""

    path: Path
    shown: str
    layout: TableLayout
    encoding: str
    stamp: tuple[int, int]
    rows: int


def _plan(
    rb: Rulebook,
    paths: Iterable[str | Path],
    strict: bool,
    chunk: int,
    ignore_columns: bool,
    rejected: list[Rejection],
    warnings: list[str],
) -> list[Task | _CsvJob]:
    """As :func:`~fulian_eval.io.evidence.plan_sources`, but a CSV table's rows are not read yet."""
    jobs: list[Task | _CsvJob] = []
    for given, files in expand_each(paths):
        gave = False
        start = len(warnings)
        for path, shown in files:
            if path.suffix.lower() != ".csv" or not path.exists():
                tasks: list[Task] = []
                gave = (
                    plan_file(
                        rb, path, shown, strict, chunk, ignore_columns, tasks, rejected, warnings
                    )
                    or gave
                )
                jobs.extend(tasks)
                continue
            gave = (
                _plan_csv(rb, path, shown, strict, ignore_columns, jobs, rejected, warnings) or gave
            )
        if not gave:
            raise no_evidence(given, files, warnings[start:])
    return jobs


def _plan_csv(
    rb: Rulebook,
    path: Path,
    shown: str,
    strict: bool,
    ignore_columns: bool,
    jobs: list[Task | _CsvJob],
    rejected: list[Rejection],
    warnings: list[str],
) -> bool:
    def cannot(exc: BaseException) -> bool:
        rejected.append(
            Rejection(
                source=shown,
                error=_("{path}: cannot read: {error}").format(
                    path=shown, error=os_error_text(exc)
                ),
            )
        )
        return True

    try:
        stamp = stamp_of(path)
        encoding = text_encoding(file_chunks(path))  # the whole file, as loading decodes it
        with open_text(path, encoding) as f:
            header = [nfc(h.strip()) for h in next(csv_rows(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error, FileProblem) as exc:
        return cannot(exc)
    rows = 0
    try:  # loading reads the whole table before it scores a row: so do we (and count its rows)
        with open_text(path, encoding) as f:
            for _row in csv_rows(f):
                rows += 1
    except (OSError, UnicodeDecodeError, FileProblem) as exc:
        return cannot(exc)
    layout = TableLayout(rb, header, shown, strict, exact=True, ignore_columns=ignore_columns)
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
    jobs.append(_CsvJob(path, shown, layout, encoding, stamp, max(0, rows - 1)))
    return True


def _changed(shown: str) -> InputChanged:
    return InputChanged(
        _("{path} changed while it was being read; score again when no one is writing it").format(
            path=shown
        )
    )


def _csv_tasks(job: _CsvJob, chunk: int) -> Iterator[RowsTask]:
    try:
        with open_text(job.path, job.encoding) as f:
            records = csv_rows(f)
            next(records, None)
            rows: list[tuple[int, list[Any]]] = []
            for row in enumerate(records, start=2):
                rows.append(row)
                if len(rows) >= chunk:
                    yield RowsTask(job.shown, job.layout, rows)
                    rows = []
            if rows:
                yield RowsTask(job.shown, job.layout, rows)
            if os.fstat(f.fileno()).st_size != job.stamp[0]:
                raise _changed(job.shown)
    except (OSError, UnicodeDecodeError, csv.Error, FileProblem):
        raise _changed(job.shown) from None  # it was read to its end when the run was planned
    if stamp_of(job.path) != job.stamp:
        raise _changed(job.shown)


def _batches(jobs: Sequence[Task | _CsvJob], chunk: int) -> Iterator[list[Task]]:
    """The tasks in input order, in batches of about ``chunk`` units."""
    batch: list[Task] = []
    n = 0
    for job in jobs:
        tasks: Iterable[Task] = _csv_tasks(job, chunk) if isinstance(job, _CsvJob) else (job,)
        for t in tasks:
            batch.append(t)
            n += _size(t)
            if n >= chunk:
                yield batch
                batch, n = [], 0
    if batch:
        yield batch


def _workers(requested: int | None) -> int:
    """Processes to score in: ``requested``, else ``FULIAN_EVAL_WORKERS`` if set (0 or 1: this
    process only), else one per core this process may use; this process only where it runs
    threads of its own (a caller's threads could hold locks a forked child would inherit)."""
    if requested is not None:
        return max(1, requested)
    import threading

    try:
        want = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        want = os.cpu_count() or 1
    given = os.environ.get("FULIAN_EVAL_WORKERS", "").strip()
    if given.isdigit():
        want = int(given)
    main = threading.main_thread()
    if any(
        t is not main and not t.name.startswith("QueueFeederThread")  # an audit trail's pipe
        for t in threading.enumerate()
    ):
        return 1
    return max(1, want)


def _results(
    batches: Iterator[list[Task]], workers: int
) -> Iterator[tuple[list[_Scored | Rejection], list[str], int, str]]:
    """Each batch's outcomes in order; with several workers, a few batches ahead at most."""
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield _work(first)
        if second is not None:
            yield _work(second)
            for b in batches:
                yield _work(b)
        return
    # Rulebooks hold compiled expressions (closures): workers are forked with it in memory.
    pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        ahead: deque[Any] = deque()
        for b in (first, second):
            ahead.append(pool.apply_async(_work, (b,)))
        for b in batches:
            while len(ahead) >= 2 * workers:
                yield ahead.popleft().get()
            ahead.append(pool.apply_async(_work, (b,)))
        while ahead:
            yield ahead.popleft().get()
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


class JsonSpool:
    """A scored run whose unit objects wait in spool files; :meth:`write` writes the document.

    Attributes:
        rejected: as :func:`~fulian_eval.io.evidence.load_evidence` gives them.
        warnings: loading's warnings, then the waivers', then the surveys' (as the per-unit path).
        ranked: every unit in rank order (its :class:`_Entry`: unit, role, where its object is).
    """

    def __init__(
        self,
        rb: Rulebook,
        folder: str,
        files: Sequence[str],
        ranked: list[Ranked[_Entry]],
        rejected: tuple[Rejection, ...],
        warnings: tuple[str, ...],
    ) -> None:
        self.rulebook = rb
        self._folder: str | None = folder
        self._files = list(files)  # the spool files (one per process that scored), by _Entry.file
        self.ranked = ranked
        self.rejected = rejected
        self.warnings = warnings

    def __len__(self) -> int:
        return len(self.ranked)

    def __enter__(self) -> JsonSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spool files."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def chunks(self) -> Iterator[bytes]:
        """The document's UTF-8 bytes in pieces (a few units each)."""
        doc: dict[str, Any] = {
            "rulebook": rulebook_json(self.rulebook),
            "units": [_SENTINEL] if len(self) else [],
            "rejected": rejected_json(self.rejected),
        }
        text = json_text(doc)
        if not len(self):
            yield text.encode()
            return
        shown = json.dumps(_SENTINEL, ensure_ascii=False)
        at = text.index(shown)
        yield text[:at].encode()
        fds = [os.open(f, os.O_RDONLY | _BINARY) for f in self._files]
        try:
            yield from self._units(fds)
        finally:
            for fd in fds:
                os.close(fd)
        yield text[at + len(shown) :].encode()

    def _units(self, fds: Sequence[int]) -> Iterator[bytes]:
        def read(fd: int, n: int, at: int) -> bytes:  # where there is no os.pread (Windows)
            os.lseek(fd, at, os.SEEK_SET)
            got = b""
            while len(got) < n:
                more = os.read(fd, n - len(got))
                if not more:
                    break
                got += more
            return got

        pread: Callable[[int, int, int], bytes] = getattr(os, "pread", read)
        awards: dict[str | None, str] = {None: "null"}
        buf: list[bytes] = []
        size = 0
        for k, (file, at, split, end, rank_, group_rank, award_name) in enumerate(self._placed()):
            data = pread(fds[file], end, at)
            if len(data) != end:
                raise OSError(f"a spool file ended early: {self._files[file]}")
            if k:
                buf.append(b",\n  ")
            award = awards.get(award_name)
            if award is None:
                award = awards[award_name] = json.dumps(award_name, ensure_ascii=False)
            buf.append(data[:split])
            buf.append(  # rank_lines(r), with each award's text made once
                f'\n   "rank": {rank_},\n   "group_rank": {group_rank},\n   "award": {award},\n'.encode()
            )
            buf.append(data[split:])
            size += end
            if size >= 1 << 18:
                yield b"".join(buf)
                buf, size = [], 0
        if buf:
            yield b"".join(buf)

    def _placed(self) -> Iterator[tuple[int, int, int, int, int, int, str | None]]:
        """Each unit in rank order: (spool file, offset, split, length, rank, group rank, award)."""
        for r in self.ranked:
            e = r.result
            yield e.file, e.at, e.split, e.end, r.rank, r.group_rank, r.award

    def parts(self) -> Iterator[str]:
        """The document's text in pieces (a few units each)."""
        for chunk in self.chunks():
            yield chunk.decode()

    def write(self, out: IO[str]) -> None:
        """The ``score --format json`` document to a text file."""
        for part in self.parts():
            out.write(part)

    def write_bytes(self, out: IO[bytes]) -> None:
        """The document's UTF-8 bytes to a binary file (what :meth:`write` writes, not decoded)."""
        for chunk in self.chunks():
            out.write(chunk)

    def text(self) -> str:
        return "".join(self.parts())


def spool_score_json(
    rb: Rulebook,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    ignore_columns: bool = False,
    waivers: WaiverSet | None = None,
    surveys: SurveyData | None = None,
    workers: int | None = None,
    chunk: int = CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
    spool_dir: str | None = None,
    stamps: Sequence[tuple[str, tuple[int, int]]] = (),
) -> JsonSpool:
    """Score every unit under ``paths`` exactly, spooling each unit's JSON object; rank them.

    Args:
        rb, paths, strict, ignore_columns, waivers, surveys: as for
            :func:`~fulian_eval.pipeline.score_run`.
        workers: processes to score in (default: the cores this process may run on).
        chunk: units per chunk (the most full results a process holds at a time).
        progress: called as ``progress(rows_done, rows_total)`` after each chunk.
        spool_dir: where the spool files go, in a folder of their own (default: the system's
            temporary folder).
        stamps: (path, :func:`stamp_of`) of files an earlier pass read; a file changed
            since raises :class:`InputChanged`.

    Returns:
        A :class:`JsonSpool` (close it, or use it in a ``with``).

    Raises:
        NoEvidence: a path gives no evidence at all.
        InputChanged: an evidence file changed since ``stamps`` or while it was read.
    """
    global _RB, _STRICT, _WAIVERS, _SURVEYS, _SPOOL_DIR
    paths = [os.fspath(p) for p in paths]

    def check(stamps: Sequence[tuple[str, tuple[int, int]]]) -> None:
        for p, st in stamps:
            try:
                now = stamp_of(p)
            except OSError:
                now = (-1, -1)
            if now != st:
                raise _changed(p)

    check(stamps)
    file_rejects: list[Rejection] = []
    warnings: list[str] = []
    jobs = _plan(rb, paths, strict, chunk, ignore_columns, file_rejects, warnings)
    rejects: list[Rejection] = []
    waiver_warnings: list[str] = []
    entries: list[_Entry] = []
    dedup = Deduplicator()
    folder = tempfile.mkdtemp(prefix="fulian-json-", dir=spool_dir)
    files: dict[str, int] = {}
    done = 0
    total = sum(j.rows if isinstance(j, _CsvJob) else _size(j) for j in jobs)
    _RB, _STRICT, _WAIVERS, _SURVEYS, _SPOOL_DIR = rb, strict, waivers, surveys, folder
    try:
        for outs, warns, n, path in _results(_batches(jobs, chunk), _workers(workers)):
            warnings.extend(warns)
            done += n
            file = files.setdefault(path, len(files))
            for o in outs:
                if isinstance(o, Rejection):
                    rejects.append(o)
                    continue
                unit, role, source, key, told, at, split, end = o
                dup = dedup.check(unit.id, role, source)
                if dup is not None:
                    rejects.append(dup)
                    continue
                waiver_warnings.extend(told)
                entries.append(_Entry(unit, role, key, file, at, split, end))
            if progress is not None:
                progress(done, total)
        check(stamps)
    except BaseException:
        _close_own_spool()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        _close_own_spool()
        _RB, _WAIVERS, _SURVEYS, _SPOOL_DIR = None, None, None, None
    rejected = [*file_rejects, *rejects]
    if surveys is not None:
        warnings.extend(
            surveys.unmatched(
                [(e.unit.id, e.unit.name) for e in entries]
                + [(r.unit, "") for r in rejected if r.unit]
            )
        )
    warnings.extend(waiver_warnings)  # the per-unit path applies waivers after loading
    ranked = rank(rb, entries)
    return JsonSpool(rb, folder, list(files), ranked, tuple(rejected), tuple(warnings))
