"""An item's status (SPEC §4): one definition, with its code, its letter and its Chinese label.

``Status`` is a ``StrEnum``: each member *is* its name as a string (``Status.MISSING ==
"missing"``), so results, JSON and the audit records carry plain strings.
"""

from __future__ import annotations

import enum

__all__ = ["LABELS", "STATUSES", "Status"]


class Status(enum.StrEnum):
    """What happened to an item: scored, missing evidence, not applicable, or a veto that fired."""

    SCORED = "scored"
    MISSING = "missing"
    NOT_APPLICABLE = "not_applicable"
    VETO = "veto"

    @property
    def code(self) -> int:
        """The small integer the columnar engine keeps per item and row."""
        return _ORDER.index(self)

    @property
    def letter(self) -> str:
        """The one letter the audit trail stores."""
        return _LETTERS[self]

    @property
    def label(self) -> str:
        """What a clerk reads: 已评分, 无资料, 不适用, 否决."""
        return _LABELS[self]


_ORDER = (Status.SCORED, Status.MISSING, Status.NOT_APPLICABLE, Status.VETO)
_LETTERS = {Status.SCORED: "s", Status.MISSING: "m", Status.NOT_APPLICABLE: "n", Status.VETO: "v"}
_LABELS = {
    Status.SCORED: "已评分",
    Status.MISSING: "无资料",
    Status.NOT_APPLICABLE: "不适用",
    Status.VETO: "否决",
}

#: Every status, in code order (index = :attr:`Status.code`).
STATUSES: tuple[Status, ...] = _ORDER

#: Each status's name → what a clerk reads (the reports' 状态 column).
LABELS: dict[str, str] = {s.value: s.label for s in STATUSES}
