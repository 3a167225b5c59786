"""The evidence-collection form (issue 11, item 1): ``fulian-eval template`` writes a workbook
from a rulebook; filled in (here with openpyxl, as a clerk would in Excel) and read back — as
.xlsx, or saved as CSV in UTF-8 or GBK — it scores byte for byte as the TOML originals do.

Also: the form's data validation, protection, frozen header and text cells; ``--units``
pre-fill; ``--role``; and the usage errors (bad units file, ``-o`` not .xlsx, ``-o`` an input).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fulian_eval import load_evidence, load_rulebook
from fulian_eval.io.evidence import ROLE_TITLES
from fulian_eval.lang.values import parse_number
from fulian_eval.report.form import form_columns

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "rules" / "town-village-2026.toml"
TOWN_TOML = ROOT / "examples" / "town" / "evidence"
UNITS = ROOT / "examples" / "town" / "units.csv"


def cli(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """The command line as a clerk runs it (a subprocess: stdout, stderr and exit status as they are)."""
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, argv)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        cwd=ROOT,
    )


def make_form(tmp_path: Path, *extra: str | Path, name: str = "填报表.xlsx") -> Path:
    out = tmp_path / name
    got = cli("template", TOWN, "-o", out, "--today", "2026-12-02", *extra)
    assert got.returncode == 0, got.stderr
    assert out.is_file()
    return out


def cell_value(value: Any) -> Any:
    """An evidence value as a clerk types it into the form's cell."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, frozenset):
        return "、".join(sorted(value)) if value else "无"
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return str(value)


def fill(form: Path, out: Path) -> Path:
    """The form filled in with the bundled examples' values (read with load_evidence)."""
    rb = load_rulebook(TOWN)
    es = load_evidence(rb, [TOWN_TOML])
    assert len(es.evidence) == 21 and not es.rejected
    by_name = {c.name: c.header for c in form_columns(rb)}
    wb = openpyxl.load_workbook(form)
    ws = wb["填报"]
    col = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value}
    for ev in es.evidence:
        r = rows[ev.unit.id]
        assert ws.cell(r, col["单位名称"]).value == ev.unit.name
        assert ws.cell(r, col["片区"]).value == ev.unit.group
        ws.cell(r, col["评审人"]).value = ev.assessment.assessor
        for name, value in ev.values.items():
            spec = rb.fields[name]
            raw = ev.raw.get(name, "")
            if spec.type in ("count", "number", "quantity") and parse_number(raw, spec.unit)[1]:
                ws.cell(
                    r, col[by_name[name]]
                ).value = raw  # an approximate figure, written as text: 160多
            else:
                ws.cell(r, col[by_name[name]]).value = cell_value(value)
        for item, pts in ev.points.items():
            ws.cell(r, col[by_name[item]]).value = cell_value(pts)
    wb.save(out)
    return out


def save_as_csv(book: Path, out: Path, encoding: str) -> Path:
    """The data sheet saved as CSV, as Excel does (UTF-8 with its BOM, or GBK): every cell as shown."""
    ws = openpyxl.load_workbook(book, data_only=True)["填报"]
    width = ws.max_column
    with out.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        for row in ws.iter_rows(values_only=True):
            w.writerow(["" if v is None else str(v) for v in row[:width]])
    return out


_SOURCE = re.compile(r'^\s*"source": ".*",?\n', re.MULTILINE)


def scores(*evidence: Path, fmt: str) -> str:
    """The score report, byte for byte, but the lines that name each unit's source file (and row)."""
    got = cli("score", TOWN, *evidence, "--format", fmt)
    assert got.returncode == 0, got.stderr
    return _SOURCE.sub("", got.stdout) if fmt == "json" else got.stdout


def score_json(*evidence: Path) -> dict[str, Any]:
    got = cli("score", TOWN, *evidence, "--format", "json")
    assert got.returncode == 0, got.stderr
    data: dict[str, Any] = json.loads(got.stdout)
    return data


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("form")
    return fill(make_form(tmp, "--units", UNITS, "--role", "self"), tmp / "收回.xlsx")


@pytest.fixture(scope="module")
def originals() -> dict[str, str]:
    return {fmt: scores(TOWN_TOML, fmt=fmt) for fmt in ("json", "csv")}


# ------------------------------------------------------------------ round trip


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_filled_form_scores_as_the_toml_originals(
    filled: Path, originals: dict[str, str], fmt: str
) -> None:
    got = scores(filled, fmt=fmt)
    assert got == originals[fmt]
    if fmt == "json":
        units = score_json(filled)["units"]
        assert len(units) == 21 and {u["role"] for u in units} == {"self"}
        assert any(u["total"] != units[0]["total"] for u in units)  # real scores, not all zero


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_form_saved_as_csv_scores_the_same(
    filled: Path, originals: dict[str, str], tmp_path: Path, encoding: str
) -> None:
    table = save_as_csv(filled, tmp_path / "收回.csv", encoding)
    raw = table.read_bytes()
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    for fmt in ("json", "csv"):
        assert scores(table, fmt=fmt) == originals[fmt]


def test_every_header_reads_back_as_its_field() -> None:
    rb = load_rulebook(TOWN)
    cols = form_columns(rb)
    fields = [c for c in cols if c.kind == "field"]
    assert [c.name for c in fields] == list(rb.fields)
    shown = {c.name: c.header for c in fields}
    assert shown["room_area"] == "妇女之家活动室面积（平方米）"  # m^2 in GBK-safe words
    assert shown["population"] == "户籍人口（人）"
    assert shown["registers"] == "五簿（已建立的登记簿）"  # a checklist: no unit
    assert shown["satisfaction"] == "群众满意度（问卷）（%）"
    for c in cols:
        c.header.encode("gbk")  # survives Excel's "CSV (逗号分隔)"
    assert [c.header for c in cols if c.kind == "points"] == [
        "得分：资料规范：分类装订、目录清楚、记录及时（评审组打分）"
    ]


# ------------------------------------------------------------- the workbook


def test_form_has_validation_protection_and_text_ids(tmp_path: Path) -> None:
    form = make_form(tmp_path, "--units", UNITS)
    wb = openpyxl.load_workbook(form)
    assert wb.sheetnames == ["说明", "填报"]
    ws = wb["填报"]
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    letter = {h: openpyxl.utils.get_column_letter(i) for h, i in col.items()}
    assert ws.freeze_panes == "C2"
    assert ws.protection.sheet is True
    assert ws.protection.formatColumns is False and ws.protection.insertRows is False  # allowed
    assert ws.cell(1, 1).protection.locked is True
    assert ws.column_dimensions["A"].width > 8
    wide = letter["全年召开执委会（妇代会）次数（次）"]
    assert 15 < ws.column_dimensions[wide].width <= 30
    dvs = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}

    def dv(h: str) -> Any:
        return dvs[f"{letter[h]}2"]

    assert dv("台帐资料弄虚作假").type == "list" and dv("台帐资料弄虚作假").formula1 == '"是,否"'
    assert (
        dv("户籍人口（人）").type == "whole"
        and dv("户籍人口（人）").operator == "greaterThanOrEqual"
    )
    assert dv("户籍人口（人）").formula1 == "0"
    assert dv("妇女之家活动室面积（平方米）").type == "decimal"
    assert dv("群众满意度（问卷）（%）").type == "decimal"
    assert dv("角色").formula1 == '"' + ",".join(ROLE_TITLES.values()) + '"'
    station = dv("妇女维权站“四有”（已具备的）")
    assert "办公场所、标牌、公示栏、来访登记簿" in station.prompt and "“、”" in station.prompt
    points = dv("得分：资料规范：分类装订、目录清楚、记录及时（评审组打分）")
    assert points.type == "custom" and "<=4.5" in points.formula1 and "/0.5" in points.formula1
    assert str(dv("户籍人口（人）").sqref).endswith(str(21 + 301))  # spare rows for more units
    # data cells are unlocked (the clerk types there); ids are text, never numbers
    a2 = ws.cell(2, 1)
    assert a2.value == "dongqiao" and a2.data_type == "s" and a2.number_format == "@"
    assert a2.protection.locked is False
    assert ws.column_dimensions[letter["总户数（户）"]].number_format == "0"


def test_instructions_sheet(tmp_path: Path) -> None:
    form = make_form(tmp_path, "--role", "town")
    ws = openpyxl.load_workbook(form)["说明"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "2026年度村（社区）妇联工作考核细则 填报表" in text
    assert "版本：2026.1" in text and "生成日期：2026-12-02" in text and "评审角色：镇核" in text
    assert (
        "工作活动记录簿、妇女培训登记簿、各类表彰登记簿、群众来信来访登记簿、重点帮扶对象登记簿"
        in text
    )
    assert (
        "资料规范：分类装订、目录清楚、记录及时（评审组打分）" in text
    )  # the manual item, with its step
    assert "0至4.5分，按0.5分的整数倍打分" in text
    assert "cases_closed / cases_received * 100" in text  # derived values: not to be filled
    assert "妇女之家活动室面积（平方米）" in text and "不小于0的整数" in text
    assert openpyxl.load_workbook(form).active.title == "说明"


def test_units_prefill_keeps_ids_as_text(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("unit,name,group\n001,一村,东片\n010,十村,西片\n", encoding="utf-8")
    form = make_form(tmp_path, "--units", units)
    ws = openpyxl.load_workbook(form)["填报"]
    assert [[c.value for c in row[:4]] for row in ws.iter_rows(min_row=2)] == [
        ["001", "一村", "东片", None],
        ["010", "十村", "西片", None],
    ]
    # filled and read back: unit 001 stays 001
    ws.parent["填报"].cell(2, 7).value = 3000
    ws.parent.save(tmp_path / "back.xlsx")
    out = score_json(tmp_path / "back.xlsx")
    assert sorted(u["unit"] for u in out["units"]) == ["001", "010"]
    assert sorted(u["name"] for u in out["units"]) == ["一村", "十村"]


def test_without_units_the_data_sheet_is_the_header_alone(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(make_form(tmp_path))["填报"]
    assert ws.max_row == 1
    got = cli("score", TOWN, tmp_path / "填报表.xlsx")
    assert got.returncode == 0  # a form with no rows is evidence with no units; nothing rejected


@pytest.mark.parametrize("role", ["peer", "互查"])
def test_role_prefilled_by_title_and_read_back(tmp_path: Path, role: str) -> None:
    form = make_form(tmp_path, "--units", UNITS, "--role", role)
    ws = openpyxl.load_workbook(form)["填报"]
    assert {ws.cell(r, 4).value for r in range(2, ws.max_row + 1)} == {"互查"}
    units = score_json(form)["units"]
    assert {u["role"] for u in units} == {"peer"} and len(units) == 21


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    a = make_form(tmp_path, "--units", UNITS, name="a.xlsx").read_bytes()
    b = make_form(tmp_path, "--units", UNITS, name="b.xlsx").read_bytes()
    assert a == b


# ---------------------------------------------------------------- errors


def test_bad_units_file_is_a_usage_error(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("unit,name\nu1,一村\n", encoding="utf-8")
    got = cli("template", TOWN, "--units", units, "-o", tmp_path / "f.xlsx")
    assert got.returncode == 2
    assert "有误（1处问题）" in got.stderr and "missing column 'group'" in got.stderr
    assert not (tmp_path / "f.xlsx").exists()


def test_output_must_be_xlsx(tmp_path: Path) -> None:
    got = cli("template", TOWN, "-o", tmp_path / "填报表.csv")
    assert got.returncode == 2
    assert "须以 .xlsx 结尾" in got.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_output_is_required() -> None:
    got = cli("template", TOWN)
    assert got.returncode == 2 and "-o" in got.stderr


@pytest.mark.parametrize("which", ["rulebook", "units"])
def test_output_that_is_an_input_is_refused(tmp_path: Path, which: str) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copy(TOWN, rules)
    units = tmp_path / "units.csv"
    shutil.copy(UNITS, units)
    before = (rules.read_bytes(), units.read_bytes())
    target = rules if which == "rulebook" else units
    got = cli("template", rules, "--units", units, "-o", target)
    assert got.returncode == 2
    assert f"不能把报告写到 {target}：" in got.stderr and "本次运行要读取的文件" in got.stderr
    assert (rules.read_bytes(), units.read_bytes()) == before


def test_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    got = cli("template", TOWN, "--role", "selff", "-o", tmp_path / "f.xlsx")
    assert got.returncode == 2
    assert "没有这个角色" in got.stderr and "是否想写“self”" in got.stderr


def test_role_titles_accepted_in_evidence(tmp_path: Path) -> None:
    rb = load_rulebook(TOWN)
    ev = tmp_path / "x.toml"
    ev.write_text(
        '[unit]\nid = "x"\n[assessment]\nrole = "镇核"\n[values]\npopulation = 10\n',
        encoding="utf-8",
    )
    got = load_evidence(rb, [ev])
    assert [e.role for e in got.evidence] == ["town"]
    ev.write_text('[unit]\nid = "x"\n[assessment]\nrole = "镇审"\n', encoding="utf-8")
    bad = load_evidence(rb, [ev])
    assert bad.rejected and "镇审" in bad.rejected[0].error and "镇核" in bad.rejected[0].error


def test_date_option_is_checked(tmp_path: Path) -> None:
    got = cli("template", TOWN, "--today", "2026-13-01", "-o", tmp_path / "f.xlsx")
    assert got.returncode == 2 and "不是日期" in got.stderr
    assert _dt.date(2026, 12, 2).isoformat() == "2026-12-02"


@pytest.mark.parametrize(
    "header",
    [
        "得分：资料规范：分类装订、目录清楚、记录及时（评审组打分）",
        "得分:archives.quality",
        "points:archives.quality",
    ],
)
def test_points_columns_headed_in_chinese(tmp_path: Path, header: str) -> None:
    table = tmp_path / "t.csv"
    table.write_text(f"单位编码,户籍人口,{header}\nu1,100,3.5\n", encoding="utf-8")
    got = load_evidence(load_rulebook(TOWN), [table])
    assert not got.rejected
    assert [dict(e.points) for e in got.evidence] == [{"archives.quality": Fraction(7, 2)}]


def test_points_column_for_no_manual_item_rejects_the_table(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("单位编码,得分：资料规范\nu1,3.5\n", encoding="utf-8")
    got = load_evidence(load_rulebook(TOWN), [table])
    assert not got.evidence
    (rej,) = got.rejected
    assert "column '得分：资料规范': no manual item '资料规范'" in rej.error
    assert "资料规范：分类装订、目录清楚、记录及时（评审组打分）（archives.quality）" in rej.error


def test_unit_picks_one_row_for_a_form_per_village(tmp_path: Path) -> None:
    form = make_form(tmp_path, "--units", UNITS, "--unit", "meiling", "--unit", "dongqiao")
    ws = openpyxl.load_workbook(form)["填报"]
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == [
        "dongqiao",
        "meiling",
    ]  # the file's order
    got = cli("template", TOWN, "--units", UNITS, "--unit", "meilin", "-o", tmp_path / "x.xlsx")
    assert (
        got.returncode == 2 and "没有这个单位" in got.stderr and "是否想写“meiling”" in got.stderr
    )
    got = cli("template", TOWN, "--unit", "meiling", "-o", tmp_path / "x.xlsx")
    assert got.returncode == 2 and "--units" in got.stderr


LONG = """
id = "long"
version = "1"
title = "长名称细则"

[fields.docs]
type = "set"
title = "一个很长很长的清单字段名称，长到超过 Excel 输入提示标题所能容纳的三十二个字符"

[fields.area]
type = "quantity"
unit = "m^2"
title = "面积"

[fields.area2]
type = "quantity"
unit = "m^2"
title = "面积"

[[categories]]
id = "c"
title = "类别"

  [[categories.items]]
  id = "docs"
  title = "清单"
  max = 40
  kind = "deduct"
  field = "docs"
  required = [REQUIRED]
  each = 1

  [[categories.items]]
  id = "area"
  title = "面积"
  max = 5
  kind = "linear"
  field = "area"
  zero_at = 0
  full_at = 100

  [[categories.items]]
  id = "area2"
  title = "面积"
  max = 5
  kind = "linear"
  field = "area2"
  zero_at = 0
  full_at = 100

  [[categories.items]]
  id = "judge"
  title = "评审组打分"
  max = 1
  kind = "manual"
  step = 0.25

  [[categories.items]]
  id = "judge2"
  title = "评审组打分"
  max = 1
  kind = "manual"
  step = 0.5
""".replace("REQUIRED", ", ".join(f'"第{i}号很长的档案登记簿名称"' for i in range(40)))


def test_long_texts_and_shared_titles_still_make_a_form_that_reads_back(tmp_path: Path) -> None:
    from fulian_eval.io.load import parse_rulebook
    from fulian_eval.report.form import write_form

    rb = parse_rulebook(LONG)
    out = tmp_path / "long.xlsx"
    write_form(
        rb, str(out), units=[("u1", "一村", "东片")], today=_dt.date(2026, 1, 1)
    )  # warnings are errors here
    ws = openpyxl.load_workbook(out)["填报"]
    header = [c.value for c in ws[1]]
    # a title two fields share: each column is headed by its id (with its unit), and so are the manual items
    assert header[5:] == [
        "一个很长很长的清单字段名称，长到超过 Excel 输入提示标题所能容纳的三十二个字符",
        "area（平方米）",
        "area2（平方米）",
        "points:c.judge",
        "points:c.judge2",
    ]
    for dv in ws.data_validations.dataValidation:
        assert len(dv.promptTitle or "") <= 32 and len(dv.prompt or "") <= 255
    judge = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith("I2"))
    assert "/0.25" in judge.formula1 and "<=1" in judge.formula1
    ws.cell(2, 6).value = "第0号很长的档案登记簿名称、第1号很长的档案登记簿名称"
    ws.cell(2, 7).value = 50
    ws.cell(2, 9).value = 0.75
    ws.parent.save(out)
    got = load_evidence(rb, [out])
    assert not got.rejected, got.rejected
    (ev,) = got.evidence
    assert ev.values["area"] == 50 and len(ev.values["docs"]) == 2
