"""DataFrames in, a pyarrow Table of scores out: the API for systems that import fulian_eval.

>>> import fulian_eval as fe
>>> out = fe.score_table("rules/town-village-2026.toml", df)     # doctest: +SKIP
>>> out.to_pandas()                                               # doctest: +SKIP

``table`` is a pyarrow Table, a pandas or a polars DataFrame (or a mapping of column
name → values). Its column names are read as a CSV header is (SPEC §10.7: a field's
id, title or one of its ``headers``, with an optional unit in ``[]``/``（）``; the
meta columns ``unit`` ``name`` ``group`` ``role`` ``assessor`` or 单位编码 单位名称 …).
Each cell is read as the text it would be in a CSV: strings as they are, integers and
decimals exactly, floats by their shortest repr (``93.2``), booleans as true/false, a
null or NaN as an empty cell (missing evidence). The rows then go through the same
columnar plan as a CSV file, with the exact per-unit path for rows it cannot decide,
so the numbers are those of every other path.

The result has one row per scored unit in report order (role, rank, unit id), then
one row per rejected row: ``unit name group role role_title rank group_rank total
grade vetoed [award] <category>… <category.item>… flags source error``. Points are
``decimal128(12, 2)`` (exact; null where not applicable); ``error`` is null for a
scored unit and says why for a rejected one. Warnings are in the schema metadata
(``warnings``, a JSON list) beside the rulebook's id, version, hash and ``precision``.

Precision (SPEC §10.5): the values are those of every other path, rounded to the
rulebook's ``precision`` (at 0.1 a total of 91.64 is ``91.60``; at 1, ``92.00``). The
column type keeps scale 2 whatever the precision: a value at 0.1 or 1 is still exact
at two decimals, and one schema for every rulebook lets tables of different rulebooks
be stacked. The metadata's ``precision`` (``"0.01"``, ``"0.1"`` or ``"1"``) says how
many of those decimals carry meaning, for a caller that prints them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._runtime import quiet_gc
from .analysis.rank import Ranked, Ranking, rank, rank_table
from .errors import EvidenceError, Problem
from .io.evidence import Rejection, RowsTask, TableLayout, run_task
from .io.load import load_rulebook
from .model.rulebook import Rulebook
from .report.arrow import parquet_metadata, result_columns, table_columns
from .scoring.columnar import Unsupported, compile_plan
from .scoring.exact import UnitResult, score
from .scoring.stream import CHUNK_ROWS, Table, _Scorer

__all__ = ["score_table"]

_POINTS_PLACES = 2


def score_table(
    rulebook: Rulebook | str | os.PathLike[str],
    table: Any,
    *,
    strict: bool = False,
    ignore_columns: bool = False,
    source: str = "table",
) -> Any:
    """Score every row of ``table`` (pyarrow, pandas, polars, or a mapping of columns).

    Args:
        rulebook: a loaded :class:`~fulian_eval.Rulebook` or its path.
        table: the evidence, one row per assessment of a unit.
        strict, ignore_columns: as for :func:`~fulian_eval.load_evidence`.
        source: how rows are named in rejections and ``source`` ("table row 1" is the first row).

    Returns:
        A ``pyarrow.Table`` (module docstring); ``.to_pandas()`` or ``polars.from_arrow``
        for the caller's frame library.

    Raises:
        RulebookError: the rulebook (given as a path) does not load.
        EvidenceError: the columns themselves are wrong (a header that matches no field,
            a column that cannot be read as text); one bad row never raises, it is a row
            of the result with its ``error``.
    """
    pa = _pyarrow()
    rb = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(Path(rulebook))
    data = _as_arrow(pa, table)
    header = [str(c) for c in data.column_names]
    columns = [_texts(pa, data.column(k), header[k], source) for k in range(len(header))]
    layout = TableLayout(rb, header, source, strict, exact=True, ignore_columns=ignore_columns)
    if layout.skip is not None:
        raise EvidenceError([Problem(file=source, message=layout.skip)], source)
    if layout.problems:
        raise EvidenceError(layout.problems)
    n = data.num_rows
    with quiet_gc():
        try:
            plan = compile_plan(rb)
        except Unsupported:
            plan = None
        if plan is not None:
            sc = _Scorer(plan, strict)
            for start in range(0, n, CHUNK_ROWS):
                rows = [
                    list(r)
                    for r in zip(*(c[start : start + CHUNK_ROWS] for c in columns), strict=True)
                ]
                if not columns:
                    rows = [[] for _ in range(min(CHUNK_ROWS, n - start))]
                sc.add_rows(layout, source, start + 1, rows)
            sc.table._finish()
            out = _from_table(pa, sc.table, rank_table(sc.table))
            rejected, warnings = list(sc.rejected), [*layout.warnings, *sc.warnings]
        else:  # a rulebook the plan cannot hold: the per-unit path, row by row
            warnings = list(layout.warnings)
            task = RowsTask(
                shown=source,
                layout=layout,
                rows=[(i + 1, [c[i] for c in columns]) for i in range(n)],
            )
            results: list[UnitResult] = []
            rejected = []
            for got in run_task(rb, task, strict=strict, warnings=warnings):
                if isinstance(got, Rejection):
                    rejected.append(got)
                else:
                    results.append(score(rb, got))
            out = _from_results(pa, rb, rank(rb, results))
    return _finish(pa, rb, out, rejected, warnings)


# ------------------------------------------------------------------ input


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError as exc:  # pragma: no cover - the arrow extra is not installed
        raise ImportError("score_table needs pyarrow: pip install 'fulian-eval[arrow]'") from exc
    return pa


def _as_arrow(pa: Any, table: Any) -> Any:
    """Whatever frame the caller has, as a pyarrow Table (no copy where the library allows)."""
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    if hasattr(table, "to_arrow") and hasattr(table, "schema"):  # polars
        got = table.to_arrow()
        return got if isinstance(got, pa.Table) else pa.table(got)
    if hasattr(table, "iloc") and hasattr(table, "columns"):  # pandas
        try:
            return pa.Table.from_pandas(table, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise EvidenceError(
                [Problem(file="table", message=f"a column cannot be read: {exc}")]
            ) from exc
    if isinstance(
        table, Mapping
    ):  # column name -> values; a column of mixed values is read as text
        cols = {}
        for k, v in table.items():
            values = list(v)
            try:
                cols[str(k)] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                cols[str(k)] = pa.array(
                    [None if x is None else str(x) for x in values], pa.string()
                )
        return pa.table(cols)
    raise TypeError(
        f"score_table takes a pyarrow Table, a pandas or polars DataFrame or a mapping of "
        f"columns, not {type(table).__name__}"
    )


def _texts(pa: Any, col: Any, header: str, source: str) -> list[str]:
    """A column's cells as the text a CSV would hold ('' for null and NaN)."""
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    if pa.types.is_floating(t):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, t), col)
    if pa.types.is_null(t):
        return [""] * len(col)
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        if not (
            pa.types.is_integer(t)
            or pa.types.is_floating(t)
            or pa.types.is_decimal(t)
            or pa.types.is_boolean(t)
            or pa.types.is_date(t)
            or pa.types.is_string_view(t)
        ):
            raise EvidenceError(
                [
                    Problem(
                        file=source,
                        path=f"column '{header}'",
                        message=f"列的类型 {t} 不是文字或数字 (a column of {t} is not evidence text or a number)",
                    )
                ]
            )
        col = pc.cast(col, pa.string())
    texts: list[str] = pc.fill_null(col, "").to_pylist()
    return texts


# ----------------------------------------------------------------- output


def _from_table(pa: Any, t: Table, r: Ranking) -> dict[str, Any]:
    """The result columns of a streamed table, in report order, straight from its arrays."""
    return table_columns(t, r, _POINTS_PLACES)


def _from_results(pa: Any, rb: Rulebook, ranked: Sequence[Ranked[UnitResult]]) -> dict[str, Any]:
    """The same columns from the per-unit path's ranked results."""
    return result_columns(rb, ranked, _POINTS_PLACES)


def _finish(
    pa: Any,
    rb: Rulebook,
    cols: dict[str, Any],
    rejected: Sequence[Rejection],
    warnings: Sequence[str],
) -> Any:
    """Scored rows, then the rejected ones (nulls but unit, source and error), with metadata."""
    n = len(cols["unit"])
    m = len(rejected)
    out: dict[str, Any] = {}
    for name, arr in cols.items():
        if name == "unit":
            extra = pa.array([r.unit for r in rejected], pa.string())
        elif name == "source":
            extra = pa.array([r.source for r in rejected], pa.string())
        else:
            extra = pa.nulls(m, arr.type)
        out[name] = pa.concat_arrays([arr, extra]) if m else arr
    out["error"] = pa.concat_arrays(
        [pa.nulls(n, pa.string()), pa.array([r.error for r in rejected], pa.string())]
    )
    return pa.table(out).replace_schema_metadata(parquet_metadata(rb, warnings))
