"""Activations. Each costs one FLOP per element (softmax: three), no parameters but PReLU's."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, attr, axis_index, numel


@dataclass(frozen=True)
class _Activation(Op):
    family = "activation"
    channel_axis = None


@dataclass(frozen=True)
class ReLU(_Activation):
    """max(x, 0)."""

    name = "relu"
    in_place = True

    def saved(self, inputs, out):
        return ("output",)  # torch's relu backward reads its result


@dataclass(frozen=True)
class ReLU6(_Activation):
    """min(max(x, 0), 6) (MobileNet)."""

    name = "relu6"
    in_place = True


@dataclass(frozen=True)
class LeakyReLU(_Activation):
    """x if x > 0 else slope * x."""

    name = "leaky_relu"
    in_place = True

    slope: float = attr(0.01, kind="float")


@dataclass(frozen=True)
class PReLU(_Activation):
    """Leaky ReLU with a learned slope: one shared, or one per channel with `channels=true`."""

    name = "prelu"
    channel_axis = 0  # one slope per channel on the first axis

    channels: bool = attr(False, kind="bool", doc="one slope per channel")
    init: float = attr(0.25, kind="float")

    def params(self, inputs, out):
        return inputs[0][0] if self.channels else 1


@dataclass(frozen=True)
class ELU(_Activation):
    """Exponential linear unit."""

    name = "elu"
    in_place = True

    alpha: float = attr(1.0, kind="float")


@dataclass(frozen=True)
class GELU(_Activation):
    """Gaussian error linear unit."""

    name = "gelu"

    approximate: str = attr("none", kind="choice", choices=("none", "tanh"))


@dataclass(frozen=True)
class SiLU(_Activation):
    """x * sigmoid(x) (Swish)."""

    name = "silu"
    in_place = True


@dataclass(frozen=True)
class Hardswish(_Activation):
    """x * relu6(x + 3) / 6 (MobileNetV3)."""

    name = "hardswish"
    in_place = True


@dataclass(frozen=True)
class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6 (MobileNetV3)."""

    name = "hardsigmoid"
    in_place = True


@dataclass(frozen=True)
class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""

    name = "sigmoid"

    def saved(self, inputs, out):
        return ("output",)  # the derivative is computed from the result


@dataclass(frozen=True)
class Tanh(_Activation):
    """Hyperbolic tangent."""

    name = "tanh"

    def saved(self, inputs, out):
        return ("output",)  # the derivative is computed from the result


@dataclass(frozen=True)
class Softmax(_Activation):
    """Softmax along an axis (0, the channels, by default; the batch is not counted)."""

    name = "softmax"
    channel_axis = 0  # along an axis counted as laid out

    axis: int = attr(0, kind="int", alias="dim")

    def infer_shape(self, inputs):
        axis_index(self, "axis", len(inputs[0]))
        return inputs[0]

    def flops(self, inputs, out):
        return 3 * numel(out)

    def receptive_field(self, inputs, out):
        return rf.mix((self.axis,), inputs[0])

    def saved(self, inputs, out):
        return ("output",)  # the derivative is computed from the result
