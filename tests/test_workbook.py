"""The workbook an office keeps (issue 11 items 4 and 6): ``score``/``rank`` ``-o x.xlsx`` give the sheets
排名, 各项得分, 被拒收, 提示, 缺资料 from typed rows, the same from a streamed CSV as from TOML files;
``explain`` and ``crosscheck`` write typed workbooks; ``crosscheck`` writes an HTML page."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

openpyxl = pytest.importorskip("openpyxl")

from fulian_eval import load_evidence, load_rulebook, score  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_EVIDENCE = ROOT / "examples" / "town" / "evidence"
CROSSCHECK = ROOT / "examples" / "crosscheck"
SHEETS = ["排名", "各项得分", "被拒收", "提示", "缺资料"]


def cli(*args: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *(str(a) for a in args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


def values(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture(scope="module")
def per_unit(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example town's TOML files, scored unit by unit."""
    tmp = tmp_path_factory.mktemp("per_unit")
    p = cli("score", RULES, TOWN_EVIDENCE, "-o", "town.xlsx", cwd=tmp)
    assert p.returncode == 0, p.stderr
    return openpyxl.load_workbook(tmp / "town.xlsx")


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same units as one CSV table, streamed through the compiled plan."""
    tmp = tmp_path_factory.mktemp("streamed")
    p = cli("rank", RULES, TOWN_CSV, "-o", "town.xlsx", cwd=tmp)
    assert p.returncode == 0, p.stderr
    return openpyxl.load_workbook(tmp / "town.xlsx")


def test_sheet_names_and_headers(per_unit: Any) -> None:
    wb = per_unit
    assert wb.sheetnames == SHEETS
    rb = load_rulebook(RULES)
    assert values(wb["排名"])[0] == [
        "名次",
        "片区名次",
        "单位",
        "名称",
        "片区",
        "角色",
        "总分",
        "等次",
        "一票否决",
        *[rb.category(c).title for c in rb.tie_break],
    ]
    head, sub = values(wb["各项得分"])[:2]
    titles = [t for c in rb.categories for t in (c.title, *[i.title for i in c.items])]
    assert head == ["名次", "单位", "名称", "片区", "角色", "总分", "等次", *titles]
    archives = rb.category("archives")
    assert sub[7] == f"基本分\n满分{float(archives.max):.2f}"  # the max in the header
    assert sub[8] == "archives.registers\n满分5.00"
    penalty = next(c for c in rb.categories if c.type == "penalty")
    assert sub[head.index(penalty.title)].startswith("扣分\n最多扣")
    assert values(wb["被拒收"]) == [["来源文件", "行号", "单位", "错误"]]
    assert values(wb["提示"])[0] == ["类别", "单位", "名称", "片区", "角色", "内容"]
    assert values(wb["缺资料"])[0] == [
        "片区",
        "单位",
        "名称",
        "角色",
        "项目",
        "考核内容",
        "分值",
        "缺少的资料",
        "说明",
        "来源",
    ]


def test_cells_are_typed(per_unit: Any) -> None:
    ws = per_unit["排名"]
    rows = list(ws.iter_rows())
    first = rows[1]
    assert [c.value for c in first[:9]] == [
        1,
        1,
        "huayuan",
        "花园社区",
        "东片",
        "自评",
        105,
        "优秀",
        "否",
    ]
    assert (
        first[0].data_type == "n" and first[0].number_format == "General"
    )  # a place is a whole number
    assert first[2].data_type == "s" and first[3].data_type == "s"
    total = first[6]
    assert total.data_type == "n" and total.number_format == "0.00"
    assert {c.value for r in rows[1:] for c in r[8:9]} <= {"是", "否"}  # never true/false
    hetang = next(r for r in rows if r[2].value == "hetang")
    assert hetang[6].value == pytest.approx(91.61) and hetang[6].number_format == "0.00"


def test_not_applicable_is_text_never_zero(per_unit: Any) -> None:
    rb = load_rulebook(RULES)
    results = {
        r.unit.id: r for r in (score(rb, ev) for ev in load_evidence(rb, [TOWN_EVIDENCE]).evidence)
    }
    na_cats = {(u, c.title) for u, r in results.items() for c in r.categories if not c.applicable}
    assert na_cats, "the example has a not-applicable category"
    rows = list(per_unit["各项得分"].iter_rows())
    head = [c.value for c in rows[0]]
    seen = 0
    for row in rows[2:]:
        uid = row[1].value
        r = results[uid]
        for c in r.categories:
            cell = row[head.index(c.title)]
            if c.applicable:
                assert cell.data_type == "n", (uid, c.id)
            else:
                seen += 1
                assert (cell.value, cell.data_type) == ("不适用", "s"), (uid, c.id)
        for i in r.items:
            cell = row[head.index(i.title)]
            if i.status == "not_applicable" and not i.points:
                assert cell.value == "不适用", (uid, i.id)
            else:
                assert cell.data_type == "n" and cell.number_format == "0.00", (uid, i.id)
    assert seen == len(na_cats)
    ranking = values(per_unit["排名"])
    tie_titles = [rb.category(c).title for c in rb.tie_break]
    for row in ranking[1:]:
        for k, title in enumerate(tie_titles):
            if (row[2], title) in na_cats:
                assert row[9 + k] == "不适用"


def test_missing_sheet_lists_exactly_the_missing_items(per_unit: Any) -> None:
    """The 催报 list: every item of every unit the per-unit path scores as missing, and nothing else."""
    rb = load_rulebook(RULES)
    want = []
    for ev in load_evidence(rb, [TOWN_EVIDENCE]).evidence:
        r = score(rb, ev)
        want += [
            (r.unit.group, r.unit.id, i.id, i.reason) for i in r.items if i.status == "missing"
        ]
    rows = values(per_unit["缺资料"])[1:]
    assert want, "the example has missing evidence"
    assert sorted((g, u, item, why) for g, u, _, _, item, _, _, _, why, _ in rows) == sorted(want)
    by_item = {(r[1], r[4]): r for r in rows}
    books = by_item[("yangwan", "facilities.books")]
    assert books[2:8] == [
        "杨湾村",
        "自评",
        "facilities.books",
        rb.item("facilities.books").title,
        4,
        "妇女之家图书",
    ]
    assert by_item[("yangwan", "archives.quality")][7] == "评审打分"  # a manual item without points
    assert books[9].endswith("yangwan.toml")


def test_streamed_and_per_unit_paths_give_the_same_cells(per_unit: Any, streamed: Any) -> None:
    assert streamed.sheetnames == SHEETS
    for name in SHEETS:
        a, b = values(per_unit[name]), values(streamed[name])
        if name == "缺资料":  # where each came from differs: yangwan.toml, town.csv row 7
            a, b = [r[:-1] for r in a], [r[:-1] for r in b]
        assert a == b, name
    assert values(streamed["缺资料"])[1][-1].endswith("town.csv row 7")


def test_frozen_headers_and_widths(per_unit: Any) -> None:
    assert per_unit["排名"].freeze_panes == "E2"
    assert per_unit["各项得分"].freeze_panes == "D3"  # two header rows: titles, then id and max
    assert per_unit["被拒收"].freeze_panes == "A2"
    ws = per_unit["缺资料"]
    assert ws.freeze_panes == "D2"
    dims = ws.column_dimensions
    # a CJK character counts two: 考核内容 holds long Chinese titles, 分值 short numbers
    assert dims["F"].width >= 40 and dims["G"].width < 12
    assert per_unit["排名"].column_dimensions["D"].width >= 2 * len("花园社区")
    scores = per_unit["各项得分"]
    # an item's column is as wide as its numbers and id, its long title wraps in a header row tall enough
    assert scores.column_dimensions["I"].width < 2 * len(scores["I1"].value)
    assert scores.row_dimensions[1].height >= 30 and scores.row_dimensions[2].height == 30


def test_text_ids_stay_text_in_every_sheet(tmp_path: Path) -> None:
    """Unit 001 stays 001 (not the number 1), in the streamed and the per-unit path alike."""
    rows = list(csv.reader(io.StringIO(TOWN_CSV.read_text(encoding="utf-8-sig"))))
    head = rows[0]
    u = head.index("unit")
    yangwan = next(r for r in rows if r[u] == "yangwan")
    yangwan[u] = "001"
    with (tmp_path / "t.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    p = cli("score", RULES, "t.csv", "-o", "t.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    for name, col in (("排名", 2), ("各项得分", 1), ("缺资料", 1)):
        cells = [r[col] for r in wb[name].iter_rows() if r[col].value == "001"]
        assert cells and all(c.data_type == "s" for c in cells), name


def test_rejected_and_repeated_rows(tmp_path: Path) -> None:
    """A rejected row is listed with its file and row number; a repeated unit's later row is neither
    scored nor asked for its missing evidence."""
    rows = list(csv.reader(io.StringIO(TOWN_CSV.read_text(encoding="utf-8-sig"))))
    head = rows[0]
    u, m = head.index("unit"), head.index("meetings")
    bad = list(rows[1])
    bad[u], bad[m] = "bad", "很多"
    yangwan = next(r for r in rows if r[u] == "yangwan")
    with (tmp_path / "t.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([*rows, bad, yangwan])
    p = cli("score", RULES, "t.csv", "-o", "t.xlsx", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    rejected = values(wb["被拒收"])[1:]
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        ("t.csv", len(rows) + 1, "bad"),
        ("t.csv", len(rows) + 2, "yangwan"),
    ]
    assert "很多" in rejected[0][3]
    missing = values(wb["缺资料"])[1:]
    assert {r[-1] for r in missing if r[1] == "yangwan"} == {f"t.csv row {rows.index(yangwan) + 1}"}


def test_rank_sensitivity_workbook_has_best_and_worst_places(tmp_path: Path) -> None:
    p = cli("rank", RULES, TOWN_EVIDENCE, "--sensitivity", "10%", "-o", "s.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = values(openpyxl.load_workbook(tmp_path / "s.xlsx")["排名"])
    assert rows[0][-2:] == ["最好名次", "最差名次"]
    assert all(isinstance(r[-2], int) and r[-2] <= r[0] <= r[-1] for r in rows[1:])


def test_explain_workbook(tmp_path: Path) -> None:
    p = cli("explain", RULES, TOWN_EVIDENCE, "--unit", "yangwan", "-o", "e.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "e.xlsx")
    assert wb.sheetnames == ["审核记录表", "类别", "单位"]
    about = dict(values(wb["单位"])[1:])
    assert about["单位"] == "yangwan" and about["角色"] == "自评" and about["一票否决"] == "否"
    items = list(wb["审核记录表"].iter_rows())
    assert [c.value for c in items[0]] == [
        "项目",
        "考核内容",
        "分值",
        "得分",
        "状态",
        "评分依据",
        "方式",
        "所用资料",
    ]
    books = next(r for r in items if r[0].value == "facilities.books")
    assert books[3].value == 0 and books[3].number_format == "0.00" and books[4].value == "无资料"
    p = cli(
        "explain",
        RULES,
        TOWN_EVIDENCE,
        "--unit",
        "yangwan",
        "--gains",
        "-o",
        "g.xlsx",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    gains = values(openpyxl.load_workbook(tmp_path / "g.xlsx")["可提高"])
    assert gains[0] == ["项目", "考核内容", "得分", "分值", "可提高总分"]
    assert [g[-1] for g in gains[1:]] == sorted((g[-1] for g in gains[1:]), reverse=True)


def test_crosscheck_xlsx_puts_each_roles_evidence_side_by_side(tmp_path: Path) -> None:
    p = cli("crosscheck", RULES, CROSSCHECK, "-o", "cc.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "cc.xlsx")
    assert wb.sheetnames == ["汇总", "争议项目", "提示"]
    units = list(wb["汇总"].iter_rows())
    assert [c.value for c in units[0]] == [
        "名次",
        "单位",
        "名称",
        "片区",
        "自评总分",
        "互查总分",
        "镇核总分",
        "采用",
        "最终得分",
        "自评虚高",
        "一票否决",
    ]
    assert (
        units[1][8].data_type == "n"
        and units[1][8].number_format == "0.00"
        and units[1][10].value in ("是", "否")
    )
    disputes = values(wb["争议项目"])
    assert disputes[0] == [
        "单位",
        "名称",
        "片区",
        "项目",
        "考核内容",
        "分值",
        "自评得分",
        "互查得分",
        "镇核得分",
        "自评所用资料",
        "互查所用资料",
        "镇核所用资料",
        "否决争议",
    ]
    hetang = next(r for r in disputes if r[0] == "hetang" and r[3] == "family.satisfaction")
    assert hetang[6:9] == [6, 6, 2]
    assert hetang[9] == "群众满意度（问卷） = 92.4 %" and hetang[11] == "群众满意度（问卷） = 88 %"
    notes = values(wb["提示"])
    assert ["自评全部满分", "huayuan", "自评", "自评每一项都是满分，请核实"] in notes
    assert notes[-1][0] == "评分一致性"


def test_crosscheck_html_is_a_page(tmp_path: Path) -> None:
    p = cli("crosscheck", RULES, CROSSCHECK, "-o", "cc.html", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    page = (tmp_path / "cc.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>交错互查汇总 — " in page and page.rstrip().endswith("</html>")
    assert "<th>自评所用资料</th><th>互查所用资料</th><th>镇核所用资料</th>" in page
    assert "<td>hetang</td><td>荷塘村</td>" in page and "群众满意度（问卷） = 88 %" in page
    p = cli("crosscheck", RULES, CROSSCHECK, "--format", "html", cwd=tmp_path)
    assert p.returncode == 0 and p.stdout == page


def test_xlsx_needs_a_file(tmp_path: Path) -> None:
    p = cli("crosscheck", RULES, CROSSCHECK, "--format", "xlsx", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (
        2,
        "fulian-eval: --format xlsx 写出的是工作簿：请用 -o 文件名.xlsx 指定文件\n",
    )


def test_control_characters_and_long_text(tmp_path: Path) -> None:
    from fulian_eval.report.workbook import TEXT, Column, Sheet, write_workbook

    write_workbook(
        str(tmp_path / "w.xlsx"),
        [Sheet("提示", [Column("内容", TEXT)], [["东\x01桥"], ["长" * 40000]])],
    )
    rows = values(openpyxl.load_workbook(tmp_path / "w.xlsx")["提示"])
    assert rows[1] == ["东\ufffd桥"] and rows[2] == ["长" * 32767]


def test_workbooks_saved_into_the_evidence_folder_are_skipped(tmp_path: Path) -> None:
    """A clerk saves the workbooks beside the evidence: they are reports, not evidence."""
    import shutil

    shutil.copytree(TOWN_EVIDENCE, tmp_path / "ev")
    for args in (
        ["score", RULES, "ev", "-o", "排名.xlsx"],
        ["explain", RULES, "ev", "--unit", "yangwan", "-o", "记录表.xlsx"],
        ["explain", RULES, "ev", "--unit", "yangwan", "--gains", "-o", "可提高.xlsx"],
    ):
        assert cli(*args, cwd=tmp_path).returncode == 0
    for name in ("排名.xlsx", "记录表.xlsx", "可提高.xlsx"):
        shutil.move(tmp_path / name, tmp_path / "ev" / name)
    p = cli("score", RULES, "ev", "--format", "csv", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (
        "警告：ev/排名.xlsx: 这是 fulian-eval 的 score or rank 报告，不是资料；已跳过" in p.stderr
    )
    assert "警告：ev/记录表.xlsx: 这是 fulian-eval 的 explain 报告，不是资料；已跳过" in p.stderr
    assert (
        "警告：ev/可提高.xlsx: 这是 fulian-eval 的 explain --gains 报告，不是资料；已跳过"
        in p.stderr
    )
    assert len(p.stdout.splitlines()) == 1 + len(list(TOWN_EVIDENCE.glob("*.toml")))


def test_waivers_show_the_total_without_them(tmp_path: Path) -> None:
    p = cli(
        "score",
        RULES,
        TOWN_CSV,
        "--waivers",
        ROOT / "examples" / "town" / "waivers.toml",
        "--today",
        "2026-06-01",
        "-o",
        "w.xlsx",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    ranking = values(wb["排名"])
    assert ranking[0][6:8] == ["总分", "未豁免总分"]
    songwu = next(r for r in ranking if r[2] == "songwu")
    assert songwu[6] > songwu[7]  # the waived item no longer counts against it
    head = values(wb["各项得分"])[1]
    room = head.index(next(h for h in head if h.startswith("facilities.room\n")))
    assert next(r for r in values(wb["各项得分"]) if r[1] == "songwu")[room] == "不适用"


def test_an_xlsx_table_gives_the_same_workbook(tmp_path: Path, per_unit: Any) -> None:
    """Evidence as an Excel table (typed cells: numbers as numbers, blanks as empty cells) streams too;
    its 缺资料 sheet comes from the same rescoring of the rows that lack evidence."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for k, row in enumerate(csv.reader(io.StringIO(TOWN_CSV.read_text(encoding="utf-8-sig")))):
        ws.append([c if k == 0 or not c.isdigit() else int(c) for c in row] if k else row)
    wb.save(tmp_path / "town.xlsx")
    p = cli("score", RULES, "town.xlsx", "-o", "out.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    got = openpyxl.load_workbook(tmp_path / "out.xlsx")
    for name in SHEETS:
        a, b = values(per_unit[name]), values(got[name])
        if name == "缺资料":
            a, b = [r[:-1] for r in a], [r[:-1] for r in b]
            assert all(r[-1].startswith("town.xlsx row ") for r in values(got[name])[1:])
        assert a == b, name
