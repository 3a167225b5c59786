"""The small, safe expression language of SPEC §7: parsed once, evaluated many times.

Never Python ``eval``: a tokenizer and a recursive-descent parser (its grammar is in
:class:`_Parser`) build one typed tree of :class:`Node` objects, checking types when
the rulebook loads, so evaluation never meets a set where it wanted a number. Both
interpreters read that tree: the exact one here compiles it once into closures over
exact :class:`~fractions.Fraction` arithmetic; the columnar one
(``fulian_eval.scoring.columnar``) evaluates it over numpy columns.

>>> e = parse("cases > 0 and closed / cases >= 0.9", {"cases": "num", "closed": "num"})
>>> e.evaluate({"cases": Fraction(10), "closed": Fraction(9)})
True
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any, Generic, TypeVar

import attrs

from ..errors import ExpressionError, did_you_mean
from .messages import _
from .text import MAX_DIGITS, MAX_EXPONENT, round_half_up

__all__ = [
    "COMPARE",
    "Absent",
    "And",
    "Arith",
    "Call",
    "Compare",
    "Const",
    "DivisionByZero",
    "Expr",
    "MissingValue",
    "Name",
    "Neg",
    "Node",
    "Not",
    "NotApplicableValue",
    "Or",
    "Visitor",
    "option_hint",
    "parse",
    "round_half_up",
    "walk",
]

MAX_LENGTH = 4096
MAX_DEPTH = 64
MAX_PLACES = 12

Value = Any  # Fraction | bool | str | frozenset[str]
Env = Mapping[str, Any]
Fn = Callable[[Env], Any]


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
    return _(" (did you mean '{word}'?)").format(word=close[0]) if close else ""


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


# ----------------------------------------------------------------------- tree
#
# The parsed form: one typed tree, built once by the parser and read by both
# interpreters — the exact one here (compiled into closures by :class:`_Closures`)
# and the columnar one in ``fulian_eval.scoring.columnar``.

R = TypeVar("R")


@attrs.frozen
class Node:
    """A node of a parsed expression: its ``type`` (``"num"``, ``"bool"``, ``"str"`` or
    ``"set"``, checked by the parser) and its 1-based ``col`` in the source text."""

    type: str = attrs.field(kw_only=True)
    col: int = attrs.field(kw_only=True)

    def children(self) -> tuple[Node, ...]:
        """The nodes directly under this one, left to right."""
        return ()

    def accept(self, visitor: Visitor[R]) -> R:  # pragma: no cover - every node class overrides it
        raise NotImplementedError(type(self).__name__)


@attrs.frozen
class Const(Node):
    """A literal: a number (:class:`~fractions.Fraction`), a string, ``true`` or ``false``."""

    value: Fraction | bool | str

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.const(self)


@attrs.frozen
class Name(Node):
    """A field or derived value, read from the environment."""

    name: str

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.name(self)


@attrs.frozen
class Or(Node):
    """``a or b or …`` (two or more booleans), true at the first true part."""

    parts: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.parts

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.or_(self)


@attrs.frozen
class And(Node):
    """``a and b and …`` (two or more booleans), false at the first false part."""

    parts: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.parts

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.and_(self)


@attrs.frozen
class Not(Node):
    """``not x`` (a boolean)."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.not_(self)


@attrs.frozen
class Compare(Node):
    """``left op right``, ``op`` one of ``< <= > >= == !=`` (never chained)."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.compare(self)


@attrs.frozen
class Arith(Node):
    """``first op operand op operand …`` of one precedence level (``+ -`` or ``* /``),
    left to right: ``rest`` is ``((op, operand), …)``, never empty."""

    first: Node
    rest: tuple[tuple[str, Node], ...]

    def children(self) -> tuple[Node, ...]:
        return (self.first, *(n for _, n in self.rest))

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.arith(self)


@attrs.frozen
class Neg(Node):
    """``-x`` (a number). A unary ``+`` leaves no node."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.neg(self)


@attrs.frozen
class Call(Node):
    """``function(args…)``, one of the built-in functions, its arity and types checked."""

    function: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args

    def accept(self, visitor: Visitor[R]) -> R:
        return visitor.call(self)


class Visitor(Generic[R]):
    """One method per node class; :meth:`visit` dispatches on the node's class."""

    def visit(self, node: Node) -> R:
        return node.accept(self)

    def const(self, node: Const) -> R:
        raise NotImplementedError

    def name(self, node: Name) -> R:
        raise NotImplementedError

    def or_(self, node: Or) -> R:
        raise NotImplementedError

    def and_(self, node: And) -> R:
        raise NotImplementedError

    def not_(self, node: Not) -> R:
        raise NotImplementedError

    def compare(self, node: Compare) -> R:
        raise NotImplementedError

    def arith(self, node: Arith) -> R:
        raise NotImplementedError

    def neg(self, node: Neg) -> R:
        raise NotImplementedError

    def call(self, node: Call) -> R:
        raise NotImplementedError


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree under ``node`` (itself first), depth first, left to right."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children()))


# ---------------------------------------------------------------------- parse


def _unescape(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    """Recursive descent over the tokens, building the typed tree and checking types.

    The grammar, loosest binding first (one method per production)::

        expr     = or
        or       = and { "or" and }                      -> Or     operands true/false
        and      = not { "and" not }                     -> And    operands true/false
        not      = "not" not | compare                   -> Not    operand true/false
        compare  = sum [ cmpop sum ]                     -> Compare
        cmpop    = "<" | "<=" | ">" | ">=" | "==" | "!="
        sum      = product { ("+" | "-") product }       -> Arith  numbers
        product  = unary { ("*" | "/") unary }           -> Arith  numbers
        unary    = ("+" | "-") unary | primary           -> Neg    a number ("+" adds no node)
        primary  = number | string | "true" | "false"    -> Const
                 | name                                  -> Name   a known field or derived value
                 | function "(" [ or { "," or } ] ")"    -> Call
                 | "(" or ")"                            (the inner node, at the "(" column)

    A production with a single operand and no operator yields that operand's node.
    Nesting (``not``, unary signs, parentheses, calls) is at most ``MAX_DEPTH`` deep;
    chains (``a or b or c``, ``a + b - c``) are flat, so a long but shallow expression
    never recurses deeply.
    """

    def __init__(
        self,
        text: str,
        types: Mapping[str, str],
        options: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
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

    def want(self, node: Node, typ: str, what: str) -> None:
        if node.type != typ:
            raise self.error(
                node.col, f"{what} needs {_TYPE_WORD[typ]}, not {_TYPE_WORD[node.type]}"
            )

    def option(self, field: Node, other: Node) -> None:
        """A string compared with a choice field must be one of its options (SPEC §10.6)."""
        if (
            not isinstance(field, Name)
            or field.name not in self.options
            or not isinstance(other, Const)
        ):
            return
        name, value = field.name, str(other.value)
        opts = self.options[name]
        if value not in opts:
            raise self.error(
                other.col,
                f"'{value}' is not an option of choice field '{name}'"
                f"{option_hint(value, opts)}; options: {'、'.join(opts)}",
            )

    def enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(col, f"expression nested deeper than {MAX_DEPTH}")

    # grammar
    def parse(self) -> Node:
        """``expr = or``, then the end of the text."""
        node = self.or_()
        t = self.peek()
        if t.kind != "end":
            raise self.error(t.col, f"unexpected '{t.text}'")
        return node

    def or_(self) -> Node:
        """``or = and { "or" and }``: two or more parts must each be true/false."""
        first = self.and_()
        parts = [first]
        while self.peek().kind == "name" and self.peek().text == "or":
            self.take()
            parts.append(self.and_())
        if len(parts) == 1:
            return first
        for p in parts:
            self.want(p, "bool", "'or'")
        return Or(tuple(parts), type="bool", col=first.col)

    def and_(self) -> Node:
        """``and = not { "and" not }``: two or more parts must each be true/false."""
        first = self.not_()
        parts = [first]
        while self.peek().kind == "name" and self.peek().text == "and":
            self.take()
            parts.append(self.not_())
        if len(parts) == 1:
            return first
        for p in parts:
            self.want(p, "bool", "'and'")
        return And(tuple(parts), type="bool", col=first.col)

    def not_(self) -> Node:
        """``not = "not" not | compare``: the operand of ``not`` is true/false."""
        t = self.peek()
        if t.kind == "name" and t.text == "not":
            self.take()
            self.enter(t.col)
            operand = self.not_()
            self.depth -= 1
            self.want(operand, "bool", "'not'")
            return Not(operand, type="bool", col=t.col)
        return self.cmp()

    def cmp(self) -> Node:
        """``compare = sum [ cmpop sum ]``: ``==``/``!=`` take two values of one type (a
        string against a choice field must be one of its options); ``< <= > >=`` take
        numbers; comparisons are not chained. The node's column is the operator's."""
        left = self.add()
        t = self.peek()
        if t.kind == "op" and t.text in COMPARE:
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
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in COMPARE:
                raise self.error(nxt.col, "comparisons cannot be chained; join them with 'and'")
            return Compare(t.text, left, right, type="bool", col=t.col)
        return left

    def add(self) -> Node:
        """``sum = product { ("+" | "-") product }``, numbers."""
        return self.chain(self.mul, "+-")

    def mul(self) -> Node:
        """``product = unary { ("*" | "/") unary }``, numbers."""
        return self.chain(self.unary, "*/")

    def chain(self, operand: Callable[[], Node], ops: str) -> Node:
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek().kind == "op" and self.peek().text in ops:
            t = self.take()
            right = operand()
            if not rest:
                self.want(first, "num", f"'{t.text}'")
            self.want(right, "num", f"'{t.text}'")
            rest.append((t.text, right))
        if not rest:
            return first
        return Arith(first, tuple(rest), type="num", col=first.col)

    def unary(self) -> Node:
        """``unary = ("+" | "-") unary | primary``: a sign takes a number."""
        t = self.peek()
        if t.kind == "op" and t.text in "+-":
            self.take()
            self.enter(t.col)
            operand = self.unary()
            self.depth -= 1
            self.want(operand, "num", f"unary '{t.text}'")
            if t.text == "-":
                return Neg(operand, type="num", col=t.col)
            return operand
        return self.primary()

    def primary(self) -> Node:
        """``primary = number | string | "true" | "false" | name | call | "(" or ")"``.

        Numbers are digits with an optional point (``12``, ``0.5``, ``.5``), within the
        bounds on numbers; strings are in ``"…"`` or ``'…'`` with ``\\`` escapes.
        """
        t = self.take()
        if t.kind == "num":
            v = _constant(t.text)
            if v is None:
                shown = t.text if len(t.text) <= 24 else f"{t.text[:24]}…({len(t.text)} characters)"
                raise self.error(
                    t.col,
                    f"the number {shown} is out of range: numbers take at most "
                    f"{MAX_DIGITS} digits and stay below 1e{MAX_EXPONENT + 1}",
                )
            return Const(v, type="num", col=t.col)
        if t.kind == "str":
            return Const(_unescape(t.text), type="str", col=t.col)
        if t.kind == "op" and t.text == "(":
            self.enter(t.col)
            node = self.or_()
            self.depth -= 1
            self.expect(")")
            return attrs.evolve(node, col=t.col)
        if t.kind == "name":
            if t.text == "true":
                return Const(True, type="bool", col=t.col)
            if t.text == "false":
                return Const(False, type="bool", col=t.col)
            if t.text in ("and", "or", "not"):
                raise self.error(t.col, f"'{t.text}' needs a value before it")
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(t)
            return self.name(t)
        if t.kind == "end":
            raise self.error(t.col, "expression ends too early")
        raise self.error(t.col, f"unexpected '{t.text}'")

    def name(self, t: _Tok) -> Node:
        """``name``: a field or derived value of the rulebook (its type is the field's)."""
        if t.text not in self.types:
            if t.text in _FUNCTIONS:
                raise self.error(t.col, f"'{t.text}' is a function; call it as {t.text}(...)")
            hint = did_you_mean(t.text, self.types)
            raise self.error(t.col, f"unknown name '{t.text}'{hint}")
        self.names.add(t.text)
        return Name(t.text, type=self.types[t.text], col=t.col)

    def call(self, t: _Tok) -> Node:
        """``call = function "(" [ or { "," or } ] ")"``; the arguments are checked by
        :meth:`check_call`."""
        fname = t.text
        if fname not in _FUNCTIONS:
            hint = did_you_mean(fname, _FUNCTIONS)
            raise self.error(t.col, f"unknown function '{fname}'{hint}")
        self.take()  # (
        self.enter(t.col)
        args: list[Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            args.append(self.or_())
            while self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                args.append(self.or_())
        self.expect(")")
        self.depth -= 1
        return Call(fname, tuple(args), type=self.check_call(t, args), col=t.col)

    def check_call(self, t: _Tok, args: list[Node]) -> str:
        """The functions and what they take; gives the call's type.

        ``min(n, …)`` ``max(n, …)`` one or more numbers; ``abs(n)`` ``floor(n)`` ``ceil(n)``;
        ``round(n)`` ``round(n, places)`` (constant places: whole, within ±``MAX_PLACES``);
        ``count(set)``; ``has(set, str)`` gives true/false.
        """
        fname, col = t.text, t.col

        def arity(lo: int, hi: int | None) -> None:
            n = len(args)
            if n < lo or (hi is not None and n > hi):
                want = str(lo) if hi == lo else (f"{lo} or more" if hi is None else f"{lo} to {hi}")
                raise self.error(col, f"{fname}() takes {want} argument(s), got {n}")

        if fname in ("min", "max"):
            arity(1, None)
            for a in args:
                self.want(a, "num", f"{fname}()")
            return "num"
        if fname in ("abs", "floor", "ceil"):
            arity(1, 1)
            self.want(args[0], "num", f"{fname}()")
            return "num"
        if fname == "round":
            arity(1, 2)
            self.want(args[0], "num", "round()")
            if len(args) == 1:
                return "num"
            self.want(args[1], "num", "round()")
            p = args[1]
            if isinstance(p, Const):  # a constant is checked when the rulebook loads
                v = Fraction(p.value)
                if v.denominator != 1 or not -MAX_PLACES <= v <= MAX_PLACES:
                    raise self.error(
                        p.col,
                        f"round() places must be a whole number from -{MAX_PLACES} to {MAX_PLACES}",
                    )
            return "num"
        if fname == "count":
            arity(1, 1)
            self.want(args[0], "set", "count()")
            return "num"
        # has(set, "name")
        arity(2, 2)
        self.want(args[0], "set", "has()")
        self.want(args[1], "str", "has()")
        return "bool"


# ------------------------------------------------------------ exact evaluator


class _Closures(Visitor[Fn]):
    """The exact interpreter: turns the tree into closures over Fractions, once per
    expression, so evaluating dispatches on no node. Chains become one closure over a
    list, so a long but shallow expression never recurses deeply when evaluated;
    ``or``/``and`` stop at the first part that decides."""

    def const(self, node: Const) -> Fn:
        v = node.value
        return lambda env: v

    def name(self, node: Name) -> Fn:
        name = node.name

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

        return read

    def or_(self, node: Or) -> Fn:
        fns = [self.visit(p) for p in node.parts]
        return lambda env: any(f(env) for f in fns)

    def and_(self, node: And) -> Fn:
        fns = [self.visit(p) for p in node.parts]
        return lambda env: all(f(env) for f in fns)

    def not_(self, node: Not) -> Fn:
        f = self.visit(node.operand)
        return lambda env: not f(env)

    def compare(self, node: Compare) -> Fn:
        op = COMPARE[node.op]
        lf, rf = self.visit(node.left), self.visit(node.right)
        return lambda env: op(lf(env), rf(env))

    def arith(self, node: Arith) -> Fn:
        first = self.visit(node.first)
        rest = [(op, self.visit(n)) for op, n in node.rest]
        if len(rest) == 1:
            return _arith(rest[0][0], first, rest[0][1])
        return _fold(first, rest)

    def neg(self, node: Neg) -> Fn:
        f = self.visit(node.operand)
        return lambda env: -f(env)

    def call(self, node: Call) -> Fn:
        fname = node.function
        fns = [self.visit(a) for a in node.args]
        if fname in ("min", "max"):
            agg = min if fname == "min" else max
            return lambda env: agg(f(env) for f in fns)
        if fname == "abs":
            f0 = fns[0]
            return lambda env: abs(f0(env))
        if fname == "floor":
            f0 = fns[0]
            return lambda env: Fraction(math.floor(f0(env)))
        if fname == "ceil":
            f0 = fns[0]
            return lambda env: Fraction(math.ceil(f0(env)))
        if fname == "round":
            f0 = fns[0]
            if len(fns) == 1:
                return lambda env: round_half_up(f0(env))
            f1 = fns[1]

            def places(env: Env) -> int:
                # Places from evidence are clamped, so one odd value cannot stop a run.
                whole: int = math.floor(f1(env))
                return max(-MAX_PLACES, min(MAX_PLACES, whole))

            return lambda env: round_half_up(f0(env), places(env))
        if fname == "count":
            f0 = fns[0]
            return lambda env: Fraction(len(f0(env)))
        # has(set, "name")
        f0, f1 = fns
        return lambda env: f1(env) in f0(env)


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


#: The comparison operators, as functions (both engines use them: on Fractions and on numpy arrays).
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_TYPE_WORD = {"num": "a number", "bool": "true/false", "str": "a string", "set": "a set"}


@attrs.frozen
class Expr:
    """A parsed, type-checked expression.

    Attributes:
        text: the source text.
        type: ``"num"``, ``"bool"``, ``"str"`` or ``"set"``.
        names: field and derived names it reads.
        tree: the parsed, typed tree (a :class:`Node`), read by the columnar engine.
    """

    text: str
    type: str
    names: frozenset[str]
    _fn: Fn = attrs.field(repr=False, eq=False)
    tree: Node = attrs.field(repr=False, eq=False)

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


def parse(
    text: str,
    types: Mapping[str, str],
    want: str | None = None,
    *,
    options: Mapping[str, Sequence[str]] | None = None,
) -> Expr:
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
        fn = _Closures().visit(node)
    except RecursionError:
        raise ExpressionError(text, 1, f"expression nested deeper than {MAX_DEPTH}") from None
    if want is not None and node.type != want:
        raise ExpressionError(
            text, 1, f"expression gives {_TYPE_WORD[node.type]} but {_TYPE_WORD[want]} is needed"
        )
    return Expr(text, node.type, frozenset(p.names), fn, node)
