"""Normalisation: batch, layer, group and instance norm, AlexNet's local response norm, L2
normalisation over the channels (ParseNet, SSD), and scaling by a constant (FCN-8s)."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, attr, numel


@dataclass(frozen=True)
class BatchNorm(Op):
    """Batch normalisation over the channel axis. Buffers: running mean and variance (C each)
    and the scalar num_batches_tracked, as torch's state_dict holds them."""

    name = "bn"
    overwritable = True
    family = "norm"
    known_as = ("batchnorm", "batch_norm", "batchnorm2d")

    eps: float = attr(1e-5, kind="positive")
    momentum: float = attr(0.1, kind="float")
    affine: bool = attr(True, kind="bool")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) > 4:
            raise ShapeError(f"bn takes 1 to 3 spatial axes, got {len(x) - 1}")
        return x

    def params(self, inputs, out):
        return 2 * inputs[0][0] if self.affine else 0

    def buffers(self, inputs, out):
        return 2 * inputs[0][0] + 1

    def flops(self, inputs, out):
        return 2 * numel(out)  # inference: one scale and one shift per element


@dataclass(frozen=True)
class LayerNorm(Op):
    """Layer normalisation over the last `axes` axes."""

    name = "layernorm"
    channel_axis = -1
    family = "norm"

    axes: int = attr(1, kind="size", doc="how many trailing axes are normalised")
    eps: float = attr(1e-5, kind="positive")
    affine: bool = attr(True, kind="bool")
    bias: bool = attr(True, kind="bool", keyword_only=True,
                      doc="the learned shift beside the scale (torch's bias=False: T5, some ViTs)")

    def infer_shape(self, inputs):
        (x,) = inputs
        if self.axes > len(x):
            raise ShapeError(f"cannot normalise {self.axes} axes of a rank-{len(x)} tensor")
        return x

    def params(self, inputs, out):
        return (1 + self.bias) * numel(inputs[0][-self.axes:]) if self.affine else 0

    def flops(self, inputs, out):
        return 5 * numel(out)

    def receptive_field(self, inputs, out):
        return rf.Normalize(tuple(range(-self.axes, 0)))


@dataclass(frozen=True)
class LayerNorm2d(Op):
    """Layer normalisation over the channels of each position of a [C, H, W] map (ConvNeXt;
    torchvision's LayerNorm2d): layernorm on the channels-last map, in place."""

    name = "layernorm2d"
    family = "norm"

    eps: float = attr(1e-5, kind="positive")
    affine: bool = attr(True, kind="bool")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) != 3:
            raise ShapeError(f"layernorm2d needs a map [C, H, W], got rank {len(x)}")
        return x

    def params(self, inputs, out):
        return 2 * inputs[0][0] if self.affine else 0

    def flops(self, inputs, out):
        return 5 * numel(out)

    def summary(self, inputs):
        return "layernorm2d"


@dataclass(frozen=True)
class GroupNorm(Op):
    """Group normalisation."""

    name = "groupnorm"
    family = "norm"

    groups: int = attr(kind="size")
    eps: float = attr(1e-5, kind="positive")
    affine: bool = attr(True, kind="bool")

    def infer_shape(self, inputs):
        (x,) = inputs
        if x[0] % self.groups:
            raise ShapeError(f"groups={self.groups} must divide the {x[0]} channels")
        return x

    def params(self, inputs, out):
        return 2 * inputs[0][0] if self.affine else 0

    def flops(self, inputs, out):
        return 5 * numel(out)

    def receptive_field(self, inputs, out):
        return rf.Normalize(tuple(range(len(inputs[0]))))  # a group's channels, every position


@dataclass(frozen=True)
class InstanceNorm(Op):
    """Instance normalisation (no affine parameters and no running statistics by default)."""

    name = "instancenorm"
    family = "norm"

    eps: float = attr(1e-5, kind="nonnegative")
    affine: bool = attr(False, kind="bool")

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) < 2:
            raise ShapeError("instancenorm needs spatial axes")
        return x

    def params(self, inputs, out):
        return 2 * inputs[0][0] if self.affine else 0

    def flops(self, inputs, out):
        return 5 * numel(out)

    def receptive_field(self, inputs, out):
        return rf.Normalize(tuple(range(1, len(inputs[0]))))  # each channel, every position


@dataclass(frozen=True)
class LocalResponseNorm(Op):
    """Local response normalisation across `size` neighbouring channels (AlexNet)."""

    name = "lrn"
    family = "norm"

    size: int = attr(5, kind="size")
    alpha: float = attr(1e-4, kind="float")
    beta: float = attr(0.75, kind="float")
    k: float = attr(1.0, kind="float")

    def flops(self, inputs, out):
        return (self.size + 3) * numel(out)

    def workspace(self, inputs, out):
        """torch's local_response_norm squares its input, pads the squares with size - 1
        channels, averages them and raises them to beta one elementwise step at a time, then
        divides: at its busiest a padded copy beside the squares or their average, or two
        steps of the elementwise chain beside the divisor (beyond its output)."""
        n = numel(out)
        padded = n // out[0] * (out[0] + self.size - 1)
        return max(padded, 2 * n)

    def summary(self, inputs):
        return f"lrn {self.size}"


@dataclass(frozen=True)
class L2Norm(Op):
    """L2 normalisation over the channels, times a learned per-channel scale if one is given.

    The scale starts at `scale` (SSD's conv4_3: 20; ParseNet)."""

    name = "l2norm"
    family = "norm"
    known_as = ("normalize", "l2_normalize", "l2normalize", "l2_norm")

    scale: float | None = attr(None, kind="float", doc="initial learned scale; none: no scale")
    eps: float = attr(1e-12, kind="positive", doc="the norm's floor, as F.normalize")

    def params(self, inputs, out):
        return inputs[0][0] if self.scale is not None else 0

    def flops(self, inputs, out):
        # a square and an add per element for the norm, a divide, and the scale's multiply
        return (3 + (self.scale is not None)) * numel(out)

    def summary(self, inputs):
        return "l2norm" + (" + scale" if self.scale is not None else "")


@dataclass(frozen=True)
class Scale(Op):
    """Multiplication by a constant (FCN-8s at-once scales pool3 by 0.0001, pool4 by 0.01);
    with `divide=true`, division by it (`x / 3`, which `x * (1/3)` rounds differently)."""

    name = "scale"
    family = "norm"
    channel_axis = None  # elementwise: the layers after it tell an input's layout

    factor: float = attr(kind="float")
    divide: bool = attr(False, kind="bool", keyword_only=True,
                        doc="divide by the factor instead (a temperature)")

    def summary(self, inputs):
        return f"{'/' if self.divide else 'x'}{self.factor:g}"

    def saved(self, inputs, out):
        return ()  # the gradient is the output's times (or over) the constant


@dataclass(frozen=True)
class Shift(Op):
    """Addition of a constant (`x + 1`; `1 - x` is `scale(-1) -> shift(1)`)."""

    name = "shift"
    family = "norm"
    channel_axis = None
    overwritable = True
    passes_gradient = True

    value: float = attr(kind="float")

    def summary(self, inputs):
        return f"{self.value:+g}"

    def saved(self, inputs, out):
        return ()  # a sum's gradient is its output's
