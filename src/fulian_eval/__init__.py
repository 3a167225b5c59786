"""fulian_eval: score grassroots women's-federation work (妇联工作考核).

TOML checklists in, scored evidence out, with exact arithmetic, reasons a clerk
understands, and rankings.

>>> import fulian_eval as fe
>>> rb = fe.load_rulebook("rules/town-village-2026.toml")       # doctest: +SKIP
>>> loaded = fe.load_evidence(rb, ["examples/town/evidence"])   # doctest: +SKIP
>>> ranked = fe.rank(rb, [fe.score(rb, ev) for ev in loaded.evidence])  # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .analysis.agreement import Agreement, agreement
from .analysis.crosscheck import CrossCheck, crosscheck
from .analysis.rank import Ranked, rank
from .analysis.sampling import plan, read_units, sample
from .analysis.sensitivity import Sensitivity, sensitivity
from .errors import EvidenceError, ExpressionError, FulianEvalError, Problem, RulebookError
from .frames import score_table
from .io.evidence import EvidenceSet, Rejection, load_evidence, parse_evidence
from .io.load import load_rulebook, parse_rulebook
from .io.surveys import SurveyData, SurveyError, load_surveys
from .io.waivers import WaiverSet, load_waivers
from .model.rulebook import Evidence, Rulebook, UnitInfo
from .pipeline import RunResult, score_run
from .report.render import score_json
from .scoring.exact import (
    CategoryResult,
    GroupResult,
    ItemResult,
    UnitResult,
    fmt_points,
    gains,
    score,
    score_all,
)

__all__ = [
    "Agreement",
    "CategoryResult",
    "CrossCheck",
    "Evidence",
    "EvidenceError",
    "EvidenceSet",
    "ExpressionError",
    "FulianEvalError",
    "GroupResult",
    "ItemResult",
    "Problem",
    "Ranked",
    "Rejection",
    "Rulebook",
    "RulebookError",
    "RunResult",
    "Sensitivity",
    "SurveyData",
    "SurveyError",
    "UnitInfo",
    "UnitResult",
    "WaiverSet",
    "__version__",
    "agreement",
    "crosscheck",
    "fmt_points",
    "gains",
    "load_evidence",
    "load_rulebook",
    "load_surveys",
    "load_waivers",
    "parse_evidence",
    "parse_rulebook",
    "plan",
    "rank",
    "read_units",
    "sample",
    "score",
    "score_all",
    "score_json",
    "score_run",
    "score_table",
    "sensitivity",
]
