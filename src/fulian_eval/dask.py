"""Past one machine: a ``dask.dataframe`` scored partition by partition (the ``dask`` extra).

>>> import dask.dataframe as dd
>>> from fulian_eval.dask import score_dask
>>> evidence = dd.read_csv("provinces/*.csv", dtype=str, keep_default_na=False)  # doctest: +SKIP
>>> scored = score_dask("rules/town-village-2026.toml", evidence)                 # doctest: +SKIP
>>> scored.to_parquet("out/", partition_on=["group"])                            # doctest: +SKIP

How it works:

1. The rulebook travels as the bytes of its files (``extends`` chain included, each
   checked against its hash), never as a pickled object: each worker validates and
   compiles it once (:func:`~fulian_eval.io.load.load_rulebook_chain`), and keeps it
   for every later partition.
2. Each partition goes through :func:`~fulian_eval.score_table`: the columnar plan,
   with the doubtful rows settled exactly on that worker. A row is named
   ``partition K row N`` (both from 1).
3. Only the compact key columns come back to the client (unit, role, group, vetoed,
   total and the tie-break categories, a few bytes a unit). There a repeated unit and
   role is rejected as a single table rejects it (the first, in partition order,
   stays), and the ranks, group ranks and awards are computed over all of them at
   once (:func:`~fulian_eval.analysis.rank.rank_arrays`, as for one table).
4. The ranks go back to the partitions, which stay on the workers (persisted).

The result is a dask DataFrame with the columns of :func:`~fulian_eval.score_table`
(pyarrow-backed pandas dtypes: points stay exact decimals) plus ``partition``, in
the input's partition order; ``.compute()`` it, or write it with ``to_parquet`` (see
``docs/performance.md``). Its numbers are those of the single-machine run.

Precision (SPEC §10.5): points come from :func:`~fulian_eval.score_table` already
rounded to the rulebook's ``precision`` and keep its ``decimal128(12, 2)`` type (scale 2
at every precision: 91.6 at 0.1 is ``91.60``, exact). Ranking on the client reads those
rounded hundredths, so units that tie at the precision tie here too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .analysis.rank import rank_arrays
from .errors import Problem, RulebookError
from .frames import score_table
from .io.evidence import duplicate_message
from .io.load import load_rulebook, load_rulebook_chain
from .io.tables import read_bounded
from .model.rulebook import Rulebook

__all__ = ["rulebook_chain", "score_dask"]

_WORKER: dict[tuple[str, ...], Rulebook] = {}


def rulebook_chain(rb: Rulebook) -> list[tuple[str, bytes]]:
    """The bytes of every file of ``rb``'s chain, as it was loaded (each checked against its hash)."""
    chain = []
    for src in rb.sources:
        data = read_bounded(Path(src.path))
        if hashlib.sha256(data).hexdigest() != src.sha256:
            raise RulebookError(
                [
                    Problem(
                        file=src.path,
                        message="考核细则文件在载入后被改动，请重新载入 (changed since it was loaded)",
                    )
                ]
            )
        chain.append((src.path, data))
    return chain


def _rulebook_of(chain: Sequence[tuple[str, bytes]]) -> Rulebook:
    """The worker's copy of the rulebook: validated from its bytes once per process."""
    key = tuple(hashlib.sha256(b).hexdigest() for _, b in chain)
    rb = _WORKER.get(key)
    if rb is None:
        rb = _WORKER[key] = load_rulebook_chain(list(chain))
    return rb


def _score_part(
    pdf: Any,
    chain: Sequence[tuple[str, bytes]],
    strict: bool,
    ignore_columns: bool,
    partition_info: dict[str, Any] | None = None,
) -> Any:
    import pandas as pd

    k = 0 if partition_info is None else int(partition_info["number"])
    out = score_table(
        _rulebook_of(chain),
        pdf,
        strict=strict,
        ignore_columns=ignore_columns,
        source=f"partition {k + 1}",
    )
    frame = out.to_pandas(types_mapper=pd.ArrowDtype)
    frame["partition"] = pd.Series(np.full(len(frame), k, dtype=np.int32), dtype="int32[pyarrow]")
    return frame


def _hundredths(col: Any) -> Any:
    """A decimal128(…, 2) column (pyarrow-backed pandas) as int64 hundredths; 0 where null."""
    import pyarrow as pa

    arr = pa.array(col.array) if not hasattr(col.array, "_pa_array") else col.array._pa_array
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)
    low = words[2 * arr.offset : 2 * (arr.offset + len(arr)) : 2].copy()
    valid = np.asarray(arr.is_valid())
    low[~valid] = 0
    return low


def _attach(part: Any, ranks: dict[str, Any]) -> Any:
    """A scored partition with its global ranks, award and any error found on the client."""
    import pandas as pd

    part = part.copy()
    part["rank"] = pd.array(ranks["rank"], dtype="int32[pyarrow]")
    part["group_rank"] = pd.array(ranks["group_rank"], dtype="int32[pyarrow]")
    if "award" in part.columns:
        part["award"] = pd.array(ranks["award"], dtype=part["award"].dtype)
    errors = ranks["error"]
    if errors:
        col = part["error"].astype(object).tolist()
        for i, e in errors.items():
            col[i] = e
        part["error"] = pd.array(col, dtype=part["error"].dtype)
    return part


def score_dask(
    rulebook: Rulebook | str | os.PathLike[str],
    evidence: Any,
    *,
    strict: bool = False,
    ignore_columns: bool = False,
) -> Any:
    """Score a dask DataFrame of evidence partition by partition, ranked over all of it.

    Args:
        rulebook: a loaded :class:`~fulian_eval.Rulebook` or its path.
        evidence: a ``dask.dataframe.DataFrame``, one row per assessment of a unit, its
            columns named as for :func:`~fulian_eval.score_table`.
        strict, ignore_columns: as for :func:`~fulian_eval.load_evidence`.

    Returns:
        A dask DataFrame (module docstring), persisted on the cluster.
    """
    import dask.dataframe as dd
    from dask.delayed import delayed

    rb = rulebook if isinstance(rulebook, Rulebook) else load_rulebook(Path(rulebook))
    chain = rulebook_chain(rb)
    meta = _score_part(evidence._meta, chain, strict, ignore_columns)
    scored = evidence.map_partitions(
        _score_part, chain, strict, ignore_columns, meta=meta, align_dataframes=False
    ).persist()
    key_cols = ["unit", "role", "group", "vetoed", "total", "source", "error", "partition"]
    keys = scored[key_cols + [c for c in rb.tie_break if c not in key_cols]].compute()
    n = len(keys)
    ok = keys["error"].isna().to_numpy().copy()
    units = keys["unit"].astype(object).tolist()
    roles = keys["role"].astype(object).tolist()
    sources = keys["source"].astype(object).tolist()
    errors: dict[int, str] = {}
    first: dict[tuple[str, str], int] = {}
    for i in np.flatnonzero(ok).tolist():  # each unit once per role: the first stays
        key = (units[i], roles[i])
        if key in first:
            errors[i] = duplicate_message(sources[i], units[i], roles[i], sources[first[key]])
            ok[i] = False
        else:
            first[key] = i
    rows = np.flatnonzero(ok)
    role_names = sorted({roles[i] for i in rows.tolist()})
    role_index = {r: k for k, r in enumerate(role_names)}
    groups = keys["group"].astype(object).tolist()
    group_names = sorted({groups[i] for i in rows.tolist()})
    group_index = {g: k for k, g in enumerate(group_names)}
    ids = [units[i] for i in rows.tolist()]
    nul = any("\0" in u for u in ids)
    ranking = rank_arrays(
        rb,
        role_names=role_names,
        role_code=np.array([role_index[roles[i]] for i in rows.tolist()], dtype=np.int64),
        group_count=len(group_names),
        group_code=np.array([group_index[groups[i]] for i in rows.tolist()], dtype=np.int64),
        vetoed=keys["vetoed"].to_numpy(dtype=bool, na_value=False)[rows],
        total_h=_hundredths(keys["total"])[rows],
        ties=[_hundredths(keys[c])[rows] for c in rb.tie_break],
        id_bytes=None if nul else np.array([u.encode("utf-8") for u in ids], dtype=np.bytes_),
        ids=ids,
    )
    rank = np.full(n, -1, dtype=np.int64)
    group_rank = np.full(n, -1, dtype=np.int64)
    rank[rows] = ranking.rank
    group_rank[rows] = ranking.group_rank
    award: list[str | None] = [None] * n
    if ranking.award is not None:
        for j, code in zip(rows.tolist(), ranking.award.tolist(), strict=True):
            award[j] = rb.awards[code].name if code >= 0 else None
    part_of = keys["partition"].to_numpy(dtype=np.int64)
    bounds = np.searchsorted(part_of, np.arange(scored.npartitions + 1))
    parts = scored.to_delayed()
    attached = []
    for k, part in enumerate(parts):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        r = rank[lo:hi]
        g = group_rank[lo:hi]
        attached.append(
            delayed(_attach)(
                part,
                {
                    "rank": [None if x < 0 else int(x) for x in r.tolist()],
                    "group_rank": [None if x < 0 else int(x) for x in g.tolist()],
                    "award": award[lo:hi],
                    "error": {i - lo: e for i, e in errors.items() if lo <= i < hi},
                },
            )
        )
    return dd.from_delayed(attached, meta=meta, verify_meta=False).persist()
