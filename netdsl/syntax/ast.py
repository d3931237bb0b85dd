"""The syntax tree of a .net file: plain dataclasses, each carrying the span it was parsed from.

Nothing changes a node after the parser makes it. They are not declared frozen only because
frozen dataclasses take twice as long to define, and every command imports these 36 classes
at start-up (6 ms of about 75).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from netdsl.errors import Span


@dataclass
class Node:
    span: Span


# ---------------------------------------------------------------- expressions


@dataclass
class Number(Node):
    value: int | float


@dataclass
class String(Node):
    value: str


@dataclass
class Bool(Node):
    value: bool


@dataclass
class Name(Node):
    id: str


@dataclass
class BlockInput(Node):
    """`in`: the tensor a block was called on (its shape: `in.c`, `in.h`, `in.w`)."""


@dataclass
class Attribute(Node):
    """`value.attr`; `quoted`: written as a string (`x."block1-0"`), a name, never a figure."""

    value: Expr
    attr: str
    quoted: bool = False


@dataclass
class Index(Node):
    """`value[index]`, or a slice of it: `value[1:]`, `value[::2]`."""

    value: Expr
    index: Expr | Slice


@dataclass
class Slice(Node):
    """`start:stop:step` inside brackets; a bound left out is None."""

    start: Expr | None
    stop: Expr | None
    step: Expr | None


@dataclass
class Arg(Node):
    """One call argument; `value` is a chain, most often of a single plain expression."""

    name: str | None
    value: Chain


@dataclass
class Call(Node):
    """`f(args)`: an operator, a block or a value function; which one is decided by name."""

    func: str
    func_span: Span
    args: tuple[Arg, ...]


@dataclass
class ListExpr(Node):
    """`[a, b]`; an item that applies layers beyond an expression is a `Chain`
    (`[from x -> conv(2, 1), from x -> conv(4, 1)]`)."""

    items: tuple[Expr | Chain, ...]


@dataclass
class BinOp(Node):
    op: str
    left: Expr
    right: Expr


@dataclass
class Unary(Node):
    op: str
    operand: Expr


@dataclass
class Compare(Node):
    operands: tuple[Expr, ...]
    ops: tuple[str, ...]


@dataclass
class BoolOp(Node):
    op: str  # "and" | "or"
    left: Expr
    right: Expr


@dataclass
class Not(Node):
    operand: Expr


@dataclass
class Conditional(Node):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass
class Group(Node):
    """`{ stmts }`: a sequence used as one layer."""

    body: tuple[Stmt, ...]


@dataclass
class From(Node):
    """`from name`: start a chain at an earlier labeled tensor."""

    path: tuple[str, ...]


@dataclass
class Comprehension(Node):
    """`[element for var in iterable if condition]`; the element may be a chain
    (`[from p -> head for p in levels]`)."""

    element: Chain
    var: str
    iterable: Expr
    condition: Expr | None


Expr = Union[Number, String, Bool, Name, BlockInput, Attribute, Index, Call, ListExpr, BinOp,
             Unary, Compare, BoolOp, Not, Conditional, Group, From, Comprehension]


# ---------------------------------------------------------------- chains


@dataclass
class Merge(Node):
    """`add { path; path }` or `residual(when = c) { body }`: an operator applied to a body."""

    func: str
    func_span: Span
    args: tuple[Arg, ...]
    body: tuple[Stmt, ...]


@dataclass
class Element(Node):
    label: str | Expr | None  # a plain name, a computed label expression, or none
    label_span: Span | None
    value: Expr | Merge


@dataclass
class Chain(Node):
    elements: tuple[Element, ...]


# ---------------------------------------------------------------- statements


@dataclass
class Input(Node):
    name: str
    shape: Expr


@dataclass
class Output(Node):
    names: tuple[tuple[str, ...], ...]


@dataclass
class Expect(Node):
    expr: Expr


@dataclass
class Assign(Node):
    name: str
    value: Expr


@dataclass
class Unpack(Node):
    """`p3, p4, p5 = fpn(c3, c4, c5)`: names for the tensors a chain gives (one name when the
    right side is a chain of layers: `t = from x -> conv(8, 1)`)."""

    names: tuple[str, ...]
    name_spans: tuple[Span, ...]
    value: Chain


@dataclass
class Shared(Node):
    """`shared head: retina_head(256, 9)`: one module instance, called by name at later sites."""

    name: str
    name_span: Span
    value: Expr


@dataclass
class Def(Node):
    name: str
    params: tuple[str, ...]
    body: Expr


@dataclass
class If(Node):
    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    otherwise: tuple[Stmt, ...] | None


@dataclass
class For(Node):
    var: str
    iterable: Expr
    body: tuple[Stmt, ...]


Stmt = Union[Input, Output, Expect, Assign, Unpack, Shared, Def, If, For, Chain]


# ---------------------------------------------------------------- definitions


@dataclass
class Param(Node):
    name: str
    type: str | None
    default: Expr | None


@dataclass
class BlockDef(Node):
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    is_network: bool = False
    inline: bool = False  # an unlabeled call names its layers in the caller's scope


@dataclass
class Import(Node):
    path: str


@dataclass
class Module(Node):
    path: str
    items: tuple[Import | BlockDef | Assign | Def, ...] = field(default_factory=tuple)
