"""The command line end to end (SPEC §9) on the acceptance data, run as a user would."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "acceptance"
ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = "town-2026.toml"
GOOD = [
    "evidence/yufeng.toml",
    "evidence/xinqiao.toml",
    "evidence/ningfeng.toml",
    "evidence/shuangmiao.toml",
    "evidence/lianhua.toml",
]
# rank order of the acceptance example (README): lianhua is vetoed and comes last
ORDER = ["yufeng", "xinqiao", "ningfeng", "shuangmiao", "lianhua"]
FORMATS = ["table", "json", "csv", "markdown", "html"]
POINTS = re.compile(r"^-?\d+\.\d\d$")


def cli(*args: Any, cwd: Path = DATA) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    # the promise: no traceback ever reaches a user
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc


def in_order(text: str, names: list[str]) -> bool:
    pos = [text.find(n) for n in names]
    return all(p >= 0 for p in pos) and pos == sorted(pos)


# ------------------------------------------------------------------ validate


def test_validate_ok() -> None:
    p = cli("validate", RULEBOOK)
    assert p.returncode == 0
    assert "town-2026" in p.stdout


@pytest.mark.usefixtures("english")
def test_validate_reports_every_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (DATA / RULEBOOK).read_text(encoding="utf-8")
    text = text.replace('title   = "2026年度', 'titel   = "2026年度', 1)
    text = text.replace('kind = "linear"', 'kind = "lineer"', 1)
    assert "titel" in text and "lineer" in text
    bad.write_text(text, encoding="utf-8")
    p = cli("validate", bad, DATA / RULEBOOK)
    assert p.returncode == 2
    assert "bad.toml" in p.stderr
    assert "titel" in p.stderr and "lineer" in p.stderr  # both problems, not only the first
    assert "did you mean" in p.stderr
    assert "town-2026" in p.stdout  # the good one is still validated


@pytest.mark.parametrize("cmd", ["validate", "score", "rank"])
def test_missing_rulebook_file(cmd: str) -> None:
    args = ["no-such-rulebook.toml"] + ([] if cmd == "validate" else ["evidence"])
    p = cli(cmd, *args)
    assert p.returncode == 2
    assert "no-such-rulebook.toml" in p.stderr


@pytest.mark.parametrize("cmd", ["validate", "score", "rank", "explain"])
def test_directory_as_rulebook(cmd: str) -> None:
    extra = {
        "validate": [],
        "score": ["evidence"],
        "rank": ["evidence"],
        "explain": ["evidence", "--unit", "yufeng"],
    }[cmd]
    p = cli(cmd, "evidence", *extra)
    assert p.returncode == 2
    assert "evidence" in p.stderr
    assert p.stdout == ""


def test_invalid_rulebook_in_score_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (DATA / RULEBOOK).read_text(encoding="utf-8").replace("max = 30", "max = -30", 1),
        encoding="utf-8",
    )
    p = cli("score", bad, DATA / "evidence", "--format", "json")
    assert p.returncode == 2
    assert "bad.toml" in p.stderr
    assert "-30" in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["score"],
        ["score", RULEBOOK],
        ["score", RULEBOOK, "evidence", "--format", "bogus"],
        ["rank", RULEBOOK, "evidence", "--nonsense"],
        ["explain", RULEBOOK, "evidence"],  # --unit is required
        ["validate"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    p = cli(*args)
    assert p.returncode == 2
    assert p.stderr.strip() != ""


# ---------------------------------------------------------------------- score


def test_score_exit_1_when_some_rejected() -> None:
    p = cli("score", RULEBOOK, "evidence")
    assert p.returncode == 1
    assert "bad-count.toml" in p.stderr
    assert in_order(p.stdout, ORDER)


def test_score_exit_0_when_all_scored() -> None:
    p = cli("score", RULEBOOK, *GOOD)
    assert p.returncode == 0
    assert p.stderr == ""  # nothing rejected, no progress in piped output
    assert in_order(p.stdout, ORDER)


def test_score_json_shape() -> None:
    p = cli("score", RULEBOOK, "evidence", "--format", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert {"rulebook", "units", "rejected"} <= set(doc)
    rb = doc["rulebook"]
    assert rb["id"] == "town-2026"
    assert rb["version"] == "2026.1"
    assert rb["sha256"] == hashlib.sha256((DATA / RULEBOOK).read_bytes()).hexdigest()

    assert [u["unit"] for u in doc["units"]] == ORDER  # listed in rank order
    assert [u["rank"] for u in doc["units"]] == [1, 2, 3, 4, 5]
    for u in doc["units"]:
        assert {
            "unit",
            "name",
            "group",
            "role",
            "total",
            "grade",
            "vetoed",
            "rank",
            "group_rank",
            "categories",
            "items",
            "flags",
        } <= set(u)
        assert POINTS.match(u["total"])
        assert isinstance(u["vetoed"], bool)
        assert isinstance(u["rank"], int) and isinstance(u["group_rank"], int)
        assert isinstance(u["flags"], list)
        for c in u["categories"]:
            assert {"id", "score", "max"} <= set(c)
            assert POINTS.match(c["score"]) and POINTS.match(c["max"])
        for i in u["items"]:
            assert {"id", "points", "max", "status", "reason"} <= set(i)
            assert POINTS.match(i["points"]) and POINTS.match(i["max"])
            assert i["status"] in ("scored", "missing", "not_applicable", "veto")

    units = {u["unit"]: u for u in doc["units"]}
    yufeng = units["yufeng"]
    assert (yufeng["name"], yufeng["group"], yufeng["role"]) == ("鱼峰社区", "东片", "self")
    assert (yufeng["total"], yufeng["grade"], yufeng["vetoed"]) == ("91.50", "优秀", False)
    # lianhua: vetoed, keeps 103.00, lowest grade, last
    assert (units["lianhua"]["total"], units["lianhua"]["grade"], units["lianhua"]["vetoed"]) == (
        "103.00",
        "不合格",
        True,
    )
    assert units["lianhua"]["items"][4]["status"] == "veto"
    # xinqiao: the exact reason style of §9, 14.375 -> 14.38, "10余" flagged
    xq = {i["id"]: i for i in units["xinqiao"]["items"]}
    assert xq["archives.registers"]["reason"] == "缺1项(重点帮扶对象登记簿)，扣2分"
    assert xq["archives.registers"]["points"] == "8.00"
    assert xq["floating.registration"]["points"] == "14.38"
    assert xq["archives.closure"]["status"] == "not_applicable"
    assert xq["archives.quality"]["status"] == "missing"
    assert any("10余" in f for f in units["xinqiao"]["flags"])
    assert units["yufeng"]["flags"] == []
    # group ranks: 东片 yufeng 1, ningfeng 2; 西片 xinqiao 1, shuangmiao 2, lianhua 3
    assert {u: units[u]["group_rank"] for u in ORDER} == {
        "yufeng": 1,
        "xinqiao": 1,
        "ningfeng": 2,
        "shuangmiao": 2,
        "lianhua": 3,
    }

    assert len(doc["rejected"]) == 1
    rej = doc["rejected"][0]
    assert rej["source"] == "evidence/bad-count.toml"
    assert "bad-count.toml" in rej["error"]
    assert "floating_population" in rej["error"]
    assert "-12" in rej["error"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_score_every_format(fmt: str) -> None:
    p = cli("score", RULEBOOK, "evidence", "--format", fmt)
    assert p.returncode == 1
    out = p.stdout
    assert in_order(out, ORDER)
    assert "91.50" in out and "103.00" in out and "67.44" in out
    if fmt == "json":
        json.loads(out)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        header = rows[0]
        assert "unit" in header and "total" in header
        body = [dict(zip(header, r, strict=True)) for r in rows[1:]]
        assert [r["unit"] for r in body] == ORDER
        assert [r["total"] for r in body] == ["91.50", "67.44", "39.50", "18.79", "103.00"]
    elif fmt == "markdown":
        assert re.search(r"^\|.*yufeng.*\|$", out, re.M)
        assert re.search(r"^\|[-:| ]+\|$", out, re.M)
    elif fmt == "html":
        assert "<table" in out and "</table>" in out
        assert "<td" in out
    else:
        assert "鱼峰社区" in out


def test_score_output_file_csv_has_bom(tmp_path: Path) -> None:
    out = tmp_path / "result.csv"
    p = cli("score", RULEBOOK, *GOOD, "--format", "csv", "-o", out)
    assert p.returncode == 0
    assert p.stdout == ""
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["rank", "group_rank", "unit"] or "unit" in rows[0]
    assert "鱼峰社区" in text


def test_score_output_file_json_same_as_stdout(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    p = cli("score", RULEBOOK, *GOOD, "--format", "json", "-o", out)
    assert p.returncode == 0
    assert p.stdout == ""
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    from_file = json.loads(raw.decode("utf-8"))
    from_stdout = json.loads(cli("score", RULEBOOK, *GOOD, "--format", "json").stdout)
    assert from_file == from_stdout


def test_output_to_unwritable_place(tmp_path: Path) -> None:
    p = cli("score", RULEBOOK, *GOOD, "-o", tmp_path / "no" / "such" / "dir" / "out.txt")
    assert p.returncode == 2
    assert "out.txt" in p.stderr


def test_strict_rejects_approximate_and_missing() -> None:
    p = cli("score", RULEBOOK, "evidence", "--strict", "--format", "json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    rejected = " | ".join(r["error"] for r in doc["rejected"])
    # xinqiao's "10余" is approximate; shuangmiao has no registers, room_area, funds, loans
    assert "xinqiao" in rejected and "10余" in rejected
    assert "shuangmiao" in rejected
    assert "xinqiao" not in [u["unit"] for u in doc["units"]]
    assert "yufeng" in [u["unit"] for u in doc["units"]]


def test_evidence_folder_copy_with_rulebook_inside(tmp_path: Path) -> None:
    # a rulebook sitting inside the evidence folder is skipped, not rejected
    work = tmp_path / "acc"
    shutil.copytree(DATA, work)
    (work / "evidence" / "bad-count.toml").unlink()
    shutil.copy(work / RULEBOOK, work / "evidence" / "scheme.toml")
    p = cli("score", RULEBOOK, "evidence", "--format", "json", cwd=work)
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    assert [u["unit"] for u in doc["units"]] == ORDER
    assert doc["rejected"] == []


# ----------------------------------------------------------------------- rank


@pytest.mark.parametrize("fmt", FORMATS)
def test_rank_every_format(fmt: str) -> None:
    p = cli("rank", RULEBOOK, "evidence", "--format", fmt)
    assert p.returncode == 1
    assert in_order(p.stdout, ORDER)
    if fmt == "json":
        json.loads(p.stdout)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(p.stdout)))
        body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert [(r["unit"], r["rank"]) for r in body] == [
            ("yufeng", "1"),
            ("xinqiao", "2"),
            ("ningfeng", "3"),
            ("shuangmiao", "4"),
            ("lianhua", "5"),
        ]


def test_rank_exit_0_and_csv_file(tmp_path: Path) -> None:
    out = tmp_path / "rank.csv"
    p = cli("rank", RULEBOOK, *GOOD, "--format", "csv", "-o", out)
    assert p.returncode == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert in_order(raw.decode("utf-8-sig"), ORDER)


# -------------------------------------------------------------------- explain


@pytest.mark.parametrize("fmt", FORMATS)
def test_explain_every_format(fmt: str) -> None:
    p = cli("explain", RULEBOOK, "evidence", "--unit", "xinqiao", "--format", fmt)
    assert p.returncode in (0, 1)
    assert p.returncode == 0 or "bad-count" in p.stderr
    out = p.stdout
    for iid in ("archives.registers", "facilities.room", "floating.registration", "bonus.loans"):
        assert iid in out
    assert "缺1项(重点帮扶对象登记簿)，扣2分" in out
    assert "14.38" in out
    if fmt == "json":
        doc = json.loads(out)
        assert doc["unit"] == "xinqiao"
        assert doc["total"] == "67.44"


def test_explain_item() -> None:
    p = cli(
        "explain",
        RULEBOOK,
        *GOOD,
        "--unit",
        "xinqiao",
        "--item",
        "archives.registers",
        "--format",
        "json",
    )
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    assert [i["id"] for i in doc["items"]] == ["archives.registers"]
    item = doc["items"][0]
    assert item["points"] == "8.00" and item["max"] == "10.00"
    assert item["reason"] == "缺1项(重点帮扶对象登记簿)，扣2分"
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "xinqiao", "--item", "archives.registers")
    assert p.returncode == 0
    assert "archives.registers" in p.stdout
    assert "facilities.room" not in p.stdout


def test_explain_unknown_unit_exits_2() -> None:
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "nobody")
    assert p.returncode == 2
    assert "nobody" in p.stderr
    assert p.stdout == ""


def test_explain_unknown_item_exits_2() -> None:
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "xinqiao", "--item", "archives.nothing")
    assert p.returncode == 2
    assert "archives.nothing" in p.stderr


def test_explain_rejected_unit_exits_2() -> None:
    p = cli("explain", RULEBOOK, "evidence", "--unit", "badcount")
    assert p.returncode == 2
    assert "badcount" in p.stderr


def test_explain_gains_xinqiao() -> None:
    # xinqiao (total 67.44): gain = new total − 67.44 with the item at full marks
    # floating.accuracy 0 -> 10: +10
    # archives.quality 0 -> 4: archives (closure n/a) (14 + 4) × 30/20 = 27 vs 21: +6
    # floating.registration 14.38 -> 20: +5.62
    # facilities.room 11 -> 15: +4
    # floating.volunteers 6.06 -> 10: +3.94
    # archives.registers 8 -> 10: (16 × 30/20) − 21 = +3
    # bonus.loans 0 -> 3: +3
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "xinqiao", "--gains", "--format", "json")
    assert p.returncode == 0
    doc = json.loads(p.stdout)
    got = [(g["id"], g["gain"]) for g in doc["gains"]]
    assert dict(got) == {
        "floating.accuracy": "10.00",
        "archives.quality": "6.00",
        "floating.registration": "5.62",
        "facilities.room": "4.00",
        "floating.volunteers": "3.94",
        "archives.registers": "3.00",
        "bonus.loans": "3.00",
    }
    values = [float(g) for _, g in got]
    assert values == sorted(values, reverse=True)  # largest first
    assert [i for i, _ in got][:5] == [
        "floating.accuracy",
        "archives.quality",
        "floating.registration",
        "facilities.room",
        "floating.volunteers",
    ]


def test_explain_gains_table_and_yufeng() -> None:
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "xinqiao", "--gains")
    assert p.returncode == 0
    line = next(ln for ln in p.stdout.splitlines() if "archives.quality" in ln)
    assert "6.00" in line
    # yufeng (91.50): room 7 -> 15: +8; funds 8.5 -> 10: +1.5; accuracy 8.5 -> 10: +1.5;
    # quality 3.5 -> 4: +0.5; everything else is full
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "yufeng", "--gains", "--format", "csv")
    assert p.returncode == 0
    rows = list(csv.reader(io.StringIO(p.stdout)))
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert {r["item"]: r["gain"] for r in body} == {
        "facilities.room": "8.00",
        "facilities.funds": "1.50",
        "floating.accuracy": "1.50",
        "archives.quality": "0.50",
    }
    assert body[0]["item"] == "facilities.room"
    assert body[-1]["item"] == "archives.quality"


@pytest.mark.parametrize("fmt", FORMATS)
def test_explain_gains_every_format(fmt: str) -> None:
    p = cli("explain", RULEBOOK, *GOOD, "--unit", "xinqiao", "--gains", "--format", fmt)
    assert p.returncode == 0
    assert "archives.quality" in p.stdout and "6.00" in p.stdout


def test_corrupt_xlsx_in_folder_does_not_stop_run(tmp_path: Path) -> None:
    work = tmp_path / "acc"
    shutil.copytree(DATA, work)
    (work / "evidence" / "~$lock.xlsx").write_bytes(b"\x00not a zip file")
    p = cli("score", RULEBOOK, "evidence", "--format", "json", cwd=work)
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert [u["unit"] for u in doc["units"]] == ORDER
    assert any("~$lock.xlsx" in r["error"] for r in doc["rejected"])


def test_score_format_xlsx(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "result.xlsx"
    p = cli("score", RULEBOOK, *GOOD, "--format", "xlsx", "-o", out)
    assert p.returncode == 0
    wb = openpyxl.load_workbook(out, read_only=True)
    cells = [
        str(c) for row in wb.worksheets[0].iter_rows(values_only=True) for c in row if c is not None
    ]
    wb.close()
    text = " ".join(cells)
    assert in_order(text, ORDER)
    assert "91.50" in text or "91.5" in text


def test_reasons_say_gained_outside_the_penalty_category() -> None:
    """Reasons are worded when asked for, after the whole unit is scored: each keeps its
    own category's wording (得 for points gained, 扣 only for the penalty category)."""
    from fulian_eval import load_evidence, load_rulebook, score

    rb = load_rulebook(ROOT / "rules" / "town-village-2026.toml")
    ev = next(
        e
        for e in load_evidence(rb, [ROOT / "examples" / "town" / "town.csv"]).evidence
        if e.unit.id == "dongqiao"
    )
    res = score(rb, ev)
    assert res.item("archives.trainings").reason.endswith("得4分")
    assert res.item("archives.meetings").reason.endswith("扣2分，得1分")
    assert res.item("penalty.late_reports").reason.endswith("扣4分")
