"""Fuzz the evidence readers through the CLI (issue 13, "How to test it").

The bundled town table (CSV), one village TOML file and an XLSX workbook made
from the table are mutated byte-wise (flip, insert, delete) and structurally
(duplicate or drop lines, swap cells, empty cells, quotes, odd unicode, huge
numbers). Each mutant is scored by ``python -m fulian_eval score`` in a
subprocess under a timeout, and whatever happens:

- no traceback, no "internal error" (内部错误), exit status 0, 1 or 2, within the time bound;
- a report comes out, and exit 0 only when nothing was rejected;
- every unit of the input is scored or rejected by name (its id, or its file when
  the whole file is rejected): none silently disappears;
- every row (file) the mutation did not touch scores exactly as before (compared
  with the run on the unmutated input), or is rejected by name.

Slow: run with ``-m slow`` (about 75 s on two cores); ``FULIAN_FUZZ_EXAMPLES=200`` hunts longer with fresh
random examples instead of the fixed ones.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = ROOT / "rules" / "town-village-2026.toml"
TOWN = ROOT / "examples" / "town" / "town.csv"
VILLAGE = ROOT / "examples" / "town" / "evidence" / "baisha.toml"
OTHER = (
    ROOT / "examples" / "town" / "evidence" / "hetang.toml"
)  # scored next to the mutant: must not change
TIMEOUT = 60  # seconds: the time bound of one run of these small inputs (a hang fails the test)

# CI runs the same 18 examples per test; FULIAN_FUZZ_EXAMPLES=200 hunts with fresh random ones.
_HUNT = os.environ.get("FULIAN_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_HUNT or 18),
    deadline=None,
    derandomize=_HUNT is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values a careless or hostile file holds.
ODD_CELLS = [
    "",
    " ",
    '"',
    'a"b',
    '""',
    "'",
    ",",
    "\n",
    "\r\n",
    "9" * 5000,
    "1" + "0" * 400,
    "1e400",
    "-1e400",
    "1e999999999",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e5",
    "0x10",
    "１２",
    "5\u00a0",
    "\u200b",
    "\ufeff",
    "e\u0301",
    "\u202e321",
    "𠀀",
    '=HYPERLINK("http://x")',
    "+1",
    "@SUM(A1)",
    "120 m*10**10**10",
    "120 m^2",
    "5 kg",
    "是",
    "否",
    "true",
    "工作活动记录簿;;",
    ";",
    "x" * 140_000,
    "\x00",
    "\x1b[31m",
    "2026-13-45",
    "1,000",
    "  7  ",
]
ODD_BYTES = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xe4\xb8",
    "\u202e".encode(),
    b"9" * 400,
    b"1e400",
    b"nan",
    b"=",
    b"[",
    b"]",
    b"{",
    b"'''",
    b'"""',
    b"\\",
    b"#",
    b" = ",
    b"\t",
]


# ---------------------------------------------------------------- running


def run(cwd: Path, *files: str, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "fulian_eval", "score", str(RULEBOOK), *files, "--format", fmt],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=TIMEOUT,
    )
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert "内部错误" not in p.stderr, p.stderr[-3000:]  # fulian-eval: internal error (Chinese)
    assert p.returncode in (0, 1, 2), (p.returncode, p.stderr[-3000:])
    return p


def json_report(p: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert p.returncode != 2, (
        f"the whole run failed instead of rejecting the bad input:\n{p.stderr[-2000:]}"
    )
    doc: dict[str, Any] = json.loads(p.stdout)
    if p.returncode == 0:
        assert doc["rejected"] == [], "exit 0 with something rejected"
    else:
        assert doc["rejected"], f"exit 1 with nothing rejected:\n{p.stderr[-2000:]}"
    return doc


def scored(doc: dict[str, Any]) -> dict[str, Any]:
    """unit id → what its score is made of (not its rank or source: those depend on the other rows)."""
    out: dict[str, Any] = {}
    for u in doc["units"]:
        out[u["unit"]] = (
            u["name"],
            u["group"],
            u["role"],
            u["total"],
            u["grade"],
            u["vetoed"],
            [(c["id"], c["score"], c["applicable"]) for c in u["categories"]],
            [(i["id"], i["points"], i["status"], i["reason"]) for i in u["items"]],
        )
    return out


def csv_rows(text: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    head = rows[0]
    skip = {head.index("rank"), head.index("group_rank")}
    return {
        r[head.index("unit")]: [x for i, x in enumerate(r) if i not in skip] for r in rows[1:] if r
    }


_BASE: dict[str, Any] = {}


def baseline(name: str, make: Callable[[Path], list[str]]) -> Any:
    """The report of the unmutated input (once per session)."""
    if name not in _BASE:
        with tempfile.TemporaryDirectory() as tmp:
            files = make(Path(tmp))
            doc = json_report(run(Path(tmp), *files))
            assert doc["rejected"] == [], doc["rejected"]
            rows = csv_rows(run(Path(tmp), *files, fmt="csv").stdout)
            _BASE[name] = (scored(doc), rows)
    return _BASE[name]


def check_accounting(
    doc: dict[str, Any],
    file: str,
    expected: dict[str, bool],
    base: dict[str, Any],
    p_csv: subprocess.CompletedProcess[str] | None,
    base_csv: dict[str, list[str]],
) -> None:
    """``expected``: unit id → untouched? Each is scored (untouched: exactly as before) or rejected by name."""
    got = scored(doc)
    whole_file = [
        r for r in doc["rejected"] if not r["unit"] and file in (r["source"] + r["error"])
    ]
    named = " ".join(r["unit"] + " " + r["error"] for r in doc["rejected"])
    lost: list[str] = []  # touched units whose id may itself have been mutated away
    for unit, untouched in expected.items():
        if unit in got:
            if untouched:
                assert got[unit] == base[unit], f"untouched unit {unit!r} scored differently"
            continue
        if whole_file or unit in named:
            continue
        assert not untouched, (
            f"untouched unit {unit!r} neither scored nor rejected by name: {doc['rejected']}"
        )
        lost.append(unit)
    # each of those must show up as something: a rejection of another name (its row) or a unit under a new id
    others = [r for r in doc["rejected"] if r["unit"] not in expected or r["unit"] in got] + [
        u for u in got if u not in expected
    ]
    assert len(lost) <= len(others), f"units {lost} neither scored nor rejected: {doc['rejected']}"
    if p_csv is not None:
        assert p_csv.returncode == (0 if not doc["rejected"] else 1), p_csv.stderr[-2000:]
        rows = csv_rows(p_csv.stdout) if p_csv.stdout.strip() else {}
        assert set(rows) == set(got), "the CSV and JSON reports score different units"
        for unit, untouched in expected.items():
            if untouched and unit in rows:
                assert rows[unit] == base_csv[unit], f"untouched unit {unit!r}: CSV row changed"


# ------------------------------------------------------------- byte mutations

byte_op = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(
        st.just("insert"),
        st.integers(0, 10**6),
        st.one_of(st.sampled_from(ODD_BYTES), st.binary(min_size=1, max_size=4)),
    ),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
)


def mutate_bytes(data: bytes, ops: list[tuple[Any, ...]]) -> tuple[bytes, list[tuple[int, int]]]:
    """Apply the operations; also return the byte ranges (in the original) that they touched."""
    buf = bytearray(data)
    spans: list[tuple[int, int]] = []
    # apply from the highest position down so earlier positions keep their meaning
    placed = sorted(((op[1] % (len(data) + 1), op) for op in ops), key=lambda x: -x[0])
    for pos, op in placed:
        if op[0] == "flip" and pos < len(buf):
            buf[pos] ^= 1 << op[2]
            spans.append((pos, pos + 1))
        elif op[0] == "insert":
            buf[pos:pos] = op[2]
            spans.append((max(0, pos - 1), pos + 1))
        elif op[0] == "delete":
            del buf[pos : pos + op[2]]
            spans.append((pos, pos + op[2]))
    return bytes(buf), spans


def lines_touched(data: bytes, spans: list[tuple[int, int]]) -> set[int]:
    """Indices of the lines (0 = header) a set of byte ranges reaches into (a line's own newline included)."""
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    touched: set[int] = set()
    for a, b in spans:
        for n, s in enumerate(starts):
            e = starts[n + 1] if n + 1 < len(starts) else len(data) + 1
            if a < e and b > s:
                touched.add(n)
    return touched


def town_units() -> list[str]:
    return [r[0] for r in csv.reader(io.StringIO(TOWN.read_text(encoding="utf-8")))][1:]


def make_town(tmp: Path) -> list[str]:
    (tmp / "town.csv").write_bytes(TOWN.read_bytes())
    return ["town.csv"]


@FUZZ
@given(st.lists(byte_op, min_size=1, max_size=3), st.booleans())
def test_fuzz_csv_bytes(ops: list[tuple[Any, ...]], also_csv: bool) -> None:
    base, base_csv = baseline("town", make_town)
    data = TOWN.read_bytes()
    new, spans = mutate_bytes(data, ops)
    touched = lines_touched(data, spans)
    units = town_units()
    expected = {u: (0 not in touched and n + 1 not in touched) for n, u in enumerate(units)}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "town.csv").write_bytes(new)
        doc = json_report(run(Path(tmp), "town.csv"))
        p_csv = run(Path(tmp), "town.csv", fmt="csv") if also_csv else None
    check_accounting(doc, "town.csv", expected, base, p_csv, base_csv)


# -------------------------------------------------------- structural (CSV)

row_op = st.one_of(
    st.tuples(st.just("dup"), st.integers(1, 21)),
    st.tuples(st.just("drop"), st.integers(1, 21)),
    st.tuples(st.just("swap"), st.integers(1, 21), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("set"), st.integers(0, 21), st.integers(0, 50), st.sampled_from(ODD_CELLS)),
    st.tuples(st.just("quote"), st.integers(1, 21), st.integers(0, 50)),
    st.tuples(st.just("short"), st.integers(1, 21), st.integers(0, 50)),
)


def mutate_rows(
    rows: list[list[str]], ops: list[tuple[Any, ...]]
) -> tuple[list[list[str]], set[int]]:
    """Row-level mutations of a table; returns the new rows and the touched original row indices (0 = header)."""
    tagged = [(i, list(r)) for i, r in enumerate(rows)]
    touched: set[int] = set()
    for op in ops:
        kind, n = op[0], op[1] % len(tagged)
        orig, cells = tagged[n]
        if kind == "dup" and n > 0:
            tagged.insert(n + 1, (orig, list(cells)))
            touched.add(orig)
        elif kind == "drop" and n > 0:
            del tagged[n]
            touched.add(orig)
        elif kind == "swap":
            a, b = op[2] % len(cells), op[3] % len(cells)
            cells[a], cells[b] = cells[b], cells[a]
            if cells[a] != cells[b]:
                touched.add(orig)
        elif kind == "set":
            cells[op[2] % len(cells)] = op[3]
            touched.add(orig)
        elif kind == "quote":
            c = op[2] % len(cells)
            cells[c] = '"' + cells[c]  # written raw below: a stray quote at the start of a cell
            touched.add(orig)
        elif kind == "short":
            del cells[op[2] % len(cells) :]
            touched.add(orig)
    return [c for _, c in tagged], touched


def write_raw(rows: list[list[str]]) -> bytes:
    """CSV text as a careless program writes it: quote only where a comma or newline needs it (and not '"x')."""

    def cell(x: str) -> str:
        if ("," in x or "\n" in x or "\r" in x) and not x.startswith('"'):
            return '"' + x.replace('"', '""') + '"'
        return x

    return "".join(",".join(cell(x) for x in r) + "\n" for r in rows).encode("utf-8")


@FUZZ
@given(st.lists(row_op, min_size=1, max_size=3), st.booleans())
def test_fuzz_csv_structure(ops: list[tuple[Any, ...]], also_csv: bool) -> None:
    base, base_csv = baseline("town", make_town)
    rows = list(csv.reader(io.StringIO(TOWN.read_text(encoding="utf-8"))))
    new, touched = mutate_rows(rows, ops)
    units = [r[0] for r in rows[1:]]
    dropped = {
        units[i - 1]
        for i in touched
        if i > 0 and not any(r and r[0] == units[i - 1] for r in new[1:])
    }
    expected = {
        u: (0 not in touched and n + 1 not in touched)
        for n, u in enumerate(units)
        if u not in dropped
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "town.csv").write_bytes(write_raw(new))
        doc = json_report(run(Path(tmp), "town.csv"))
        p_csv = run(Path(tmp), "town.csv", fmt="csv") if also_csv else None
    check_accounting(doc, "town.csv", expected, base, p_csv, base_csv)


# ------------------------------------------------------------------- TOML


def make_villages(tmp: Path) -> list[str]:
    (tmp / "baisha.toml").write_bytes(VILLAGE.read_bytes())
    (tmp / "hetang.toml").write_bytes(OTHER.read_bytes())
    return ["baisha.toml", "hetang.toml"]


toml_op = st.one_of(
    byte_op,
    st.tuples(st.just("dupline"), st.integers(0, 10**6)),
    st.tuples(st.just("dropline"), st.integers(0, 10**6)),
    st.tuples(
        st.just("value"),
        st.integers(0, 10**6),
        st.sampled_from(
            [
                '"',
                "nan",
                "inf",
                "-inf",
                "1e400",
                "9" * 5000,
                '"' + "9" * 5000 + '"',
                "1e999999999",
                '"120 m*10**10**10"',
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1",
                "[1, 2",
                "{a = 1}",
                '"e\u0301"',
                '"\u202e"',
                "''",
                "true",
                "2026-02-30",
                "-0",
                "0x7fffffffffffffffff",
                '"\\u0000"',
                "[]",
                '"1e5"',
                '"5 kg"',
            ]
        ),
    ),
)


def mutate_toml(data: bytes, ops: list[tuple[Any, ...]]) -> bytes:
    byte_ops = [op for op in ops if op[0] in ("flip", "insert", "delete")]
    data, _ = mutate_bytes(data, byte_ops)
    lines = data.split(b"\n")
    for op in ops:
        n = op[1] % len(lines)
        if op[0] == "dupline":
            lines.insert(n, lines[n])
        elif op[0] == "dropline":
            del lines[n]
        elif op[0] == "value" and b"=" in lines[n]:
            key = lines[n].split(b"=", 1)[0]
            lines[n] = key + b"= " + op[2].encode("utf-8")
    return b"\n".join(lines)


@FUZZ
@given(st.lists(toml_op, min_size=1, max_size=3), st.booleans())
def test_fuzz_toml(ops: list[tuple[Any, ...]], also_csv: bool) -> None:
    base, base_csv = baseline("villages", make_villages)
    new = mutate_toml(VILLAGE.read_bytes(), ops)
    with tempfile.TemporaryDirectory() as tmp:
        make_villages(Path(tmp))
        (Path(tmp) / "baisha.toml").write_bytes(new)
        doc = json_report(run(Path(tmp), "baisha.toml", "hetang.toml"))
        p_csv = run(Path(tmp), "baisha.toml", "hetang.toml", fmt="csv") if also_csv else None
    got = scored(doc)
    assert got.get("hetang") == base["hetang"], "the untouched file scored differently"
    if new == VILLAGE.read_bytes():
        assert got.get("baisha") == base["baisha"]
    # the mutated file: its unit is scored (under whatever id it now has) or the file is rejected by name
    others = set(got) - {"hetang"}
    rejected_file = [r for r in doc["rejected"] if "baisha.toml" in r["source"] + r["error"]]
    assert others or rejected_file, f"baisha.toml neither scored nor rejected: {doc['rejected']}"
    if p_csv is not None:
        assert p_csv.returncode == (0 if not doc["rejected"] else 1), p_csv.stderr[-2000:]
        rows = csv_rows(p_csv.stdout) if p_csv.stdout.strip() else {}
        assert set(rows) == set(got)
        assert rows.get("hetang") == base_csv["hetang"]


# ------------------------------------------------------------------- XLSX


def _cell_value(x: str) -> Any:
    for conv in (int, float):
        try:
            return conv(x)
        except ValueError:
            pass
    return x


def make_xlsx(
    tmp: Path, rows: list[list[Any]] | None = None, merge: str | None = None
) -> list[str]:
    from openpyxl import Workbook

    if rows is None:
        rows = [
            [_cell_value(x) if n else x for x in r]
            for n, r in enumerate(csv.reader(io.StringIO(TOWN.read_text(encoding="utf-8"))))
        ]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "town"
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    wb.save(tmp / "town.xlsx")
    return ["town.xlsx"]


ODD_XLSX = [
    None,
    "",
    '"',
    1e308,
    -1e308,
    10**30,
    "1e400",
    "9" * 5000,
    "nan",
    "inf",
    float("inf"),
    float("nan"),
    "=1/0",
    "=A1",
    '=HYPERLINK("http://x")',
    "１２",
    "e\u0301",
    "\u202e",
    "\x00"[:0] + "\u200b",
    True,
    -1,
    "x" * 140_000,
    0.1,
    1e-300,
]

xlsx_op = st.one_of(
    st.tuples(st.just("set"), st.integers(1, 21), st.integers(0, 50), st.sampled_from(ODD_XLSX)),
    st.tuples(st.just("swap"), st.integers(1, 21), st.integers(0, 50), st.integers(0, 50)),
    st.tuples(st.just("dup"), st.integers(1, 21)),
    st.tuples(st.just("drop"), st.integers(1, 21)),
    st.tuples(st.just("merge"), st.integers(1, 20), st.integers(0, 4)),
    st.tuples(
        st.just("xmlbytes"),
        st.sampled_from(
            [
                "xl/worksheets/sheet1.xml",
                "xl/sharedStrings.xml",
                "xl/workbook.xml",
                "[Content_Types].xml",
            ]
        ),
        st.lists(byte_op, min_size=1, max_size=2),
    ),
    st.tuples(st.just("zipbytes"), st.lists(byte_op, min_size=1, max_size=2)),
)


@FUZZ
@given(st.lists(xlsx_op, min_size=1, max_size=2), st.booleans())
def test_fuzz_xlsx(ops: list[tuple[Any, ...]], also_csv: bool) -> None:
    def make_base(tmp: Path) -> list[str]:
        return make_xlsx(tmp)

    base, base_csv = baseline("xlsx", make_base)
    rows: list[list[Any]] = [
        [_cell_value(x) if n else x for x in r]
        for n, r in enumerate(csv.reader(io.StringIO(TOWN.read_text(encoding="utf-8"))))
    ]
    units = [str(r[0]) for r in rows[1:]]
    tagged = list(enumerate(rows))
    touched: set[int] = set()
    merge = None
    merge_at = 0
    every_row = False
    for op in ops:
        if op[0] in ("set", "swap", "dup", "drop"):
            n = op[1] % len(tagged)
            orig, cells = tagged[n]
            cells = list(cells)
            tagged[n] = (orig, cells)
            touched.add(orig)
            if op[0] == "set":
                cells[op[2] % len(cells)] = op[3]
            elif op[0] == "swap":
                a, b = op[2] % len(cells), op[3] % len(cells)
                cells[a], cells[b] = cells[b], cells[a]
            elif op[0] == "dup":
                tagged.insert(n + 1, (orig, list(cells)))
            else:
                del tagged[n]
        elif op[0] == "merge":
            merge_at = op[1]
            merge = f"{'ABCDE'[op[2]]}{op[1] + 1}:{'ABCDE'[op[2]]}{op[1] + 2}"
        else:
            every_row = True  # bytes of the file itself: any row may be hit
    if merge is not None:
        # The range is merged in the sheet as written (after every row op): Excel rows
        # merge_at + 1 and + 2 are the rows at those places then, whatever they were first.
        touched.update(tagged[i][0] for i in (merge_at, merge_at + 1) if i < len(tagged))
    with tempfile.TemporaryDirectory() as tmp:
        make_xlsx(Path(tmp), [c for _, c in tagged], merge)
        path = Path(tmp) / "town.xlsx"
        for op in ops:
            if op[0] == "xmlbytes":
                with zipfile.ZipFile(path) as z:
                    parts = {i.filename: z.read(i.filename) for i in z.infolist()}
                if op[1] in parts:
                    parts[op[1]] = mutate_bytes(parts[op[1]], op[2])[0]
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, data in parts.items():
                        z.writestr(name, data)
            elif op[0] == "zipbytes":
                path.write_bytes(mutate_bytes(path.read_bytes(), op[1])[0])
        doc = json_report(run(Path(tmp), "town.xlsx"))
        p_csv = run(Path(tmp), "town.xlsx", fmt="csv") if also_csv else None
    present = {str(c[0]) for _, c in tagged[1:] if c}
    expected = {
        u: not every_row and 0 not in touched and n + 1 not in touched
        for n, u in enumerate(units)
        if u in present or n + 1 not in touched
    }
    check_accounting(doc, "town.xlsx", expected, base, p_csv, base_csv)
