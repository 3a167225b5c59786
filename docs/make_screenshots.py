"""Make the pictures of docs/office.md: a record sheet (审核记录表) and the ranking handout, as Chromium shows them.

Run from the repository root (needs Chromium: ``apt-get install chromium``):

    .venv/bin/python docs/make_screenshots.py

It scores the bundled example (``rules/town-village-2026.toml``, ``examples/town/evidence``)
and writes ``docs/img/record-sheet.png`` (荷塘村's sheet, its first page) and
``docs/img/ranking.png`` (the handout), with the same HTML that ``sheets`` and ``rank -o 排名.html`` write.
The printed date is fixed so the pictures change only when the pages do.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from fulian_eval.analysis.rank import rank
from fulian_eval.io.evidence import load_evidence
from fulian_eval.io.load import load_rulebook
from fulian_eval.report.pdf import screenshot
from fulian_eval.report.sheets import ranking_html, record_sheets_html
from fulian_eval.scoring.exact import score

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
PRINTED = dt.date(2026, 12, 1)


def main() -> int:
    os.chdir(ROOT)  # relative paths: the sheets name their sources as a clerk in the repository sees them
    rb = load_rulebook("rules/town-village-2026.toml")
    es = load_evidence(rb, ["examples/town/evidence"])
    ranked = rank(rb, [score(rb, ev) for ev in es.evidence])
    dates = {(ev.unit.id, ev.role, ev.source): ev.assessment.date for ev in es.evidence}
    hetang = [r for r in ranked if r.result.unit.id == "hetang"]
    sheet = record_sheets_html(rb, hetang, dates=dates, printed=PRINTED)
    handout = ranking_html(rb, ranked, es.rejected, printed=PRINTED)
    IMG.mkdir(parents=True, exist_ok=True)
    # 188 mm of page is about 711 CSS pixels; the window shows the page with a margin around it
    shots = {"record-sheet.png": (sheet, 780, 1100), "ranking.png": (handout, 1100, 780)}
    for name, (page, width, height) in shots.items():
        (IMG / name).write_bytes(screenshot(page, width, height, scale=1.5))
        print(f"wrote {(IMG / name).relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
