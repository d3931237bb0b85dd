"""The statements an imported spec is made of, before they are written as text: a body is a list
of elements, each applied to the tensor the one before it made (`From` starts again at a named
tensor).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from netdsl.backends.pytorch.importer.mapping import OpCall


class Ref(str):
    """A tensor named in an argument (`upsample(to=x)`, `add(conv1)`): written bare."""


class Expr(str):
    """An expression of the language written as it is (`in.c`, `width * 4`)."""


@dataclass
class Op:
    """An operator call, labeled when its module has a name or its tensor is used elsewhere."""

    label: str | None
    call: OpCall
    node: Any = None  # the fx node whose tensor it makes, for names


@dataclass
class Child:
    """A call of a child module instance (a block call or an inline group, decided later);
    `tensors` names its inputs when it takes more than the current tensor."""

    label: str | None
    instance: Any  # tree.Instance
    tensors: list[str] = field(default_factory=list)


@dataclass
class Call:
    """A block call: `label: name(args)`; `tensors` first when it takes several."""

    label: str | None
    block: str
    args: list[tuple[str | None, Any]]
    tensors: list[str] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)  # the fx nodes it makes, for names
    param_names: list[str] = field(default_factory=list)  # the block's, in order
    defaults: dict[str, Any] = field(default_factory=dict)  # of those that have one


@dataclass
class Group:
    """`label: { body }`, or the body inline (transparent) without a label."""

    label: str | None
    body: list[Element]


@dataclass
class Merge:
    """`add { branch; branch }`: each branch starts from the current tensor; an empty branch
    is `identity`. An `inline` merge, whose first branch is the current tensor, is written as
    its operator with the other branches as its tensor arguments, `concat: concat(conv(2, 1))`:
    its label names its tensor without opening a scope, so its branches' layers keep their
    names in the enclosing one (a merge among the items of a module list)."""

    label: str | None
    call: OpCall
    branches: list[list[Element]]
    node: Any = None
    inline: bool = False

    @property
    def scope(self) -> str | None:
        """The label that its branches' layers are named in, if any."""
        return None if self.inline else self.label


@dataclass
class From:
    """Starts a new chain at a named tensor."""

    ref: str


@dataclass
class Output:
    refs: list[str]


@dataclass
class If:
    """`if cond { then } else { orelse }`, chosen when the spec is compiled."""

    cond: str
    then: list[Element]
    orelse: list[Element]


@dataclass
class Repeat:
    """`element * n`."""

    element: Element
    count: Any


@dataclass
class For:
    """`for var in range(count) { body }`."""

    var: str
    count: Any
    body: list[Element]


@dataclass
class Shared:
    """`shared name: layer(args)`: one module that every later `name` in the body applies."""

    name: str
    layer: Any  # the Op or Call its first use would have been, or a Child until expanded


@dataclass
class Use:
    """An application of a shared module: `name`, `name(a, b)` on several tensors, or
    `bind = from source -> name` when a later element names its tensor."""

    name: str
    item: Any  # the tree.Item of this call, for its tensors
    tensors: list[str] = field(default_factory=list)
    bind: str | None = None
    source: Any = None
    outputs: list[Any] = field(default_factory=list)  # the fx nodes it makes, for names


@dataclass
class Comment:
    """A comment line in a body (what could not be imported, and why)."""

    text: str


Element = Union[Op, Child, Call, Group, Merge, From, Output, If, Repeat, For, Comment, Shared,
                Use]
