"""Builds the `ast` while the LALR parser runs: lark calls one method per reduced rule.

There is no intermediate parse tree. Each method gets its rule's children with every token kept
(keywords and brackets included), so a node's span runs from its first token to its last, and
expressions arrive as flat operator runs that `_Precedence` turns into trees.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from lark import Token, Transformer

from netdsl.errors import Diagnostic, NetdslError, Span
from netdsl.limits import MAX_INT_BITS
from netdsl.syntax import ast
from netdsl.syntax.lexer import MAX_NESTING


def _number(text: str, span: Span) -> int | float:
    """The value of a number literal; one past what the language holds (`MAX_INT_BITS`, a finite
    float) is a located error, before Python's own int-to-text limit could be hit."""
    if len(text) < 19 and text.isdigit():  # most numbers in a spec
        return int(text)
    text = text.replace("_", "")
    if any(c in text for c in ".eE"):
        value = float(text)
        if math.isinf(value):
            raise NetdslError(Diagnostic("the number is too large for a float", span, "value"))
        return value
    if len(text) > _MAX_DIGITS or int(text).bit_length() > MAX_INT_BITS:
        raise NetdslError(Diagnostic(f"the number has more than {MAX_INT_BITS} bits", span,
                                     "limit"))
    return int(text)


_MAX_DIGITS = len(str(2 ** MAX_INT_BITS))


def _unescape(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Part:
    """A piece of syntax that is not a node of its own (a body, a parameter list, a label,
    a dotted name) but still needs its span while its parent is built."""

    __slots__ = ("value", "span")

    def __init__(self, value: Any, span: Span):
        self.value = value
        self.span = span


def _is_syntax(child: Any) -> bool:
    """An AST node or a Part: anything but a token or an absent optional."""
    return child is not None and type(child) is not Token


def _syntax(children: list) -> list:
    return [c for c in children if c is not None and type(c) is not Token]


_STATEMENTS = frozenset({ast.Input, ast.Output, ast.Expect, ast.Assign, ast.Unpack, ast.Shared,
                         ast.Def, ast.If, ast.For, ast.Chain})


_CHAIN_ITEMS = frozenset({ast.Chain, ast.Element, ast.Merge})  # what `?chain` passes up, bar
# a bare expression


def _element(x: Any) -> ast.Element:
    return x if type(x) is ast.Element else ast.Element(x.span, None, None, x)


def _chain(x: Any) -> ast.Chain:
    """A chain from what the grammar passes up: a chain, an element or a bare expression."""
    if type(x) is ast.Chain:
        return x
    element = _element(x)
    return ast.Chain(element.span, (element,))


def _statements(children: list) -> tuple:
    return tuple(c if type(c) in _STATEMENTS else _chain(c) for c in _syntax(children))


def _tokens(children: list, kind: str) -> list[Token]:
    return [c for c in children if type(c) is Token and c.type == kind]


# Binding powers: a binary operator's left power decides whether it takes the operand before it;
# its right power is the least an operator inside its right operand must bind with.
_BINARY = {"or": (1, 1), "and": (2, 2), "+": (5, 5), "-": (5, 5), "*": (6, 6), "/": (6, 6),
           "//": (6, 6), "%": (6, 6), "**": (8, 7)}  # '**' binds right: 2 ** 3 ** 2 = 2 ** 9
_COMPARISON = 4  # comparisons chain, as in Python: a < b <= c
_PREFIX = {"not": 3, "+": 7, "-": 7}  # -a ** 2 = -(a ** 2); not a == b = not (a == b)
_OPERATORS = frozenset({"ADD_OP", "MUL_OP", "POW_OP", "COMP_OP", "AND", "OR"})


class _Precedence:
    """A Pratt parser over one flat run `prefix* primary trailer* (binop prefix* primary
    trailer*)*`, where a trailer is `. name`, `[ expr ]` or `[ slice ]`."""

    def __init__(self, items: list, path: str):
        self.items = items
        self.at = 0
        self.path = path
        self.depth = 0  # operands nested in operands: `- - - 1`, `2 ** 2 ** 2`

    def parse(self, least: int) -> ast.Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            item = self.items[self.at - 1]
            span = Span(self.path, item.line, item.column, item.end_line, item.end_column)
            raise NetdslError(Diagnostic(f"operators nested more than {MAX_NESTING} deep", span,
                                         "limit", help="split the expression into named values"))
        try:
            return self._parse(least)
        finally:
            self.depth -= 1

    def _parse(self, least: int) -> ast.Node:
        left = self._operand(least)
        items = self.items
        while self.at < len(items) and items[self.at].type in _OPERATORS:
            op = items[self.at].value
            if op in _BINARY:
                power, right_power = _BINARY[op]
                if power <= least:
                    break
                self.at += 1
                right = self.parse(right_power)
                kind = ast.BoolOp if op in ("and", "or") else ast.BinOp
                left = kind(self._join(left, right), op, left, right)
            else:
                if _COMPARISON <= least:
                    break
                left = self._comparison(left)
        return left

    def _operand(self, least: int) -> ast.Node:
        item = self.items[self.at]
        self.at += 1
        if type(item) is not Token:
            return self._trailers(item)
        power = _PREFIX[item.value]
        if power < least:
            span = Span(self.path, item.line, item.column, item.end_line, item.end_column)
            raise NetdslError(Diagnostic(f"'{item.value}' cannot follow an operator without "
                                         "parentheses", span, "syntax",
                                         help=f"write ({item.value} ...)"))
        operand = self.parse(power)
        span = Span(self.path, item.line, item.column, operand.span.end_line,
                    operand.span.end_col)
        if item.value == "not":
            return ast.Not(span, operand)
        return ast.Unary(span, item.value, operand)

    def _trailers(self, value: ast.Node) -> ast.Node:
        items = self.items
        while self.at < len(items) and type(items[self.at]) is Token \
                and items[self.at].type in ("DOT", "LSQB"):
            if items[self.at].type == "DOT":
                # a name, `output` (a layer's output shape, though a keyword), a path
                # index (`features.12`), a called name (`head#2`) or a quoted label
                name = items[self.at + 1]
                if name.type == "STRING":  # `x."block1-0"`: a label that is not a name
                    value = ast.Attribute(self._join(value, name), value,
                                          _unescape(str(name)), quoted=True)
                else:
                    value = ast.Attribute(self._join(value, name), value, str(name))
                self.at += 2
            else:
                index, close = items[self.at + 1], items[self.at + 2]
                value = ast.Index(self._join(value, close), value, index)
                self.at += 3
        return value

    def _comparison(self, left: ast.Node) -> ast.Compare:
        operands, ops = [left], []
        while self.at < len(self.items) and self.items[self.at].type == "COMP_OP":
            ops.append(self.items[self.at].value)
            self.at += 1
            operands.append(self.parse(_COMPARISON))
        return ast.Compare(self._join(left, operands[-1]), tuple(operands), tuple(ops))

    def _join(self, first: ast.Node, last: ast.Node | Token) -> Span:
        a = first.span
        if type(last) is Token:
            return Span(self.path, a.line, a.col, last.end_line, last.end_column)
        return Span(self.path, a.line, a.col, last.span.end_line, last.span.end_col)


class ToAst(Transformer):
    """The lark callbacks, one per rule (or alias) of grammar.lark. `path` is set per parse."""

    def __init__(self) -> None:
        super().__init__()
        self.path = "<string>"

    def _span(self, children: list) -> Span:
        """From the first token of the rule to the end of its last."""
        first = last = None
        for c in children:
            if c is not None and not (type(c) is Token and c.type == "_NL"):
                first = c
                break
        for c in reversed(children):
            if c is not None and not (type(c) is Token and c.type == "_NL"):
                last = c
                break
        if first is None:
            return Span(self.path, 1, 1, 1, 1)
        if type(first) is Token:
            line, col = first.line, first.column
        else:
            line, col = first.span.line, first.span.col
        if type(last) is Token:
            end_line, end_col = last.end_line, last.end_column
        else:
            end_line, end_col = last.span.end_line, last.span.end_col
        return Span(self.path, line, col, end_line, end_col)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)

    # ------------------------------------------------------------ definitions

    def module(self, c):
        return ast.Module(self._span(c), self.path, tuple(_syntax(c)))

    def import_stmt(self, c):
        return ast.Import(self._span(c), _unescape(_tokens(c, "STRING")[0]))

    def block_def(self, c):
        params, body = self._signature(c)
        return ast.BlockDef(self._span(c), str(_tokens(c, "NAME")[0]), params, body,
                            inline=bool(_tokens(c, "INLINE")))

    def network_def(self, c):
        params, body = self._signature(c)
        return ast.BlockDef(self._span(c), str(_tokens(c, "NAME")[0]), params, body,
                            is_network=True)

    def _signature(self, c: list) -> tuple[tuple, tuple]:
        *params, body = _syntax(c)
        return (params[0].value if params else ()), body.value

    def params(self, c):
        return Part(tuple(_syntax(c)), self._span(c))

    def param(self, c):
        names = _tokens(c, "NAME")
        default = _syntax(c)
        return ast.Param(self._span(c), str(names[0]), str(names[1]) if len(names) > 1 else None,
                         default[0] if default else None)

    def body(self, c):
        return Part(_statements(c), self._span(c))

    # ------------------------------------------------------------ statements

    def input_stmt(self, c):
        return ast.Input(self._span(c), str(_tokens(c, "NAME")[0]), c[-1])

    def output_stmt(self, c):
        return ast.Output(self._span(c), tuple(p.value for p in _syntax(c)))

    def expect_stmt(self, c):
        return ast.Expect(self._span(c), c[-1])

    def assign(self, c):
        """`x = value`; a right side that is a chain of layers binds the tensor it makes, as a
        destructuring of one name does."""
        value = c[-1]
        if isinstance(value, (ast.Chain, ast.Merge, ast.Element)):
            name = c[0]
            return ast.Unpack(self._span(c), (str(name),), (self._tok_span(name),),
                              _chain(value))
        return ast.Assign(self._span(c), str(c[0]), value)

    def unpack(self, c):
        names = _tokens(c, "NAME")
        return ast.Unpack(self._span(c), tuple(str(n) for n in names),
                          tuple(self._tok_span(n) for n in names), _chain(c[-1]))

    def shared_stmt(self, c):
        name = c[1]
        return ast.Shared(self._span(c), str(name), self._tok_span(name), c[-1])

    def def_stmt(self, c):
        name, *params = _tokens(c, "NAME")
        return ast.Def(self._span(c), str(name), tuple(str(p) for p in params), c[-1])

    def if_stmt(self, c):
        parts = _syntax(c)  # cond, body, cond, body, ..., [else body]
        otherwise = parts.pop().value if len(parts) % 2 else None
        branches = tuple((parts[i], parts[i + 1].value) for i in range(0, len(parts), 2))
        return ast.If(self._span(c), branches, otherwise)

    def for_stmt(self, c):
        iterable, body = _syntax(c)
        return ast.For(self._span(c), str(_tokens(c, "NAME")[0]), iterable, body.value)

    def chain(self, c):
        return ast.Chain(self._span(c), tuple(_element(x) for x in _syntax(c)))

    def labeled(self, c):
        label = c[0]
        return ast.Element(self._span(c), label.value, label.span, c[-1])

    def label(self, c):
        """A name, a quoted name (`"block1-0"`: the same label, spelled as a string) or a
        computed label in parentheses."""
        if len(c) == 1:
            tok = c[0]
            text = _unescape(str(tok)) if tok.type == "STRING" else str(tok)
            return Part(text, self._tok_span(tok))
        return Part(c[1], self._span(c))

    def merge(self, c):
        name = c[0]
        parts = _syntax(c)
        args = parts[0] if len(parts) == 2 else ()
        return ast.Merge(self._span(c), str(name), self._tok_span(name), args, parts[-1].value)

    def args(self, c):
        return tuple(_syntax(c))

    def kwarg(self, c):
        return ast.Arg(self._span(c), str(c[0]), _chain(c[-1]))

    def posarg(self, c):
        value = _chain(c[0])
        return ast.Arg(value.span, None, value)

    # ------------------------------------------------------------ expressions

    def expr(self, c):
        """`run` or `run if run else expr`, each run a flat operator run."""
        run = _Precedence(c, self.path)
        value = run.parse(0)
        if run.at == len(c):
            return value
        run.at += 1  # `if`
        cond = run.parse(0)
        otherwise = c[-1]  # after `else`
        return ast.Conditional(self._span(c), cond, value, otherwise)

    def test(self, c):
        """A flat operator run without `if else`."""
        return _Precedence(c, self.path).parse(0)

    def number(self, c):
        span = self._span(c)
        return ast.Number(span, _number(str(c[0]), span))

    def string(self, c):
        return ast.String(self._span(c), _unescape(str(c[0])))

    def true(self, c):
        return ast.Bool(self._span(c), True)

    def false(self, c):
        return ast.Bool(self._span(c), False)

    def name(self, c):
        return ast.Name(self._span(c), str(c[0]))

    def slice(self, c):
        """`start:stop:step`, each bound optional: the expressions between the colons."""
        bounds: list = [None]
        for item in c:
            if type(item) is Token:
                bounds.append(None)
            elif item is not None:
                bounds[-1] = item
        start, stop, step = bounds + [None] * (3 - len(bounds))
        return ast.Slice(self._span(c), start, stop, step)

    def output_ref(self, c):
        return ast.Name(self._span(c), "output")

    def block_input(self, c):
        return ast.BlockInput(self._span(c))

    def call(self, c):
        name = c[0]
        return ast.Call(self._span(c), str(name), self._tok_span(name), c[2] or ())

    def list(self, c):
        """`[a, b]`; an item that is more than an expression (`from x -> conv(2, 1)`, a
        labeled element, a merge) is a chain, as a comprehension's item is."""
        return ast.ListExpr(self._span(c), tuple(
            _chain(x) if type(x) in _CHAIN_ITEMS else x for x in _syntax(c)))

    def tuple(self, c):
        return ast.ListExpr(self._span(c), tuple(_syntax(c)))

    def comprehension(self, c):
        # [ element for NAME in iterable (if condition | placeholders) ]
        return ast.Comprehension(self._span(c), _chain(c[1]), str(c[3]), c[5], c[7])

    def paren(self, c):
        """A parenthesized expression spans its parentheses."""
        return replace(c[1], span=self._span(c))

    def group(self, c):
        return ast.Group(self._span(c), _statements(c))

    def from_tensor(self, c):
        return ast.From(self._span(c), c[1].value)

    def dotted(self, c):
        """`a.b.12`: its names and path indices."""
        return Part(tuple(str(t) for t in c if type(t) is Token and t.type != "DOT"),
                    self._span(c))

    def dotted_in(self, c):
        return Part(("in",), self._span(c))
