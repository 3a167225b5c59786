"""The audit trail kept while a table is streamed: unit records built from the arrays, stored by a second process."""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import queue as queue_module
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..analysis.rank import Ranking
from ..io.evidence import Rejection
from ..scoring.columnar import Plan
from ..scoring.stream import HundredthsText, Table
from . import blocks
from .store import AppendResult, AuditError, EvidencePaths, RunWriter, UnitBodies

__all__ = [
    "AuditSink",
    "audit_bodies",
]


def audit_bodies(t: Table, r: Ranking | None, enc: UnitBodies, block: int = 4096) -> Iterator[str]:
    """The table's unit records for the audit trail, in report order (input order without ``r``)."""
    fmt = HundredthsText(places=t.plan.places)
    order = r.order if r is not None else np.arange(len(t))
    for a in range(0, len(order), block):
        idx = order[a : a + block]
        rows = idx.tolist()
        yield from _bodies(
            enc,
            fmt,
            t.plan.grade_names,
            _Rows(
                unit=[t.unit[i] for i in rows],
                name=[t.name[i] for i in rows],
                group=[t.group[i] for i in rows],
                kind=[t.kind[i] for i in rows],
                role=[t.role[i] for i in rows],
                file=[t.files[t.file_of[i]] for i in rows],
                row=[t.rowno[i] for i in rows],
                flags=[t.flags(i) for i in rows],
                total_h=t.total_h[idx],
                vetoed=t.vetoed[idx],
                grade=t.grade[idx],
                cat_h=t.cat_h[idx],
                cat_ok=t.cat_ok[idx],
                item_h=t.item_h[idx],
            ),
        )


@attrs.frozen(kw_only=True)
class _Rows:
    """Some scored rows, as the audit records need them (picklable)."""

    unit: list[str]
    name: list[str]
    group: list[str]
    kind: list[str]
    role: list[str]
    file: list[str]
    row: list[int]
    flags: list[tuple[str, ...]]
    total_h: Any
    vetoed: Any
    grade: Any
    cat_h: Any
    cat_ok: Any
    item_h: Any


def _bodies(
    enc: UnitBodies, fmt: HundredthsText, grade_names: Sequence[str], r: _Rows
) -> list[str]:
    names = [*grade_names, None]  # index −1 -> None
    return enc.block(
        unit=r.unit,
        name=r.name,
        group=r.group,
        kind=r.kind,
        role=r.role,
        file=r.file,
        row=r.row,
        flags=r.flags,
        grade=[names[g] for g in r.grade.tolist()],
        vetoed=r.vetoed.tolist(),
        total=fmt.many(r.total_h),
        cat_scores=[fmt.many(r.cat_h[:, k]) for k in range(r.cat_h.shape[1])],
        cat_ok=[r.cat_ok[:, k].tolist() for k in range(r.cat_ok.shape[1])],
        points=fmt.many(r.item_h.ravel()),
    )


class AuditSink:
    """Stores a run in the audit trail while it is scored, from a second process.

    The main process scores; each chunk of kept rows is sent to a forked writer
    that makes their records, hashes them into the chain and writes them, in one
    transaction that :meth:`finish` commits (see :func:`~fulian_eval.audit.store.start_run`;
    records are in input order). Nothing is stored if the run is aborted or fails.
    """

    def __init__(
        self, store: str | Path, start: Callable[[], tuple[RunWriter, list[str]]], plan: Plan
    ) -> None:
        """``start`` (run in the writer) begins the run; it gives the writer and the stored evidence paths."""
        ctx = multiprocessing.get_context("fork")
        # Rows go through a queue (a feeder thread writes them, so scoring never waits for
        # the writer); the answer comes back through a pipe.
        self._queue: Any = ctx.Queue()
        self._pipe, child = ctx.Pipe()
        # The writer dies with this process (a SIGKILL, the OOM killer): its transaction is then never
        # committed, and its lock on the store goes with it (see _die_with_parent).
        self._proc = ctx.Process(
            target=_sink_main, args=(self._queue, child, start, plan, os.getpid()), daemon=True
        )
        self._proc.start()
        child.close()
        self.store = store
        self._sent = [0, 0, 0, 0]  # group, role, file names and flag sets the writer has

    @staticmethod
    def available() -> bool:
        return "fork" in multiprocessing.get_all_start_methods()

    def rows(self, t: Table, first: int, n: int) -> None:
        """Send rows ``first`` … ``first + n − 1`` (just kept): repeated strings go as codes,
        new names once, so the scoring process does as little as it can for the audit."""
        sl = slice(first, first + n)
        part = [
            p[-1] for p in t._parts[:6]
        ]  # not item_na: the audit keeps item statuses its own way
        kinds = t.kind[sl]
        news = []
        named: tuple[list[Any], ...] = (list(t.groups), list(t.roles), t.files, t.flag_sets)
        for k, names in enumerate(named):
            news.append(names[self._sent[k] :])
            self._sent[k] = len(names)
        self._queue.put(
            (
                "rows",
                (
                    t.unit[sl],
                    t.name[sl],
                    kinds if any(kinds) else None,
                    news,
                    np.frombuffer(t.group_code, dtype=np.int32)[sl].copy(),
                    np.frombuffer(t.role_code, dtype=np.int8)[sl].copy(),
                    np.frombuffer(t.file_of, dtype=np.int32)[sl].copy(),
                    np.frombuffer(t.rowno, dtype=np.int32)[sl].copy(),
                    np.frombuffer(t.flag_code, dtype=np.int32)[sl].copy(),
                    part,
                ),
            )
        )

    def mark(self) -> None:
        self._queue.put(("mark",))

    def back_to_mark(self) -> None:
        self._queue.put(("back",))

    def finish(self, rejected: Sequence[Rejection]) -> AppendResult:
        """Write the end record and commit; the run's number and the new head."""
        self.end(rejected)
        return self.result()

    def end(self, rejected: Sequence[Rejection]) -> None:
        """Tell the writer the run is over (it writes the end record and commits), without waiting."""
        self._queue.put(("end", list(rejected)))

    def result(self) -> AppendResult:
        """Wait for the commit after :meth:`end`; the run's number and the new head."""
        try:
            kind, got = self._pipe.recv()
        except EOFError:
            kind, got = "error", "the audit writer stopped"
        self._proc.join()
        if kind == "error":
            text = str(got)
            raise AuditError(
                text
                if text.startswith(f"{self.store}: ")
                else f"{self.store}: cannot store the run: {text}"
            )
        result: AppendResult = got
        return result

    def abort(self) -> None:
        """Store nothing: the writer is stopped before it commits, so its transaction never happened."""
        self._queue.cancel_join_thread()
        self._proc.terminate()
        self._proc.join(timeout=30)
        if self._proc.is_alive():  # pragma: no cover - terminate is enough on Linux
            self._proc.kill()
            self._proc.join()


class _Blocks:
    """Block records (:mod:`.blocks`) from rows as :meth:`AuditSink.rows` sent them."""

    def __init__(self, plan: Plan, paths: Sequence[str]) -> None:
        self.plan = plan
        self.evidence = EvidencePaths(paths)
        self.categories = [c.id for c in plan.rb.categories]
        self.known: list[list[Any]] = [[], [], [], []]  # group, role, file names, flag sets
        self.files: list[tuple[str, int | None]] = []
        self.kinds: dict[str, int] = {"": 0}

    def __call__(self, wire: Any) -> tuple[str, int]:
        """The block's body and how many units it holds."""
        units, names, kinds, news, group, role, file_of, rowno, flag, part = wire
        for k, new in enumerate(news):
            self.known[k].extend(new)
        for f in news[2]:
            self.files.append((f, self.evidence.index(f)))
        n = len(units)
        if kinds is None:
            kind_codes: Any = np.zeros(n, dtype=np.int64)
        else:
            kind_codes = [self.kinds.setdefault(k, len(self.kinds)) for k in kinds]
        groups, roles, _, flag_sets = self.known
        body = blocks.encode(
            unit=units,
            name=names,
            group=group,
            groups=groups,
            kind=kind_codes,
            kinds=list(self.kinds),
            role=role,
            roles=roles,
            file=file_of,
            files=self.files,
            row=rowno,
            flags=flag,
            flag_sets=flag_sets,
            grades=self.plan.grade_names,
            grade=part[2],
            vetoed=part[1],
            total_h=part[0],
            categories=self.categories,
            cat_h=part[3],
            cat_ok=part[4],
            item_h=part[5],
            places=self.plan.places,
        )
        return body, n


def _die_with_parent(parent: int) -> None:
    """Make this (forked) process die the moment ``parent`` does, however it dies.

    On Linux the kernel sends SIGKILL when the parent goes (``prctl(PR_SET_PDEATHSIG)``);
    a parent already gone before that was set is seen by ``getppid``. Elsewhere the
    writer's loop checks ``getppid`` every second (:func:`_sink_main`).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (
            OSError,
            AttributeError,
        ):  # pragma: no cover - no libc prctl: the getppid check stays
            pass
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _sink_main(
    queue: Any,
    pipe: Any,
    start: Callable[[], tuple[RunWriter, list[str]]],
    plan: Plan,
    parent: int | None = None,
) -> None:
    """The writer process: records from rows until the end (an abort terminates it before it commits).

    It never outlives ``parent``, the scoring process: a run whose scorer was killed
    is never committed, and leaves no process holding the store's lock.
    """
    if parent is not None:
        _die_with_parent(parent)
    # The scorer's objects came with the fork: the collector must never walk them (each walk
    # would touch, and so copy, every page of them), only what the writer itself makes.
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the scorer's to handle: it aborts us
    writer: RunWriter | None = None
    error = ""
    paths: list[str] = []
    try:
        writer, paths = start()
    except BaseException as exc:  # reported at the end, when the scorer asks
        error = str(exc)
    block = _Blocks(plan, paths)
    while True:
        try:
            msg = queue.get(timeout=1.0)
        except queue_module.Empty:
            if parent is not None and os.getppid() != parent:
                os._exit(1)  # the scorer is gone: nothing is committed
            continue
        kind = msg[0]
        try:
            if writer is None:
                if kind == "end":
                    pipe.send(("error", error))
                    return
                continue
            if kind == "rows":
                writer.add_block(*block(msg[1]))
            elif kind == "mark":
                writer.mark()
            elif kind == "back":
                writer.back_to_mark()
            elif kind == "end":
                pipe.send(("ok", writer.finish(msg[1])))
                return
        except BaseException as exc:
            error = str(exc)
            writer = None  # RunWriter aborts itself on failure; keep reading until the end
