"""Operators that reorder, pick or regroup axes, for tensors that are not channels-first images:
token sequences [tokens, dim] and channels-last maps [H, W, C].

Axes are counted without the batch axis, as everywhere in netdsl: `permute([1, 2, 0])` turns
[C, H, W] into [H, W, C] (torch's `x.permute(0, 2, 3, 1)`), `select(0)` is `x[:, 0]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, attr, axis_index


@dataclass(frozen=True)
class Permute(Op):
    """Reorders the axes: output axis i is input axis order[i] (the batch stays first)."""

    name = "permute"
    family = "shape"
    is_view = True

    order: tuple[int, ...] = attr(kind="shape", doc="the input axis of each output axis")

    def validate(self) -> None:
        if sorted(self.order) != list(range(len(self.order))):
            raise SpecError(f"'permute' order {list(self.order)} must list each of the axes "
                            f"0..{len(self.order) - 1} once", "arg",
                            help="permute([1, 2, 0]) turns [C, H, W] into [H, W, C]")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(self.order) != len(x):
            raise ShapeError(f"permute order {list(self.order)} has {len(self.order)} axes for "
                             f"a tensor of rank {len(x)}", "order")
        return tuple(x[i] for i in self.order)

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.Permute(self.order)

    def view_strides(self, inputs, strides, out):
        return tuple(strides[i] for i in self.order)

    def summary(self, inputs):
        return f"permute {list(self.order)}"


@dataclass(frozen=True)
class Transpose(Op):
    """Swaps two axes."""

    name = "transpose"
    family = "shape"
    is_view = True

    first: int = attr(kind="int")
    second: int = attr(kind="int")

    def order(self, rank: int) -> tuple[int, ...]:
        a, b = axis_index(self, "first", rank), axis_index(self, "second", rank)
        order = list(range(rank))
        order[a], order[b] = b, a
        return tuple(order)

    def infer_shape(self, inputs):
        (x,) = inputs
        return tuple(x[i] for i in self.order(len(x)))

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.Permute(self.order(len(inputs[0])))

    def view_strides(self, inputs, strides, out):
        return tuple(strides[i] for i in self.order(len(inputs[0])))

    def summary(self, inputs):
        return f"transpose {self.first}, {self.second}"


@dataclass(frozen=True)
class Select(Op):
    """Element `index` of one axis, which is removed: select(0) is ViT's class token x[:, 0]."""

    name = "select"
    family = "shape"
    is_view = True

    index: int = attr(kind="int", doc="negative counts from the end")
    axis: int = attr(0, kind="int", alias="dim")

    def infer_shape(self, inputs):
        (x,) = inputs
        axis = axis_index(self, "axis", len(x))
        if not -x[axis] <= self.index < x[axis]:
            raise ShapeError(f"index {self.index} is out of range for axis {self.axis} of shape "
                             f"{shape_text(x, 'list')}")
        return x[:axis] + x[axis + 1:]

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        axis = axis_index(self, "axis", len(inputs[0]))
        length = inputs[0][axis]
        return rf.Select(axis, self.index % length, length)

    def view_strides(self, inputs, strides, out):
        axis = axis_index(self, "axis", len(inputs[0]))
        return strides[:axis] + strides[axis + 1:]

    def summary(self, inputs):
        return f"select {self.index}" + (f" of axis {self.axis}" if self.axis else "")


@dataclass(frozen=True)
class PatchMerge(Op):
    """Gathers each r x r patch of a channels-last map [H, W, C] into the channels, giving
    [H / r, W / r, r * r * C] in Swin's order (the row offset varies fastest); odd sizes are
    padded with zeros first, as torchvision's PatchMerging does."""

    name = "patch_merge"
    channel_axis = -1
    family = "shape"

    factor: int = attr(2, kind="size")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) != 3:
            raise ShapeError(f"patch_merge needs a channels-last map [H, W, C], got "
                             f"{shape_text(x, 'list')}")
        r = self.factor
        return (-(-x[0] // r), -(-x[1] // r), r * r * x[2])

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        r = self.factor
        return rf.OnAxes(rf.Window((r, r), (r, r), (0, 0), (1, 1)), (0, 1))

    def summary(self, inputs):
        return f"{self.name} {self.factor}x{self.factor}"
