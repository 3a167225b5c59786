"""Scoring many units at once on every core: evidence paths in, compact summaries out.

Tables are split into chunks of rows; each worker process parses and scores its
chunks and sends back :class:`~fulian_eval.scoring.exact.UnitSummary` records (no reasons),
which is all a ranking, a table or a CSV needs. Results are the very same as the
one-process path: the same code scores every unit; only where it runs differs.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import attrs

from ..io.evidence import Deduplicator, Rejection, Task, plan_sources, run_task
from ..io.surveys import SurveyData
from ..io.waivers import WaiverSet
from ..model.rulebook import Rulebook
from .exact import UnitSummary, score

__all__ = ["BatchResult", "score_summaries"]

#: Below this many table rows, one process is faster than starting workers.
PARALLEL_MIN_ROWS = 4000
CHUNK_ROWS = 2500

_RB: Rulebook | None = None  # set in the parent before forking; workers inherit it
_STRICT = False
_WAIVERS: WaiverSet | None = None
_SURVEYS: SurveyData | None = None


@attrs.frozen(kw_only=True)
class BatchResult:
    summaries: tuple[UnitSummary, ...]
    rejected: tuple[Rejection, ...]
    warnings: tuple[str, ...]


def _work(task: Task) -> tuple[list[UnitSummary | Rejection], list[str]]:
    assert _RB is not None
    warnings: list[str] = []
    out: list[UnitSummary | Rejection] = []
    for o in run_task(_RB, task, strict=_STRICT, warnings=warnings, surveys=_SURVEYS):
        if isinstance(o, Rejection):
            out.append(o)
            continue
        waived: dict[str, str] = {}
        if _WAIVERS is not None:
            waived, warns = _WAIVERS.for_unit(o)
            warnings.extend(warns)
        out.append(score(_RB, o, waived).summary())
    return out, warnings


def _size(task: Task) -> int:
    rows = getattr(task, "rows", None)
    return len(rows) if rows is not None else 1


def _workers(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def score_summaries(
    rb: Rulebook,
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    waivers: WaiverSet | None = None,
    ignore_columns: bool = False,
    surveys: SurveyData | None = None,
) -> BatchResult:
    """Load and score every unit under ``paths``, in parallel when it pays.

    Args:
        rb: the rulebook.
        paths: evidence files and folders, as for :func:`~fulian_eval.load_evidence`.
        strict: as for :func:`~fulian_eval.load_evidence`.
        workers: processes to use (default: the cores this process may run on).
        progress: called as ``progress(units_done, units_total)`` after each chunk.
        waivers: waivers in force (SPEC §2.5), applied to the units they name.
        ignore_columns, surveys: as for :func:`~fulian_eval.load_evidence`.

    Returns:
        Summaries in input order, rejections (bad units, duplicates), warnings.
    """
    global _RB, _STRICT, _WAIVERS, _SURVEYS
    tasks, rejected, warnings = plan_sources(
        rb, paths, strict=strict, chunk=CHUNK_ROWS, ignore_columns=ignore_columns
    )
    total = sum(_size(t) for t in tasks)
    n = min(_workers(workers), len(tasks))
    _RB, _STRICT, _WAIVERS, _SURVEYS = rb, strict, waivers, surveys
    results: Iterator[tuple[list[UnitSummary | Rejection], list[str]]]
    pool = None
    # Rulebooks hold compiled expressions (closures), so workers must be forked
    # with the rulebook already in memory rather than sent it.
    if n > 1 and total >= PARALLEL_MIN_ROWS and "fork" in multiprocessing.get_all_start_methods():
        pool = multiprocessing.get_context("fork").Pool(n)
        results = pool.imap(_work, tasks, chunksize=1 if total >= len(tasks) * 100 else 64)
    else:
        results = map(_work, tasks)
    summaries: list[UnitSummary] = []
    rejects = list(rejected)
    dedup = Deduplicator()
    done = 0
    try:
        for task, (outs, warns) in zip(tasks, results, strict=True):
            warnings.extend(warns)
            dedup.admit(outs, summaries, rejects)
            done += _size(task)
            if progress is not None:
                progress(done, total)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _RB, _WAIVERS, _SURVEYS = None, None, None
    if surveys is not None:
        warnings.extend(
            surveys.unmatched(
                [(u.unit.id, u.unit.name) for u in summaries]
                + [(r.unit, "") for r in rejects if r.unit]
            )
        )
    return BatchResult(
        summaries=tuple(summaries), rejected=tuple(rejects), warnings=tuple(warnings)
    )


def terminal_progress(label: str, *, percent: bool = False) -> Callable[[int, int], None] | None:
    """A progress line on stderr when it is a terminal; None (silent) when piped.

    Shows ``done/total`` (units), or with ``percent`` the share done (``评分 37%``).
    """
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        shown = f"{100 * done // max(total, 1)}%" if percent else f"{done}/{total}"
        sys.stderr.write(f"\r{label} {shown}{end}")
        sys.stderr.flush()

    return show
