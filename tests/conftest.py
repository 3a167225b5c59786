"""Shared test configuration: hypothesis settings profiles, and both engines' views of a result.

Pick one with ``HYPOTHESIS_PROFILE=ci pytest`` (default: ``dev``). Per-test
``@settings`` still set how many examples each property tries.
"""

from __future__ import annotations

import compileall
import os
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Scoring is fast, but the first example of a run pays for pint's registry.
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,  # the same examples on every CI run
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """Compile the package once, before the workers start.

    Hundreds of tests run the command line in a fresh interpreter. An editable install leaves
    ``src`` without bytecode, and where ``PYTHONDONTWRITEBYTECODE`` is set no process writes it,
    so every one of them compiled the whole package again (about 0.3 CPU-seconds each).
    ``compileall`` writes the files whatever that variable says (atomically, so a reader never
    sees half a file), and skips those already up to date.
    """
    if not hasattr(config, "workerinput"):  # the xdist controller, or a run without workers
        compileall.compile_dir(os.path.join(os.path.dirname(__file__), "..", "src"), quiet=1)


# Messages in Chinese (the default) whatever the developer's locale; the command lines the tests
# start inherit it. Tests of the English wording give --lang en (or set it) themselves.
os.environ["FULIAN_EVAL_LANG"] = "zh"


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages in English (the msgids), here and in the command lines started: for tests of that wording.

    A module of such tests says ``pytestmark = pytest.mark.usefixtures("english")``.
    """
    monkeypatch.setenv("FULIAN_EVAL_LANG", "en")


# ------------------------------------------------------------ both engines
# The exact per-unit path (Fractions) and the columnar plan (numpy) must give the same
# points, statuses, categories, totals, grades, vetoes and flags. These two views of a
# result are what the tests compare; they are plain data so a failure shows the difference.


def columnar_rows(rb: Any, evs: Sequence[Any]) -> list[tuple[object, ...]]:
    """Each unit's result from the columnar plan (rows its floats cannot decide settled exactly)."""
    from fulian_eval.scoring.columnar import STATUSES, compile_plan

    plan = compile_plan(rb)
    sc = plan.score_evidence(list(evs))
    return [
        (
            int(sc.total_h[i]),
            bool(sc.vetoed[i]),
            plan.grade_names[int(sc.grade[i])] if sc.grade[i] >= 0 else None,
            [int(x) for x in sc.cat_h[i]],
            [bool(x) for x in sc.cat_ok[i]],
            [int(x) for x in sc.item_h[i]],
            [STATUSES[int(x)] for x in sc.status[i]],
            plan.flags_of(sc, i, ev.flags),
        )
        for i, ev in enumerate(evs)
    ]


def exact_row(r: Any) -> tuple[object, ...]:
    """The same view of an exact :class:`~fulian_eval.scoring.exact.UnitResult`
    (totals and category scores rounded to the rulebook's precision, as ranked)."""
    from fulian_eval.lang.text import points_h
    from fulian_eval.scoring.exact import hundredths

    return (
        points_h(r.total, r.places),
        r.vetoed,
        r.grade,
        [points_h(c.score, r.places) for c in r.categories],
        [c.applicable for c in r.categories],
        [hundredths(i.points) for i in r.items],
        [i.status for i in r.items],
        r.flags,
    )
