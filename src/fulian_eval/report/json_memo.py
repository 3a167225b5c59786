"""A unit's ``score --format json`` object from remembered pieces (issue 12, item 3).

Most of what the JSON document says of a unit is repeated across units: an item's
points, status and reason are a function of the values the item reads (its rule's
fields, its precondition's, its ``applies_when``'s and its category's, each derived
value through what it is computed from), the unit's role and, for a manual item, the
assessor's points — nothing else. So is a category's object of its items' points and
statuses (and whether it applies), the total of the category scores, and a consistency
check of the values it reads.

:class:`UnitWriter` keeps, per item, the finished JSON text of each distinct outcome it
has met, keyed by those values; an outcome it has not met is made by the exact engine's
own functions (:func:`~fulian_eval.scoring.exact._score_item`, ``_category``,
``total_with``) on that unit, as :func:`~fulian_eval.scoring.exact.score` makes it; an
item's object is its template (:func:`item_template`: what
:func:`~fulian_eval.report.render.item_json` and
:func:`~fulian_eval.report.json_stream.dumps_at` write around its points, status and
reason) with those three filled in, a category's is written by ``category_json``. The
unit's object is then those texts put together with its head
(:func:`~fulian_eval.report.render.unit_json` itself).

What the pieces cannot tell goes to :func:`~fulian_eval.scoring.exact.score` whole:
rulebooks with vetoes on the total or a category's score (they read the whole unit),
units with questionnaire answers (their reasons name the questionnaires) or waivers,
and values of a type the keys do not know. Every cache is cleared when it grows past
``limit`` entries, so memory stays bounded whatever the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from json.encoder import encode_basestring as _quoted  # the C function json.dumps uses
from operator import itemgetter
from typing import Any

import attrs

from ..kinds import VetoRule
from ..lang.expr import Absent, DivisionByZero, MissingValue, NotApplicableValue
from ..lang.text import fmt_points, points_h
from ..model.rulebook import Evidence, Rulebook
from ..scoring.exact import (
    CategoryResult,
    ItemResult,
    UnitResult,
    _category,
    _Ctx,
    _grade,
    _not_applicable_category,
    _result,
    _score_item,
    consistency_flag,
    na_awards,
    total_with,
)
from .render import category_json, item_json

__all__ = ["CACHE_LIMIT", "UnitWriter", "fast_path_for"]

#: Distinct outcomes remembered per item (and per category, check, total) before its cache is cleared.
CACHE_LIMIT = 4096

_KNOWN = (Fraction, bool, str, frozenset, int)
_F = Fraction
ZERO = Fraction(0)
# The unit object's lines between ``vetoed`` and ``categories``, as json_stream splits them.
_RANK_AT = '\n   "rank": 0,\n   "group_rank": 0,\n   "award": null,\n'


_UNSEEN = object()


class _Unknown(Exception):
    """A value the keys do not know how to compare: the unit goes to the exact engine."""


def _typed(v: Any) -> Any:
    """A value as a key holds it: with its type (1 and True are equal in Python, not here),
    a number as its numerator and denominator (hashing a Fraction is slow)."""
    if v is None:
        return None
    c = v.__class__
    if c is Fraction:
        return (c, v.numerator, v.denominator)
    if c in _KNOWN:
        return (c, v)
    if c is Absent:
        return (Absent, v.kind, v.why)
    raise _Unknown


def fast_path_for(rb: Rulebook) -> bool:
    """Whether :class:`UnitWriter` can piece this rulebook's units together (else: exact)."""
    return not any(isinstance(i.rule, VetoRule) and i.rule.late for i in rb.items())


def _getter(idx: Sequence[int]) -> Callable[[Sequence[Any]], Any]:
    if not idx:
        return lambda row: ()
    return itemgetter(*idx)  # one index: the value itself, as good a key


# An item outcome as remembered: its result (reason as text), whether it vetoes, the veto's
# effect, its object's text, and (points, status) as a small key for its category's cache.
_Outcome = tuple[ItemResult, bool, str, str, tuple[int, int, str]]

#: What the columns decided of a unit (see :meth:`UnitWriter.write_row`): its total as
#: printed, grade, whether vetoed, flags, and each category's score in hundredths and
#: whether it applies.
Scored = tuple[str, "str | None", bool, tuple[str, ...], Sequence[int], Sequence[bool]]


@attrs.define
class _ItemSpec:
    ci: int  # its category's index
    item: Any
    key: Callable[[Sequence[Any]], Any]  # the values its rule reads, the role, manual points
    when: Callable[[Sequence[Any]], Any] | None  # the values its applies_when reads
    when_cache: dict[Any, tuple[bool, str]] = attrs.field(factory=dict)
    cache: dict[Any, _Outcome] = attrs.field(factory=dict)
    # Its object's text around its points, status and reason (the rest is the item's own).
    template: tuple[str, str, str, str] | None = None
    # A result without reason or inputs for each (points, status) met: what its category reads.
    bare: dict[tuple[int, int, str], ItemResult] = attrs.field(factory=dict)


# Stand-ins for an item's points, status and reason in its object's template.
_HOLES = ("\0points\0", "\0status\0", "\0reason\0")


def item_template(
    item: Any, places: int, dumps_at: Callable[[Any, int], str]
) -> tuple[str, str, str, str]:
    """An item's object (``item_json`` at depth 4) as the text before its points, between
    its points and status, between status and reason, and after the reason: the object is
    ``t[0] + _quoted(points) + t[1] + _quoted(status) + t[2] + _quoted(reason) + t[3]``."""
    obj = item_json(_result(item, Fraction(0), "scored", ""), places)
    for k, hole in zip(("points", "status", "reason"), _HOLES, strict=True):
        obj[k] = hole
    text = dumps_at(obj, 4)
    out: list[str] = []
    at = 0
    for k, hole in zip(("points", "status", "reason"), _HOLES, strict=True):
        # A quote inside a string is escaped, so '"key": "' is the key itself.
        mark = f"{_quoted(k)}: {_quoted(hole)}"
        where = text.index(mark, at) + len(mark) - len(_quoted(hole))
        out.append(text[at:where])
        at = where + len(_quoted(hole))
    return out[0], out[1], out[2], text[at:]


@attrs.define
class Stats:
    """How many units were pieced together, and how many went to the exact engine."""

    pieced: int = 0
    exact: int = 0
    hits: int = 0  # item outcomes found in a cache
    misses: int = 0  # item outcomes made by the exact engine


class UnitWriter:
    """Unit objects (:func:`~fulian_eval.report.json_stream.unit_bytes`' text) from remembered pieces.

    Call :meth:`write` with a unit's evidence; it gives the unit's result without items
    or reasons (what ranking needs) and its object's text at the unit's depth, or None where
    the unit must be scored whole by :func:`~fulian_eval.scoring.exact.score`.
    """

    def __init__(
        self, rb: Rulebook, dumps_at: Callable[[Any, int], str], limit: int = CACHE_LIMIT
    ) -> None:
        self.rb = rb
        self.dumps_at = dumps_at  # json_stream's writer (that module builds on this one)
        self.limit = limit
        self.enabled = fast_path_for(rb)
        self.stats = Stats()
        self.fields = list(rb.fields)
        pos = {n: k for k, n in enumerate(self.fields)}
        role_at = len(self.fields)  # the role, then a manual item's points, follow the values

        def getter(names: set[str], extra: Sequence[int] = ()) -> Callable[[Sequence[Any]], Any]:
            # Every name read, through derived values to the fields they are computed from.
            idx = sorted({pos[n] for n in rb.inputs_of(names) if n in pos})
            return _getter([*idx, role_at, *extra])

        self.manual = [i.id for i in rb.items() if i.kind == "manual"]
        self.cat_keys: list[Callable[[Sequence[Any]], Any]] = []
        self.items: list[_ItemSpec] = []
        for ci, cat in enumerate(rb.categories):
            cat_names = set(cat.applies_when.names) if cat.applies_when is not None else set()
            self.cat_keys.append(getter(cat_names))
            for item in cat.items:
                extra = [role_at + 1 + self.manual.index(item.id)] if item.kind == "manual" else []
                when = item.applies_when
                self.items.append(
                    _ItemSpec(
                        ci,
                        item,
                        getter(set(item.fields_used()), extra),
                        getter(set(when.names)) if when is not None else None,
                    )
                )
        self.cat_ok: list[dict[Any, tuple[bool, str]]] = [{} for _ in rb.categories]
        self.cat_cache: list[dict[Any, tuple[CategoryResult, str, Any]]] = [
            {} for _ in rb.categories
        ]
        self.checks = [getter(set(c.when.names)) for c in rb.consistency]
        self.check_cache: list[dict[Any, object]] = [{} for _ in rb.consistency]
        self.totals: dict[Any, Fraction] = {}
        self.role_titles: dict[str, str] = {}
        self.weighted = any(c.weight is not None for c in rb.categories if c.base_like)
        self.dens: dict[tuple[bool, ...], Fraction] = {}  # base maxima summed, by which apply
        # Categories without groups: what the columns score them says all their object says.
        self.plain_cats = [all(g is None for g, _ in cat.parts) for cat in rb.categories]
        self.starts = [0]
        for cat in rb.categories:
            self.starts.append(self.starts[-1] + len(cat.items))

    def _put(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        if len(cache) >= self.limit:
            cache.clear()
        cache[key] = value

    def write(
        self, ev: Evidence
    ) -> tuple[UnitResult, tuple[bool, int, tuple[int, ...]], str] | None:
        """The unit's result (without categories or items), its rank key (as
        :meth:`~fulian_eval.scoring.exact.UnitResult.rank_key`) and its object's text; None:
        score it whole."""
        if not self.enabled or ev.surveyed:
            self.stats.exact += 1
            return None
        rb = self.rb
        values = ev.values
        try:
            row = [  # _typed, a number without its (slow) properties
                (_F, v._numerator, v._denominator)  # type: ignore[attr-defined]
                if v.__class__ is _F
                else _typed(v)
                for v in map(values.get, self.fields)
            ]
            row.append(ev.role)
            row.extend(_typed(ev.points.get(i)) for i in self.manual)
        except _Unknown:
            self.stats.exact += 1
            return None
        unit = ev.unit
        made = self.write_row(
            row, lambda: ev, unit.id, unit.name, unit.group, ev.role, ev.source, ev.flags
        )
        total, grade, vetoed, effect, flags, key, text = made
        assert total is not None and key is not None  # not given by the columns: made here
        result = UnitResult(
            unit=unit,
            role=ev.role,
            total=total,
            categories=(),
            items=(),
            grade=grade,
            vetoed=vetoed,
            veto_effect=effect,
            flags=flags,
            source=ev.source,
            assessor=ev.assessment.assessor,
            places=rb.places,
        )
        return result, key, text

    def write_row(
        self,
        row: Sequence[Any],
        evidence: Callable[[], Evidence],
        unit_id: str,
        name: str,
        group: str,
        role: str,
        source: str,
        reader_flags: Sequence[str],
        scored: Scored | None = None,
    ) -> tuple[
        Fraction | None,
        str | None,
        bool,
        str,
        tuple[str, ...],
        tuple[bool, int, tuple[int, ...]] | None,
        str,
    ]:
        """A unit's object from ``row`` — its values as keys (as :meth:`write` makes them from
        evidence: each field's typed value, the role, each manual item's points) — and the
        unit's head; ``evidence`` gives the unit's evidence where an outcome not met before
        must be made by the exact engine. Returns (total, grade, vetoed, veto effect, flags,
        rank key, the object's text).

        ``scored``: what the columns already decided of the unit (:data:`Scored`); its
        total, grade, veto, flags and category scores are then taken as they are (total and
        rank key come back as None), and only its items and categories with groups are
        pieced together here."""
        rb = self.rb
        dumps_at = self.dumps_at
        ctx: _Ctx | None = None

        def context() -> _Ctx:
            nonlocal ctx
            if ctx is None:
                ctx = _Ctx(rb, evidence())
            return ctx

        put = self._put
        flags = list(reader_flags if scored is None else scored[3])
        for k, check in enumerate(() if scored is not None else rb.consistency):
            key = self.checks[k](row)
            cache = self.check_cache[k]
            failed = cache.get(key, _UNSEEN)
            if failed is _UNSEEN:
                try:
                    failed = not check.when.evaluate(context().env)
                except (MissingValue, NotApplicableValue, DivisionByZero):
                    failed = None
                put(cache, key, failed)
            if failed:
                flags.append(consistency_flag(check))
        places = rb.places
        oks: list[tuple[bool, str]] = []
        for ci, cat in enumerate(rb.categories):
            key = self.cat_keys[ci](row)
            got = self.cat_ok[ci].get(key)
            if got is None:
                ok, text = context().holds(cat.applies_when)
                got = (ok, f"{text} 不成立" if not ok else "")
                put(self.cat_ok[ci], key, got)
            oks.append(got)
        results: list[ItemResult] = []
        texts: list[str] = []
        tokens: list[tuple[int, int, str]] = []
        vetoed, effect = False, ""
        stats = self.stats
        for spec in self.items:
            # What the item's outcome depends on: its category not applying (and why), else
            # its applies_when not holding (and why), else the values its rule reads.
            cat_ok = oks[spec.ci]
            if not cat_ok[0]:
                key = ("category", cat_ok[1])
            else:
                when = None
                if spec.when is not None:
                    wkey = spec.when(row)
                    when = spec.when_cache.get(wkey)
                    if when is None:
                        when = context().holds(spec.item.applies_when)
                        put(spec.when_cache, wkey, when)
                key = ("when", when[1]) if when is not None and not when[0] else spec.key(row)
            hit = spec.cache.get(key)
            if hit is None:
                stats.misses += 1
                c = context()
                cat = rb.categories[spec.ci]
                c.penalty = cat.deducts
                res, veto, eff = _score_item(c, spec.item, cat, cat_ok[0], cat_ok[1])
                pts = res.points
                token = (pts.numerator, pts.denominator, res.status)
                bare = spec.bare.get(token)
                if bare is None:  # its reason's closures are not kept (they hold the unit)
                    bare = attrs.evolve(res, why="", used=())
                    put(spec.bare, token, bare)
                t = spec.template
                if t is None:
                    t = spec.template = item_template(spec.item, places, dumps_at)
                item_text = (
                    f"{t[0]}{_quoted(fmt_points(pts, places))}{t[1]}"
                    f"{_quoted(res.status)}{t[2]}{_quoted(res.reason)}{t[3]}"
                )
                hit = (bare, veto, eff, item_text, token)
                put(spec.cache, key, hit)
            else:
                stats.hits += 1
            res, veto, eff, text, token = hit
            if veto and (not vetoed or eff == "zero"):
                vetoed, effect = True, eff
            results.append(res)
            texts.append(text)
            tokens.append(token)
        cats: list[CategoryResult] = []
        cat_texts: list[str] = []
        cat_tokens: list[Any] = []
        for ci, cat in enumerate(rb.categories):
            ok = oks[ci][0]
            lo, hi = self.starts[ci], self.starts[ci + 1]
            if scored is not None and self.plain_cats[ci]:
                # no groups: its object is its score and whether it applies, as the columns say
                h, applies = scored[4][ci], scored[5][ci]
                key = ("scored", h, applies)
                got_cat = self.cat_cache[ci].get(key)
                if got_cat is None:
                    cr = CategoryResult(
                        id=cat.id,
                        title=cat.title,
                        type=cat.type,
                        max=cat.max,
                        score=Fraction(h, 100),
                        applicable=applies,
                        places=places,
                    )
                    got_cat = (cr, dumps_at(category_json(cr, places), 4), None)
                    put(self.cat_cache[ci], key, got_cat)
                cat_texts.append(got_cat[1])
                continue
            key = (ok, *tokens[lo:hi])
            got_cat = self.cat_cache[ci].get(key)
            if got_cat is None:
                if not ok and not any(na_awards(rb, cat, item) for item in cat.items):
                    cr = _not_applicable_category(rb, cat)
                else:
                    cr = _category(rb, cat, results[lo:hi])
                sc = cr.score
                got_cat = (
                    cr,
                    dumps_at(category_json(cr, places), 4),
                    (sc.numerator, sc.denominator, cr.applicable),
                )
                put(self.cat_cache[ci], key, got_cat)
            cats.append(got_cat[0])
            cat_texts.append(got_cat[1])
            cat_tokens.append(got_cat[2])
        total: Fraction | None = None
        if scored is None:
            tkey = tuple(cat_tokens)
            total = self.totals.get(tkey)
            if total is None:
                total = self._total(cats)
                put(self.totals, tkey, total)
            if vetoed and effect == "zero":
                total = Fraction(0)
            grade = _grade(rb, rb.round(total), vetoed)
            total_text = fmt_points(total, places)
        else:
            total_text, grade, vetoed = scored[0], scored[1], scored[2]
        role_title = self.role_titles.get(role)
        if role_title is None:
            role_title = self.role_titles[role] = self._value(rb.roles.title(role))
        val = self._value
        # unit_json(result) as dumps_at writes it at depth 2, its lists filled in (the
        # random-rulebook tests hold the two together).
        text = (
            f'{{\n   "unit": {val(unit_id)},\n   "name": {val(name)},'
            f'\n   "group": {val(group)},\n   "role": {val(role)},'
            f'\n   "role_title": {role_title},\n   "total": {val(total_text)},'
            f'\n   "grade": {val(grade)},\n   "vetoed": {"true" if vetoed else "false"},'
            f"{_RANK_AT}"
            f'   "categories": {_listed(cat_texts)},\n   "items": {_listed(texts)},'
            f'\n   "flags": {val(flags)},\n   "source": {val(source)}\n  }}'
        )
        stats.pieced += 1
        if total is None:
            return None, grade, vetoed, effect, tuple(flags), None, text
        by_id = {c.id: c for c in cats}
        key = (
            vetoed,
            -points_h(total, places),
            tuple(-points_h(by_id[c].score, places) for c in rb.tie_break),
        )
        return total, grade, vetoed, effect, tuple(flags), key, text

    def _total(self, cats: Sequence[CategoryResult]) -> Fraction:
        """:func:`~fulian_eval.scoring.exact.total_with` of the categories, in whole hundredths
        where every score is a multiple of 0.01 and no category is weighted (the same number:
        Fractions are exact; the random-rulebook tests compare the two)."""
        rb = self.rb
        if self.weighted:
            return total_with(rb, cats)
        num = extra = 0
        mask = []
        for spec, c in zip(rb.categories, cats, strict=True):
            sc = c.score
            d = sc._denominator  # type: ignore[attr-defined]
            if 100 % d:
                return total_with(rb, cats)
            h = sc._numerator * (100 // d)  # type: ignore[attr-defined]
            if spec.base_like:
                on = c.applicable and c.max != 0
                mask.append(on)
                if on:
                    num += h
            elif c.type == "bonus":
                extra += h
            else:
                extra -= h
        key = tuple(mask)
        den = self.dens.get(key)
        if den is None:
            den = self.dens[key] = sum(
                (c.max for c in cats if c.type in ("base", "deduction") and c.applicable and c.max),
                ZERO,
            )
        if den:
            scale = rb.scale
            # scale × (num/100) / den + extra/100, as one fraction
            total = Fraction(
                scale.numerator * den.denominator * num + extra * scale.denominator * den.numerator,
                100 * scale.denominator * den.numerator,
            )
        else:
            total = Fraction(extra, 100)
        return total if total > 0 else ZERO

    def _value(self, v: Any) -> str:
        """A value of a unit's head as dumps_at writes it at a unit's keys."""
        return _quoted(v) if v.__class__ is str else self.dumps_at(v, 3)


def _listed(texts: Sequence[str]) -> str:
    """A list of objects already written at depth 4, as json.dumps puts it at a unit's key."""
    return "[\n    " + ",\n    ".join(texts) + "\n   ]" if texts else "[]"
