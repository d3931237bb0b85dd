"""A node of the graph IR: one operator application (or a network input)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netdsl.errors import Span
from netdsl.ops.base import Op, Shape


@dataclass(eq=False, slots=True)  # slots: a big network has hundreds of thousands of nodes
class Node:
    """`name` is the dotted layer name (`layer1.0.conv1`); `inputs` are node names, in order.

    `call_sites` is the chain of block instantiations the node was created through (outermost
    first); `scope` the dotted names of the scopes that contain it. Analyses fill `meta`
    (`shape`, `params`, `macs`, `rf`, ...).
    """

    name: str
    op: Op | None  # None for a network input
    inputs: list[str]
    span: Span | None = None
    call_sites: tuple[tuple[str, Span], ...] = ()
    scope: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    shared: Any = None  # the shared module (`ir.Instance`) this node applies, if any

    @property
    def is_input(self) -> bool:
        return self.op is None

    @property
    def shape(self) -> Shape:
        return self.meta["shape"]

    @property
    def op_name(self) -> str:
        return "input" if self.op is None else self.op.name

    def __repr__(self) -> str:
        return (f"Node({self.name!r}, {self.op_name}, inputs={self.inputs}, "
                f"shape={self.meta.get('shape')})")


@dataclass(eq=False)
class Scope:
    """A named group of nodes: a block instance, a labeled group, a repeat or a merge.

    `children` lists the names of the nodes and scopes directly inside, in order; `output` is
    the node whose tensor the scope produces.
    """

    name: str
    kind: str  # "block", "group", "repeat", "merge"
    block: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    span: Span | None = None
    children: list[str] = field(default_factory=list)
    output: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return self.name.count(".") + 1
