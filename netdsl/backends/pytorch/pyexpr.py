"""Python expressions of generated code, as `ast` trees with what is known of them while
translating: their value when it is a translation-time constant, and the block parameters it
depends on (what a class would have to be specialised on to make it a constant).

Integer arithmetic on constants folds (`64 * 4` is written 256); float arithmetic does not, so
a float reads as the spec wrote it or as the generated constructor computes it, never as a
rounded repr such as 0.037500000000000006. The writer's `unparse` places the parentheses.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from typing import Any

from netdsl.backends.pytorch.writer import unparse
from netdsl.names import is_identifier  # noqa: F401 - the generator reads it as P.is_identifier
from netdsl.ops.base import Symbol

UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "UNKNOWN"})()


@dataclass(frozen=True)
class Py:
    """A Python expression; `const` is its value when known at translation time."""

    node: ast.expr
    const: Any = UNKNOWN
    deps: frozenset[str] = field(default_factory=frozenset)

    @property
    def known(self) -> bool:
        return self.const is not UNKNOWN

    def text(self) -> str:
        return unparse(self.node)

    def is_name(self, name: str | None = None) -> bool:
        return isinstance(self.node, ast.Name) and (name is None or self.node.id == name)

    def __repr__(self) -> str:
        return f"Py({self.text()})"


# ---------------------------------------------------------------- building


def literal_node(value: Any, lists: bool = False) -> ast.expr:
    """The literal of a spec value: language lists become tuples (lists with `lists`, for a
    torch argument that is no spec value), bare words strings; every string goes through
    ast.Constant, so no spec text can become code."""
    if isinstance(value, Symbol):
        return ast.Constant(str(value))
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            return ast.UnaryOp(ast.USub(), ast.Constant(-value))
        return ast.Constant(value)
    if isinstance(value, (tuple, list)):
        items = [literal_node(v, lists) for v in value]
        return ast.List(items, ast.Load()) if lists else ast.Tuple(items, ast.Load())
    raise TypeError(f"no literal for {type(value).__name__}")


def lit(value: Any) -> Py:
    return Py(literal_node(value), value)


def name(identifier: str, deps: frozenset[str] = frozenset(), const: Any = UNKNOWN) -> Py:
    return Py(ast.Name(identifier, ast.Load()), const, deps)


def dotted(text: str) -> ast.expr:
    """`nn.Conv2d` as an attribute chain."""
    parts = text.split(".")
    node: ast.expr = ast.Name(parts[0], ast.Load())
    for part in parts[1:]:
        node = ast.Attribute(node, part, ast.Load())
    return node


def attr(base: Py | ast.expr, attribute: str) -> Py:
    node = base.node if isinstance(base, Py) else base
    deps = base.deps if isinstance(base, Py) else frozenset()
    return Py(ast.Attribute(node, attribute, ast.Load()), UNKNOWN, deps)


def call(func: str | Py | ast.expr, args: list[Py] = (), kwargs: dict[str, Py] | None = None,
         ) -> Py:
    kwargs = kwargs or {}
    node = dotted(func) if isinstance(func, str) else func.node if isinstance(func, Py) else func
    deps = frozenset().union(*(a.deps for a in args), *(v.deps for v in kwargs.values()))
    if isinstance(func, Py):
        deps |= func.deps
    return Py(ast.Call(node, [a.node for a in args],
                       [ast.keyword(k, v.node) for k, v in kwargs.items()]), UNKNOWN, deps)


def subscript(base: Py, index: Py) -> Py:
    const = UNKNOWN
    if base.known and index.known:
        try:
            const = base.const[index.const]
        except (TypeError, IndexError, KeyError):
            const = UNKNOWN
    if const is not UNKNOWN and _foldable(const):
        return Py(literal_node(const), const, base.deps | index.deps)
    return Py(ast.Subscript(base.node, index.node, ast.Load()), const, base.deps | index.deps)


_BINOPS: dict[str, type[ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv, "%": ast.Mod,
    "**": ast.Pow, "@": ast.MatMult,
}


FOLDED_ITEMS = 16  # a longer list is written as the spec's expression: a literal that fits a line


def _foldable(value: Any) -> bool:
    """Constants written as their value: ints, bools, strings, None and lists of them, of at
    most `FOLDED_ITEMS` items in all (`[[1] * 3000] * 3000` stays that expression: written
    out, nine million items, in a branch the network may never take)."""
    left = [FOLDED_ITEMS]

    def small(v: Any) -> bool:
        if isinstance(v, float):
            return False
        if isinstance(v, tuple):
            left[0] -= len(v)
            return left[0] >= 0 and all(small(x) for x in v)
        return v is None or isinstance(v, (bool, int, str))

    return small(value)


def folded(node: ast.expr, const: Any, deps: frozenset[str]) -> Py:
    """`node` with value `const`: written as the literal when that reads as well."""
    if const is not UNKNOWN and _foldable(const):
        return Py(literal_node(const), const, deps)
    return Py(node, const, deps)


def binop(op: str, left: Py, right: Py, const: Any = UNKNOWN) -> Py:
    """`left op right`, simplified where one side is a neutral constant."""
    deps = left.deps | right.deps
    if const is UNKNOWN and left.known and right.known and op in _BINOPS and op != "@":
        const = _apply(op, left.const, right.const)
    if const is not UNKNOWN and _foldable(const):
        return Py(literal_node(const), const, deps)
    neutral = {"*": 1, "//": 1, "+": 0, "-": 0}.get(op)
    if neutral is not None and _is(right, neutral):  # x * 1, x // 1, x + 0, x - 0
        return Py(left.node, const if const is not UNKNOWN else left.const, deps)
    if op == "//" and type(right.const) is int and right.const > 0:
        factor = _constant_factor(left.node)
        if factor is not None and factor[1] % right.const == 0:  # (x * 4) // 4 -> x
            rest, k = factor
            return binop("*", Py(rest, UNKNOWN, left.deps), lit(k // right.const))
    if op == "*" and _is(left, 1) or op == "+" and _is(left, 0):
        return Py(right.node, const if const is not UNKNOWN else right.const, deps)
    node = ast.BinOp(left.node, _BINOPS[op](), right.node)
    return Py(node, const, deps)


def _constant_factor(node: ast.expr) -> tuple[ast.expr, int] | None:
    """`x * 4` or `4 * x` as (x, 4)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for const, rest in ((node.right, node.left), (node.left, node.right)):
            if isinstance(const, ast.Constant) and type(const.value) is int:
                return rest, const.value
    return None


def _is(py: Py, value: int) -> bool:
    return type(py.const) is int and py.const == value


def _apply(op: str, a: Any, b: Any) -> Any:
    """Integer-exact Python arithmetic on known values (UNKNOWN when it does not apply). Lists
    and strings are only joined and repeated, and only into what may be written out: `[1] *
    10 ** 10` in a branch never taken is not made."""
    if isinstance(a, bool) or isinstance(b, bool):
        return UNKNOWN
    if isinstance(a, (tuple, str)) or isinstance(b, (tuple, str)):
        length = _sequence_length(op, a, b)
        if length is None or length > FOLDED_ITEMS:
            return UNKNOWN
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "//":
            return a // b
        if op == "%":
            return a % b
        if op == "**":
            return a ** b if abs(b) < 64 else UNKNOWN
    except (TypeError, ZeroDivisionError, OverflowError):
        return UNKNOWN
    return UNKNOWN


def _sequence_length(op: str, a: Any, b: Any) -> int | None:
    """The length of `a + b` (two lists or two strings) or of `a * b` (one of them repeated
    an int number of times); None for anything else."""
    if op == "+" and type(a) is type(b):
        return len(a) + len(b)
    if op == "*":
        seq, n = (a, b) if isinstance(a, (tuple, str)) else (b, a)
        if type(n) is int:
            return len(seq) * max(n, 0)
    return None


_COMPARE_NODES = {"==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt,
                  ">=": ast.GtE}


def compare(ops: list[str], operands: list[Py]) -> Py:
    table = _COMPARE_NODES
    deps = frozenset().union(*(o.deps for o in operands))
    const: Any = UNKNOWN
    if all(o.known for o in operands):
        try:
            const = all(_COMPARE[op](a.const, b.const)
                        for op, a, b in zip(ops, operands, operands[1:], strict=False))
        except TypeError:
            const = UNKNOWN
    node = ast.Compare(operands[0].node, [table[o]() for o in ops], [o.node for o in operands[1:]])
    return folded(node, const, deps)


_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def boolop(op: str, left: Py, right: Py) -> Py:
    deps = left.deps | right.deps
    if left.known and isinstance(left.const, bool):
        if op == "and":
            return right if left.const else lit(False)
        return lit(True) if left.const else right
    if right.known and isinstance(right.const, bool):
        if op == "and" and right.const or op == "or" and not right.const:
            return left
    operator = ast.And if op == "and" else ast.Or
    values = [v for side in (left.node, right.node) for v in _operands(side, operator)]
    return Py(ast.BoolOp(operator(), values), UNKNOWN, deps)


def _operands(node: ast.expr, operator: type[ast.boolop]) -> list[ast.expr]:
    """`a and b` as the operands of a longer `and` (one chain, as Python parses `a and b and
    c`, not `(a and b) and c`: `and` and `or` are associative, in value and in what they
    evaluate)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, operator):
        return list(node.values)
    return [node]


def negate(value: Py) -> Py:
    if value.known and isinstance(value.const, bool):
        return lit(not value.const)
    node = value.node
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Py(node.operand, UNKNOWN, value.deps)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        flip = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt,
                ast.Gt: ast.LtE, ast.LtE: ast.Gt}
        return Py(ast.Compare(node.left, [flip[type(node.ops[0])]()], node.comparators),
                  UNKNOWN, value.deps)
    return Py(ast.UnaryOp(ast.Not(), node), UNKNOWN, value.deps)


def conditional(test: Py, then: Py, otherwise: Py) -> Py:
    if test.known and isinstance(test.const, bool):
        return then if test.const else otherwise
    return Py(ast.IfExp(test.node, then.node, otherwise.node), UNKNOWN,
              test.deps | then.deps | otherwise.deps)


def tuple_of(items: list[Py]) -> Py:
    const = tuple(i.const for i in items) if all(i.known for i in items) else UNKNOWN
    return folded(ast.Tuple([i.node for i in items], ast.Load()), const,
                  frozenset().union(*(i.deps for i in items)))


def spec_list(items: ast.expr, const: Any = UNKNOWN,
              deps: frozenset[str] = frozenset()) -> Py:
    """A list of the language that a generator or a `range` makes, as the tuple every spec
    list is in generated code (the evaluator's lists are tuples): `tuple(f(i) for i in ws)`,
    so that `==`, `+` and `str` treat it as they treat a literal `(1, 2)`. A loop over it
    reads the generator itself (`writer.without_tuple`)."""
    if isinstance(items, ast.ListComp):
        items = ast.GeneratorExp(items.elt, items.generators)
    return Py(ast.Call(ast.Name("tuple", ast.Load()), [items], []), const, deps)


def list_of(items: list[Py]) -> Py:
    """`[a, b]`: a list the forward passes or a constructor takes (never folded)."""
    return Py(ast.List([i.node for i in items], ast.Load()), UNKNOWN,
              frozenset().union(*(i.deps for i in items)))


# ---------------------------------------------------------------- rewriting


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.mapping.get(node.id, node)


def substitute(value: Py, mapping: dict[str, Py]) -> Py:
    """`value` with names replaced (a callee's output channels in its caller's terms), then
    simplified; constant when every name it reads became one."""
    nodes = {k: v.node for k, v in mapping.items()}
    node = _Substitute(nodes).visit(copy.deepcopy(value.node))
    deps = frozenset().union(*(mapping[n].deps for n in names_in(value.node) if n in mapping))
    return simplify(Py(node, UNKNOWN, deps))


def names_in(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def simplify(value: Py) -> Py:
    """An integer's expression as a person writes it: integer constants folded bottom up,
    like terms of a sum collected where that leaves fewer terms (`base * 8 + base * 8` as
    `base * 16`, `2 * width - width` as `width`, `0 * self.c` as 0), a product as written.
    For values that are integers (sizes, channels, int attributes): it reads every name as a
    number."""
    node, const = _fold(value.node)
    if const is not UNKNOWN and _foldable(const):
        return Py(literal_node(const), const, value.deps)
    atoms: dict[str, ast.expr] = {}
    poly = _polynomial(node, atoms)
    if poly is not None:
        if sum(1 for v in poly.values() if v) < _terms(node):  # else as written: `c * 14 *
            node = _from_polynomial(poly, atoms)  # 14` (h by w), `4 * f(w)`, `(a + b) * 2`
        if isinstance(node, ast.Constant):  # the names cancelled out
            const = node.value
    return Py(node, const if const is not UNKNOWN else value.const, value.deps)


def _terms(node: ast.expr) -> int:
    """The terms of a sum as written (`a * 2 - b + 1`: 3)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return _terms(node.left) + _terms(node.right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _terms(node.operand)
    return 1


def _fold(node: ast.expr) -> tuple[ast.expr, Any]:
    if isinstance(node, ast.Constant):
        return node, node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner, c = _fold(node.operand)
        if type(c) is int:
            return literal_node(-c), -c
        return ast.UnaryOp(ast.USub(), inner), UNKNOWN
    if isinstance(node, ast.BinOp):
        left, a = _fold(node.left)
        right, b = _fold(node.right)
        op = next(k for k, v in _BINOPS.items() if isinstance(node.op, v))
        result = binop(op, Py(left, a), Py(right, b))
        return result.node, result.const
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner, c = _fold(node.operand)
        folded_not = negate(Py(inner, c))
        return folded_not.node, folded_not.const
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE_NODES.values()
                                             for o in node.ops):
        operands = [Py(*_fold(e)) for e in [node.left, *node.comparators]]
        names = {v: k for k, v in _COMPARE_NODES.items()}
        result = compare([names[type(o)] for o in node.ops], operands)
        return result.node, result.const
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        parts = [Py(*_fold(e)) for e in node.values]
        result = parts[0]
        for part in parts[1:]:
            result = boolop(op, result, part)
        return result.node, result.const
    if _is_call(node, "len") and len(node.args) == 1:  # type: ignore[attr-defined]
        length = _length(node.args[0])  # type: ignore[attr-defined]
        if length is not None:
            return _fold(length)
    if isinstance(node, ast.Tuple):
        parts = [_fold(e) for e in node.elts]
        const = tuple(c for _, c in parts) if all(c is not UNKNOWN for _, c in parts) \
            else UNKNOWN
        return ast.Tuple([n for n, _ in parts], ast.Load()), const
    return node, UNKNOWN


def _is_call(node: ast.expr, func: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == func and not node.keywords


def _length(node: ast.expr) -> ast.expr | None:
    """The length of a list written out, of a comprehension over another list, of a list
    repeated, or of `range(n)` (n >= 0), as an expression; None otherwise."""
    if isinstance(node, (ast.List, ast.Tuple)) and \
            not any(isinstance(e, ast.Starred) for e in node.elts):
        return ast.Constant(len(node.elts))
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1 and \
            not node.generators[0].ifs:
        inner = _length(node.generators[0].iter)
        return inner if inner is not None else ast.Call(ast.Name("len", ast.Load()),
                                                        [node.generators[0].iter], [])
    if _is_call(node, "range") and len(node.args) == 1:  # type: ignore[attr-defined]
        return node.args[0]  # type: ignore[attr-defined]
    if _is_call(node, "tuple") and len(node.args) == 1:  # type: ignore[attr-defined]
        return _length(node.args[0])  # type: ignore[attr-defined]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and \
            isinstance(node.left, ast.List):
        inner = _length(node.left)
        return None if inner is None else ast.BinOp(inner, ast.Mult(), node.right)
    return None


_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)  # values read as they are


def _polynomial(node: ast.expr, atoms: dict[str, ast.expr]) -> dict[tuple[str, ...], int] | None:
    """A sum of integer multiples of products of atoms (names, `self.width`, `len(xs)`), or
    None; `atoms` gathers each atom's node by its text."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return {(): node.value}
    if isinstance(node, _ATOMS):
        text = ast.unparse(node)
        atoms[text] = node
        return {(text,): 1}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _polynomial(node.operand, atoms)
        return None if inner is None else {k: -v for k, v in inner.items()}
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        a, b = _polynomial(node.left, atoms), _polynomial(node.right, atoms)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Mult):
            out: dict[tuple[str, ...], int] = {}
            for ka, va in a.items():
                for kb, vb in b.items():
                    key = tuple(sorted(ka + kb))
                    out[key] = out.get(key, 0) + va * vb
            return out
        sign = 1 if isinstance(node.op, ast.Add) else -1
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + sign * v
        return out
    return None


def _from_polynomial(poly: dict[tuple[str, ...], int], atoms: dict[str, ast.expr]) -> ast.expr:
    terms = [(k, v) for k, v in poly.items() if v != 0]
    terms.sort(key=lambda kv: len(kv[0]) == 0)  # atoms first, the constant last
    node: ast.expr | None = None
    for monomial, coef in terms:
        factors: list[ast.expr] = [atoms[a] for a in monomial]
        magnitude = abs(coef)
        if magnitude != 1 or not factors:
            factors.append(ast.Constant(magnitude))
        term = factors[0]
        for f in factors[1:]:
            term = ast.BinOp(term, ast.Mult(), f)
        if node is None:
            node = term if coef > 0 else ast.UnaryOp(ast.USub(), term)
        else:
            node = ast.BinOp(node, ast.Add() if coef > 0 else ast.Sub(), term)
    return node if node is not None else ast.Constant(0)


def same(a: Py, b: Py) -> bool:
    """Whether two expressions are written the same (after simplification)."""
    return ast.dump(simplify(a).node) == ast.dump(simplify(b).node)
