"""The grouped three-level example (issue 10 item 11): rules/women-home-2026.toml, 项目 →
考评内容 (groups with subtotals and caps) → 说明, with a questionnaire, scored from the CLI.

Totals worked out by hand, clause by clause:

桥头村 qiaotou — 一 area (48−20)/(60−20)×8 = 5.6, plate 3, facilities 7→6: 14.6 (≤ 15);
  rules lack 值班制度: 10−2 = 8; ledger 健全 15 → 37.6.  二 activities 9×2 = 18; reach:
  260 人次 → 7, survey 11 of 12 positive = 91.67 % ≥ 90 → 10: 17 → 35.  三 late 2×1 +
  missed 1×2 = 4 (≤ 6) → 20−4 = 16.  Total 37.6 + 35 + 16 = 88.60 (良好).
山下村 shanxia — 一 area 15/40×8 = 3, plate 0, facilities 4: 7; rules 10; 不规范 = 欠规范 9
  → 26.  二 12×2 = 24 → 20; 320 → 10, survey 7/10 = 70 %: 20 short → 0: 10 → 30.
  三 late 5 + missed 4 = 9 → group cap 6, no fire check 3 → 20−9 = 11.  Total 67.00 (合格).
河西社区 hexi — 一 8 + 3 + 6 = 17 → 15; rules lack 议事规则 and 值班制度: 6; 15 → 36.
  二 10×2 = 20; 180 → 4; 6 answers < 10: satisfaction missing → 0 (flagged): 4 → 24.
  三 files lost 4 → 16.  Total 76.00 (合格).
北湾村 beiwan — 一 近50 (approximate, flagged) → 6, 3, 5: 14; 10; 9 → 33.  二 8×2 = 16;
  300 → 10, its own 93.5 % → 10: 20 → 36.  三 late 1, accident 8 → 20−9 = 11.
  Total 80.00 (良好).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = ROOT / "rules" / "women-home-2026.toml"
EVIDENCE = ROOT / "examples" / "women-home" / "evidence.csv"
SURVEY = ROOT / "examples" / "women-home" / "survey.csv"

TOTALS = {"qiaotou": "88.60", "beiwan": "80.00", "hexi": "76.00", "shanxia": "67.00"}
GRADES = {"qiaotou": "良好", "beiwan": "良好", "hexi": "合格", "shanxia": "合格"}


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_validate_accepts_it_and_notes_the_groups() -> None:
    p = cli("validate", RULEBOOK)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "本组以 15 分封顶" in p.stdout and "本组最多扣 6 分" in p.stdout


def test_ranked_from_the_csv_with_the_survey_as_worked_out_by_hand() -> None:
    p = cli("rank", RULEBOOK, EVIDENCE, "--survey", SURVEY, "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout.lstrip("\ufeff"))))
    assert [r["unit"] for r in rows] == ["qiaotou", "beiwan", "hexi", "shanxia"]
    assert {r["unit"]: r["total"] for r in rows} == TOTALS
    assert {r["unit"]: r["grade"] for r in rows} == GRADES
    assert [r["group_rank"] for r in rows] == ["1", "1", "2", "2"]


def test_json_has_the_groups_the_survey_count_and_the_flags() -> None:
    p = cli("score", RULEBOOK, EVIDENCE, "--survey", SURVEY, "--format", "json")
    assert p.returncode == 0, p.stderr
    units: dict[str, Any] = {u["unit"]: u for u in json.loads(p.stdout)["units"]}
    assert {u: units[u]["total"] for u in units} == TOTALS
    site = next(c for c in units["qiaotou"]["categories"] if c["id"] == "site")
    assert [(g["id"], g["score"], g["max"]) for g in site["groups"]] == [
        ("room", "14.60", "15.00"),
        ("rules", "8.00", "10.00"),
        ("records", "15.00", "15.00"),
    ]
    manage = next(c for c in units["shanxia"]["categories"] if c["id"] == "manage")
    assert [(g["id"], g["score"]) for g in manage["groups"]] == [
        ("reports", "6.00"),
        ("safety", "3.00"),
    ]
    sat = next(i for i in units["qiaotou"]["items"] if i["id"] == "activity.satisfaction")
    assert sat["points"] == "10.00" and "问卷12份" in sat["reason"]
    assert [f.split(":")[0] for f in units["hexi"]["flags"]] == ["问卷不足"]  # 6 answers: too few
    assert "仅6份有效答卷" in units["hexi"]["flags"][0]
    assert [f.split(":")[0] for f in units["beiwan"]["flags"]] == ["约数"]  # 近50, scored as 50
    assert units["qiaotou"]["flags"] == [] and units["shanxia"]["flags"] == []


def test_without_the_survey_the_missing_satisfaction_scores_nothing() -> None:
    p = cli("rank", RULEBOOK, EVIDENCE, "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = {r["unit"]: r["total"] for r in csv.DictReader(io.StringIO(p.stdout.lstrip("\ufeff")))}
    # 桥头村 loses its 10 satisfaction points (missing evidence scores the floor): 78.60
    assert rows["qiaotou"] == "78.60" and rows["beiwan"] == "80.00"
