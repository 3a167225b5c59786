"""Results as Arrow columns (pyarrow, the ``arrow`` extra): the Parquet report
(``score``/``rank -o report.parquet``) and :func:`fulian_eval.score_table` build on them.

Both the streamed table's arrays (:func:`table_columns`) and the per-unit path's ranked
results (:func:`result_columns`) give the same named columns; :func:`report_table` puts
them in the order, and with the values, of the CSV report (``report/columns.py``,
``report/render.py``): one row per unit in report order, points as exact decimals at
the rulebook's precision (null where the CSV says 不适用), ranks as integers, text as
text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, Any

import numpy as np

from ..analysis.rank import Ranked, Ranking
from ..lang.text import fmt_points
from ..model.rulebook import Rulebook
from ..scoring.exact import UnitResult, UnitSummary
from ..scoring.stream import Table

__all__ = [
    "decimals",
    "parquet_metadata",
    "report_table",
    "result_columns",
    "table_columns",
    "write_parquet",
]

#: Digits before the decimal point a points column holds (a total is at most ±10⁹ or so).
_WHOLE_DIGITS = 10


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the arrow extra is not installed
        from ..lang.messages import _

        raise ImportError(
            _("a Parquet report needs the 'arrow' extra: pip install 'fulian_eval[arrow]'")
        ) from None
    return pa


def decimals(h: Any, places: int = 2, null: Any = None) -> Any:
    """Hundredths (int64) as an exact ``decimal128(10 + places, places)`` array, null where
    ``null`` holds; ``places`` 2, 1 or 0 (the hundredths are then multiples of 10 or 100)."""
    pa = _pyarrow()
    h = np.ascontiguousarray(h, dtype=np.int64)
    if places < 2:
        h = h // 10 ** (2 - places)
    words = np.empty((len(h), 2), dtype=np.int64)
    words[:, 0] = h
    words[:, 1] = np.where(h < 0, -1, 0)
    typ = pa.decimal128(_WHOLE_DIGITS + places, places)
    arr = pa.Array.from_buffers(typ, len(h), [None, pa.py_buffer(words.tobytes())])
    if null is not None and np.any(null):
        arr = pa.compute.if_else(pa.array(np.asarray(null, dtype=bool)), pa.scalar(None, typ), arr)
    return arr


def table_columns(t: Table, r: Ranking, places: int = 2) -> dict[str, Any]:
    """A streamed table's result columns, in report order, straight from its arrays: unit
    name group role role_title rank group_rank total grade vetoed [award] <category>…
    <category.item>… flags (a list of text) source."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    rb = t.plan.rb
    order = np.asarray(r.order, dtype=np.int64)
    at = pa.array(order, pa.int64())

    def lookup(values: Sequence[Any], codes: Any, typ: Any = None) -> Any:
        """``values[code]`` for each row in report order; code −1: None."""
        codes = np.asarray(codes, dtype=np.int64)[order]
        got = pa.array([*values, None], typ or pa.string())
        return got.take(pa.array(np.where(codes < 0, len(values), codes), pa.int64()))

    role_code = np.frombuffer(t.role_code, dtype=np.int8)
    cols: dict[str, Any] = {
        **{k: t.text_array(k).take(at) for k in ("unit", "name", "group", "role")},
        "role_title": lookup([rb.roles.title(x) for x in t.roles], role_code),
        "rank": pa.array(r.rank[order], pa.int32()),
        "group_rank": pa.array(r.group_rank[order], pa.int32()),
        "total": decimals(t.total_h[order], places),
        "grade": lookup(t.plan.grade_names, t.grade),
        "vetoed": pa.array(t.vetoed[order], pa.bool_()),
    }
    if rb.awards:
        assert r.award is not None
        cols["award"] = lookup([a.name for a in rb.awards], r.award)
    for k, (c, _) in enumerate(t.plan.cats):
        cols[c.id] = decimals(t.cat_h[order, k], places, ~t.cat_ok[order, k])
    for j, p in enumerate(t.plan.items):
        h = t.item_h[order, j]
        na = None if t.item_na is None else t.item_na[order, j] & (h == 0)
        cols[p.item.id] = decimals(h, places, na)
    flag_code = np.frombuffer(t.flag_code, dtype=np.int32)
    flags = lookup([list(f) for f in t.flag_sets], flag_code, pa.list_(pa.string()))
    cols["flags"] = flags
    # where each row came from, as Table.source says it: "file row N", or the file alone (row 0)
    rowno = np.frombuffer(t.rowno, dtype=np.int32)[order]
    files = lookup(t.files, np.frombuffer(t.file_of, dtype=np.int32))
    rows = pc.cast(pa.array(rowno.astype(np.int64)), pa.string())
    cols["source"] = pc.if_else(
        pa.array(rowno == 0), files, pc.binary_join_element_wise(files, rows, " row ")
    )
    return cols


def _hundredths(text: str) -> int:
    return int(Decimal(text).scaleb(2))


def result_columns(rb: Rulebook, ranked: Sequence[Ranked[Any]], places: int = 2) -> dict[str, Any]:
    """The columns of :func:`table_columns` from the per-unit path's ranked results
    (:class:`UnitResult` or :class:`UnitSummary`), plus ``total_without_waivers`` when a
    waiver changed a total (as the CSV report has it)."""
    pa = _pyarrow()
    res: list[UnitSummary] = [
        x.result.summary() if isinstance(x.result, UnitResult) else x.result for x in ranked
    ]
    cols: dict[str, Any] = {
        "unit": pa.array([u.unit.id for u in res], pa.string()),
        "name": pa.array([u.unit.name for u in res], pa.string()),
        "group": pa.array([u.unit.group for u in res], pa.string()),
        "role": pa.array([u.role for u in res], pa.string()),
        "role_title": pa.array([rb.roles.title(u.role) for u in res], pa.string()),
        "rank": pa.array([x.rank for x in ranked], pa.int32()),
        "group_rank": pa.array([x.group_rank for x in ranked], pa.int32()),
        "total": decimals(np.array([u.total_h for u in res], dtype=np.int64), places),
        "grade": pa.array([u.grade for u in res], pa.string()),
        "vetoed": pa.array([u.vetoed for u in res], pa.bool_()),
    }
    if rb.awards:
        cols["award"] = pa.array([x.award for x in ranked], pa.string())
    for k, c in enumerate(rb.categories):
        cats = [u.categories[k] for u in res]
        cols[c.id] = decimals(
            np.array([x[2] for x in cats], dtype=np.int64),
            places,
            np.array([not x[3] for x in cats], dtype=bool),
        )
    for j, item in enumerate(rb.items()):
        cols[item.id] = decimals(
            np.array([_hundredths(u.items[j]) for u in res], dtype=np.int64),
            places,
            np.array([j in u.unshown for u in res], dtype=bool),
        )
    cols["flags"] = pa.array([list(u.flags) for u in res], pa.list_(pa.string()))
    cols["source"] = pa.array([u.source for u in res], pa.string())
    if any(u.total_without_waivers is not None for u in res):
        cols["total_without_waivers"] = decimals(
            np.array(
                [_hundredths(u.total_without_waivers or u.total) for u in res], dtype=np.int64
            ),
            places,
        )
    return cols


def parquet_metadata(rb: Rulebook, warnings: Sequence[str] = ()) -> dict[str, str]:
    """What a results table's schema metadata says: the rulebook, its precision, the warnings."""
    return {
        "rulebook": rb.id,
        "version": rb.version,
        "sha256": rb.sha256,
        "warnings": json.dumps(list(warnings), ensure_ascii=False),
        "precision": fmt_points(rb.precision, rb.places),
    }


def report_table(
    rb: Rulebook, cols: dict[str, Any], kind: str, warnings: Sequence[str] = ()
) -> Any:
    """The ``score`` or ``rank`` (``kind``) report as a pyarrow Table: the CSV report's
    columns in its order (``flags`` joined by `` | `` as there), typed."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    head = ["rank", "group_rank", "unit", "name", "group", "role", "total", "grade", "vetoed"]
    if "award" in cols:
        head.append("award")
    if kind == "rank":
        head += list(rb.tie_break)
    else:
        head += [c.id for c in rb.categories]
        head += [i.id for i in rb.items()]
        head.append("flags")
        if "total_without_waivers" in cols:
            head.append("total_without_waivers")
    out = {}
    for name in head:
        arr = cols[name]
        if name == "flags":
            arr = pc.binary_join(arr, " | ")
        out[name] = arr
    return pa.table(out).replace_schema_metadata(parquet_metadata(rb, warnings))


def write_parquet(table: Any, output: str | IO[bytes]) -> None:
    """A table to a Parquet file (a path or a binary file open for writing)."""
    import pyarrow.parquet as pq

    pq.write_table(table, output, compression="zstd")
