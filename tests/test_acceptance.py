"""The shared acceptance example (../shared/acceptance, copied to tests/data/acceptance) matches exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data" / "acceptance"


def run_json() -> tuple[int, dict]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fulian_eval",
            "score",
            "town-2026.toml",
            "evidence",
            "--format",
            "json",
        ],
        cwd=DATA,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    return proc.returncode, json.loads(proc.stdout)


def test_acceptance_matches_expected_exactly() -> None:
    code, got = run_json()
    expected = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
    assert code == 1  # bad-count.toml is rejected, the rest scored
    assert [u["unit"] for u in got["units"]] == [u["unit"] for u in expected["units"]]
    for exp, unit in zip(expected["units"], got["units"], strict=True):
        for key in ("unit", "group", "total", "grade", "vetoed", "rank", "group_rank"):
            assert unit[key] == exp[key], (exp["unit"], key)
        assert [{k: c[k] for k in ("id", "score", "max")} for c in unit["categories"]] == exp[
            "categories"
        ]
        assert [{k: i[k] for k in ("id", "points", "max", "status")} for i in unit["items"]] == exp[
            "items"
        ]
    assert [r["source"] for r in got["rejected"]] == [r["source"] for r in expected["rejected"]]


def test_rejection_names_file_key_and_value() -> None:
    _, got = run_json()
    error = got["rejected"][0]["error"]
    assert "bad-count.toml" in error
    assert "floating_population" in error
    assert "-12" in error


def test_acceptance_through_both_engines_in_the_library() -> None:
    """The same example through the API: the exact path and the columnar plan give expected.json."""
    from conftest import columnar_rows, exact_row
    from fulian_eval import fmt_points, load_evidence, load_rulebook, rank, score

    rb = load_rulebook(DATA / "town-2026.toml")
    es = load_evidence(rb, [DATA / "evidence"])
    expected = {
        u["unit"]: u
        for u in json.loads((DATA / "expected.json").read_text(encoding="utf-8"))["units"]
    }
    results = [score(rb, ev) for ev in es.evidence]
    assert [exact_row(r) for r in results] == columnar_rows(rb, es.evidence)
    for ranked in rank(rb, results):
        exp, r = expected[ranked.result.unit.id], ranked.result
        assert (fmt_points(r.rounded_total), r.grade, r.vetoed, ranked.rank) == (
            exp["total"],
            exp["grade"],
            exp["vetoed"],
            exp["rank"],
        )
        assert [(i.id, fmt_points(i.points), i.status) for i in r.items] == [
            (i["id"], i["points"], i["status"]) for i in exp["items"]
        ]
    assert len(results) == len(expected)
