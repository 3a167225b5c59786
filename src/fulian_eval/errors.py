"""Errors: one root, structured problems that name file, place, line and value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import attrs

from .lang.messages import _

__all__ = [
    "EvidenceError",
    "ExpressionError",
    "FulianEvalError",
    "Problem",
    "RulebookError",
    "did_you_mean",
]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return _(" (did you mean '{word}'?)").format(word=close[0]) if close else ""


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    Attributes:
        file: the file it was found in ("" when not from a file).
        path: the place inside it, e.g. ``categories[0].items[2] "archives.registers".kind``.
        line: 1-based line number, or None when unknown.
        message: what is wrong and what would be right.
    """

    file: str = ""
    path: str = ""
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.path) if p]
        return f"{': '.join(parts)}: {self.message}" if parts else self.message


class FulianEvalError(Exception):
    """Root of every error fulian_eval raises on purpose."""


class _ProblemsError(FulianEvalError):
    """An error made of one or more located problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RulebookError(_ProblemsError, ValueError):
    """A rulebook (or another configuration file) is invalid; holds every problem found."""


class EvidenceError(_ProblemsError, ValueError):
    """One unit's evidence is invalid; that unit is rejected, others are still scored."""

    def __init__(self, problems: Sequence[Problem], source: str = "") -> None:
        super().__init__(problems)
        self.source = source


class ExpressionError(FulianEvalError, ValueError):
    """An expression does not parse or does not type-check.

    Attributes:
        text: the expression.
        column: 1-based column of the problem.
        reason: what is wrong.
    """

    def __init__(self, text: str, column: int, reason: str) -> None:
        self.text = text
        self.column = column
        self.reason = reason
        caret = " " * (column - 1) + "^"
        super().__init__(f"{reason} (at column {column})\n    {text}\n    {caret}")
