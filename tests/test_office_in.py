"""Office files in (issue 11, SPEC §10.6, §10.7): lists as offices write them, headers as a
clerk types them, unknown columns, paths with no evidence, and old Excel (.xls).

Every table here is scored by both paths — the streamed one (``score --format csv``) and
the per-unit one (``--format json``) — and a table written the office's way must score
byte for byte as the plain one does.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest

from fulian_eval import load_evidence, load_rulebook, score
from fulian_eval.cli.app import main
from fulian_eval.io.evidence import NoEvidence, field_names
from fulian_eval.io.load import parse_rulebook
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import score_tables

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_TOML = ROOT / "examples" / "town" / "evidence"
XLS = ROOT / "tests" / "data" / "office" / "town.xls"
SET_FIELDS = ("registers", "rosters", "station")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def town_rows() -> list[list[str]]:
    with TOWN_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def scored(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[str, str]:
    """The streamed score CSV and the per-unit JSON (sources as file names only) of one table."""
    code, out_csv, err = run(capsys, "score", str(TOWN), str(path), "--format", "csv", *extra)
    assert code == 0, err
    code, out_json, err = run(capsys, "score", str(TOWN), str(path), "--format", "json", *extra)
    assert code == 0, err
    return out_csv, out_json.replace(str(path), "TABLE")


# ------------------------------------------------------------- 1: 、 lists


def test_town_registers_written_with_dun_score_as_with_semicolons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: `工作活动记录簿、妇女培训登记簿` was one name, every register missing, exit 0."""
    rows = town_rows()
    cols = [rows[0].index(f) for f in SET_FIELDS]
    seps = ["、", "，", ",", "；", "/", "\n"]
    for k, r in enumerate(rows[1:]):
        for c in cols:
            assert ";" in r[c] or not r[c]
            r[c] = r[c].replace(";", seps[(k + c) % len(seps)])
    office = write_rows(tmp_path / "town.csv", rows)
    assert "、" in office.read_text(encoding="utf-8")
    assert scored(capsys, office) == scored(capsys, TOWN_CSV)


def test_toml_strings_split_like_table_cells(tmp_path: Path) -> None:
    """SPEC §10.10: set separators apply in TOML strings as in tables."""
    rb = load_rulebook(TOWN)
    src = (TOWN_TOML / "hetang.toml").read_text(encoding="utf-8")
    want = score(rb, load_evidence(rb, [TOWN_TOML / "hetang.toml"]).evidence[0])
    arrays = re.findall(r"^(registers|rosters|station)\s*=\s*(\[.*?\])", src, flags=re.M | re.S)
    assert len(arrays) == 3
    for name, array in arrays:
        members = json.loads(array)
        src = src.replace(array, json.dumps("、".join(members), ensure_ascii=False), 1)
        assert re.search(rf'^{name}\s*= "[^"]*、', src, flags=re.M)
    (tmp_path / "hetang.toml").write_text(src, encoding="utf-8")
    got = score(rb, load_evidence(rb, [tmp_path / "hetang.toml"]).evidence[0])
    assert got.total == want.total and got.items == want.items and got.flags == want.flags


def test_near_miss_register_is_flagged_with_did_you_mean(tmp_path: Path) -> None:
    rb = load_rulebook(TOWN)
    rows = town_rows()
    c = rows[0].index("registers")
    rows[1][c] = (
        "工作活动记录簿、妇女培训登记本、重点帮扶对象登记簿、村志"  # 本 for 簿; 村志 is no near miss
    )
    path = write_rows(tmp_path / "town.csv", rows)
    es = load_evidence(rb, [path])
    ev = es.evidence[0]
    assert ev.values["registers"] == frozenset(
        {"工作活动记录簿", "妇女培训登记本", "重点帮扶对象登记簿", "村志"}
    )
    assert ev.flags[0] == (
        "名称近似: registers 中的 '妇女培训登记本' 不是要求的名称，按缺少计；是否应为 '妇女培训登记簿'？"
        "(not a required name; did you mean '妇女培训登记簿'?)"
    )
    assert sum("名称近似" in f for f in ev.flags) == 1
    res = score(rb, ev)
    reg = next(i for i in res.items if i.id == "archives.registers")
    assert reg.points == 2  # 5 − 3 missing: the near miss still counts as absent
    # the streamed path flags it the same
    st = score_tables(compile_plan(rb), [path])
    row = list(st.table.unit).index(ev.unit.id)
    assert st.table.flags(row) == res.flags


def test_near_miss_in_toml_too(tmp_path: Path) -> None:
    rb = load_rulebook(TOWN)
    (tmp_path / "x.toml").write_text(
        '[unit]\nid = "x"\n[values]\nstation = "办公场所、标牌、公示拦"\n', encoding="utf-8"
    )
    ev = load_evidence(rb, [tmp_path / "x.toml"]).evidence[0]
    assert ev.flags == (
        "名称近似: station 中的 '公示拦' 不是要求的名称，按缺少计；是否应为 '公示栏'？"
        "(not a required name; did you mean '公示栏'?)",
    )


def test_required_name_holding_a_separator_is_kept_whole(tmp_path: Path) -> None:
    rb = parse_rulebook(
        """
id = "t"
version = "1"
title = "t"
scale = 100
[fields.docs]
type = "set"
[[categories]]
id = "c"
title = "c"
max = 2
  [[categories.items]]
  id = "docs"
  max = 2
  kind = "deduct"
  field = "docs"
  required = ["计划/总结", "台帐"]
  each = 1
""",
        "<t>",
    )
    (tmp_path / "t.csv").write_text(
        'unit,docs\nu1,"计划/总结、台帐"\nu2,计划/台帐\n', encoding="utf-8"
    )
    es = load_evidence(rb, [tmp_path / "t.csv"])
    assert [e.values["docs"] for e in es.evidence] == [
        frozenset({"计划/总结", "台帐"}),
        frozenset({"计划", "台帐"}),
    ]


# --------------------------------------------------------- 2: Chinese headers


def titled_header(rb_path: Path = TOWN) -> list[str]:
    """town.csv's header as a clerk types it: field titles with units in （）, meta columns in Chinese."""
    rb = load_rulebook(rb_path)
    meta = {
        "unit": "单位编码",
        "name": "单位名称",
        "group": "片区",
        "role": "角色",
        "assessor": "评审人",
    }
    out = []
    for h in town_rows()[0]:
        if h in meta:
            out.append(meta[h])
            continue
        if h.startswith("points:"):
            out.append(h)
            continue
        name, _, unit = h.partition("[")
        unit = unit.rstrip("]") or rb.fields[name].unit
        title = rb.fields[name].title
        assert title, name
        out.append(f"{title}（{unit}）" if unit else title)
    return out


def test_town_headed_by_titles_scores_as_by_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: Chinese headers were ignored with a warning: 花园社区 105.00 → 96.00, exit 0."""
    rows = town_rows()
    rows[0] = titled_header()
    assert (
        "妇女之家活动室面积（m^2）" in rows[0]
        and "单位编码" in rows[0]
        and "总户数（户）" in rows[0]
    )
    office = write_rows(tmp_path / "town.csv", rows)
    got = scored(capsys, office)
    assert got == scored(capsys, TOWN_CSV)
    assert ",huayuan,花园社区,东片,self,105.00," in got[0]


def test_header_forms(tmp_path: Path) -> None:
    """Units in [], （） or (); full-width brackets and spaces in a title; a title that holds （）."""
    rb = load_rulebook(TOWN)
    (tmp_path / "t.csv").write_text(
        "单位编码,组别,妇女之家活动室面积(平方米),年度妇联工作经费[万元],村(社区) 妇联主席,总户数,points:archives.quality\n"
        "u1,东片,120,1.5,王秀英,300,2\n",
        encoding="utf-8",
    )
    es = load_evidence(rb, [tmp_path / "t.csv"])
    assert es.rejected == () and es.warnings == ()
    ev = es.evidence[0]
    assert ev.unit.group == "东片"
    assert ev.values["room_area"] == 120 and ev.values["funds"] == 15000
    assert ev.values["women_director"] == "王秀英" and ev.values["households"] == 300
    assert ev.points == {"archives.quality": 2}


AMBIGUOUS = """
id = "t"
version = "1"
title = "t"
scale = 100
[fields.area]
type = "number"
title = "面积"
[fields.room]
type = "number"
title = "面积"
[fields.books]
type = "count"
title = "area2"
[fields.area2]
type = "count"
title = "图书"
[[categories]]
id = "c"
title = "c"
max = 1
  [[categories.items]]
  id = "a"
  max = 1
  kind = "check"
  when = "area > 0 and room > 0 and books > 0 and area2 > 0"
"""


def test_ambiguous_headers_reject_the_table_naming_both(tmp_path: Path) -> None:
    rb = parse_rulebook(AMBIGUOUS, "<t>")
    assert field_names(rb)["面积"] == [("area", "title"), ("room", "title")]
    (tmp_path / "t.csv").write_text("unit,面积,area2\nu1,1,2\n", encoding="utf-8")
    es = load_evidence(rb, [tmp_path / "t.csv"])
    assert [r.error for r in es.rejected] == [
        f"{tmp_path / 't.csv'}:1: header: column '面积' could be field 'area' (its title) or field 'room' "
        "(its title); head it 'area' for 'area' or 'room' for 'room'\n"
        f"{tmp_path / 't.csv'}:1: header: column 'area2' could be field 'books' (its title) or field 'area2' "
        "(its id); head it 'books' for 'books' or '图书' for 'area2'"
    ]
    # by names only one field has, the same table is read
    (tmp_path / "t.csv").write_text("unit,area,room,books,图书\nu1,1,2,3,4\n", encoding="utf-8")
    es = load_evidence(rb, [tmp_path / "t.csv"])
    assert es.evidence[0].values == {"area": 1, "room": 2, "books": 3, "area2": 4}


def test_id_and_title_of_one_field_are_one_column(tmp_path: Path) -> None:
    rb = load_rulebook(TOWN)
    (tmp_path / "t.csv").write_text("unit,households,总户数（户）\nu1,300,300\n", encoding="utf-8")
    es = load_evidence(rb, [tmp_path / "t.csv"])
    assert [r.error for r in es.rejected] == [
        f"{tmp_path / 't.csv'}:1: header: columns 2 ('households') and 3 ('总户数（户）') both give field "
        "'households'; keep one of them"
    ]


# ------------------------------------------------------- 3: unknown columns


def test_unknown_column_rejects_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = town_rows()
    k = rows[0].index("room_area[m^2]")
    rows[0][k] = "活动室面积（平方米）"  # the title is 妇女之家活动室面积
    path = write_rows(tmp_path / "town.csv", rows)
    for fmt in ("csv", "json"):
        code, _, err = run(capsys, "score", str(TOWN), str(path), "--format", fmt)
        assert code == 1
        assert err == (
            f"拒收：{path}:1: header: 列“活动室面积（平方米）”：未知字段“活动室面积”"
            "（是否想写“妇女之家活动室面积”？）；请用字段的编号或名称作列标题（或用 --ignore-columns 忽略此列）\n"
        )
    code, _, err = run(capsys, "score", str(TOWN), str(path), "--format", "csv", "--ignore-columns")
    assert code == 0
    assert err.startswith(
        f"警告：{path}: 列“活动室面积（平方米）”：未知字段“活动室面积”"
        "（是否想写“妇女之家活动室面积”？）；已忽略此列\n"
    )


def test_reports_in_an_evidence_folder_are_still_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "town.csv").write_bytes(TOWN_CSV.read_bytes())
    code, ranking, _ = run(capsys, "rank", str(TOWN), str(TOWN_CSV), "--format", "csv")
    assert code == 0
    (tmp_path / "排名.csv").write_text(ranking, encoding="utf-8")
    code, out, _ = run(
        capsys, "explain", str(TOWN), str(TOWN_CSV), "--unit", "huayuan", "--format", "csv"
    )
    assert code == 0
    (tmp_path / "explain.csv").write_text(out, encoding="utf-8")
    code, out, err = run(capsys, "rank", str(TOWN), str(tmp_path), "--format", "csv")
    assert code == 0, err
    assert out == ranking
    assert err == (
        f"警告：{tmp_path / 'explain.csv'}: 这是 fulian-eval 的 explain 报告，不是资料；已跳过\n"
        f"警告：{tmp_path / '排名.csv'}: 这是 fulian-eval 的 score or rank 报告，不是资料；已跳过\n"
    )


# ------------------------------------------------------ 4: no evidence at all


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_path_with_no_evidence_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run(capsys, "score", str(TOWN), str(TOWN_CSV), str(empty), "--format", fmt)
    assert (code, out) == (2, "")
    assert err == (
        f"fulian-eval: {empty}: 这个文件夹中没有资料（里面什么也没有）；资料是 .toml、.csv、"
        ".xlsx、.xlsm、.xls 或 .parquet 文件\n"
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "总结.docx").write_bytes(b"PK")
    (docs / "说明.pdf").write_bytes(b"%PDF")
    code, out, err = run(capsys, "score", str(TOWN), str(docs), "--format", fmt)
    assert (code, out) == (2, "")
    assert err == (
        f"fulian-eval: {docs}: 这个文件夹中没有资料（里面只有 .docx, .pdf 文件）；资料是 "
        ".toml、.csv、.xlsx、.xlsm、.xls 或 .parquet 文件\n"
    )
    code, out, err = run(capsys, "score", str(TOWN), str(docs / "总结.docx"), "--format", fmt)
    assert (code, out) == (2, "")
    assert (
        err
        == f"fulian-eval: {docs / '总结.docx'}: 不是资料（应为 .toml、.csv、.xlsx、.xlsm、.xls 或 .parquet 文件）\n"
    )


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_folder_of_reports_only_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, _ = run(capsys, "rank", str(TOWN), str(TOWN_CSV), "--format", "csv")
    (tmp_path / "排名.csv").write_text(out, encoding="utf-8")
    (tmp_path / "units.csv").write_text("unit,name,group\nu1,东桥村,东片\n", encoding="utf-8")
    code, out, err = run(capsys, "score", str(TOWN), str(tmp_path), "--format", fmt)
    assert (code, out) == (2, "")
    assert err == (
        f"fulian-eval: {tmp_path}: 这个文件夹中没有资料；其中每个文件都被跳过：\n"
        f"  {tmp_path / 'units.csv'}: 没有一列是考核细则的字段或“points:”得分列；不是资料\n"
        f"  {tmp_path / '排名.csv'}: 这是 fulian-eval 的 score or rank 报告，不是资料\n"
    )
    code, out, err = run(capsys, "score", str(TOWN), str(tmp_path / "排名.csv"), "--format", fmt)
    assert (code, out) == (2, "")
    assert (
        err
        == f"fulian-eval: {tmp_path / '排名.csv'}: 这是 fulian-eval 的 score or rank 报告，不是资料\n"
    )


def test_no_evidence_from_the_api(tmp_path: Path) -> None:
    rb = load_rulebook(TOWN)
    with pytest.raises(NoEvidence, match="这个文件夹中没有资料"):
        load_evidence(rb, [tmp_path])
    with pytest.raises(NoEvidence, match="这个文件夹中没有资料"):
        score_tables(compile_plan(rb), [tmp_path])
    assert load_evidence(rb, [tmp_path], empty_ok=True).evidence == ()
    # a table with a good header and no rows is evidence (of no unit), not an error
    (tmp_path / "t.csv").write_text("unit,books\n", encoding="utf-8")
    assert load_evidence(rb, [tmp_path]).evidence == ()
    assert len(score_tables(compile_plan(rb), [tmp_path]).table) == 0


# ---------------------------------------------------------------- 5: .xls


def test_xls_scores_as_the_csv(capsys: pytest.CaptureFixture[str]) -> None:
    """tests/data/office/town.xls: town.csv saved as old Excel (numbers as numbers, a date column)."""
    pytest.importorskip(
        "python_calamine", reason="reading .xls needs python-calamine (the 'excel' extra)"
    )
    got = scored(capsys, XLS)
    want = scored(capsys, TOWN_CSV)
    assert got[0] == want[0]
    assert got[1] == want[1].replace("TABLE", "TABLE")
    rb = load_rulebook(TOWN)
    es = load_evidence(rb, [XLS])
    assert len(es.evidence) == 21 and es.rejected == ()
    assert es.evidence[0].source == f"{XLS} row 2"
    assert str(es.evidence[0].assessment.date) == "2026-11-20"


def test_xls_without_calamine_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    code, _, err = run(capsys, "score", str(TOWN), str(XLS), "--format", "csv")
    assert code == 1
    assert err == (
        f"拒收：{XLS}: 无法读取：读取 .xls 需要安装 excel 扩展："
        "pip install 'fulian_eval[excel]'（或把工作簿另存为 .xlsx）\n"
    )


def test_damaged_xls_is_rejected_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("python_calamine")
    bad = tmp_path / "坏.xls"
    bad.write_bytes(XLS.read_bytes()[:3000])
    code, _, err = run(capsys, "score", str(TOWN), str(bad), "--format", "csv")
    assert code == 1
    assert err.startswith(f"拒收：{bad}: 无法读取：不是可读的 .xls 工作簿（")
