"""``precision = 0.01 | 0.1 | 1`` (SPEC §10.5): rounding and printing, hand-computed, through both engines.

Every expected number is worked out by hand in the comment beside it. Each example is
scored by the exact per-unit path and by the columnar plan, which must agree (the
``engine`` fixture runs every example under both), and the CLI examples go through the
streamed table path (CSV) and the per-unit path (JSON) alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import columnar_rows, exact_row
from fulian_eval import (
    Rulebook,
    RulebookError,
    UnitResult,
    parse_evidence,
    parse_rulebook,
    rank,
    score,
)
from fulian_eval.kinds import ManualRule
from fulian_eval.lang.text import fmt_bound, fmt_hundredths, fmt_points, points_h, round_points
from fulian_eval.scoring.columnar import Unsupported, compile_plan
from fulian_eval.testing import evidence_lists, rulebooks

F = Fraction


def book(precision: str | None, body: str) -> Rulebook:
    head = 'id = "prec"\nversion = "1"\n'
    if precision is not None:
        head += f"precision = {precision}\n"
    return parse_rulebook(head + textwrap.dedent(body))


_ENGINE = ["exact"]


@pytest.fixture(params=["exact", "columnar"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """A hand-computed example runs twice: the exact per-unit path, then the columnar plan too."""
    _ENGINE[0] = request.param
    yield request.param
    _ENGINE[0] = "exact"


def run(rb: Rulebook, values: Mapping[str, Any], uid: str = "u1") -> UnitResult:
    """Score one unit; under ``columnar`` the plan must give the very same numbers."""
    ev = parse_evidence(rb, {"unit": {"id": uid}, "values": dict(values)})
    result = score(rb, ev)
    if _ENGINE[0] == "columnar":
        assert columnar_rows(rb, [ev])[0] == exact_row(result)
    return result


# Two expression items read straight from evidence: their points are the value itself.
TWO = """
[fields]
a = {type = "number"}
b = {type = "number"}

[[categories]]
id = "c"
title = "业务"
max = 10
  [[categories.items]]
  id = "x"
  title = "甲项"
  kind = "expr"
  points = "a"
  max = 5
  [[categories.items]]
  id = "y"
  title = "乙项"
  kind = "expr"
  points = "b"
  max = 5
"""


# ------------------------------------------------------------------ items


@pytest.mark.parametrize(
    ("precision", "a", "b", "x", "y", "cat", "total"),
    [
        # 2.45 → 2.5 (half up), 3.449 → 3.4 (never 3.45 → 3.5: one rounding, from the exact value)
        ("0.1", "2.45", "3.449", F(5, 2), F(17, 5), "5.9", "59.0"),
        # category 2.5 + 3.4 = 5.9; total 100 × 5.9 / 10 = 59.0
        ("1", "2.5", "2.49", F(3), F(2), "5", "50"),
        # 2.5 → 3, 2.49 → 2; category 5; total 100 × 5 / 10 = 50
        (None, "2.45", "3.449", F(49, 20), F(345, 100), "5.90", "59.00"),
        # the default 0.01: 2.45 and 3.449 → 3.45; 5.90; 59.00
    ],
)
def test_item_points_round_to_the_precision(
    precision: str | None,
    a: str,
    b: str,
    x: Fraction,
    y: Fraction,
    cat: str,
    total: str,
    engine: str,
) -> None:
    rb = book(precision, "scale = 100\n" + TWO)
    r = run(rb, {"a": a, "b": b})
    assert [i.points for i in r.items] == [x, y]
    s = r.summary()
    assert s.categories[0][1] == cat
    assert s.total == total


def test_reason_says_the_points_at_the_precision(engine: str) -> None:
    rb = book("1", TWO)
    r = run(rb, {"a": "2.5", "b": "0.4"})
    # 2.5 → 3 and 0.4 → 0: the reason's 得X分 is the item's points, never the unrounded value
    assert r.items[0].reason == "按公式 a 计算：a 2.5，得3分"
    assert r.items[1].reason == "按公式 b 计算：b 0.4，不得分"
    rb = book("0.1", TWO)
    assert run(rb, {"a": "2.45", "b": "0"}).items[0].reason == "按公式 a 计算：a 2.45，得2.5分"


DEDUCTION = """
[fields]
n = {type = "count", unit = "次", title = "迟报"}

[[categories]]
id = "d"
title = "扣分类"
type = "deduction"
max = 10
  [[categories.items]]
  id = "late"
  title = "迟报每次扣1.25分"
  kind = "count"
  field = "n"
  each = 1.25
  max = 10
"""


def test_a_deduction_rounds_and_says_so(engine: str) -> None:
    # 2 × 1.25 = 2.5 deducted: 3 at precision 1 (扣3分), category 10 − 3 = 7
    r = run(book("1", DEDUCTION), {"n": 2})
    assert r.items[0].points == 3
    assert r.items[0].reason == "迟报2次×1.25分，扣3分"
    assert r.summary().categories[0][1] == "7"
    # at 0.1: 扣2.5分, 7.5
    r = run(book("0.1", DEDUCTION), {"n": 2})
    assert r.items[0].reason == "迟报2次×1.25分，扣2.5分"
    assert r.summary().categories[0][1] == "7.5"


# -------------------------------------------------------- categories, totals


RESCALED = """
scale = 100
[fields]
a = {type = "number"}
b = {type = "number"}
z = {type = "number"}
has_z = {type = "bool"}

[[categories]]
id = "c"
title = "业务"
max = 10
  [[categories.items]]
  id = "x"
  title = "甲"
  kind = "expr"
  points = "a"
  max = 4
  [[categories.items]]
  id = "y"
  title = "乙"
  kind = "expr"
  points = "b"
  max = 3
  [[categories.items]]
  id = "z"
  title = "丙"
  kind = "expr"
  points = "z"
  max = 3
  applies_when = "has_z"
"""


@pytest.mark.parametrize(
    ("precision", "cat", "total"),
    [
        # e = 2.5 + 1.5 = 4, A = 10, a = 7: score 4 × 10/7 = 5.714…; total 100 × 5.714…/10 = 57.142…
        ("0.1", "5.7", "57.1"),
        # at 1 the items round first: 2.5 → 3, 1.5 → 2, e = 5: 5 × 10/7 = 7.142… → 7;
        # total 100 × (50/7)/10 = 71.42… → 71
        ("1", "7", "71"),
        (None, "5.71", "57.14"),
    ],
)
def test_rescaled_category_and_total_round_once(
    precision: str | None, cat: str, total: str, engine: str
) -> None:
    rb = book(precision, RESCALED)
    r = run(rb, {"a": "2.5", "b": "1.5", "z": "0", "has_z": "否"})
    s = r.summary()
    assert s.categories[0][1] == cat
    # the total comes from the exact category score (40/7 at 0.1), not from the rounded one:
    # 100 × 5.7/10 would be 57.0 (and at 1, 100 × 7/10 would be 70)
    assert s.total == total


WEIGHTED = """
scale = 100
[fields]
a = {type = "number"}
b = {type = "number"}

[[categories]]
id = "p"
title = "甲类"
max = 3
weight = 1
  [[categories.items]]
  id = "x"
  title = "甲"
  kind = "expr"
  points = "a"
  max = 3

[[categories]]
id = "q"
title = "乙类"
max = 4
weight = 2
  [[categories.items]]
  id = "y"
  title = "乙"
  kind = "expr"
  points = "b"
  max = 4
"""


@pytest.mark.parametrize(
    ("precision", "total"),
    # 100 × (1 × 1.1/3 + 2 × 1.2/4) / 3 = 100 × (11/30 + 18/30) / 3 = 2900/90 = 32.222…;
    # at 1 the items are 1 and 1: 100 × (1/3 + 2 × 1/4) / 3 = 100 × 5/18 = 27.77… → 28
    [("0.1", "32.2"), ("1", "28"), (None, "32.22")],
)
def test_weighted_total(precision: str | None, total: str, engine: str) -> None:
    r = run(book(precision, WEIGHTED), {"a": "1.1", "b": "1.2"})
    assert r.summary().total == total
    assert [c[1] for c in r.summary().categories] == (
        ["1.1", "1.2"]
        if precision == "0.1"
        else ["1", "1"]
        if precision == "1"
        else ["1.10", "1.20"]
    )


def test_half_up_at_the_boundary(engine: str) -> None:
    one = """
    [fields]
    a = {type = "number"}
    [[categories]]
    id = "c"
    title = "业务"
    max = 100
      [[categories.items]]
      id = "x"
      title = "甲"
      kind = "expr"
      points = "a / 100"
      max = 100
    """
    # a / 100 = 91.65 exactly → 91.7 at 0.1 (half up); 91.5 → 92 at 1; 91.49 → 91 at 1
    assert run(book("0.1", one), {"a": "9165"}).summary().total == "91.7"
    assert run(book("1", one), {"a": "9150"}).summary().total == "92"
    assert run(book("1", one), {"a": "9149"}).summary().total == "91"


# ------------------------------------------------------------------ ranking


ONE_ITEM = """
[fields]
a = {type = "number"}
[[categories]]
id = "c"
title = "业务"
max = 100
  [[categories.items]]
  id = "x"
  title = "甲"
  kind = "expr"
  points = "a"
  max = 100
"""


@pytest.mark.parametrize(
    ("precision", "ranks", "totals"),
    [
        # 91.64 and 91.61 both print 91.6 at 0.1: tied (1, 1), then 90.05 → 90.1 third
        ("0.1", [1, 1, 3], ["91.6", "91.6", "90.1"]),
        # at 1 all three are 92, 92, 90
        ("1", [1, 1, 3], ["92", "92", "90"]),
        # at 0.01 nothing ties
        (None, [1, 2, 3], ["91.64", "91.61", "90.05"]),
    ],
)
def test_ties_come_from_the_rounded_totals(
    precision: str | None, ranks: list[int], totals: list[str], engine: str
) -> None:
    rb = book(precision, ONE_ITEM)
    results = [
        run(rb, {"a": "91.61"}, "u2"),
        run(rb, {"a": "90.05"}, "u3"),
        run(rb, {"a": "91.64"}, "u1"),
    ]
    ranked = rank(rb, results)
    assert [r.result.unit.id for r in ranked] == ["u1", "u2", "u3"]  # tied units by id
    assert [r.rank for r in ranked] == ranks
    assert [r.result.summary().total for r in ranked] == totals
    if engine == "columnar":  # the plan's totals rank the same
        plan = compile_plan(rb)
        evs = [
            parse_evidence(rb, {"unit": {"id": u.unit.id}, "values": {"a": v}})
            for u, v in zip(results, ["91.61", "90.05", "91.64"], strict=True)
        ]
        sc = plan.score_evidence(evs)
        assert sorted(sc.total_h.tolist(), reverse=True) == [int(Fraction(t) * 100) for t in totals]


def test_a_veto_on_total_reads_the_rounded_total(engine: str) -> None:
    rb = book(
        "1",
        ONE_ITEM
        + """
  [[categories.items]]
  id = "low"
  title = "年终考核80分以下一票否决"
  kind = "veto"
  when = "total < 80"
""",
    )
    # 79.5 rounds to 80 at precision 1: not below 80, no veto; 79.49 → 79: vetoed
    assert not run(rb, {"a": "79.5"}).vetoed
    assert run(rb, {"a": "79.49"}).vetoed


# ------------------------------------------------------------- validation


MANUAL = """
[[categories]]
id = "c"
title = "业务"
max = 5
  [[categories.items]]
  id = "m"
  title = "现场评分"
  kind = "manual"
  max = 5
"""


@pytest.mark.usefixtures("english")
def test_manual_step_finer_than_precision_is_an_error() -> None:
    with pytest.raises(RulebookError) as exc:
        book("0.1", MANUAL + "  step = 0.05\n")
    assert str(exc.value) == (
        '<rulebook>:14: categories[0].items[0] "c.m".step: 0.05 is finer than the rulebook\'s '
        "precision = 0.1: points given in steps of 0.05 would be rounded to 0.1; "
        "make step a multiple of 0.1 (e.g. step = 0.1)"
    )
    with pytest.raises(
        RulebookError, match=r"0\.25 is not a whole multiple of the rulebook's precision = 0\.1"
    ):
        book("0.1", MANUAL + "  step = 0.25\n")
    with pytest.raises(RulebookError, match=r"0\.5 is finer than the rulebook's precision = 1"):
        book("1", MANUAL + "  step = 0.5\n")


def test_manual_default_step_follows_a_coarser_precision() -> None:
    # the default step 0.5 would be finer than 1: it becomes 1; at 0.1 it stays 0.5
    rule = book("1", MANUAL).items()[0].rule
    assert isinstance(rule, ManualRule) and rule.step == 1
    rule = book("0.1", MANUAL).items()[0].rule
    assert isinstance(rule, ManualRule) and rule.step == F(1, 2)
    assert book("1", MANUAL + "  step = 2\n").items()[0].rule == ManualRule(step=F(2))


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0.5", "precision: 0.5 is not allowed; expected 0.01, 0.1 or 1"),
        (
            '"0.1"',
            "precision: '0.1' is a string; write it as a number, without quotes: precision = 0.1",
        ),
        ('"一位小数"', "precision: '一位小数' is a string; expected 0.01, 0.1 or 1"),
        ("true", "precision: true is not allowed; expected 0.01, 0.1 or 1"),
        ("0.010", None),  # the same number as 0.01
        ("1.0", None),
    ],
)
@pytest.mark.usefixtures("english")
def test_precision_values(written: str, message: str | None) -> None:
    if message is None:
        book(written, TWO)
        return
    with pytest.raises(RulebookError) as exc:
        book(written, TWO)
    assert message in str(exc.value)
    assert "<rulebook>:3: " in str(exc.value)  # its line


def test_item_max_finer_than_precision_is_fine_and_scores_round(engine: str) -> None:
    rb = book("1", TWO.replace("max = 5\n", "max = 2.5\n", 1).replace("max = 10", "max = 7.5"))
    r = run(rb, {"a": "2.5", "b": "1"})
    assert r.items[0].points == 3  # full marks 2.5 round to 3 …
    assert fmt_bound(rb.items()[0].max, rb.places) == "2.5"  # … while the max prints as written


def test_tailoring_replaces_precision(tmp_path: Path) -> None:
    from fulian_eval import load_rulebook

    base = tmp_path / "base.toml"
    base.write_text('id = "b"\nversion = "1"\nprecision = 0.1\n' + TWO, encoding="utf-8")
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\nid = "c2"\nprecision = 1\n', encoding="utf-8")
    assert load_rulebook(base).precision == F(1, 10)
    assert load_rulebook(child).precision == 1


# ------------------------------------------------------------ the helpers


def test_number_helpers() -> None:
    assert round_points(F(49, 20), 1) == F(5, 2)  # 2.45 → 2.5
    assert round_points(F(2449, 1000), 1) == F(12, 5)  # 2.449 → 2.4
    assert round_points(F(-5, 2), 0) == -3  # half away from zero
    assert points_h(F(9164, 100), 1) == 9160
    assert fmt_hundredths(9160, 1) == "91.6"
    assert fmt_hundredths(9200, 0) == "92"
    assert fmt_hundredths(-10, 1) == "-0.1"
    assert fmt_points(F(0), 0) == "0"
    assert fmt_points(F(0), 1) == "0.0"
    assert fmt_bound(F(10), 0) == "10"
    assert fmt_bound(F(10), 1) == "10.0"
    assert fmt_bound(F(1, 4), 1) == "0.25"


_EXACT = st.fractions(min_value=0, max_value=200, max_denominator=10_000)


@settings(max_examples=300)
@given(_EXACT, _EXACT, st.sampled_from([2, 1, 0]))
def test_rounding_is_monotone(a: Fraction, b: Fraction, places: int) -> None:
    """A higher raw total never gets a lower rounded total."""
    lo, hi = sorted((a, b))
    assert round_points(lo, places) <= round_points(hi, places)
    assert points_h(lo, places) <= points_h(hi, places)


@settings(max_examples=300)
@given(_EXACT, _EXACT)
def test_coarser_precision_never_reverses_an_order(a: Fraction, b: Fraction) -> None:
    """What ranks strictly higher at a finer precision never ranks lower at a coarser one:
    a coarser precision never reverses an order, it can only tie it (or keep it)."""
    for fine, coarse in ((2, 1), (1, 0), (2, 0)):
        if points_h(a, fine) > points_h(b, fine):
            assert points_h(a, coarse) >= points_h(b, coarse)


def test_a_tie_at_a_finer_precision_can_split_at_a_coarser_one() -> None:
    """Each precision rounds the exact total once (never the already rounded one), so
    0.045 and 0.054 tie at 0.01 (both 0.05) and not at 0.1 (0.0 and 0.1): ties are
    decided at the rulebook's own precision, from exact totals."""
    a, b = F(45, 1000), F(54, 1000)
    assert points_h(a, 2) == points_h(b, 2) == 5
    assert (points_h(a, 1), points_h(b, 1)) == (0, 10)


# The exact-vs-columnar differential properties, at the coarser precisions.
@pytest.mark.parametrize("precision", [F(1, 10), F(1)])
def test_engines_agree_at_coarser_precision(precision: Fraction) -> None:
    @settings(
        max_examples=40,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        rb = data.draw(rulebooks(precision=precision, max_categories=3))
        evs = data.draw(evidence_lists(rb, max_size=5))
        try:
            got = columnar_rows(rb, evs)
        except Unsupported:  # the plan may refuse a rulebook: runs of it take the exact path
            return
        assert got == [exact_row(score(rb, ev)) for ev in evs]
        for ev in evs:
            r = score(rb, ev)
            step = 10 ** (2 - rb.places)
            assert all(points_h(c.score, rb.places) % step == 0 for c in r.categories)
            assert all((i.points * 100) % step == 0 for i in r.items)

    check()


# -------------------------------------------------------------- end to end


def cli(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rb = tmp_path / "rb.toml"
    rb.write_text(
        'id = "prec"\nversion = "1"\ntitle = "精度测试"\nprecision = 0.1\nscale = 100\n' + TWO,
        encoding="utf-8",
    )
    csv = tmp_path / "units.csv"
    # u1: 4.6 + 4.564 → 4.6 + 4.6 = 9.2 → 92.0; u2: 4.6 + 4.55 → 4.6 + 4.6 = 9.2 → 92.0 (tie);
    # u3: 4.45 + 0 → 4.5 → 45.0
    csv.write_text(
        "unit,name,a,b\nu1,东村,4.6,4.564\nu2,西村,4.6,4.55\nu3,南村,4.45,0\n", encoding="utf-8"
    )
    return rb, csv


def test_cli_csv(files: tuple[Path, Path]) -> None:
    p = cli("score", *files, "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "rank,group_rank,unit,name,group,role,total,grade,vetoed,c,c.x,c.y,flags",
        "1,1,u1,东村,,self,92.0,,false,9.2,4.6,4.6,",
        "1,1,u2,西村,,self,92.0,,false,9.2,4.6,4.6,",
        "3,3,u3,南村,,self,45.0,,false,4.5,4.5,0.0,",
    ]


def test_cli_json(files: tuple[Path, Path]) -> None:
    p = cli("score", *files, "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["rulebook"]["precision"] == "0.1"
    u1 = doc["units"][0]
    assert (u1["unit"], u1["total"], u1["rank"]) == ("u1", "92.0", 1)
    assert [(c["score"], c["max"]) for c in u1["categories"]] == [("9.2", "10.0")]
    assert [(i["points"], i["max"], i["reason"]) for i in u1["items"]] == [
        ("4.6", "5.0", "按公式 a 计算：a 4.6，得4.6分"),
        ("4.6", "5.0", "按公式 b 计算：b 4.56，得4.6分"),
    ]
    assert [u["rank"] for u in doc["units"]] == [1, 1, 3]


def test_cli_table_and_rank(files: tuple[Path, Path]) -> None:
    p = cli("score", *files)
    assert p.returncode == 0, p.stderr
    # 名次 片区名次 单位 名称 业务 总分 (no group, no grade, no remark)
    rows = [line.split() for line in p.stdout.splitlines()[3:]]
    assert rows == [
        ["1", "1", "u1", "东村", "9.2", "92.0"],
        ["1", "1", "u2", "西村", "9.2", "92.0"],
        ["3", "3", "u3", "南村", "4.5", "45.0"],
    ]
    p = cli("rank", *files)
    assert p.returncode == 0, p.stderr
    rows = [line.split() for line in p.stdout.splitlines()[2:]]
    assert [(r[0], r[2], r[-1]) for r in rows] == [
        ("1", "u1", "92.0"),
        ("1", "u2", "92.0"),
        ("3", "u3", "45.0"),
    ]


def test_cli_xlsx(files: tuple[Path, Path], tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out.xlsx"
    p = cli("score", *files, "--format", "xlsx", "--output", out)
    assert p.returncode == 0, p.stderr
    ws = openpyxl.load_workbook(out)["排名"]
    header = [c.value for c in ws[1]]
    total = ws.cell(row=2, column=header.index("总分") + 1)
    assert total.value == 92
    assert total.number_format == "0.0"


def test_cli_explain_and_sheets(files: tuple[Path, Path], tmp_path: Path) -> None:
    p = cli("explain", *files, "--unit", "u3")
    assert p.returncode == 0, p.stderr
    assert "总分 45.0" in p.stdout
    assert "按公式 a 计算：a 4.45，得4.5分" in p.stdout
    html = tmp_path / "rank.html"
    p = cli("rank", *files, "--format", "html", "--output", html)
    assert p.returncode == 0, p.stderr
    assert "四舍五入到0.1" in html.read_text(encoding="utf-8")


def test_audit_stores_rounded_values_and_replays(files: tuple[Path, Path], tmp_path: Path) -> None:
    store = tmp_path / "audit.db"
    assert cli("score", *files, "--audit", store).returncode == 0
    shown = cli("audit", "show", store, "1", "--unit", "u1", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert '"92.0"' in shown.stdout and '"92.00"' not in shown.stdout
    assert cli("audit", "verify", store).returncode == 0
    replay = cli("audit", "replay", store)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "重算：0处差异" in replay.stdout


def test_record_sheet_shares_add_up_at_the_precision(engine: str) -> None:
    from fulian_eval.report.sheets import shares

    two_cats = """
    scale = 100
    [fields]
    a = {type = "number"}
    b = {type = "number"}
    [[categories]]
    id = "p"
    title = "甲类"
    max = 3
      [[categories.items]]
      id = "x"
      title = "甲"
      kind = "expr"
      points = "a"
      max = 3
    [[categories]]
    id = "q"
    title = "乙类"
    max = 3
      [[categories.items]]
      id = "y"
      title = "乙"
      kind = "expr"
      points = "b"
      max = 3
    """
    rb = book("0.1", two_cats)
    u = run(rb, {"a": "1.1", "b": "1.1"})
    # each 100 × 1.1/6 = 18.333… → 18.3; the total 36.666… → 36.7, so one share carries
    # the 0.1 of 尾差: 18.4 + 18.3 = 36.7 (the first, as both were rounded alike)
    got = shares(rb, u)
    assert [s.shown for s in got] == [1840, 1830]
    assert [s.adjusted for s in got] == [True, False]
    assert u.summary().total == "36.7"


def test_xlsx_record_sheet_keeps_a_finer_max(tmp_path: Path) -> None:
    import openpyxl

    rb = tmp_path / "rb.toml"
    body = TWO.replace("max = 5\n", "max = 2.5\n", 1).replace("max = 10", "max = 7.5")
    rb.write_text('id = "prec"\nversion = "1"\nprecision = 1\n' + body, encoding="utf-8")
    csv = tmp_path / "units.csv"
    csv.write_text("unit,a,b\nu1,2.5,1.4\n", encoding="utf-8")
    out = tmp_path / "u1.xlsx"
    p = cli("explain", rb, csv, "--unit", "u1", "--format", "xlsx", "--output", out)
    assert p.returncode == 0, p.stderr
    ws = openpyxl.load_workbook(out)["审核记录表"]
    header = [c.value for c in ws[1]]
    mx = ws.cell(row=2, column=header.index("分值") + 1)
    got = ws.cell(row=2, column=header.index("得分") + 1)
    # full marks 2.5 round to 3 at precision 1; the max is shown as written (General), not as 3
    assert (mx.value, mx.number_format) == (2.5, "General")
    assert (got.value, got.number_format) == (3, "0")
    assert ws.cell(row=3, column=header.index("得分") + 1).value == 1  # 1.4 → 1


SENS = """
scale = 100
[fields]
x = {type = "count"}
y = {type = "count"}
z = {type = "count"}
[[categories]]
id = "a"
title = "甲"
max = 10
  [[categories.items]]
  id = "x"
  max = 10
  kind = "count"
  field = "x"
  each = 0.5
[[categories]]
id = "b"
title = "乙"
max = 10
  [[categories.items]]
  id = "y"
  max = 10
  kind = "count"
  field = "y"
  each = 0.5
[[categories]]
id = "c"
title = "丙"
max = 10
  [[categories.items]]
  id = "z"
  max = 10
  kind = "count"
  field = "z"
  each = 0.5
"""


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20)),
        min_size=2,
        max_size=5,
    ),
    st.sampled_from(["0.1", "1"]),
)
def test_sensitivity_ranks_at_the_precision(
    values: list[tuple[int, int, int]], precision: str
) -> None:
    """Best and worst places over ±10 % weights, at a coarser precision: each is attained by
    its witness weighting, and no weighting on a grid ranks a unit outside them."""
    import itertools

    from fulian_eval import sensitivity
    from fulian_eval.analysis.sensitivity import reranked

    rb = book(precision, SENS)
    rs = [
        score(
            rb,
            parse_evidence(
                rb, {"unit": {"id": f"u{n}"}, "values": dict(zip("xyz", v, strict=True))}
            ),
        )
        for n, v in enumerate(values)
    ]
    pct = F(1, 10)
    sens = sensitivity(rb, rs, pct)
    assert sens.exhaustive
    for key in sens.best:
        assert reranked(rb, rs, sens.best_at[key])[key] == sens.best[key]
        assert reranked(rb, rs, sens.worst_at[key])[key] == sens.worst[key]
    steps = [1 - pct + 2 * pct * F(i, 4) for i in range(5)]
    for f in itertools.product(steps, repeat=3):
        for key, place in reranked(rb, rs, f).items():
            assert sens.best[key] <= place <= sens.worst[key], (key, f, place)


def test_cli_crosscheck_prints_at_the_precision(tmp_path: Path) -> None:
    import re

    root = Path(__file__).resolve().parent.parent
    child = tmp_path / "tv.toml"
    base = (root / "rules" / "town-village-2026.toml").as_posix()
    child.write_text(f'extends = "{base}"\nid = "tv"\nprecision = 0.1\n', encoding="utf-8")
    p = cli("crosscheck", child, root / "examples" / "crosscheck", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    one_decimal = re.compile(r"-?\d+\.\d\Z")
    assert doc["units"]
    for u in doc["units"]:
        assert one_decimal.match(u["total"]), u
        assert all(one_decimal.match(t) for t in u["roles"].values()), u
        if u["self_inflation"] is not None:  # the difference of two totals at 0.1
            assert one_decimal.match(u["self_inflation"]), u
    for d in doc["discrepancies"]:
        assert all(one_decimal.match(x) for x in d["points"].values()), d
    ranks = [u["rank"] for u in doc["units"]]
    assert ranks == sorted(ranks)


# ------------------------------------------------------------------ groups (SPEC §10.3)

# A direct item z (max 7) and a group g (max 3) of x (max 2) and y (max 1); y applies only
# when n > 0, so with n = 0 the group rescales inside itself: x × 3 / 2. Category max 10.
GROUPED = """
scale = 100
[fields]
a = {type = "number"}
c = {type = "number"}
n = {type = "count"}

[[categories]]
id = "c"
title = "业务"
max = 10
  [[categories.items]]
  id = "z"
  title = "丙项"
  kind = "expr"
  points = "c"
  max = 7
  [[categories.groups]]
  id = "g"
  title = "甲组"
  max = 3
    [[categories.groups.items]]
    id = "x"
    title = "甲项"
    kind = "expr"
    points = "a"
    max = 2
    [[categories.groups.items]]
    id = "y"
    title = "乙项"
    kind = "expr"
    points = "n"
    max = 1
    applies_when = "n > 0"
"""


@pytest.mark.parametrize(
    ("precision", "sub", "cat", "total"),
    [
        # x = 1.3; group 1.3 × 3/2 = 1.95 → 2.0; z = 4.04 → 4.0; category 2.0 + 4.0 = 6.0;
        # total 100 × 6.0 / 10 = 60.0 (unrounded, the group would give 5.95 → 59.5)
        ("0.1", F(2), "6.0", "60.0"),
        # x = 1.3 → 1; group 1 × 3/2 = 1.5 → 2; z = 4.04 → 4; category 6; total 60
        # (unrounded, 1.5 + 4 = 5.5 → 55)
        ("1", F(2), "6", "60"),
        # the default 0.01: group 1.95, z 4.04, category 5.99, total 59.90
        (None, F(39, 20), "5.99", "59.90"),
    ],
)
def test_group_subtotals_round_to_the_precision(
    precision: str | None, sub: Fraction, cat: str, total: str, engine: str
) -> None:
    rb = book(precision, GROUPED)
    r = run(rb, {"a": "1.3", "c": "4.04", "n": 0})
    [g] = r.category("c").groups
    assert g.score == sub
    assert r.summary().categories[0][1] == cat
    assert r.summary().total == total


def test_group_subtotals_print_at_the_precision() -> None:
    from fulian_eval.report.render import explain_report, score_json

    rb = book("0.1", GROUPED)
    ev = parse_evidence(rb, {"unit": {"id": "u1"}, "values": {"a": "1.3", "c": "4.04", "n": 0}})
    ranked = rank(rb, [score(rb, ev)])
    [g] = score_json(rb, ranked, [])["units"][0]["categories"][0]["groups"]
    # the subtotal 1.95 at 0.1 is 2.0; the cap 3 prints with one decimal
    assert (g["score"], g["max"], g["applicable"]) == ("2.0", "3.0", True)
    text = explain_report(rb, ranked[0], "table")
    [row] = [line for line in text.splitlines() if "小计：甲组" in line]
    assert "2.0" in row and "1.95" not in row
    # x's 1.3 rescaled over the applicable maxes: 1.3 × 3 / 2 = 1.95 → 2 at 0.1
    assert "各项合计1.3分，按适用项折算为2分" in row


def test_score_table_keeps_scale_2_at_a_coarser_precision() -> None:
    pa = pytest.importorskip("pyarrow")
    import fulian_eval as fe

    rb = book("0.1", "scale = 100\n" + TWO)
    # u1: 4.6 + 4.564 → 4.6 + 4.6 = 9.2 → 92.0; u2: 4.55 → 4.6 (half up), also 92.0: a tie
    table = pa.table({"unit": ["u1", "u2"], "a": ["4.6", "4.6"], "b": ["4.564", "4.55"]})
    out = fe.score_table(rb, table)
    assert str(out.schema.field("total").type) == "decimal128(12, 2)"
    assert [str(v) for v in out.column("total").to_pylist()] == ["92.00", "92.00"]
    assert [str(v) for v in out.column("c.y").to_pylist()] == ["4.60", "4.60"]
    assert out.column("rank").to_pylist() == [1, 1]
    assert out.schema.metadata[b"precision"] == b"0.1"
