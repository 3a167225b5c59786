"""Item kinds, each defined once: keys and validation, rule, arithmetic, reason.

Both scoring engines and the rulebook loader take a kind from :data:`KINDS` by
name; adding a kind is one new module here, registered below, plus its section in
``docs/rulebook.md`` (see ``docs/architecture.md``).
"""

from __future__ import annotations

from .base import Kind, Ops, Reader, Skip, Words
from .check import Check, CheckRule
from .choice import Choice, ChoiceRule
from .count import Count, CountRule
from .deduct import Deduct, DeductRule
from .formula import ExprRule, Formula
from .linear import Linear, LinearRule
from .manual import Manual, ManualRule
from .steps import Shortfall, ShortfallRule, Surplus, SurplusRule
from .threshold import Threshold, ThresholdRule
from .tiers import Tier, Tiers, TiersRule
from .veto import Veto, VetoRule

__all__ = [
    "KINDS",
    "CheckRule",
    "ChoiceRule",
    "CountRule",
    "DeductRule",
    "ExprRule",
    "Kind",
    "LinearRule",
    "ManualRule",
    "Ops",
    "Reader",
    "Rule",
    "ShortfallRule",
    "Skip",
    "SurplusRule",
    "ThresholdRule",
    "Tier",
    "TiersRule",
    "VetoRule",
    "Words",
]

#: Every kind by the name written as ``kind = "…"``, in the order the docs list them.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Check(),
        Threshold(),
        Tiers(),
        Linear(),
        Count(),
        Deduct(),
        Shortfall(),
        Surplus(),
        Formula(),
        Manual(),
        Veto(),
        Choice(),
    )
}

Rule = (
    CheckRule
    | ThresholdRule
    | TiersRule
    | LinearRule
    | CountRule
    | DeductRule
    | ShortfallRule
    | SurplusRule
    | ExprRule
    | ManualRule
    | VetoRule
    | ChoiceRule
)
