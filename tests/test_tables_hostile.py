"""Hostile and careless evidence files (issue 13: cases 1, 3, 4, 12, 13, 15, 16, 17, 19).

Every table case is checked on both paths — loading unit by unit and the streamed
tables — which must give the same units, rejections (word for word) and warnings;
most through ``assert_same`` of ``test_stream``, which also compares the reports
byte for byte. Runs that could hang (a FIFO) go through a subprocess under a timeout.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from fulian_eval import load_evidence, load_rulebook
from fulian_eval.cli.app import main
from fulian_eval.io import tables as _tables
from fulian_eval.model.rulebook import Rulebook
from fulian_eval.scoring.columnar import compile_plan
from fulian_eval.scoring.stream import score_tables
from test_stream import assert_same

# These tests are about the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
TOWN_RB = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_EVIDENCE = ROOT / "examples" / "town" / "evidence"


@pytest.fixture(scope="module")
def town() -> Rulebook:
    return load_rulebook(TOWN_RB)


def town_lines() -> list[str]:
    return TOWN_CSV.read_text(encoding="utf-8-sig").splitlines()


def header() -> list[str]:
    return town_lines()[0].split(",")


def col(name: str) -> int:
    return [h.split("[")[0] for h in header()].index(name)


def write_lines(path: Path, lines: Sequence[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def set_cell(line: str, k: int, value: str) -> str:
    cells = line.split(",")
    cells[k] = value
    return ",".join(cells)


def loaded(
    rb: Rulebook, paths: Sequence[Path], ignore_columns: bool = False
) -> tuple[list[str], list[str], list[str]]:
    """Units, rejection errors and warnings — the same on both paths (asserted)."""
    es = load_evidence(rb, paths, ignore_columns=ignore_columns)
    res = score_tables(compile_plan(rb), paths, chunk=4, ignore_columns=ignore_columns)
    want = ([e.unit.id for e in es.evidence], [r.error for r in es.rejected], list(es.warnings))
    got = (list(res.table.unit), [r.error for r in res.rejected], list(res.warnings))
    assert got == want
    return want


def town_ids() -> list[str]:
    return [line.split(",")[0] for line in town_lines()[1:]]


# ------------------------------------------------------------ 1: quoting


def test_stray_quote_running_to_the_end_rejects_the_table(town: Rulebook, tmp_path: Path) -> None:
    """Case 1: a quote opening the name cell of row 5 used to swallow rows 5–22 into one cell (exit 0)."""
    lines = town_lines()
    k = col("name")
    lines[4] = set_cell(lines[4], k, '"' + lines[4].split(",")[k])
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units == []
    assert errors == [
        f'{path}: cannot read: row 5: a quote (") opens a cell at line 5 that is never closed, '
        "so lines 5–22 (the end of the file) would be one cell; fix the quoting"
    ]
    assert_same(town, [path])
    assert (
        main(
            [
                "score",
                str(TOWN_RB),
                str(path),
                str(TOWN_EVIDENCE),
                "--format",
                "csv",
                "-o",
                str(tmp_path / "out.csv"),
            ]
        )
        == 1
    )


def test_stray_quotes_joining_rows_reject_that_row(town: Rulebook, tmp_path: Path) -> None:
    """Two stray quotes join rows 5–8 into one cell: row 5 is rejected naming the lines; the rest score."""
    lines = town_lines()
    k = col("name")
    lines[4] = set_cell(lines[4], k, '"' + lines[4].split(",")[k])
    lines[7] = set_cell(lines[7], k, lines[7].split(",")[k] + '"')
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    ids = town_ids()
    assert units == ids[:3] + ids[7:]
    assert errors == [
        f"{path} row 5: lines 5–8: the cell in column 'name' holds line breaks and a line with "
        f'{len(header()) - 1} commas, like a whole row: a stray quote (") has joined rows into '
        "one cell; fix the quoting"
    ]
    assert_same(town, [path], chunk=3)


def test_quoted_cell_with_a_line_break_is_fine(town: Rulebook, tmp_path: Path) -> None:
    lines = town_lines()
    lines[1] = set_cell(lines[1], col("women_director"), '"王\n秀英, 李\n桂英"')
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units == town_ids() and errors == []
    assert load_evidence(town, [path]).evidence[0].raw["women_director"] == "王\n秀英, 李\n桂英"


def test_text_after_a_closing_quote_rejects_the_row(town: Rulebook, tmp_path: Path) -> None:
    lines = town_lines()
    lines[2] = set_cell(lines[2], col("name"), '"石桥"村')
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units == [u for u in town_ids() if u != "shiqiao"]
    assert errors == [
        f"{path} row 3: line 3: a quoted cell goes on after its closing quote "
        "(',' expected after '\"'); write \"\" for a quote inside a quoted cell, or quote the "
        "whole cell"
    ]


def test_unclosed_quote_on_the_last_line_rejects_that_row(town: Rulebook, tmp_path: Path) -> None:
    lines = town_lines()
    lines[-1] = set_cell(lines[-1], col("name"), '"' + lines[-1].split(",")[col("name")])
    path = tmp_path / "town.csv"
    path.write_text("\n".join(lines), encoding="utf-8")  # no line break at the end
    units, errors, _ = loaded(town, [path])
    assert units == town_ids()[:-1]
    assert errors == [
        f'{path} row 22: line 22: a quote (") opens a cell that is never closed; fix the quoting'
    ]


# ------------------------------------------------------- 17: rows and columns


def test_short_row_is_rejected_naming_the_counts(town: Rulebook, tmp_path: Path) -> None:
    """Case 17: a short row used to score with its later fields missing, without a word."""
    lines = town_lines()
    lines[3] = ",".join(lines[3].split(",")[:10])
    lines[5] = lines[5] + ",,,"  # trailing empty cells are fine
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units == [u for u in town_ids() if u != "taoyuan"]
    n = len(header())
    assert errors == [
        f"{path} row 4: 10 cells, but the header names {n} columns; give every column "
        "(an empty cell for no value)"
    ]
    assert_same(town, [path], chunk=2)


def test_cells_right_of_the_header_reject_the_row(town: Rulebook, tmp_path: Path) -> None:
    lines = town_lines()
    lines[2] = lines[2] + ",3"
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert "shiqiao" not in units and len(units) == 20
    n = len(header())
    assert errors == [
        f"{path} row 3: {n + 1} cells, but the header names {n} columns, and a cell right of the "
        "last column holds something: a comma in a cell that is not quoted?"
    ]


@pytest.mark.parametrize(
    ("second", "what"),
    [
        ("meetings", "field 'meetings'"),
        ("funds[万元]", "field 'funds'"),
        ("group", "the 'group' column"),
    ],
)
def test_repeated_column_rejects_the_table(
    town: Rulebook, tmp_path: Path, second: str, what: str
) -> None:
    """Case 17: a repeated column used to let the second silently win."""
    lines = town_lines()
    first = next(h for h in header() if h.split("[")[0] == second.split("[")[0])
    k = header().index(first)
    lines = [lines[0] + "," + second] + [line + "," + line.split(",")[k] for line in lines[1:]]
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units == []
    assert errors == [
        f"{path}:1: header: columns {k + 1} ('{first}') and {len(header()) + 1} ('{second}') "
        f"both give {what}; keep one of them"
    ]


def test_long_cell_is_read_and_a_huge_one_rejects_its_row(town: Rulebook, tmp_path: Path) -> None:
    """Case 17: one cell over 131,072 characters used to reject the whole table without naming a row."""
    lines = town_lines()
    lines[0] += ",remark"
    lines[1:] = [line + "," for line in lines[1:]]
    lines[2] += "x" * 200_000  # read (and ignored: not a field)
    lines[3] += "y" * (_tables.MAX_CELL_CHARS + 10)  # more than any cell may hold
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, warnings = loaded(town, [path], ignore_columns=True)
    assert units == [u for u in town_ids() if u != "taoyuan"]
    assert errors == [f"{path} row 4: line 4: a cell of more than 1,048,576 characters"]
    assert warnings == [f"{path}: column 'remark': unknown field 'remark'; column ignored"]


def test_a_million_columns_are_refused_at_once(town: Rulebook, tmp_path: Path) -> None:
    """Case 17: a 1,000,000-column header took 68 s and printed a million warnings."""
    path = tmp_path / "wide.csv"
    path.write_text(
        "unit," + ",".join(f"c{k}" for k in range(999_999)) + "\na," + "," * 999_998 + "\n",
        encoding="utf-8",
    )
    units, errors, warnings = loaded(town, [path, TOWN_CSV])
    assert units == town_ids() and warnings == []
    assert errors == [
        f"{path}: cannot read: the header has 1,000,000 columns; a table may have at most 16,384"
    ]


def test_many_unknown_columns_give_few_warnings(town: Rulebook, tmp_path: Path) -> None:
    lines = town_lines()
    lines = [lines[0] + "".join(f",note{k}" for k in range(5000))] + [
        line + "," * 5000 for line in lines[1:]
    ]
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, warnings = loaded(town, [path], ignore_columns=True)
    assert units == town_ids() and errors == []
    assert len(warnings) == 11
    assert (
        warnings[-1]
        == f"{path}: 4,990 more columns that are not fields ('note10', 'note11', 'note12' …); columns ignored"
    )
    units, errors, warnings = loaded(
        town, [path]
    )  # without --ignore-columns: the table is rejected
    assert units == [] and warnings == []
    assert len(errors) == 1 and len(errors[0].splitlines()) == 11
    assert (
        errors[0].splitlines()[-1]
        == f"{path}:1: header: 4,990 more columns that are not fields ('note10', 'note11', 'note12' …)"
    )


# ------------------------------------------------------------ 16: encodings


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-8-sig"])
def test_csv_in_chinese_excel_encodings_scores_as_utf8(
    town: Rulebook, tmp_path: Path, encoding: str
) -> None:
    """Case 16: GBK, GB18030 and UTF-16 CSV got "'utf-8' codec can't decode byte 0xbb"."""
    lines = town_lines()
    if encoding == "gb18030":  # a character GBK does not have
        lines[1] = set_cell(lines[1], col("name"), "东桥村𠀾")
    path = write_lines(tmp_path / "town.csv", lines, encoding)
    want = write_lines(tmp_path / "utf8.csv", lines)
    ref = load_evidence(town, [want])
    got = load_evidence(town, [path])
    assert [(e.unit, e.values) for e in got.evidence] == [(e.unit, e.values) for e in ref.evidence]
    assert got.rejected == ()
    assert_same(town, [path], chunk=5)


@pytest.mark.parametrize("encoding", ["gbk", "utf-16"])
def test_toml_in_other_encodings(town: Rulebook, tmp_path: Path, encoding: str) -> None:
    src = (TOWN_EVIDENCE / "dongqiao.toml").read_text(encoding="utf-8")
    (tmp_path / "dongqiao.toml").write_bytes(src.encode(encoding))
    got = load_evidence(town, [tmp_path / "dongqiao.toml"])
    ref = load_evidence(town, [TOWN_EVIDENCE / "dongqiao.toml"])
    assert got.rejected == () and got.evidence[0].unit == ref.evidence[0].unit
    assert got.evidence[0].values == ref.evidence[0].values


def test_undecodable_csv_is_rejected_on_both_paths(town: Rulebook, tmp_path: Path) -> None:
    """Not UTF-8, and not GB18030 as a whole: rejected, naming the byte and how to save the file."""
    good = "\n".join(town_lines()[:3]).encode("utf-8")
    path = tmp_path / "bad.csv"
    path.write_bytes(
        good + b"\nzz,caf\xe9,\xff\n" + b"\n".join(line.encode() for line in town_lines()[3:])
    )
    units, errors, _ = loaded(town, [path, TOWN_EVIDENCE / "dongqiao.toml"])
    assert units == ["dongqiao"]
    assert errors == [
        f"{path}: cannot read: not UTF-8 text (byte {len(good) + 7}), nor GB18030/GBK; "
        "save the file as UTF-8 (Excel: 'CSV UTF-8')"
    ]


def test_broken_utf16_is_rejected(town: Rulebook, tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("unit,books\na,1\n".encode("utf-16") + b"\x00\xdc")
    _, errors, _ = loaded(town, [path])
    assert errors == [
        f"{path}: cannot read: starts as UTF-16 text (its BOM) but byte 32 is not UTF-16; "
        "save the file as UTF-8 (Excel: 'CSV UTF-8')"
    ]


# -------------------------------------------------------------- 19: NFC ids


def test_nfc_and_nfd_ids_are_one_unit(town: Rulebook, tmp_path: Path) -> None:
    """Case 19: the NFC and NFD forms of one id were two units."""
    nfd = unicodedata.normalize("NFD", "café")
    assert nfd != "café"
    lines = town_lines()
    lines[1] = set_cell(lines[1], 0, "café")
    lines[2] = set_cell(
        set_cell(lines[2], 0, nfd), col("group"), unicodedata.normalize("NFD", "东片é")
    )
    lines[3] = set_cell(lines[3], col("group"), "东片é")
    path = write_lines(tmp_path / "town.csv", lines)
    units, errors, _ = loaded(town, [path])
    assert units.count("café") == 1 and nfd not in units
    assert errors == [
        f"{path} row 3: unit 'café' (self) was already given in {path} row 2; each unit once per role"
    ]
    es = load_evidence(town, [path])
    assert {e.unit.group for e in es.evidence if e.unit.id == "taoyuan"} == {"东片é"}
    toml = tmp_path / "t.toml"
    toml.write_text(
        f'[unit]\nid = "{nfd}"\ngroup = "{unicodedata.normalize("NFD", "é")}"\n[values]\nbooks = 1\n',
        encoding="utf-8",
    )
    got = load_evidence(town, [toml])
    assert got.evidence[0].unit.id == "café" and got.evidence[0].unit.group == "é"
    assert_same(town, [path, toml])


# ---------------------------------------------------------- 4: files only


def _run(args: Sequence[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-m", "fulian_eval", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_in_a_folder_or_named_is_rejected_not_waited_for(tmp_path: Path) -> None:
    """Case 4: a FIFO hung the run (waiting for a writer that never comes)."""
    folder = tmp_path / "ev"
    folder.mkdir()
    for f in ("dongqiao.toml", "shiqiao.toml"):
        (folder / f).write_bytes((TOWN_EVIDENCE / f).read_bytes())
    os.mkfifo(folder / "pipe.csv")
    os.mkfifo(tmp_path / "named.toml")
    run = _run(["score", str(TOWN_RB), "ev", "named.toml", "--format", "csv"], tmp_path, timeout=60)
    assert run.returncode == 1, run.stderr
    assert (
        "rejected: ev/pipe.csv: cannot read: a FIFO (named pipe), not a regular file; evidence must be a file"
        in run.stderr
    )
    assert (
        "rejected: named.toml: cannot read: a FIFO (named pipe), not a regular file" in run.stderr
    )
    assert "dongqiao" in run.stdout and "shiqiao" in run.stdout
    assert "Traceback" not in run.stderr


def test_device_and_oversized_files_are_not_read(town: Rulebook, tmp_path: Path) -> None:
    """Case 4: /dev/zero as evidence read for ever; a file is read only up to its limit."""
    (tmp_path / "zero.toml").symlink_to("/dev/zero")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    with (tmp_path / "huge.toml").open("wb") as f:
        f.truncate(_tables.MAX_TOML_BYTES + 1)  # sparse: takes no disk
    paths = [
        tmp_path / "zero.toml",
        tmp_path / "zero.csv",
        tmp_path / "huge.toml",
        TOWN_EVIDENCE / "dongqiao.toml",
    ]
    units, errors, _ = loaded(town, paths)
    assert units == ["dongqiao"]
    assert errors == [
        f"{tmp_path / 'zero.csv'}: cannot read: a character device, not a regular file; evidence must be a file",
        f"{tmp_path / 'zero.toml'}: cannot read: a character device, not a regular file; evidence must be a file",
        f"{tmp_path / 'huge.toml'}: cannot read: 16,777,217 bytes; an evidence file like this may hold at most "
        "16,777,216 bytes",
    ]


def test_dangling_link_in_a_folder_is_named(town: Rulebook, tmp_path: Path) -> None:
    (tmp_path / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    (tmp_path / "dongqiao.toml").write_bytes((TOWN_EVIDENCE / "dongqiao.toml").read_bytes())
    units, errors, _ = loaded(town, [tmp_path])
    assert units == ["dongqiao"]
    assert errors == [f"{tmp_path / 'gone.csv'}: no such file or folder"]


# --------------------------------------------------------- 15: our reports


def test_reports_in_the_evidence_folder_are_skipped(town: Rulebook, tmp_path: Path) -> None:
    """Case 15: a report saved beside the evidence was scored (0.00 不合格) and the real files rejected."""
    ev = tmp_path / "ev"
    ev.mkdir()
    for f in sorted(TOWN_EVIDENCE.glob("*.toml"))[:6]:
        (ev / f.name).write_bytes(f.read_bytes())
    before = load_evidence(town, [ev])
    out = tmp_path / "out"
    out.mkdir()
    for fmt, name in (("csv", "score.csv"), ("xlsx", "score.xlsx")):
        assert main(["score", str(TOWN_RB), str(ev), "--format", fmt, "-o", str(out / name)]) == 0
    assert (
        main(["rank", str(TOWN_RB), str(ev), "--format", "csv", "-o", str(out / "rank.csv")]) == 0
    )
    for p in out.iterdir():
        (ev / p.name).write_bytes(p.read_bytes())
    (ev / "units.csv").write_bytes((ROOT / "examples" / "town" / "units.csv").read_bytes())
    units, errors, warnings = loaded(town, [ev])
    assert units == [e.unit.id for e in before.evidence] and errors == []
    assert warnings == [
        f"{ev / 'rank.csv'}: a fulian-eval score or rank report, not evidence; skipped",
        f"{ev / 'score.csv'}: a fulian-eval score or rank report, not evidence; skipped",
        f"{ev / 'score.xlsx'}: a fulian-eval score or rank report, not evidence; skipped",
        f"{ev / 'units.csv'}: no column is a field of the rulebook or a points: column; "
        "not evidence; skipped",
    ]
    assert_same(town, [ev])


# ------------------------------------------------------------ XLSX (3, 12, 13, 19)


def make_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]],
    patch: Callable[[str], str] | None = None,
    merges: Sequence[str] = (),
    parts: dict[str, str] | None = None,
) -> Path:
    """A workbook of ``rows``; ``patch`` rewrites the sheet's XML, ``parts`` replace whole parts."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(list(r))
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if parts and info.filename in parts:
                data = parts[info.filename].encode("utf-8")
            elif patch is not None and info.filename == "xl/worksheets/sheet1.xml":
                data = patch(data.decode("utf-8")).encode("utf-8")
            z.writestr(info.filename, data)
    return path


def town_table(n: int = 6) -> list[list[object]]:
    rows: list[list[object]] = [header()]
    for line in town_lines()[1 : n + 1]:
        cells: list[object] = []
        for c in line.split(","):
            try:
                cells.append(int(c))
            except ValueError:
                cells.append(c)
        rows.append(cells)
    return rows


def test_damaged_sheet_xml_rejects_that_workbook_only(town: Rulebook, tmp_path: Path) -> None:
    """Case 3: a damaged sheet killed the whole run (exit 2, nobody scored)."""
    path = make_xlsx(
        tmp_path / "t.xlsx",
        town_table(),
        patch=lambda x: x.replace("</sheetData>", "<row </sheetData>"),
    )
    units, errors, _ = loaded(town, [path, TOWN_CSV])
    assert units == town_ids()
    assert len(errors) == 1 and errors[0].startswith(
        f"{path}: cannot read: the sheet 'Sheet' is damaged (ParseError: "
    )
    assert (
        main(
            [
                "score",
                str(TOWN_RB),
                str(path),
                str(TOWN_CSV),
                "--format",
                "csv",
                "-o",
                str(tmp_path / "o.csv"),
            ]
        )
        == 1
    )


def test_workbook_without_a_worksheet_is_rejected(town: Rulebook, tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "t.xlsx",
        town_table(),
        patch=None,
        parts={
            "xl/workbook.xml": (
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                "<sheets/></workbook>"
            )
        },
    )
    units, errors, _ = loaded(town, [path, TOWN_CSV])
    assert units == town_ids()
    assert errors == [f"{path}: cannot read: the workbook has no worksheet"]


def test_bad_shared_string_index_rejects_the_workbook(town: Rulebook, tmp_path: Path) -> None:
    def patch(x: str) -> str:  # A1 points at a shared string the workbook does not have
        return x.replace(
            '<c r="A1" t="inlineStr"><is><t>unit</t></is></c>', '<c r="A1" t="s"><v>99999</v></c>'
        )

    path = make_xlsx(tmp_path / "t.xlsx", town_table(), patch=patch)
    units, errors, _ = loaded(town, [path, TOWN_CSV])
    assert units == town_ids()
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{path}: cannot read: the workbook is damaged: cell A1 refers to shared string "
        "'99999', but there are "
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("1E400", "cell L3 holds 1E400, which is not a finite number"),
        ("inf", "cell L3 holds 'inf', which is not a number Excel can hold"),
        ("nan", "cell L3 holds 'nan', which is not a number Excel can hold"),
    ],
)
def test_number_cell_that_is_not_finite_rejects_its_row(
    town: Rulebook, tmp_path: Path, raw: str, problem: str
) -> None:
    """Cases 3 and 19: 1E400 killed the run; inf rejected the workbook with "invalid literal for int()"."""
    rows = town_table()
    rows[2][col("meetings")] = 424242

    path = make_xlsx(
        tmp_path / "t.xlsx", rows, patch=lambda x: x.replace("<v>424242</v>", f"<v>{raw}</v>")
    )
    units, errors, _ = loaded(town, [path])
    assert units == [r[0] for r in rows[1:] if r[0] != "shiqiao"]
    assert errors == [f"{path} row 3: column 'meetings': {problem}"]
    assert_same(town, [path], chunk=2)


def test_merged_group_cells_give_every_row_the_group(town: Rulebook, tmp_path: Path) -> None:
    """Case 12: merged 片区 cells gave the merged rows group ""."""
    rows = town_table()
    g = col("group")
    for r in rows[2:5]:
        r[g] = None
    path = make_xlsx(tmp_path / "t.xlsx", rows, merges=["C2:C5"])
    es = load_evidence(town, [path])
    assert [e.unit.group for e in es.evidence] == [r[g] for r in town_table()[1:]]
    assert es.rejected == ()
    assert_same(town, [path], chunk=2)


def test_merge_across_the_header_is_refused(town: Rulebook, tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "t.xlsx", town_table(), merges=["A1:A2"])
    _, errors, _ = loaded(town, [path])
    assert errors == [
        f"{path}: cannot read: cells A1:A2 of the sheet 'Sheet' are merged across the header row; "
        "the header must be a row of its own: unmerge them"
    ]


def test_formula_without_a_saved_value_rejects_its_row(town: Rulebook, tmp_path: Path) -> None:
    """Case 12: an uncached formula was read as missing evidence."""
    rows = town_table()
    rows[2][col("meetings")] = (
        "=1+3"  # openpyxl saves formulas without a value, as a generator would
    )
    rows[3][col("meetings")] = "=1+4"
    path = make_xlsx(
        tmp_path / "t.xlsx",
        rows,  # ... and as Excel does: L3 as <v/>, L4 with its value
        patch=lambda x: x.replace("<f>1+4</f><v />", "<f>1+4</f><v>5</v>"),
    )
    units, errors, _ = loaded(town, [path])
    assert units == [r[0] for r in rows[1:] if r[0] != "shiqiao"]
    assert errors == [
        f"{path} row 3: column 'meetings': cell L3 holds a formula with no saved value (=1+3); "
        "open and save it in Excel"
    ]
    assert load_evidence(town, [path]).evidence[2].values["meetings"] == 5
    assert_same(town, [path], chunk=2)


def test_excel_error_cell_rejects_its_row(town: Rulebook, tmp_path: Path) -> None:
    rows = town_table()
    rows[2][col("meetings")] = 424242
    path = make_xlsx(
        tmp_path / "t.xlsx",
        rows,
        patch=lambda x: x.replace(
            '<c r="L3" t="n"><v>424242</v>', '<c r="L3" t="e"><v>#DIV/0!</v>'
        ),
    )
    units, errors, _ = loaded(town, [path])
    assert errors == [
        f"{path} row 3: column 'meetings': cell L3 holds the Excel error #DIV/0!; fix it in Excel"
    ]
    assert "shiqiao" not in units


def test_shared_strings_bomb_is_refused_at_once(town: Rulebook, tmp_path: Path) -> None:
    """Case 13: 3 MB of zip, 1 GB of strings took 160 s and 2.8 GB, then MemoryError."""
    path = make_xlsx(tmp_path / "bomb.xlsx", town_table())
    big = _tables.MAX_XLSX_PART + 1
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/sharedStrings.xml", "w") as f,
    ):
        chunk = b"<si><t>" + b"a" * 65536 + b"</t></si>"
        written = 0
        while written < big:
            f.write(chunk)
            written += len(chunk)
    assert path.stat().st_size < 2**20
    units, errors, _ = loaded(town, [path, TOWN_CSV])
    assert units == town_ids()
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{path}: cannot read: the workbook's part xl/sharedStrings.xml unpacks to "
    )
    assert errors[0].endswith(f"bytes; at most {_tables.MAX_XLSX_PART:,} (save the sheet as CSV)")


def test_cells_beyond_the_bound_are_refused(
    town: Rulebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tables, "MAX_XLSX_CELLS", 100)
    path = make_xlsx(tmp_path / "t.xlsx", town_table(6))
    _, errors, _ = loaded(town, [path])
    assert errors == [
        f"{path}: cannot read: the sheet 'Sheet' has more than 100 cells; save it as CSV"
    ]


def test_a_far_away_cell_does_not_blow_up(town: Rulebook, tmp_path: Path) -> None:
    """openpyxl pads every row to the sheet's width and fills every missing row: a cell at
    XFD1048576 would make 17 billion cells. Rows are read as they are."""

    def patch(x: str) -> str:
        x = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', x)
        return x.replace(
            "</sheetData>",
            '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
            "</row></sheetData>",
        )

    path = make_xlsx(tmp_path / "t.xlsx", town_table(3), patch=patch)
    units, errors, _ = loaded(town, [path])
    assert units == town_ids()[:3]
    assert errors == [f"{path} row 1048576: unit: empty unit id"]
