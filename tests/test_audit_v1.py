"""Old stores keep working, and block records (schema 2) keep every guarantee.

``tests/data/audit-v1/v1.db`` was written by main before block records (schema 1,
one record per unit; see its README): today's code must verify, replay, show
and export it as main did, and append to it (on a copy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit_tools import rechain as _rechain
from audit_tools import sql as _sql
from fulian_eval import audit
from fulian_eval.audit import blocks
from fulian_eval.audit.store import canonical_json

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "audit-v1"
RULES = ROOT / "rules" / "town-village-2026.toml"
TABLE = ROOT / "examples" / "crosscheck"


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    """A copy of the schema-1 store (the committed one is never written)."""
    db = tmp_path / "v1.db"
    shutil.copy(DATA / "v1.db", db)
    return db


def test_a_schema_1_store_verifies_and_replays_as_it_did(v1: Path) -> None:
    ok = cli("audit", "verify", v1, "--head", (DATA / "head.txt").read_text().strip())
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 76 records, 3 runs"), ok.stdout
    assert cli("audit", "head", v1).stdout == (DATA / "head.txt").read_text()
    replay = cli("audit", "replay", v1)
    assert replay.returncode == 0 and "0处差异" in replay.stdout, replay.stdout
    runs = cli("audit", "runs", v1).stdout
    assert "镇妇联 张三" in runs and "县妇联 李四" in runs and " 49 " in runs
    assert _sql(v1, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]


def test_a_schema_1_store_is_shown_and_exported_as_main_did(v1: Path, tmp_path: Path) -> None:
    show = cli("audit", "show", v1, "1", "--unit", "meiling", "--format", "json")
    assert show.stdout == (DATA / "show-1-meiling.json").read_text(encoding="utf-8")
    show = cli("audit", "show", v1, "2", "--format", "json")
    assert show.stdout == (DATA / "show-2.json").read_text(encoding="utf-8")
    out = tmp_path / "e.jsonl"
    assert cli("audit", "export", v1, "-o", out).returncode == 0
    assert out.read_bytes() == (DATA / "export.jsonl").read_bytes()
    # reading wrote nothing: the store is still schema 1, byte for byte
    assert v1.read_bytes() == (DATA / "v1.db").read_bytes()


def test_a_tampered_schema_1_store_still_fails(v1: Path) -> None:
    seq = _sql(v1, "SELECT seq FROM records WHERE run_id = 2 AND kind = 'unit' LIMIT 1 OFFSET 3")
    _sql(
        v1,
        'UPDATE records SET body = replace(body, \'"total":"\', \'"total":"1\') WHERE seq = ?',
        seq[0],
    )
    bad = cli("audit", "verify", v1)
    assert bad.returncode == 1 and f"record {seq[0][0]}: hash does not match" in bad.stdout


def test_a_run_appended_to_a_schema_1_store_is_a_block_run_and_the_old_runs_still_work(
    v1: Path, tmp_path: Path
) -> None:
    before = (DATA / "export.jsonl").read_text(encoding="utf-8")
    done = cli("rank", RULES, TABLE, "--format", "csv", "-o", tmp_path / "r.csv", "--audit", v1)
    assert done.returncode == 0, done.stderr
    # the store became schema 2 in that run's transaction; the old headers keep schema 1
    assert _sql(v1, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    headers = [json.loads(b) for (b,) in _sql(v1, "SELECT body FROM records WHERE kind = 'run'")]
    assert [h["schema"] for h in headers] == [1, 1, 1, 2]
    kinds = [k for (k,) in _sql(v1, "SELECT kind FROM records WHERE run_id = 4 ORDER BY seq")]
    assert kinds == ["run", "units", "units", "units", "end"]
    ok = cli("audit", "verify", v1)
    assert ok.returncode == 0 and "4 runs" in ok.stdout, ok.stdout
    replay = cli("audit", "replay", v1)
    assert replay.returncode == 0 and "0处差异" in replay.stdout, replay.stdout
    # the new run's units are the records the old run 2 holds for the same table
    with audit.AuditStore.open(v1, create=False) as s:
        old = [json.loads(b) for b in s.unit_bodies(2)]
        new_texts = list(s.unit_bodies(4))
        new = [json.loads(b) for b in new_texts]
    for rec in old + new:
        rec["source"] = Path(rec["source"].rsplit(" row ", 1)[0]).name + rec["source"][-8:]
    assert sorted(map(canonical_json, old)) == sorted(map(canonical_json, new))
    shown = json.loads(
        cli("audit", "show", v1, "4", "--unit", "meiling", "--format", "json").stdout
    )
    then = [
        r
        for r in json.loads((DATA / "show-2.json").read_text(encoding="utf-8"))
        if r["unit"] == "meiling"
    ]
    assert len(shown) == len(then) >= 1
    for a, b in zip(shown, then, strict=True):
        assert (a["total"], a["items"], a["categories"]) == (
            b["total"],
            b["items"],
            b["categories"],
        )
    assert cli("audit", "show", v1, "1", "--unit", "meiling", "--format", "json").stdout == (
        DATA / "show-1-meiling.json"
    ).read_text(encoding="utf-8")
    out = tmp_path / "e.jsonl"
    assert cli("audit", "export", v1, "-o", out).returncode == 0
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "".join(lines[:76]) == before  # the old runs exported as before
    after = [json.loads(x) for x in lines[76:]]
    assert [x["kind"] for x in after if "hash" in x] == kinds
    per_unit = [x for x in after if "hash" not in x]
    assert len(per_unit) == 49 and all(x["kind"] == "unit" and x["run"] == 4 for x in per_unit)
    assert [canonical_json(x["body"]).decode() for x in per_unit] == new_texts
    assert len({x["block"] for x in per_unit}) == 3

    # the meta set back to 1 (to pass the store off to an old fulian-eval) fails verify
    _sql(v1, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    bad = cli("audit", "verify", v1)
    assert bad.returncode == 1 and "written with schema 2" in bad.stdout


@pytest.fixture
def blocked(tmp_path: Path) -> Path:
    db = tmp_path / "b.db"
    done = cli("rank", RULES, TABLE, "--format", "csv", "-o", tmp_path / "r.csv", "--audit", db)
    assert done.returncode == 0, done.stderr
    return db


def _block(db: Path, k: int = 0) -> tuple[int, dict[str, Any]]:
    seq, body = _sql(db, "SELECT seq, body FROM records WHERE kind = 'units' ORDER BY seq")[k]
    rec: dict[str, Any] = json.loads(body)
    return seq, rec


def _put(db: Path, seq: int, rec: dict[str, Any]) -> None:
    _sql(db, "UPDATE records SET body = ? WHERE seq = ?", (canonical_json(rec).decode(), seq))


def test_a_changed_value_in_a_block_fails_verify_naming_the_block(blocked: Path) -> None:
    seq, rec = _block(blocked, 1)
    totals = blocks._values("total_h", rec["total_h"], len(rec["unit"]))
    totals[2] += 1000
    rec["total_h"] = blocks._column(totals)
    _put(blocked, seq, rec)
    bad = cli("audit", "verify", blocked)
    assert bad.returncode == 1 and f"record {seq}: hash does not match" in bad.stdout
    _rechain(blocked)  # the forger re-chains: verify passes, replay names the unit
    assert cli("audit", "verify", blocked).returncode == 0
    replay = cli("audit", "replay", blocked)
    assert replay.returncode == 1 and f"{rec['unit'][2]} (" in replay.stdout
    assert ": total: stored " in replay.stdout, replay.stdout


def test_reordered_or_deleted_blocks_fail_verify(blocked: Path, tmp_path: Path) -> None:
    copy = tmp_path / "c.db"
    shutil.copy(blocked, copy)
    (a, x), (b, y) = _block(copy, 0), _block(copy, 1)
    _put(copy, a, y)
    _put(copy, b, x)
    bad = cli("audit", "verify", copy)
    assert bad.returncode == 1 and f"record {a}:" in bad.stdout
    seq, _ = _block(blocked, 2)
    _sql(blocked, "DELETE FROM records WHERE seq = ?", (seq,))
    _sql(blocked, "UPDATE records SET seq = seq - 1 WHERE seq > ?", (seq,))
    _rechain(blocked)
    bad = cli("audit", "verify", blocked)
    assert (
        bad.returncode == 1 and "unit records (a unit record was deleted or inserted)" in bad.stdout
    )


@pytest.mark.parametrize(
    "forge, why",
    [
        (lambda r: r.update(unit=r["unit"][:-1]), "name is not"),
        (lambda r: r.update(grade=blocks._column([99] * len(r["unit"]))), "grade holds a value"),
        (lambda r: r.update(files=[[r["files"][0][0], 7]]), "names no evidence file"),
        (lambda r: r.update(points_h=blocks._column([1, 2, 3])), "points_h holds 3 numbers"),
        (lambda r: r.update(row={"dtype": "int32", "zlib": "!!"}), "row cannot be decoded"),
        (lambda r: r.update(extra=1), "keys ['extra'] extra"),
    ],
)
def test_a_malformed_block_rechained_fails_verify_and_commands_do_not_crash(
    blocked: Path, forge: Any, why: str
) -> None:
    seq, rec = _block(blocked, 0)
    forge(rec)
    _put(blocked, seq, rec)
    _rechain(blocked)
    bad = cli("audit", "verify", blocked)
    assert bad.returncode == 1 and f"record {seq}: malformed block" in bad.stdout, bad.stdout
    assert why in bad.stdout, bad.stdout
    for args in (["replay", blocked], ["show", blocked, "1", "--format", "json"]):
        run = cli("audit", *args)
        assert "Traceback" not in run.stderr, run.stderr


def test_a_block_under_a_schema_1_header_fails_verify(blocked: Path) -> None:
    (body,) = _sql(blocked, "SELECT body FROM records WHERE kind = 'run'")[0]
    header = json.loads(body)
    header["schema"] = 1
    _sql(
        blocked,
        "UPDATE records SET body = ? WHERE kind = 'run'",
        (canonical_json(header).decode(),),
    )
    _rechain(blocked)
    bad = cli("audit", "verify", blocked)
    assert bad.returncode == 1 and "whose header says schema 1" in bad.stdout, bad.stdout


def test_a_block_expands_to_the_unit_records_of_the_per_unit_path(blocked: Path) -> None:
    """Expanded, a block gives the very texts UnitBodies writes, which the per-unit path stores."""
    from fulian_eval import load_evidence, load_rulebook, score

    rb = load_rulebook(RULES)
    es = load_evidence(rb, [TABLE])
    slow = audit.store.EvidencePaths([p for p, _ in audit.read_files([TABLE])])
    reads = [True] * len(rb.items())
    want = sorted(
        audit.store.encode_json(
            audit.store.pack_unit(score(rb, ev).summary(), slow, reads, audit.store.PointsText())
        )
        for ev in es.evidence
    )
    with audit.AuditStore.open(blocked, create=False) as s:
        got = sorted(s.unit_bodies(1))
        assert s.unit_count(1) == 49 == len(got)
    assert got == want
