"""Questionnaires (SPEC §10.9): ``[surveys.ID]`` in the rulebook, ``--survey`` tables.

Every number here is worked by hand from the tables below:

- u1 (by id): 满意, 基本满意, 不满意 → share 2/3 = 66.67 % → 10 × 2/3 = 6.67;
  总体评价 好 (5), 中 (3) → mean 4 → 10 × 4/5 = 8; meetings 2 of 4 → 5. Total 19.67.
- u2 (by its name 二村): 满意 ×3, 不满意 → 75 % → 7.5; 好, 好, 差 → 11/3 → 22/3 = 7.33;
  meetings 4 → 10. Total 24.83.
- u3: one valid answer (满意; a blank, and 很满意 which is no answer): fewer than
  min_responses = 3, so satisfaction is missing (worst: 0) and the unit is flagged. Total 10.
- u4 gives satisfaction 80 itself; its survey says 100 %: 80 is kept (8.00) and the
  difference is flagged. Total 18.
- u5 gives 100, and its survey says 100: kept, no flag. Total 20.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import fulian_eval as fe
from conftest import columnar_rows, exact_row
from fulian_eval import audit, load_evidence, load_rulebook, rank, score
from fulian_eval.analysis.rank import rank_table
from fulian_eval.audit.store import GENESIS
from fulian_eval.errors import RulebookError
from fulian_eval.io.surveys import SurveyError, load_surveys
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.report.columns import write_rank_csv, write_score_csv
from fulian_eval.report.render import rank_report, score_report
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import score_tables

RULEBOOK = """\
id = "sv"
version = "1"

[fields.satisfaction]
type  = "number"
unit  = "%"
title = "满意度"

[fields.rating]
type  = "number"
title = "总体评价分"

[fields.meetings]
type  = "count"
title = "会议次数"

[surveys.satisfaction]
title     = "群众满意度问卷"
field     = "satisfaction"
question  = "您对本村妇联工作是否满意"
answers   = {"满意" = 100, "基本满意" = 60, "不满意" = 0}
aggregate = "share"
positive  = ["满意", "基本满意"]
min_responses = 3

[surveys.rating]
title     = "总体评价问卷"
field     = "rating"
question  = "总体评价"
answers   = {"好" = 5, "中" = 3, "差" = 1}
aggregate = "mean"

[[categories]]
id    = "work"
title = "工作"
max   = 30

  [[categories.items]]
  id      = "sat"
  title   = "群众满意度"
  max     = 10
  kind    = "linear"
  field   = "satisfaction"
  zero_at = "0 %"
  full_at = "100 %"
  method  = "问卷"

  [[categories.items]]
  id      = "rate"
  title   = "总体评价"
  max     = 10
  kind    = "linear"
  field   = "rating"
  zero_at = 0
  full_at = 5

  [[categories.items]]
  id      = "meet"
  title   = "会议"
  max     = 10
  kind    = "linear"
  field   = "meetings"
  zero_at = 0
  full_at = 4
"""

EVIDENCE = """\
unit,name,group,satisfaction[%],rating,meetings
u1,一村,东,,,2
u2,二村,东,,,4
u3,三村,西,,,4
u4,四村,西,80,,4
u5,五村,西,100,,4
"""

SURVEY_ROWS = [
    ["u1", "满意", "好"],
    ["u1", "基本满意", "中"],
    ["u1", "不满意", ""],
    ["二村", "满意", "好"],
    ["二村", "满意", "好"],
    ["二村", "满意", "差"],
    ["二村", "不满意", ""],
    ["u3", "满意", ""],
    ["u3", "", ""],
    ["u3", "很满意", ""],  # row 11: no answer of the question
    ["u4", "满意", ""],
    ["u4", "满意", ""],
    ["u4", "满意", ""],
    ["u5", "满意", ""],
    ["u5", "满意", ""],
    ["u5", "满意", ""],
    ["", "满意", ""],  # row 18: no unit
    ["zz", "满意", ""],  # a unit in no evidence
]
HEADER = ["unit", "您对本村妇联工作是否满意", "总体评价"]
TOTALS = {"u1": "19.67", "u2": "24.83", "u3": "10.00", "u4": "18.00", "u5": "20.00"}


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    return "".join(",".join(r) + "\n" for r in [header, *rows])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rb = tmp_path / "sv.toml"
    rb.write_text(RULEBOOK, encoding="utf-8")
    ev = tmp_path / "ev.csv"
    ev.write_text(EVIDENCE, encoding="utf-8")
    sv = tmp_path / "survey.csv"
    sv.write_text(_csv(SURVEY_ROWS), encoding="utf-8")
    return {"rulebook": rb, "evidence": ev, "survey": sv, "dir": tmp_path}


@pytest.fixture
def rb(files: dict[str, Path]) -> Rulebook:
    return load_rulebook(files["rulebook"])


def _scored(rb: Rulebook, files: dict[str, Path], survey: Path | None = None) -> dict[str, Any]:
    data, warnings = load_surveys([survey or files["survey"]], rb)
    es = load_evidence(rb, [files["evidence"]], surveys=data)
    return {ev.unit.id: score(rb, ev) for ev in es.evidence} | {
        "_warnings": warnings,
        "_load": list(es.warnings),
        "_es": es,
    }


# ------------------------------------------------------------------ the rulebook


def test_surveys_load_with_their_answers(rb: Rulebook) -> None:
    s, r = rb.surveys
    assert (s.id, s.title, s.field, s.aggregate, s.min_responses) == (
        "satisfaction",
        "群众满意度问卷",
        "satisfaction",
        "share",
        3,
    )
    assert s.answers == (("满意", 100), ("基本满意", 60), ("不满意", 0))
    assert s.positive == frozenset({"满意", "基本满意"})
    assert (r.aggregate, r.min_responses, r.positive) == ("mean", 1, frozenset())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('feild = "x"\n', "unknown key 'feild' in a survey (did you mean 'field'?)"),
        (None, "unknown field 'satisfactoin' (did you mean 'satisfaction'?)"),
    ],
)
@pytest.mark.usefixtures("english")
def test_survey_key_problems_name_the_line(
    tmp_path: Path, change: str | None, message: str
) -> None:
    text = RULEBOOK.replace(
        "min_responses = 3\n", f"min_responses = 3\n{change}" if change else "min_responses = 3\n"
    )
    if change is None:
        text = text.replace('field     = "satisfaction"', 'field     = "satisfactoin"', 1)
    p = tmp_path / "r.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError) as exc:
        load_rulebook(p)
    (problem,) = exc.value.problems
    assert message in problem.message
    assert problem.line is not None and problem.line > 15


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'positive  = ["满意", "基本满意"]',
            'positive  = ["满意", "基本满"]',
            "'基本满' is not one of the answers (did you mean '基本满意'?)",
        ),
        ('positive  = ["满意", "基本满意"]\n', "", 'aggregate = "share" needs positive'),
        (
            'aggregate = "mean"',
            'aggregate = "mean"\npositive = ["好"]',
            'positive is for aggregate = "share"',
        ),
        (
            'aggregate = "share"',
            'aggregate = "shares"',
            "'shares' is not allowed; expected 'mean' or 'share' (did you mean 'share'?)",
        ),
        ('field     = "rating"', 'field     = "meetings"', "field 'meetings' is a count field"),
        ('aggregate = "mean"', 'aggregate = "share"\npositive = ["好"]', "a share is a percentage"),
        (
            'field     = "rating"',
            'field     = "satisfaction"',
            "already filled by survey 'satisfaction'",
        ),
        ('"好" = 5', '"好" = "五"', "expected the answer's value, a number"),
        ("min_responses = 3", "min_responses = 0", "must be at least 1"),
        ('"不满意" = 0}', '"不满意" = 0, " 满意" = 90}', "answer '满意' is listed twice"),
        ('question  = "总体评价"', 'question  = " "', "the question is empty"),
    ],
)
@pytest.mark.usefixtures("english")
def test_invalid_surveys_are_reported(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in RULEBOOK
    p = tmp_path / "r.toml"
    p.write_text(RULEBOOK.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as exc:
        load_rulebook(p)
    assert any(message in pr.message for pr in exc.value.problems), exc.value.problems
    assert all(pr.line is not None for pr in exc.value.problems)


# ------------------------------------------------------------------ the values


def test_share_and_mean_by_hand(rb: Rulebook, files: dict[str, Path]) -> None:
    got = _scored(rb, files)
    es = got["_es"]
    by = {ev.unit.id: ev for ev in es.evidence}
    assert by["u1"].values["satisfaction"] == Fraction(200, 3)  # exact, not 66.67
    assert by["u1"].values["rating"] == 4
    assert by["u2"].values["satisfaction"] == 75  # rows by name
    assert by["u2"].values["rating"] == Fraction(11, 3)
    u1 = got["u1"]
    assert [str(i.points) for i in u1.items] == ["667/100", "8", "5"]
    assert u1.item("work.sat").reason == (
        "问卷3份，满意度66.67%，按0%不得分、100%满分折算，得6.67分"
    )
    assert u1.item("work.rate").reason.startswith("问卷2份，总体评价分4，")
    assert not u1.item("work.meet").reason.startswith("问卷")
    assert u1.item("work.sat").inputs == (("satisfaction", "66.67%（群众满意度问卷，3份）"),)
    assert u1.flags == ()
    u2 = got["u2"]
    assert [str(i.points) for i in u2.items] == ["15/2", "733/100", "10"]
    assert u2.item("work.sat").reason.startswith("问卷4份，满意度75%")
    assert {u: fe.scoring.exact.fmt_points(got[u].total) for u in TOTALS} == TOTALS


def test_too_few_answers_leave_the_field_missing_and_flag_the_unit(
    rb: Rulebook, files: dict[str, Path]
) -> None:
    u3 = _scored(rb, files)["u3"]
    sat = u3.item("work.sat")
    assert (sat.status, sat.points) == ("missing", 0)
    assert sat.reason == "问卷1份，不足3份，无资料（缺满意度），不得分"
    assert u3.flags == (
        "问卷不足: 群众满意度问卷仅1份有效答卷，少于3份，满意度按缺资料计 (too few survey answers)",
    )


def test_on_missing_applies_when_too_few(tmp_path: Path, files: dict[str, Path]) -> None:
    p = tmp_path / "none.toml"
    p.write_text(RULEBOOK.replace('method  = "问卷"', 'method  = "问卷"\n  on_missing = "reject"'))
    rb = load_rulebook(p)
    data, _ = load_surveys([files["survey"]], rb)
    es = load_evidence(rb, [files["evidence"]], surveys=data)
    assert [r.unit for r in es.rejected] == ["u3"]  # u1, u2 are filled by their surveys
    assert "缺满意度" in es.rejected[0].error


def test_own_value_is_kept_and_a_difference_beyond_a_hundredth_flagged(
    rb: Rulebook, files: dict[str, Path]
) -> None:
    got = _scored(rb, files)
    u4, u5 = got["u4"], got["u5"]
    assert u4.item("work.sat").points == 8
    assert not u4.item("work.sat").reason.startswith("问卷")
    assert u4.flags == (
        "问卷不符: 满意度填报80%，群众满意度问卷（3份）为100%，相差超过0.01；按填报值计分 "
        "(differs from the survey)",
    )
    assert u5.flags == ()


def test_a_difference_of_exactly_a_hundredth_is_not_flagged(
    rb: Rulebook, files: dict[str, Path]
) -> None:
    ev = files["dir"] / "ev2.csv"
    ev.write_text("unit,satisfaction[%],meetings\nu1,66.66,1\nu2,66.65,1\n", encoding="utf-8")
    sv = files["dir"] / "s2.csv"  # 2 of 3 positive for both: 66.666…%
    sv.write_text(
        _csv(
            [["u1", "满意", ""], ["u1", "满意", ""], ["u1", "不满意", ""]] * 1
            + [["u2", "满意", ""], ["u2", "满意", ""], ["u2", "不满意", ""]]
        ),
        encoding="utf-8",
    )
    data, _ = load_surveys([sv], rb)
    es = load_evidence(rb, [ev], surveys=data)
    flags = {e.unit.id: e.flags for e in es.evidence}
    assert flags["u1"] == ()  # |66.66 − 66.666…| = 0.00666… ≤ 0.01
    assert len(flags["u2"]) == 1 and "问卷不符" in flags["u2"][0]  # 0.01666… > 0.01


def test_warnings_name_file_row_and_value(rb: Rulebook, files: dict[str, Path]) -> None:
    got = _scored(rb, files)
    shown = str(files["survey"])
    assert got["_warnings"] == [
        f"{shown} 第11行：“很满意”不是“您对本村妇联工作是否满意”的答案（可选：满意、基本满意、不满意），"
        "不计入 (row 11: '很满意' is not an answer)",
        f"{shown} 第18行：没有填单位，整行答卷不计入 (row 18: no unit)",
    ]
    assert got["_load"] == [
        "问卷：群众满意度问卷中的单位“zz”不在任何资料中，其答卷未使用 (survey unit 'zz' is in no evidence)"
    ]


def test_both_engines_agree(rb: Rulebook, files: dict[str, Path]) -> None:
    es = _scored(rb, files)["_es"]
    assert columnar_rows(rb, es.evidence) == [exact_row(score(rb, ev)) for ev in es.evidence]


# ------------------------------------------------------------------ the tables


def test_xlsx_survey_gives_the_same(rb: Rulebook, files: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["单位编码", *HEADER[1:]])
    for r in SURVEY_ROWS:
        ws.append([c or None for c in r])
    p = files["dir"] / "survey.xlsx"
    wb.save(p)
    a, b = _scored(rb, files), _scored(rb, files, p)
    assert {u: exact_row(a[u]) for u in TOTALS} == {u: exact_row(b[u]) for u in TOTALS}
    assert "第11行" in b["_warnings"][0]


def test_parquet_survey_gives_the_same(rb: Rulebook, files: dict[str, Path]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    cols = list(zip(*SURVEY_ROWS, strict=True))
    table = pa.table(
        {h: pa.array([c or None for c in col]) for h, col in zip(HEADER, cols, strict=True)}
    )
    p = files["dir"] / "survey.parquet"
    pq.write_table(table, p)
    a, b = _scored(rb, files), _scored(rb, files, p)
    assert {u: exact_row(a[u]) for u in TOTALS} == {u: exact_row(b[u]) for u in TOTALS}
    assert len(b["_warnings"]) == len(a["_warnings"]) > 0

    # The command line takes it too.
    p1, p2 = (
        cli(
            "score",
            files["rulebook"],
            files["evidence"],
            "--survey",
            sv,
            "-f",
            "csv",
            cwd=files["dir"],
        )
        for sv in (files["survey"], p)
    )
    assert p2.returncode == p1.returncode and p2.stdout == p1.stdout and p1.stdout


def test_xlsx_numbers_are_answers(tmp_path: Path, files: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    p = tmp_path / "n.toml"
    p.write_text(RULEBOOK.replace('"好" = 5, "中" = 3, "差" = 1', '"5" = 5, "3" = 3, "1" = 1'))
    rb = load_rulebook(p)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["unit", "总体评价"])
    ws.append(["u1", 5])
    ws.append(["u1", 3.0])
    x = tmp_path / "n.xlsx"
    wb.save(x)
    data, warnings = load_surveys([x], rb)
    assert warnings == []
    es = load_evidence(rb, [files["evidence"]], surveys=data)
    assert next(e for e in es.evidence if e.unit.id == "u1").values["rating"] == 4


def test_gbk_survey_csv(rb: Rulebook, files: dict[str, Path]) -> None:
    p = files["dir"] / "gbk.csv"
    p.write_bytes(_csv(SURVEY_ROWS, ["单位名称", *HEADER[1:]]).encode("gbk"))
    got = _scored(rb, files, p)
    assert got["u1"].item("work.sat").points == Fraction(667, 100)
    assert got["u2"].item("work.sat").points == Fraction(15, 2)


@pytest.mark.usefixtures("english")
def test_bad_survey_tables_are_errors(rb: Rulebook, files: dict[str, Path]) -> None:
    d = files["dir"]
    (d / "nounit.csv").write_text("村,您对本村妇联工作是否满意\nu1,满意\n", encoding="utf-8")
    (d / "noq.csv").write_text("unit,您对本村妇联工作满意吗\nu1,满意\n", encoding="utf-8")
    with pytest.raises(SurveyError, match="no unit column"):
        load_surveys([d / "nounit.csv"], rb)
    with pytest.raises(SurveyError, match="did you mean '您对本村妇联工作是否满意'"):
        load_surveys([d / "noq.csv"], rb)
    with pytest.raises(SurveyError, match="无法读取问卷表"):
        load_surveys([d / "absent.csv"], rb)


def test_several_survey_files_add_up(rb: Rulebook, files: dict[str, Path]) -> None:
    d = files["dir"]
    (d / "a.csv").write_text(_csv(SURVEY_ROWS[:2]), encoding="utf-8")
    (d / "b.csv").write_text(_csv(SURVEY_ROWS[2:]), encoding="utf-8")
    data, _ = load_surveys([d / "a.csv", d / "b.csv"], rb)
    es = load_evidence(rb, [files["evidence"]], surveys=data)
    u1 = next(e for e in es.evidence if e.unit.id == "u1")
    assert u1.values["satisfaction"] == Fraction(200, 3)


def test_toml_evidence_is_filled_too(rb: Rulebook, files: dict[str, Path]) -> None:
    t = files["dir"] / "u1.toml"
    t.write_text('[unit]\nid = "u1"\nname = "一村"\n[values]\nmeetings = 2\n', encoding="utf-8")
    data, _ = load_surveys([files["survey"]], rb)
    (ev,) = load_evidence(rb, [t], surveys=data).evidence
    assert ev.values["satisfaction"] == Fraction(200, 3)
    assert fe.scoring.exact.fmt_points(score(rb, ev).total) == "19.67"


# ------------------------------------------------------------ streamed == per unit


def test_streamed_path_gives_the_per_unit_bytes(rb: Rulebook, files: dict[str, Path]) -> None:
    data, _ = load_surveys([files["survey"]], rb)
    es = load_evidence(rb, [files["evidence"]], surveys=data)
    ranked = rank(rb, [score(rb, ev).summary() for ev in es.evidence])
    res = score_tables(compile_plan(rb), [files["evidence"]], chunk=2, surveys=data)
    assert res.table.settled == 5  # every row here names a surveyed unit
    ranking = rank_table(res.table)
    for writer, render in ((write_rank_csv, rank_report), (write_score_csv, score_report)):
        buf = io.StringIO()
        writer(res.table, ranking, buf)
        assert buf.getvalue() == render(rb, ranked, es.rejected, "csv")
    assert list(res.warnings) == list(es.warnings)


def test_only_surveyed_rows_leave_the_columns(rb: Rulebook, files: dict[str, Path]) -> None:
    big = files["dir"] / "big.csv"
    rows = [f"v{k},村{k},东,,,{k % 5}" for k in range(300)]
    big.write_text(EVIDENCE + "\n".join(rows) + "\n", encoding="utf-8")
    data, _ = load_surveys([files["survey"]], rb)
    res = score_tables(compile_plan(rb), [big], surveys=data)
    assert len(res.table) == 305
    assert res.table.settled == 5


def test_score_run_both_pipelines_write_the_same(rb: Rulebook, files: dict[str, Path]) -> None:
    fast = fe.score_run(rb, [files["evidence"]], surveys=[files["survey"]])
    full = fe.score_run(rb, [files["evidence"]], surveys=[files["survey"]], full=True)
    assert (fast.pipeline, full.pipeline) == ("columns", "per-unit")
    for kind in ("rank", "score"):
        assert fast.report(kind, "csv") == full.report(kind, "csv")
    assert fast.warnings == full.warnings
    assert "第11行" in fast.warnings[0]
    j = json.loads(full.report("score", "json") or "")
    assert "问卷3份，满意度66.67%" in json.dumps(j, ensure_ascii=False)


# ------------------------------------------------------------------ command line


def cli(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_cli_score_rank_explain(files: dict[str, Path]) -> None:
    d = files["dir"]
    base = ("sv.toml", "ev.csv", "--survey", "survey.csv")
    score_csv = cli("score", *base, "-f", "csv", cwd=d)
    assert score_csv.returncode == 0, score_csv.stderr
    lines = score_csv.stdout.splitlines()
    assert [ln.split(",")[2] for ln in lines[1:]] == ["u2", "u5", "u1", "u4", "u3"]
    assert {ln.split(",")[2]: ln.split(",")[6] for ln in lines[1:]} == TOTALS
    assert "第11行：“很满意”" in score_csv.stderr
    assert "“zz”不在任何资料中" in score_csv.stderr
    ranked = cli("rank", *base, cwd=d)
    assert ranked.returncode == 0 and "24.83" in ranked.stdout
    explained = cli("explain", *base, "--unit", "u1", cwd=d)
    assert explained.returncode == 0, explained.stderr
    assert "问卷3份，满意度66.67%，按0%不得分、100%满分折算，得6.67分" in explained.stdout
    cross = cli("crosscheck", *base, "-f", "csv", cwd=d)
    assert cross.returncode == 0, cross.stderr
    assert "3,u1,一村,东,19.67,self,19.67," in cross.stdout
    sheets = cli("sheets", *base, "-o", "sheets.html", cwd=d)
    assert sheets.returncode == 0, sheets.stderr
    assert "问卷3份，满意度66.67%" in (d / "sheets.html").read_text(encoding="utf-8")
    sens = cli("rank", *base, "--sensitivity", "10%", cwd=d)
    assert sens.returncode == 0 and "24.83" in sens.stdout, sens.stderr
    # Without the survey the fields are missing: a different result.
    bare = cli("score", "sv.toml", "ev.csv", "-f", "csv", cwd=d)
    assert bare.stdout != score_csv.stdout


def test_cli_bad_survey_table_is_a_usage_error(files: dict[str, Path]) -> None:
    d = files["dir"]
    (d / "bad.csv").write_text("who,q\nu1,满意\n", encoding="utf-8")
    got = cli("score", "sv.toml", "ev.csv", "--survey", "bad.csv", cwd=d)
    assert got.returncode == 2
    assert "问卷调查表有误：bad.csv" in got.stderr and "没有单位列" in got.stderr
    assert "Traceback" not in got.stderr
    missing = cli("score", "sv.toml", "ev.csv", "--survey", "nope.csv", cwd=d)
    assert missing.returncode == 2 and "survey table nope.csv" in missing.stderr
    same = cli("score", "sv.toml", "ev.csv", "--survey", "survey.csv", "-o", "survey.csv", cwd=d)
    assert same.returncode == 2 and "问卷调查表 survey.csv" in same.stderr


# ------------------------------------------------------------------ audit


def _rechain(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        prev = GENESIS
        rows = conn.execute("SELECT seq, body FROM records ORDER BY seq").fetchall()
        conn.execute("BEGIN")
        for seq, body in rows:
            h = hashlib.sha256((prev + body).encode()).hexdigest()
            conn.execute("UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, seq))
            prev = h
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_audited_run_with_a_survey_replays(files: dict[str, Path], fmt: str) -> None:
    d = files["dir"]
    store = d / "audit.sqlite"
    run = cli(
        "score", "sv.toml", "ev.csv", "--survey", "survey.csv", "-f", fmt, "--audit", store, cwd=d
    )
    assert run.returncode == 0, run.stderr
    header = json.loads(
        sqlite3.connect(store).execute("SELECT body FROM records WHERE seq = 1").fetchone()[0]
    )
    assert header["surveys"][0]["path"] == "survey.csv"
    assert audit.verify(store).ok
    assert audit.replay(store) == []
    shown = cli("audit", "show", store, "1", "--unit", "u1", cwd=d)
    assert "问卷3份，满意度66.67%" in shown.stdout, shown.stderr
    # The stored survey changed (and the chain forged to match): replay finds the difference.
    (sha,) = [f["sha256"] for f in header["surveys"]]
    conn = sqlite3.connect(store, isolation_level=None)
    content = conn.execute("SELECT content FROM blobs WHERE sha256 = ?", (sha,)).fetchone()[0]
    new_content = content.replace("u1,不满意".encode(), "u1,满意".encode())
    new = hashlib.sha256(new_content).hexdigest()
    conn.execute(
        "UPDATE blobs SET sha256 = ?, content = ? WHERE sha256 = ?", (new, new_content, sha)
    )
    body = conn.execute("SELECT body FROM records WHERE seq = 1").fetchone()[0]
    conn.execute("UPDATE records SET body = ? WHERE seq = 1", (body.replace(sha, new),))
    conn.close()
    _rechain(store)
    assert audit.verify(store).ok
    diffs = audit.replay(store)
    assert ("u1", "total") in {(x.unit, x.what) for x in diffs}
    # A stored survey whose bytes no longer match its hash fails verify.
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("UPDATE blobs SET content = content || x'20' WHERE sha256 = ?", (new,))
    conn.close()
    assert not audit.verify(store).ok


def test_xlsx_evidence_streams_the_same_as_per_unit(rb: Rulebook, files: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for line in EVIDENCE.splitlines():
        ws.append([int(c) if c.isdigit() else (c or None) for c in line.split(",")])
    x = files["dir"] / "ev.xlsx"
    wb.save(x)
    fast = fe.score_run(rb, [x], surveys=[files["survey"]])
    full = fe.score_run(rb, [x], surveys=[files["survey"]], full=True)
    assert (fast.pipeline, full.pipeline) == ("columns", "per-unit")
    assert fast.report("score", "csv") == full.report("score", "csv")
    assert "19.67" in (fast.report("score", "csv") or "")


def test_toml_evidence_summaries_match_full_results(rb: Rulebook, files: dict[str, Path]) -> None:
    folder = files["dir"] / "toml"
    folder.mkdir()
    head, *rows = [line.split(",") for line in EVIDENCE.splitlines()]
    for r in rows:
        values = "".join(
            f"{k.split('[')[0]} = {v}\n" for k, v in zip(head[3:], r[3:], strict=True) if v
        )
        (folder / f"{r[0]}.toml").write_text(
            f'[unit]\nid = "{r[0]}"\nname = "{r[1]}"\ngroup = "{r[2]}"\n[values]\n{values}',
            encoding="utf-8",
        )
    some = fe.score_run(rb, [folder], surveys=[files["survey"]])
    full = fe.score_run(rb, [folder], surveys=[files["survey"]], full=True)
    assert (some.pipeline, full.pipeline) == ("summaries", "per-unit")
    assert some.report("rank", "csv") == full.report("rank", "csv")
    assert some.warnings == full.warnings
    assert {r.result.unit.id: r.result.total for r in some.ranked} == TOTALS


def test_workbook_missing_sheet_knows_the_surveys(rb: Rulebook, files: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    sheets = []
    for full in (False, True):
        run = fe.score_run(rb, [files["evidence"]], surveys=[files["survey"]], full=full)
        out = files["dir"] / f"w{full}.xlsx"
        run.workbook(str(out))
        ws = openpyxl.load_workbook(out)["缺资料"]
        sheets.append([r for r in ws.iter_rows(values_only=True)])
    assert sheets[0] == sheets[1]
    missing = [(r[1], r[4]) for r in sheets[0][1:]]
    assert ("u3", "work.sat") in missing  # too few answers
    assert ("u1", "work.sat") not in missing and ("u2", "work.rate") not in missing
    assert sheets[0][1][8] == "问卷1份，不足3份，无资料（缺满意度），不得分"
