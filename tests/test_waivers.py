"""Waivers (SPEC §2.5): excused items become not applicable; expired or self-approved ones are ignored."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from fulian_eval import RulebookError, load_evidence, load_rulebook, score
from fulian_eval.io.waivers import load_waivers

DATA = Path(__file__).parent / "data" / "acceptance"
TODAY = dt.date(2026, 11, 22)

WAIVERS = """\
[[waivers]]
unit        = "xinqiao"
item        = "facilities.room"
reason      = "活动室改建中"
approved_by = "县妇联 王主任"
expires     = 2026-12-31

[[waivers]]
unit        = "yufeng"
item        = "archives.quality"
reason      = "去年的豁免"
approved_by = "县妇联"
expires     = 2025-12-31

[[waivers]]
unit        = "ningfeng"
item        = "facilities.room"
reason      = "自己批的"
approved_by = "ningfeng"
expires     = 2026-12-31
"""


@pytest.fixture
def waiver_file(tmp_path: Path) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(WAIVERS, encoding="utf-8")
    return path


def test_waived_item_is_not_applicable_and_category_rescales(waiver_file: Path) -> None:
    rb = load_rulebook(DATA / "town-2026.toml")
    waivers, warnings = load_waivers(waiver_file, rb, TODAY)
    assert any("已于 2025-12-31 到期" in w for w in warnings)
    ev = next(e for e in load_evidence(rb, [DATA / "evidence"]).evidence if e.unit.id == "xinqiao")
    applied, _ = waivers.for_unit(ev)
    r = score(rb, ev, applied)
    room = r.item("facilities.room")
    assert room.status == "not_applicable"
    assert "活动室改建中" in room.reason and "县妇联 王主任" in room.reason
    # facilities: plate 5 + funds 10 of the 15 still applicable, rescaled × 30/15 = 30 (was 26)
    assert r.category("facilities").score == 30
    # total 100 × (21 + 30 + 20.44) / 100 = 71.44; without the waiver 67.44
    assert r.total == F(7144, 100)
    assert r.total_without_waivers == F(6744, 100)
    assert r.waived == ("facilities.room",)


def test_self_approved_waiver_is_ignored_with_a_warning(waiver_file: Path) -> None:
    rb = load_rulebook(DATA / "town-2026.toml")
    waivers, _ = load_waivers(waiver_file, rb, TODAY)
    ev = next(e for e in load_evidence(rb, [DATA / "evidence"]).evidence if e.unit.id == "ningfeng")
    applied, warnings = waivers.for_unit(ev)
    assert applied == {}
    assert any("批准人“ningfeng”是该单位自己的评审人" in w for w in warnings)
    assert score(rb, ev, applied).total_without_waivers is None


def test_expired_waiver_is_not_applied(waiver_file: Path) -> None:
    rb = load_rulebook(DATA / "town-2026.toml")
    waivers, _ = load_waivers(waiver_file, rb, TODAY)
    assert [w.unit for w in waivers.expired] == ["yufeng"]
    assert all(w.unit != "yufeng" for w in waivers.waivers)
    # the day it was still in force, it applies
    waivers, warnings = load_waivers(waiver_file, rb, dt.date(2025, 12, 31))
    assert any(w.unit == "yufeng" for w in waivers.waivers) and not warnings


def test_bad_waiver_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        '[[waivers]]\nunit = "a"\nitem = "archives.regsters"\nreason = "x"\napproved_by = "y"\n'
        'expires = "soon"\n\n[[waivers]]\nunit = "b"\n',
        encoding="utf-8",
    )
    rb = load_rulebook(DATA / "town-2026.toml")
    with pytest.raises(RulebookError) as info:
        load_waivers(path, rb, TODAY)
    text = str(info.value)
    assert "是否想写“archives.registers”？" in text
    assert "waivers[1]: 缺少“item”" in text
    assert all(p.line is not None for p in info.value.problems)


def test_cli_shows_totals_with_and_without_waivers(waiver_file: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(DATA / "town-2026.toml"),
            str(DATA / "evidence"),
            "--waivers",
            str(waiver_file),
            "--today",
            "2026-11-22",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert proc.returncode == 1  # bad-count.toml is still rejected
    assert "已于 2025-12-31 到期" in proc.stderr
    assert "批准人“ningfeng”是该单位自己的评审人" in proc.stderr
    units = {u["unit"]: u for u in json.loads(proc.stdout)["units"]}
    assert units["xinqiao"]["total"] == "71.44"
    assert units["xinqiao"]["total_without_waivers"] == "67.44"
    assert units["xinqiao"]["waived"] == ["facilities.room"]
    assert "total_without_waivers" not in units["yufeng"]
    table = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(DATA / "town-2026.toml"),
            str(DATA / "evidence"),
            "--waivers",
            str(waiver_file),
            "--today",
            "2026-11-22",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert "未豁免总分" in table.stdout
