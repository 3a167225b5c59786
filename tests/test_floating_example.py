"""The deduction scheme example (issue 10 item 11): rules/floating-population-2026.toml,
a 流动人口服务管理工作考核办法 of 基本分100分 and 20 deduction clauses, scored from the CLI.

The totals of 青石村 and 柳湾村 are worked out by hand below, clause by clause.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = ROOT / "rules" / "floating-population-2026.toml"
CSV = ROOT / "examples" / "floating" / "villages.csv"
TOML = ROOT / "examples" / "floating" / "evidence"


def score_json(*evidence: Path, engine: str = "auto") -> dict[str, Any]:
    args = [sys.executable, "-m", "fulian_eval", "score", RULEBOOK, *evidence, "--format", "json"]
    p = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert p.returncode == 0, p.stderr
    doc: dict[str, Any] = json.loads(p.stdout)
    return {u["unit"]: u for u in doc["units"]}


# 青石村 qingshi — deductions, clause by clause:
#   (4) 采集率 800/820 = 97.56% ≥ 95%: 0      (5) 人户一致 46/50 = 92% ≥ 90%: 0
#   (6) 登记错误 3 × 0.5 = 1.5                (8) 台账 欠规范: 2
#   (9) 建档率 117/120 = 97.5%: 2.5 points short × 1 = 2.5
#   (10) 未签 2 户 × 0.5 = 1                  (14) 宣传资料缺 联系卡: 0.5
#   (17) 迟报 1 × 1 = 1; every other clause 0
#   total deduction 1.5 + 2 + 2.5 + 1 + 0.5 + 1 = 8.5 → 100 − 8.5 = 91.5 (优秀, ≥ 90)
QINGSHI = {
    "main.wrong_records": "1.50",
    "main.ledger": "2.00",
    "main.rental_rate": "2.50",
    "main.unsigned": "1.00",
    "main.publicity": "0.50",
    "main.late_reports": "1.00",
}

# 柳湾村 liuwan:
#   (2) 无协管员 3      (4) 采集率 1290/1500 = 86%: 9 × 2 = 18, 本条最高 10 → 10
#   (5) 一致率 35/40 = 87.5%: 2.5 points, a started point counts whole: 3 × 2 = 6 (= its max 6)
#   (6) 12 × 0.5 = 6, 最高 5 → 5      (7) 未按月更新 3      (8) 台账 "没有" = 无: 6
#   (9) 190/200 = 95%: 5 × 1 = 5      (10) 未签户数未报送: worst, 扣足 5
#   (11) 巡查 2 次, 少 2 次: 2        (13) 活动 3 次, 少 1 次: 1
#   (14) 缺 3 项 × 0.5 = 1.5          (15) 无流动儿童花名册 2
#   (16) 满意度 "85左右" (approximate, 85): 5 × 1 = 5
#   (17) 迟报 2 × 1 = 2               (18) 漏报 1 × 2 = 2
#   (19) 治安案件未报送: on_missing = "none", 0
#   total 3 + 10 + 6 + 5 + 3 + 6 + 5 + 5 + 2 + 1 + 1.5 + 2 + 5 + 2 + 2 = 58.5 → 41.5 (不合格)
LIUWAN = {
    "main.coordinator": "3.00",
    "main.collection": "10.00",
    "main.match": "6.00",
    "main.wrong_records": "5.00",
    "main.monthly_update": "3.00",
    "main.ledger": "6.00",
    "main.rental_rate": "5.00",
    "main.unsigned": "5.00",
    "main.inspections": "2.00",
    "main.activities": "1.00",
    "main.publicity": "1.50",
    "main.children_roster": "2.00",
    "main.satisfaction": "5.00",
    "main.late_reports": "2.00",
    "main.missed_reports": "2.00",
}


def deductions(unit: dict[str, Any]) -> dict[str, str]:
    return {i["id"]: i["points"] for i in unit["items"] if i["points"] != "0.00"}


@pytest.mark.parametrize("evidence", [CSV, TOML], ids=["csv", "toml"])
def test_hand_checked_totals(evidence: Path) -> None:
    units = score_json(evidence)
    q, lw = units["qingshi"], units["liuwan"]
    assert (q["total"], q["grade"]) == ("91.50", "优秀")
    assert deductions(q) == QINGSHI
    assert (lw["total"], lw["grade"]) == ("41.50", "不合格")
    assert deductions(lw) == LIUWAN
    assert [c["type"] for c in lw["categories"]] == ["deduction"]


def test_the_other_two_villages() -> None:
    units = score_json(CSV)
    # 新塘社区: 未纳入年度计划 2; no rented houses: (9)–(11) not applicable → 98
    xt = units["xintang"]
    assert xt["total"] == "98.00"
    assert {i["id"] for i in xt["items"] if i["status"] == "not_applicable"} == {
        "main.rental_rate",
        "main.unsigned",
        "main.inspections",
    }
    # 东风村: 错误 1 × 0.5 + 台账不健全 4 + 满意度 88.5% (1.5 × 1) + 重大治安案件 10 = 16 → 84
    assert units["dongfeng"]["total"] == "84.00"
    assert units["dongfeng"]["grade"] == "合格"


def test_reasons_read_like_the_clauses() -> None:
    lw = {i["id"]: i for i in score_json(CSV)["liuwan"]["items"]}
    assert lw["main.collection"]["reason"] == (
        "流动人口信息采集率86%，低于95%，应扣18分，已达本项扣分上限10分，扣10分"
    )
    assert lw["main.coordinator"]["reason"] == "配备专（兼）职协管员：否，扣3分"
    assert lw["main.ledger"]["reason"] == "流动人口台账：无，扣6分"
    assert lw["main.unsigned"]["status"] == "missing"
    assert lw["main.unsigned"]["reason"] == "无资料（缺未签订治安责任书的出租户），按未开展扣5分"
    assert lw["main.incident"]["reason"] == "无资料（缺发生因管理不到位引发的重大治安案件），未扣分"
