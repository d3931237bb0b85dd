"""The syntax tree of a .net file: plain dataclasses, each carrying the span it was parsed from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from netdsl.errors import Span


@dataclass(frozen=True)
class Node:
    span: Span


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Number(Node):
    value: int | float


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class BlockInput(Node):
    """`in`: the tensor a block was called on (its shape: `in.c`, `in.h`, `in.w`)."""


@dataclass(frozen=True)
class Attribute(Node):
    value: Expr
    attr: str


@dataclass(frozen=True)
class Index(Node):
    value: Expr
    index: Expr


@dataclass(frozen=True)
class Arg(Node):
    """One call argument; `value` is a chain, most often of a single plain expression."""

    name: str | None
    value: Chain


@dataclass(frozen=True)
class Call(Node):
    """`f(args)`: an operator, a block or a value function; which one is decided by name."""

    func: str
    func_span: Span
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class ListExpr(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Expr


@dataclass(frozen=True)
class Compare(Node):
    operands: tuple[Expr, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" | "or"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class Conditional(Node):
    cond: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class Group(Node):
    """`{ stmts }`: a sequence used as one layer."""

    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class From(Node):
    """`from name`: start a chain at an earlier labeled tensor."""

    path: tuple[str, ...]


Expr = Union[Number, String, Bool, Name, BlockInput, Attribute, Index, Call, ListExpr, BinOp,
             Unary, Compare, BoolOp, Not, Conditional, Group, From]


# ---------------------------------------------------------------- chains


@dataclass(frozen=True)
class Merge(Node):
    """`add { path; path }` or `residual(when = c) { body }`: an operator applied to a body."""

    func: str
    func_span: Span
    args: tuple[Arg, ...]
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class Element(Node):
    label: str | Expr | None  # a plain name, a computed label expression, or none
    label_span: Span | None
    value: Expr | Merge


@dataclass(frozen=True)
class Chain(Node):
    elements: tuple[Element, ...]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Input(Node):
    name: str
    shape: Expr


@dataclass(frozen=True)
class Output(Node):
    names: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Expect(Node):
    expr: Expr


@dataclass(frozen=True)
class Assign(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Def(Node):
    name: str
    params: tuple[str, ...]
    body: Expr


@dataclass(frozen=True)
class If(Node):
    branches: tuple[tuple[Expr, tuple[Stmt, ...]], ...]
    otherwise: tuple[Stmt, ...] | None


@dataclass(frozen=True)
class For(Node):
    var: str
    iterable: Expr
    body: tuple[Stmt, ...]


Stmt = Union[Input, Output, Expect, Assign, Def, If, For, Chain]


# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Param(Node):
    name: str
    type: str | None
    default: Expr | None


@dataclass(frozen=True)
class BlockDef(Node):
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    is_network: bool = False
    inline: bool = False  # an unlabeled call names its layers in the caller's scope


@dataclass(frozen=True)
class Import(Node):
    path: str


@dataclass(frozen=True)
class Module(Node):
    path: str
    items: tuple[Import | BlockDef | Assign | Def, ...] = field(default_factory=tuple)
