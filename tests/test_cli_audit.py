"""End to end: --audit on score, rank and crosscheck, then audit verify, head, runs, replay, show, export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules" / "town-village-2026.toml")
EVIDENCE = str(ROOT / "examples" / "town" / "evidence")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )


def test_audit_round_trip_and_tampering(tmp_path: Path) -> None:
    store = str(tmp_path / "town.db")
    assert cli("score", RULES, EVIDENCE, "--audit", store, "--actor", "镇妇联 张三").returncode == 0
    assert cli("rank", RULES, EVIDENCE, "--format", "json", "--audit", store).returncode == 0
    assert (
        cli("crosscheck", RULES, str(ROOT / "examples" / "crosscheck"), "--audit", store).returncode
        == 0
    )

    runs = cli("audit", "runs", store)
    assert runs.returncode == 0 and "镇妇联 张三" in runs.stdout and "crosscheck" in runs.stdout
    head = cli("audit", "head", store).stdout.strip()
    assert len(head) == 64
    ok = cli("audit", "verify", store, "--head", head)
    assert ok.returncode == 0 and ok.stdout.startswith("ok")
    replay = cli("audit", "replay", store)
    assert replay.returncode == 0 and "0处差异" in replay.stdout
    shown = json.loads(
        cli("audit", "show", store, "1", "--unit", "meiling", "--format", "json").stdout
    )
    assert shown[0]["unit"] == "meiling" and shown[0]["total"] == "58.99"
    lines = cli("audit", "export", store).stdout.splitlines()
    assert len(lines) == int(ok.stdout.split()[1]) and json.loads(lines[0])["kind"] == "run"

    with sqlite3.connect(store) as conn:  # change one cell of one unit record
        conn.execute(
            "UPDATE records SET body = replace(body, '\"58.99\"', '\"68.99\"') WHERE kind = 'unit'"
        )
    bad = cli("audit", "verify", store)
    assert bad.returncode == 1 and "校验失败" in bad.stdout and "record" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_truncated_tail_needs_the_head(tmp_path: Path) -> None:
    store = str(tmp_path / "t.db")
    cli("score", RULES, EVIDENCE, "--audit", store)
    head = cli("audit", "head", store).stdout.strip()
    cli("score", RULES, EVIDENCE, "--audit", store)
    newest = cli("audit", "head", store).stdout.strip()
    with sqlite3.connect(store) as conn:  # cut off the second run entirely
        first_end = conn.execute("SELECT max(seq) FROM records WHERE run_id = 1").fetchone()[0]
        conn.execute("DELETE FROM records WHERE seq > ?", (first_end,))
    assert cli("audit", "verify", store).returncode == 0  # what is left is a valid chain…
    caught = cli(
        "audit", "verify", store, "--head", newest
    )  # …but not the one that was kept outside
    assert caught.returncode == 1
    assert cli("audit", "verify", store, "--head", head).returncode == 0


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    p = cli("audit", "verify", str(tmp_path / "nope.db"))
    assert p.returncode == 2 and "Traceback" not in p.stderr and "nope.db" in p.stderr


def test_plan_and_sample_runs_are_stored_and_replayed(tmp_path: Path) -> None:
    store = str(tmp_path / "draws.db")
    units = str(ROOT / "examples" / "town" / "units.csv")
    assert cli("plan", units, "--seed", "7", "--audit", store).returncode == 0
    assert (
        cli("sample", units, "--fraction", "10%", "--seed", "7", "--audit", store).returncode == 0
    )
    runs = cli("audit", "runs", store).stdout
    assert "plan" in runs and "sample" in runs
    assert cli("audit", "verify", store).returncode == 0
    assert "0处差异" in cli("audit", "replay", store).stdout


def test_replay_catches_a_draw_that_does_not_follow_from_its_seed(tmp_path: Path) -> None:
    from fulian_eval import audit

    store = tmp_path / "draws.db"
    units = ROOT / "examples" / "town" / "units.csv"
    forged = {"seed": 7, "fraction": "0.1", "sample": [{"unit": "huayuan", "group": "东片"}]}
    audit.append_draw(
        store,
        kind="sample",
        units_file=(str(units), units.read_bytes()),
        seed=7,
        result=forged,
        command="fulian-eval sample …",
        options={"fraction": "0.1", "min_per_group": 1},
    )
    assert audit.verify(store).ok  # a consistent record…
    diffs = audit.replay(store)  # …whose sample the seed does not give
    assert [d.what for d in diffs] == ["sample"]


def test_a_run_with_waivers_replays_with_them(tmp_path: Path) -> None:
    data = ROOT / "tests" / "data" / "acceptance"
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waivers]]\nunit = "xinqiao"\nitem = "facilities.room"\nreason = "活动室改建中"\n'
        'approved_by = "县妇联"\nexpires = 2026-12-31\n',
        encoding="utf-8",
    )
    store = str(tmp_path / "w.db")
    p = cli(
        "score",
        str(data / "town-2026.toml"),
        str(data / "evidence"),
        "--waivers",
        str(waivers),
        "--today",
        "2026-11-22",
        "--audit",
        store,
        "--format",
        "json",
    )
    assert json.loads(p.stdout)["units"][1]["total"] == "71.44"  # xinqiao, with the waiver
    assert "0处差异" in cli("audit", "replay", store).stdout
    with sqlite3.connect(store) as conn:  # the stored waiver file is covered by verify too
        sha = json.loads(conn.execute("SELECT body FROM records WHERE kind = 'run'").fetchone()[0])[
            "waivers"
        ]["sha256"]
        conn.execute("UPDATE blobs SET content = ? WHERE sha256 = ?", (b"[[waivers]]\n", sha))
    assert cli("audit", "verify", store).returncode == 1


def test_streamed_run_stores_the_same_records_as_the_per_unit_path(tmp_path: Path) -> None:
    """A CSV scored through the columnar stream is stored record for record as the
    per-unit path stores it (UnitBodies writes the same canonical JSON), and replays clean."""
    from fulian_eval import audit as au
    from fulian_eval import load_evidence, load_rulebook, rank, score

    table = ROOT / "examples" / "crosscheck"
    fast = str(tmp_path / "fast.db")
    assert (
        cli(
            "rank",
            RULES,
            str(table),
            "--format",
            "csv",
            "-o",
            str(tmp_path / "r.csv"),
            "--audit",
            fast,
        ).returncode
        == 0
    )
    rb = load_rulebook(RULES)
    es = load_evidence(rb, [table])
    ranked = rank(rb, [score(rb, ev).summary() for ev in es.evidence])
    slow = str(tmp_path / "slow.db")
    au.append_run(
        slow,
        rulebook=rb,
        results=[r.result for r in ranked],
        evidence_files=au.read_files([table]),
        command="rank",
        rejected=es.rejected,
    )

    def units(path: str) -> list[str]:
        with au.AuditStore.open(path, create=False) as s:
            return list(s.unit_bodies(1))

    def kinds(path: str) -> list[str]:
        with sqlite3.connect(path) as conn:
            return [k for (k,) in conn.execute("SELECT kind FROM records ORDER BY seq")]

    # The streamed run stored its records while scoring, in input order, as blocks (schema
    # 2); expanded, they are the very records the per-unit path stores.
    assert kinds(fast) == ["run", "units", "units", "units", "end"]
    assert kinds(slow) == ["run", *["unit"] * 49, "end"]
    assert sorted(units(fast)) == sorted(units(slow))
    assert len(units(fast)) == 49
    sources = [json.loads(b)["source"] for b in units(fast)]
    assert sources == sorted(
        sources, key=lambda x: (x.rsplit(" row ", 1)[0], int(x.rsplit(" row ", 1)[1]))
    )
    with sqlite3.connect(fast) as conn:
        header = json.loads(
            conn.execute("SELECT body FROM records WHERE kind = 'run'").fetchone()[0]
        )
    assert header["order"] == "input"
    assert cli("audit", "verify", fast).returncode == 0
    replay = cli("audit", "replay", fast)
    assert replay.returncode == 0 and "0处差异" in replay.stdout


def test_score_json_of_a_table_with_audit_streams_and_stores_blocks(tmp_path: Path) -> None:
    """``score --format json --audit`` of a table: the run is stored through the columns
    (blocks, as a CSV run) and the JSON is the one a run without --audit prints; it held
    every unit's full result in memory before (about 150 kB a unit)."""
    table = str(ROOT / "examples" / "crosscheck")
    store = str(tmp_path / "j.db")
    audited = cli("score", RULES, table, "--format", "json", "--audit", store)
    plain = cli("score", RULES, table, "--format", "json")
    assert audited.returncode == plain.returncode == 0, audited.stderr
    assert audited.stdout == plain.stdout and len(json.loads(plain.stdout)["units"]) == 49
    with sqlite3.connect(store) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM records ORDER BY seq")]
    assert kinds[0] == "run" and kinds[-1] == "end" and set(kinds[1:-1]) == {"units"}
    assert cli("audit", "verify", store).returncode == 0
    replay = cli("audit", "replay", store)
    assert replay.returncode == 0 and "0处差异" in replay.stdout
    # TOML evidence still goes unit by unit, records and JSON alike.
    store2 = str(tmp_path / "t.db")
    toml = cli("score", RULES, EVIDENCE, "--format", "json", "--audit", store2)
    assert (
        toml.returncode == 0 and toml.stdout == cli("score", RULES, EVIDENCE, "-f", "json").stdout
    )
    assert cli("audit", "verify", store2).returncode == 0


def test_unit_bodies_escape_like_canonical_json() -> None:
    from fulian_eval import audit as au
    from fulian_eval import load_rulebook
    from fulian_eval.model.rulebook import UnitInfo
    from fulian_eval.scoring.exact import UnitSummary

    rb = load_rulebook(RULES)
    cats = [(c.id, "1.50", 150, k % 2 == 0) for k, c in enumerate(rb.categories)]
    s = UnitSummary(
        unit=UnitInfo(id='a"b\\c', name="名\n称", group="东片", kind="社区"),
        role="peer",
        source="x.csv row 3",
        total="87.50",
        total_h=8750,
        vetoed=True,
        grade=None,
        categories=tuple(cats),
        items=tuple("0.00" for _ in rb.items()),
        flags=("约数: x = '1000余'", 'quote " and \\ back'),
    )
    enc = au.UnitBodies(rb, ["x.csv"])
    body = enc.body(
        unit=s.unit.id,
        name=s.unit.name,
        group=s.unit.group,
        kind=s.unit.kind,
        role=s.role,
        source=s.source,
        flags=s.flags,
        grade=s.grade,
        vetoed=s.vetoed,
        total=s.total,
        categories=[(c[1], c[3]) for c in cats],
        points=list(s.items),
    )
    reads_any = [True] * len(rb.items())
    assert body == au.store.encode_json(
        au.store.pack_unit(s, au.store.EvidencePaths(["x.csv"]), reads_any, au.store.PointsText())
    )


def test_streamed_audit_drops_a_table_unreadable_half_way_and_stores_nothing_on_failure(
    tmp_path: Path,
) -> None:
    """Records go to the store while scoring: a table that breaks half way is taken
    back out of the run, and a run whose report cannot be written stores nothing."""
    from fulian_eval.cli.app import main

    src = (ROOT / "examples" / "town" / "town.csv").read_text(encoding="utf-8")
    head, *rows = src.splitlines()
    good = tmp_path / "a.csv"
    good.write_text(src, encoding="utf-8")
    bad = tmp_path / "b.csv"
    many = [r.replace(r.split(",")[0], f"b{k}", 1) for k in range(150) for r in rows]
    bad.write_bytes(("\n".join([head, *many]) + "\n").encode("utf-8") + b"\xff,broken\n")
    db = tmp_path / "t.db"
    code = main(
        [
            "rank",
            RULES,
            str(good),
            str(bad),
            "--format",
            "csv",
            "-o",
            str(tmp_path / "r.csv"),
            "--audit",
            str(db),
        ]
    )
    assert code == 1
    ok = cli("audit", "verify", str(db))
    assert ok.returncode == 0, ok.stdout
    runs = cli("audit", "runs", str(db)).stdout
    assert " 21 " in runs  # only the good table's units
    assert "0处差异" in cli("audit", "replay", str(db)).stdout

    db2 = tmp_path / "none.db"
    code = main(
        [
            "rank",
            RULES,
            str(good),
            "--format",
            "csv",
            "-o",
            str(tmp_path / "no" / "such" / "r.csv"),
            "--audit",
            str(db2),
        ]
    )
    assert code == 2
    from fulian_eval import audit as au

    assert not db2.exists() or au.runs(db2) == []
