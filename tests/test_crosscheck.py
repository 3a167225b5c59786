"""Cross-checks (SPEC §6): final result by precedence or weights, discrepancies, inflation, agreement."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulian_eval import (
    RulebookError,
    load_evidence,
    load_rulebook,
    parse_evidence,
    parse_rulebook,
    score,
)
from fulian_eval.analysis.crosscheck import (
    config_of,
    crosscheck,
    crosscheck_json,
    crosscheck_report,
)

ROOT = Path(__file__).resolve().parent.parent

BOOK = """\
id = "cc"
version = "1"
scale = 100
{crosscheck}
[fields.meetings]
type = "count"
[fields.registers]
type = "set"
[fields.fabricated]
type = "bool"

[[categories]]
id = "a"
max = 10
  [[categories.items]]
  id = "meetings"
  max = 5
  kind = "count"
  field = "meetings"
  each = 1
  [[categories.items]]
  id = "registers"
  max = 5
  kind = "deduct"
  field = "registers"
  required = ["甲", "乙", "丙", "丁", "戊"]
  each = 1
  [[categories.items]]
  id = "fraud"
  kind = "veto"
  when = "fabricated"
"""


def book(crosscheck_table: str = "") -> Any:
    return parse_rulebook(BOOK.format(crosscheck=textwrap.dedent(crosscheck_table)))


def assess(
    rb: Any, unit: str, role: str, meetings: int, registers: list[str], fabricated: bool = False
) -> Any:
    ev = parse_evidence(
        rb,
        {
            "unit": {"id": unit, "group": "东片"},
            "assessment": {"role": role},
            "values": {"meetings": meetings, "registers": registers, "fabricated": fabricated},
        },
    )
    return score(rb, ev)


ALL = ["甲", "乙", "丙", "丁", "戊"]


def test_precedence_takes_the_first_role_present_and_inflation_is_self_minus_final() -> None:
    rb = book()
    results = [
        assess(rb, "u1", "self", 5, ALL),  # 10 -> 100
        assess(rb, "u1", "peer", 4, ALL[:4]),  # 4 + 4 = 8 -> 80
        assess(rb, "u1", "town", 3, ALL[:4]),  # 3 + 4 = 7 -> 70
        assess(rb, "u2", "self", 2, ALL),  # 7 -> 70
        assess(rb, "u2", "peer", 2, ALL),  # 7 -> 70
    ]
    cc = crosscheck(rb, results)
    finals = {r.result.unit.id: r.result for r in cc.ranked}
    assert (finals["u1"].final_role, finals["u1"].total) == ("town", 70)
    assert (finals["u2"].final_role, finals["u2"].total) == ("peer", 70)
    assert finals["u1"].self_inflation == 30
    assert finals["u2"].self_inflation == 0
    assert [(r.result.unit.id, r.rank) for r in cc.ranked] == [("u1", 1), ("u2", 1)]
    assert cc.all_full_marks == ("u1",)


def test_weighted_combination_of_role_totals() -> None:
    rb = book("""
        [crosscheck]
        combine = "weighted"
        role_weights = {town = 0.6, peer = 0.4}
    """)
    results = [
        assess(rb, "u1", "self", 5, ALL),
        assess(rb, "u1", "peer", 4, ALL[:4]),
        assess(rb, "u1", "town", 3, ALL[:4]),
        assess(rb, "u2", "self", 5, ALL),
        assess(rb, "u2", "peer", 4, ALL[:4]),
    ]
    finals = {r.result.unit.id: r.result for r in crosscheck(rb, results).ranked}
    # u1: 0.6 × 70 + 0.4 × 80 = 74; u2 has no town: the peer's weight alone -> 80
    assert (finals["u1"].final_role, finals["u1"].total) == ("weighted", 74)
    assert finals["u2"].total == 80
    assert finals["u1"].self_inflation == 26


def test_discrepancies_respect_the_tolerance_and_show_the_evidence() -> None:
    results = lambda rb: [assess(rb, "u1", "self", 5, ALL), assess(rb, "u1", "peer", 4, ALL[:3])]  # noqa: E731
    rb = book()
    cc = crosscheck(rb, results(rb))
    got = {d.item: d for d in cc.discrepancies}
    assert set(got) == {"a.meetings", "a.registers"}
    assert got["a.meetings"].points == {"self": F(5), "peer": F(4)}
    assert got["a.meetings"].values == {"self": {"meetings": "5"}, "peer": {"meetings": "4"}}
    rb = book("[crosscheck]\ntolerance = 1\n")
    # meetings differ by exactly 1 (not more than the tolerance); registers by 2
    assert [d.item for d in crosscheck(rb, results(rb)).discrepancies] == ["a.registers"]


def test_a_veto_one_role_saw_is_a_discrepancy_and_the_final_role_decides() -> None:
    rb = book()
    results = [
        assess(rb, "u1", "self", 5, ALL, fabricated=False),
        assess(rb, "u1", "peer", 5, ALL, fabricated=True),
    ]
    cc = crosscheck(rb, results)
    veto = [d for d in cc.discrepancies if d.veto]
    assert [d.item for d in veto] == ["a.fraud"]
    assert veto[0].values == {"self": {"fabricated": "否"}, "peer": {"fabricated": "是"}}
    assert cc.ranked[0].result.vetoed


def test_agreement_is_defined_for_a_single_role() -> None:
    rb = book()
    cc = crosscheck(rb, [assess(rb, "u1", "self", 5, ALL), assess(rb, "u2", "self", 1, ALL)])
    assert cc.agreement.alpha is None
    assert cc.agreement.message
    doc = crosscheck_json(cc)
    assert doc["agreement"]["alpha"] is None and doc["agreement"]["pairs"] == 0


def test_bad_crosscheck_table_is_a_rulebook_error() -> None:
    # Since issue 10 (SPEC §10.8) the loader checks [crosscheck] itself, with lines; config_of keeps
    # the same check for a Rulebook made without the loader.
    with pytest.raises(RulebookError) as info:
        book('[crosscheck]\ncombine = "average"\nprecedence = ["boss"]\n')
    paths = {p.path for p in info.value.problems}
    assert {"crosscheck.combine", "crosscheck.precedence"} <= paths
    assert all(p.line is not None for p in info.value.problems)
    rb = attrs.evolve(book(), extra={"crosscheck": {"combine": "average"}})
    with pytest.raises(RulebookError) as info:
        config_of(rb)
    assert [p.path for p in info.value.problems] == ["crosscheck.combine"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["self", "peer", "town", "field"]), min_size=1, max_size=4, unique=True
    ),
    st.lists(st.integers(0, 5), min_size=4, max_size=4),
)
def test_final_role_follows_precedence_and_weighted_total_is_between_roles(
    roles: list[str], meetings: list[int]
) -> None:
    rb = book()
    results = [assess(rb, "u", role, m, ALL) for role, m in zip(roles, meetings, strict=False)]
    final = crosscheck(rb, results).ranked[0].result
    expected = next(r for r in ("town", "field", "peer", "self") if r in roles)
    assert final.final_role == expected
    rbw = book(
        '[crosscheck]\ncombine = "weighted"\nrole_weights = {self = 1, peer = 2, town = 3, field = 4}\n'
    )
    wfinal = crosscheck(
        rbw, [assess(rbw, "u", role, m, ALL) for role, m in zip(roles, meetings, strict=False)]
    )
    totals = [r.total for r in results]
    assert min(totals) <= wfinal.ranked[0].result.total <= max(totals)


def test_cli_on_the_example_round() -> None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "crosscheck",
            str(ROOT / "rules" / "town-village-2026.toml"),
            str(ROOT / "examples" / "crosscheck"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    units = {u["unit"]: u for u in doc["units"]}
    assert len(units) == 21
    assert units["shiqiao"]["final_role"] == "town"
    assert set(units["shiqiao"]["roles"]) == {"self", "peer", "town"}
    assert units["dawan"]["vetoed"] is True and units["dawan"]["rank"] == 21
    assert any(d["unit"] == "dawan" and d.get("veto") for d in doc["discrepancies"])
    assert any(
        d["unit"] == "shiqiao" and d["item"] == "facilities.funds" for d in doc["discrepancies"]
    )
    alpha = doc["agreement"]["alpha"]
    assert alpha is not None and 0 < float(alpha) <= 1 and doc["agreement"]["pairs"] > 0
    table = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "crosscheck",
            str(ROOT / "rules" / "town-village-2026.toml"),
            str(ROOT / "examples" / "crosscheck"),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert "有争议的项目" in table.stdout and "Krippendorff" in table.stdout


def test_cli_crosscheck_csv_and_markdown(tmp_path: Path) -> None:
    args = [
        "crosscheck",
        str(ROOT / "rules" / "town-village-2026.toml"),
        str(ROOT / "examples" / "crosscheck"),
    ]
    out = tmp_path / "cc.csv"
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args, "--format", "csv", "-o", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert p.returncode == 0, p.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "rank,unit,name,group,self,peer,town,final_role,total,self_inflation,vetoed"
    assert len(lines) == 22
    assert any(line.startswith("21,dawan,") and line.endswith(",true") for line in lines)
    md = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args, "--format", "markdown"],
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert md.returncode == 0 and "| 名次" in md.stdout and "|---" in md.stdout.replace(":", "-")


def test_the_table_names_the_role_used_by_its_title_and_csv_by_its_id() -> None:
    root = Path(__file__).resolve().parent.parent
    rb = load_rulebook(root / "rules" / "town-village-2026.toml")
    cc = crosscheck(
        rb, [score(rb, ev) for ev in load_evidence(rb, [root / "examples" / "crosscheck"]).evidence]
    )
    table = crosscheck_report(rb, cc, "table").splitlines()
    huayuan = next(line for line in table if " huayuan " in line)
    assert " 镇核 " in huayuan and " town " not in huayuan
    rows = crosscheck_report(rb, cc, "csv").splitlines()
    assert rows[0].split(",")[7] == "final_role"
    assert next(r for r in rows if r.startswith("1,huayuan,")).split(",")[7] == "town"


def test_self_inflation_uses_the_rulebooks_own_first_role() -> None:
    """With [roles] the self-assessment is the first (least authoritative) role, whatever its id."""
    rb = parse_rulebook(
        textwrap.dedent("""
        id = "r"
        version = "1"
        [roles]
        village = "村自评"
        town = "镇核"
        [fields.ok]
        type = "bool"
        [[categories]]
        id = "a"
        [[categories.items]]
        id = "ok"
        kind = "check"
        field = "ok"
        max = 10
        """)
    )

    def ev(role: str, ok: bool) -> Any:
        data = {"unit": {"id": "u1"}, "assessment": {"role": role}, "values": {"ok": ok}}
        return score(rb, parse_evidence(rb, data))

    cc = crosscheck(rb, [ev("village", True), ev("town", False)])
    [final] = [r.result for r in cc.ranked]
    # the town's 0 is used; the village said 10: it inflated by 10 and gave itself full marks
    assert final.final_role == "town" and final.self_inflation == 10
    assert cc.all_full_marks == ("u1",)
