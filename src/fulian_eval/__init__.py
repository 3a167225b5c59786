"""fulian_eval: score grassroots women's-federation work (妇联工作考核).

TOML checklists in, scored evidence out, with exact arithmetic, reasons a clerk
understands, and rankings.

>>> import fulian_eval as fe
>>> rb = fe.load_rulebook("rules/town-village-2026.toml")       # doctest: +SKIP
>>> loaded = fe.load_evidence(rb, ["examples/town/evidence"])   # doctest: +SKIP
>>> ranked = fe.rank(rb, [fe.score(rb, ev) for ev in loaded.evidence])  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time each name is imported when first used
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

#: Where each public name lives: imported on first use (PEP 562), so `import fulian_eval`
#: and the command line start without numpy, pint or the engines until a command needs them.
_LAZY = {
    "Agreement": "analysis.agreement",
    "CategoryResult": "scoring.exact",
    "CrossCheck": "analysis.crosscheck",
    "Evidence": "model.rulebook",
    "EvidenceError": "errors",
    "EvidenceSet": "io.evidence",
    "ExpressionError": "errors",
    "FulianEvalError": "errors",
    "GroupResult": "scoring.exact",
    "ItemResult": "scoring.exact",
    "Problem": "errors",
    "Ranked": "analysis.rank",
    "Rejection": "io.evidence",
    "Rulebook": "model.rulebook",
    "RulebookError": "errors",
    "RunResult": "pipeline",
    "Sensitivity": "analysis.sensitivity",
    "SurveyData": "io.surveys",
    "SurveyError": "io.surveys",
    "UnitInfo": "model.rulebook",
    "UnitResult": "scoring.exact",
    "WaiverSet": "io.waivers",
    "agreement": "analysis.agreement",
    "crosscheck": "analysis.crosscheck",
    "fmt_points": "scoring.exact",
    "gains": "scoring.exact",
    "load_evidence": "io.evidence",
    "load_rulebook": "io.load",
    "load_surveys": "io.surveys",
    "load_waivers": "io.waivers",
    "parse_evidence": "io.evidence",
    "parse_rulebook": "io.load",
    "plan": "analysis.sampling",
    "rank": "analysis.rank",
    "read_units": "analysis.sampling",
    "sample": "analysis.sampling",
    "score": "scoring.exact",
    "score_all": "scoring.exact",
    "score_json": "report.render",
    "score_run": "pipeline",
    "score_table": "frames",
    "sensitivity": "analysis.sensitivity",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fulian_eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain global
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
