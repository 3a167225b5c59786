"""The audit trail (SPEC §8): a tamper-evident store of every run, and replay.

:mod:`.store` keeps records in a hash chain and checks them (never scores);
:mod:`.sink` stores a streamed run from a second process while it is scored;
:mod:`.reproduce` scores a stored run anew from its stored files and compares.
"""

from __future__ import annotations

from .reproduce import (
    Materialized,
    compare_run,
    draw_contradictions,
    header_differences,
    materialize,
    replay,
    replay_run,
    rescore,
    rescore_compared,
)
from .store import (
    GENESIS,
    SCHEMA_VERSION,
    AppendResult,
    AuditError,
    AuditStore,
    Difference,
    NewerSchemaError,
    Rescored,
    RunInfo,
    RunWriter,
    UnitBodies,
    VerifyResult,
    append_draw,
    append_run,
    canonical_json,
    damaged_as_error,
    default_actor,
    export,
    head,
    item_inputs,
    read_files,
    runs,
    show,
    start_run,
    verify,
)

__all__ = [
    "GENESIS",
    "SCHEMA_VERSION",
    "AppendResult",
    "AuditError",
    "AuditStore",
    "Difference",
    "Materialized",
    "NewerSchemaError",
    "Rescored",
    "RunInfo",
    "RunWriter",
    "UnitBodies",
    "VerifyResult",
    "append_draw",
    "append_run",
    "canonical_json",
    "compare_run",
    "damaged_as_error",
    "default_actor",
    "draw_contradictions",
    "export",
    "head",
    "header_differences",
    "item_inputs",
    "materialize",
    "read_files",
    "replay",
    "replay_run",
    "rescore",
    "rescore_compared",
    "runs",
    "show",
    "start_run",
    "verify",
]
