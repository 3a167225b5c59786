"""The audit trail under attack and accident (issue 13, cases 5-9).

A killed audited run leaves no writer behind (5); replay of a tailored rulebook
uses only the stored chain (6); a run header relabelled as a draw is caught (7);
a planted trigger, table, view, index or column is refused and named (8); a
read-only archive verifies, a damaged file or a retyped blob is reported, and the
schema version is compared exactly (9). Stores made by the streamed (CSV) and the
per-unit (TOML) path are both covered.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from audit_tools import sql as _sql
from fulian_eval import audit
from fulian_eval.analysis import sampling
from fulian_eval.audit import store as audit_store
from fulian_eval.audit.store import AuditError, canonical_json
from test_audit import _rechain

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_TOML = ROOT / "examples" / "town" / "evidence"
UNITS = ROOT / "examples" / "town" / "units.csv"
#: the per-unit path (a folder of TOML files) and the streamed path (a CSV table)
PATHS = [pytest.param(TOWN_TOML, id="toml-per-unit"), pytest.param(TOWN_CSV, id="csv-streamed")]


def cli(
    *args: str | Path, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def _ok(run: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in run.stderr and "内部错误" not in run.stderr, run.stderr


def _store(tmp_path: Path, evidence: Path, name: str = "s.db") -> Path:
    db = tmp_path / name
    run = cli("score", RULES, evidence, "--audit", db)
    assert run.returncode == 0, run.stderr
    return db


# ----------------------------------------------------------- 5: the kill test


def _big_csv(path: Path, copies: int) -> None:
    with TOWN_CSV.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    unit, assessor = head.index("unit"), head.index("assessor")
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for k in range(copies):
            for r in body:
                r = list(r)
                r[unit] = r[assessor] = f"{r[unit]}{k}"
                w.writerow(r)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` still running (zombies are dead)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(d.name))
    return out


def _kill_audited_run(tmp_path: Path, big: Path, db: Path, when: Any) -> int:
    """Start an audited streamed run in its own process group, SIGKILL it when ``when()`` says so;
    returns its exit status. Afterwards no process of the group may be left running."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(RULES),
            str(big),
            "--format",
            "csv",
            "-o",
            str(tmp_path / "out.csv"),
            "--audit",
            str(db),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and not when() and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    left = _alive_in_group(proc.pid)
    for _ in range(500):  # a killed process takes a moment to go
        if not left:
            break
        time.sleep(0.02)
        left = _alive_in_group(proc.pid)
    assert not left, f"processes of the killed run still alive: {left}"
    return proc.returncode


def _next_run_is_quick(db: Path, tmp_path: Path) -> None:
    # A writer left alive holds the store's lock: the next run would wait out SQLite's
    # 120 s busy timeout. The subprocess timeout (60 s) turns that into a failure.
    run = cli(
        "score",
        RULES,
        TOWN_CSV,
        "--format",
        "csv",
        "-o",
        tmp_path / "next.csv",
        "--audit",
        db,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "已存入" in run.stderr


def _wal_size(db: Path) -> int:
    try:
        return Path(f"{db}-wal").stat().st_size
    except OSError:
        return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_audited_run_leaves_no_writer_and_the_next_run_is_quick(tmp_path: Path) -> None:
    """Killed while its writer is half way through the transaction: the writer dies too,
    nothing of the run is stored, the store verifies, and the next run is stored at once."""
    big = tmp_path / "big.csv"
    _big_csv(big, 3000)  # 63,000 units: the writer is busy for seconds
    db = tmp_path / "s.db"
    status = _kill_audited_run(tmp_path, big, db, lambda: _wal_size(db) > 256 * 1024)
    assert status == -signal.SIGKILL, (
        "the run ended before it could be killed: make the table bigger"
    )
    ok = cli("audit", "verify", db)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 0 records, 0 runs"), (
        ok.stdout + ok.stderr
    )
    _next_run_is_quick(db, tmp_path)
    assert [r.units for r in audit.runs(db)] == [21]
    assert cli("audit", "verify", db).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_audited_runs_killed_at_random_moments_never_leave_a_writer_or_half_a_run(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.csv"
    _big_csv(big, 1500)
    db = tmp_path / "s.db"
    rng = random.Random(13)
    stored = 0
    for _ in range(8):
        delay = rng.uniform(0.0, 5.0)
        start = time.monotonic()
        status = _kill_audited_run(tmp_path, big, db, lambda: time.monotonic() - start > delay)  # noqa: B023
        if db.exists():
            ok = cli("audit", "verify", db)
            assert ok.returncode == 0, ok.stdout + ok.stderr
            runs = audit.runs(db)
            assert all(r.units == 1500 * 21 for r in runs)  # whole or not at all
            stored = len(runs) if status == 0 else stored
    _next_run_is_quick(db, tmp_path)
    assert cli("audit", "verify", db).returncode == 0


def test_the_writer_exits_when_its_parent_is_gone_even_without_prctl() -> None:
    """The writer's own check (getppid) when no death signal was set: it exits, it does not wait."""
    code = (
        "import os, sys, time\n"
        "from fulian_eval.audit import sink\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        sink._die_with_parent(os.getppid() + 10**6)  # not our parent: as if it were gone\n"
        "    except BaseException:\n"
        "        os._exit(3)\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.WEXITSTATUS(status))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.stdout.strip() == "1", run.stderr


# ---------------------------------------------- 6: a tailored rulebook replays


def _tailored(folder: Path, absolute: bool = False) -> Path:
    """A town rulebook extending a county base: one override on top."""
    (folder / "county").mkdir(parents=True)
    base = folder / "county" / "base.toml"
    shutil.copy(RULES, base)
    town = folder / "town.toml"
    target = str(base) if absolute else "county/base.toml"
    town.write_text(f'extends = "{target}"\nversion = "2026-town"\n', encoding="utf-8")
    return town


def _planted_base(path: Path) -> None:
    """A different base: tier points cut, so totals change."""
    text = RULES.read_text(encoding="utf-8")
    planted = text.replace("points = 4 }", "points = 1 }").replace("points = 5 }", "points = 1 }")
    assert planted != text
    path.write_text(planted, encoding="utf-8")


@pytest.mark.parametrize("evidence", PATHS)
def test_replay_of_a_tailored_rulebook_uses_the_stored_chain_only(
    tmp_path: Path, evidence: Path
) -> None:
    work = tmp_path / "work"
    _tailored(work)
    db = tmp_path / "s.db"
    run = cli("score", "town.toml", evidence, "--audit", db, cwd=work)
    assert run.returncode == 0, run.stderr
    shutil.rmtree(work / "county")  # the base is gone from this machine
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    replay = cli("audit", "replay", db, cwd=elsewhere)
    _ok(replay)
    assert replay.returncode == 0 and replay.stdout.strip().endswith("重算：0处差异"), replay.stdout
    shown = json.loads(
        cli("audit", "show", db, "1", "--unit", "huayuan", "--format", "json").stdout
    )
    assert shown[0]["total"] == "105.00"


@pytest.mark.parametrize("evidence", PATHS)
def test_a_planted_base_file_changes_nothing_in_a_replay(tmp_path: Path, evidence: Path) -> None:
    for absolute in (False, True):
        work = tmp_path / f"work-{absolute}"
        _tailored(work, absolute=absolute)
        db = tmp_path / f"s-{absolute}.db"
        run = cli("score", "town.toml", evidence, "--audit", db, cwd=work)
        assert run.returncode == 0, run.stderr
        _planted_base(work / "county" / "base.toml")  # where the stored chain's base was
        # …and where a replay that reads the disk would look for a relative extends
        for cwd in (work, tmp_path):
            if not absolute:
                (cwd / "county").mkdir(exist_ok=True)
                _planted_base(cwd / "county" / "base.toml")
            replay = cli("audit", "replay", db, cwd=cwd)
            _ok(replay)
            assert replay.returncode == 0 and replay.stdout.strip() == "重算：0处差异", (
                replay.stdout
            )
        planted = cli(
            "score", "town.toml", evidence, "--format", "json", cwd=work
        )  # the plant does score lower
        assert '"105.00"' not in planted.stdout


@pytest.mark.usefixtures("english")
def test_a_stored_chain_with_a_file_too_few_is_reported_not_read_from_disk(tmp_path: Path) -> None:
    work = tmp_path / "work"
    _tailored(work)
    db = tmp_path / "s.db"
    assert cli("score", "town.toml", TOWN_TOML, "--audit", db, cwd=work).returncode == 0
    header = json.loads(_sql(db, "SELECT body FROM records WHERE kind = 'run'")[0][0])
    header["rulebook"] = header["rulebook"][:1]  # the base left out of the header, store re-chained
    _sql(
        db,
        "UPDATE records SET body = ? WHERE kind = 'run'",
        params=(canonical_json(header).decode(),),
    )
    _rechain(db)
    replay = cli(
        "audit", "replay", db, cwd=work
    )  # the base is still on disk here: it must not be used
    _ok(replay)
    assert replay.returncode == 1
    assert "run 1: run: rescoring: stored scored, now fails:" in replay.stdout
    assert "the stored chain has 1 file(s) and none for this extends" in replay.stdout


# ------------------------------------------------- 7: a header relabelled as a draw


def _relabel_as_plan(db: Path) -> None:
    """Forge: dawan's vetoed 85.06 不合格 becomes 100.00 优秀, and run 1's header says it is a
    plan draw (whose stored result the seed does give), so that replay would only draw again."""
    seed = 7
    units = UNITS.read_bytes()
    sha = hashlib.sha256(units).hexdigest()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        (body,) = conn.execute(
            "SELECT body FROM records WHERE kind = 'run' AND run_id = 1"
        ).fetchone()
        header = json.loads(body)
        drawn = sampling.plan_json(sampling.plan(sampling.read_units(UNITS), seed))
        header.update(
            draw="plan",
            evidence=[{"path": "units.csv", "sha256": sha}],
            items=[],
            rulebook=[],
            scheme={"id": "plan", "version": ""},
            options={"seed": seed},
            result=json.loads(canonical_json(drawn)),
        )
        conn.execute(
            "UPDATE records SET body = ? WHERE kind = 'run' AND run_id = 1",
            (canonical_json(header).decode(),),
        )
        for seq, raw in conn.execute(
            "SELECT seq, body FROM records WHERE kind = 'unit'"
        ).fetchall():
            rec = json.loads(raw)
            rec["evidence"] = 0 if rec.get("evidence") is not None else None
            if rec["unit"] == "dawan":
                assert (rec["total"], rec["grade"], rec["vetoed"]) == ("85.06", "不合格", True)
                rec.update(total="100.00", grade="优秀", vetoed=False)
            conn.execute(
                "UPDATE records SET body = ? WHERE seq = ?", (canonical_json(rec).decode(), seq)
            )
        (end,) = conn.execute("SELECT body FROM records WHERE kind = 'end'").fetchone()
        end_rec = json.loads(end)
        end_rec["rejected"] = []
        conn.execute(
            "UPDATE records SET body = ? WHERE kind = 'end'", (canonical_json(end_rec).decode(),)
        )
        conn.execute("DELETE FROM blobs")
        conn.execute("INSERT INTO blobs VALUES (?, ?)", (sha, units))
        conn.execute("COMMIT")
    finally:
        conn.close()
    _rechain(db)


@pytest.mark.parametrize("evidence", PATHS)
def test_a_scoring_run_relabelled_as_a_plan_draw_fails_replay_and_verify(
    tmp_path: Path, evidence: Path
) -> None:
    db = _store(tmp_path, evidence)
    kept = cli("audit", "head", db).stdout.strip()  # the head kept outside, in the minutes
    _relabel_as_plan(db)
    replay = cli("audit", "replay", db)
    _ok(replay)
    assert replay.returncode == 1, replay.stdout
    assert (
        "run 1: run: kind: stored a plan draw, now 21 unit records under its header, which a plan draw "
        "never stores"
    ) in replay.stdout
    verify = cli("audit", "verify", db)
    assert verify.returncode == 1
    assert verify.stdout.startswith(
        "校验失败：record 2: a unit record in run 1, whose header says it is a plan draw"
    )
    assert cli("audit", "verify", db, "--head", kept).returncode == 1


def test_a_header_claiming_a_draw_with_a_rulebook_fails_verify(tmp_path: Path) -> None:
    db = _store(tmp_path, TOWN_TOML)
    (body,) = _sql(db, "SELECT body FROM records WHERE kind = 'run'")[0]
    header = json.loads(body)
    header["draw"] = "sample"
    _sql(
        db,
        "UPDATE records SET body = ? WHERE kind = 'run'",
        params=(canonical_json(header).decode(),),
    )
    _rechain(db)
    verify = cli("audit", "verify", db)
    assert verify.returncode == 1
    assert (
        "record 1: the header says run 1 is a 'sample' draw, but a plan or sample draw names one units file"
        in verify.stdout
    )
    replay = cli("audit", "replay", db)
    assert replay.returncode == 1 and "kind: stored a sample draw" in replay.stdout


def test_genuine_draws_still_replay(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    assert cli("plan", UNITS, "--seed", "7", "--audit", db).returncode == 0
    assert cli("sample", UNITS, "--fraction", "10%", "--seed", "7", "--audit", db).returncode == 0
    assert cli("audit", "verify", db).returncode == 0
    replay = cli("audit", "replay", db)
    assert replay.returncode == 0 and "重算：0处差异" in replay.stdout


def test_a_changed_header_scheme_or_item_inputs_is_a_difference(tmp_path: Path) -> None:
    db = _store(tmp_path, TOWN_CSV)
    kept = cli("audit", "head", db).stdout.strip()
    (body,) = _sql(db, "SELECT body FROM records WHERE kind = 'run'")[0]
    header = json.loads(body)
    header["scheme"]["version"] = "1999"
    header["items"][0][1] = ["nothing"]
    _sql(
        db,
        "UPDATE records SET body = ? WHERE kind = 'run'",
        params=(canonical_json(header).decode(),),
    )
    _rechain(db)
    assert (
        cli("audit", "verify", db).returncode == 0
    )  # a consistent forgery: only replay and the head can tell
    with_head = cli("audit", "verify", db, "--head", kept)
    assert with_head.returncode == 1 and f"head {kept} is not in the store" in with_head.stdout
    replay = cli("audit", "replay", db)
    assert replay.returncode == 1
    assert "run 1: run: item inputs: stored" in replay.stdout
    assert "run 1: run: scheme: stored" in replay.stdout and "1999" in replay.stdout


# ----------------------------------------------------------- 8: schema tricks

TAMPERS = {
    "trigger": (
        "CREATE TRIGGER swallow BEFORE INSERT ON records BEGIN SELECT RAISE(IGNORE); END",
        "an extra trigger 'swallow' on records",
    ),
    "blob-trigger": (
        "CREATE TRIGGER keep BEFORE INSERT ON blobs BEGIN SELECT RAISE(IGNORE); END",
        "an extra trigger 'keep' on blobs",
    ),
    "table": ("CREATE TABLE notes (x TEXT)", "an extra table 'notes'"),
    "view": ("CREATE VIEW honest AS SELECT * FROM records", "an extra view 'honest'"),
    "index": ("CREATE INDEX by_kind ON records (kind)", "an extra index 'by_kind' on records"),
    "column": ("ALTER TABLE records ADD COLUMN note TEXT", "table 'records' is changed"),
}


@pytest.mark.parametrize("evidence", PATHS)
@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_a_store_with_a_planted_schema_object_is_refused_and_fails_verify(
    tmp_path: Path, evidence: Path, tamper: str
) -> None:
    db = _store(tmp_path, evidence)
    sql, named = TAMPERS[tamper]
    _sql(db, sql)
    verify = cli("audit", "verify", db)
    _ok(verify)
    assert verify.returncode == 1
    assert verify.stdout.startswith(
        "校验失败：the store's schema is not what fulian-eval makes: " + named
    ), verify.stdout
    again = cli("score", RULES, evidence, "--audit", db)
    _ok(again)
    assert again.returncode == 2, again.stderr
    assert (
        "refusing to write into this store: its schema is not what fulian-eval makes"
        in again.stderr
    )
    assert named in again.stderr
    assert "已存入" not in again.stderr
    assert _sql(db, "SELECT count(*) FROM records WHERE kind = 'run'") == [(1,)]


def test_a_run_that_does_not_read_back_as_written_is_not_reported_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind the schema check, the read-back: a trigger that drops every record (the
    check switched off here) makes the run fail, and nothing is said to be stored."""
    db = _store(tmp_path, TOWN_TOML)
    _sql(db, TAMPERS["trigger"][0])
    monkeypatch.setattr(audit_store, "schema_problems", lambda conn: [])
    from fulian_eval import load_evidence, load_rulebook, score

    rb = load_rulebook(RULES)
    es = load_evidence(rb, [TOWN_TOML])
    with pytest.raises(
        AuditError,
        match=r"run 2 was not stored as written \(before it was committed\): read "
        r"back 0 of 23 records",
    ):
        audit.append_run(
            db,
            rulebook=rb,
            results=[score(rb, ev) for ev in es.evidence],
            evidence_files=audit.read_files([TOWN_TOML]),
            command="score",
            actor="t",
        )
    assert _sql(db, "SELECT count(*) FROM records") == [(23,)]


def test_a_new_store_has_exactly_the_expected_schema(tmp_path: Path) -> None:
    db = _store(tmp_path, TOWN_CSV)
    conn = sqlite3.connect(db)
    try:
        assert audit_store.schema_problems(conn) == []
        got = set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        conn.close()
    assert got == audit_store.expected_schema()
    assert {n for _, n, _, _ in got} == {
        "meta",
        "blobs",
        "records",
        "records_by_run",
        "sqlite_autoindex_meta_1",
        "sqlite_autoindex_blobs_1",
    }


# ------------------------------------------- 9: archives, damage, types, versions


def _readonly_prefix(folder: Path) -> list[str] | None:
    """A command prefix under which ``folder`` cannot be written; None when none can be had."""
    if os.geteuid() != 0:
        for p in folder.iterdir():
            p.chmod(0o444)
        folder.chmod(0o555)
        return []
    # root writes anywhere a mode allows nothing: a read-only bind mount in a private mount namespace
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount --bind -o ro "$1" "$1" && ! touch "$1/x"',
            "sh",
            str(folder),
        ],
        capture_output=True,
        timeout=60,
    )
    if probe.returncode != 0:
        return None
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        'd=$1; shift; mount --bind -o ro "$d" "$d" && exec "$@"',
        "sh",
        str(folder),
    ]


@pytest.mark.parametrize("evidence", PATHS)
def test_a_read_only_archive_copy_verifies_and_replays(tmp_path: Path, evidence: Path) -> None:
    db = _store(tmp_path, evidence)
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(db, archive / "s.db")  # closed cleanly: no -wal beside it
    assert not Path(f"{db}-wal").exists()
    prefix = _readonly_prefix(archive)
    if prefix is None:
        pytest.skip("no way to make a read-only folder here")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    store = str(archive / "s.db")
    try:
        for args, want in (
            (  # 21 unit records, or one block (schema 2) for the streamed table
                ["verify", store],
                f"ok: {3 if evidence == TOWN_CSV else 23} records, 1 run",
            ),
            (["replay", store], "重算：0处差异"),
            (["runs", store], "fulian-eval score"),
            (["show", store, "1", "--unit", "dawan"], "85.06"),
            (["export", store], '"kind":"run"'),
            (["head", store], ""),
        ):
            run = subprocess.run(
                [*prefix, sys.executable, "-m", "fulian_eval", "audit", *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=60,
                env=env,
            )
            _ok(run)
            assert run.returncode == 0, f"{args}: {run.stdout}{run.stderr}"
            assert want in run.stdout
        assert sorted(p.name for p in archive.iterdir()) == ["s.db"]  # nothing written beside it
    finally:
        archive.chmod(0o755)


def test_an_archive_with_a_pending_wal_says_so(tmp_path: Path) -> None:
    db = _store(tmp_path, TOWN_TOML)
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.copy(db, archive / "s.db")
    (archive / "s.db-wal").write_bytes(b"\0" * 4096)  # changes that never reached the main file
    prefix = _readonly_prefix(archive)
    if prefix is None:
        pytest.skip("no way to make a read-only folder here")
    try:
        run = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "fulian_eval",
                "audit",
                "verify",
                str(archive / "s.db"),
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        _ok(run)
        assert run.returncode == 1
        assert "its write-ahead log s.db-wal holds changes not yet in s.db" in run.stdout
    finally:
        archive.chmod(0o755)


def _damage(db: Path, pages: str) -> None:
    """Overwrite the cells of pages, as a bad disk sector would: the last page, or every page but the first."""
    conn = sqlite3.connect(db)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        count = conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()
    with db.open("r+b") as f:
        for k in [count] if pages == "last" else range(2, count + 1):
            f.seek(k * size - 1200)  # the end of a page: where its cells are
            f.write(b"\xde\xad\xbe\xef" * 300)


@pytest.mark.parametrize("pages", ["last", "all"])
@pytest.mark.parametrize("evidence", PATHS)
def test_a_damaged_page_is_failed_not_an_internal_error(
    tmp_path: Path, evidence: Path, pages: str
) -> None:
    db = _store(tmp_path, evidence)
    _damage(db, pages)
    verify = cli("audit", "verify", db)
    _ok(verify)
    assert verify.returncode == 1
    # SQLite's own check finds a damaged page of records or index; a damaged page of a
    # stored file's content (the last page, when the records are one block) fails its sha256.
    assert verify.stdout.startswith("校验失败：") and (
        "the store is damaged" in verify.stdout
        or (
            pages == "last"
            and "was changed: its content no longer has that sha256" in verify.stdout
        )
    ), verify.stdout
    if "the store is damaged" not in verify.stdout:  # a stored file's page: replay says so too
        replay = cli("audit", "replay", db)
        _ok(replay)
        assert replay.returncode == 1 and "was changed" in replay.stdout, replay.stdout
        return
    for args in (["replay", db], ["runs", db], ["show", db, "1"], ["export", db]):
        run = cli("audit", *args)
        _ok(run)
        assert (
            run.returncode == 2
            and "the store is damaged: database disk image is malformed" in run.stderr
        ), run.stderr


@pytest.mark.parametrize("evidence", PATHS)
def test_a_blob_retyped_as_text_is_reported_by_replay_and_verify(
    tmp_path: Path, evidence: Path
) -> None:
    db = _store(tmp_path, evidence)
    header = json.loads(_sql(db, "SELECT body FROM records WHERE kind = 'run'")[0][0])
    sha = header["rulebook"][0]["sha256"]
    _sql(db, "UPDATE blobs SET content = CAST(content AS TEXT) WHERE sha256 = ?", params=(sha,))
    assert _sql(db, "SELECT typeof(content) FROM blobs WHERE sha256 = ?", params=(sha,)) == [
        ("text",)
    ]
    replay = cli("audit", "replay", db)
    _ok(replay)
    assert replay.returncode == 1
    assert f"stored file {sha} is not stored as a blob (it is TEXT)" in replay.stdout
    verify = cli("audit", "verify", db)
    assert verify.returncode == 1 and f"stored file {sha}" in verify.stdout
    exported = cli("audit", "export", db, "--blobs")
    _ok(exported)
    assert exported.returncode == 0 and '"stored_as": "TEXT"' in exported.stdout


@pytest.mark.parametrize("value", ["01", " 1", "1.0", "+1"])
def test_the_schema_version_is_compared_exactly(tmp_path: Path, value: str) -> None:
    db = _store(tmp_path, TOWN_TOML)
    _sql(db, "UPDATE meta SET value = ? WHERE key = 'schema_version'", params=(value,))
    verify = cli("audit", "verify", db)
    _ok(verify)
    assert verify.returncode == 1
    assert f"audit store has an unknown schema version {value!r}" in verify.stdout
    again = cli("score", RULES, TOWN_TOML, "--audit", db)
    assert again.returncode == 2 and "unknown schema version" in again.stderr


def test_the_schema_version_stored_as_a_blob_is_refused(tmp_path: Path) -> None:
    db = _store(tmp_path, TOWN_TOML)
    _sql(db, "UPDATE meta SET value = CAST('1' AS BLOB) WHERE key = 'schema_version'")
    verify = cli("audit", "verify", db)
    assert verify.returncode == 1 and "unknown schema version b'1'" in verify.stdout
