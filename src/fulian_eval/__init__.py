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
from .errors import EvidenceError, ExpressionError, FulianEvalError, Problem, RulebookError
from .evidence import EvidenceSet, Rejection, load_evidence, parse_evidence
from .load import load_rulebook, parse_rulebook
from .model import Evidence, Rulebook, UnitInfo
from .rank import Ranked, rank
from .report import score_json
from .score import CategoryResult, ItemResult, UnitResult, fmt_points, gains, score, score_all

__all__ = [
    "CategoryResult",
    "Evidence",
    "EvidenceError",
    "EvidenceSet",
    "ExpressionError",
    "FulianEvalError",
    "ItemResult",
    "Problem",
    "Ranked",
    "Rejection",
    "Rulebook",
    "RulebookError",
    "UnitInfo",
    "UnitResult",
    "__version__",
    "fmt_points",
    "gains",
    "load_evidence",
    "load_rulebook",
    "parse_evidence",
    "parse_rulebook",
    "rank",
    "score",
    "score_all",
    "score_json",
]
