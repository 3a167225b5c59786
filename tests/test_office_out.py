"""Outputs as an office reads them (issue 11 items 5, 6, 8): the format follows ``-o``'s extension,
not applicable is never shown as a zero, crosscheck's all-full-marks with a penalty category,
``audit show`` as a record sheet and ``audit runs`` in local time."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fulian_eval import load_evidence, parse_evidence, parse_rulebook, rank, score
from fulian_eval.analysis.crosscheck import crosscheck
from fulian_eval.report.render import rank_report, score_report

# One category that applies only with floating population, one penalty category.
BOOK = """\
id = "office"
version = "1"
title = "办公室测试细则"
scale = 100
tie_break = ["float"]

[fields.meetings]
type = "count"
[fields.floating]
type = "count"
[fields.services]
type = "count"
[fields.late]
type = "count"

[[categories]]
id = "work"
title = "日常工作"
max = 10
  [[categories.items]]
  id = "meetings"
  title = "每开一次会2分"
  max = 10
  kind = "count"
  field = "meetings"
  each = 2

[[categories]]
id = "float"
title = "流动人口"
max = 10
applies_when = "floating > 0"
  [[categories.items]]
  id = "services"
  title = "每次服务1分"
  max = 10
  kind = "count"
  field = "services"
  each = 1

[[categories]]
id = "penalty"
title = "扣分项"
type = "penalty"
max = 10
  [[categories.items]]
  id = "late"
  title = "每迟报一次扣2分"
  max = 10
  kind = "count"
  field = "late"
  each = 2
"""

# a: no floating population (流动人口 not applicable): 100 × 10/10 = 100.00
# b: 100 × (8 + 5)/20 = 65, minus 2 for one late report = 63.00
TABLE = """\
unit,name,group,meetings,floating,services,late
a,甲村,东片,5,0,0,0
b,乙村,东片,4,10,5,1
"""

SCORE_CSV = """\
rank,group_rank,unit,name,group,role,total,grade,vetoed,work,float,penalty,work.meetings,float.services,penalty.late,flags
1,1,a,甲村,东片,self,100.00,,false,10.00,不适用,0.00,10.00,不适用,0.00,
2,2,b,乙村,东片,self,63.00,,false,8.00,5.00,2.00,8.00,5.00,2.00,
"""

RANK_CSV = """\
rank,group_rank,unit,name,group,role,total,grade,vetoed,float
1,1,a,甲村,东片,self,100.00,,false,不适用
2,2,b,乙村,东片,self,63.00,,false,5.00
"""


def cli(
    *args: Any, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def office(tmp_path: Path) -> Path:
    (tmp_path / "book.toml").write_text(BOOK, encoding="utf-8")
    (tmp_path / "units.csv").write_text(TABLE, encoding="utf-8")
    ev = tmp_path / "ev"
    ev.mkdir()
    for row in csv.DictReader(io.StringIO(TABLE)):
        (ev / f"{row['unit']}.toml").write_text(
            f'[unit]\nid = "{row["unit"]}"\nname = "{row["name"]}"\ngroup = "{row["group"]}"\n\n[values]\n'
            + "".join(f"{k} = {row[k]}\n" for k in ("meetings", "floating", "services", "late")),
            encoding="utf-8",
        )
    return tmp_path


# ------------------------------------------------------- the format follows -o


def test_o_xlsx_without_format_writes_a_workbook(office: Path) -> None:
    from openpyxl import load_workbook

    p = cli("score", "book.toml", "units.csv", "-o", "排名.xlsx", cwd=office)
    assert p.returncode == 0, p.stderr
    assert zipfile.is_zipfile(office / "排名.xlsx")
    wb = load_workbook(office / "排名.xlsx", read_only=True)
    assert wb.sheetnames == ["排名", "各项得分", "被拒收", "提示", "缺资料"]
    rows = [list(r) for r in wb["排名"].iter_rows(values_only=True)]
    wb.close()  # a read-only workbook keeps its file open until closed
    assert rows[0] == [
        "名次",
        "片区名次",
        "单位",
        "名称",
        "片区",
        "角色",
        "总分",
        "等次",
        "一票否决",
        "流动人口",
    ]
    assert rows[1] == [1, 1, "a", "甲村", "东片", "自评", 100.0, None, "否", "不适用"]


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("排名.md", "| 名次"),
        ("排名.markdown", "| 名次"),
        ("排名.html", "<!doctype html>"),
        ("排名.htm", "<!doctype html>"),
        ("排名.csv", "\ufeffrank,group_rank"),
        ("排名.json", '{\n "rulebook"'),
        ("排名.txt", "办公室测试细则（1）"),
        ("排名", "办公室测试细则（1）"),
        ("排名.CSV", "\ufeffrank,group_rank"),
    ],
)
def test_the_extension_decides_the_format(office: Path, name: str, starts: str) -> None:
    p = cli("score", "book.toml", "units.csv", "-o", name, cwd=office)
    assert p.returncode == 0, p.stderr
    assert (office / name).read_text(encoding="utf-8").startswith(starts)


def test_a_format_that_contradicts_the_extension_is_a_usage_error(office: Path) -> None:
    p = cli("score", "book.toml", "units.csv", "--format", "csv", "-o", "排名.xlsx", cwd=office)
    assert p.returncode == 2
    assert p.stderr == (
        "fulian-eval: --format csv 与 -o 排名.xlsx 矛盾：扩展名“.xlsx”表示Excel 工作簿；"
        "请去掉 --format，或把文件命名为 .csv\n"
    )
    assert not (office / "排名.xlsx").exists()
    assert sorted(x.name for x in office.iterdir()) == [
        "book.toml",
        "ev",
        "units.csv",
    ]  # no temporary file left


def test_score_does_not_print_pdf(office: Path) -> None:
    p = cli("score", "book.toml", "units.csv", "-o", "审核记录表.pdf", cwd=office)
    assert p.returncode == 2
    assert p.stderr == (
        "fulian-eval: 无法写 审核记录表.pdf：score 不输出PDF（.pdf）；它输出 .txt, "
        ".json, .csv, .md, .html, .xlsx, .parquet；PDF 由 sheets（审核记录表）和 rank（排名表）打印："
        "fulian-eval sheets RULEBOOK EVIDENCE… -o 审核记录表.pdf\n"
    )
    assert not (office / "审核记录表.pdf").exists()


def test_an_unknown_extension_is_a_usage_error_unless_format_says(office: Path) -> None:
    p = cli("rank", "book.toml", "units.csv", "-o", "排名.xls", cwd=office)
    assert p.returncode == 2
    assert p.stderr == (
        "fulian-eval: 无法从 排名.xls 判断报告格式：“.xls”不是本命令能写的报告扩展名"
        "（.txt, .json, .csv, .md, .markdown, .html, .htm, .xlsx, .parquet, .pdf）；请这样命名文件，或给出 --format\n"
    )
    assert not (office / "排名.xls").exists()
    p = cli("rank", "book.toml", "units.csv", "--format", "csv", "-o", "排名.tsv", cwd=office)
    assert p.returncode == 0, p.stderr
    assert (office / "排名.tsv").read_text(encoding="utf-8-sig") == RANK_CSV


def test_an_extension_the_command_does_not_write_is_a_usage_error(office: Path) -> None:
    p = cli("plan", "units.csv", "--seed", "1", "-o", "plan.html", cwd=office)
    assert p.returncode == 2
    assert p.stderr == (
        "fulian-eval: 无法写 plan.html：plan 不输出HTML（.html）；它输出 .txt, .json, .csv\n"
    )
    assert not (office / "plan.html").exists()
    p = cli(
        "crosscheck", "book.toml", "units.csv", "-o", "互查.html", cwd=office
    )  # crosscheck writes HTML now
    assert p.returncode == 0, p.stderr
    p = cli("plan", "units.csv", "--seed", "1", "-o", "plan.json", cwd=office)
    assert p.returncode == 0, p.stderr
    assert json.loads((office / "plan.json").read_text(encoding="utf-8"))["seed"] == 1


# ------------------------------------------------- not applicable is never a zero


@pytest.mark.parametrize(
    "evidence", ["units.csv", "ev"]
)  # streamed (table) and per-unit (TOML files)
@pytest.mark.parametrize(("command", "want"), [("score", SCORE_CSV), ("rank", RANK_CSV)])
def test_csv_shows_not_applicable_in_both_paths(
    office: Path, evidence: str, command: str, want: str
) -> None:
    p = cli(command, "book.toml", evidence, "-o", "out.csv", cwd=office)
    assert p.returncode == 0, p.stderr
    assert (office / "out.csv").read_text(encoding="utf-8-sig") == want


def test_streamed_and_per_unit_csv_agree_byte_for_byte(office: Path) -> None:
    rb = parse_rulebook(BOOK)
    es = load_evidence(rb, [office / "units.csv"])
    results = rank(rb, [score(rb, ev) for ev in es.evidence])
    for command, report, want in (
        ("score", score_report, SCORE_CSV),
        ("rank", rank_report, RANK_CSV),
    ):
        streamed = cli(command, "book.toml", "units.csv", "--format", "csv", cwd=office)
        assert streamed.returncode == 0, streamed.stderr
        assert streamed.stdout == report(rb, results, es.rejected, "csv") == want


@pytest.mark.parametrize(
    ("fmt", "row"),
    [
        (
            "markdown",
            re.compile(
                r"^\| 1 +\| 1 +\| a +\| 甲村 +\| 东片 +\| 10\.00 +\| 不适用 +\| 0\.00 +\| 100\.00 +\|",
                re.M,
            ),
        ),
        ("table", re.compile(r"^1 +1 +a +甲村 +东片 +10\.00 +不适用 +0\.00 +100\.00", re.M)),
        (
            "html",
            re.compile(
                r'<td class="n">10\.00</td><td>不适用</td><td class="n">0\.00</td><td class="n">100\.00</td>'
            ),
        ),
    ],
)
def test_tables_show_not_applicable(office: Path, fmt: str, row: re.Pattern[str]) -> None:
    for evidence in ("units.csv", "ev"):
        p = cli("score", "book.toml", evidence, "--format", fmt, cwd=office)
        assert p.returncode == 0, p.stderr
        assert row.search(p.stdout), p.stdout
        assert "不适用" in p.stdout


def test_rank_table_shows_not_applicable_tie_break(office: Path) -> None:
    p = cli("rank", "book.toml", "units.csv", cwd=office)
    assert re.search(r"^1 +1 +a +甲村 +东片 +自评 +100\.00 +不适用$", p.stdout, re.M), p.stdout


def test_xlsx_keeps_not_applicable_as_text(office: Path) -> None:
    from openpyxl import load_workbook

    for evidence in ("units.csv", "ev"):
        p = cli("score", "book.toml", evidence, "-o", "s.xlsx", cwd=office)
        assert p.returncode == 0, p.stderr
        wb = load_workbook(office / "s.xlsx", read_only=True)
        rows = [list(r) for r in wb["各项得分"].iter_rows(values_only=True)]
        # each category, then its items: 日常工作, 每开一次会2分, 流动人口, 每次服务1分, 扣分项, 每迟报一次扣2分
        assert rows[0][7:] == [
            "日常工作",
            "每开一次会2分",
            "流动人口",
            "每次服务1分",
            "扣分项",
            "每迟报一次扣2分",
        ]
        assert rows[2][:7] == [1, "a", "甲村", "东片", "自评", 100.0, None]
        assert rows[2][7:] == [10.0, 10.0, "不适用", "不适用", 0.0, 0.0]
        assert rows[3][7:] == [8.0, 8.0, 5.0, 5.0, 2.0, 2.0]
        assert [list(r) for r in wb["排名"].iter_rows(values_only=True)][1][-1] == "不适用"
        wb.close()


def test_json_keeps_spec_points_and_says_applicable_false(office: Path) -> None:
    # SPEC §9 and the acceptance example fix a category's "score" as points ("0.00"): "applicable" tells.
    p = cli("score", "book.toml", "units.csv", "--format", "json", cwd=office)
    a = json.loads(p.stdout)["units"][0]
    assert a["categories"][1] == {
        "id": "float",
        "title": "流动人口",
        "type": "base",
        "score": "0.00",
        "max": "10.00",
        "applicable": False,
        "groups": [],
    }
    assert a["items"][1]["status"] == "not_applicable"


def test_record_sheet_shows_not_applicable_points(office: Path) -> None:
    p = cli("explain", "book.toml", "units.csv", "--unit", "a", cwd=office)
    assert p.returncode == 0, p.stderr
    assert re.search(
        r"^float\.services +每次服务1分 +10\.00 +不适用 +不适用 +不适用（floating ?> ?0 不成立）",
        p.stdout,
        re.M,
    ), p.stdout
    assert re.search(r"^流动人口 +基本 +10\.00 +不适用$", p.stdout, re.M)
    p = cli("explain", "book.toml", "units.csv", "--unit", "a", "--format", "csv", cwd=office)
    assert "float.services,每次服务1分,10.00,不适用,not_applicable," in p.stdout


def test_an_awarded_max_is_shown_as_points() -> None:
    rb = parse_rulebook(BOOK.replace("scale = 100\n", 'scale = 100\nnot_applicable = "award"\n'))
    ev = parse_evidence(
        rb,
        {"unit": {"id": "a"}, "values": {"meetings": 5, "floating": 0, "services": 0, "late": 0}},
    )
    text = score_report(rb, rank(rb, [score(rb, ev)]), [], "csv")
    assert text.splitlines()[1] == "1,1,a,,,self,100.00,,false,10.00,10.00,0.00,10.00,10.00,0.00,"


# ---------------------------------------------- crosscheck with a penalty category


def _assess(rb: Any, unit: str, role: str, late: int, services: int = 10) -> Any:
    ev = parse_evidence(
        rb,
        {
            "unit": {"id": unit, "group": "东片"},
            "assessment": {"role": role},
            "values": {"meetings": 5, "floating": 3, "services": services, "late": late},
        },
    )
    return score(rb, ev)


def test_all_full_marks_counts_a_penalty_item_with_nothing_deducted_as_full() -> None:
    rb = parse_rulebook(BOOK)
    results = [
        _assess(rb, "u1", "self", late=0),
        _assess(rb, "u1", "town", late=2, services=6),  # full; 0 of 10 deducted
        _assess(rb, "u2", "self", late=1),
        _assess(rb, "u2", "town", late=1),  # 2 deducted: not full
        _assess(rb, "u3", "self", late=0, services=9),  # 9 of 10: not full
    ]
    assert crosscheck(rb, results).all_full_marks == ("u1",)


# ------------------------------------------------------------------- audit


def test_audit_show_is_the_record_sheet_again(office: Path) -> None:
    p = cli("score", "book.toml", "units.csv", "--audit", "a.db", cwd=office)
    assert p.returncode == 0, p.stderr
    sheet = cli("explain", "book.toml", "units.csv", "--unit", "a", cwd=office).stdout
    shown = cli("audit", "show", "a.db", "1", "--unit", "a", cwd=office)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert re.fullmatch(
        r"审计存储 a\.db 第1次运行 · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d · .+", lines[0]
    )
    assert "由存储的考核细则与资料重新计算" in lines[1]
    # the same sheet as explain (reasons regenerated), the source naming the stored file
    assert "\n".join(lines[2:]) + "\n" == sheet
    raw = cli("audit", "show", "a.db", "1", "--unit", "a", "--format", "json", cwd=office)
    assert json.loads(raw.stdout)[0]["unit"] == "a"
    whole = cli("audit", "show", "a.db", "1", cwd=office)
    assert whole.returncode == 0
    assert re.search(r"^1 +1 +a +甲村 +东片 +10\.00 +不适用 +0\.00 +100\.00", whole.stdout, re.M), (
        whole.stdout
    )
    bad = cli("audit", "show", "a.db", "1", "--unit", "b2", cwd=office)
    assert bad.returncode == 2
    assert bad.stderr == "fulian-eval: 第1次运行中没有单位“b2”（是否想写“b”？）；单位有：a, b\n"
    assert cli("plan", "units.csv", "--seed", "1", "--audit", "a.db", cwd=office).returncode == 0
    draw = cli("audit", "show", "a.db", "2", cwd=office)
    assert draw.returncode == 2
    assert draw.stderr == (
        "fulian-eval: 第2次运行是一次抽取（plan），不是评分运行，没有评分表；"
        "“audit show a.db 2 --format json”输出抽取结果\n"
    )
    assert (
        json.loads(cli("audit", "show", "a.db", "2", "--format", "json", cwd=office).stdout)["seed"]
        == 1
    )


def test_audit_runs_shows_local_time_with_its_offset(office: Path) -> None:
    p = cli("score", "book.toml", "units.csv", "--audit", "a.db", cwd=office, env={"TZ": "UTC"})
    assert p.returncode == 0, p.stderr
    stored = json.loads(cli("audit", "export", "a.db", cwd=office).stdout.splitlines()[0])["body"][
        "time"
    ]
    runs = cli("audit", "runs", "a.db", cwd=office, env={"TZ": "Asia/Shanghai"})
    assert runs.returncode == 0, runs.stderr
    import datetime as dt

    when = dt.datetime.fromisoformat(stored).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert when.strftime("%Y-%m-%d %H:%M:%S+08:00") in runs.stdout, runs.stdout
    assert "+00:00" not in runs.stdout


def test_audit_show_warns_when_the_stored_run_no_longer_re_scores_the_same(office: Path) -> None:
    import sqlite3

    # TOML evidence: a run stored unit by unit (a table's run is stored in blocks of units,
    # whose tampering tests/test_audit_v1.py covers)
    assert cli("score", "book.toml", "ev", "--audit", "a.db", cwd=office).returncode == 0
    with sqlite3.connect(office / "a.db") as conn:
        seq, body = conn.execute(
            "SELECT seq, body FROM records WHERE kind = 'unit' AND body LIKE ?", ('%"unit":"b"%',)
        ).fetchone()
        assert '"total":"63.00"' in body
        conn.execute(
            "UPDATE records SET body = ? WHERE seq = ?",
            (body.replace('"total":"63.00"', '"total":"73.00"'), seq),
        )
    shown = cli("audit", "show", "a.db", "1", "--unit", "b", cwd=office)
    assert shown.returncode == 1
    assert shown.stderr == (
        "警告：run 1: b (self): total: stored 73.00, now 63.00\n"
        "警告：第1次运行现在的计算结果与存储的不同（1处差异，见“audit replay”）；表中是现在计算的结果\n"
    )
    assert "总分 63.00" in shown.stdout
    other = cli("audit", "show", "a.db", "1", "--unit", "a", cwd=office)
    assert (other.returncode, other.stderr) == (0, "")
