"""``[roles]`` and ``[[awards]]`` (SPEC §10.5, §10.10): declared roles by id or title, awards down each ranking.

Every award cut below is worked out by hand in the comment beside it. The per-unit
path (``rank``) and the streamed path (``rank_table`` + the CSV writers) must give
the same awards, byte for byte in the CSV.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import fulian_eval as fe
from fulian_eval import RulebookError
from fulian_eval.analysis.crosscheck import config_of, crosscheck, crosscheck_json
from fulian_eval.analysis.rank import rank
from fulian_eval.io.evidence import load_evidence, parse_evidence
from fulian_eval.io.load import parse_rulebook
from fulian_eval.model.roles import DEFAULT_ROLES, Award
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.scoring.exact import score
from test_stream import assert_same

ROOT = Path(__file__).resolve().parent.parent

ROLES = """
[roles]
self = "自评"
district = "区评"
city = "市抽查"
"""

BODY = """
[fields.fake]
type = "bool"
title = "弄虚作假"

[[categories]]
id = "work"
title = "工作"
max = 100

  [[categories.items]]
  id = "score"
  title = "评分"
  max = 100
  kind = "manual"
  step = 0.5

  [[categories.items]]
  id = "fraud"
  title = "弄虚作假的一票否决"
  kind = "veto"
  when = "fake"
  effect = "fail"
"""

AWARDS_123 = """
[[awards]]
name = "一等奖"
count = 1

[[awards]]
name = "二等奖"
count = 2

[[awards]]
name = "三等奖"
share = 0.25
"""


def book(*parts: str) -> Rulebook:
    """A rulebook of ``parts``; with the declared roles unless it has ``[roles]`` or ``[rols]``."""
    text = "".join(parts)
    roles = "" if "[rol" in text or "NOROLES" in text else ROLES
    return parse_rulebook(
        'schema = "fulian-eval/rulebook/1"\nid = "aw"\nversion = "1"\ntitle = "评比"\n'
        + roles
        + text.replace("#NOROLES\n", "")
    )


# unit, group, points, vetoed — eight district assessments
UNITS = [
    ("a", "东片", 95, False),
    ("b", "东片", 90, False),
    ("c", "西片", 90, False),
    ("d", "西片", 85, False),
    ("e", "东片", 99, True),
    ("f", "西片", 80, False),
    ("g", "东片", 80, False),
    ("h", "西片", 70, False),
]


def ranked(
    rb: Rulebook, units: list[tuple[str, str, float, bool]] = UNITS, role: str = "district"
) -> list[Any]:
    evs = [
        parse_evidence(
            rb,
            {
                "unit": {"id": u, "name": u + "村", "group": g},
                "assessment": {"role": role},
                "values": {"fake": v},
                "points": {"work.score": p},
            },
        )
        for u, g, p, v in units
    ]
    return rank(rb, [score(rb, ev) for ev in evs])


def awards_of(rs: list[Any]) -> dict[str, str | None]:
    return {r.result.unit.id: r.award for r in rs}


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def cli(*args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


# ------------------------------------------------------------------ cuts


def test_awards_go_down_the_ranking_ties_at_the_cut_share_all_get_it() -> None:
    rb = book(AWARDS_123, BODY)
    got = awards_of(ranked(rb))
    # Ranking: a 95 | b 90, c 90 (tied, 2nd) | d 85 | f 80, g 80 (tied, 5th) | h 70 | e vetoed (99, last).
    # 一等奖 1: a. 二等奖 2: b, c. 三等奖 share 0.25 × 8 units = 2: d and f, and g tied with f at the cut.
    assert got == {
        "a": "一等奖",
        "b": "二等奖",
        "c": "二等奖",
        "d": "三等奖",
        "f": "三等奖",
        "g": "三等奖",
        "h": None,
        "e": None,
    }


def test_a_tie_at_the_cut_pushes_the_next_award_down() -> None:
    rb = book(AWARDS_123, BODY)
    # a 95, b 95 tied for 1st: both 一等奖 (count 1). 二等奖 starts after them: c 90, d 90 tied, then stop
    # (count 2 exactly). 三等奖 0.25 × 6 = 1.5 → 2 (half up): e 80 then f 80, g 80 tied at the cut → e, f, g? No:
    # e, f, g are all tied at 80, so the cut at the 2nd of them takes all three.
    units = [
        ("a", "东", 95, False),
        ("b", "东", 95, False),
        ("c", "东", 90, False),
        ("d", "西", 90, False),
        ("e", "西", 80, False),
        ("f", "西", 80, False),
    ]
    got = awards_of(ranked(rb, units, "self"))
    assert got == {
        "a": "一等奖",
        "b": "一等奖",
        "c": "二等奖",
        "d": "二等奖",
        "e": "三等奖",
        "f": "三等奖",
    }


@pytest.mark.parametrize(
    ("share", "units", "n"),
    [
        (Fraction(1, 4), 10, 3),  # 2.5 → 3: half rounds up
        (Fraction(15, 100), 10, 2),  # 1.5 → 2
        (Fraction(1, 10), 4, 0),  # 0.4 → 0: nobody
        (Fraction(1, 5), 12, 2),  # 2.4 → 2
        (Fraction(1), 3, 3),
    ],
)
def test_share_rounds_half_up(share: Fraction, units: int, n: int) -> None:
    assert Award(name="x", share=share).size(units) == n


def test_share_counts_vetoed_units_but_never_awards_them() -> None:
    rb = book('[[awards]]\nname = "优秀"\nshare = 0.5\n', BODY)
    # 4 units, 0.5 × 4 = 2; the vetoed one (99) is last, so the two best unvetoed ones get it.
    units = [
        ("a", "东", 99, True),
        ("b", "东", 90, False),
        ("c", "东", 80, False),
        ("d", "东", 70, False),
    ]
    assert awards_of(ranked(rb, units, "self")) == {"b": "优秀", "c": "优秀", "a": None, "d": None}


def test_min_total_is_at_least_and_the_next_award_starts_where_it_stopped() -> None:
    rb = book(
        """
[[awards]]
name = "特等奖"
count = 1
min_total = 96

[[awards]]
name = "一等奖"
count = 2
min_total = 90

[[awards]]
name = "鼓励奖"
count = 5
""",
        BODY,
    )
    # Nobody reaches 96: no 特等奖. 一等奖 from the top: a 95, then b 90 and c 90 tied at the cut, and
    # 90 ≥ 90 holds (at least): a, b, c. 鼓励奖 5 after them: d, f, g, h (e is vetoed).
    got = awards_of(ranked(rb))
    assert got == {
        "a": "一等奖",
        "b": "一等奖",
        "c": "一等奖",
        "d": "鼓励奖",
        "f": "鼓励奖",
        "g": "鼓励奖",
        "h": "鼓励奖",
        "e": None,
    }


def test_min_total_stops_an_award_short() -> None:
    rb = book(
        '[[awards]]\nname = "一等奖"\ncount = 3\nmin_total = 88.5\n'
        '[[awards]]\nname = "二等奖"\ncount = 1\n',
        BODY,
    )
    # 一等奖 would take 3 (a, b, c) and all have ≥ 88.5; then 二等奖 1: d 85.
    assert awards_of(ranked(rb))["d"] == "二等奖"
    rb = book(
        '[[awards]]\nname = "一等奖"\ncount = 3\nmin_total = 92\n'
        '[[awards]]\nname = "二等奖"\ncount = 1\n',
        BODY,
    )
    # Only a (95) reaches 92; 二等奖 then takes b and c (tied at 90).
    got = awards_of(ranked(rb))
    assert [u for u, a in got.items() if a == "一等奖"] == ["a"]
    assert sorted(u for u, a in got.items() if a == "二等奖") == ["b", "c"]


def test_per_group_gives_the_award_within_each_group() -> None:
    rb = book(
        '[[awards]]\nname = "片区第一"\ncount = 1\nper_group = true\n'
        '[[awards]]\nname = "片区第二"\ncount = 1\nper_group = true\n',
        BODY,
    )
    # 东片: e vetoed, a 95, b 90, g 80 → a first, b second. 西片: c 90, d 85, f 80, h 70 → c, d.
    got = awards_of(ranked(rb))
    assert got == {
        "a": "片区第一",
        "c": "片区第一",
        "b": "片区第二",
        "d": "片区第二",
        "e": None,
        "f": None,
        "g": None,
        "h": None,
    }


def test_awards_are_per_role_ranking() -> None:
    rb = book('[[awards]]\nname = "一等奖"\ncount = 1\n', BODY)
    rs = ranked(rb) + ranked(rb, [("a", "东片", 60, False), ("b", "东片", 70, False)], "city")
    both = rank(rb, [r.result for r in rs])
    got = {(r.result.unit.id, r.result.role): r.award for r in both if r.award}
    # Each role's own ranking gets its own 一等奖: district's a (95), city's b (70).
    assert got == {("a", "district"): "一等奖", ("b", "city"): "一等奖"}
    # Roles ranked most authoritative first: city before district.
    assert [r.result.role for r in both][:2] == ["city", "city"]


# ------------------------------------------------------------------ both paths, the CLI


def _table(tmp_path: Path) -> Path:
    rows = [["unit", "name", "group", "role", "fake", "points:work.score"]]
    for u, g, p, v in UNITS:
        rows.append([u, u + "村", g, "区评", "是" if v else "否", str(p)])  # the role by its title
    rows += [
        ["a", "a村", "东片", "", "否", "100"],
        ["b", "b村", "东片", "self", "否", "92"],
        ["c", "c村", "西片", "市抽查", "否", "88"],
        ["d", "d村", "西片", "city", "否", "88"],
    ]
    return write_csv(tmp_path / "评比.csv", rows)


@pytest.mark.parametrize("chunk", [3, 16384])
def test_streamed_and_per_unit_csv_are_identical(tmp_path: Path, chunk: int) -> None:
    rb = book(AWARDS_123, BODY)
    res = assert_same(rb, [_table(tmp_path)], chunk=chunk)
    assert set(res.table.role) == {"self", "district", "city"}  # titles and blanks read as ids
    rb2 = book(
        '[[awards]]\nname = "片区优秀"\nshare = 0.5\nper_group = true\nmin_total = 80\n', BODY
    )
    assert_same(rb2, [_table(tmp_path)], chunk=chunk)


def test_rank_csv_and_json_give_awards_role_ids_and_titles(tmp_path: Path) -> None:
    rbf = tmp_path / "rb.toml"
    rbf.write_text(
        'schema = "fulian-eval/rulebook/1"\nid = "aw"\nversion = "1"\ntitle = "评比"\n'
        + ROLES
        + AWARDS_123
        + BODY,
        encoding="utf-8",
    )
    table = _table(tmp_path)
    out = cli("rank", rbf, table, "--format", "csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "rank,group_rank,unit,name,group,role,total,grade,vetoed,award"
    # city: c 88, d 88 tied → both 一等奖 (count 1, tie at the cut); 二等奖 then has nobody left.
    assert lines[1:3] == [
        "1,1,c,c村,西片,city,88.00,,false,一等奖",
        "1,1,d,d村,西片,city,88.00,,false,一等奖",
    ]
    assert "8,4,e,e村,东片,district,99.00,,true," in lines
    doc = json.loads(cli("score", rbf, table, "--format", "json").stdout)
    by = {(u["unit"], u["role"]): u for u in doc["units"]}
    assert (
        by[("a", "district")]["role_title"] == "区评" and by[("a", "district")]["award"] == "一等奖"
    )
    assert by[("a", "self")]["role_title"] == "自评"  # a blank role is the first declared one
    assert by[("e", "district")]["award"] is None
    rank_json = cli("rank", rbf, table, "--format", "json").stdout
    # The table's rank JSON is written from the columns: the per-unit path's very bytes.
    assert rank_json == fe.score_run(rbf, [table], full=True).report("rank", "json")
    rj = json.loads(rank_json)
    assert {
        (x["unit"], x["role_title"], x["award"]) for x in rj["ranking"] if x["role"] == "city"
    } == {("c", "市抽查", "一等奖"), ("d", "市抽查", "一等奖")}
    text = cli("rank", rbf, table).stdout
    assert "奖项" in text and "市抽查" in text and "区评" in text and "district" not in text
    html = cli("rank", rbf, table, "--format", "html").stdout
    assert "<h2>市抽查</h2>" in html and "奖项" in html and "一等奖" in html


def test_workbook_ranking_sheet_has_awards(tmp_path: Path) -> None:
    import openpyxl

    rbf = tmp_path / "rb.toml"
    rbf.write_text(
        'schema = "fulian-eval/rulebook/1"\nid = "aw"\nversion = "1"\ntitle = "评比"\n'
        + ROLES
        + AWARDS_123
        + BODY,
        encoding="utf-8",
    )
    out = tmp_path / "排名.xlsx"
    done = cli("rank", rbf, _table(tmp_path), "-o", out)
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(out)["排名"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = rows[0]
    k, role = head.index("奖项"), head.index("角色")
    got = {(r[2], r[role]): r[k] for r in rows[1:]}
    assert (
        got[("a", "区评")] == "一等奖"
        and got[("c", "市抽查")] == "一等奖"
        and got[("e", "区评")] is None
    )


def test_roles_on_the_command_line_by_id_or_title(tmp_path: Path) -> None:
    rbf = tmp_path / "rb.toml"
    rbf.write_text(
        'schema = "fulian-eval/rulebook/1"\nid = "aw"\nversion = "1"\ntitle = "评比"\n'
        + ROLES
        + AWARDS_123
        + BODY,
        encoding="utf-8",
    )
    table = _table(tmp_path)
    for role in ("区评", "district"):
        out = cli("sheets", rbf, table, "--role", role, "-o", tmp_path / "s.html")
        assert out.returncode == 0, out.stderr
        doc = (tmp_path / "s.html").read_text(encoding="utf-8")
        assert "审核记录表（区评）" in doc and "审核记录表（自评）" not in doc
        assert "奖项：一等奖" in doc
    bad = cli("sheets", rbf, table, "--role", "区平", "-o", tmp_path / "s.html")
    assert bad.returncode == 2 and "区评" in bad.stderr and "district（区评）" in bad.stderr
    form = cli("template", rbf, "--role", "市抽查", "-o", tmp_path / "表.xlsx")
    assert form.returncode == 0, form.stderr
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "表.xlsx")
    assert any(
        "评审角色：市抽查" in str(c.value) for row in wb.worksheets[-1].iter_rows() for c in row
    ) or any(
        "评审角色：市抽查" in str(c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
    )
    nope = cli("template", rbf, "--role", "town", "-o", tmp_path / "表2.xlsx")
    assert (
        nope.returncode == 2 and "市抽查" in nope.stderr
    )  # the default roles are not this rulebook's
    ex = cli("explain", rbf, table, "--unit", "a", "--role", "市抽查")
    assert ex.returncode == 2 and "city" in ex.stderr  # a has no city assessment; says which it has
    ex = cli("explain", rbf, table, "--unit", "a", "--role", "区评")
    assert ex.returncode == 0 and "角色 区评" in ex.stdout and "奖项 一等奖" in ex.stdout


def test_undeclared_role_in_evidence_is_rejected_with_did_you_mean(tmp_path: Path) -> None:
    rb = book(BODY)
    table = write_csv(
        tmp_path / "x.csv",
        [
            ["unit", "role", "fake", "points:work.score"],
            ["a", "区平", "否", "90"],
            ["b", "town", "否", "90"],
            ["c", "市抽查", "否", "1"],
        ],
    )
    es = load_evidence(rb, [table])
    errors = " ".join(r.error for r in es.rejected)
    assert len(es.rejected) == 2 and "'区平' 不是评审角色" in errors and "区评" in errors
    assert [ev.role for ev in es.evidence] == ["city"]


# ------------------------------------------------------------------ cross-checks


def test_default_precedence_is_the_reverse_of_the_declared_roles() -> None:
    rb = book(BODY)
    assert config_of(rb).precedence == ("city", "district", "self")
    assert (
        config_of(book("#NOROLES\n", BODY)).precedence
        == DEFAULT_ROLES.precedence
        == ("town", "field", "peer", "self")
    )
    evs = [
        parse_evidence(
            rb,
            {
                "unit": {"id": "a"},
                "assessment": {"role": r},
                "values": {"fake": False},
                "points": {"work.score": p},
            },
        )
        for r, p in (("自评", 90), ("district", 80))
    ]
    cc = crosscheck(rb, [score(rb, ev) for ev in evs])
    assert cc.ranked[0].result.final_role == "district"
    assert (
        crosscheck_json(cc)["units"][0]["award"] is None
    )  # the final ranking has awards too (none here)
    rb = book('[[awards]]\nname = "先进"\ncount = 1\n', BODY)
    cc = crosscheck(rb, [score(rb, ev) for ev in evs])
    assert crosscheck_json(cc)["units"][0]["award"] == "先进"
    rb = book('[crosscheck]\nprecedence = ["自评", "区评"]\n', BODY)  # titles allowed here too
    assert config_of(rb).precedence == ("self", "district")


# ------------------------------------------------------------------ rulebook errors


@pytest.mark.parametrize(
    ("toml", "where", "says"),
    [
        ('[[awards]]\nname = "一等奖"\ncout = 1\n', "awards[0].cout", "did you mean 'count'"),
        (
            '[[awards]]\nname = "一等奖"\ncount = 1\nshare = 0.1\n',
            "awards[0]",
            "exactly one of 'count'",
        ),
        ('[[awards]]\nname = "一等奖"\n', "awards[0]", "exactly one of 'count'"),
        ('[[awards]]\nname = "一等奖"\nshare = 1.5\n', "awards[0].share", "at most 1"),
        ('[[awards]]\nname = "一等奖"\ncount = 0\n', "awards[0].count", "at least 1"),
        ('[[awards]]\nname = "一等奖"\ncount = 1.5\n', "awards[0].count", "whole number"),
        (
            '[[awards]]\nname = "一等奖"\ncount = 1\n[[awards]]\nname = "一等奖"\ncount = 2\n',
            "awards[1].name",
            "listed twice",
        ),
        (
            '[[awards]]\nname = "一等奖"\ncount = 1\nper_group = "yes"\n',
            "awards[0].per_group",
            "true or false",
        ),
        ("[[awards]]\ncount = 1\n", "awards[0]", "'name' is required"),
        ('[[award]]\nname = "一等奖"\ncount = 1\n', "award", "did you mean 'awards'"),
        (
            '[roles]\nself = "自评"\ndistrict = "自评"\n',
            "roles.district",
            "already used by role 'self'",
        ),
        ('[roles]\nself = "自评"\n"区评" = "区评"\n', 'roles."区评"', "not a valid role id"),
        ("[roles]\nself = 1\n", "roles.self", "expected the role's title"),
        ("[roles]\n", "roles", "is empty"),
        ('[rols]\nself = "自评"\n', "rols", "did you mean 'roles'"),
        (
            '[roles]\nself = "自评"\n[crosscheck]\nprecedence = ["town"]\n',
            "crosscheck.precedence",
            "self",
        ),
    ],
)
@pytest.mark.usefixtures("english")
def test_rulebook_errors_name_the_place_and_line(toml: str, where: str, says: str) -> None:
    with pytest.raises(RulebookError) as exc:
        rb = book(toml, BODY)
        config_of(rb)  # [crosscheck] is read when a cross-check is run
    problems = exc.value.problems
    assert any(p.path == where and says in p.message for p in problems), [
        (p.path, p.message) for p in problems
    ]
    if where not in (
        "crosscheck.precedence",
        "award",
    ):  # an unknown [[array]] has no line (the locator's limit)
        assert all(p.line for p in problems if p.path == where)
