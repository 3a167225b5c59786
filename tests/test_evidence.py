"""Evidence (SPEC §3): TOML files, CSV/XLSX tables, folders, rejections that stay local."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from fulian_eval import (
    Evidence,
    EvidenceError,
    EvidenceSet,
    Rulebook,
    load_evidence,
    parse_evidence,
    parse_rulebook,
    score,
)

F = Fraction

RULEBOOK = textwrap.dedent("""
    schema = "fulian-eval/rulebook/1"
    id = "ev"
    version = "1"

    [fields.population]
    type = "count"
    unit = "人"
    [fields.area]
    type = "quantity"
    unit = "m^2"
    [fields.funds]
    type = "quantity"
    unit = "元"
    [fields.docs]
    type = "set"
    [fields.has_sign]
    type = "bool"

    [[categories]]
    id = "c"
      [[categories.items]]
      id = "sign"
      max = 2
      kind = "check"
      field = "has_sign"
      [[categories.items]]
      id = "quality"
      max = 4
      kind = "manual"
      step = 0.5
      [[categories.items]]
      id = "docs"
      max = 2
      kind = "deduct"
      field = "docs"
      required = ["a", "b"]
      [[categories.items]]
      id = "area"
      max = 2
      kind = "threshold"
      field = "area"
      at_least = 100
      [[categories.items]]
      id = "funds"
      max = 10
      kind = "count"
      field = "funds"
      each = 0.001
      [[categories.items]]
      id = "pop"
      max = 1
      kind = "threshold"
      field = "population"
      at_least = 1
""")


def rulebook() -> Rulebook:
    return parse_rulebook(RULEBOOK)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def toml_unit(uid: str, values: str = "population = 100", extra: str = "") -> str:
    return f'[unit]\nid = "{uid}"\nname = "{uid}村"\ngroup = "东片"\n{extra}\n[values]\n{values}\n'


def by_unit(es: EvidenceSet) -> dict[str, Evidence]:
    return {e.unit.id: e for e in es.evidence}


CSV_HEADER = (
    "unit,name,group,role,population,area[m^2],funds[万元],docs,has_sign,points:c.quality\n"
)


# ------------------------------------------------------------------- tables


def test_csv_header_units_sets_bools_points(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "t.csv",
        CSV_HEADER
        + "u1,一村,东片,self,1200,120,0.85,a;b,是,3.5\n"
        + "u2,二村,西片,peer,800,0.012 hectare,5000 元,a； b ;,否,4\n",
    )
    es = load_evidence(rulebook(), [csv])
    assert es.rejected == ()
    ev = by_unit(es)
    u1, u2 = ev["u1"], ev["u2"]
    assert u1.unit.name == "一村" and u1.unit.group == "东片" and u1.role == "self"
    assert u1.values["population"] == F(1200)
    assert u1.values["area"] == F(120)  # column in m^2
    assert u1.values["funds"] == F(8500)  # 0.85 万元 = 8500 元
    assert u1.values["docs"] == frozenset({"a", "b"})  # ';' separated
    assert u1.values["has_sign"] is True  # 是
    assert u1.points == {"c.quality": F("3.5")}  # points:c.quality column
    assert u2.role == "peer"
    assert u2.values["area"] == F(120)  # 0.012 hectare = 120 m²
    assert u2.values["funds"] == F(5000)  # 5000 元 in a 万元 column stays 5000 元
    assert u2.values["docs"] == frozenset({"a", "b"})  # full-width ； and stray separators
    assert u2.values["has_sign"] is False  # 否
    assert u2.points == {"c.quality": F(4)}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", True),
        ("否", False),
        ("有", True),
        ("无", False),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
    ],
)
def test_csv_bools(tmp_path: Path, cell: str, expected: bool) -> None:
    csv = write(tmp_path / "b.csv", f"unit,has_sign\nu1,{cell}\n")
    es = load_evidence(rulebook(), [csv])
    assert es.rejected == ()
    assert es.evidence[0].values["has_sign"] is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("有", True),
        ("无", False),
        ("是", True),
        ("否", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
    ],
)
def test_toml_bools(raw: Any, expected: bool) -> None:
    ev = parse_evidence(rulebook(), {"unit": {"id": "u"}, "values": {"has_sign": raw}})
    assert ev.values["has_sign"] is expected


def test_csv_empty_cells_are_missing(tmp_path: Path) -> None:
    csv = write(tmp_path / "t.csv", CSV_HEADER + "u3,三村,东片,,,,,,,\n")
    rb = rulebook()
    es = load_evidence(rb, [csv])
    assert es.rejected == ()
    ev = es.evidence[0]
    assert ev.role == "self"  # empty role -> default self
    assert dict(ev.values) == {}
    assert dict(ev.points) == {}
    r = score(rb, ev)
    assert {i.status for i in r.items} == {"missing"}
    assert r.total == F(0)


def test_bad_row_rejects_only_that_row(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "town.csv",
        CSV_HEADER
        + "u1,一村,东片,self,1200,120,0.85,a;b,是,3.5\n"
        + "u2,二村,东片,self,abc,120,0.85,a;b,是,3.5\n"
        + "u3,三村,东片,self,-5,120,0.85,a;b,是,3.5\n"
        + "u4,四村,东片,self,900,120,0.85,a;b,是,3.5\n",
    )
    es = load_evidence(rulebook(), [csv])
    assert sorted(by_unit(es)) == ["u1", "u4"]
    assert len(es.rejected) == 2
    bad_abc, bad_neg = es.rejected
    # the header is row 1, so u2 is "row 3" and u3 is "row 4"
    assert "town.csv row 3" in bad_abc.error
    assert "population" in bad_abc.error
    assert "abc" in bad_abc.error
    assert bad_abc.source.endswith("town.csv row 3")
    assert "town.csv row 4" in bad_neg.error
    assert "population" in bad_neg.error
    assert "-5" in bad_neg.error


def test_csv_fractional_count_and_wrong_dimension_rejected(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "t.csv",
        "unit,population,area\nu1,2.5,10\nu2,10,5 人\nu3,10,12 parsnips\nu4,10,10\n",
    )
    es = load_evidence(rulebook(), [csv])
    assert list(by_unit(es)) == ["u4"]
    errors = [r.error for r in es.rejected]
    assert len(errors) == 3
    assert "row 2" in errors[0] and "population" in errors[0] and "2.5" in errors[0]
    assert "row 3" in errors[1] and "area" in errors[1] and "5 人" in errors[1]
    assert "row 4" in errors[2] and "area" in errors[2] and "parsnips" in errors[2]


def test_duplicate_unit_and_role_rejected(tmp_path: Path) -> None:
    csv = write(tmp_path / "t.csv", "unit,role,population\nu1,self,10\nu1,town,20\nu1,self,30\n")
    es = load_evidence(rulebook(), [csv])
    kept = sorted((e.role, e.values["population"]) for e in es.evidence)
    assert kept == [("self", F(10)), ("town", F(20))]
    assert len(es.rejected) == 1
    assert "u1" in es.rejected[0].error
    assert "row 4" in es.rejected[0].source


def test_duplicate_unit_across_toml_files(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", toml_unit("u1"))
    write(tmp_path / "b.toml", toml_unit("u1"))
    write(tmp_path / "c.toml", toml_unit("u1", extra='[assessment]\nrole = "peer"\n'))
    es = load_evidence(rulebook(), [tmp_path])
    assert sorted(e.role for e in es.evidence) == ["peer", "self"]
    assert len(es.rejected) == 1
    assert "b.toml" in es.rejected[0].error
    assert "u1" in es.rejected[0].error


def test_unknown_column_rejects_the_table(tmp_path: Path) -> None:
    csv = write(tmp_path / "t.csv", "unit,population,colour\nu1,10,red\n")
    es = load_evidence(rulebook(), [csv])
    assert es.evidence == () and es.warnings == ()
    assert [r.error for r in es.rejected] == [
        f"{csv}:1: header: 列“colour”：未知字段“colour”；请用字段的编号或名称作列标题（或用 --ignore-columns 忽略此列）"
    ]


def test_unknown_column_warns_with_ignore_columns(tmp_path: Path) -> None:
    csv = write(tmp_path / "t.csv", "unit,population,colour\nu1,10,red\n")
    es = load_evidence(rulebook(), [csv], ignore_columns=True)
    assert es.rejected == ()
    assert es.evidence[0].values == {"population": F(10)}
    assert list(es.warnings) == [f"{csv}: 列“colour”：未知字段“colour”；已忽略此列"]


def test_unknown_column_rejected_when_strict(tmp_path: Path) -> None:
    csv = write(
        tmp_path / "t.csv",
        "unit,population,area,funds,docs,has_sign,points:c.quality,colour\n"
        "u1,10,10,10,a,是,1,red\n",
    )
    es = load_evidence(rulebook(), [csv], strict=True)
    assert es.evidence == ()
    assert len(es.rejected) == 1
    assert "colour" in es.rejected[0].error


def test_unknown_toml_key_warns_and_strict_rejects(tmp_path: Path) -> None:
    f = write(tmp_path / "u1.toml", toml_unit("u1", "population = 10\npopulaton = 11\n"))
    es = load_evidence(rulebook(), [f])
    assert es.rejected == ()
    assert es.evidence[0].values == {"population": F(10)}
    assert any("populaton" in w for w in es.warnings)
    es = load_evidence(rulebook(), [f], strict=True)
    assert es.evidence == ()
    assert "populaton" in es.rejected[0].error
    assert "u1.toml" in es.rejected[0].error


FULL_VALUES = 'population = 10\narea = 120\nfunds = 500\ndocs = ["a"]\nhas_sign = true\n'


def test_strict_rejects_approximate_figures(tmp_path: Path) -> None:
    f = write(
        tmp_path / "u1.toml",
        toml_unit("u1", FULL_VALUES.replace("population = 10", 'population = "1000余"'))
        + '[points]\n"c.quality" = 2\n',
    )
    es = load_evidence(rulebook(), [f])
    assert es.rejected == ()
    assert es.evidence[0].values["population"] == F(1000)
    assert any("1000余" in flag for flag in es.evidence[0].flags)
    es = load_evidence(rulebook(), [f], strict=True)
    assert es.evidence == ()
    assert "1000余" in es.rejected[0].error
    assert "population" in es.rejected[0].error


def test_strict_rejects_missing_values(tmp_path: Path) -> None:
    full = write(
        tmp_path / "full.toml", toml_unit("full", FULL_VALUES) + '[points]\n"c.quality" = 2\n'
    )
    gap = write(
        tmp_path / "gap.toml", toml_unit("gap", "population = 10\n") + '[points]\n"c.quality" = 2\n'
    )
    csv = write(
        tmp_path / "t.csv",
        "unit,population,area,funds,docs,has_sign,points:c.quality\n"
        "c1,10,10,10,a,是,1\n"
        "c2,10,,10,a,是,1\n",
    )
    es = load_evidence(rulebook(), [full, gap, csv])
    assert sorted(by_unit(es)) == ["c1", "c2", "full", "gap"]
    es = load_evidence(rulebook(), [full, gap, csv], strict=True)
    assert sorted(by_unit(es)) == ["c1", "full"]
    errors = " | ".join(r.error for r in es.rejected)
    assert "gap.toml" in errors and "area" in errors
    assert "t.csv row 3" in errors


@pytest.mark.parametrize(
    ("raw", "value"), [("1000余", F(1000)), ("160多", F(160)), ("近100", F(100))]
)
def test_approximate_figures_flagged(raw: str, value: Fraction) -> None:
    ev = parse_evidence(rulebook(), {"unit": {"id": "u"}, "values": {"population": raw}})
    assert ev.values["population"] == value
    assert any(raw in flag for flag in ev.flags)


def test_exact_figures_not_flagged() -> None:
    ev = parse_evidence(rulebook(), {"unit": {"id": "u"}, "values": {"population": "8659 人"}})
    assert ev.values["population"] == F(8659)
    assert ev.flags == ()


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("area", "0.012 hectare", F(120)),
        ("area", "120 m^2", F(120)),
        ("area", 120, F(120)),
        ("funds", "1.2 万元", F(12000)),
        ("funds", "0.85 万元", F(8500)),
        ("funds", 4200, F(4200)),
    ],
)
def test_toml_units_converted(key: str, raw: Any, value: Fraction) -> None:
    ev = parse_evidence(rulebook(), {"unit": {"id": "u"}, "values": {key: raw}})
    assert ev.values[key] == value


def test_toml_sets_and_roles() -> None:
    ev = parse_evidence(
        rulebook(),
        {
            "unit": {"id": "u"},
            "assessment": {"role": "town", "assessor": "镇妇联"},
            "values": {"docs": ["a", "b", "a"]},
        },
    )
    assert ev.values["docs"] == frozenset({"a", "b"})
    assert ev.role == "town"
    assert parse_evidence(rulebook(), {"unit": {"id": "u"}}).role == "self"


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("area", "12 kg"),  # wrong dimension
        ("area", "5 人"),  # wrong dimension
        ("population", "2.5"),  # fractional count
        ("population", -12),  # negative count
        ("population", "lots"),  # not a number
        ("funds", "3 parsnips"),  # unknown unit
        ("has_sign", "maybe"),  # not a yes/no
    ],
)
def test_bad_toml_value_names_file_key_and_value(tmp_path: Path, key: str, raw: Any) -> None:
    shown = f'"{raw}"' if isinstance(raw, str) else str(raw)
    bad = write(tmp_path / "bad.toml", toml_unit("bad", f"{key} = {shown}\n"))
    good = write(tmp_path / "good.toml", toml_unit("good"))
    es = load_evidence(rulebook(), [bad, good])
    assert list(by_unit(es)) == ["good"]
    assert len(es.rejected) == 1
    err = es.rejected[0].error
    assert "bad.toml" in err
    assert f"values.{key}" in err
    assert str(raw) in err


def test_bad_manual_points_named(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", toml_unit("bad") + '[points]\n"c.quality" = 1.25\n')
    es = load_evidence(rulebook(), [bad])
    assert es.evidence == ()
    err = es.rejected[0].error
    assert "bad.toml" in err and "c.quality" in err and "1.25" in err


# ---------------------------------------------------------------------- xlsx


def test_xlsx_gives_the_same_as_csv(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    header = [
        "unit",
        "name",
        "group",
        "role",
        "population",
        "area[m^2]",
        "funds[万元]",
        "docs",
        "has_sign",
        "points:c.quality",
    ]
    rows: list[list[Any]] = [
        ["u1", "一村", "东片", "self", 1200, 120, 0.85, "a;b", "是", 3.5],
        ["u2", "二村", "西片", "peer", 800, "0.012 hectare", "5000 元", "a", "否", 4],
        ["u3", "三村", "东片", None, None, None, None, None, None, None],
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    xlsx = tmp_path / "t.xlsx"
    wb.save(xlsx)

    def cell(v: Any) -> str:
        return "" if v is None else str(v)

    csv = write(
        tmp_path / "t.csv",
        ",".join(header) + "\n" + "".join(",".join(cell(v) for v in r) + "\n" for r in rows),
    )
    from_x = load_evidence(rulebook(), [xlsx])
    from_c = load_evidence(rulebook(), [csv])
    assert from_x.rejected == () and from_c.rejected == ()
    x, c = by_unit(from_x), by_unit(from_c)
    assert sorted(x) == sorted(c) == ["u1", "u2", "u3"]
    for uid in x:
        assert x[uid].unit == c[uid].unit
        assert x[uid].role == c[uid].role
        assert dict(x[uid].values) == dict(c[uid].values)
        assert dict(x[uid].points) == dict(c[uid].points)
    # and the values are right, not merely equal: 0.85 万元 = 8500 元 (no float residue)
    assert x["u1"].values["funds"] == F(8500)
    assert x["u1"].points == {"c.quality": F("3.5")}
    assert x["u2"].values["area"] == F(120)


def test_xlsx_bad_row_named(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["unit", "population"])
    ws.append(["u1", 10])
    ws.append(["u2", -3])
    xlsx = tmp_path / "book.xlsx"
    wb.save(xlsx)
    es = load_evidence(rulebook(), [xlsx])
    assert list(by_unit(es)) == ["u1"]
    err = es.rejected[0].error
    assert "book.xlsx row 3" in err and "population" in err and "-3" in err


# ------------------------------------------------------------------- folders


def test_folders_expanded_and_rulebooks_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    write(folder / "u1.toml", toml_unit("u1"))
    write(folder / "sub" / "u2.toml", toml_unit("u2"))
    write(folder / "table.csv", "unit,population\nu3,30\n")
    write(folder / "scheme.toml", RULEBOOK)  # a rulebook beside the evidence: skipped
    write(folder / "notes.txt", "not evidence")
    es = load_evidence(rulebook(), [folder])
    assert es.rejected == ()
    assert sorted(by_unit(es)) == ["u1", "u2", "u3"]
    assert by_unit(es)["u3"].values["population"] == F(30)


def test_files_and_folders_mixed(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.toml", toml_unit("a"))
    single = write(tmp_path / "b.toml", toml_unit("b"))
    es = load_evidence(rulebook(), [tmp_path / "d", single])
    assert sorted(by_unit(es)) == ["a", "b"]


def test_undecodable_file_rejected_others_load(tmp_path: Path) -> None:
    # GBK is read (issue 13 case 16); bytes that are neither UTF-8 nor GB18030 are not.
    (tmp_path / "gbk.toml").write_bytes(toml_unit("gbk").encode("gbk"))
    (tmp_path / "latin.toml").write_bytes(
        b'[unit]\nid = "latin"\nname = "caf\xe9,"\n[values]\npopulation = 1\n'
    )
    write(tmp_path / "ok.toml", toml_unit("ok"))
    es = load_evidence(rulebook(), [tmp_path])
    assert list(by_unit(es)) == ["gbk", "ok"]
    assert by_unit(es)["gbk"].unit.name == "gbk村"
    assert len(es.rejected) == 1
    assert "latin.toml" in es.rejected[0].error
    assert "latin.toml" in es.rejected[0].source
    assert "请把文件另存为 UTF-8（Excel：“CSV UTF-8”）" in es.rejected[0].error


def test_invalid_toml_rejected_others_load(tmp_path: Path) -> None:
    write(tmp_path / "broken.toml", '[unit\nid = "x"\n')
    write(tmp_path / "ok.toml", toml_unit("ok"))
    es = load_evidence(rulebook(), [tmp_path])
    assert list(by_unit(es)) == ["ok"]
    assert len(es.rejected) == 1
    assert "broken.toml" in es.rejected[0].error


def test_undecodable_csv_rejected_others_load(tmp_path: Path) -> None:
    (tmp_path / "gbk.csv").write_bytes("unit,name,population\nu9,九村,10\n".encode("gbk"))
    (tmp_path / "latin.csv").write_bytes(b"unit,name,population\nu8,caf\xe9,10\n")
    write(tmp_path / "ok.toml", toml_unit("ok"))
    es = load_evidence(rulebook(), [tmp_path])
    assert list(by_unit(es)) == ["u9", "ok"]
    assert [r.error for r in es.rejected] == [
        f"{tmp_path / 'latin.csv'}: 无法读取：既不是 UTF-8 文本（第 27 字节），也不是 GB18030/GBK；"
        "请把文件另存为 UTF-8（Excel：“CSV UTF-8”）"
    ]


def test_missing_path_rejected(tmp_path: Path) -> None:
    ok = write(tmp_path / "ok.toml", toml_unit("ok"))
    es = load_evidence(rulebook(), [ok, tmp_path / "nope.toml"])
    assert list(by_unit(es)) == ["ok"]
    assert "nope.toml" in es.rejected[0].error


def test_parse_evidence_collects_every_problem() -> None:
    with pytest.raises(EvidenceError) as exc:
        parse_evidence(
            rulebook(),
            {"unit": {"id": "u"}, "values": {"population": -1, "area": "3 kg"}},
            "x.toml",
        )
    msg = str(exc.value)
    assert "values.population" in msg and "-1" in msg
    assert "values.area" in msg and "3 kg" in msg
    assert len(exc.value.problems) == 2


def test_csv_with_bom_and_approximate_figures(tmp_path: Path) -> None:
    # Excel saves UTF-8 CSV with a BOM; the first header must still be "unit"
    (tmp_path / "t.csv").write_bytes("unit,population\nu1,160多\nu2,近100\n".encode("utf-8-sig"))
    es = load_evidence(rulebook(), [tmp_path / "t.csv"])
    assert es.rejected == ()
    ev = by_unit(es)
    assert ev["u1"].values["population"] == F(160)
    assert ev["u2"].values["population"] == F(100)
    assert any("160多" in f for f in ev["u1"].flags)
    assert any("近100" in f for f in ev["u2"].flags)


def test_counting_words_keep_their_dimension() -> None:
    rb = parse_rulebook(
        RULEBOOK.replace(
            "[fields.has_sign]", '[fields.meetings]\ntype = "count"\nunit = "次"\n[fields.has_sign]'
        )
    )
    ev = parse_evidence(rb, {"unit": {"id": "u"}, "values": {"meetings": "3 次"}})
    assert ev.values["meetings"] == F(3)
    with pytest.raises(EvidenceError) as exc:
        parse_evidence(rb, {"unit": {"id": "u"}, "values": {"meetings": "3 册"}})  # 册 is not 次
    assert "values.meetings" in str(exc.value) and "3 册" in str(exc.value)


def test_pint_units_accepted() -> None:
    # 0.0001 km² = 100 m²; "100平方米" = 100 m²
    for raw in ("0.0001 km**2", "0.0001 km^2", "100平方米", "0.01 hectare"):
        ev = parse_evidence(rulebook(), {"unit": {"id": "u"}, "values": {"area": raw}})
        assert ev.values["area"] == F(100), raw


def test_corrupt_xlsx_rejected_others_load(tmp_path: Path) -> None:
    (tmp_path / "~$town.xlsx").write_bytes(b"\x00not a zip file")
    write(tmp_path / "ok.toml", toml_unit("ok"))
    es = load_evidence(rulebook(), [tmp_path])
    assert list(by_unit(es)) == ["ok"]
    assert len(es.rejected) == 1
    assert "~$town.xlsx" in es.rejected[0].error


def test_evidence_schema_key_accepted(tmp_path: Path) -> None:
    f = write(tmp_path / "u1.toml", 'schema = "fulian-eval/evidence/1"\n' + toml_unit("u1"))
    es = load_evidence(rulebook(), [f])
    assert es.rejected == ()
    assert list(by_unit(es)) == ["u1"]


def test_unknown_unit_key_warns_and_strict_rejects(tmp_path: Path) -> None:
    f = write(tmp_path / "u1.toml", toml_unit("u1", extra='leader = "张三"\n'))
    es = load_evidence(rulebook(), [f])
    assert es.rejected == ()
    assert list(by_unit(es)) == ["u1"]
    assert any("leader" in w for w in es.warnings)
    es = load_evidence(rulebook(), [f], strict=True)
    assert es.evidence == ()
    assert "leader" in es.rejected[0].error
