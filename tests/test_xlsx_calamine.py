"""XLSX read by python-calamine (issue 12, item 1) against the reading by openpyxl alone.

Every workbook here is read by :func:`read_xlsx` (calamine, with openpyxl for the cells a
scan of the sheet flags) and by :func:`_read_xlsx_openpyxl` (the old reader, cell by cell);
the two give the same header and rows, BadCells with the same messages, or the same
FileProblem — or the difference documented in ``read_xlsx`` and docs/evidence.md, asserted
here as such. Each case also asserts which reader took the sheet (calamine, or openpyxl as
the fallback), so that a scan that falls back everywhere cannot pass for a fast one.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulian_eval.io import tables
from fulian_eval.io.tables import BadCell, FileProblem, _read_xlsx_openpyxl, read_xlsx

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("python_calamine")
xlsxwriter = pytest.importorskip("xlsxwriter")

pytestmark = pytest.mark.usefixtures("english")

SHEET = "xl/worksheets/sheet1.xml"


def plain(got: tuple[list[str], list[tuple[int, list[Any]]]]) -> Any:
    """A reading with each BadCell as (raw, problem), and each value with its type."""
    header, rows = got
    return header, [
        (
            r,
            [
                ("BadCell", c.raw, c.problem) if isinstance(c, BadCell) else (type(c).__name__, c)
                for c in cells
            ],
        )
        for r, cells in rows
    ]


def both(path: Path, *, fast: bool = True) -> Any:
    """The two readings of a workbook, asserted equal; ``fast``: calamine took the sheet."""
    assert (tables.read_xlsx_sheet(path) is not None) is fast
    new, old = plain(read_xlsx(path)), plain(_read_xlsx_openpyxl(path))
    assert new == old
    return new


def problem(path: Path, *, fast: bool = False) -> str:
    """The FileProblem both readers raise for a workbook, asserted the same."""
    with pytest.raises(FileProblem) as new:
        read_xlsx(path)
    with pytest.raises(FileProblem) as old:
        _read_xlsx_openpyxl(path)
    assert str(new.value) == str(old.value)
    return str(new.value)


def book(path: Path, rows: Sequence[Sequence[Any]], title: str = "Sheet", **fmt: str) -> Path:
    """A workbook written by openpyxl (inline strings); ``fmt``: cell -> number format."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(list(r))
    for ref, f in fmt.items():
        ws[ref].number_format = f
    wb.save(path)
    return path


def patched(path: Path, patch: Callable[[str], str], part: str = SHEET) -> Path:
    """Rewrite one part of a workbook (the sheet's XML by default)."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == part:
                data = patch(data.decode("utf-8")).encode("utf-8")
            z.writestr(info.filename, data)
    return path


def numbers_book(path: Path, texts: Sequence[str]) -> Path:
    """One row of number cells whose XML text is exactly ``texts`` (as other writers write them)."""
    rows = [[f"c{k}" for k in range(len(texts))], [424200 + k for k in range(len(texts))]]
    book(path, rows)

    def patch(x: str) -> str:
        for k, t in enumerate(texts):
            x = x.replace(f"<v>{424200 + k}</v>", f"<v>{t}</v>")
        return x

    return patched(path, patch)


# ------------------------------------------------------------------ values


def test_numbers_text_and_bools(tmp_path: Path) -> None:
    got = both(
        book(
            tmp_path / "t.xlsx",
            [
                ["unit", "a", "b", "c", "d", "e", "f", "g"],
                ["u1", 1, 2.0, 2.5, 0.1, 2.675, 1e-7, 1e20],
                ["u2", True, False, " x ", "'=x", "中文", "a　", -0.0],
                ["u3", 12345678901234567890, 2**53 + 1, -7, 1e308, 5e-324, 0.30000000000000004, 3],
            ],
        )
    )
    assert got[1][0][1][1:3] == [("int", 1), ("int", 2)]  # 2.0 is written "2": an int, as before
    assert got[1][2][1][2] == ("int", 2**53)  # openpyxl writes 2**53 + 1 as %.16g


def test_numbers_as_other_writers_write_them(tmp_path: Path) -> None:
    """Whole numbers written with a point or an exponent are floats in openpyxl; so here."""
    texts = [
        "2.0",
        "1E+20",
        "3.",
        "1e3",
        "20E-1",
        "-0",
        "007",
        "1.5",
        "12345678901234567891",
        "2.50",
    ]
    got = both(numbers_book(tmp_path / "t.xlsx", texts))
    kinds = [t for t, _ in got[1][0][1]]
    assert kinds == [
        "float",
        "float",
        "float",
        "float",
        "float",
        "int",
        "int",
        "float",
        "int",
        "float",
    ]
    assert got[1][0][1][8] == ("int", 12345678901234567891)  # exact, not calamine's float


def test_not_finite_and_not_numbers(tmp_path: Path) -> None:
    got = both(numbers_book(tmp_path / "t.xlsx", ["inf", "1E400", "nan", "-Infinity", "5"]))
    cells = got[1][0][1]
    assert cells[0] == (
        "BadCell",
        "inf",
        "cell A2 holds 'inf', which is not a number Excel can hold",
    )
    assert cells[1] == ("BadCell", "1E400", "cell B2 holds 1E400, which is not a finite number")
    assert cells[2][0] == cells[3][0] == "BadCell"
    assert cells[4] == ("int", 5)


def test_formulas_and_errors(tmp_path: Path) -> None:
    path = book(
        tmp_path / "t.xlsx",
        [
            ["unit", "a", "b", "c", "d", "e", "f"],
            ["u1", "=1+3", 424201, 424202, 424203, 424204, 424205],
        ],
    )

    def patch(x: str) -> str:
        return (
            x.replace('<c r="C2" t="n"><v>424201</v></c>', '<c r="C2" t="e"><v>#DIV/0!</v></c>')
            .replace(
                '<c r="D2" t="n"><v>424202</v></c>', '<c r="D2" t="e"><f>NA()</f><v>#N/A</v></c>'
            )
            .replace('<c r="E2" t="n"><v>424203</v></c>', '<c r="E2"><f>2*3</f><v>6</v></c>')
            .replace(
                '<c r="F2" t="n"><v>424204</v></c>',
                '<c r="F2" t="str"><f>"a"&amp;"b"</f><v>ab</v></c>',
            )
            .replace('<c r="G2" t="n"><v>424205</v></c>', '<c r="G2" t = "e"><v>#REF!</v></c>')
        )

    got = both(patched(path, patch))
    cells = got[1][0][1]
    assert cells[1] == (
        "BadCell",
        "=1+3",
        "cell B2 holds a formula with no saved value (=1+3); open and save it in Excel",
    )
    assert cells[2] == (
        "BadCell",
        "#DIV/0!",
        "cell C2 holds the Excel error #DIV/0!; fix it in Excel",
    )
    assert cells[3][:2] == ("BadCell", "#N/A")
    assert cells[4] == ("int", 6)  # a formula's saved value is its value
    assert cells[5] == ("str", "ab")
    assert cells[6][:2] == ("BadCell", "#REF!")  # found whatever the spacing


def test_bools_as_other_writers_write_them(tmp_path: Path) -> None:
    """A bool cell openpyxl cannot read as int(text) is a BadCell; calamine refuses 'T'
    and '2' (openpyxl reads the sheet then) and reads 'true'/'false' as bools, which the
    scan finds by their letters and leaves to openpyxl."""
    rows = [["unit", "a", "b", "c", "d"], ["u1", True, False, True, False]]

    def patch(x: str) -> str:
        x = x.replace('<c r="B2" t="b"><v>1</v>', '<c r="B2" t="b"><v>T</v>')
        return x.replace('<c r="C2" t="b"><v>0</v>', '<c r="C2" t="b"><v>2</v>')

    cells = both(patched(book(tmp_path / "t.xlsx", rows), patch), fast=False)[1][0][1]
    assert cells[1][0] == "BadCell" and cells[2] == ("bool", True)

    def words(x: str) -> str:
        x = x.replace('<c r="B2" t="b"><v>1</v>', '<c r="B2" t="b"><v>true</v>')
        x = x.replace('<c r="C2" t="b"><v>0</v>', '<c r="C2" t="b"><v>false</v>')
        return x.replace('<c r="D2" t="b"><v>1</v>', "<c r=\"D2\" t = 'b'><v>1</v>")

    cells = both(patched(book(tmp_path / "w.xlsx", rows), words))[1][0][1]
    assert cells[1][0] == cells[2][0] == "BadCell"
    assert cells[3:] == [("bool", True), ("bool", False)]


def test_dates_times_durations(tmp_path: Path) -> None:
    got = both(
        book(
            tmp_path / "t.xlsx",
            [
                ["unit", "a", "b", "c", "d", "e", "f"],
                [
                    "u1",
                    dt.datetime(2026, 3, 1, 12, 30),
                    dt.date(2026, 3, 1),
                    dt.time(12, 30),
                    dt.timedelta(days=1, hours=2),
                    0,
                    0.5,
                ],
                ["u2", dt.datetime(1900, 1, 1), dt.date(1900, 3, 1), 45, 46082.75, 59, 61],
            ],
            C2="yyyy-mm-dd",
            F2="yyyy-mm-dd",
            G2="yyyy-mm-dd hh:mm",
            D3="[h]:mm:ss",
            E3="yyyy/m/d h:mm",
            F3="d-mmm-yy",
            G3="mm:ss",
        )
    )
    assert got[1][0][1][2] == ("datetime", dt.datetime(2026, 3, 1))  # calamine alone: a date
    assert got[1][0][1][5] == ("time", dt.time(0, 0))


def test_1904_dates(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", [["unit", "d"], ["u1", dt.date(2026, 3, 1)]], B2="yyyy-mm-dd")
    path = patched(
        path,
        lambda x: x.replace("<workbookPr />", '<workbookPr date1904="1" />'),
        "xl/workbook.xml",
    )
    both(path)


def test_iso_date_cells(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", [["unit", "d"], ["u1", 424242]])
    path = patched(
        path,
        lambda x: x.replace(
            '<c r="B2" t="n"><v>424242</v></c>', '<c r="B2" t="d"><v>2026-03-01T10:00:00</v></c>'
        ),
    )
    assert both(path)[1][0][1][1] == ("datetime", dt.datetime(2026, 3, 1, 10, 0))


def test_shared_rich_and_empty_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    bold = wb.add_format({"bold": True})
    for c, h in enumerate(["unit", "name", "rich", "n", "blank"]):
        ws.write_string(0, c, h)
    ws.write_string(1, 0, "u1")
    ws.write_string(1, 1, " 东桥村 ")
    ws.write_rich_string(1, 2, "东", bold, "桥", "村")
    ws.write_number(1, 3, 4)
    ws.write_string(2, 0, "u2")
    ws.write_string(2, 1, "=SUM(A1)")
    ws.write_number(2, 3, 2.5)
    wb.close()
    got = both(path)
    assert got[1][0][1][:3] == [("str", "u1"), ("str", " 东桥村 "), ("str", "东桥村")]
    assert got[1][1][1][1] == ("str", "=SUM(A1)")


def test_rich_and_phonetic_shared_strings(tmp_path: Path) -> None:
    """Runs of a shared string are joined; its phonetic guide (rPh) is no part of the text."""
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["unit", "name"])
    ws.write_row(1, 0, ["u1", "ZZZ"])
    wb.close()
    runs = (
        '<r><t>东桥</t></r><r><rPr><b/><color rgb="FF0000"/></rPr>'
        '<t xml:space="preserve">村 </t></r><rPh sb="0" eb="1"><t>とう</t></rPh>'
    )
    path = patched(path, lambda x: x.replace("<t>ZZZ</t>", runs), "xl/sharedStrings.xml")
    assert both(path)[1][0][1][1] == ("str", "东桥村 ")


def test_empty_text_cells_are_empty(tmp_path: Path) -> None:
    """Kept difference: a cell of empty text is an empty cell (openpyxl kept it as '')."""
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["unit", "a"])
    ws.write_row(1, 0, ["u1", 1])
    ws.write_string(1, 3, "")  # right of the header: openpyxl's row grows to 4 cells
    ws.write_string(2, 1, "")  # a row of only empty text: openpyxl has a row, calamine none
    wb.close()
    new, old = plain(read_xlsx(path)), plain(_read_xlsx_openpyxl(path))
    assert new != old
    assert old[1] == [
        (2, [("str", "u1"), ("int", 1), ("str", ""), ("str", "")]),
        (3, [("str", ""), ("str", "")]),
    ]
    assert new[1] == [(2, [("str", "u1"), ("int", 1)])]
    # the same evidence: the extra cells were empty either way
    assert [[c for c in cells if c[1] != ""] for _, cells in new[1]] == [
        [c for c in cells if c[1] != ""] for _, cells in old[1][:1]
    ]


def test_spaces_without_preserve(tmp_path: Path) -> None:
    """Kept difference: text written without xml:space="preserve" loses the spaces at its
    ends, as calamine (and Excel) read it; openpyxl kept them. Every cell is read with its
    ends stripped, so the evidence is the same."""
    path = book(tmp_path / "t.xlsx", [["unit", "a", "b", "c"], ["u1", "4242A", "4242B", "4242C"]])
    path = patched(
        path, lambda x: x.replace("4242A", " x ").replace("4242B", "  ").replace("4242C", "a  b\n")
    )
    new, old = plain(read_xlsx(path)), plain(_read_xlsx_openpyxl(path))
    assert old[1][0][1][1:] == [("str", " x "), ("str", "  "), ("str", "a  b\n")]
    assert new[1][0][1][1:] == [("str", "x"), ("str", ""), ("str", "a  b")]
    assert [c[1].strip() for c in new[1][0][1]] == [c[1].strip() for c in old[1][0][1]]


def test_escaped_control_characters(tmp_path: Path) -> None:
    """Kept difference: _x000D_ in a cell's text is a carriage return, as Excel means it, and
    _x005F_ an underscore; openpyxl kept the characters (it unescaped _x005F_ in shared
    strings only)."""
    path = book(tmp_path / "t.xlsx", [["unit", "name"], ["u1", "4242A"], ["u2", "4242B"]])
    path = patched(
        path,
        lambda x: x.replace("4242A", "东桥村_x000D_").replace("4242B", "a_x005F_x000D_b"),
    )
    new, old = plain(read_xlsx(path)), plain(_read_xlsx_openpyxl(path))
    assert old[1][0][1][1] == ("str", "东桥村_x000D_")
    assert new[1][0][1][1] == ("str", "东桥村\r")
    assert old[1][1] == (3, [("str", "u2"), ("str", "a_x005F_x000D_b")])
    assert new[1][1] == (3, [("str", "u2"), ("str", "a_x000D_b")])


# ------------------------------------------------------------- the sheet


def test_merged_cells(tmp_path: Path) -> None:
    path = book(
        tmp_path / "t.xlsx",
        [
            ["unit", "name", "group", "meetings"],
            ["dongqiao", "东桥村", "东片", 2],
            ["shiqiao", "石桥村", None, 3],
            ["taoyuan", "桃园村", None, None],
            ["meiling", "美岭村", "西片", 4],
        ],
    )
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("C2:C4")
    wb.active.merge_cells("D4:E5")
    wb.save(path)
    got = both(path)
    assert [cells[2] for _, cells in got[1][:3]] == [("str", "东片")] * 3
    wb = openpyxl.load_workbook(path)
    wb.active.merge_cells("A1:A2")
    wb.save(path)
    assert "merged across the header row" in problem(path, fast=True)


def test_data_sheet_chosen(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["这是说明"])
    ws = wb.create_sheet("填报")
    ws.append(["unit", "meetings"])
    ws.append(["u1", 3])
    wb.save(path)
    assert both(path) == (["unit", "meetings"], [(2, [("str", "u1"), ("int", 3)])])


def test_data_not_at_a1(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    wb.active["C3"] = 5
    wb.active["B1"] = "unit"
    wb.save(path)
    both(path)


def test_cells_past_excel_and_far_away(tmp_path: Path) -> None:
    path = book(tmp_path / "t.xlsx", [["unit", "a"], ["u1", 1]])
    far = patched(
        path,
        lambda x: x.replace(
            "</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
    )
    # A span of 17 billion cells from A1: openpyxl reads it cell by cell (calamine would
    # hold the span densely and abort the process).
    assert tables.read_xlsx_sheet(far) is None
    assert both(far, fast=False)[1][-1][0] == 1048576
    wide = book(tmp_path / "w.xlsx", [["unit", "a"], ["u1", 1]])
    wide = patched(wide, lambda x: x.replace('r="B2"', 'r="XFE2"'))
    assert "outside Excel's columns" in problem(wide)
    tall = book(tmp_path / "h.xlsx", [["unit", "a"], ["u1", 1]])
    tall = patched(tall, lambda x: x.replace('<c r="B2"', '<c r="B1048577"'))
    # openpyxl files a cell under its <row>'s number; calamine is not asked (past Excel's rows)
    assert tables.read_xlsx_sheet(tall) is None
    assert both(tall, fast=False)[1][0][0] == 2


def test_too_many_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = book(tmp_path / "t.xlsx", [["unit", "a"], *[[f"u{k}", k] for k in range(60)]])
    monkeypatch.setattr(tables, "MAX_XLSX_CELLS", 100)
    assert "more than 100 cells" in problem(path, fast=True)


def test_xml_the_scan_does_not_vouch_for(tmp_path: Path) -> None:
    """Prefixed elements, a cell without its reference first, a reference with a leading
    zero: openpyxl reads. (Rows out of order calamine reads, as openpyxl does.)"""
    base = [["unit", "a"], ["u1", 1], ["u2", 2]]
    cases = {
        "prefix": lambda x: x.replace(
            "<sheetData>",
            '<sheetData xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
        ).replace('<c r="B2" t="n"><v>1</v></c>', '<x:c r="B2" t="n"><x:v>1</x:v></x:c>'),
        "no-ref": lambda x: x.replace('<c r="B2" t="n">', '<c t="n">'),
        "ref-later": lambda x: x.replace('<c r="B2" t="n">', '<c t="n" r="B2">'),
        "order": lambda x: (
            x.replace('<row r="2">', '<row r="9">')
            .replace('r="A2"', 'r="A9"')
            .replace('r="B2"', 'r="B9"')
        ),
    }
    for name, patch in cases.items():
        path = patched(book(tmp_path / f"{name}.xlsx", base), patch)
        assert (tables.read_xlsx_sheet(path) is None) is (name != "order"), name
        assert plain(read_xlsx(path)) == plain(_read_xlsx_openpyxl(path))


# ----------------------------------------------------------- bad files


def test_damaged_and_locked_and_protected(tmp_path: Path) -> None:
    ok = book(tmp_path / "ok.xlsx", [["unit", "a"], ["u1", 1]])
    broken = patched(
        book(tmp_path / "broken.xlsx", [["unit", "a"], ["u1", 1]]),
        lambda x: x.replace("</sheetData>", "<row </sheetData>"),
    )
    assert "is damaged (ParseError" in problem(broken)
    lock = tmp_path / "~$ok.xlsx"
    lock.write_bytes(b"\x0bclerk" + b" " * 50)
    assert "lock file" in problem(lock)
    # A workbook saved with a password is an OLE compound file, not a zip.
    ole = tmp_path / "secret.xlsx"
    ole.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    assert "not a readable .xlsx workbook" in problem(ole)
    bad_string = patched(
        book(tmp_path / "s.xlsx", [["unit", "a"], ["u1", 1]]),
        lambda x: x.replace(
            '<c r="A2" t="inlineStr"><is><t>u1</t></is></c>', '<c r="A2" t="s"><v>7</v></c>'
        ),
    )
    assert "refers to shared string '7'" in problem(bad_string)
    both(ok)


# ------------------------------------------------------------ property

CELL = st.one_of(
    st.none(),
    st.integers(min_value=-(10**17), max_value=10**17),
    st.sampled_from([0.1, 2.675, 1e-7, 1e15, 1e16 + 2, 123456789.125, -0.5, 1e300, 0.0]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet=st.sampled_from(list("ab 东桥村=+-'.\"<>&\t\n1")), max_size=8),
    st.booleans(),
    st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.datetimes(min_value=dt.datetime(1901, 1, 1), max_value=dt.datetime(2099, 12, 31)),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=6), min_size=1, max_size=6),
    shared=st.booleans(),
)
def test_random_cells(tmp_path: Path, rows: list[list[Any]], shared: bool) -> None:
    path = tmp_path / "r.xlsx"
    if shared:  # xlsxwriter: shared strings, numbers as %.16g
        wb = xlsxwriter.Workbook(
            str(path), {"strings_to_formulas": False, "strings_to_numbers": False}
        )
        ws = wb.add_worksheet()
        date = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        ws.write_row(0, 0, ["unit", *[f"c{k}" for k in range(6)]])
        for r, row in enumerate(rows, start=1):
            ws.write_string(r, 0, f"u{r}")
            for c, v in enumerate(row, start=1):
                if v is None:
                    continue
                if isinstance(v, (dt.date, dt.datetime)):
                    ws.write_datetime(r, c, v, date)
                elif isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, int) and abs(v) > 2**53:
                    ws.write_number(r, c, float(v))
                else:
                    ws.write_number(r, c, v)
        wb.close()
    else:  # openpyxl: inline strings, numbers by repr
        book(
            path,
            [["unit", *[f"c{k}" for k in range(6)]]]
            + [[f"u{r}", *row] for r, row in enumerate(rows, start=1)],
        )
    new, old = plain(read_xlsx(path)), plain(_read_xlsx_openpyxl(path))
    assert tables.read_xlsx_sheet(path) is not None
    assert new[0] == old[0]
    if new != old:  # the kept differences a random sheet can show: empty text is no cell,
        # and text openpyxl wrote without xml:space="preserve" loses its end spaces
        assert any(
            (c[0] == "str" and c[1] != c[1].strip(" \t\n\r")) or c == ("str", "")
            for _, cells in old[1]
            for c in cells
        )
        assert unpadded(new, strip=True) == unpadded(old, strip=True)


def unpadded(got: Any, *, strip: bool = False) -> list[tuple[int, list[Any]]]:
    """Rows without trailing empty cells, and without rows of nothing (``strip``: text
    stripped of XML's spaces at its ends, as every cell is read)."""
    out = []
    for r, cells in got[1]:
        cells = [("str", c[1].strip(" \t\n\r")) if strip and c[0] == "str" else c for c in cells]
        while cells and cells[-1] == ("str", ""):
            cells.pop()
        if cells:
            out.append((r, cells))
    return out


# ------------------------------------------------------ the streamed path


@pytest.mark.parametrize("chunk", [16384, 5])
def test_plain_sheet_streams_through_arrow_like_loading(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet with no cell openpyxl must read (no dates, merges, formulas) is scored from
    Arrow text columns: the same reports as the per-unit path, and as the same table in CSV.
    Numbers, decimals (0.1, 2.675, 1e-05), blanks, TRUE/FALSE, a number where text or a set
    belongs, text in a number column, a row longer than the header, a unit id typed as a number."""
    from fulian_eval.io.load import load_rulebook
    from fulian_eval.scoring import stream
    from test_stream import _town_rows, assert_same

    town = load_rulebook(Path(__file__).resolve().parents[1] / "rules" / "town-village-2026.toml")
    rows = _town_rows()
    header = list(rows[0])
    col = {h.split("[")[0]: k for k, h in enumerate(header)}
    path = tmp_path / "town.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("填报")
    ws.write_row(0, 0, header)
    n = 0
    for k, r in enumerate(list(rows[1:]) * 4):
        cells: list[Any] = []
        for c in r:
            try:
                cells.append(int(c))
            except ValueError:
                try:
                    cells.append(float(c))
                except ValueError:
                    cells.append(c)
        cells[0] = f"{r[0]}{k}" if k % 9 else 7000 + k  # a unit id Excel holds as a number
        if k % 5 == 0:
            cells[col["has_plate"]] = k % 2 == 0
        if k % 7 == 0:
            cells[col["women_director"]] = 12345
        if k % 11 == 0:
            cells[col["registers"]] = 3.5
        if k % 17 == 0:
            cells[col["books"]] = None
        if k % 19 == 0:
            cells[col["funds"]] = 1e-05 if k % 2 else 2.675
        if k % 23 == 0:
            cells[col["meetings"]] = True
        if k % 29 == 0:
            cells[col["trainings"]] = "12次"
        if k % 31 == 0:
            cells.append("extra")  # right of the header
        for c, v in enumerate(cells):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(k + 1, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(k + 1, c, v)
            else:
                ws.write_string(k + 1, c, v)
        n += 1
    wb.close()
    sheet = tables.read_xlsx_sheet(path)
    assert sheet is not None and sheet.table() is not None  # the Arrow route, not RowsTask
    seen: list[int] = []
    real = stream._sheet_rows

    def spy(*a: Any, **k: Any) -> None:
        seen.append(len(a[3]))
        real(*a, **k)

    monkeypatch.setattr(stream, "_sheet_rows", spy)
    res = assert_same(town, [path], chunk=chunk)
    assert_same(town, [path], strict=True, chunk=chunk)
    assert seen and seen[0] == n  # every row through the Arrow route
    assert len(res.table) > 40 and res.rejected
    assert res.table.settled < len(res.table) / 2  # most rows went through the columns
