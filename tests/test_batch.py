"""The parallel batch path gives the very same results as scoring one unit at a time."""

from __future__ import annotations

import csv
import itertools
import random
from pathlib import Path

import pytest

from fulian_eval import load_evidence, load_rulebook, rank, score
from fulian_eval.scoring import parallel as batch_mod
from fulian_eval.scoring.parallel import score_summaries

ROOT = Path(__file__).resolve().parent.parent
RULEBOOK = ROOT / "rules" / "town-village-2026.toml"
TEMPLATE = ROOT / "examples" / "town" / "town.csv"


def _make_table(
    path: Path,
    n: int,
    *,
    bad_rows: dict[int, tuple[str, str]] | None = None,
    duplicate_of: dict[int, int] | None = None,
) -> None:
    """n units varied from the example town; optional bad cells and duplicated unit ids."""
    with TEMPLATE.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}
    rnd = random.Random(7)
    out = []
    for k in range(n):
        row = list(rnd.choice(body))
        row[col["unit"]] = f"u{k:05d}"
        row[col["group"]] = ["东片", "西片", "北片"][k % 3]
        pop = col["population[人]"]
        row[pop] = str(int(int(row[pop]) * rnd.uniform(0.8, 1.2)))
        out.append(row)
    for k, (column, value) in (bad_rows or {}).items():
        out[k][col[column]] = value
    for k, of in (duplicate_of or {}).items():
        out[k][col["unit"]] = out[of][col["unit"]]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(out)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "units.csv"
    # row 100 (file row 102) has a negative count; unit 4100 repeats unit 3 (in another chunk)
    _make_table(path, 4500, bad_rows={100: ("meetings", "-2")}, duplicate_of={4100: 3})
    return path


def test_parallel_equals_one_unit_at_a_time(table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_mod, "CHUNK_ROWS", 700)  # several chunks, so the pool really runs
    rb = load_rulebook(RULEBOOK)
    par = score_summaries(rb, [table], workers=2)
    loaded = load_evidence(rb, [table])
    seq = [score(rb, ev).summary() for ev in loaded.evidence]
    assert len(seq) == 4500 - 2
    assert list(par.summaries) == seq
    assert [(r.source, r.error) for r in par.rejected] == [
        (r.source, r.error) for r in loaded.rejected
    ]
    assert [(r.result.unit.id, r.rank, r.group_rank) for r in rank(rb, par.summaries)] == [
        (r.result.unit.id, r.rank, r.group_rank) for r in rank(rb, seq)
    ]


def test_bad_row_and_duplicate_rejected_by_name(table: Path) -> None:
    rb = load_rulebook(RULEBOOK)
    par = score_summaries(rb, [table], workers=2)
    errors = [r.error for r in par.rejected]
    assert any("row 102" in e and "meetings" in e and "-2" in e for e in errors), errors
    assert any("u00003" in e and "已在" in e and "中给出" in e for e in errors), errors


def test_progress_reports_every_row(table: Path) -> None:
    rb = load_rulebook(RULEBOOK)
    seen: list[tuple[int, int]] = []
    score_summaries(rb, [table], workers=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4500, 4500)
    assert all(a <= b for (a, _), (b, _) in itertools.pairwise(seen))


def test_progress_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from fulian_eval.scoring.parallel import terminal_progress

    assert terminal_progress("评分") is None  # pytest's stderr is not a terminal: silent
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    units = terminal_progress("评分")
    share = terminal_progress("评分", percent=True)
    assert units is not None and share is not None
    units(3, 21)
    share(37, 100)
    share(100, 100)
    err = capsys.readouterr().err
    assert "\r评分 3/21" in err and "\r评分 37%" in err and err.endswith("\r评分 100%\n")
