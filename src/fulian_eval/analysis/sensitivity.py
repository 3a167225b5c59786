"""Rank sensitivity (SPEC §5): whose place depends on the category weights?

Every base category's weight is multiplied by a factor in ``[1 − PCT, 1 + PCT]``
(a scheme without weights counts each category by its max, which is the same
total). The question is each unit's best and worst place over that whole box of
weightings, not over a few corners of it.

**Exact extremes** (at most :data:`EXACT_MAX_CATEGORIES` moving weights). A
unit's total is ``base + extra`` with ``base = scale·Σ w_c·r_c / Σ w_c`` over its
applicable base categories (``r_c = score_c / max_c``), so ``total ≥ b`` is one
linear inequality in the weights for every number ``b``. Ranks compare totals
rounded half-up to the rulebook's precision, 1/P (P = 100 by default, 10 or 1 with
``precision``; ties go to the tie-break categories, which the weights do not move),
so a unit's place only changes where some unit's total crosses a rounding boundary
``(2m − 1)/2P``: the box is cut by those
hyperplanes into cells on which every place is constant. Weights are only
relative, so one factor is fixed to 1 and the search runs in ``k − 1``
dimensions over the image of the box. For each unit the box is split
(branch and bound: a part is dropped once bounds show it cannot hold a better
best or a worse worst place) until a part is crossed by a handful of those
hyperplanes; there every vertex of the arrangement and a point strictly inside
every cell around each vertex are ranked exactly with :class:`~fractions.Fraction`.
This is complete: being outranked is a closed condition, so the worst place is
taken at a vertex and the best place on an open cell. Each unit's best and worst
come with the weighting that gives them (``best_at``/``worst_at``).

**Search** (more moving weights, or a unit whose exact search exceeds the work
budget). The 3^k grid of {−PCT, 0, +PCT} (when it is small enough) plus seeded
random weightings are ranked; the range is what was seen, the true best may be
better and the worst worse, and :attr:`Sensitivity.searched` says so.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from fractions import Fraction

import attrs

from ..lang.text import points_h
from ..model.rulebook import Rulebook, UnitInfo
from ..scoring.exact import UnitResult, total_with
from .rank import Ranked, rank

__all__ = ["EXACT_MAX_CATEGORIES", "Sensitivity", "sensitivity"]

#: Up to this many moving weights the extremes are computed exactly.
EXACT_MAX_CATEGORIES = 4
#: Above this many (weighting × unit) evaluations, the searched grid is left out.
BUDGET = 2_000_000
#: Work allowed to the exact search of one unit (vertex solves and box visits); past it the unit is searched.
UNIT_BUDGET = 400_000
#: A part of the box is solved directly once at most this many rounding hyperplanes cross it.
_LEAF = 8
_MAX_DEPTH = 60
_MAX_FREE = 10  # hyperplanes through one vertex whose sides are enumerated (2^n cells around it)

Key = tuple[str, str]
Vec = tuple[Fraction, ...]
_ZERO = Fraction(0)
_ONE = Fraction(1)


@attrs.frozen(kw_only=True)
class Sensitivity:
    """Best and worst rank of each unit (by unit id and role) over the weight box.

    Attributes:
        pct: the relative change of every weight.
        weightings: how many weightings were ranked in all (grid, samples and the exact search's points).
        exhaustive: True when every unit's best and worst are exact over the whole box.
        seed: the seed of the sampled weightings.
        best, worst: the best and worst place of each unit.
        categories: the base categories whose weights move, in rulebook order.
        best_at, worst_at: for each unit a weighting (one factor per category in ``categories``) that gives
            that place; re-scoring with it reproduces the place.
        exact: the units whose best and worst are exact.
        searched: empty when exhaustive; else what was searched, in words.
    """

    pct: Fraction
    weightings: int
    exhaustive: bool
    seed: int
    best: dict[Key, int]
    worst: dict[Key, int]
    categories: tuple[str, ...] = ()
    best_at: dict[Key, tuple[Fraction, ...]] = attrs.field(factory=dict)
    worst_at: dict[Key, tuple[Fraction, ...]] = attrs.field(factory=dict)
    exact: frozenset[Key] = frozenset()
    searched: str = ""


@attrs.frozen(kw_only=True)
class _Reweighted:
    """A result seen under other weights: only what ranking needs."""

    result: UnitResult
    total: Fraction

    @property
    def unit(self) -> UnitInfo:
        return self.result.unit

    @property
    def role(self) -> str:
        return self.result.role

    def rank_key(self, tie_break: Sequence[str]) -> tuple[bool, int, tuple[int, ...]]:
        p = self.result.places
        return (
            self.result.vetoed,
            -points_h(self.total, p),
            tuple(-points_h(self.result.category(c).score, p) for c in tie_break),
        )


def _weighted_rulebook(rb: Rulebook, factors: Sequence[Fraction]) -> Rulebook:
    """The rulebook with each base category's weight (its max when unweighted) times its factor."""
    base = [c for c in rb.categories if c.type == "base"]
    new = {}
    for c, f in zip(base, factors, strict=True):
        w = (
            c.weight if c.weight is not None else c.max
        )  # unweighted: each category counts by its max
        new[c.id] = attrs.evolve(c, weight=w * f)
    return attrs.evolve(rb, categories=tuple(new.get(c.id, c) for c in rb.categories))


def reranked(
    rb: Rulebook, results: Sequence[UnitResult], factors: Sequence[Fraction]
) -> dict[Key, int]:
    """Every unit's place when base category weights are multiplied by ``factors`` (rulebook order).

    The slow, obviously-right way (the totals recomputed by :func:`~fulian_eval.scoring.exact.total_with`,
    ranked by :func:`~fulian_eval.analysis.rank.rank`): what the witnesses are checked against.
    """
    rbw = _weighted_rulebook(rb, factors)
    moved = [
        _Reweighted(
            result=r,
            total=_ZERO if r.vetoed and r.veto_effect == "zero" else total_with(rbw, r.categories),
        )
        for r in results
    ]
    ranked: list[Ranked[_Reweighted]] = rank(rb, moved)
    return {(x.result.unit.id, x.result.role): x.rank for x in ranked}


# ------------------------------------------------------------ the exact model


def _h(x: Fraction, per: int = 100) -> int:
    """The total as ranked: clamped at 0, rounded half-up, in units of the precision ``1/per``
    (hundredths by default)."""
    if x <= 0:
        return 0
    y = x * per
    return (2 * y.numerator + y.denominator) // (2 * y.denominator)


def _boundary(m: int, per: int = 100) -> Fraction:
    """The least total that rounds to ``m`` units of ``1/per`` (m ≥ 1)."""
    return Fraction(2 * m - 1, 2 * per)


def _dot(a: Vec, g: Vec) -> Fraction:
    """An affine form (d coefficients, then the constant) at the point ``g``."""
    s = a[-1]
    for c, x in zip(a, g, strict=False):
        s += c * x
    return s


@attrs.frozen(kw_only=True)
class _Unit:
    """What ranking needs of one unit, with its total as a function of the free factors ``g``.

    ``total(g) = num(g) / den(g)`` (``den > 0`` on the box), or ``const`` when the weights cannot move it.
    """

    key: Key
    role: str
    vetoed: bool
    tb: tuple[int, ...]
    const: Fraction | None
    num: Vec
    den: Vec

    def x(self, g: Vec) -> Fraction:
        if self.const is not None:
            return self.const
        return _dot(self.num, g) / _dot(self.den, g)

    def form(self, b: Fraction) -> Vec:
        """The affine form that is ≥ 0 exactly where the total is ≥ ``b``."""
        return tuple(n - b * d for n, d in zip(self.num, self.den, strict=True))


class _Model:
    """The units, the moving categories and the image ``G`` of the weight box with the last factor fixed to 1."""

    def __init__(self, rb: Rulebook, results: Sequence[UnitResult], pct: Fraction) -> None:
        base = [c for c in rb.categories if c.type == "base"]
        self.base_ids = tuple(c.id for c in base)
        w0 = {c.id: (c.weight if c.weight is not None else c.max) for c in base}
        moving = [c.id for c in base if w0[c.id] != 0 and c.max != 0]
        self.moving = tuple(moving)
        k = len(moving)
        self.d = max(0, k - 1)
        self.pct = pct
        self.per = 10**rb.places  # totals are ranked rounded to 1/per (SPEC §10.5)
        self.rho = (1 + pct) / (1 - pct)
        units = []
        for r in results:
            key = (r.unit.id, r.role)
            tb = tuple(-rb.points_h(r.category(c).score) for c in rb.tie_break)
            if r.vetoed and r.veto_effect == "zero":
                units.append(
                    _Unit(key=key, role=r.role, vetoed=True, tb=tb, const=_ZERO, num=(), den=())
                )
                continue
            extra = _ZERO
            terms: dict[str, Fraction] = {}
            for c in r.categories:
                if c.type == "base":
                    if c.applicable and c.max != 0 and c.id in w0 and w0[c.id] != 0:
                        terms[c.id] = rb.scale * c.score / c.max
                elif c.type == "bonus":
                    extra += c.score
                else:
                    extra -= c.score
            if len(set(terms.values())) <= 1:  # no moving category, or all at the same ratio
                const = extra + (next(iter(terms.values())) if terms else _ZERO)
                units.append(
                    _Unit(key=key, role=r.role, vetoed=r.vetoed, tb=tb, const=const, num=(), den=())
                )
                continue
            num = [_ZERO] * (self.d + 1)
            den = [_ZERO] * (self.d + 1)
            for i, cid in enumerate(moving):
                if cid in terms:
                    j = (
                        i if i < self.d else self.d
                    )  # the last factor is fixed to 1: a constant term
                    num[j] += w0[cid] * (terms[cid] + extra)
                    den[j] += w0[cid]
            units.append(
                _Unit(
                    key=key,
                    role=r.role,
                    vetoed=r.vetoed,
                    tb=tb,
                    const=None,
                    num=tuple(num),
                    den=tuple(den),
                )
            )
        self.units = units
        # G: rho·g_j − g_i ≥ 0 for every ordered pair of factors (g_k = 1)
        facets: list[Vec] = []
        for i in range(k):
            for j in range(k):
                if i != j:
                    a = [_ZERO] * (self.d + 1)
                    a[j if j < self.d else self.d] += self.rho
                    a[i if i < self.d else self.d] -= 1
                    facets.append(tuple(a))
        self.facets = facets

    def factors(self, g: Vec) -> tuple[Fraction, ...]:
        """A weighting inside the box (one factor per base category, rulebook order) with direction ``g``."""
        full = (*g, _ONE)
        s = (1 - self.pct) / min(full)
        by_id = dict(zip(self.moving, (s * x for x in full), strict=False)) if self.moving else {}
        return tuple(by_id.get(c, _ONE) for c in self.base_ids)

    def ranks(self, g: Vec) -> dict[Key, int]:
        """Every unit's place at ``g`` (the same rules as :func:`~fulian_eval.analysis.rank.rank`)."""
        keys = {u.key: (u.vetoed, -_h(u.x(g), self.per), u.tb) for u in self.units}
        out: dict[Key, int] = {}
        by_role: dict[str, list[tuple[bool, int, tuple[int, ...]]]] = {}
        for u in self.units:
            by_role.setdefault(u.role, []).append(keys[u.key])
        for role in by_role:
            by_role[role].sort()
        for u in self.units:
            out[u.key] = 1 + bisect.bisect_left(by_role[u.role], keys[u.key])
        return out


def _solve(rows: Sequence[Vec], d: int) -> Vec | None:
    """The point where the affine forms ``rows`` (d of them) are all 0, or None if they do not meet in one."""
    m = [[*r[:d], -r[d]] for r in rows]
    for col in range(d):
        piv = next((i for i in range(col, d) if m[i][col] != 0), None)
        if piv is None:
            return None
        m[col], m[piv] = m[piv], m[col]
        p = m[col][col]
        for i in range(d):
            if i != col and m[i][col] != 0:
                f = m[i][col] / p
                m[i] = [a - f * b for a, b in zip(m[i], m[col], strict=True)]
    return tuple(m[i][d] / m[i][i] for i in range(d))


def _det(m: list[list[Fraction]]) -> Fraction:
    m = [row[:] for row in m]
    n = len(m)
    out = _ONE
    for col in range(n):
        piv = next((i for i in range(col, n) if m[i][col] != 0), None)
        if piv is None:
            return _ZERO
        if piv != col:
            m[col], m[piv] = m[piv], m[col]
            out = -out
        p = m[col][col]
        out *= p
        for i in range(col + 1, n):
            if m[i][col] != 0:
                f = m[i][col] / p
                m[i] = [a - f * b for a, b in zip(m[i], m[col], strict=True)]
    return out


def _ray(normals: Sequence[Vec], d: int) -> Vec | None:
    """A direction orthogonal to ``normals`` (d − 1 of them), or None when they do not fix one line."""
    rows = [list(n[:d]) for n in normals]
    r = tuple(((-1) ** i) * _det([row[:i] + row[i + 1 :] for row in rows]) for i in range(d))
    return r if any(r) else None


def _lin(a: Vec, v: Vec) -> Fraction:
    return sum((x * y for x, y in zip(a, v, strict=False)), _ZERO)


class _OverBudget(Exception):
    pass


class _Search:
    """Exact best and worst place of one unit over G (see the module docstring)."""

    def __init__(
        self, model: _Model, u: _Unit, best: int, worst: int, best_g: Vec, worst_g: Vec
    ) -> None:
        self.m = model
        self.u = u
        self.d = model.d
        self.best, self.worst = best, worst
        self.best_g, self.worst_g = best_g, worst_g
        self.work = 0
        self.points = 0
        self.always = 0
        self.others: list[
            tuple[_Unit, int]
        ] = []  # competitors whose place against u can change, with δ
        for v in model.units:
            if v.key == u.key or v.role != u.role:
                continue
            if v.vetoed != u.vetoed:
                self.always += int(v.vetoed < u.vetoed)
                continue
            # v outranks u iff h_v − h_u ≥ δ (δ = 0 when v wins the tie-break)
            self.others.append((v, 0 if v.tb < u.tb else 1))

    def _charge(self, n: int) -> None:
        self.work += n
        if self.work > UNIT_BUDGET:
            raise _OverBudget

    def place(self, g: Vec, others: Sequence[tuple[_Unit, int]], fixed: int) -> int:
        per = self.m.per
        hu = _h(self.u.x(g), per)
        return 1 + fixed + sum(1 for v, dl in others if _h(v.x(g), per) - hu >= dl)

    def run(self) -> None:
        lo = tuple(1 / self.m.rho for _ in range(self.d))
        hi = tuple(self.m.rho for _ in range(self.d))
        self._box(lo, hi, self.others, self.always, 0)

    def _box(
        self, lo: Vec, hi: Vec, others: Sequence[tuple[_Unit, int]], fixed: int, depth: int
    ) -> None:
        d = self.d
        self._charge(1 + len(others))
        corners = list(itertools.product(*zip(lo, hi, strict=True)))
        cutting: list[Vec] = []
        for f in self.m.facets:
            vals = [_dot(f, c) for c in corners]
            if max(vals) < 0:
                return  # the box lies outside G
            if min(vals) < 0:
                cutting.append(f)
        xs_u = [self.u.x(c) for c in corners]
        ulo, uhi = min(xs_u), max(xs_u)
        per = self.m.per
        hulo, huhi = _h(ulo, per), _h(uhi, per)
        amb: list[tuple[_Unit, int]] = []
        planes = 0
        for v, dl in others:
            xs = [v.x(c) for c in corners]
            vlo, vhi = min(xs), max(xs)
            hvlo, hvhi = _h(vlo, per), _h(vhi, per)
            if hvlo - huhi >= dl:
                fixed += 1
                continue
            if hvhi - hulo < dl:
                continue
            if (
                v.const is None
                and self.u.const is None
                and v.den == self.u.den
                and ulo >= 0
                and vlo >= 0
            ):
                diff = [
                    a - b for a, b in zip(xs, xs_u, strict=True)
                ]  # quasi-linear: extremes at corners
                if min(diff) >= (Fraction(1, per) if dl else 0):
                    fixed += 1
                    continue
                if max(diff) <= (0 if dl else Fraction(-1, per)):
                    continue
            amb.append((v, dl))
            planes += hvhi - hvlo
        if amb:
            planes += huhi - hulo
        if 1 + fixed >= self.best and 1 + fixed + len(amb) <= self.worst:
            return  # nothing here can widen the range
        if planes > _LEAF and depth < _MAX_DEPTH:
            axis = max(range(d), key=lambda i: hi[i] - lo[i])
            mid = (lo[axis] + hi[axis]) / 2
            self._box(lo, (*hi[:axis], mid, *hi[axis + 1 :]), amb, fixed, depth + 1)
            self._box((*lo[:axis], mid, *lo[axis + 1 :]), hi, amb, fixed, depth + 1)
            return
        self._leaf(lo, hi, amb, fixed, cutting)

    def _leaf(
        self, lo: Vec, hi: Vec, others: Sequence[tuple[_Unit, int]], fixed: int, cutting: list[Vec]
    ) -> None:
        d = self.d
        region: list[Vec] = list(cutting)
        for i in range(d):
            e = [_ZERO] * (d + 1)
            e[i] = _ONE
            e[d] = -lo[i]
            region.append(tuple(e))
            e = [_ZERO] * (d + 1)
            e[i] = -_ONE
            e[d] = hi[i]
            region.append(tuple(e))
        cuts: dict[Vec, None] = {}
        units = [self.u] + [v for v, _ in others] if others else []
        for w in units:
            if w.const is not None:
                continue
            corners = list(itertools.product(*zip(lo, hi, strict=True)))
            xs = [w.x(c) for c in corners]
            per = self.m.per
            for mm in range(_h(min(xs), per) + 1, _h(max(xs), per) + 1):
                cuts[_normal(w.form(_boundary(mm, per)))] = None
        planes = list(region) + list(cuts)
        nreg = len(region)
        self._charge(_comb(len(planes), d))
        seen: dict[Vec, None] = {}
        for rows in itertools.combinations(range(len(planes)), d):
            p = _solve([planes[i] for i in rows], d)
            if p is None or p in seen:
                continue
            if any(_dot(r, p) < 0 for r in region):
                continue
            seen[p] = None
        for p in seen:
            self.points += 1
            r = self.place(p, others, fixed)
            if r > self.worst:
                self.worst, self.worst_g = r, p
            if r < self.best:
                self.best, self.best_g = r, p
            if self.best <= 1 + fixed:
                continue  # no cell here can do better
            self._cells_around(p, planes, nreg, others, fixed)

    def _cells_around(
        self, p: Vec, planes: list[Vec], nreg: int, others: Sequence[tuple[_Unit, int]], fixed: int
    ) -> None:
        """Rank a point strictly inside every cell of the arrangement that has ``p`` as a vertex."""
        d = self.d
        vals = [_dot(a, p) for a in planes]
        active = [i for i, v in enumerate(vals) if v == 0]
        forced = [i for i in active if i < nreg]
        free = [i for i in active if i >= nreg]
        if len(free) > _MAX_FREE:
            raise _OverBudget
        rays: list[Vec] = []
        for sub in itertools.combinations(active, d - 1):
            r = _ray([planes[i] for i in sub], d)
            if r is not None:
                rays.extend((r, tuple(-x for x in r)))
        self._charge(len(rays) * (1 << len(free)))
        for signs in itertools.product((1, -1), repeat=len(free)):
            want = [(i, 1) for i in forced] + list(zip(free, signs, strict=True))
            good = [r for r in rays if all(s * _lin(planes[i], r) >= 0 for i, s in want)]
            if not good:
                continue
            delta = tuple(sum(c) for c in zip(*good, strict=True))
            if not all(s * _lin(planes[i], delta) > 0 for i, s in want):
                continue
            eps = _ONE
            for i, v in enumerate(vals):
                if v != 0:
                    slope = _lin(planes[i], delta)
                    if slope != 0 and (v > 0) != (slope > 0):
                        eps = min(eps, abs(v / slope))
            q = tuple(a + eps / 2 * b for a, b in zip(p, delta, strict=True))
            self.points += 1
            got = self.place(q, others, fixed)
            if got < self.best:
                self.best, self.best_g = got, q
            if got > self.worst:
                self.worst, self.worst_g = got, q


def _normal(a: Vec) -> Vec:
    """An affine form scaled so that equal hyperplanes compare equal."""
    lead = next((x for x in a if x != 0), _ONE)
    return tuple(x / abs(lead) for x in a)


def _comb(n: int, r: int) -> int:
    from math import comb

    return comb(n, r)


# ------------------------------------------------------------------ the entry


def sensitivity(
    rb: Rulebook, results: Sequence[UnitResult], pct: Fraction, *, seed: int = 0, samples: int = 500
) -> Sensitivity:
    """Best and worst rank of every unit when base-category weights move by up to ±``pct``.

    Args:
        rb: the rulebook.
        results: the scored units (ranked per role as usual).
        pct: the relative change, e.g. ``Fraction(1, 10)`` for ±10 %.
        seed: for the sampled weightings (recorded in the result).
        samples: how many weightings to sample where the extremes are searched rather than computed.
    """
    if not 0 <= pct < 1:
        raise ValueError(f"sensitivity must be between 0 % and 100 %, got {pct * 100}%")
    model = _Model(rb, results, pct)
    k = len(model.moving)
    d = model.d
    n = max(1, len(results))
    best: dict[Key, int] = {}
    worst: dict[Key, int] = {}
    best_g: dict[Key, Vec] = {}
    worst_g: dict[Key, Vec] = {}
    evaluated = 0

    def look(g: Vec) -> None:
        nonlocal evaluated
        evaluated += 1
        for key, r in model.ranks(g).items():
            if key not in best or r < best[key]:
                best[key], best_g[key] = r, g
            if key not in worst or r > worst[key]:
                worst[key], worst_g[key] = r, g

    centre = tuple(_ONE for _ in range(d))
    look(centre)
    if d == 0 or pct == 0:  # nothing can move: the place at the given weights is the only one
        exact = frozenset(best)
        return _result(model, pct, evaluated, seed, best, worst, best_g, worst_g, exact, "")
    steps = (1 - pct, _ONE, 1 + pct)
    grid = 3**k * n <= BUDGET
    if grid:
        for f in itertools.product(steps, repeat=k):
            look(tuple(x / f[-1] for x in f[:-1]))
    exact_keys: set[Key] = set()
    if k <= EXACT_MAX_CATEGORIES:
        for u in model.units:
            s = _Search(model, u, best[u.key], worst[u.key], best_g[u.key], worst_g[u.key])
            try:
                s.run()
            except _OverBudget:
                pass
            else:
                exact_keys.add(u.key)
            evaluated += s.points
            best[u.key], best_g[u.key] = s.best, s.best_g
            worst[u.key], worst_g[u.key] = s.worst, s.worst_g
    searched = ""
    if len(exact_keys) < len(model.units):
        rnd = random.Random(seed)
        count = max(20, min(samples, BUDGET // n))
        for _ in range(count):
            fr = [1 - pct + 2 * pct * Fraction(rnd.randint(0, 1000), 1000) for _ in range(k)]
            look(tuple(x / fr[-1] for x in fr[:-1]))
        what = (
            f"the {3**k} weightings of the grid −{fmt_pct(pct)}, 0, +{fmt_pct(pct)} per weight plus "
            if grid
            else ""
        )
        searched = f"searched {what}{count} seeded random weightings (seed {seed})"
        if k <= EXACT_MAX_CATEGORIES:
            searched += (
                f"; exact for {len(exact_keys)} of {len(model.units)} units, the others exceeded the "
                "work budget; a searched unit's true best place may be better and its worst worse"
            )
        else:
            searched += "; the true best place may be better and the worst worse"
    return _result(
        model, pct, evaluated, seed, best, worst, best_g, worst_g, frozenset(exact_keys), searched
    )


def fmt_pct(pct: Fraction) -> str:
    """``Fraction(1, 10)`` → ``10%``."""
    v = pct * 100
    return f"{v.numerator}%" if v.denominator == 1 else f"{float(v):g}%"


def _result(
    model: _Model,
    pct: Fraction,
    evaluated: int,
    seed: int,
    best: dict[Key, int],
    worst: dict[Key, int],
    best_g: dict[Key, Vec],
    worst_g: dict[Key, Vec],
    exact: frozenset[Key],
    searched: str,
) -> Sensitivity:
    return Sensitivity(
        pct=pct,
        weightings=evaluated,
        exhaustive=len(exact) == len(best),
        seed=seed,
        best=best,
        worst=worst,
        categories=model.base_ids,
        best_at={k: model.factors(g) for k, g in best_g.items()},
        worst_at={k: model.factors(g) for k, g in worst_g.items()},
        exact=exact,
        searched=searched,
    )
