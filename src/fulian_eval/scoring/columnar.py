"""Columnar scoring: a rulebook compiled once into a plan run over columns of many units.

The per-unit core (:mod:`fulian_eval.scoring.exact`) is the reference; this module gives
the very same results for a whole table at numpy speed. How it stays exact:

* Values are float64 columns, each with a column of **error bounds**: how far the
  float may be from the exact rational value (0 for whole numbers held exactly,
  half an ulp for a decimal read from text, and every arithmetic step adds its
  own rounding and propagates its inputs' bounds).
* Every **decision** — a comparison, a floor or ceil, a half-up rounding to the
  rulebook's precision (0.01, 0.1 or 1) —
  is taken in floats only where the float is farther from the boundary than its
  error bound, so the exact value must fall on the same side. Rows where any
  decision is too close to call are marked *doubtful*.
* Doubtful rows are settled by the exact per-unit path (``settle``); so are rows
  the front end could not read as plain numbers. Item points, category scores
  and sums are whole hundredths (int64) from the first rounding on (multiples of
  10 or 100 of them at a precision of 0.1 or 1), and category
  rescaling is done in integers, so only the weighted total needs floats again.

Rulebook features the compiler does not handle (a ``round`` whose places come from
evidence, ``==`` between sets, a max finer than 0.01) raise :class:`Unsupported`
when the plan is compiled; callers then use the per-unit path for the whole run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs
import numpy as np

from ..kinds import KINDS, ManualRule, VetoRule
from ..kinds.veto import TOTAL
from ..lang.expr import COMPARE, And, Arith, Call, Compare, Const, Expr, Name, Neg, Node, Not, Or
from ..lang.text import round_h
from ..model.rulebook import Category, Evidence, Item, Rulebook
from ..model.status import Status
from .exact import UnitResult, consistency_flag, hundredths, na_awards, score

__all__ = [
    "STATUSES",
    "Col",
    "Plan",
    "Scores",
    "Unsupported",
    "compile_plan",
]

# Value states, as the per-unit path's exceptions: MissingValue, NotApplicableValue, DivisionByZero.
OK, MISSING, NA, DIV0 = 0, 1, 2, 3
#: Item status codes: index into this tuple.
STATUSES = tuple(s.value for s in Status)  # index = Status.code (model.status)
S_SCORED, S_MISSING, S_NA, S_VETO = 0, 1, 2, 3

U = 2.0**-52  # twice the unit roundoff of float64: every error bound below is generous
EXACT_INT = 2.0**52  # whole numbers below this are held exactly, with room for one more step
LIMIT = 2**62  # exact int64 results must stay below this
SMALL = 2**31  # exact forms are brought down by their gcd above this

FArr = np.ndarray[Any, np.dtype[np.float64]]
State = Any  # int 0 (all OK) or an int8 array
Num = Any  # float or float64 array


class Unsupported(Exception):
    """The rulebook uses something the columnar plan does not compile; use the per-unit path."""


# ----------------------------------------------------------------- columns


class Col:
    """One expression's values over the rows of a chunk.

    A number column is held exactly where it can be — as whole-number numerators
    and denominators (``qn / qd``, int64, ``qd > 0``) with known bounds — and
    otherwise as floats with a bound on their error. Exact columns give their
    floats on demand; an operation whose exact result could overflow int64 goes
    on in floats.

    Attributes:
        kind: ``"num"``, ``"bool"``, ``"str"`` or ``"set"``.
        s: the state per row (0 = a value; MISSING, NA, DIV0), or the scalar 0.
        b: for bool, str and set columns, the values (sets: int codes into ``table``).
        table: for sets, the distinct sets the codes point at.
        qn, qd, bn, bd: the exact form, and bounds on |qn| and qd (``qn`` is None if inexact).
    """

    __slots__ = ("_e", "_v", "b", "bd", "bn", "kind", "qd", "qn", "s", "table")

    def __init__(
        self,
        kind: str,
        *,
        s: State = 0,
        b: Any = None,
        table: Sequence[frozenset[str]] = (),
        v: Num = None,
        e: Num = 0.0,
        qn: Any = None,
        qd: Any = 1,
        bn: int = 0,
        bd: int = 1,
    ) -> None:
        self.kind = kind
        self.s = s
        self.b = b
        self.table = table
        self._v = v
        self._e = e
        self.qn = qn
        self.qd = qd
        self.bn = bn
        self.bd = bd

    @property
    def exact(self) -> bool:
        return self.qn is not None

    @property
    def v(self) -> Num:
        """The values as floats (for an exact column, each within half an ulp)."""
        if self._v is None:
            self._v = self.qn / self.qd if not _is_one(self.qd) else self.qn * 1.0
        return self._v

    @property
    def e(self) -> Num:
        """A bound on |v − exact value|."""
        if self.qn is not None:
            return 0.0 if _is_one(self.qd) and self.bn < EXACT_INT else np.abs(self.v) * U
        return self._e

    @classmethod
    def const(cls, value: Any) -> Col:
        if isinstance(value, bool):
            return cls("bool", b=value)
        if isinstance(value, str):
            return cls("str", b=value)
        f = Fraction(value)
        if abs(f.numerator) < SMALL and f.denominator < SMALL:
            return cls(
                "num", qn=f.numerator, qd=f.denominator, bn=abs(f.numerator), bd=f.denominator
            )
        x = float(f)
        return cls("num", v=x, e=0.0 if Fraction(x) == f else abs(x) * U)

    @classmethod
    def ratio(cls, qn: Any, qd: Any, s: State = 0) -> Col:
        """An exact column ``qn / qd`` (int64 arrays or ints, ``qd > 0``)."""
        bn = (
            int(np.max(np.abs(qn)))
            if isinstance(qn, np.ndarray) and qn.size
            else abs(int(np.max(qn, initial=0)))
        )
        bd = (
            int(np.max(qd))
            if isinstance(qd, np.ndarray) and qd.size
            else int(np.max(qd, initial=1))
        )
        return cls("num", qn=qn, qd=qd, bn=bn, bd=max(bd, 1), s=s)

    @classmethod
    def floats(cls, v: Num, e: Num, s: State = 0) -> Col:
        return cls("num", v=v, e=e, s=s)


def _is_one(x: Any) -> bool:
    return isinstance(x, int) and x == 1


def _states(*ss: State) -> State:
    """The state of an operation: the first non-OK state of its operands, in evaluation order."""
    out: State = 0
    for s in ss:
        if isinstance(s, int) and s == 0:
            continue
        if isinstance(out, int) and out == 0:
            out = s
            continue
        out = np.where(out != OK, out, s)
    return out


def _is_zero(x: Num) -> bool:
    return isinstance(x, float | int) and x == 0


def _fits(*bounds: int) -> bool:
    return all(b < LIMIT for b in bounds)


class _Run:
    """Evaluation over one chunk: the rows, and which of them are doubtful."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.doubt = np.zeros(n, dtype=bool)

    def doubtful(self, mask: Any, s: State = 0) -> None:
        """Mark rows where a decision was too close to call (only rows holding a value count)."""
        mask = np.asarray(mask, dtype=bool)
        if not isinstance(s, int):
            mask = mask & (s == OK)
        self.doubt |= mask

    def full(self, x: Any, dtype: Any) -> Any:
        arr = np.asarray(x, dtype=dtype)
        if arr.shape != (self.n,):
            arr = np.broadcast_to(arr, (self.n,)).copy()
        return arr

    # ------------------------------------------------------------ exactness

    def _reduce(self, qn: Any, qd: Any, bn: int, bd: int, s: State) -> Col:
        """An exact result; numerators and denominators are brought down by their gcd when large."""
        if bn < SMALL and bd < SMALL:
            return Col("num", qn=qn, qd=qd, bn=bn, bd=bd, s=s)
        if not isinstance(qd, np.ndarray) and not isinstance(qn, np.ndarray):
            f = Fraction(int(qn), int(qd))
            return (
                Col.const(f)
                if f.denominator < LIMIT and abs(f.numerator) < LIMIT
                else Col("num", qn=qn, qd=qd, bn=bn, bd=bd, s=s)
            )
        g = np.gcd(qn, qd)
        g = np.where(g == 0, 1, g)
        col = Col.ratio(qn // g, qd // g, s)
        return col

    # ------------------------------------------------------------ arithmetic

    def add(self, a: Col, b: Col, sign: int = 1) -> Col:
        s = _states(a.s, b.s)
        if a.exact and b.exact:
            if isinstance(a.qd, int) and isinstance(b.qd, int) and a.qd == b.qd:
                if _fits(a.bn + b.bn):
                    qn = a.qn + b.qn if sign > 0 else a.qn - b.qn
                    return self._reduce(qn, a.qd, a.bn + b.bn, a.bd, s)
            elif _fits(a.bn * b.bd + b.bn * a.bd, a.bd * b.bd):
                qn = a.qn * b.qd + b.qn * a.qd if sign > 0 else a.qn * b.qd - b.qn * a.qd
                return self._reduce(qn, a.qd * b.qd, a.bn * b.bd + b.bn * a.bd, a.bd * b.bd, s)
        r = a.v + b.v if sign > 0 else a.v - b.v
        return Col.floats(r, a.e + b.e + np.abs(r) * U, s)

    def mul(self, a: Col, b: Col) -> Col:
        s = _states(a.s, b.s)
        if a.exact and b.exact and _fits(a.bn * b.bn, a.bd * b.bd):
            return self._reduce(a.qn * b.qn, a.qd * b.qd, a.bn * b.bn, a.bd * b.bd, s)
        av, bv, ae, be = a.v, b.v, a.e, b.e
        r = av * bv
        return Col.floats(r, np.abs(av) * be + np.abs(bv) * ae + ae * be + np.abs(r) * U, s)

    def div(self, a: Col, b: Col) -> Col:
        s0 = _states(a.s, b.s)
        if b.exact:
            zero = b.qn == 0
        else:  # a divisor within its error of zero: is it zero or not?
            if not _is_zero(b.e):
                self.doubtful(~(np.abs(b.v) > 2 * b.e), s0)
            zero = b.v == 0
        s: State = s0
        if isinstance(zero, np.ndarray):
            if zero.any():
                s = np.where(np.asarray(s0) != OK, s0, np.where(zero, DIV0, OK)).astype(np.int8)
        elif zero:  # a constant divisor of zero
            s = self.full(np.where(np.asarray(s0) != OK, s0, DIV0), np.int8)
        if a.exact and b.exact and _fits(a.bn * b.bd, a.bd * b.bn):
            qn = a.qn * b.qd
            qd = a.qd * b.qn
            if isinstance(qd, np.ndarray) or isinstance(qn, np.ndarray):
                neg = qd < 0
                qn = np.where(neg, -qn, qn)
                qd = np.where(zero, 1, np.abs(qd))
            else:
                if qd < 0:
                    qn, qd = -qn, -qd
                if qd == 0:
                    qd = 1
            return self._reduce(qn, qd, a.bn * b.bd, max(a.bd * b.bn, 1), s)
        bv = b.v
        safe = np.where(zero, 1.0, bv) if isinstance(zero, np.ndarray) else (1.0 if zero else bv)
        av, ae, be = a.v, a.e, b.e
        r = av / safe
        if _is_zero(ae) and _is_zero(be):
            e: Num = np.abs(r) * U
        else:
            room = np.abs(safe) - be
            with np.errstate(divide="ignore", invalid="ignore"):
                e = np.where(
                    room > 0, (np.abs(av) * be + np.abs(safe) * ae) / (np.abs(safe) * room), np.inf
                )
            e = e + np.abs(r) * U
        return Col.floats(r, e, s)

    def neg(self, a: Col) -> Col:
        if a.exact:
            return Col("num", qn=-a.qn, qd=a.qd, bn=a.bn, bd=a.bd, s=a.s)
        return Col.floats(-a.v, a.e, a.s)

    def absolute(self, a: Col) -> Col:
        if a.exact:
            return Col("num", qn=np.abs(a.qn), qd=a.qd, bn=a.bn, bd=a.bd, s=a.s)
        return Col.floats(np.abs(a.v), a.e, a.s)

    def where(self, cond: Col, a: Col, b: Col) -> Col:
        """``a`` where ``cond`` holds, else ``b`` (exact when both are)."""
        mask = self.full(cond.b, bool)
        s = _states(cond.s, a.s, b.s)
        if a.exact and b.exact:
            if isinstance(a.qd, int) and isinstance(b.qd, int) and a.qd == b.qd:
                qd: Any = a.qd
            else:
                qd = np.where(mask, a.qd, b.qd)
            return Col(
                "num",
                qn=np.where(mask, a.qn, b.qn),
                qd=qd,
                bn=max(a.bn, b.bn),
                bd=max(a.bd, b.bd),
                s=s,
            )
        e = a.e if _is_zero(a.e) and _is_zero(b.e) else np.where(mask, a.e, b.e)
        return Col.floats(np.where(mask, a.v, b.v), e, s)

    # ------------------------------------------------------------- decisions

    def _order(self, a: Col, b: Col) -> tuple[Any, Any] | None:
        """Whole numbers to compare in place of a and b, when both are exact."""
        if a.exact and b.exact:
            if isinstance(a.qd, int) and isinstance(b.qd, int) and a.qd == b.qd:
                return a.qn, b.qn
            if _fits(a.bn * b.bd, b.bn * a.bd):
                return a.qn * b.qd, b.qn * a.qd
        return None

    def compare(self, op: str, a: Col, b: Col) -> Col:
        s = _states(a.s, b.s)
        if a.kind == "num":
            pair = self._order(a, b)
            if pair is not None:
                return Col("bool", b=_bool(COMPARE[op](*pair)), s=s)
            av, bv = a.v, b.v
            tol = 2 * (a.e + b.e)
            d = av - bv
            if not _is_zero(tol):
                self.doubtful((~(np.abs(d) > tol) & (tol > 0)) | ~np.isfinite(d), s)
            else:
                self.doubtful(~np.isfinite(d), s)
            return Col("bool", b=_bool(COMPARE[op](av, bv)), s=s)
        if a.kind == "set":
            raise Unsupported("comparing sets with == or !=")
        return Col("bool", b=_bool(COMPARE[op](a.b, b.b)), s=s)

    def pick(self, fname: str, cols: Sequence[Col]) -> Col:
        """min() or max() of several columns."""
        acc = cols[0]
        for c in cols[1:]:
            s = _states(acc.s, c.s)
            pair = self._order(acc, c)
            if pair is not None:
                take = pair[1] < pair[0] if fname == "min" else pair[1] > pair[0]
                qn = np.where(take, c.qn, acc.qn)
                qd = np.where(take, c.qd, acc.qd)
                acc = Col("num", qn=qn, qd=qd, bn=max(acc.bn, c.bn), bd=max(acc.bd, c.bd), s=s)
                continue
            agg = np.minimum if fname == "min" else np.maximum
            acc = Col.floats(agg(acc.v, c.v), np.maximum(acc.e, c.e), s)
        return acc

    def whole(self, a: Col, how: str) -> Col:
        """floor or ceil, deciding only where the value is clearly off a whole number."""
        if a.exact:
            qn = a.qn // a.qd if how == "floor" else -((-a.qn) // a.qd)
            return Col("num", qn=qn, qd=1, bn=a.bn + 1, bd=1, s=a.s)
        av, ae = a.v, a.e
        f = np.floor(av) if how == "floor" else np.ceil(av)
        dist = np.minimum(av - np.floor(av), np.ceil(av) - av)
        self.doubtful((~(dist > 2 * ae) & (ae > 0)) | ~(np.abs(av) < EXACT_INT), a.s)
        return Col.floats(f, 0.0, a.s)

    def half_up(self, y: Col) -> Any:
        """Round half away from zero to whole numbers (int64), marking values too near a half."""
        if y.exact and _fits(2 * y.bn + y.bd, 2 * y.bd):
            q = (2 * np.abs(y.qn) + y.qd) // (2 * y.qd)
            return np.where(np.asarray(y.qn) < 0, -q, q).astype(np.int64)
        yv, ye = y.v, y.e
        ay = np.abs(yv)
        h = np.sign(yv) * np.floor(ay + 0.5)
        dist = np.abs(ay - np.floor(ay) - 0.5)
        self.doubtful(~(dist > 2 * ye + 4 * U * ay) | ~(ay < EXACT_INT), y.s)
        return np.nan_to_num(h).astype(np.int64)

    def points_h(self, raw: Col, lo_h: int, hi_h: int, step_h: int = 1) -> Any:
        """An item's points in whole hundredths: half-up to the precision (``step_h``
        hundredths: 1, 10 or 100), then kept in [floor, max] (both rounded alike)."""
        if step_h == 1:
            h = self.half_up(self.mul(raw, Col.const(100)))
        else:
            h = self.half_up(self.mul(raw, Col.const(100 // step_h))) * step_h
        return np.clip(h, lo_h, hi_h)


def _bool(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.dtype != np.bool_:
        return x.astype(bool)
    return x


# -------------------------------------------------------------- expressions


def _evaluate(run: _Run, tree: Node, env: Mapping[str, Col]) -> Col:
    match tree:
        case Const(literal):
            return Col.const(literal)
        case Name(name):
            return env[name]
        case Or(parts) | And(parts):
            want = isinstance(tree, Or)  # the value that decides: true for or, false for and
            cols = [_evaluate(run, t, env) for t in parts]
            n = run.n
            done = np.zeros(n, dtype=bool)
            value = np.full(n, not want)
            state = np.zeros(n, dtype=np.int8)
            for p in cols:
                if not isinstance(p.s, int):
                    bad = ~done & (p.s != OK)
                    state[bad] = p.s[bad]
                    done |= bad
                hit = ~done & (np.asarray(p.b) == want)
                value[hit] = want
                done |= hit
            return Col("bool", b=value, s=state if state.any() else 0)
        case Not(operand):
            x = _evaluate(run, operand, env)
            return Col("bool", b=~np.asarray(x.b, dtype=bool), s=x.s)
        case Compare(op, left, right):
            a = _evaluate(run, left, env)
            b = _evaluate(run, right, env)
            return run.compare(op, a, b)
        case Arith(first, rest):
            acc = _evaluate(run, first, env)
            for op, t in rest:
                b = _evaluate(run, t, env)
                if op == "+":
                    acc = run.add(acc, b)
                elif op == "-":
                    acc = run.add(acc, b, -1)
                elif op == "*":
                    acc = run.mul(acc, b)
                else:
                    acc = run.div(acc, b)
            return acc
        case Neg(operand):
            return run.neg(_evaluate(run, operand, env))
        case Call(function, args):
            return _call(run, function, args, env)
    raise Unsupported(
        f"expression node {type(tree).__name__}"
    )  # pragma: no cover - the parser makes no others


def _call(run: _Run, fname: str, args: Sequence[Node], env: Mapping[str, Col]) -> Col:
    if fname == "has":
        lit = args[1]
        if not isinstance(lit, Const):
            raise Unsupported("has() with a name that is not a constant string")
        s = _evaluate(run, args[0], env)
        name = lit.value
        member = np.array([name in x for x in s.table], dtype=bool)
        return Col("bool", b=member[s.b] if len(member) else np.zeros(run.n, dtype=bool), s=s.s)
    if fname == "count":
        s = _evaluate(run, args[0], env)
        sizes = np.array([len(x) for x in s.table], dtype=np.int64)
        return Col.ratio(sizes[s.b] if len(sizes) else np.zeros(run.n, dtype=np.int64), 1, s.s)
    cols = [_evaluate(run, a, env) for a in args]
    if fname in ("min", "max"):
        return run.pick(fname, cols)
    x = cols[0]
    if fname == "abs":
        return run.absolute(x)
    if fname in ("floor", "ceil"):
        return run.whole(x, fname)
    if fname == "round":
        places = 0
        if len(args) == 2:
            p = args[1]
            if not isinstance(p, Const):
                raise Unsupported("round() with places that are not a constant")
            places = int(p.value)
        scale = Fraction(10) ** places
        h = run.half_up(run.mul(x, Col.const(scale)))
        return run.mul(Col.ratio(h, 1, x.s), Col.const(1 / scale))
    raise Unsupported(f"function {fname}()")  # pragma: no cover


def _only(col: Col, mask: Any) -> Col:
    """The column where ``mask`` holds, and an exact 0 elsewhere (a value that decides nothing)."""
    if col.exact:
        qd = np.where(mask, col.qd, 1) if isinstance(col.qd, np.ndarray) else col.qd
        return Col("num", qn=np.where(mask, col.qn, 0), qd=qd, bn=col.bn, bd=col.bd, s=col.s)
    e = col.e if _is_zero(col.e) else np.where(mask, col.e, 0.0)
    return Col.floats(np.where(mask, col.v, 0.0), e, col.s)


class _ColumnOps:
    """The kinds' operations (:class:`fulian_eval.kinds.Ops`) on the columns of one chunk.

    Each value read is remembered with its per-row state; :meth:`state` gives, per row,
    the state of the first value the item lacked, as the exact engine raises it.
    """

    __slots__ = ("env", "points", "run", "states")

    def __init__(self, run: _Run, env: Mapping[str, Col], points: Mapping[str, Col]) -> None:
        self.run = run
        self.env = env
        self.points = points
        self.states: list[State] = []

    def state(self) -> State:
        return _states(*self.states)

    def read(self, name: str) -> Col:
        c = self.env[name]
        self.states.append(c.s)
        return c

    def read_all(self, names: Sequence[str]) -> list[Col]:
        cols = [self.env[n] for n in names]
        # Any value missing: missing; else the first value not applicable (as the exact engine).
        state = _states(*(c.s for c in cols))
        arrays = [c.s for c in cols if not isinstance(c.s, int)]
        if arrays:
            missing = np.logical_or.reduce([s == MISSING for s in arrays])
            state = np.where(missing, MISSING, state).astype(np.int8)
        self.states.append(state)
        return cols

    def evaluate(self, expr: Expr) -> Col:
        c = _evaluate(self.run, expr.tree, self.env)
        self.states.append(c.s)
        return c

    def manual(self, item_id: str) -> Col:
        c = self.points.get(item_id) or _all_missing("number", self.run.n)
        self.states.append(c.s)
        return c

    @staticmethod
    def const(x: Fraction | int) -> Col:
        return Col.const(x)

    def add(self, a: Col, b: Col) -> Col:
        return self.run.add(a, b)

    def sub(self, a: Col, b: Col) -> Col:
        return self.run.add(a, b, -1)

    def mul(self, a: Col, b: Col) -> Col:
        return self.run.mul(a, b)

    def div(self, a: Col, b: Col) -> Col:
        return self.run.div(a, b)

    def cmp(self, op: str, a: Col, b: Col) -> Col:
        return self.run.compare(op, a, b)

    def all(self, conds: Sequence[Col]) -> Col:
        ok = np.ones(self.run.n, dtype=bool)
        for c in conds:
            ok &= self.run.full(c.b, bool)
        return Col("bool", b=ok, s=_states(*(c.s for c in conds)))

    def where(self, cond: Col, a: Col, b: Col) -> Col:
        return self.run.where(cond, a, b)

    def select(self, choices: Sequence[tuple[Col, Col]], default: Col) -> Col:
        acc = default
        for cond, value in reversed(choices):
            acc = self.run.where(cond, value, acc)
        return acc

    def clamp(self, x: Col, lo: Col, hi: Col) -> Col:
        return self.run.pick("max", [self.run.pick("min", [x, hi]), lo])

    def floor(self, x: Col) -> Col:
        return self.run.whole(x, "floor")

    def ceil(self, x: Col) -> Col:
        return self.run.whole(x, "ceil")

    def absent(
        self, have: Col, names: Sequence[str], weights: Sequence[Fraction] | None = None
    ) -> Col:
        if (
            weights is not None
        ):  # a weighted checklist (SPEC §10.4): exact, over a common denominator
            den = math.lcm(*(w.denominator for w in weights))
            nums = [int(w * den) for w in weights]
            by_w = np.array(
                [
                    sum(k for r, k in zip(names, nums, strict=True) if r not in x)
                    for x in have.table
                ],
                dtype=np.int64,
            )
            got = by_w[have.b] if len(by_w) else np.zeros(self.run.n, dtype=np.int64)
            return Col.ratio(got, den, have.s)
        by_set = np.array([sum(1 for r in names if r not in x) for x in have.table], dtype=np.int64)
        counts = by_set[have.b] if len(by_set) else np.zeros(self.run.n, dtype=np.int64)
        return Col.ratio(counts, 1, have.s)

    def lookup(self, value: Col, table: Mapping[str, Fraction], default: Fraction) -> Col:
        # Exact: every number over one common denominator (points are kept to 0.01 and at
        # most MAX_POINTS, so it stays small), picked per row by its string.
        den = math.lcm(default.denominator, *(x.denominator for x in table.values()))
        num = {k: int(x * den) for k, x in table.items()}
        other = int(default * den)
        strings = np.broadcast_to(np.asarray(value.b, dtype=object), (self.run.n,))
        qn = np.fromiter((num.get(v, other) for v in strings), dtype=np.int64, count=self.run.n)
        return Col.ratio(qn, den, value.s)


# ------------------------------------------------------------------- results


@attrs.define(kw_only=True)
class Scores:
    """The scores of one chunk of units, as compact arrays (rows in input order).

    Attributes:
        total_h: rounded totals in hundredths.
        vetoed: whether a veto hit; ``grade``: index into the rulebook's grades (−1: none).
        cat_h, cat_ok: rounded category scores in hundredths, and whether each applies.
        item_h, status: item points in hundredths and status codes (see :data:`STATUSES`).
        checks: consistency checks that failed, one column per ``[[consistency]]``.
        doubt: rows the columns could not decide; once settled by the exact per-unit
            path, their full flags are in ``flags``.
    """

    total_h: np.ndarray[Any, np.dtype[np.int64]]
    vetoed: np.ndarray[Any, np.dtype[np.bool_]]
    grade: np.ndarray[Any, np.dtype[np.int16]]
    cat_h: np.ndarray[Any, np.dtype[np.int64]]
    cat_ok: np.ndarray[Any, np.dtype[np.bool_]]
    item_h: np.ndarray[Any, np.dtype[np.int64]]
    status: np.ndarray[Any, np.dtype[np.int8]]
    checks: np.ndarray[Any, np.dtype[np.bool_]]
    doubt: np.ndarray[Any, np.dtype[np.bool_]]
    flags: dict[int, tuple[str, ...]] = attrs.field(factory=dict)

    @property
    def n(self) -> int:
        return len(self.total_h)


@attrs.frozen(kw_only=True)
class _ItemPlan:
    item: Item
    lo_h: int  # floor and max rounded to the precision: the bounds of the rounded points
    hi_h: int
    max_h: int  # the max itself: rescaling (SPEC §4.4) counts it exactly, as the exact engine does
    na_h: int  # points when not applicable
    missing_h: int  # points when evidence is missing
    unmet_h: int  # points when the precondition (requires, SPEC §10.4) fails: as under on_missing = "worst"
    award: (
        bool  # not applicable: awarded its max (counts as applicable), else rescaled (SPEC §10.4)
    )
    veto_zero: bool
    deducts: bool  # in a deduction or penalty category: the item's value is its deduction


# --------------------------------------------------------------------- plan


def _h(x: Fraction, what: str) -> int:
    if 100 % x.denominator:
        raise Unsupported(f"{what} {x} is finer than 0.01")
    return x.numerator * (100 // x.denominator)


#: Points in hundredths that the plan and the table hold (int32 in :class:`~fulian_eval.scoring.stream.Table`).
POINTS_LIMIT_H = 2**31 - 1


def _check_magnitudes(rb: Rulebook, cats: Sequence[tuple[Category, Sequence[_ItemPlan]]]) -> None:
    """Prove every score fits the plan's integers, or hand the rulebook to the per-unit path.

    Item and category points and totals are kept as int32 hundredths in tables, and a
    rescaled category multiplies two sums of item hundredths in int64; all of them
    are bounded here by the rulebook's max and floor values.

    Raises:
        Unsupported: some score could reach POINTS_LIMIT_H hundredths.
    """
    total = abs(hundredths(rb.scale))
    for cat, plans in cats:
        reach = sum(max(p.hi_h, -p.lo_h, 0) for p in plans) + sum(
            max(
                abs(_h(g.max, f"group {cat.id}.{g.id} max")),
                abs(_h(g.floor, f"group {cat.id}.{g.id} floor")),
            )
            for g in cat.groups
        )
        cat_reach = max(
            abs(_h(cat.max, f"category {cat.id} max")),
            abs(_h(cat.floor, f"category {cat.id} floor")),
        )
        if cat.type != "base":
            total += cat_reach + abs(_h(cat.floor, f"category {cat.id} floor"))
        if max(reach, cat_reach, total) >= POINTS_LIMIT_H:
            raise Unsupported(
                f"category {cat.id}: scores could reach {max(reach, cat_reach, total) / 100:.0f} points, "
                "beyond the columns' integers"
            )
    if total >= POINTS_LIMIT_H:
        raise Unsupported(
            f"totals could reach {total / 100:.0f} points, beyond the columns' integers"
        )


class Plan:
    """A rulebook compiled for columns. Build with :func:`compile_plan`."""

    def __init__(self, rb: Rulebook) -> None:
        self.rb = rb
        self.places = places = rb.places
        self.step_h = rb.step_h
        self.cats: list[tuple[Category, list[_ItemPlan]]] = []
        for cat in rb.categories:
            plans = []
            for item in cat.items:
                if item.bounds_h is None:
                    raise Unsupported(f"item {item.id}: max or floor finer than 0.01")
                max_h = item.bounds_h[1]
                lo_h, hi_h = round_h(item.bounds_h[0], places), round_h(max_h, places)
                worst_h = round_h(hundredths(min(Fraction(0), item.floor)), places)
                # worst (SPEC §10.2): a base item scores its floor, a deduction deducts its max
                worst = hi_h if cat.deducts else worst_h
                missing_h = 0 if item.on_missing == "none" else worst
                awarded = na_awards(rb, cat, item)
                plans.append(
                    _ItemPlan(
                        item=item,
                        lo_h=lo_h,
                        hi_h=hi_h,
                        max_h=max_h,
                        na_h=hi_h if awarded and cat.type == "base" else 0,
                        missing_h=missing_h,
                        unmet_h=hi_h if cat.deducts else worst_h,
                        award=awarded,
                        veto_zero=isinstance(item.rule, VetoRule) and item.rule.effect == "zero",
                        deducts=cat.deducts,
                    )
                )
            _h(cat.max, f"category {cat.id} max")
            _h(cat.floor, f"category {cat.id} floor")
            self.cats.append((cat, plans))
        self.items = [p for _, ps in self.cats for p in ps]
        self.manual = [p.item.id for p in self.items if isinstance(p.item.rule, ManualRule)]
        _check_magnitudes(rb, self.cats)
        # Totals stay below 2**31 hundredths (checked above): a grade min beyond that is never reached.
        self.grade_h = [
            max(-POINTS_LIMIT_H, min(POINTS_LIMIT_H, math.ceil(g.min * 100))) for g in rb.grades
        ]
        self.grade_names = [g.name for g in rb.grades]
        self.weighted = any(c.weight is not None for c in rb.categories if c.base_like)
        # Walk every expression once on an empty chunk, so unsupported features fail now.
        self.run_columns({}, {}, 0)

    # ------------------------------------------------------------ evaluate

    def run_columns(self, fields: Mapping[str, Col], points: Mapping[str, Col], n: int) -> Scores:
        """Score ``n`` rows given a column per field and per manual item (absent: all missing).

        Doubtful rows are marked in ``Scores.doubt`` but not settled here.
        """
        rb = self.rb
        run = _Run(n)
        with np.errstate(all="ignore"):
            env: dict[str, Col] = {}
            for name, spec in rb.fields.items():
                got = fields.get(name)
                env[name] = got if got is not None else _all_missing(spec.type, n)
            for d in rb.derived:
                env[d.name] = self._derived(run, d.expr, d.on_zero, env)
            checks = np.zeros((n, len(rb.consistency)), dtype=bool)
            for k, check in enumerate(rb.consistency):
                c = _evaluate(run, check.when.tree, env)
                failed = ~run.full(c.b, bool)
                if not isinstance(c.s, int):
                    failed &= c.s == OK
                checks[:, k] = failed
            n_items = len(self.items)
            item_h = np.zeros((n, n_items), dtype=np.int64)
            status = np.zeros((n, n_items), dtype=np.int8)
            n_cats = len(self.cats)
            cat_num = np.zeros((n, n_cats), dtype=np.int64)  # category score = num / den hundredths
            cat_den = np.ones((n, n_cats), dtype=np.int64)
            cat_ok = np.ones((n, n_cats), dtype=bool)
            vetoed = np.zeros(n, dtype=bool)
            zeroed = np.zeros(n, dtype=bool)
            k = 0
            late: list[
                tuple[int, int, _ItemPlan, Any]
            ] = []  # vetoes on total / score("cat"), judged last
            for ci, (cat, plans) in enumerate(self.cats):
                live = self._holds(run, cat.applies_when, env)
                first = k
                for p in plans:
                    if isinstance(p.item.rule, VetoRule) and p.item.rule.late:
                        late.append((k, ci, p, live))  # for now a scored 0, as in the exact engine
                        k += 1
                        continue
                    h, st = self._item(run, p, env, live, points)
                    item_h[:, k] = h
                    status[:, k] = st
                    if isinstance(p.item.rule, VetoRule):
                        hit = st == S_VETO
                        vetoed |= hit
                        if p.veto_zero:
                            zeroed |= hit
                    k += 1
                self._category(
                    cat, plans, item_h[:, first:k], status[:, first:k], cat_num, cat_den, cat_ok, ci
                )
            cat_h = _round_ratio(cat_num, cat_den, self.step_h)
            total_h = self._total(run, cat_num, cat_den, cat_ok)
            if late:
                hit, zero = self._late_vetoes(
                    run, late, env, points, total_h, cat_h, cat_ok, item_h, status, cat_num, cat_den
                )
                vetoed |= hit
                zeroed |= zero
                cat_h = _round_ratio(cat_num, cat_den, self.step_h)
                total_h = self._total(run, cat_num, cat_den, cat_ok)
            total_h = np.where(zeroed, 0, total_h)
            grade = self._grades(total_h, vetoed)
        return Scores(
            total_h=total_h,
            vetoed=vetoed,
            grade=grade,
            cat_h=cat_h,
            cat_ok=cat_ok,
            item_h=item_h,
            status=status,
            checks=checks,
            doubt=run.doubt,
        )

    def _late_vetoes(
        self,
        run: _Run,
        late: Sequence[tuple[int, int, _ItemPlan, Any]],
        env: Mapping[str, Col],
        points: Mapping[str, Col],
        total_h: Any,
        cat_h: Any,
        cat_ok: Any,
        item_h: Any,
        status: Any,
        cat_num: Any,
        cat_den: Any,
    ) -> tuple[Any, Any]:
        """Judge the vetoes on ``total`` and ``score("cat")`` (SPEC §10.4), as the exact engine does.

        ``total`` is the rounded total before vetoes, ``score("cat")`` a category's rounded
        score (not applicable where the category does not apply); the categories holding
        such vetoes are scored again with their final statuses. Returns (vetoed, zeroed).
        """
        n = run.n
        late_env: dict[str, Col] = dict(env)
        late_env[TOTAL] = Col.ratio(run.full(total_h, np.int64), 100)
        index = {cat.id: ci for ci, (cat, _) in enumerate(self.cats)}
        for _, _, p, _ in late:
            assert isinstance(p.item.rule, VetoRule)
            for name, cid in p.item.rule.scores:
                ci = index[cid]
                na = np.where(cat_ok[:, ci], OK, NA).astype(np.int8)
                late_env[name] = Col.ratio(
                    run.full(cat_h[:, ci], np.int64), 100, na if na.any() else 0
                )
        vetoed = np.zeros(n, dtype=bool)
        zeroed = np.zeros(n, dtype=bool)
        for k, _, p, live in late:
            h, st = self._item(run, p, late_env, live, points)
            item_h[:, k] = h
            status[:, k] = st
            hit = st == S_VETO
            vetoed |= hit
            if p.veto_zero:
                zeroed |= hit
        starts = [0]
        for _, plans in self.cats:
            starts.append(starts[-1] + len(plans))
        for ci in sorted({ci for _, ci, _, _ in late}):
            cat, plans = self.cats[ci]
            a, b = starts[ci], starts[ci + 1]
            self._category(cat, plans, item_h[:, a:b], status[:, a:b], cat_num, cat_den, cat_ok, ci)
        return vetoed, zeroed

    def _derived(self, run: _Run, expr: Expr, on_zero: str, env: Mapping[str, Col]) -> Col:
        c = _evaluate(run, expr.tree, env)
        if isinstance(c.s, int):
            return c
        div0 = c.s == DIV0
        if not div0.any():
            return c
        if on_zero == "zero" and c.kind == "num":
            s = np.where(div0, OK, c.s).astype(np.int8)
            zeroed = _only(c, ~div0)
            zeroed.s = s
            return zeroed
        s = np.where(div0, MISSING if on_zero == "missing" else NA, c.s).astype(np.int8)
        out = copy.copy(c)
        out.s = s
        return out

    def _holds(self, run: _Run, e: Expr | None, env: Mapping[str, Col]) -> Any:
        """Where an applies_when holds: missing evidence or no value never excuses."""
        if e is None:
            return np.ones(run.n, dtype=bool)
        c = _evaluate(run, e.tree, env)
        v = run.full(c.b, bool)
        if isinstance(c.s, int):
            return v
        return v | (c.s != OK)

    def _item(
        self, run: _Run, p: _ItemPlan, env: Mapping[str, Col], live: Any, points: Mapping[str, Col]
    ) -> tuple[Any, Any]:
        item, rule = p.item, p.item.rule
        n = run.n
        if item.applies_when is not None:
            live = live & self._holds(run, item.applies_when, env)
        state: State
        if isinstance(rule, VetoRule):
            c = KINDS["veto"].raw(_ColumnOps(run, env, points), item.max, rule)
            state = c.s
            h: Any = np.zeros(n, dtype=np.int64)
            st = np.where(run.full(c.b, bool), S_VETO, S_SCORED).astype(np.int8)
        else:
            h, state = self._rule(run, p, env, points)
            st = np.full(n, S_SCORED, dtype=np.int8)
        if item.requires is not None:  # applies_when, then requires, then the item (SPEC §10.10)
            c = _evaluate(run, item.requires.tree, env)
            met = run.full(c.b, bool)
            if not isinstance(c.s, int):
                met = met & (c.s == OK)  # missing evidence: the precondition fails
            if not isinstance(state, int):
                state = np.where(met, state, OK).astype(np.int8)
            h = np.where(met, h, p.unmet_h)
        if not isinstance(state, int):
            missing = state == MISSING
            st[missing] = S_MISSING
            h = np.where(missing, p.missing_h, h)
            live = live & (state != NA) & (state != DIV0)
        st = np.where(live, st, S_NA).astype(np.int8)
        h = np.where(live, h, p.na_h)
        return run.full(h, np.int64), st

    def _rule(
        self, run: _Run, p: _ItemPlan, env: Mapping[str, Col], points: Mapping[str, Col]
    ) -> tuple[Any, State]:
        item = p.item
        kind = KINDS[item.kind]
        ops = _ColumnOps(run, env, points)
        raw = ops.manual(item.id) if item.kind == "manual" else kind.raw(ops, item.max, item.rule)
        # The state of what was read first, then of the arithmetic itself (a division by 0: not applicable).
        state = _states(ops.state(), raw.s)
        if kind.natural == "deduction" and not p.deducts:
            raw = run.add(Col.const(item.max), raw, -1)
        return run.points_h(raw, p.lo_h, p.hi_h, self.step_h), state

    # ------------------------------------------------------- categories, total

    def _category(
        self,
        cat: Category,
        plans: Sequence[_ItemPlan],
        h: Any,
        st: Any,
        num: Any,
        den: Any,
        ok: Any,
        ci: int,
    ) -> None:
        applicable = st != S_NA
        if cat.type == "base":  # an awarded not-applicable item counts as applicable (SPEC §10.4)
            applicable = applicable | np.array([p.award for p in plans], dtype=bool)
        maxes = np.array([p.max_h for p in plans], dtype=np.int64)  # rescaling counts maxes exactly
        if cat.groups:  # each group is one part of the category, counted at its max (SPEC §10.3)
            hs, apps, ms = [], [], []
            for g, idx in cat.parts:
                if g is None:
                    hs.append(h[:, idx[0]])
                    apps.append(applicable[:, idx[0]])
                    ms.append(int(maxes[idx[0]]))
                    continue
                cols = list(idx)
                g_num, g_den, g_ok = _sum_parts(
                    cat.type,
                    h[:, cols],
                    applicable[:, cols],
                    maxes[cols],
                    _h(g.floor, f"group {cat.id}.{g.id} floor"),
                    _h(g.max, f"group {cat.id}.{g.id} max"),
                    deduction=False,  # a group's score is its deduction, not 基本分 less it
                )
                # rounded to the precision, as items are (SPEC §10.5)
                hs.append(np.where(g_ok, _round_ratio(g_num, g_den, self.step_h), 0))
                apps.append(g_ok)
                ms.append(_h(g.max, f"group {cat.id}.{g.id} max"))
            n = h.shape[0]
            h = np.stack(hs, axis=1) if hs else np.zeros((n, 0), dtype=np.int64)
            applicable = np.stack(apps, axis=1) if apps else np.zeros((n, 0), dtype=bool)
            maxes = np.array(ms, dtype=np.int64)
        c_num, c_den, c_ok = _sum_parts(
            cat.type,
            h,
            applicable,
            maxes,
            _h(cat.floor, "floor"),
            _h(cat.max, "max"),
            deduction=cat.type == "deduction",
        )
        num[:, ci] = c_num
        den[:, ci] = c_den
        ok[:, ci] = c_ok

    def _total(self, run: _Run, num: Any, den: Any, ok: Any) -> Any:
        """Rounded totals (§4.3) in hundredths (at the precision), from exact category scores.

        Computed in floats with an error bound (each term has a relative error of a
        few ulps); totals too near a rounding boundary are marked doubtful.
        """
        rb = self.rb
        n = run.n
        s = num / den / 100.0
        base_num = np.zeros(n)
        base_den = np.zeros(n)
        mag = np.zeros(n)
        extra = np.zeros(n)
        extra_mag = np.zeros(n)
        for ci, (cat, _) in enumerate(self.cats):
            if cat.base_like:
                if cat.max == 0:
                    continue
                use = ok[:, ci]
                if self.weighted:
                    w = cat.weight or Fraction(0)
                    term = s[:, ci] * float(w / cat.max)
                    base_den += np.where(use, float(w), 0.0)
                else:
                    term = s[:, ci]
                    base_den += np.where(use, float(cat.max), 0.0)
                base_num += np.where(use, term, 0.0)
                mag += np.where(use, np.abs(term), 0.0)
            else:
                sign = 1.0 if cat.type == "bonus" else -1.0
                extra += sign * s[:, ci]
                extra_mag += np.abs(s[:, ci])
        scale = float(rb.scale)
        have = base_den > 0
        safe = np.where(have, base_den, 1.0)
        base = np.where(have, scale * base_num / safe, 0.0)
        base_mag = np.where(have, scale * mag / safe, 0.0)
        total = np.maximum(base + extra, 0.0)
        err = (8 + 4 * len(self.cats)) * U * (base_mag + extra_mag) * 100
        if self.step_h == 1:
            return run.half_up(Col.floats(total * 100, err))
        per = 100 / self.step_h  # 10 or 1 units of the precision per point: exact in floats
        return run.half_up(Col.floats(total * per, err / self.step_h)) * self.step_h

    def _grades(self, total_h: Any, vetoed: Any) -> Any:
        grade = np.full(len(total_h), -1, dtype=np.int16)
        if not self.grade_h:
            return grade
        for gi in range(len(self.grade_h) - 1, -1, -1):  # the highest min wins: assign it last
            grade[total_h >= self.grade_h[gi]] = gi
        grade[vetoed] = len(self.grade_h) - 1
        return grade

    # ------------------------------------------------------------ settling

    def blank(self, n: int) -> Scores:
        """Room for ``n`` rows, all to be filled by :meth:`settle`."""
        n_items, n_cats = len(self.items), len(self.cats)
        return Scores(
            total_h=np.zeros(n, dtype=np.int64),
            vetoed=np.zeros(n, dtype=bool),
            grade=np.full(n, -1, dtype=np.int16),
            cat_h=np.zeros((n, n_cats), dtype=np.int64),
            cat_ok=np.zeros((n, n_cats), dtype=bool),
            item_h=np.zeros((n, n_items), dtype=np.int64),
            status=np.zeros((n, n_items), dtype=np.int8),
            checks=np.zeros((n, len(self.rb.consistency)), dtype=bool),
            doubt=np.zeros(n, dtype=bool),
        )

    def settle(self, scores: Scores, i: int, result: UnitResult) -> None:
        """Put the exact per-unit result of row ``i`` into ``scores``."""
        scores.total_h[i] = self.rb.points_h(result.total)
        scores.vetoed[i] = result.vetoed
        scores.grade[i] = self.grade_names.index(result.grade) if result.grade is not None else -1
        for ci, c in enumerate(result.categories):
            scores.cat_h[i, ci] = self.rb.points_h(c.score)
            scores.cat_ok[i, ci] = c.applicable
        for k, it in enumerate(result.items):
            scores.item_h[i, k] = hundredths(it.points)  # already at the precision
            scores.status[i, k] = STATUSES.index(it.status)
        scores.checks[i, :] = False
        scores.flags[i] = result.flags
        scores.doubt[i] = True

    def score_evidence(self, evidence: Sequence[Evidence]) -> Scores:
        """Score evidence records as columns; doubtful rows are settled by the per-unit path."""
        fields = {
            name: column_of([ev.values.get(name) for ev in evidence], spec.type)
            for name, spec in self.rb.fields.items()
        }
        points = {
            iid: column_of([ev.points.get(iid) for ev in evidence], "number") for iid in self.manual
        }
        scores = self.run_columns(fields, points, len(evidence))
        for i in np.flatnonzero(scores.doubt):
            self.settle(scores, int(i), score(self.rb, evidence[int(i)]))
        return scores

    def flags_of(
        self, scores: Scores, i: int, evidence_flags: Iterable[str] = ()
    ) -> tuple[str, ...]:
        """Row ``i``'s flags, as the per-unit path gives them."""
        if i in scores.flags:
            return scores.flags[i]
        out = list(evidence_flags)
        for k in np.flatnonzero(scores.checks[i]):
            check = self.rb.consistency[int(k)]
            out.append(consistency_flag(check))
        return tuple(out)


def _sum_parts(
    ctype: str, h: Any, applicable: Any, maxes: Any, lo: int, hi: int, *, deduction: bool
) -> tuple[Any, Any, Any]:
    """A category's (or a group's) exact score from its parts, as num / den hundredths, and
    whether it applies (SPEC §4.2, §4.4, §10.1): the parts are items (points ``h``) or groups.

    ``applicable`` already counts awarded not-applicable items; only base parts rescale.
    """
    n = h.shape[0]
    if ctype != "base":
        any_ = applicable.any(axis=1)
        got = (h * applicable).sum(axis=1)
        if deduction:  # 基本分 less what its parts deduct
            got = hi - got
        return np.where(any_, np.clip(got, lo, hi), 0), np.ones(n, dtype=np.int64), any_
    big_a = int(maxes.sum())
    e = (h * applicable).sum(axis=1)
    small_a = (applicable * maxes).sum(axis=1)
    every = applicable.all(axis=1)
    dropped = (small_a == 0) & ~every  # nothing applicable carries points
    scaled = ~every & ~dropped
    n_ = np.where(scaled, e * big_a, np.where(dropped, 0, e))
    d_ = np.where(scaled, small_a, 1)
    below, above = n_ < lo * d_, n_ > hi * d_
    num = np.where(below, lo, np.where(above, hi, n_))
    den = np.where(below | above, 1, d_)
    ok = np.where(dropped, applicable.any(axis=1) & (big_a == 0), True)
    return num, den, ok


def _round_ratio(num: Any, den: Any, step: int = 1) -> Any:
    """num / den half away from zero to a multiple of ``step``, in whole numbers (den > 0), exactly."""
    d = den * step
    q = (2 * np.abs(num) + d) // (2 * d) * step
    return np.where(num < 0, -q, q)


def _all_missing(ftype: str, n: int) -> Col:
    s = np.full(n, MISSING, dtype=np.int8)
    if ftype == "bool":
        return Col("bool", b=np.zeros(n, dtype=bool), s=s)
    if ftype == "set":
        return Col("set", b=np.zeros(n, dtype=np.intp), s=s, table=(frozenset(),))
    if ftype in ("text", "choice"):
        return Col("str", b=np.full(n, "", dtype=object), s=s)
    return Col.ratio(np.zeros(n, dtype=np.int64), 1, s)


def column_of(values: Sequence[Any], ftype: str) -> Col:
    """A column from per-row values as in :class:`~fulian_eval.model.rulebook.Evidence` (None: missing)."""
    state = np.array([OK if v is not None else MISSING for v in values], dtype=np.int8)
    st: State = state if state.any() else 0
    if ftype == "bool":
        return Col("bool", b=np.array([bool(v) for v in values], dtype=bool), s=st)
    if ftype == "set":
        codes: dict[frozenset[str], int] = {}
        idx = np.array(
            [
                codes.setdefault(frozenset(v) if v is not None else frozenset(), len(codes))
                for v in values
            ],
            dtype=np.intp,
        )
        return Col("set", b=idx, s=st, table=tuple(codes))
    if ftype in ("text", "choice"):
        return Col("str", b=np.array(["" if v is None else v for v in values], dtype=object), s=st)
    fr = [Fraction(0) if v is None else Fraction(v) for v in values]
    if all(abs(x.numerator) < SMALL and x.denominator < SMALL for x in fr):
        return Col.ratio(
            np.array([x.numerator for x in fr], dtype=np.int64),
            np.array([x.denominator for x in fr], dtype=np.int64),
            st,
        )
    v = np.array([float(x) for x in fr], dtype=np.float64)
    return Col.floats(v, np.abs(v) * U, st)


def compile_plan(rb: Rulebook) -> Plan:
    """Compile ``rb`` for columnar scoring.

    Raises:
        Unsupported: the rulebook needs the per-unit path (see the module notes).
    """
    return Plan(rb)
