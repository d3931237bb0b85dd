"""The lark parse tree -> `ast` dataclasses, with a span on every node."""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer, Tree, v_args

from netdsl.errors import Span
from netdsl.syntax import ast


def _number(text: str) -> int | float:
    text = text.replace("_", "")
    if any(c in text for c in ".eE"):
        return float(text)
    return int(text)


def _unescape(text: str) -> str:
    body = text[1:-1]
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


@v_args(meta=True)
class ToAst(Transformer):
    """Builds the AST bottom-up; `meta` gives each rule's position."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def transform_module(self, tree: Tree) -> ast.Module:
        return self.transform(tree)

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", False):
            return Span(self.path, 1, 1, 1, 1)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)

    # ------------------------------------------------------------ definitions

    def module(self, meta, items):
        return ast.Module(self._span(meta), self.path, tuple(items))

    def import_stmt(self, meta, children):
        return ast.Import(self._span(meta), _unescape(children[0]))

    def block_def(self, meta, children):
        inline, name, params, body = children
        return ast.BlockDef(self._span(meta), str(name), params or (), body,
                            inline=inline is not None)

    def network_def(self, meta, children):
        name, params, body = children
        return ast.BlockDef(self._span(meta), str(name), params or (), body, is_network=True)

    def params(self, meta, children):
        return tuple(c for c in children if c is not None)

    def param(self, meta, children):
        name, type_, default = children
        return ast.Param(self._span(meta), str(name), str(type_) if type_ else None, default)

    def body(self, meta, children):
        return tuple(c for c in children if c is not None)

    # ------------------------------------------------------------ statements

    def input_stmt(self, meta, children):
        return ast.Input(self._span(meta), str(children[0]), children[1])

    def output_stmt(self, meta, children):
        return ast.Output(self._span(meta), tuple(children))

    def expect_stmt(self, meta, children):
        return ast.Expect(self._span(meta), children[0])

    def assign(self, meta, children):
        return ast.Assign(self._span(meta), str(children[0]), children[1])

    def def_stmt(self, meta, children):
        name, *rest = children
        *params, body = rest
        return ast.Def(self._span(meta), str(name), tuple(str(p) for p in params if p is not None),
                       body)

    def if_stmt(self, meta, children):
        otherwise = children[-1]
        pairs = children[:-1]
        branches = tuple((pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2))
        return ast.If(self._span(meta), branches, otherwise)

    def for_stmt(self, meta, children):
        var, iterable, body = children
        return ast.For(self._span(meta), str(var), iterable, body)

    def chain(self, meta, children):
        return ast.Chain(self._span(meta), tuple(children))

    def element(self, meta, children):
        label, value = children
        if label is None:
            return ast.Element(self._span(meta), None, None, value)
        text, span = label
        return ast.Element(self._span(meta), text, span, value)

    def label(self, meta, children):
        (child,) = children
        if isinstance(child, Token):
            return str(child), self._tok_span(child)
        return child, self._span(meta)

    def merge(self, meta, children):
        if len(children) == 2:
            name, body = children
            args: tuple = ()
        else:
            name, args, body = children
        return ast.Merge(self._span(meta), str(name), self._tok_span(name), args, body)

    def args(self, meta, children):
        return tuple(c for c in children if c is not None)

    def kwarg(self, meta, children):
        return ast.Arg(self._span(meta), str(children[0]), children[1])

    def posarg(self, meta, children):
        return ast.Arg(self._span(meta), None, children[0])

    # ------------------------------------------------------------ expressions

    def conditional(self, meta, c):
        return ast.Conditional(self._span(meta), c[1], c[0], c[2])

    def or_op(self, meta, c):
        return ast.BoolOp(self._span(meta), "or", c[0], c[1])

    def and_op(self, meta, c):
        return ast.BoolOp(self._span(meta), "and", c[0], c[1])

    def not_op(self, meta, c):
        return ast.Not(self._span(meta), c[0])

    def compare(self, meta, c):
        return ast.Compare(self._span(meta), tuple(c[0::2]), tuple(str(op) for op in c[1::2]))

    def binop(self, meta, c):
        return ast.BinOp(self._span(meta), str(c[1]), c[0], c[2])

    def unary(self, meta, c):
        return ast.Unary(self._span(meta), str(c[0]), c[1])

    def attribute(self, meta, c):
        return ast.Attribute(self._span(meta), c[0], str(c[1]))

    def output_attribute(self, meta, c):
        # `output` is a keyword, yet `label.output` is a layer's output shape in expectations.
        return ast.Attribute(self._span(meta), c[0], "output")

    def index(self, meta, c):
        return ast.Index(self._span(meta), c[0], c[1])

    def number(self, meta, c):
        return ast.Number(self._span(meta), _number(str(c[0])))

    def string(self, meta, c):
        return ast.String(self._span(meta), _unescape(str(c[0])))

    def true(self, meta, c):
        return ast.Bool(self._span(meta), True)

    def false(self, meta, c):
        return ast.Bool(self._span(meta), False)

    def name(self, meta, c):
        return ast.Name(self._span(meta), str(c[0]))

    def output_ref(self, meta, c):
        return ast.Name(self._span(meta), "output")

    def block_input(self, meta, c):
        return ast.BlockInput(self._span(meta))

    def call(self, meta, c):
        name, args = c
        return ast.Call(self._span(meta), str(name), self._tok_span(name), args or ())

    def list(self, meta, c):
        return ast.ListExpr(self._span(meta), tuple(x for x in c if x is not None))

    def tuple(self, meta, c):
        return ast.ListExpr(self._span(meta), tuple(x for x in c if x is not None))

    def group(self, meta, c):
        return ast.Group(self._span(meta), tuple(x for x in c if x is not None))

    def from_tensor(self, meta, c):
        return ast.From(self._span(meta), c[0])

    def dotted(self, meta, c):
        return tuple(str(t) for t in c)

    def dotted_in(self, meta, c):
        return ("in",)
