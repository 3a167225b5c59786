"""``rank --format json`` of a table, written from the columns in rank order.

:func:`~fulian_eval.report.render.rank_report` builds the whole document from every
unit's summary, then ``json.dumps`` it: at 600,000 units that is gigabytes of Python
objects. Here each ranking entry is written from the table's arrays as text, a block
of rows at a time, and the bytes are the same (``tests/test_pipeline.py`` holds the
two together on random tables). Strings are escaped by the C function ``json.dumps``
uses; the rest of an entry is numbers and fixed words.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring as _quoted  # the C function json.dumps uses
from typing import IO, Any

from ..analysis.rank import Ranking
from ..io.evidence import Rejection
from ..model.rulebook import Rulebook
from ..scoring.stream import HundredthsText, Table
from .render import rejected_json, rulebook_json

__all__ = ["write_rank_json"]

_BLOCK = 8192  # rows formatted at a time


def _at(obj: Any, depth: int) -> str:
    """``obj`` as ``json.dumps(..., indent=1)`` writes it ``depth`` levels in (a JSON text
    never holds a raw newline, so indenting every line after the first is exact)."""
    return json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * depth)


def _text(v: str | None) -> str:
    return "null" if v is None else _quoted(v)


def write_rank_json(
    rb: Rulebook, t: Table, r: Ranking, rejected: Sequence[Rejection], out: IO[str]
) -> None:
    """The rank report in JSON, as ``rank_report(rb, ranked, rejected, "json")`` prints it."""
    plan = t.plan
    fmt = HundredthsText(places=plan.places)
    cat_ids = [c.id for c, _ in plan.cats]
    ties = [cat_ids.index(c) for c in rb.tie_break]
    tie_keys = [f"\n    {_quoted(c)}: " for c in rb.tie_break]
    grades = [_quoted(g) for g in plan.grade_names]
    titles: dict[str, str] = {}
    awards = [_quoted(a.name) for a in rb.awards]
    out.write('{\n "rulebook": ' + _at(rulebook_json(rb), 1) + ',\n "ranking": ')
    order = r.order
    out.write("[\n" if len(order) else "[]")
    for start in range(0, len(order), _BLOCK):
        idx = order[start : start + _BLOCK]
        rows = idx.tolist()
        totals = fmt.many(t.total_h[idx])
        tie_texts = [fmt.many(t.cat_h[idx, k]) for k in ties]
        ranks = r.rank[idx].tolist()
        group_ranks = r.group_rank[idx].tolist()
        grade = t.grade[idx].tolist()
        vetoed = t.vetoed[idx].tolist()
        award = [-1] * len(rows) if r.award is None else r.award[idx].tolist()
        parts: list[str] = []
        for j, row in enumerate(rows):
            role = t.role[row]
            title = titles.get(role)
            if title is None:
                title = titles[role] = _quoted(rb.roles.title(role))
            tie = (
                "{"
                + ",".join(
                    key + '"' + texts[j] + '"'
                    for key, texts in zip(tie_keys, tie_texts, strict=True)
                )
                + "\n   }"
                if ties
                else "{}"
            )
            g, a = grade[j], award[j]
            parts.append(
                "  {\n"
                f'   "rank": {ranks[j]},\n'
                f'   "group_rank": {group_ranks[j]},\n'
                f'   "unit": {_quoted(t.unit[row])},\n'
                f'   "name": {_text(t.name[row])},\n'
                f'   "group": {_text(t.group[row])},\n'
                f'   "role": {_quoted(role)},\n'
                f'   "role_title": {title},\n'
                f'   "total": "{totals[j]}",\n'
                f'   "grade": {grades[g] if g >= 0 else "null"},\n'
                f'   "vetoed": {"true" if vetoed[j] else "false"},\n'
                f'   "award": {awards[a] if a >= 0 else "null"},\n'
                f'   "tie_break": {tie}\n'
                "  }"
            )
        out.write(("" if start == 0 else ",\n") + ",\n".join(parts))
    if len(order):
        out.write("\n ]")
    out.write(',\n "rejected": ' + _at(rejected_json(rejected), 1) + "\n}\n")
