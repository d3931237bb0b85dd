"""What one torch.fx node becomes in a spec: the kinds of mapping, and the dispatch to the tables
of leaf modules (`modules.py`) and of functions and methods (`calls.py`).

Dispatch is by name, as torch.fx's interpreter does: a node `call_function torch.flatten` goes
to `Calls.function_flatten`, `call_method view` to `Calls.method_view`, a leaf `nn.Conv2d` to
`Modules.Conv2d`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn


class Word(str):
    """A bare word of the language: `mode=bilinear`, `approximate=tanh`."""


@dataclass(frozen=True)
class OpCall:
    """One operator call of the spec: `name(*args, **kwargs)`; values are Python literals,
    `Word`s, or fx nodes for tensor arguments (`upsample(to=x)`)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass
class Layers:
    """A node computed by one operator (or a short chain of them) from `inputs`."""

    calls: list[OpCall]
    inputs: list[fx.Node]
    parameter: str | None = None  # get_attr: the parameter's dotted name


@dataclass(frozen=True)
class Alias:
    """A node whose value is another node's tensor (`x.contiguous()`, `nn.Identity`)."""

    source: fx.Node


@dataclass(frozen=True)
class Value:
    """A node that computes no tensor: sizes, shapes, checks (`torch._assert`)."""


@dataclass(frozen=True)
class Unmapped:
    """A call netdsl has no operator for, and why."""

    reason: str


class BatchAxis(Exception):  # noqa: N818 - a refusal, carried out of a rule by `axis`
    """A call over the batch axis: a spec's layers compute each sample of a batch alone, so no
    operator says it. `map_node` makes it the call's `Unmapped`."""


def axis(dim: int, rank: int, what: str) -> int:
    """The axis of the language that torch's `dim` of a tensor of `rank` axes is: the batch
    axis is not one of them (a dim counted from the end stays so). `what` says the call for
    the refusal of the batch axis: "a softmax over"."""
    if dim % rank == 0:
        raise BatchAxis(f"{what} the batch axis (dim={dim}); a spec's layers compute each "
                        f"sample of a batch alone")
    return dim if dim < 0 else dim - 1


Mapping = Layers | Alias | Value | Unmapped


@dataclass
class Context:
    """What a mapping rule may look at: the node, the values every node took, the model, and
    the mappings of the nodes before it."""

    node: fx.Node
    values: dict[fx.Node, Any]
    model: nn.Module
    earlier: dict[fx.Node, Mapping] = field(default_factory=dict)

    def value(self, arg: Any) -> Any:
        """The concrete value of an argument (a node's recorded value, else the literal)."""
        if isinstance(arg, fx.Node):
            return self.values[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.value(a) for a in arg)
        return arg

    def shape(self, arg: Any) -> tuple[int, ...]:
        return tuple(self.value(arg).shape)

    def is_tensor(self, arg: Any) -> bool:
        return isinstance(arg, fx.Node) and isinstance(self.values.get(arg), torch.Tensor)

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """A call's argument by position or keyword, as written (nodes stay nodes)."""
        node = self.node
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(name, default)



def is_mapped_module(module: nn.Module) -> bool:
    """Whether torch.fx should stop at this module: netdsl has one operator for it."""
    from netdsl.backends.pytorch.importer.modules import Modules
    return Modules.handles(module)


def map_node(ctx: Context) -> Mapping:
    """The mapping of one node."""
    from netdsl.backends.pytorch.importer.calls import Calls
    from netdsl.backends.pytorch.importer.modules import Modules
    node = ctx.node
    overwritten = _overwritten_and_read_again(ctx)
    if overwritten is not None:
        return Unmapped(f"an in-place call that overwrites '{overwritten}', which is read "
                        f"again after it (a spec's layers never overwrite a tensor another "
                        f"reads)")
    try:
        if node.op == "call_module":
            return Modules(ctx).map(ctx.model.get_submodule(str(node.target)))
        if node.op in ("call_function", "call_method"):
            if not _makes_tensors(ctx.values.get(node)):
                return Value()
            return Calls(ctx).map()
    except BatchAxis as refusal:
        return Unmapped(str(refusal))
    if node.op == "get_attr":
        return _attribute(ctx)
    raise AssertionError(node.op)


_IN_PLACE_FUNCTIONS = frozenset({operator.iadd, operator.imul, operator.isub, operator.itruediv})


def _overwritten_and_read_again(ctx: Context) -> str | None:
    """The tensor an in-place call overwrites (`F.relu(x, inplace=True)`, `nn.ReLU(inplace=
    True)`, `x.relu_()`, `x += y`) when a later node still reads it: the spec, whose layers
    make new tensors, would compute with the value before the call where torch computes with
    the value after (a silent difference of the outputs)."""
    node = ctx.node
    if not node.args or not isinstance(node.args[0], fx.Node):
        return None
    if node.op == "call_module":
        in_place = getattr(ctx.model.get_submodule(str(node.target)), "inplace", False) is True
    elif node.op == "call_method":
        in_place = str(node.target).endswith("_") and not str(node.target).startswith("_")
    elif node.op == "call_function":
        in_place = node.kwargs.get("inplace") is True or node.target in _IN_PLACE_FUNCTIONS or \
            getattr(node.target, "__name__", "").endswith("_")
    else:
        return None
    source = node.args[0]
    if not in_place or len(source.users) < 2:
        return None
    later, at = set(source.users) - {node}, node.next
    while at.op != "root":
        if at in later:
            return source.name
        at = at.next
    return None


def _makes_tensors(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(_makes_tensors(v) for v in value)
    return False


def _attribute(ctx: Context) -> Mapping:
    """A parameter read in forward: a `parameter` layer. With a leading axis of 1 that the
    batch stretches (a class token expanded, a position embedding added), `batch=true`."""
    target = str(ctx.node.target)
    value = ctx.values[ctx.node]
    if not isinstance(value, nn.Parameter):
        return Unmapped(f"the tensor attribute '{target}' is not a parameter")
    shape = tuple(value.shape)
    if shape and shape[0] == 1 and _meets_batch(ctx, len(shape)):
        call = OpCall("parameter", (list(shape[1:]),), (("batch", True),))
    else:
        call = OpCall("parameter", (list(shape),))
    return Layers([call], [], parameter=target)


def _meets_batch(ctx: Context, rank: int) -> bool:
    """Whether every use of the parameter treats its first axis as the batch's: it is expanded,
    or meets a tensor of its own rank."""
    for user in ctx.node.users:
        if user.op == "call_method" and user.target == "expand":
            continue
        tensors = [a for a in user.args if ctx.is_tensor(a) and a is not ctx.node]
        if not tensors or ctx.values[tensors[0]].dim() != rank:
            return False
    return True
