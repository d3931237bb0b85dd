"""Operators on whole tensors: a slice of an axis, the matrix product, and moving pixels
between the channel and spatial axes (pixel shuffle).

`slice` splits channels the way ShuffleNetV2's `x.chunk(2, dim=1)` and SKNet's per-branch
attention weights need; `matmul` is GCNet's context pooling (a spatial softmax times the
features), which no elementwise merge can express.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, attr, axis_index, numel


@dataclass(frozen=True)
class Slice(Op):
    """Elements start..stop-1 of one axis (0, the channels, by default), like x[:, start:stop]."""

    name = "slice"
    family = "shape"
    is_view = True  # torch's narrow: the slice shares its input's storage

    start: int = attr(kind="count")
    stop: int = attr(kind="int", doc="exclusive; negative counts from the end")
    axis: int = attr(0, kind="int", alias="dim", doc="negative counts from the end")

    def _bounds(self, length: int) -> tuple[int, int]:
        stop = self.stop + length if self.stop < 0 else self.stop
        if not 0 <= self.start < stop <= length:
            raise ShapeError(f"slice {self.start}:{self.stop} is empty or outside an axis of "
                             f"length {length}")
        return self.start, stop

    def infer_shape(self, inputs):
        (x,) = inputs
        axis = axis_index(self, "axis", len(x))
        start, stop = self._bounds(x[axis])
        return x[:axis] + (stop - start,) + x[axis + 1:]

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.OnAxes(rf.Shift((self.start,)), (axis_index(self, "axis", len(inputs[0])),))

    def view_strides(self, inputs, strides, out):
        return strides  # torch's narrow

    def summary(self, inputs):
        return f"slice {self.start}:{self.stop}" + (f" axis {self.axis}" if self.axis else "")

    def saved(self, inputs, out):
        return ()  # a slice's backward needs only sizes


@dataclass(frozen=True)
class MatMul(Op):
    """Matrix product of two tensors over their last two axes, leading axes equal:
    [..., n, k] x [..., k, m] -> [..., n, m]. One multiply-accumulate per (n, k, m) triple."""

    name = "matmul"
    family = "linear"
    variadic = True
    min_inputs = 2

    def infer_shape(self, inputs):
        if len(inputs) != 2:
            raise ShapeError(f"matmul takes two tensors, got {len(inputs)}")
        a, b = inputs
        if len(a) < 2 or len(b) < 2 or len(a) != len(b) or a[:-2] != b[:-2] or a[-1] != b[-2]:
            raise ShapeError(f"matmul needs [..., n, k] and [..., k, m] with equal leading axes,"
                             f" got {shape_text(a, 'list')} and {shape_text(b, 'list')}")
        return a[:-1] + (b[-1],)

    def macs(self, inputs, out):
        return numel(out) * inputs[0][-1]

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.GLOBAL  # every output mixes a whole axis of positions

    def summary(self, inputs):
        return "matmul"


@dataclass(frozen=True)
class PixelShuffle(Op):
    """Rearranges [C * r * r, H, W] to [C, H * r, W * r] (Shi et al. 2016's sub-pixel layer;
    torch.nn.PixelShuffle). Pure data movement."""

    name = "pixel_shuffle"
    family = "shape"

    factor: int = attr(kind="size")

    def infer_shape(self, inputs):
        (x,) = inputs
        r = self.factor
        if len(x) != 3 or x[0] % (r * r):
            raise ShapeError(f"pixel_shuffle({r}) needs [C * {r * r}, H, W], got "
                             f"{shape_text(x, 'list')}")
        return (x[0] // (r * r), x[1] * r, x[2] * r)

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.Resample((float(self.factor),) * 2)

    def summary(self, inputs):
        return f"{self.name} x{self.factor}"

    def saved(self, inputs, out):
        return ()  # a permutation of the gradient


@dataclass(frozen=True)
class PixelUnshuffle(Op):
    """Rearranges [C, H * r, W * r] to [C * r * r, H, W], the inverse of pixel_shuffle
    (torch.nn.PixelUnshuffle). Pure data movement: each output sees one r x r window."""

    name = "pixel_unshuffle"
    family = "shape"

    factor: int = attr(kind="size")

    def infer_shape(self, inputs):
        (x,) = inputs
        r = self.factor
        if len(x) != 3 or x[1] % r or x[2] % r:
            raise ShapeError(f"pixel_unshuffle({r}) needs [C, H, W] with H and W divisible by "
                             f"{r}, got {shape_text(x, 'list')}")
        return (x[0] * r * r, x[1] // r, x[2] // r)

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        r = self.factor
        return rf.Window((r, r), (r, r), (0, 0), (1, 1))

    def summary(self, inputs):
        return f"{self.name} /{self.factor}"

    def saved(self, inputs, out):
        return ()  # a permutation of the gradient
