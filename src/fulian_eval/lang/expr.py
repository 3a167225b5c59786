"""The small, safe expression language of SPEC §7: parsed once, evaluated many times.

Never Python ``eval``: a tokenizer and a recursive-descent parser build closures
over exact :class:`~fractions.Fraction` arithmetic. Types are checked when the
rulebook loads, so evaluation never meets a set where it wanted a number.

>>> e = parse("cases > 0 and closed / cases >= 0.9", {"cases": "num", "closed": "num"})
>>> e.evaluate({"cases": Fraction(10), "closed": Fraction(9)})
True
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from ..errors import ExpressionError, did_you_mean
from .text import MAX_DIGITS, MAX_EXPONENT, round_half_up

__all__ = [
    "Absent",
    "DivisionByZero",
    "Expr",
    "MissingValue",
    "NotApplicableValue",
    "option_hint",
    "parse",
    "round_half_up",
]

MAX_LENGTH = 4096
MAX_DEPTH = 64
MAX_PLACES = 12
_EMPTY_ENV: dict[str, object] = {}

Value = Any  # Fraction | bool | str | frozenset[str]
Env = Mapping[str, Any]
Fn = Callable[[Env], Any]
#: The parsed form, for compilers (``fulian_eval.scoring.columnar``): nested tuples
#: ("const", value) ("name", name) ("or", parts) ("and", parts) ("not", x)
#: ("cmp", op, left, right) ("arith", first, ((op, operand), ...)) ("neg", x)
#: ("call", function, args).
Tree = tuple[Any, ...]


class Absent:
    """A name's value could not be had: evidence missing, or not applicable."""

    __slots__ = ("kind", "why")

    def __init__(self, kind: str, why: str = "") -> None:
        self.kind = kind  # "missing" | "not_applicable"
        self.why = why

    def __repr__(self) -> str:
        return f"Absent({self.kind!r}, {self.why!r})"


class MissingValue(Exception):
    """Evaluation needed a value the evidence does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class NotApplicableValue(Exception):
    """Evaluation needed a derived value that is not applicable (its divisor was zero)."""

    def __init__(self, name: str, why: str = "") -> None:
        super().__init__(name)
        self.name = name
        self.why = why


class DivisionByZero(Exception):
    """An expression divided by zero."""


# Constants outside the bounds on numbers (a 400-digit literal) are refused when the rulebook loads.


def _constant(text: str) -> Fraction | None:
    """A number literal (digits and a point) as a Fraction, or None if out of bounds."""
    whole = text.partition(".")[0].lstrip("0")
    if len(whole) > MAX_EXPONENT + 1 or len(text) > MAX_DIGITS + 1:
        return None
    return Fraction(text)


def option_hint(word: str, options: Sequence[str]) -> str:
    """``" (did you mean '健全'?)"`` for the option closest to ``word``, or ``""``.

    Options are short Chinese words, where one character in two (健荃 for 健全) is already
    a likely slip: the cut-off is lower than for ids.
    """
    close = difflib.get_close_matches(word.strip(), list(options), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,)
    """,
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "true", "false"}
_FUNCTIONS = {"min", "max", "abs", "floor", "ceil", "round", "count", "has"}


@attrs.frozen
class _Tok:
    kind: str  # num str name op end
    text: str
    col: int  # 1-based


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise ExpressionError(text, pos + 1, f"unterminated string: no closing {ch}")
            hint = ""
            if ch == "=":
                hint = "; use '==' to compare"
            elif ch in "&|":
                hint = "; use 'and' / 'or'"
            elif ch == "!":
                hint = "; use 'not'"
            raise ExpressionError(text, pos + 1, f"unexpected character '{ch}'{hint}")
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(_Tok(kind, m.group(), pos + 1))
        pos = m.end()
    toks.append(_Tok("end", "", len(text) + 1))
    return toks


# ---------------------------------------------------------------------- parse


@attrs.frozen
class _Node:
    fn: Fn
    type: str  # num bool str set
    col: int
    const: bool = False
    tree: Tree = ()


def _unescape(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str, types: Mapping[str, str],
                 options: Mapping[str, Sequence[str]] | None = None) -> None:
        self.text = text
        self.types = types
        self.options = options or {}
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.names: set[str] = set()

    # helpers
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, col: int, msg: str) -> ExpressionError:
        return ExpressionError(self.text, col, msg)

    def expect(self, text: str) -> _Tok:
        t = self.peek()
        if t.text != text or t.kind not in ("op",):
            got = "the end" if t.kind == "end" else f"'{t.text}'"
            raise self.error(t.col, f"expected '{text}' but found {got}")
        return self.take()

    def want(self, node: _Node, typ: str, what: str) -> None:
        if node.type != typ:
            raise self.error(node.col, f"{what} needs {_TYPE_WORD[typ]}, not {_TYPE_WORD[node.type]}")

    def option(self, field: _Node, other: _Node) -> None:
        """A string compared with a choice field must be one of its options (SPEC §10.6)."""
        if field.tree[:1] != ("name",) or field.tree[1] not in self.options or not other.const:
            return
        name, value = field.tree[1], other.tree[1]
        opts = self.options[name]
        if value not in opts:
            raise self.error(other.col, f"'{value}' is not an option of choice field '{name}'"
                                        f"{option_hint(value, opts)}; options: {'、'.join(opts)}")

    def enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(col, f"expression nested deeper than {MAX_DEPTH}")

    # grammar
    def parse(self) -> _Node:
        node = self.or_()
        t = self.peek()
        if t.kind != "end":
            raise self.error(t.col, f"unexpected '{t.text}'")
        return node

    # Chains (a or b or c, a + b - c, …) are built flat, as one closure over a
    # list, so a long but shallow expression never recurses deeply when evaluated.
    def or_(self) -> _Node:
        first = self.and_()
        parts = [first]
        while self.peek().kind == "name" and self.peek().text == "or":
            self.take()
            parts.append(self.and_())
        if len(parts) == 1:
            return first
        for p in parts:
            self.want(p, "bool", "'or'")
        fns = [p.fn for p in parts]
        return _Node(lambda env: any(f(env) for f in fns), "bool", first.col,
                     tree=("or", tuple(p.tree for p in parts)))

    def and_(self) -> _Node:
        first = self.not_()
        parts = [first]
        while self.peek().kind == "name" and self.peek().text == "and":
            self.take()
            parts.append(self.not_())
        if len(parts) == 1:
            return first
        for p in parts:
            self.want(p, "bool", "'and'")
        fns = [p.fn for p in parts]
        return _Node(lambda env: all(f(env) for f in fns), "bool", first.col,
                     tree=("and", tuple(p.tree for p in parts)))

    def not_(self) -> _Node:
        t = self.peek()
        if t.kind == "name" and t.text == "not":
            self.take()
            self.enter(t.col)
            operand = self.not_()
            self.depth -= 1
            self.want(operand, "bool", "'not'")
            f = operand.fn
            return _Node(lambda env: not f(env), "bool", t.col, tree=("not", operand.tree))
        return self.cmp()

    def cmp(self) -> _Node:
        left = self.add()
        t = self.peek()
        if t.kind == "op" and t.text in _CMP:
            self.take()
            right = self.add()
            if t.text in ("==", "!="):
                if left.type != right.type:
                    raise self.error(
                        t.col,
                        f"cannot compare {_TYPE_WORD[left.type]} with {_TYPE_WORD[right.type]}",
                    )
                if left.type == "str":
                    self.option(left, right)
                    self.option(right, left)
            else:
                self.want(left, "num", f"'{t.text}'")
                self.want(right, "num", f"'{t.text}'")
            op = _CMP[t.text]
            lf, rf = left.fn, right.fn
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in _CMP:
                raise self.error(nxt.col, "comparisons cannot be chained; join them with 'and'")
            return _Node(lambda env: op(lf(env), rf(env)), "bool", t.col,
                         tree=("cmp", t.text, left.tree, right.tree))
        return left

    def add(self) -> _Node:
        return self.chain(self.mul, "+-")

    def mul(self) -> _Node:
        return self.chain(self.unary, "*/")

    def chain(self, operand: Callable[[], _Node], ops: str) -> _Node:
        first = operand()
        rest: list[tuple[str, Fn]] = []
        trees: list[tuple[str, Tree]] = []
        while self.peek().kind == "op" and self.peek().text in ops:
            t = self.take()
            right = operand()
            if not rest:
                self.want(first, "num", f"'{t.text}'")
            self.want(right, "num", f"'{t.text}'")
            rest.append((t.text, right.fn))
            trees.append((t.text, right.tree))
        if not rest:
            return first
        tree = ("arith", first.tree, tuple(trees))
        if len(rest) == 1:
            return _Node(_arith(rest[0][0], first.fn, rest[0][1]), "num", first.col, tree=tree)
        return _Node(_fold(first.fn, rest), "num", first.col, tree=tree)

    def unary(self) -> _Node:
        t = self.peek()
        if t.kind == "op" and t.text in "+-":
            self.take()
            self.enter(t.col)
            operand = self.unary()
            self.depth -= 1
            self.want(operand, "num", f"unary '{t.text}'")
            f = operand.fn
            if t.text == "-":
                return _Node(lambda env: -f(env), "num", t.col, tree=("neg", operand.tree))
            return operand
        return self.primary()

    def primary(self) -> _Node:
        t = self.take()
        if t.kind == "num":
            v = _constant(t.text)
            if v is None:
                shown = t.text if len(t.text) <= 24 else f"{t.text[:24]}…({len(t.text)} characters)"
                raise self.error(t.col, f"the number {shown} is out of range: numbers take at most "
                                        f"{MAX_DIGITS} digits and stay below 1e{MAX_EXPONENT + 1}")
            return _Node(lambda env: v, "num", t.col, const=True, tree=("const", v))
        if t.kind == "str":
            s = _unescape(t.text)
            return _Node(lambda env: s, "str", t.col, const=True, tree=("const", s))
        if t.kind == "op" and t.text == "(":
            self.enter(t.col)
            node = self.or_()
            self.depth -= 1
            self.expect(")")
            return attrs.evolve(node, col=t.col)
        if t.kind == "name":
            if t.text == "true":
                return _Node(lambda env: True, "bool", t.col, const=True, tree=("const", True))
            if t.text == "false":
                return _Node(lambda env: False, "bool", t.col, const=True, tree=("const", False))
            if t.text in ("and", "or", "not"):
                raise self.error(t.col, f"'{t.text}' needs a value before it")
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(t)
            return self.name(t)
        if t.kind == "end":
            raise self.error(t.col, "expression ends too early")
        raise self.error(t.col, f"unexpected '{t.text}'")

    def name(self, t: _Tok) -> _Node:
        if t.text not in self.types:
            if t.text in _FUNCTIONS:
                raise self.error(t.col, f"'{t.text}' is a function; call it as {t.text}(...)")
            hint = did_you_mean(t.text, self.types)
            raise self.error(t.col, f"unknown name '{t.text}'{hint}")
        self.names.add(t.text)
        name = t.text

        def read(env: Env) -> Any:
            try:
                v = env[name]
            except KeyError:
                raise MissingValue(name) from None
            if v.__class__ is Absent:
                if v.kind == "missing":
                    raise MissingValue(name)
                raise NotApplicableValue(name, v.why)
            return v

        return _Node(read, self.types[t.text], t.col, tree=("name", name))

    def call(self, t: _Tok) -> _Node:
        fname = t.text
        if fname not in _FUNCTIONS:
            hint = did_you_mean(fname, _FUNCTIONS)
            raise self.error(t.col, f"unknown function '{fname}'{hint}")
        self.take()  # (
        self.enter(t.col)
        args: list[_Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            args.append(self.or_())
            while self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                args.append(self.or_())
        self.expect(")")
        self.depth -= 1
        node = self.build_call(t, args)
        return attrs.evolve(node, tree=("call", t.text, tuple(a.tree for a in args)))

    def build_call(self, t: _Tok, args: list[_Node]) -> _Node:
        fname, col = t.text, t.col

        def arity(lo: int, hi: int | None) -> None:
            n = len(args)
            if n < lo or (hi is not None and n > hi):
                want = str(lo) if hi == lo else (f"{lo} or more" if hi is None else f"{lo} to {hi}")
                raise self.error(col, f"{fname}() takes {want} argument(s), got {n}")

        fns = [a.fn for a in args]
        if fname in ("min", "max"):
            arity(1, None)
            for a in args:
                self.want(a, "num", f"{fname}()")
            agg = min if fname == "min" else max
            return _Node(lambda env: agg(f(env) for f in fns), "num", col)
        if fname in ("abs", "floor", "ceil"):
            arity(1, 1)
            self.want(args[0], "num", f"{fname}()")
            f0 = fns[0]
            if fname == "abs":
                return _Node(lambda env: abs(f0(env)), "num", col)
            if fname == "floor":
                return _Node(lambda env: Fraction(math.floor(f0(env))), "num", col)
            return _Node(lambda env: Fraction(math.ceil(f0(env))), "num", col)
        if fname == "round":
            arity(1, 2)
            self.want(args[0], "num", "round()")
            f0 = fns[0]
            if len(args) == 1:
                return _Node(lambda env: round_half_up(f0(env)), "num", col)
            self.want(args[1], "num", "round()")
            f1 = fns[1]

            def places(env: Env) -> int:
                # Places from evidence are clamped, so one odd value cannot stop a run.
                whole: int = math.floor(f1(env))
                return max(-MAX_PLACES, min(MAX_PLACES, whole))

            if args[1].const:  # a constant is checked when the rulebook loads
                p = f1(_EMPTY_ENV)
                if p.denominator != 1 or not -MAX_PLACES <= p <= MAX_PLACES:
                    raise self.error(args[1].col, f"round() places must be a whole number from -{MAX_PLACES} to {MAX_PLACES}")
            return _Node(lambda env: round_half_up(f0(env), places(env)), "num", col)
        if fname == "count":
            arity(1, 1)
            self.want(args[0], "set", "count()")
            f0 = fns[0]
            return _Node(lambda env: Fraction(len(f0(env))), "num", col)
        # has(set, "name")
        arity(2, 2)
        self.want(args[0], "set", "has()")
        self.want(args[1], "str", "has()")
        f0, f1 = fns
        return _Node(lambda env: f1(env) in f0(env), "bool", col)


def _arith(op: str, lf: Fn, rf: Fn) -> Fn:
    if op == "+":
        return lambda env: lf(env) + rf(env)
    if op == "-":
        return lambda env: lf(env) - rf(env)
    if op == "*":
        return lambda env: lf(env) * rf(env)
    return lambda env: _div(lf(env), rf(env))


def _fold(first: Fn, rest: list[tuple[str, Fn]]) -> Fn:
    def run(env: Env) -> Any:
        acc = first(env)
        for op, f in rest:
            v = f(env)
            if op == "+":
                acc = acc + v
            elif op == "-":
                acc = acc - v
            elif op == "*":
                acc = acc * v
            else:
                acc = _div(acc, v)
        return acc

    return run


def _div(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise DivisionByZero()
    return a / b


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}

_TYPE_WORD = {"num": "a number", "bool": "true/false", "str": "a string", "set": "a set"}


@attrs.frozen
class Expr:
    """A parsed, type-checked expression.

    Attributes:
        text: the source text.
        type: ``"num"``, ``"bool"``, ``"str"`` or ``"set"``.
        names: field and derived names it reads.
    """

    text: str
    type: str
    names: frozenset[str]
    _fn: Fn = attrs.field(repr=False, eq=False)
    tree: Tree = attrs.field(default=(), repr=False, eq=False)

    def evaluate(self, env: Env) -> Any:
        """Evaluate against ``env`` (name -> value in the field's unit).

        Raises:
            MissingValue: a needed name is absent from ``env``.
            NotApplicableValue: a needed derived value is not applicable.
            DivisionByZero: the expression divided by zero.
        """
        return self._fn(env)

    def __str__(self) -> str:
        return self.text


def parse(text: str, types: Mapping[str, str], want: str | None = None, *,
          options: Mapping[str, Sequence[str]] | None = None) -> Expr:
    """Parse and type-check ``text``.

    Args:
        text: the expression.
        types: every name it may use, mapped to ``"num"``, ``"bool"``, ``"str"`` or ``"set"``.
        want: the type the result must have, if any.
        options: the options of choice fields (name -> options): a string compared with one
            of them must be an option.

    Raises:
        ExpressionError: a syntax or type error, with its column.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(text[:60] + "…", 1, f"expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError(text, 1, "expression is empty")
    p = _Parser(text, types, options)
    try:
        node = p.parse()
    except RecursionError:
        raise ExpressionError(text, 1, f"expression nested deeper than {MAX_DEPTH}") from None
    if want is not None and node.type != want:
        raise ExpressionError(
            text, 1, f"expression gives {_TYPE_WORD[node.type]} but {_TYPE_WORD[want]} is needed"
        )
    return Expr(text, node.type, frozenset(p.names), node.fn, node.tree)
