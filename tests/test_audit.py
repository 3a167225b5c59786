"""The audit trail (SPEC §8): canonical JSON, the hash chain, tampering, replay, crashes, concurrency."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from audit_tools import rechain as _rechain
from audit_tools import sql as _sql
from fulian_eval import __version__, audit, load_evidence, load_rulebook, score
from fulian_eval.audit.store import (
    GENESIS,
    AuditError,
    AuditStore,
    NewerSchemaError,
    canonical_json,
)
from fulian_eval.io.evidence import EvidenceSet
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.scoring.exact import UnitResult, fmt_points

DATA = Path(__file__).parent / "data" / "acceptance"
RULEBOOK = DATA / "town-2026.toml"
EVIDENCE = DATA / "evidence"
NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
UNITS = 5  # bad-count.toml is rejected
PER_RUN = UNITS + 2  # header, units, end
SRC = Path(__file__).resolve().parent.parent / "src"


@functools.cache
def _data() -> tuple[Rulebook, EvidenceSet, tuple[UnitResult, ...], tuple[tuple[str, bytes], ...]]:
    rb = load_rulebook(RULEBOOK)
    es = load_evidence(rb, [EVIDENCE])
    results = tuple(score(rb, ev) for ev in es.evidence)
    return rb, es, results, tuple(audit.read_files([EVIDENCE]))


def _append(
    path: Path, *, summary: bool = False, actor: str = "tester", now: dt.datetime = NOW
) -> audit.AppendResult:
    rb, es, results, files = _data()
    return audit.append_run(
        path,
        rulebook=rb,
        results=[r.summary() for r in results] if summary else results,
        evidence_files=files,
        command="score town-2026.toml evidence",
        actor=actor,
        now=now,
        options={"strict": False},
        rejected=es.rejected,
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with two runs: full results (records 1-7), then summaries (8-14)."""
    path = tmp_path / "audit.sqlite"
    _append(path)
    _append(path, summary=True, actor="另一人", now=NOW + dt.timedelta(hours=1))
    return path


# ------------------------------------------------------------ canonical JSON


def test_canonical_json_sorts_keys_without_spaces_or_ascii_escapes() -> None:
    assert (
        canonical_json({"b": 1, "a": [True, None, "妇联"]})
        == '{"a":[true,null,"妇联"],"b":1}'.encode()
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(175, 2), "87.5"),
        (Fraction(-1, 8), "-0.125"),
        (Fraction(3), "3"),
        (Fraction(1, 3), "1/3"),
        (Fraction(-7, 6), "-7/6"),
        (Fraction(1, 1000), "0.001"),
        (Decimal("0.850"), "0.850"),
        (dt.date(2026, 3, 1), "2026-03-01"),
        (dt.datetime(2026, 3, 1, 9, 30), "2026-03-01T09:30:00"),
    ],
)
def test_canonical_json_writes_exact_values_as_strings(value: object, text: str) -> None:
    assert canonical_json([value]) == json.dumps([text], ensure_ascii=False).encode()


def test_canonical_json_tuples_and_sets() -> None:
    assert (
        canonical_json({"t": (1, 2), "s": frozenset({"乙", "a"})})
        == '{"s":["a","乙"],"t":[1,2]}'.encode()
    )


@pytest.mark.parametrize("bad", [0.5, {"x": [1.0]}, object(), {1: "a"}, {"s": {1, 2}}])
def test_canonical_json_refuses_floats_and_unknown_types(bad: object) -> None:
    with pytest.raises(TypeError):
        canonical_json(bad)


# --------------------------------------------------------------- append, verify


def test_append_and_verify(store: Path) -> None:
    result = audit.verify(store)
    assert result.ok, result.message
    assert result.records == 2 * PER_RUN
    assert result.first_bad is None
    assert result.head == audit.head(store)
    assert audit.verify(store, result.head).ok
    runs = audit.runs(store)
    assert [(r.run, r.actor, r.units, r.rejected) for r in runs] == [
        (1, "tester", 5, 1),
        (2, "另一人", 5, 1),
    ]
    assert runs[0].time == "2026-03-01T09:30:00.000+08:00"
    assert runs[0].engine == __version__
    assert runs[0].rulebook == "town-2026 2026.1"
    assert runs[1].head == result.head


def test_first_record_links_to_zeros_and_each_hash_covers_the_previous(store: Path) -> None:
    rows = _sql(store, "SELECT body, prev_hash, hash FROM records ORDER BY seq")
    assert rows[0][1] == GENESIS
    for (body, prev, h), nxt in zip(rows, [*rows[1:], None], strict=True):
        assert h == hashlib.sha256((prev + body).encode()).hexdigest()
        assert canonical_json(json.loads(body)).decode() == body
        if nxt is not None:
            assert nxt[1] == h


def test_files_are_stored_once_by_content(store: Path) -> None:
    rb, _, _, files = _data()
    shas = {hashlib.sha256(b).hexdigest() for _, b in files} | {rb.sha256}
    assert {r[0] for r in _sql(store, "SELECT sha256 FROM blobs")} == shas
    header = json.loads(_sql(store, "SELECT body FROM records WHERE seq = 1")[0][0])
    assert header["rulebook"] == [{"path": str(RULEBOOK), "sha256": rb.sha256}]
    assert header["schema"] == audit.SCHEMA_VERSION
    assert header["options"] == {"strict": False}


def test_new_store_is_wal_with_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with AuditStore.open(path) as s:
        assert s.head() == GENESIS
        assert s.schema == audit.SCHEMA_VERSION
    assert _sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert dict(_sql(path, "SELECT key, value FROM meta"))["schema_version"] == str(
        audit.SCHEMA_VERSION
    )
    assert audit.verify(path).ok
    assert audit.verify(path, GENESIS).ok


def test_a_run_is_stored_whole_or_not_at_all(store: Path) -> None:
    rb, _, results, files = _data()
    before = audit.head(store)

    def failing() -> Any:
        yield results[0]
        raise RuntimeError("scoring broke")

    with pytest.raises(RuntimeError):
        audit.append_run(store, rulebook=rb, results=failing(), evidence_files=files, command="x")
    with pytest.raises(TypeError):
        audit.append_run(
            store,
            rulebook=rb,
            results=results,
            evidence_files=files,
            command="x",
            options={"seed": 0.5},
        )
    with pytest.raises(AuditError, match="changed since the rulebook was loaded"):
        audit.append_run(
            store,
            rulebook=rb,
            results=results,
            evidence_files=files,
            command="x",
            rulebook_files=[("town-2026.toml", b"changed")],
        )
    with pytest.raises(AuditError, match="no rulebook file"):
        audit.append_run(
            store,
            rulebook=attrs.evolve(rb, sources=()),
            results=results,
            evidence_files=files,
            command="x",
        )
    short = attrs.evolve(results[0].summary(), items=results[0].summary().items[:-1])
    with pytest.raises(AuditError, match="another rulebook"):
        audit.append_run(store, rulebook=rb, results=[short], evidence_files=files, command="x")
    assert audit.head(store) == before
    assert audit.verify(store, before).ok


# ------------------------------------------------------------------ tampering


def _unit_body_edit(path: Path) -> None:
    body = _sql(path, "SELECT body FROM records WHERE seq = 3")[0][0]
    _sql(
        path,
        "UPDATE records SET body = ? WHERE seq = 3",
        (body.replace('"total":"', '"total":"1'),),
    )


def _flip(column: str, seq: int) -> Callable[[Path], None]:
    def tamper(path: Path) -> None:
        value = _sql(path, f"SELECT {column} FROM records WHERE seq = ?", (seq,))[0][0]
        _sql(
            path,
            f"UPDATE records SET {column} = ? WHERE seq = ?",
            (("1" if value[0] != "1" else "2") + value[1:], seq),
        )

    return tamper


def _swap_bodies(path: Path) -> None:
    (a,), (b,) = _sql(path, "SELECT body FROM records WHERE seq IN (3, 4) ORDER BY seq")
    _sql(path, "UPDATE records SET body = ? WHERE seq = 3", (b,))
    _sql(path, "UPDATE records SET body = ? WHERE seq = 4", (a,))


def _blob_of(path: Path, name: str) -> str:
    header = json.loads(_sql(path, "SELECT body FROM records WHERE seq = 1")[0][0])
    return next(f["sha256"] for f in header["evidence"] if f["path"].endswith(name))


TAMPERS: dict[str, tuple[Callable[[Path], None], int | None]] = {
    "records.body": (_unit_body_edit, 3),
    "records.hash": (_flip("hash", 4), 4),
    "records.prev_hash": (_flip("prev_hash", 5), 5),
    "records.kind": (lambda p: _sql(p, "UPDATE records SET kind = 'end' WHERE seq = 3"), 3),
    "records.run_id": (lambda p: _sql(p, "UPDATE records SET run_id = 2 WHERE seq = 6"), 6),
    "records.seq renumbered": (lambda p: _sql(p, "UPDATE records SET seq = 20 WHERE seq = 14"), 20),
    "records row deleted": (lambda p: _sql(p, "DELETE FROM records WHERE seq = 10"), 11),
    "records end row deleted": (lambda p: _sql(p, "DELETE FROM records WHERE seq = 14"), 8),
    "records row inserted": (
        lambda p: _sql(
            p,
            "INSERT INTO records SELECT 15, run_id, kind, body, prev_hash, hash FROM records WHERE seq = 9",
        ),
        15,
    ),
    "records rows swapped": (_swap_bodies, 3),
    "blobs.content": (
        lambda p: _sql(
            p,
            "UPDATE blobs SET content = content || x'20' WHERE sha256 = ?",
            (_blob_of(p, "yufeng.toml"),),
        ),
        1,
    ),
    "blobs.sha256": (
        lambda p: _sql(
            p,
            "UPDATE blobs SET sha256 = ? WHERE sha256 = ?",
            ("f" * 64, _blob_of(p, "yufeng.toml")),
        ),
        1,
    ),
    "blobs row deleted": (
        lambda p: _sql(p, "DELETE FROM blobs WHERE sha256 = ?", (_blob_of(p, "lianhua.toml"),)),
        1,
    ),
    "blobs row inserted": (
        lambda p: _sql(
            p, "INSERT INTO blobs VALUES (?, x'00')", (hashlib.sha256(b"\0").hexdigest(),)
        ),
        None,
    ),
    "meta.store_id": (lambda p: _sql(p, "UPDATE meta SET value = 'x' WHERE key = 'store_id'"), 1),
    "meta row inserted": (lambda p: _sql(p, "INSERT INTO meta VALUES ('note', 'hi')"), None),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_any_change_to_any_table_fails_verify_naming_the_first_bad_record(
    store: Path, name: str
) -> None:
    tamper, first_bad = TAMPERS[name]
    tamper(store)
    result = audit.verify(store)
    assert not result.ok
    assert result.first_bad == first_bad, result.message
    if first_bad is not None:
        assert f"record {first_bad}" in result.message


def test_a_changed_schema_version_that_is_not_newer_fails_verify(store: Path) -> None:
    _sql(store, "UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    result = audit.verify(store)
    assert not result.ok
    assert "schema version" in result.message


def test_a_malformed_but_rechained_record_fails_verify_without_crashing(store: Path) -> None:
    header = json.loads(_sql(store, "SELECT body FROM records WHERE seq = 8")[0][0])
    header["rulebook"] = "town-2026.toml"
    _sql(store, "UPDATE records SET body = ? WHERE seq = 8", (canonical_json(header).decode(),))
    _rechain(store)
    result = audit.verify(store)
    assert not result.ok
    assert result.first_bad == 8
    assert "malformed" in result.message


def test_truncated_tail_is_caught_only_with_the_head(store: Path) -> None:
    first_head = audit.runs(store)[0].head
    last_head = audit.head(store)
    _sql(store, "DELETE FROM records WHERE run_id = 2")
    assert audit.verify(store).ok  # a whole run gone from the tail leaves a valid, shorter chain
    result = audit.verify(store, last_head)
    assert not result.ok
    assert result.first_bad == PER_RUN + 1
    assert "not in the store" in result.message
    assert audit.verify(store, first_head).ok


def test_records_after_the_given_head_fail_unless_allowed(store: Path) -> None:
    first_head = audit.runs(store)[0].head
    result = audit.verify(store, first_head)
    assert not result.ok
    assert result.first_bad == PER_RUN + 1
    assert audit.verify(store, first_head, allow_appended=True).ok


# ---------------------------------------------------------------- schema


def test_a_store_from_a_newer_schema_is_refused_clearly(store: Path) -> None:
    _sql(
        store, f"UPDATE meta SET value = '{audit.SCHEMA_VERSION + 1}' WHERE key = 'schema_version'"
    )
    with pytest.raises(NewerSchemaError) as err:
        AuditStore.open(store)
    message = str(err.value)
    assert str(store) in message
    assert f"schema version {audit.SCHEMA_VERSION + 1}" in message
    assert f"schema version {audit.SCHEMA_VERSION}" in message
    assert isinstance(err.value, ValueError)
    with pytest.raises(NewerSchemaError):
        audit.verify(store)
    with pytest.raises(NewerSchemaError):
        _append(store)


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="no audit store"):
        AuditStore.open(tmp_path / "missing.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(AuditError, match="not a readable audit store"):
        AuditStore.open(junk)
    other = tmp_path / "other.sqlite"
    _sql(other, "CREATE TABLE t (x)")
    with pytest.raises(AuditError, match="not a fulian-eval audit store"):
        AuditStore.open(other)


# --------------------------------------------------------- show, export


def test_show_unpacks_a_units_items(store: Path) -> None:
    _, _, results, _ = _data()
    (rec,) = audit.show(store, 1, "yufeng")
    yufeng = next(r for r in results if r.unit.id == "yufeng")
    assert rec["total"] == "91.50"
    assert rec["evidence_file"]["path"] == str(EVIDENCE / "yufeng.toml")
    assert rec["source"] == str(EVIDENCE / "yufeng.toml")
    assert rec["grade"] == "优秀"
    assert [(i["id"], i["points"], i["status"]) for i in rec["items"]] == [
        (i.id, fmt_points(i.points), i.status) for i in yufeng.items
    ]
    assert [tuple(map(tuple, i["inputs"])) for i in rec["items"]] == [
        i.inputs for i in yufeng.items
    ]
    assert len(audit.show(store, 2)) == UNITS
    (summary,) = audit.show(store, 2, "yufeng")
    assert "status" not in summary["items"][0]
    with pytest.raises(AuditError, match="no unit 'nobody'"):
        audit.show(store, 1, "nobody")
    with pytest.raises(AuditError, match="no run 9"):
        audit.show(store, 9)


def test_export_is_json_lines_that_recompute_the_chain(store: Path) -> None:
    out = io.StringIO()
    assert audit.export(store, out) == 2 * PER_RUN
    prev = GENESIS
    for n, line in enumerate(out.getvalue().splitlines(), start=1):
        rec = json.loads(line)
        assert rec["seq"] == n
        assert rec["prev_hash"] == prev
        assert (
            rec["hash"] == hashlib.sha256(prev.encode() + canonical_json(rec["body"])).hexdigest()
        )
        prev = rec["hash"]
    out = io.StringIO()
    assert audit.export(store, out, blobs=True) == 2 * PER_RUN + 7


# ----------------------------------------------------------------- replay


def test_replay_after_reopening_reproduces_every_run(store: Path) -> None:
    with AuditStore.open(store) as s:  # reopen: nothing is kept in memory between processes
        assert [r.run for r in s.runs()] == [1, 2]
    assert audit.replay(store) == []


def test_rescore_gives_the_same_reasons(store: Path) -> None:
    _, _, results, _ = _data()
    again = audit.rescore(store, 1)
    assert [r.unit.id for r in again.results] == [r.unit.id for r in results]
    for a, b in zip(results, again.results, strict=True):
        assert [i.reason for i in a.items] == [i.reason for i in b.items]
        assert a.source == b.source
    assert [r.source for r in again.rejected] == [str(EVIDENCE / "bad-count.toml")]


def test_replay_catches_a_consistent_but_false_record(store: Path) -> None:
    body = json.loads(_sql(store, "SELECT body FROM records WHERE seq = 3")[0][0])
    unit = body["unit"]
    body["points"][0] = "0.00" if body["points"][0] != "0.00" else "1.00"
    body["status"] = "m" + body["status"][1:]
    _sql(store, "UPDATE records SET body = ? WHERE seq = 3", (canonical_json(body).decode(),))
    assert not audit.verify(store).ok
    _rechain(store)
    assert audit.verify(store).ok  # the forger recomputed the chain…
    diffs = audit.replay(store)  # …but the stored inputs do not give that score
    assert {(d.run, d.unit, d.what) for d in diffs} == {
        (1, unit, "points archives.registers"),
        (1, unit, "status archives.registers"),
    }
    assert "stored" in str(diffs[0])


def test_replay_catches_a_changed_evidence_file_with_a_rechained_store(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    _append(path)
    old = _blob_of(path, "ningfeng.toml")
    content = _sql(path, "SELECT content FROM blobs WHERE sha256 = ?", (old,))[0][0]
    new_content = content.replace(b"meetings = 3", b"meetings = 4")
    new = hashlib.sha256(new_content).hexdigest()
    _sql(path, "UPDATE blobs SET sha256 = ?, content = ? WHERE sha256 = ?", (new, new_content, old))
    header = _sql(path, "SELECT body FROM records WHERE seq = 1")[0][0]
    _sql(path, "UPDATE records SET body = ? WHERE seq = 1", (header.replace(old, new),))
    _rechain(path)
    assert audit.verify(path).ok
    diffs = audit.replay(path)
    assert {(d.unit, d.what) for d in diffs} >= {
        ("ningfeng", "points archives.meetings"),
        ("ningfeng", "total"),
    }


# -------------------------------------------------- stateful: tamper at random


class AuditMachine(RuleBasedStateMachine):
    """Append runs, tamper once at random; verify must reflect it and name the first bad record."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="audit-machine-"))
        self.path = self.dir / "audit.sqlite"
        AuditStore.open(self.path).close()
        self.records = 0
        self.head = GENESIS  # the newest head we trust
        self.tampered = False
        self.expected: int | None = None
        self.truncated = False
        self.clock = 0  # an injected clock that only moves forward

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(summary=st.booleans())
    def append(self, summary: bool) -> None:
        self.clock += 1
        result = _append(self.path, summary=summary, now=NOW + dt.timedelta(seconds=self.clock))
        self.records += PER_RUN
        if not (self.tampered or self.truncated):
            self.head = result.head

    @precondition(lambda self: self.records > 0 and not self.tampered)
    @rule(data=st.data())
    def tamper(self, data: st.DataObject) -> None:
        n = self.records
        kind = data.draw(
            st.sampled_from(
                [
                    "body",
                    "hash",
                    "prev_hash",
                    "kind",
                    "run_id",
                    "delete",
                    "swap",
                    "blob",
                    "orphan",
                    "insert",
                ]
            )
        )
        seq = data.draw(st.integers(1, n))
        if kind == "body":
            body = _sql(self.path, "SELECT body FROM records WHERE seq = ?", (seq,))[0][0]
            at = data.draw(st.integers(0, len(body)))
            _sql(
                self.path,
                "UPDATE records SET body = ? WHERE seq = ?",
                (body[:at] + " " + body[at:], seq),
            )
            self.expected = seq
        elif kind in ("hash", "prev_hash"):
            _flip(kind, seq)(self.path)
            self.expected = seq
        elif kind == "kind":
            old = _sql(self.path, "SELECT kind FROM records WHERE seq = ?", (seq,))[0][0]
            new = data.draw(st.sampled_from([k for k in ("run", "unit", "end", "x") if k != old]))
            _sql(self.path, "UPDATE records SET kind = ? WHERE seq = ?", (new, seq))
            self.expected = seq
        elif kind == "run_id":
            _sql(self.path, "UPDATE records SET run_id = run_id + 100 WHERE seq = ?", (seq,))
            self.expected = seq
        elif kind == "delete":
            _sql(self.path, "DELETE FROM records WHERE seq = ?", (seq,))
            self.expected = seq + 1 if seq < n else n - PER_RUN + 1  # the last run has lost its end
        elif kind == "swap":
            other = data.draw(st.integers(1, n).filter(lambda k: k != seq))
            a, b = sorted((seq, other))
            (x,), (y,) = _sql(
                self.path, "SELECT body FROM records WHERE seq IN (?, ?) ORDER BY seq", (a, b)
            )
            if x == y:
                return
            _sql(self.path, "UPDATE records SET body = ? WHERE seq = ?", (y, a))
            _sql(self.path, "UPDATE records SET body = ? WHERE seq = ?", (x, b))
            self.expected = a
        elif kind == "blob":
            shas = [r[0] for r in _sql(self.path, "SELECT sha256 FROM blobs ORDER BY sha256")]
            sha = data.draw(st.sampled_from(shas))
            _sql(self.path, "UPDATE blobs SET content = content || x'0a' WHERE sha256 = ?", (sha,))
            self.expected = 1  # every run's header names every file
        elif kind == "orphan":
            _sql(
                self.path,
                "INSERT INTO blobs VALUES (?, x'01')",
                (hashlib.sha256(b"\1").hexdigest(),),
            )
            self.expected = None
        else:
            _sql(
                self.path,
                "INSERT INTO records SELECT ?, run_id, kind, body, prev_hash, hash FROM records "
                "WHERE seq = ?",
                (n + 1, seq),
            )
            self.expected = n + 1
        self.tampered = True

    @precondition(
        lambda self: self.records >= 2 * PER_RUN and not self.tampered and not self.truncated
    )
    @rule()
    def truncate_tail(self) -> None:
        last = _sql(self.path, "SELECT MAX(run_id) FROM records")[0][0]
        _sql(self.path, "DELETE FROM records WHERE run_id = ?", (last,))
        self.records -= PER_RUN
        self.truncated = True

    @invariant()
    def verify_reflects_the_store(self) -> None:
        result = audit.verify(self.path)
        assert result.ok == (not self.tampered), result.message
        if self.tampered:
            assert result.first_bad == self.expected, result.message
        with_head = audit.verify(self.path, self.head, allow_appended=True)
        assert with_head.ok == (not self.tampered and not self.truncated), with_head.message


AuditMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=10, deadline=None)
test_audit_machine = AuditMachine.TestCase


# ------------------------------------------- processes: crash, concurrency

WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from fulian_eval import audit, load_evidence, load_rulebook, score

    store, name, runs, copies = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    pause_in = int(sys.argv[5]) if len(sys.argv) > 5 else -1  # stall inside this run's transaction
    rb = load_rulebook({rulebook!r})
    es = load_evidence(rb, [{evidence!r}])
    results = [score(rb, ev) for ev in es.evidence] * copies
    files = audit.read_files([{evidence!r}])
    i = 0
    while runs <= 0 or i < runs:
        with audit.AuditStore.open(store) as s:
            if i == pause_in:
                inserted = [0]

                def trace(sql: str) -> None:
                    if sql.startswith("INSERT INTO records"):
                        inserted[0] += 1
                        if inserted[0] == 100:  # half the run's rows are in, none committed
                            print("inside", i, flush=True)
                            time.sleep(60)

                s.conn.set_trace_callback(trace)
            audit.append_run(s, rulebook=rb, results=results, evidence_files=files,
                             command=f"{{name}} {{i}}", actor=name)
        print("done", i, flush=True)
        i += 1
""")


def _writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(
        WRITER.format(src=str(SRC), rulebook=str(RULEBOOK), evidence=str(EVIDENCE)),
        encoding="utf-8",
    )
    return script


def test_a_writer_killed_mid_run_leaves_a_store_that_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    copies = 40  # 200 units a run; the writer stalls halfway through writing run 3
    proc = subprocess.Popen(
        [sys.executable, str(_writer(tmp_path)), str(path), "w", "0", str(copies), "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    try:
        for line in iter(proc.stdout.readline, ""):
            seen.append(line.strip())
            if line.startswith("inside"):
                proc.send_signal(signal.SIGKILL)  # mid-transaction: rows written, not committed
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert seen == ["done 0", "done 1", "inside 2"]
    assert proc.returncode == -signal.SIGKILL
    result = audit.verify(path)
    assert result.ok, result.message
    runs = audit.runs(path)
    assert len(runs) == 2
    assert all(r.units == copies * UNITS for r in runs)
    assert [r.run for r in runs] == list(range(1, len(runs) + 1))
    _append(path)  # the store takes more runs after the crash
    assert audit.verify(path).ok


def test_several_writers_at_once_leave_a_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    script = _writer(tmp_path)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), f"w{k}", "3", "40"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    result = audit.verify(path)
    assert result.ok, result.message
    runs = audit.runs(path)
    assert sorted(r.command for r in runs) == sorted(
        f"w{k} {i}" for k in range(4) for i in range(3)
    )
    assert all(r.units == 40 * UNITS for r in runs)
    assert result.records == 12 * (40 * UNITS + 2)


def block_items(db: Path) -> list[Any]:
    """The item list of a store's first run header."""
    items: list[Any] = json.loads(_sql(db, "SELECT body FROM records WHERE kind = 'run'")[0][0])[
        "items"
    ]
    return items


def test_streamed_table_runs_replay_through_the_columns(tmp_path: Path) -> None:
    """A run stored from a table is replayed through the columnar plan, record for
    record; a forged total (chain recomputed) and a unit that went missing are caught,
    and the answers equal the unit-by-unit replay's."""
    from fulian_eval.audit import reproduce as replaying
    from fulian_eval.cli.app import main

    def unit_by_unit(path: Path) -> list[audit.Difference]:
        with AuditStore.open(path, create=False) as s:
            return [d for r in s.runs() for d in replaying.replay_run(s, r.run)]

    root = Path(__file__).resolve().parent.parent
    db = tmp_path / "t.db"
    csv_path = root / "examples" / "crosscheck"
    assert (
        main(
            [
                "rank",
                str(root / "rules" / "town-village-2026.toml"),
                str(csv_path),
                "--format",
                "csv",
                "-o",
                str(tmp_path / "r.csv"),
                "--audit",
                str(db),
            ]
        )
        == 0
    )
    assert audit.replay(db) == [] and unit_by_unit(db) == []
    with AuditStore.open(db, create=False) as s:
        assert replaying._replay_columns(s, 1) == []  # it did go through the columns
    # The run is stored as blocks (schema 2): the forger edits the columns of the first
    # block (a total), drops the last unit of the last block, and fixes the count.
    from fulian_eval.audit import blocks

    rows = _sql(db, "SELECT seq, body FROM records WHERE kind = 'units' ORDER BY seq")
    assert rows
    seq, raw = rows[0]
    block = json.loads(raw)
    body = json.loads(blocks.Expander()(block)[5])
    totals = blocks._values("total_h", block["total_h"], len(block["unit"]))
    totals[5] = 9999
    block["total_h"] = blocks._column(totals)
    _sql(db, "UPDATE records SET body = ? WHERE seq = ?", (canonical_json(block).decode(), seq))
    last_seq, last_raw = rows[-1]
    last = json.loads(last_raw)
    n = len(last["unit"])
    assert n > 1
    for key, (_, per) in blocks._INT_COLUMNS.items():
        k = {"categories": len(last["categories"]), "items": len(block_items(db))}.get(per or "", 1)
        a = blocks._values(key, last[key], n * k).reshape(k, n)[:, :-1]
        last[key] = blocks._column(a if per else a[0])
    last["unit"], last["name"] = last["unit"][:-1], last["name"][:-1]
    _sql(db, "UPDATE records SET body = ? WHERE seq = ?", (canonical_json(last).decode(), last_seq))
    end_seq, end_raw = _sql(db, "SELECT seq, body FROM records WHERE kind = 'end'")[0]
    end = json.loads(end_raw)
    end["units"] -= 1  # the forger fixes the count too
    _sql(db, "UPDATE records SET body = ? WHERE seq = ?", (canonical_json(end).decode(), end_seq))
    _rechain(db)
    assert audit.verify(db).ok
    fast = [(d.unit, d.role, d.what) for d in audit.replay(db)]
    slow = [(d.unit, d.role, d.what) for d in unit_by_unit(db)]
    assert (body["unit"], body["role"], "total") in fast
    assert sorted(fast) == sorted(slow) and len(fast) == 2
