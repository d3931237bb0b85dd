"""Merges of several tensors: elementwise sum, difference, product and quotient, channel
concatenation."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, Shape, ShapeError, attr, axis_index, numel


def describe(inputs: list[Shape]) -> str:
    return ", ".join(shape_text(s, 'list') for s in inputs)


def broadcast_shape(op: str, inputs: list[Shape]) -> Shape:
    """The shape of an elementwise result under broadcasting (axes of size 1 stretch)."""
    rank = max(len(s) for s in inputs)
    padded = [(1,) * (rank - len(s)) + s for s in inputs]
    out = []
    for dims in zip(*padded, strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ShapeError(f"{op} cannot broadcast {describe(inputs)}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@dataclass(frozen=True)
class _Merge(Op):
    family = "merge"
    variadic = True
    min_inputs = 2

    def receptive_field(self, inputs, out):
        return rf.MERGE


def _elementwise(inputs: list[Shape], out: Shape) -> rf.Merge:
    """The merge rule of the elementwise merges: broadcast inputs are the gates."""
    size = numel(out)
    return rf.Merge(tuple(i for i, s in enumerate(inputs) if numel(s) < size))


def _same_or_broadcast(op: str, broadcast: bool, inputs: list[Shape]) -> Shape:
    """The shape of add's and sub's result: one shape, or any that broadcast when asked to."""
    if broadcast:
        return broadcast_shape(op, inputs)
    first = inputs[0]
    if any(s != first for s in inputs[1:]):
        raise ShapeError(f"{op} needs tensors of one shape, got {describe(inputs)}")
    return first


@dataclass(frozen=True)
class Add(_Merge):
    """Elementwise sum of tensors of one shape (residual connections); with `broadcast=true`,
    axes of size 1 stretch as in torch."""

    name = "add"
    known_as = ("plus",)
    channel_axis = None
    overwritable = True
    symbol = "+"
    passes_gradient = True

    broadcast: bool = attr(False, kind="bool", keyword_only=True,
                           doc="broadcast axes of size 1, as GCNet adds a [C, 1, 1] context")

    def infer_shape(self, inputs):
        return _same_or_broadcast(self.name, self.broadcast, inputs)

    def flops(self, inputs, out):
        return (len(inputs) - 1) * numel(out)

    def receptive_field(self, inputs, out):
        return _elementwise(inputs, out)

    def summary(self, inputs):
        return "+"

    def saved(self, inputs, out):
        return ()  # a sum's gradient is its output's


@dataclass(frozen=True)
class Mul(_Merge):
    """Elementwise product with broadcasting (SE gating: [C, H, W] x [C, 1, 1])."""

    name = "mul"
    channel_axis = None
    symbol = "\u00d7"

    def infer_shape(self, inputs):
        return broadcast_shape("mul", inputs)

    def flops(self, inputs, out):
        return (len(inputs) - 1) * numel(out)

    def receptive_field(self, inputs, out):
        return _elementwise(inputs, out)

    def summary(self, inputs):
        return "x"


@dataclass(frozen=True)
class Sub(_Merge):
    """The first tensor minus the second, of one shape (`x - mean`); with `broadcast=true`, axes
    of size 1 stretch as in torch."""

    name = "sub"
    known_as = ("subtract", "minus", "difference")
    channel_axis = None
    overwritable = True
    max_inputs = 2
    symbol = "\u2212"

    broadcast: bool = attr(False, kind="bool", keyword_only=True,
                           doc="broadcast axes of size 1, as `x - mean` with a [C, 1, 1] mean")

    def infer_shape(self, inputs):
        return _same_or_broadcast(self.name, self.broadcast, inputs)

    def receptive_field(self, inputs, out):
        return _elementwise(inputs, out)

    def summary(self, inputs):
        return "-"

    def saved(self, inputs, out):
        return ()  # a difference's gradients are its output's and its negation


@dataclass(frozen=True)
class Div(_Merge):
    """The first tensor divided by the second, with broadcasting (`x / norm`, [C, H, W] by
    [1, H, W])."""

    name = "div"
    known_as = ("divide", "true_divide", "quotient")
    channel_axis = None
    max_inputs = 2
    symbol = "\u00f7"

    def infer_shape(self, inputs):
        return broadcast_shape(self.name, inputs)

    def receptive_field(self, inputs, out):
        return _elementwise(inputs, out)

    def summary(self, inputs):
        return "/"


@dataclass(frozen=True)
class Concat(_Merge):
    """Concatenation along an axis, the channels by default."""

    name = "concat"
    overwritable = True
    passes_gradient = True

    axis: int = attr(0, kind="int", alias="dim", keyword_only=True)

    def infer_shape(self, inputs):
        rank = len(inputs[0])
        axis = axis_index(self, "axis", rank)
        if any(len(s) != rank for s in inputs):
            raise ShapeError(f"concat along axis {self.axis} needs tensors of one rank, got "
                             f"{describe(inputs)}")
        for i in range(rank):
            if i != axis and len({s[i] for s in inputs}) > 1:
                raise ShapeError(f"concat along axis {self.axis} needs the other axes to agree, "
                                 f"got {describe(inputs)}")
        return inputs[0][:axis] + (sum(s[axis] for s in inputs),) + inputs[0][axis + 1:]

    def flops(self, inputs, out):
        return 0

    def summary(self, inputs):
        return "concat"

    def saved(self, inputs, out):
        return ()  # the gradient is sliced by sizes
