"""``score --format json`` of a table, written while the columns score it (issue 12, item 3).

:mod:`~fulian_eval.report.json_stream` reads a table a second time, row by row, and
builds each unit's evidence before it pieces the unit's object together. Here the
objects are written by the streamed columnar path itself, chunk by chunk, on every
core the table workers use (:func:`~fulian_eval.scoring.stream.score_tables` with
``objects=``): while a chunk's value columns are alive, every row's values become the
keys :class:`~fulian_eval.report.json_memo.UnitWriter` remembers outcomes by — made
from the columns (numerators and denominators, codes), not from evidence — and an
item outcome, category or check met before is taken as it was written. Only for an
outcome not met before is the row's evidence made (from the same keys) and the exact
engine asked, as :func:`~fulian_eval.scoring.exact.score` would answer. Rows the
columns did not decide, or could not read as plain values, were scored by the exact
engine already: their objects are written from those full results. Each process writes
its own spool file; the document is then copied from them in rank order, the rank
lines spliced in (:class:`TableJsonSpool`), byte for byte what
:func:`~fulian_eval.report.render.score_report` prints (``tests/test_json_columns.py``
holds the two together, on random rulebooks too).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from itertools import repeat
from typing import Any

import numpy as np

from ..analysis.rank import Ranking, award_of
from ..io.evidence import Rejection
from ..lang.text import fmt_hundredths
from ..model.rulebook import Assessment, Evidence, Rulebook, UnitInfo
from ..scoring.columnar import MISSING, OK, Col
from ..scoring.exact import UnitResult, score
from ..scoring.stream import ChunkRows, Table
from .json_memo import UnitWriter, fast_path_for
from .json_stream import JsonSpool, _ProcessSpool, _split, dumps_at, unit_bytes

__all__ = ["TableJsonSpool", "TableObjects", "table_json_spool"]

_F = Fraction


def _typed_column(col: Col | None, n: int) -> tuple[list[Any], Any]:
    """A value column as the keys :class:`UnitWriter` holds values by (None: missing), and
    the rows whose value the keys cannot stand for (None: none)."""
    if col is None:
        return [None] * n, None
    s = col.s
    odd = None
    if col.kind == "num":
        if col.qn is None:  # floats: not an exact value the keys could hold
            return [None] * n, (s == OK) if isinstance(s, np.ndarray) else np.ones(n, dtype=bool)
        qn = np.broadcast_to(np.asarray(col.qn, dtype=np.int64), (n,)).tolist()
        qd = np.broadcast_to(np.asarray(col.qd, dtype=np.int64), (n,)).tolist()
        keys: list[Any] = list(zip(repeat(_F, n), qn, qd, strict=True))
    elif col.kind == "bool":
        keys = list(zip(repeat(bool, n), np.broadcast_to(col.b, (n,)).tolist(), strict=True))
    elif col.kind == "str":
        keys = list(zip(repeat(str, n), np.broadcast_to(col.b, (n,)).tolist(), strict=True))
    elif col.kind == "set":
        table = col.table
        codes = np.broadcast_to(col.b, (n,)).tolist()
        keys = [(frozenset, table[c]) for c in codes]
    else:  # pragma: no cover - every column kind is above
        return [None] * n, np.ones(n, dtype=bool)
    if isinstance(s, np.ndarray) and s.any():
        for i in np.flatnonzero(s == MISSING).tolist():
            keys[i] = None
        if ((s != OK) & (s != MISSING)).any():  # not applicable, or a division by zero
            odd = (s != OK) & (s != MISSING)
    return keys, odd


def _value(key: Any) -> Any:
    """A key back as the value evidence holds."""
    if key[0] is _F:
        d = key[2]
        return Fraction(key[1]) if d == 1 else Fraction(key[1], d)  # one int: no gcd
    return key[1]


class TableObjects:
    """Writes each scored unit's JSON object to this process's spool file in ``folder``
    (:class:`~fulian_eval.scoring.stream.UnitObjects`); a forked table worker writes its own."""

    def __init__(self, rb: Rulebook, folder: str) -> None:
        self.rb = rb
        self.folder = folder
        self._pid = -1
        self._spool: _ProcessSpool | None = None
        self._writer: UnitWriter | None = None
        self._values: dict[Any, Any] = {}  # value keys -> the values evidence holds

    def _own(self) -> tuple[_ProcessSpool, UnitWriter]:
        pid = os.getpid()
        if self._pid != pid:  # a forked worker: its own file, its own remembered outcomes
            self._pid = pid
            self._spool = _ProcessSpool(self.folder)
            self._writer = UnitWriter(self.rb, dumps_at)
        assert self._spool is not None and self._writer is not None
        return self._spool, self._writer

    def files(self) -> dict[int, str]:
        """The spool files written so far, by the process id :meth:`part` gives as the file."""
        out = {}
        for name in os.listdir(self.folder):
            stem, _, ext = name.partition(".")
            if ext == "spool" and stem.isdigit():
                out[int(stem)] = os.path.join(self.folder, name)
        return out

    def close(self) -> None:
        if self._spool is not None and self._pid == os.getpid():
            self._spool.close()
        self._spool, self._writer, self._pid = None, None, -1

    def one(self, result: UnitResult) -> Any:
        spool, _writer = self._own()
        data, split = unit_bytes(self.rb, result)
        out = np.array([[self._pid, spool.at, split, len(data)]], dtype=np.int64)
        spool.write(data)
        return out

    def part(self, c: ChunkRows) -> Any:
        spool, writer = self._own()
        rb, n = self.rb, c.n
        out = np.full((n, 4), -1, dtype=np.int64)
        todo = np.flatnonzero(c.keep).tolist()
        if not todo:
            return out
        cols: list[list[Any]] = []
        odd = np.zeros(n, dtype=bool)
        for name in writer.fields:
            keys, bad = _typed_column(c.fields.get(name), n)
            cols.append(keys)
            if bad is not None:
                odd |= bad
        roles = list(c.roles)
        cols.append(roles)
        for iid in writer.manual:
            keys, bad = _typed_column(c.points.get(iid), n)
            cols.append(keys)
            if bad is not None:
                odd |= bad
        rows = list(zip(*cols, strict=True))
        fields, manual = writer.fields, writer.manual
        n_fields = len(fields)
        units, names, groups, kinds = c.units, c.names, c.groups, c.kinds
        reader_flags = c.reader_flags
        shown, start = c.shown, c.start
        pieced = writer.enabled
        sc = c.scores
        places = rb.places
        grade_names = [g.name for g in rb.grades]
        flag_sets, flag_codes, _rows = c.flags
        totals = sc.total_h.tolist()
        vetoes = sc.vetoed.tolist()
        grades = sc.grade.tolist()
        cat_h = sc.cat_h.tolist()
        cat_ok = sc.cat_ok.tolist()
        codes = np.asarray(flag_codes).tolist()
        known = self._values
        if len(known) > 65536:
            known.clear()

        def value(k: Any) -> Any:  # values repeat: each made once (a Fraction is slow to make)
            v = known.get(k)
            if v is None:
                v = known[k] = _value(k)
            return v

        pid = self._pid
        at = spool.at
        buf: list[bytes] = []
        for i in todo:
            res = c.exact.get(i)
            text = ""
            if res is None and (odd[i] or not pieced):  # rare: read by the per-unit path
                ev = c.evidence(i)
                made = writer.write(ev)
                if made is None:
                    res = score(rb, ev)
                else:
                    text = made[2]
            elif res is None:
                row = rows[i]
                flags = tuple(reader_flags.get(i, ()))
                source = f"{shown} row {start + i}"

                def evidence(
                    row: Sequence[Any] = row,
                    i: int = i,
                    flags: tuple[str, ...] = flags,
                    source: str = source,
                ) -> Evidence:
                    return Evidence(
                        unit=UnitInfo(id=units[i], name=names[i], group=groups[i], kind=kinds[i]),
                        assessment=Assessment(role=row[n_fields]),
                        values={
                            f: value(k) for f, k in zip(fields, row, strict=False) if k is not None
                        },
                        points={
                            iid: value(k)
                            for iid, k in zip(manual, row[n_fields + 1 :], strict=True)
                            if k is not None
                        },
                        flags=flags,
                        source=source,
                    )

                g = grades[i]
                scored = (
                    fmt_hundredths(totals[i], places),
                    grade_names[g] if g >= 0 else None,
                    vetoes[i],
                    flag_sets[codes[i]],
                    cat_h[i],
                    cat_ok[i],
                )
                text = writer.write_row(
                    row, evidence, units[i], names[i], groups[i], roles[i], source, flags, scored
                )[6]
            if res is not None:
                data, split = unit_bytes(rb, res)
            else:
                data, split = _split(text)
            out[i] = (pid, at, split, len(data))
            buf.append(data)
            at += len(data)
        spool.write(b"".join(buf))
        return out


class TableJsonSpool(JsonSpool):
    """A streamed table's ``score --format json`` document, its unit objects spooled as the
    columns scored them (:class:`TableObjects`); write it, then close it."""

    def __init__(
        self,
        rb: Rulebook,
        folder: str,
        files: dict[int, str],
        table: Table,
        ranking: Ranking,
        rejected: tuple[Rejection, ...],
        warnings: tuple[str, ...],
    ) -> None:
        pids = sorted(files)
        super().__init__(rb, folder, [files[p] for p in pids], [], rejected, warnings)
        self.table = table
        self.ranking = ranking
        self._file_of = {p: k for k, p in enumerate(pids)}

    def __len__(self) -> int:
        return len(self.ranking.order)

    def _placed(self) -> Iterator[tuple[int, int, int, int, int, int, str | None]]:
        t, r, rb = self.table, self.ranking, self.rulebook
        objects = t.objects
        assert objects is not None
        file_of = self._file_of
        awards = rb.awards
        for start in range(0, len(r.order), 8192):
            idx = r.order[start : start + 8192]
            place = objects[idx].tolist()
            ranks = r.rank[idx].tolist()
            group_ranks = r.group_rank[idx].tolist()
            rows = idx.tolist()
            for k, (pid, at, split, end) in enumerate(place):
                award = award_of(rb, r, rows[k]) if awards else None
                yield file_of[pid], at, split, end, ranks[k], group_ranks[k], award


def table_json_spool(
    rb: Rulebook,
    run: Callable[[TableObjects], tuple[Table, Ranking, Sequence[Rejection], Sequence[str]]],
    spool_dir: str | None = None,
) -> TableJsonSpool:
    """``run(objects)`` scores the tables with ``objects`` writing the unit objects (and gives
    the table, its ranking, the rejections and warnings); the document, ready to write."""
    folder = tempfile.mkdtemp(prefix="fulian-json-", dir=spool_dir)
    objects = TableObjects(rb, folder)
    try:
        table, ranking, rejected, warnings = run(objects)
        objects.close()
        files = objects.files()
    except BaseException:
        objects.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return TableJsonSpool(rb, folder, files, table, ranking, tuple(rejected), tuple(warnings))


def usable(rb: Rulebook) -> bool:
    """Whether a table's JSON can be written by the columns (else: json_stream, unit by unit)."""
    return fast_path_for(rb)
