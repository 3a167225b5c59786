"""The audit trail (SPEC §8): a tamper-evident SQLite store that can replay every score.

One SQLite file (WAL mode) holds three tables:

``meta(key, value)``
    ``schema_version`` and a random ``store_id``, written once when the store is made.
``blobs(sha256, content)``
    every rulebook and evidence file, by content, stored once.
``records(seq, run_id, kind, body, prev_hash, hash)``
    the hash chain. ``body`` is canonical JSON (:func:`canonical_json`);
    ``hash = sha256(prev_hash + body)`` in hex, and the first record's
    ``prev_hash`` is 64 zeros.

A run is one transaction of records: a ``run`` header (who, when, command,
engine version, store id and schema version, the rulebook chain and the
evidence files by sha256, options, and the items with the inputs each reads),
one packed ``unit`` record per scored unit (totals, grade, veto, flags,
category scores, every item's points, and — when full results were given — a
status letter per item and the unit's inputs as written) or, for a run streamed
from a table (schema 2), one ``units`` block record per chunk of units in
columns (:mod:`.blocks`), and an ``end`` record (unit count, rejected units). Reasons are not stored: they are
regenerated exactly by re-scoring the stored rulebook and evidence files
(:func:`rescore`, :func:`replay`).

Every table is covered by :func:`verify`: each record's hash and link, the
record columns against the body, the order of records within runs, each
blob's content against its sha256, every blob a record names exists and every
blob is named, and the ``meta`` rows against the run headers.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import functools
import getpass
import hashlib
import json
import os
import sqlite3
import stat
import urllib.parse
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from .._version import __version__
from ..errors import FulianEvalError
from ..io.evidence import Rejection, expand_paths
from ..io.tables import read_bounded
from ..model.rulebook import Item, Rulebook
from ..model.status import Status
from ..scoring.exact import UnitResult, UnitSummary, fmt_points
from .blocks import KIND as BLOCK
from .blocks import EvidencePaths as EvidencePaths  # also the store's, as before
from .blocks import Expander, UnitBodies, check_block
from .blocks import encode_json as encode_json

__all__ = [
    "GENESIS",
    "SCHEMA_VERSION",
    "AppendResult",
    "AuditError",
    "AuditStore",
    "Difference",
    "NewerSchemaError",
    "Rescored",
    "RunInfo",
    "RunWriter",
    "UnitBodies",
    "VerifyResult",
    "append_draw",
    "append_run",
    "canonical_json",
    "damaged_as_error",
    "default_actor",
    "export",
    "head",
    "item_inputs",
    "read_files",
    "runs",
    "show",
    "start_run",
    "verify",
]

#: The version of the store layout this module writes (it reads every version up to it).
#: 1: one ``unit`` record per unit. 2: runs streamed from a table store ``units`` block
#: records (:mod:`.blocks`); a schema-1 store becomes schema 2 when a run is appended to it
#: (in that run's transaction); the runs already in it keep ``"schema": 1`` in their headers.
SCHEMA_VERSION = 2
#: The ``prev_hash`` of the first record.
GENESIS = "0" * 64

#: One letter per item status in a packed unit record.
STATUS_CODES = {s.value: s.letter for s in Status}  # the letters records store (model.status)
STATUS_NAMES = {v: k for k, v in STATUS_CODES.items()}

_SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, content BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, "
    "kind TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS records_by_run ON records (run_id, seq)",
)
_TABLES = {"meta", "blobs", "records"}


class AuditError(FulianEvalError, ValueError):
    """The audit store cannot be opened, read or written as asked."""


class NewerSchemaError(AuditError):
    """The store was written by a newer fulian-eval (a newer schema version)."""


# ------------------------------------------------------------ canonical JSON


def _fraction_text(x: Fraction) -> str:
    """Exact text: "87.5", "-0.125", "3"; "1/3" when the decimal would not end."""
    num, den = x.numerator, x.denominator
    if den == 1:
        return str(num)
    d, twos, fives = den, 0, 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{num}/{den}"
    places = max(twos, fives)
    n = abs(num) * 10**places // den
    digits = str(n).rjust(places + 1, "0")
    return ("-" if num < 0 else "") + f"{digits[:-places]}.{digits[-places:]}"


def plain(obj: Any) -> Any:
    """``obj`` as JSON-ready values: exact numbers as strings, no floats, str keys only."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        raise TypeError(
            f"canonical JSON takes no floats (got {obj!r}); use Fraction, Decimal or str"
        )
    if isinstance(obj, Fraction):
        return _fraction_text(obj)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, _dt.date):  # datetime too
        return obj.isoformat()
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"canonical JSON keys must be strings (got {k!r})")
            out[k] = plain(v)
        return out
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, set | frozenset):
        items = [plain(v) for v in obj]
        if not all(isinstance(v, str) for v in items):
            raise TypeError("canonical JSON takes sets of strings only")
        return sorted(items)
    raise TypeError(f"canonical JSON cannot encode {type(obj).__name__}: {obj!r}")


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON of ``obj`` as UTF-8 bytes: what record hashes are computed over.

    Keys sorted (by code point), separators ``","`` and ``":"``, no ASCII escaping.
    A :class:`~fractions.Fraction` becomes its exact decimal as a string ("87.5"), or
    "n/d" when the decimal would not end; a :class:`~decimal.Decimal` its ``str``; a
    date or datetime its ISO form; tuples become lists and sets of strings sorted lists.

    Raises:
        TypeError: a float, a non-string key, or any other type.
    """
    return encode_json(plain(obj)).encode("utf-8")


def _reject_float(text: str) -> Any:
    raise ValueError(f"a float ({text}) in a record body")


def load_json(body: str) -> Any:
    return json.loads(body, parse_float=_reject_float)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _chain(prev: str, body: str) -> str:
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ results


@attrs.frozen(kw_only=True)
class AppendResult:
    """What :func:`append_run` stored: the run number, the new head, and how many records."""

    run: int
    head: str
    records: int


@attrs.frozen(kw_only=True)
class VerifyResult:
    """The outcome of :func:`verify`.

    Attributes:
        ok: the whole store is intact (and ends at ``head`` when one was given).
        records: how many records were checked (all of them when ok).
        first_bad: seq of the first bad record; None when ok, or when what is
            wrong is outside every record (an unnamed blob, a changed meta row).
        message: what is wrong, or a one-line summary when ok.
        head: the hash of the newest record (GENESIS for an empty store).
    """

    ok: bool
    records: int
    first_bad: int | None
    message: str
    head: str


@attrs.frozen(kw_only=True)
class RunInfo:
    """One stored run, as listed by :func:`runs`."""

    run: int
    time: str
    actor: str
    command: str
    engine: str
    rulebook: str  # "id version"
    units: int
    rejected: int
    first_seq: int
    head: str  # the hash of its end record


@attrs.frozen(kw_only=True)
class Difference:
    """One thing a replay gave differently from what is stored."""

    run: int
    unit: str  # "" for the run as a whole
    role: str
    what: str  # "total", "grade", "points archives.registers", "unit", "rulebook", ...
    stored: str
    now: str

    def __str__(self) -> str:
        who = f"{self.unit} ({self.role})" if self.unit else "run"
        return f"run {self.run}: {who}: {self.what}: stored {self.stored}, now {self.now}"


@attrs.frozen(kw_only=True)
class Rescored:
    """A stored run scored again from its stored rulebook and evidence files."""

    header: Mapping[str, Any]
    rulebook: Rulebook
    results: tuple[UnitResult, ...]
    rejected: tuple[Rejection, ...]


# -------------------------------------------------------------------- store


def default_actor() -> str:
    """The OS user running this process ("unknown" when there is none)."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises KeyError/OSError when no user can be found
        return "unknown"


class AuditStore:
    """An open audit store (a context manager); make one with :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, store_id: str, schema: int) -> None:
        self.path = path
        self.conn = conn
        self.store_id = store_id
        self.schema = schema

    # -- opening ------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path, *, create: bool = True, readonly: bool | None = None
    ) -> AuditStore:
        """Open (and with ``create``, make) the audit store at ``path``.

        ``readonly`` (the default without ``create``) opens it for reading only:
        nothing is written, not even the WAL index, and a store in a folder that
        cannot be written (an archive copy) is opened as immutable. A store opened
        for writing must have exactly the schema this module makes (no extra
        table, view, trigger, index or column).

        Raises:
            AuditError: no store there (``create=False``), not an audit store, unreadable,
                damaged, or (for writing) a schema that is not ours.
            NewerSchemaError: the store was written by a newer schema version.
        """
        p = Path(path)
        if readonly is None:
            readonly = not create
        if (readonly or not create) and not p.exists():
            raise AuditError(f"{p}: no audit store there")
        for part in (p, *(p.with_name(p.name + end) for end in ("-wal", "-shm", "-journal"))):
            with contextlib.suppress(
                OSError
            ):  # absent: SQLite makes it; a FIFO or device would hang it
                if not stat.S_ISREG(part.stat().st_mode):
                    raise AuditError(
                        f"{part}: not a regular file, so not an audit store (or its journal)"
                    )
        try:
            conn = (
                _connect_readonly(p)
                if readonly
                else sqlite3.connect(p, timeout=120, isolation_level=None)
            )
        except sqlite3.Error as exc:
            raise AuditError(f"{p}: cannot open the audit store: {exc}") from None
        try:
            store_id, schema = _prepare(conn, p, create and not readonly, writing=not readonly)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if "not a database" in str(exc):
                raise AuditError(f"{p}: not a readable audit store: {exc}") from None
            raise AuditError(f"{p}: the store is damaged: {exc}; use a backup copy") from None
        except BaseException:
            conn.close()
            raise
        return cls(p, conn, store_id, schema)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read in one transaction: one consistent view while others append."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def head(self) -> str:
        """The hash of the newest record (GENESIS when there is none)."""
        row = self.conn.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row else GENESIS

    def header(self, run: int) -> dict[str, Any]:
        """The header record body of run ``run``.

        Raises:
            AuditError: no such run.
        """
        row = self.conn.execute(
            "SELECT body FROM records WHERE run_id = ? AND kind = 'run' ORDER BY seq LIMIT 1",
            (run,),
        ).fetchone()
        if row is None:
            known = [
                r[0]
                for r in self.conn.execute(
                    "SELECT run_id FROM records WHERE kind = 'run' ORDER BY seq"
                )
            ]
            shown = ", ".join(str(k) for k in known[-10:]) or "none"
            raise AuditError(f"{self.path}: no run {run}; runs: {shown}")
        body: dict[str, Any] = load_json(row[0])
        return body

    def blob(self, sha256: str) -> bytes:
        """A stored file's bytes, checked against its name.

        Raises:
            AuditError: missing, not stored as a blob, or changed (its sha256 differs).
        """
        row = self.conn.execute("SELECT content FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise AuditError(f"{self.path}: stored file {sha256} is missing")
        content = row[0]
        if not isinstance(content, bytes):
            raise AuditError(
                f"{self.path}: stored file {sha256} is not stored as a blob (it is "
                f"{_sql_type(content)}): the store was changed; run 'fulian-eval audit verify'"
            )
        if _sha(content) != sha256:
            raise AuditError(
                f"{self.path}: stored file {sha256} was changed: its content no longer has that "
                "sha256; run 'fulian-eval audit verify'"
            )
        return content

    def runs(self) -> list[RunInfo]:
        """Every stored run, oldest first."""
        out: list[RunInfo] = []
        heads: dict[int, tuple[str, str]] = {}
        with self.snapshot():
            for run_id, body, h in self.conn.execute(
                "SELECT run_id, body, hash FROM records WHERE kind = 'end' ORDER BY seq"
            ):
                heads[run_id] = (body, h)
            headers = self.conn.execute(
                "SELECT seq, run_id, body FROM records WHERE kind = 'run' ORDER BY seq"
            ).fetchall()
        for seq, run_id, body in headers:
            hb = load_json(body)
            end_body, end_hash = heads.get(run_id, ("{}", ""))
            end = load_json(end_body)
            scheme = hb.get("scheme", {})
            out.append(
                RunInfo(
                    run=run_id,
                    time=hb.get("time", ""),
                    actor=hb.get("actor", ""),
                    command=hb.get("command", ""),
                    engine=hb.get("engine", ""),
                    rulebook=f"{scheme.get('id', '')} {scheme.get('version', '')}".strip(),
                    units=int(end.get("units", 0)),
                    rejected=len(end.get("rejected", [])),
                    first_seq=seq,
                    head=end_hash,
                )
            )
        return out

    def count(self, run: int, kind: str) -> int:
        """How many records of ``kind`` run ``run`` holds."""
        row = self.conn.execute(
            "SELECT count(*) FROM records WHERE run_id = ? AND kind = ?", (run, kind)
        ).fetchone()
        return int(row[0])

    def bodies(self, run: int, kind: str) -> Iterator[str]:
        """The bodies of run ``run``'s records of ``kind``, in chain order."""
        for (body,) in self.conn.execute(
            "SELECT body FROM records WHERE run_id = ? AND kind = ? ORDER BY seq", (run, kind)
        ):
            yield str(body)

    def unit_count(self, run: int) -> int:
        """How many units' records run ``run`` holds: its ``unit`` records, and the units of its
        ``units`` blocks."""
        n = self.count(run, "unit")
        for body in self.bodies(run, "units"):
            n += len(load_json(body)["unit"])
        return n

    def unit_bodies(self, run: int) -> Iterator[str]:
        """Run ``run``'s unit records in chain order, as ``unit`` record texts: blocks
        (schema 2) expanded into the very texts a schema-1 store holds for their units."""
        expand = Expander()
        for kind, body in self.conn.execute(
            "SELECT kind, body FROM records WHERE run_id = ? AND kind IN ('unit', ?) ORDER BY seq",
            (run, BLOCK),
        ):
            if kind == BLOCK:
                yield from expand(load_json(body))
            else:
                yield str(body)

    def end(self, run: int) -> dict[str, Any] | None:
        """The ``end`` record body of run ``run`` (None while the run has none)."""
        row = self.conn.execute(
            "SELECT body FROM records WHERE run_id = ? AND kind = 'end' ORDER BY seq LIMIT 1",
            (run,),
        ).fetchone()
        if row is None:
            return None
        body: dict[str, Any] = load_json(row[0])
        return body

    def show(self, run: int, unit: str | None = None) -> list[dict[str, Any]]:
        """The stored unit records of run ``run`` (only unit ``unit`` when given), unpacked.

        Each is the record body with ``items`` added: ``[{id, points, status?, inputs?}]``
        from the run header's item list (status and inputs when the run stored them).

        Raises:
            AuditError: no such run, or no such unit in it.
        """
        with self.snapshot():
            return self._show(run, unit)

    def _show(self, run: int, unit: str | None) -> list[dict[str, Any]]:
        header = self.header(run)
        sql = "SELECT kind, body FROM records WHERE run_id = ? AND kind IN ('unit', ?)"
        params: tuple[Any, ...] = (run, BLOCK)
        if unit is not None:  # a block holds the id as a list element: "id", or "id"]
            sql += " AND (instr(body, ?) > 0 OR (kind = ? AND instr(body, ?) > 0))"
            params = (run, BLOCK, '"unit":' + encode_json(unit) + ",", BLOCK, encode_json(unit))
        sql += " ORDER BY seq"
        out = []
        expand = Expander()
        for kind, body in self.conn.execute(sql, params):
            if kind == BLOCK:
                block = load_json(body)
                if unit is not None and unit not in block["unit"]:
                    continue
                recs = [load_json(b) for b in expand(block)]
            else:
                recs = [load_json(body)]
            for rec in recs:
                if unit is not None and rec.get("unit") != unit:
                    continue
                out.append(_unpack(header, rec))
        if unit is not None and not out:
            raise AuditError(f"{self.path}: run {run} has no unit '{unit}'")
        return out


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; immutable when the store's folder cannot be written.

    SQLite needs to write a WAL store's ``-shm`` index even to read it, which an
    archive (a read-only folder) does not allow; an immutable open reads the main
    file alone, so it is refused when a ``-wal`` file holds changes not yet in it.
    """
    folder = path.resolve().parent
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    if os.access(folder, os.W_OK):
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=120, isolation_level=None)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            pass  # e.g. a -shm that cannot be made: read it immutably, as an archive
    wal = Path(f"{path}-wal")
    try:
        pending = wal.stat().st_size > 0
    except OSError:
        pending = False
    if pending:
        raise AuditError(
            f"{path}: its write-ahead log {wal.name} holds changes not yet in {path.name}, which "
            "cannot be read where the folder is read-only; copy both files to a writable folder "
            "and run the command there"
        )
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=120, isolation_level=None)


@functools.cache
def expected_schema() -> frozenset[tuple[str, str, str, str | None]]:
    """``sqlite_master`` of a store as this module makes it: (type, name, table, sql) rows."""
    conn = sqlite3.connect(":memory:")
    try:
        for sql in _SCHEMA_SQL:
            conn.execute(sql)
        return frozenset(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        conn.close()


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """What in the store's ``sqlite_master`` differs from :func:`expected_schema`: extra
    tables, views, triggers and indexes, changed columns or constraints, missing parts."""
    want = {(t, n): (tb, sql) for t, n, tb, sql in expected_schema()}
    have = {
        (t, n): (tb, sql)
        for t, n, tb, sql in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    }
    out = []
    for (t, n), (tb, sql) in sorted(have.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        if (t, n) not in want:
            on = f" on {tb}" if t in ("trigger", "index") else ""
            out.append(f"an extra {t} '{n}'{on}" + (f" ({_short(sql)})" if sql else ""))
        elif want[(t, n)] != (tb, sql):
            out.append(f"{t} '{n}' is changed: {_short(sql)} (expected {_short(want[(t, n)][1])})")
    for t, n in sorted(set(want) - set(have)):
        out.append(f"the {t} '{n}' is missing")
    return out


def _short(sql: str | None, limit: int = 160) -> str:
    text = " ".join(str(sql).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _prepare(
    conn: sqlite3.Connection, path: Path, create: bool, *, writing: bool = True
) -> tuple[str, int]:
    """Set the connection up, make the tables of a new store, and check the schema.

    For writing, the schema must be exactly ours (:func:`schema_problems`); the
    version must be stored as the text "1" exactly.
    """
    conn.execute("PRAGMA busy_timeout = 120000")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        if not create:
            raise AuditError(f"{path}: not an audit store (it is empty)")
        # Unit records are 0.5-3 KB: on 16 KB pages several share a page (on 4 KB pages, one).
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql in _SCHEMA_SQL:
                conn.execute(sql)
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        tables = _TABLES
    elif "meta" not in tables:
        raise AuditError(f"{path}: not a fulian-eval audit store (no meta table)")
    if writing:
        conn.execute("PRAGMA synchronous = FULL")
    meta: dict[Any, Any] = {}
    for key, value in conn.execute("SELECT key, value FROM meta"):
        meta.setdefault(key, value)
    raw = meta.get("schema_version")
    version = int(raw) if isinstance(raw, str) and raw.isascii() and raw.isdigit() else None
    if version is None or str(version) != raw:  # exactly as written: '1', not '01', ' 1' or 1.0
        raise AuditError(
            f"{path}: audit store has an unknown schema version {raw!r}; "
            f"this fulian-eval {__version__} reads versions 1 to {SCHEMA_VERSION}"
        )
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path}: the audit store has schema version {version}, written by a newer fulian-eval; "
            f"this fulian-eval {__version__} reads schema version {SCHEMA_VERSION} and up to it only. "
            "Upgrade fulian-eval to read or append to it."
        )
    if version < 1 or not tables >= _TABLES:
        raise AuditError(
            f"{path}: audit store has an unknown schema version {raw!r} or missing tables; "
            f"this fulian-eval {__version__} reads versions 1 to {SCHEMA_VERSION}"
        )
    if writing:
        problems = schema_problems(conn)
        if problems:
            raise AuditError(
                f"{path}: refusing to write into this store: its schema is not what fulian-eval "
                f"makes: {'; '.join(problems)}. Run 'fulian-eval audit verify {path}' and keep "
                "the store aside as evidence; start a new store"
            )
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
    store_id = meta.get("store_id", "")
    return store_id if isinstance(store_id, str) else repr(store_id), version


def _sql_type(value: Any) -> str:
    return {str: "TEXT", int: "INTEGER", float: "REAL", type(None): "NULL"}.get(
        type(value), type(value).__name__
    )


@contextlib.contextmanager
def damaged_as_error(path: str | Path) -> Iterator[None]:
    """SQLite's errors on reading a damaged file (a bad page, a malformed schema) as an AuditError."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise AuditError(
            f"{path}: the store is damaged: {exc}; run 'fulian-eval audit verify {path}', and "
            "use a backup copy"
        ) from None
    except FulianEvalError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise AuditError(
            f"{path}: a record cannot be read ({type(exc).__name__}: {exc}): the store was "
            f"changed; run 'fulian-eval audit verify {path}'"
        ) from None


def _store(store: AuditStore | str | Path, create: bool) -> tuple[AuditStore, bool]:
    """An open store, and whether we opened it (and so must close it)."""
    if isinstance(store, AuditStore):
        return store, False
    return AuditStore.open(store, create=create), True


# ----------------------------------------------------------------- packing


def item_inputs(rb: Rulebook, item: Item) -> list[str]:
    """The names whose values an item's inputs show: its fields, and what derived ones read."""
    return rb.inputs_of(item.fields_used())


class PointsText:
    """fmt_points with a cache: a run has few distinct point values.

    Keyed by (numerator, denominator, places): hashing a Fraction itself costs more than
    formatting it. ``places``: the rulebook's precision as decimals (SPEC §10.5).
    """

    def __init__(self) -> None:
        self.cache: dict[tuple[int, int, int], str] = {}

    def __call__(self, x: Fraction, places: int = 2) -> str:
        key = (x.numerator, x.denominator, places)
        s = self.cache.get(key)
        if s is None:
            s = self.cache[key] = fmt_points(x, places)
        return s


def pack_unit(
    r: UnitResult | UnitSummary, evidence: EvidencePaths, reads_any: Sequence[bool], fmt: PointsText
) -> dict[str, Any]:
    """One unit's record body (before encoding); ``evidence`` is an index into the run's files.

    ``reads_any`` tells, item by item in rulebook order, whether the item reads any value.
    """
    n_items = len(reads_any)
    u = r.unit
    if len(r.items) != n_items:
        raise AuditError(
            f"unit '{u.id}' has {len(r.items)} items, the rulebook {n_items}: "
            "results from another rulebook?"
        )
    body: dict[str, Any] = {
        "evidence": evidence.index(r.source),
        "flags": list(r.flags),
        "grade": r.grade,
        "group": u.group,
        "kind": "unit",
        "name": u.name,
        "role": r.role,
        "source": r.source,
        "unit": u.id,
        "unit_kind": u.kind,
        "vetoed": r.vetoed,
    }
    if isinstance(r, UnitSummary):
        body["total"] = r.total
        body["categories"] = [[c[0], c[1], c[3]] for c in r.categories]
        body["points"] = list(r.items)
    else:
        p = r.places
        body["total"] = fmt_points(r.total, p)
        body["categories"] = [[c.id, fmt(c.score, p), c.applicable] for c in r.categories]
        items = r.items
        body["points"] = [fmt(i.points, p) for i in items]
        try:
            body["status"] = "".join([STATUS_CODES[i.status] for i in items])
        except KeyError as exc:
            raise AuditError(
                f"unknown item status {exc.args[0]!r}; the audit store knows "
                f"{', '.join(STATUS_CODES)}"
            ) from None
        inputs: dict[str, str] = {}
        for i, reads in zip(items, reads_any, strict=True):
            if reads:  # an item that reads nothing (a manual one) has no inputs to ask for
                inputs.update(i.inputs)
        body["inputs"] = inputs
    return body


def _unpack(header: Mapping[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    """A unit record with per-item rows made from the header's item list."""
    status = rec.get("status")
    inputs = rec.get("inputs")
    items = []
    for k, (iid, names) in enumerate(header.get("items", [])):
        row: dict[str, Any] = {"id": iid, "points": rec["points"][k]}
        if status is not None:
            row["status"] = STATUS_NAMES.get(status[k], status[k])
        if inputs is not None:
            row["inputs"] = [[n, inputs[n]] for n in names if n in inputs]
        items.append(row)
    out = dict(rec)
    out["items"] = items
    ev = rec.get("evidence")
    files = header.get("evidence", [])
    out["evidence_file"] = files[ev] if isinstance(ev, int) and 0 <= ev < len(files) else None
    return out


# ------------------------------------------------------------------ append


def read_files(paths: Iterable[str | Path]) -> list[tuple[str, bytes]]:
    """Evidence paths as loading sees them (folders expanded), each with its bytes.

    Paths that cannot be read are left out (loading rejects them anyway).
    """
    out = []
    for path, shown in expand_paths(paths):
        try:
            out.append(
                (shown, read_bounded(path))
            )  # a regular file only: a FIFO or /dev/zero is never read
        except (OSError, ValueError):
            continue
    return out


def append_run(
    store: AuditStore | str | Path,
    *,
    rulebook: Rulebook,
    results: Iterable[UnitResult | UnitSummary],
    evidence_files: Sequence[tuple[str, bytes]],
    command: str,
    actor: str | None = None,
    now: _dt.datetime | None = None,
    options: Mapping[str, Any] | None = None,
    rejected: Iterable[Rejection] = (),
    rulebook_files: Sequence[tuple[str, bytes]] | None = None,
    waivers_file: tuple[str, bytes, _dt.date] | None = None,
    bodies: Iterable[str] | None = None,
    survey_files: Sequence[tuple[str, bytes]] = (),
) -> AppendResult:
    """Store one run, whole or not at all.

    Args:
        store: an open store, or the path of one (opened, made if need be, and closed).
        rulebook: the rulebook the results were scored with (gives the item list).
        results: full results (points, statuses and inputs are stored) or summaries
            (points only); in report order.
        evidence_files: ``(path as loading showed it, bytes)`` of every evidence file
            (see :func:`read_files`); a unit's ``source`` names its file.
        command: the command line, e.g. ``"score rules.toml evidence/"``.
        actor: who ran it (default: the OS user).
        now: when (default: the current time); injectable for tests.
        options: run options to keep, e.g. ``{"strict": False}``.
        rejected: units loading rejected; kept in the end record.
        rulebook_files: ``(path, bytes)`` of the rulebook chain; by default read from
            ``rulebook.sources``. Their sha256s must match the rulebook's.
        waivers_file: ``(path, bytes, the date expiry was judged against)`` of the waiver
            file the run applied; stored so that replay applies it too.
        bodies: unit records already written by :class:`UnitBodies`, in report order,
            instead of ``results`` (which must then be empty).
        survey_files: ``(path, bytes)`` of the survey tables the run read (SPEC §10.9);
            stored so that replay reads them too.

    Returns:
        The run number, the new head hash and the number of records written.

    Raises:
        AuditError: the rulebook files do not match the rulebook, or the store fails.
        TypeError: an option that has no canonical JSON (a float, say).
    """
    head_fields, files = _run_header(
        rulebook=rulebook,
        evidence_files=evidence_files,
        command=command,
        actor=actor,
        now=now,
        options=options,
        rulebook_files=rulebook_files,
        waivers_file=waivers_file,
        survey_files=survey_files,
    )
    evidence = EvidencePaths([f["path"] for f in head_fields["evidence"]])
    reads_any = [bool(names) for _, names in head_fields["items"]]
    fmt = PointsText()
    packed: Iterable[str] = [encode_json(pack_unit(r, evidence, reads_any, fmt)) for r in results]
    if bodies is not None:
        if packed:
            raise ValueError("give results or bodies, not both")
        packed = bodies
    writer = RunWriter(store, head_fields, files)
    writer.add(packed)
    return writer.finish(rejected)


def _run_header(
    *,
    rulebook: Rulebook,
    evidence_files: Sequence[tuple[str, bytes]],
    command: str,
    actor: str | None,
    now: _dt.datetime | None,
    options: Mapping[str, Any] | None,
    rulebook_files: Sequence[tuple[str, bytes]] | None,
    waivers_file: tuple[str, bytes, _dt.date] | None,
    survey_files: Sequence[tuple[str, bytes]] = (),
) -> tuple[dict[str, Any], list[tuple[str, str, bytes]]]:
    """A run's header fields and the files it stores: (path, sha256, bytes)."""
    if rulebook_files is None:
        rulebook_files = []
        for src in rulebook.sources:
            try:
                rulebook_files.append((src.path, Path(src.path).read_bytes()))
            except OSError as exc:
                raise AuditError(
                    f"cannot read rulebook file {src.path} to store it: {exc.strerror}"
                ) from None
    if not rulebook_files:
        raise AuditError(
            "no rulebook file to store: give rulebook_files, or load the rulebook from a file"
        )
    rb_files = [(p, _sha(b), b) for p, b in rulebook_files]
    want = [s.sha256 for s in rulebook.sources]
    if want and [sha for _, sha, _ in rb_files] != want:
        raise AuditError(
            "the rulebook files changed since the rulebook was loaded "
            f"(stored {[sha[:12] for _, sha, _ in rb_files]}, loaded {[w[:12] for w in want]})"
        )
    ev_files = [(p, _sha(b), b) for p, b in evidence_files]
    items = rulebook.items()
    head_fields: dict[str, Any] = {
        "actor": actor if actor is not None else default_actor(),
        "command": command,
        "engine": __version__,
        "evidence": [{"path": p, "sha256": sha} for p, sha, _ in ev_files],
        "items": [[i.id, item_inputs(rulebook, i)] for i in items],
        "kind": "run",
        "options": plain(dict(options or {})),
        "rulebook": [{"path": p, "sha256": sha} for p, sha, _ in rb_files],
        "scheme": {"id": rulebook.id, "version": rulebook.version},
        "time": (now or _dt.datetime.now(_dt.UTC).astimezone()).isoformat(timespec="milliseconds"),
    }
    extra_files: list[tuple[str, str, bytes]] = []
    if waivers_file is not None:
        wpath, wdata, wtoday = waivers_file
        extra_files.append((wpath, _sha(wdata), wdata))
        head_fields["waivers"] = {"path": wpath, "sha256": _sha(wdata), "today": wtoday.isoformat()}
    if survey_files:
        kept = [(p, _sha(b), b) for p, b in survey_files]
        extra_files.extend(kept)
        head_fields["surveys"] = [{"path": p, "sha256": sha} for p, sha, _ in kept]
    return head_fields, rb_files + ev_files + extra_files


def start_run(
    store: str | Path,
    *,
    rulebook: Rulebook,
    evidence_files: Sequence[tuple[str, bytes]],
    command: str,
    actor: str | None = None,
    now: _dt.datetime | None = None,
    options: Mapping[str, Any] | None = None,
    rulebook_files: Sequence[tuple[str, bytes]] | None = None,
    waivers_file: tuple[str, bytes, _dt.date] | None = None,
    survey_files: Sequence[tuple[str, bytes]] = (),
) -> RunWriter:
    """Begin a run whose unit records come while it is scored (see :class:`RunWriter`).

    Takes the arguments of :func:`append_run` but the results. Its records are in
    the order they are added (the header says ``"order": "input"``), not in
    report order.
    """
    head_fields, files = _run_header(
        rulebook=rulebook,
        evidence_files=evidence_files,
        command=command,
        actor=actor,
        now=now,
        options=options,
        rulebook_files=rulebook_files,
        waivers_file=waivers_file,
        survey_files=survey_files,
    )
    head_fields["order"] = "input"
    return RunWriter(store, head_fields, files)


class RunWriter:
    """One run written in one transaction: the header and files at once, unit records
    as they come, the end record and the commit at :meth:`finish`.

    Nothing is visible to others before :meth:`finish`; :meth:`abort` (or a crash)
    leaves the store as it was. :meth:`mark` and :meth:`back_to_mark` drop the
    records added since the mark (a table that turned out unreadable half way).
    """

    def __init__(
        self,
        store: AuditStore | str | Path,
        head_fields: Mapping[str, Any],
        files: Sequence[tuple[str, str, bytes]],
    ) -> None:
        self.own, self.opened = _store(store, True)
        conn = self.conn = self.own.conn
        self._files = sorted({sha for _, sha, _ in files})
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT seq, hash, run_id FROM records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                self.seq, self.prev, last_run = (
                    (int(row[0]), str(row[1]), int(row[2])) if row else (0, GENESIS, 0)
                )
                self._start = self.seq
                self.run = last_run + 1
                conn.executemany(
                    "INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?, ?)",
                    [(sha, b) for _, sha, b in files],
                )
                if self.own.schema < SCHEMA_VERSION:  # an older store: this run makes it ours
                    conn.execute(
                        "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                        (str(SCHEMA_VERSION),),
                    )
                self.units = 0
                self._mark = (self.seq, self.prev, 0)
                header = encode_json(
                    {
                        **head_fields,
                        "run": self.run,
                        "schema": SCHEMA_VERSION,
                        "store": self.own.store_id,
                    }
                )
                self._write([("run", header)])
            except BaseException:
                self.abort()
                raise
        except (sqlite3.Error, UnicodeError) as exc:
            raise AuditError(f"{self.own.path}: cannot store the run: {exc}") from None

    def _write(self, records: Iterable[tuple[str, str]]) -> None:
        run = self.run

        def rows() -> Iterator[tuple[int, int, str, str, str, str]]:
            for kind, body in records:
                self.seq += 1
                h = _chain(self.prev, body)
                yield self.seq, run, kind, body, self.prev, h
                self.prev = h

        self.conn.executemany(
            "INSERT INTO records (seq, run_id, kind, body, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except (sqlite3.Error, UnicodeError) as exc:
            self.abort()
            raise AuditError(f"{self.own.path}: cannot store the run: {exc}") from None
        except BaseException:
            self.abort()
            raise

    def add(self, bodies: Iterable[str]) -> None:
        """Unit records (see :class:`UnitBodies`), hashed into the chain and written as they come."""

        def counted() -> Iterator[tuple[str, str]]:
            for b in bodies:
                self.units += 1
                yield "unit", b

        self._guard(lambda: self._write(counted()))

    def add_block(self, body: str, n: int) -> None:
        """A block of ``n`` units' records (:func:`.blocks.encode`), hashed into the chain as one record."""

        def write() -> None:
            self._write([(BLOCK, body)])
            self.units += n

        self._guard(write)

    def mark(self) -> None:
        self._mark = (self.seq, self.prev, self.units)

    def back_to_mark(self) -> None:
        seq, prev, units = self._mark
        self._guard(lambda: self.conn.execute("DELETE FROM records WHERE seq > ?", (seq,)))
        self.seq, self.prev, self.units = seq, prev, units

    def finish(self, rejected: Iterable[Rejection]) -> AppendResult:
        """Write the end record (the rejected units, the count) and commit."""
        rejects = [[r.source, r.unit, r.error] for r in rejected]

        def end() -> None:
            self._write(
                [
                    (
                        "end",
                        encode_json(
                            {
                                "kind": "end",
                                "rejected": rejects,
                                "run": self.run,
                                "units": self.units,
                            }
                        ),
                    )
                ]
            )
            self._read_back("before it was committed")
            self.conn.execute("COMMIT")
            self._read_back("after it was committed")

        self._guard(end)
        self.own.schema = SCHEMA_VERSION
        self._close()
        return AppendResult(run=self.run, head=self.prev, records=self.seq - self._start)

    def _read_back(self, when: str) -> None:
        """Read the run back: all its records, ending at the hash we computed, and its files.

        Raises:
            AuditError: anything is not there as written (a trigger that drops rows, say).
        """
        n, last = self.conn.execute(
            "SELECT count(*), max(seq) FROM records WHERE run_id = ? AND seq > ?",
            (self.run, self._start),
        ).fetchone()
        version = self.conn.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchall()
        row = self.conn.execute(
            "SELECT hash, kind FROM records WHERE seq = ?", (self.seq,)
        ).fetchone()
        files = 0
        for k in range(0, len(self._files), 500):
            part = self._files[k : k + 500]
            files += self.conn.execute(
                f"SELECT count(*) FROM blobs WHERE sha256 IN ({','.join('?' * len(part))})", part
            ).fetchone()[0]
        if (
            n != self.seq - self._start
            or version != [(str(SCHEMA_VERSION),)]
            or last != self.seq
            or row is None
            or tuple(row) != (self.prev, "end")
            or files != len(self._files)
        ):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise AuditError(
                f"{self.own.path}: run {self.run} was not stored as written ({when}): read back "
                f"{n} of {self.seq - self._start} records and {files} of {len(self._files)} files, "
                f"schema version {version}, the last "
                f"record {last} (expected {self.seq}); the store is not sound (a trigger or another "
                "program changes what is written): run 'fulian-eval audit verify'. Nothing of "
                "this run can be trusted to be stored"
            )

    def abort(self) -> None:
        """Give the run up: nothing of it is stored."""
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._close()

    def _close(self) -> None:
        if self.opened:
            self.opened = False
            self.own.close()


def append_draw(
    store: AuditStore | str | Path,
    *,
    kind: str,
    units_file: tuple[str, bytes],
    seed: int,
    result: Mapping[str, Any],
    command: str,
    actor: str | None = None,
    now: _dt.datetime | None = None,
    options: Mapping[str, Any] | None = None,
) -> AppendResult:
    """Store a ``plan`` or ``sample`` run: the units file by content, the seed, and what was drawn.

    :func:`replay` draws again from the stored units file and seed and compares.
    """
    if kind not in ("plan", "sample"):
        raise ValueError(f"kind must be 'plan' or 'sample', not {kind!r}")
    path, data = units_file
    sha = _sha(data)
    head_fields: dict[str, Any] = {
        "actor": actor if actor is not None else default_actor(),
        "command": command,
        "draw": kind,
        "engine": __version__,
        "evidence": [{"path": path, "sha256": sha}],
        "items": [],
        "kind": "run",
        "options": plain({**(options or {}), "seed": seed}),
        "result": plain(dict(result)),
        "rulebook": [],
        "scheme": {"id": kind, "version": ""},
        "time": (now or _dt.datetime.now(_dt.UTC).astimezone()).isoformat(timespec="milliseconds"),
    }
    return RunWriter(store, head_fields, [(path, sha, data)]).finish([])


# ------------------------------------------------------------------ verify


class _Bad(Exception):
    def __init__(self, seq: int | None, message: str) -> None:
        self.seq = seq
        self.message = message


def verify(
    path: str | Path, head: str | None = None, *, allow_appended: bool = False
) -> VerifyResult:
    """Check the whole store; name the first bad record.

    Checks, record by record in seq order: seq runs 1, 2, 3 …; ``prev_hash`` is the
    previous record's hash; ``hash`` is sha256(prev_hash + body); the body is
    canonical JSON without floats; the ``kind`` and ``run_id`` columns match it;
    runs are whole (a header, its units, an end record counting them) and numbered
    1, 2, 3 …; each header names this store and its schema version, and every
    blob it names exists and hashes to its name; every unit names one of its
    run's evidence files. Then: every blob is named by some run, and ``meta``
    holds exactly ``schema_version`` and ``store_id``. With ``head``, the store
    must end at that hash (a truncated tail, or records appended after it, fail;
    records appended after it pass with ``allow_appended``).

    Raises:
        NewerSchemaError: the store was written by a newer schema version.
        AuditError: there is no store at ``path``.
    """
    try:
        store = AuditStore.open(path, create=False)
    except NewerSchemaError:
        raise
    except AuditError as exc:
        if not Path(path).exists():
            raise
        return VerifyResult(ok=False, records=0, first_bad=None, message=str(exc), head="")
    with store:
        try:
            with store.snapshot():  # one consistent view while others may append
                return _verify(store, head, allow_appended)
        except sqlite3.DatabaseError as exc:
            return VerifyResult(
                ok=False,
                records=0,
                first_bad=None,
                head="",
                message=f"the store is damaged: {exc}; use a backup copy",
            )


def _verify(store: AuditStore, head: str | None, allow_appended: bool) -> VerifyResult:
    conn = store.conn
    extra = schema_problems(conn)
    if extra:
        return VerifyResult(
            ok=False,
            records=0,
            first_bad=None,
            head=store.head(),
            message="the store's schema is not what fulian-eval makes: " + "; ".join(extra),
        )
    damage = [
        " ".join(str(r[0]).split()) for r in conn.execute("PRAGMA quick_check(5)")
    ]  # indexes, free pages
    if damage != ["ok"]:
        return VerifyResult(
            ok=False,
            records=0,
            first_bad=None,
            head="",
            message=f"the store is damaged: {'; '.join(damage)}; use a backup copy",
        )
    meta = conn.execute("SELECT key, value FROM meta").fetchall()
    blob_ok: dict[str, bool] = {}
    for sha, content in conn.execute("SELECT sha256, content FROM blobs"):
        blob_ok[sha] = isinstance(content, bytes) and isinstance(sha, str) and _sha(content) == sha
    named: set[str] = set()
    hashes: dict[str, int] = {}
    n = 0
    prev = GENESIS
    state = _Walk(store, blob_ok, named)
    try:
        for seq, run_id, kind, body, prev_hash, h in conn.execute(
            "SELECT seq, run_id, kind, body, prev_hash, hash FROM records ORDER BY seq"
        ):
            n += 1
            if seq != n:
                raise _Bad(
                    seq, f"record {seq}: expected seq {n} (a record was deleted or renumbered)"
                )
            if not (isinstance(body, str) and isinstance(prev_hash, str) and isinstance(h, str)):
                raise _Bad(seq, f"record {seq}: body, prev_hash and hash must be text")
            if prev_hash != prev:
                raise _Bad(
                    seq,
                    f"record {seq}: prev_hash does not match the hash of record {seq - 1} "
                    "(a record was deleted, inserted, reordered or changed)",
                )
            if _chain(prev_hash, body) != h:
                raise _Bad(
                    seq, f"record {seq}: hash does not match its body (the record was changed)"
                )
            prev = h
            hashes[h] = seq
            state.record(seq, run_id, kind, body)
        state.finish()
        orphans = sorted(str(sha) for sha in set(blob_ok) - named)
        if orphans:
            raise _Bad(
                None,
                f"stored file {orphans[0]} is named by no record (a blob row was inserted "
                "or the record naming it was removed)",
            )
        keys = sorted(str(k) for k, _ in meta)
        if keys != ["schema_version", "store_id"]:
            raise _Bad(
                None, f"meta table has rows {keys}; expected exactly schema_version and store_id"
            )
    except _Bad as bad:
        return VerifyResult(ok=False, records=n, first_bad=bad.seq, message=bad.message, head=prev)
    if head is not None and head != prev:
        at = hashes.get(head)
        if head == GENESIS and n:
            at = 0
        if at is None:
            return VerifyResult(
                ok=False,
                records=n,
                first_bad=n + 1,
                head=prev,
                message=f"head {head} is not in the store: records were removed from the "
                f"tail or changed (the store ends at record {n}, hash {prev})",
            )
        if not allow_appended:
            return VerifyResult(
                ok=False,
                records=n,
                first_bad=at + 1,
                head=prev,
                message=f"head {head} is record {at}, but {n - at} records follow it",
            )
    runs = state.runs
    return VerifyResult(
        ok=True,
        records=n,
        first_bad=None,
        head=prev,
        message=f"ok: {n} records, {runs} run{'s' if runs != 1 else ''}, head {prev}",
    )


class _Walk:
    """The structure of runs, checked record by record."""

    def __init__(self, store: AuditStore, blob_ok: Mapping[str, bool], named: set[str]) -> None:
        self.store = store
        self.blob_ok = blob_ok
        self.named = named
        self.run = 0  # the run being read, or the last one
        self.open_seq: int | None = None  # the header seq of a run not yet ended
        self.units = 0
        self.evidence = 0  # how many evidence files the current run lists
        self.draw: str | None = None  # the current run is a plan or sample draw
        self.runs = 0
        self.last_seq: int | None = None
        self.schema = 1  # the schema the current (or last) run's header names
        self.items = 0  # how many items the current run's header lists

    def record(self, seq: int, run_id: Any, kind: Any, body: str) -> None:
        try:
            self._record(seq, run_id, kind, body)
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            raise _Bad(seq, f"record {seq}: malformed body ({type(exc).__name__}: {exc})") from None

    def _record(self, seq: int, run_id: Any, kind: Any, body: str) -> None:
        try:
            rec = load_json(body)
        except ValueError as exc:
            raise _Bad(seq, f"record {seq}: body is not JSON without floats: {exc}") from None
        if not isinstance(rec, dict) or encode_json(rec) != body:
            raise _Bad(seq, f"record {seq}: body is not canonical JSON")
        if rec.get("kind") != kind:
            raise _Bad(
                seq,
                f"record {seq}: kind column {kind!r} does not match the body's {rec.get('kind')!r}",
            )
        if kind == "run":
            self._header(seq, run_id, rec)
        elif kind == "unit":
            self._in_run(seq, run_id, "a unit record", "")
            ev = rec.get("evidence")
            if ev is not None and not (type(ev) is int and 0 <= ev < self.evidence):
                raise _Bad(
                    seq, f"record {seq}: names evidence file {ev!r}, which its run does not list"
                )
            self.units += 1
        elif kind == "units":
            self._block(seq, run_id, rec)
        elif kind == "end":
            if self.open_seq is None:
                raise _Bad(seq, f"record {seq}: an end record outside any run")
            if run_id != self.run or rec.get("run") != self.run:
                raise _Bad(
                    seq,
                    f"record {seq}: end record of run {rec.get('run')!r} (column {run_id!r}) "
                    f"inside run {self.run}",
                )
            if rec.get("units") != self.units:
                raise _Bad(
                    seq,
                    f"record {seq}: run {self.run} ends with {rec.get('units')!r} units "
                    f"but has {self.units} unit records (a unit record was deleted or inserted)",
                )
            self.open_seq = None
            self.runs += 1
        else:
            raise _Bad(seq, f"record {seq}: unknown kind {kind!r}")
        self.last_seq = seq

    def _in_run(self, seq: int, run_id: Any, what: str, aside: str) -> None:
        """A unit record or a block of them (``what``) must sit inside an open run of units."""
        if self.open_seq is None:
            raise _Bad(seq, f"record {seq}: {what} outside any run")
        if run_id != self.run:
            raise _Bad(
                seq, f"record {seq}: run_id column {run_id!r} but it belongs to run {self.run}"
            )
        if self.draw:
            raise _Bad(
                seq,
                f"record {seq}: a unit record in run {self.run}, whose header says it is a "
                f"{self.draw} draw (a draw stores no unit records{aside})",
            )

    def _block(self, seq: int, run_id: Any, rec: dict[str, Any]) -> None:
        self._in_run(seq, run_id, "a block of unit records", "; this is a block of them")
        if self.schema < 2:
            raise _Bad(
                seq,
                f"record {seq}: a block of unit records in run {self.run}, whose header says "
                f"schema {self.schema} (blocks came with schema 2)",
            )
        try:
            self.units += check_block(rec, self.evidence, self.items)
        except ValueError as exc:
            raise _Bad(seq, f"record {seq}: malformed block of unit records: {exc}") from None

    def _header(self, seq: int, run_id: Any, rec: dict[str, Any]) -> None:
        if self.open_seq is not None:
            raise _Bad(
                self.open_seq,
                f"record {self.open_seq}: run {self.run} has no end record "
                f"(record {seq} starts another run)",
            )
        want = self.run + 1
        if rec.get("run") != want or run_id != want:
            raise _Bad(
                seq,
                f"record {seq}: run number {rec.get('run')!r} (column {run_id!r}); expected {want}",
            )
        if rec.get("store") != self.store.store_id:
            raise _Bad(
                seq,
                f"record {seq}: names store {rec.get('store')!r}, but meta.store_id is "
                f"{self.store.store_id!r}",
            )
        schema = rec.get("schema")
        if type(schema) is not int or not self.schema <= schema <= self.store.schema:
            raise _Bad(
                seq,
                f"record {seq}: written with schema {schema!r}, but meta.schema_version is "
                f"{self.store.schema} and the run before it had schema {self.schema}",
            )
        files = (
            rec.get("rulebook", [])
            + rec.get("evidence", [])
            + ([rec["waivers"]] if rec.get("waivers") else [])
            + (rec["surveys"] if isinstance(rec.get("surveys"), list) else [])
        )
        for f in files:
            sha = f.get("sha256") if isinstance(f, dict) else None
            ok = self.blob_ok.get(sha) if isinstance(sha, str) else None
            if ok is None or not isinstance(sha, str):
                raise _Bad(
                    seq,
                    f"record {seq}: stored file {sha} ({f.get('path') if isinstance(f, dict) else f}) "
                    "is missing from blobs",
                )
            if not ok:
                raise _Bad(
                    seq,
                    f"record {seq}: stored file {sha} ({f.get('path')}) was changed: its content "
                    "no longer has that sha256",
                )
            self.named.add(sha)
        self.evidence = len(rec.get("evidence", []))
        draw = rec.get("draw")
        if draw is not None and (
            draw not in ("plan", "sample")
            or rec.get("rulebook")
            or rec.get("items")
            or self.evidence != 1
        ):
            raise _Bad(
                seq,
                f"record {seq}: the header says run {want} is a {draw!r} draw, but a plan or "
                "sample draw names one units file and no rulebook or items",
            )
        self.draw = draw
        self.run = want
        self.open_seq = seq
        self.units = 0
        self.schema = schema
        items = rec.get("items", [])
        self.items = len(items) if isinstance(items, list) else 0

    def finish(self) -> None:
        if self.open_seq is not None:
            raise _Bad(
                self.open_seq,
                f"record {self.open_seq}: run {self.run} has no end record "
                "(records were removed from the tail)",
            )


# ------------------------------------------------------- reading, exporting


def head(path: str | Path) -> str:
    """The hash of the newest record, to keep outside the store."""
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        return s.head()


def runs(path: str | Path) -> list[RunInfo]:
    """Every stored run, oldest first."""
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        return s.runs()


def show(path: str | Path, run: int, unit: str | None = None) -> list[dict[str, Any]]:
    """The stored unit records of a run (see :meth:`AuditStore.show`)."""
    with AuditStore.open(path, create=False) as s, damaged_as_error(path):
        return s.show(run, unit)


def export(path: str | Path, out: IO[str] | str | Path, *, blobs: bool = False) -> int:
    """Write the store as JSON Lines; returns the number of lines.

    One line per record, oldest first: ``{"seq", "run", "kind", "body", "prev_hash",
    "hash"}`` with ``body`` the record body as a JSON object (its canonical JSON is
    what the hash covers). A block record (kind ``units``, schema 2) is followed by
    one line per unit it holds, ``{"run", "kind": "unit", "block": its seq, "body"}``,
    the body being the unit's record as a schema-1 store holds it; these lines have
    no hash of their own (the block's covers them). With ``blobs``, then one line per
    stored file: ``{"kind": "blob", "sha256", "content_base64"}``.
    """
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8", newline="\n") as f:
            return export(path, f, blobs=blobs)
    n = 0
    expand = Expander()
    with AuditStore.open(path, create=False) as s, damaged_as_error(path), s.snapshot():
        for seq, run_id, kind, body, prev_hash, h in s.conn.execute(
            "SELECT seq, run_id, kind, body, prev_hash, hash FROM records ORDER BY seq"
        ):
            line = (
                {
                    "seq": seq,
                    "run": run_id,
                    "kind": kind,
                    "body": json.loads(body),
                    "prev_hash": prev_hash,
                    "hash": h,
                }
                if isinstance(body, str)
                else {
                    "seq": seq,
                    "run": run_id,
                    "kind": kind,
                    "body_stored_as": _sql_type(body),
                    "body_text": str(body),
                    "prev_hash": prev_hash,
                    "hash": h,
                }
            )
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
            if kind == "units" and isinstance(body, str):
                for unit in expand(load_json(body)):
                    out.write(
                        '{"run":'
                        + json.dumps(run_id)
                        + ',"kind":"unit","block":'
                        + str(seq)
                        + ',"body":'
                        + unit
                        + "}\n"
                    )
                    n += 1
        if blobs:
            for sha, content in s.conn.execute("SELECT sha256, content FROM blobs ORDER BY sha256"):
                line = {"kind": "blob", "sha256": sha}
                if not isinstance(content, bytes):  # a changed store: say what is there
                    line["stored_as"] = _sql_type(content)
                    content = str(content).encode("utf-8")
                line["content_base64"] = base64.b64encode(content).decode("ascii")
                out.write(json.dumps(line) + "\n")
                n += 1
    return n
