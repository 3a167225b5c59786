"""One call for a whole run: the library chooses the pipeline, as the command line does.

>>> import fulian_eval as fe
>>> run = fe.score_run("rules/town-village-2026.toml", ["examples/town/town.csv"])  # doctest: +SKIP
>>> run.report("rank", "csv", "排名.csv")                                            # doctest: +SKIP

Tables (CSV, Parquet, XLSX, XLS) stream through the compiled columnar plan in chunks, and
rows the columns cannot decide exactly are settled by the per-unit engine; TOML
evidence, rulebooks the plan does not compile, waivers and full results (reasons,
for JSON) take the per-unit path, in parallel where it pays. Every path gives the
same scores; :meth:`RunResult.report` writes the very bytes ``fulian-eval score`` /
``rank`` write for the same inputs.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from ._runtime import quiet_gc
from .analysis.rank import Ranked, Ranking, award_of, rank, rank_table
from .io.evidence import TABLE_SUFFIXES, Rejection, expand_paths, load_evidence
from .io.load import load_rulebook
from .io.surveys import SurveyData, load_surveys
from .io.waivers import WaiverSet
from .model.rulebook import Rulebook
from .report.arrow import report_table, result_columns, table_columns, write_parquet
from .report.columns import (
    table_missing_rows,
    write_rank_csv,
    write_score_csv,
    write_table_workbook,
)
from .report.files import replacing
from .report.json_columns import TableJsonSpool, table_json_spool
from .report.json_memo import fast_path_for
from .report.json_stream import spool_score_json, stamp_of
from .report.rank_json import write_rank_json
from .report.render import rank_report, score_report
from .report.workbook import score_workbook
from .scoring.columnar import Plan, Unsupported, compile_plan
from .scoring.exact import UnitResult, UnitSummary, score
from .scoring.parallel import score_summaries
from .scoring.stream import RowSink, Table, score_tables

__all__ = ["RunResult", "columnar_plan", "score_run"]

_TABLES = TABLE_SUFFIXES


@attrs.define(kw_only=True)
class RunResult:
    """The scores of one run, in the form its pipeline made them; every report reads it.

    Attributes:
        rulebook: the scheme scored.
        rejected: units (or files) not scored, each with its reason.
        warnings: what was read but worth saying (columns left out, near-miss names …).
        table: the streamed path's arrays (None on the per-unit path); ``ranking`` its ranks.
        pipeline: ``"columns"`` (tables through the plan), ``"per-unit"`` (full results with
            reasons) or ``"summaries"`` (compact per-unit results, in parallel).
    """

    rulebook: Rulebook
    rejected: tuple[Rejection, ...]
    warnings: tuple[str, ...]
    pipeline: str
    table: Table | None = None
    ranking: Ranking | None = None
    paths: tuple[str, ...] = ()
    strict: bool = False
    ignore_columns: bool = False
    surveys: SurveyData | None = None
    waivers: WaiverSet | None = None
    #: (path, (size, mtime)) of every evidence file when the run read it: a JSON report
    #: written later scores the files again, and refuses if one has changed since.
    stamps: tuple[tuple[str, tuple[int, int]], ...] = ()
    #: The score report in JSON, its unit objects written while the columns scored them
    #: (``score_run(..., json=True)``); :meth:`close` removes its spool files.
    json_spool: TableJsonSpool | None = None
    _ranked: list[Ranked[Any]] | None = None

    def close(self) -> None:
        """Remove the spool files of the JSON objects written while scoring (if any)."""
        if self.json_spool is not None:
            self.json_spool.close()
            self.json_spool = None

    def __enter__(self) -> RunResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.table) if self.table is not None else len(self.ranked)

    @property
    def ranked(self) -> list[Ranked[Any]]:
        """Every scored unit in ranking order: full :class:`UnitResult` on the per-unit path,
        compact :class:`UnitSummary` otherwise (both rank, total, categories, items, flags)."""
        if self._ranked is None:
            assert self.table is not None and self.ranking is not None
            t, r = self.table, self.ranking
            self._ranked = [
                Ranked(
                    result=t.summary(int(i)),
                    rank=int(r.rank[i]),
                    group_rank=int(r.group_rank[i]),
                    award=award_of(self.rulebook, r, int(i)),
                )
                for i in r.order
            ]
        return self._ranked

    def report(
        self, kind: str = "rank", fmt: str = "csv", output: str | Path | IO[str] | None = None
    ) -> str | None:
        """The ``score`` or ``rank`` report (``kind``) as ``fulian-eval`` writes it.

        Args:
            kind: ``"rank"`` or ``"score"``.
            fmt: ``csv``, ``table``, ``markdown``, ``html``, ``json``, ``xlsx`` or ``parquet``
                (both need ``output``: a path or a binary file; Parquet as :meth:`arrow` gives
                it). The score report in JSON carries every reason: unless the run was scored
                with ``full=True`` its units are scored again by the exact engine, chunk by
                chunk, in bounded memory (:mod:`~fulian_eval.report.json_stream`); an evidence
                file changed since the run raises ``InputChanged``. The rank report in JSON
                is made from the run's columns, as every other rank report.
            output: a path (CSV with a UTF-8 BOM, as the command line writes files), an
                open text file, or None to return the text. A path is replaced only when the
                report is complete: a failed run leaves an older file as it was.

        Returns:
            The report's text when ``output`` is None, else None.
        """
        if kind not in ("rank", "score"):
            raise ValueError(f"kind must be 'rank' or 'score', not {kind!r}")
        if fmt == "parquet":
            if output is None or isinstance(output, io.TextIOBase):
                raise ValueError("a Parquet report is a file: give output a path or a binary file")
            if isinstance(output, str | Path):
                with replacing(output, "wb") as f:
                    write_parquet(self.arrow(kind), f)
            else:
                write_parquet(self.arrow(kind), output)  # type: ignore[arg-type]
            return None
        if fmt == "xlsx":
            if output is None or not isinstance(output, str | Path):
                raise ValueError("an xlsx report is a file: give output a path")
            self.workbook(output)
            return None
        t, r = self.table, self.ranking
        if fmt == "csv" and t is not None and r is not None:
            writer = write_rank_csv if kind == "rank" else write_score_csv
            return _text_to(output, lambda f: writer(t, r, f), csv=True)
        if fmt == "json" and kind == "rank" and t is not None and r is not None:
            return _text_to(
                output, lambda f: write_rank_json(self.rulebook, t, r, self.rejected, f)
            )
        if fmt == "json" and kind == "score" and self.json_spool is not None:
            return _text_to(output, self.json_spool.write)
        if fmt == "json" and kind == "score" and self.pipeline != "per-unit":
            with spool_score_json(
                self.rulebook,
                self.paths,
                strict=self.strict,
                ignore_columns=self.ignore_columns,
                waivers=self.waivers,
                surveys=self.surveys,
                stamps=self.stamps,
            ) as spool:
                return _text_to(output, spool.write)
        render = rank_report if kind == "rank" else score_report
        text = render(self.rulebook, self.ranked, self.rejected, fmt)
        return text if output is None else _text_to(output, lambda f: f.write(text), fmt == "csv")

    def arrow(self, kind: str = "rank") -> Any:
        """The ``score`` or ``rank`` report (``kind``) as a pyarrow Table: the CSV report's
        columns and rows, typed (points as decimals at the rulebook's precision, null where the
        CSV says 不适用; ranks as integers); what ``fmt="parquet"`` writes."""
        places = self.rulebook.places
        if self.table is not None and self.ranking is not None:
            cols = table_columns(self.table, self.ranking, places)
        else:
            cols = result_columns(self.rulebook, self.ranked, places)
        return report_table(self.rulebook, cols, kind, self.warnings)

    def workbook(self, path: str | Path | IO[bytes]) -> None:
        """The office workbook (排名, 各项得分, 被拒收, 提示, 缺资料) to a path or a binary file.

        A path is replaced only when the workbook is complete (as every report file is).
        """
        if isinstance(path, str | Path):
            with replacing(path, "wb") as f:
                self.workbook(f)
            return
        if self.table is not None and self.ranking is not None:
            missing = table_missing_rows(
                self.table,
                self.paths,
                strict=self.strict,
                ignore_columns=self.ignore_columns,
                surveys=self.surveys,
            )
            write_table_workbook(
                self.table, self.ranking, self.rejected, self.warnings, missing, path
            )
            return
        if self.pipeline != "per-unit":
            raise ValueError(
                "the workbook's 缺资料 sheet needs each item's status: score the run with full=True"
            )
        score_workbook(self.rulebook, self.ranked, self.rejected, self.warnings, path)


def _text_to(
    output: str | Path | IO[str] | None, write: Callable[[IO[str]], Any], csv: bool = False
) -> str | None:
    """``write`` a report to ``output``: None gives the text back; a path is replaced only
    when the report is complete, in UTF-8 (CSV with a BOM, as the command line writes files:
    Excel shows Chinese right); an open text file is written as it is."""
    if output is None:
        buf = io.StringIO()
        write(buf)
        return buf.getvalue()
    if isinstance(output, str | Path):
        with replacing(output, "w", encoding="utf-8-sig" if csv else "utf-8", newline="") as f:
            write(f)
    else:
        write(output)
    return None


def columnar_plan(
    rb: Rulebook, paths: Iterable[str | Path], waivers: WaiverSet | None = None
) -> Plan | None:
    """The compiled plan when a run streams through the columns (tables, no waivers, a plan), else None."""
    if waivers is not None or not any(p.suffix.lower() in _TABLES for p, _ in expand_paths(paths)):
        return None
    try:
        return compile_plan(rb)
    except Unsupported:
        return None


def score_run(
    rulebook: Rulebook | str | Path,
    evidence: Iterable[str | Path],
    *,
    waivers: WaiverSet | None = None,
    surveys: SurveyData | Iterable[str | Path] | None = None,
    strict: bool = False,
    ignore_columns: bool = False,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    sink: RowSink | None = None,
    plan: Plan | None = None,
    json: bool = False,
) -> RunResult:
    """Score every unit under ``evidence`` the fastest exact way, and rank them.

    Args:
        rulebook: a loaded :class:`Rulebook` or its path.
        evidence: evidence files and folders (TOML, CSV, XLSX, XLS, Parquet), as for
            :func:`~fulian_eval.load_evidence`.
        waivers: waivers in force (SPEC §2.5); they take the per-unit path.
        surveys: questionnaires (SPEC §10.9): survey tables (paths) or what
            :func:`~fulian_eval.io.surveys.load_surveys` read from them; they fill the
            fields an assessment does not give (rows of surveyed units take the per-unit
            path). Warnings about the tables are in the result's ``warnings``.
        strict, ignore_columns: as for :func:`~fulian_eval.load_evidence`.
        full: keep full results (every item's reason and inputs: the per-unit path), as
            JSON and the record sheets need.
        progress: called as ``progress(done, total)`` now and then.
        sink: on the streamed path, receives the scored rows as they come (the audit trail's
            :class:`~fulian_eval.audit.sink.AuditSink`).
        plan: the rulebook's compiled plan, when the caller has it already.
        json: on the streamed path, also write each unit's object of the score report in
            JSON as its chunk is scored (``report("score", "json")`` then copies them,
            instead of scoring the tables again); close the result (or use it in a
            ``with``) to remove them.

    Returns:
        A :class:`RunResult`; rejected units are in it, not raised.

    Raises:
        RulebookError: the rulebook (given as a path) does not load.
        NoEvidence: a path gives no evidence at all.
    """
    with quiet_gc():
        return _score_run(
            rulebook,
            evidence,
            waivers=waivers,
            surveys=surveys,
            strict=strict,
            ignore_columns=ignore_columns,
            full=full,
            progress=progress,
            sink=sink,
            plan=plan,
            json=json,
        )


def _score_run(
    rulebook: Rulebook | str | Path,
    evidence: Iterable[str | Path],
    *,
    waivers: WaiverSet | None,
    surveys: SurveyData | Iterable[str | Path] | None,
    strict: bool,
    ignore_columns: bool,
    full: bool,
    progress: Callable[[int, int], None] | None,
    sink: RowSink | None,
    plan: Plan | None,
    json: bool = False,
) -> RunResult:
    rb = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(rulebook)
    paths = tuple(os.fspath(p) for p in evidence)
    said: list[str] = []  # the survey tables' own warnings come first
    data: SurveyData | None = None
    if surveys is not None and not isinstance(surveys, SurveyData):
        data, said = load_surveys(list(surveys), rb)
    elif surveys is not None:
        data = surveys

    stamps = tuple((os.fspath(p), stamp_of(p)) for p, _shown in expand_paths(paths) if p.is_file())

    def made(
        pipeline: str, rejected: Iterable[Rejection], warnings: Iterable[str], **rest: Any
    ) -> RunResult:
        return RunResult(
            rulebook=rb,
            paths=paths,
            waivers=waivers,
            stamps=stamps,
            strict=strict,
            ignore_columns=ignore_columns,
            surveys=data,
            pipeline=pipeline,
            rejected=tuple(rejected),
            warnings=(*said, *warnings),
            **rest,
        )

    if plan is None and not full:
        plan = columnar_plan(rb, paths, waivers)
    if plan is not None:
        compiled = plan

        def tables(objects: Any = None) -> Any:
            return score_tables(
                compiled,
                paths,
                strict=strict,
                progress=progress,
                ignore_columns=ignore_columns,
                sink=sink,
                surveys=data,
                objects=objects,
            )

        if json and fast_path_for(rb):

            def run(objects: Any) -> tuple[Table, Ranking, Sequence[Rejection], Sequence[str]]:
                res = tables(objects)
                return res.table, rank_table(res.table), res.rejected, res.warnings

            spool = table_json_spool(rb, run)
            return made(
                "columns",
                spool.rejected,
                spool.warnings,
                table=spool.table,
                ranking=spool.ranking,
                json_spool=spool,
            )
        res = tables()
        return made(
            "columns", res.rejected, res.warnings, table=res.table, ranking=rank_table(res.table)
        )
    if full:
        es = load_evidence(rb, paths, strict=strict, ignore_columns=ignore_columns, surveys=data)
        warnings = list(es.warnings)
        results: list[UnitResult] = []
        for ev in es.evidence:
            waived: dict[str, str] = {}
            if waivers is not None:
                waived, told = waivers.for_unit(ev)
                warnings.extend(told)
            results.append(score(rb, ev, waived))
        return made("per-unit", es.rejected, warnings, ranked=rank(rb, results))
    batch = score_summaries(
        rb,
        paths,
        strict=strict,
        progress=progress,
        ignore_columns=ignore_columns,
        waivers=waivers,
        surveys=data,
    )
    summaries: Sequence[UnitSummary] = batch.summaries
    return made("summaries", batch.rejected, batch.warnings, ranked=rank(rb, summaries))
