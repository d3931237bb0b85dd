"""Regularisers: no-ops at inference, kept so training code and state dicts match."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops.base import Op, ShapeError, attr


@dataclass(frozen=True)
class Dropout(Op):
    """Zeroes elements with probability p while training."""

    name = "dropout"
    family = "regularize"
    channel_axis = None
    inference_identity = True  # torch's dropout returns its input in eval mode

    p: float = attr(0.5, kind="prob")

    def flops(self, inputs, out):
        return 0

    def summary(self, inputs):
        return f"{self.name} {self.p:g}"

    def saved(self, inputs, out):
        # the CPU's dropout: input x noise / (1 - p); at p = 0 torch returns the input
        return ("noise",) if self.p else ()


@dataclass(frozen=True)
class Dropout2d(Dropout):
    """Zeroes whole channels with probability p while training."""

    name = "dropout2d"
    channel_axis = 0  # drops whole channels of the first axis

    def infer_shape(self, inputs):
        (x,) = inputs
        if len(x) < 2:
            raise ShapeError("dropout2d needs channels and spatial axes")
        return x

    def saved(self, inputs, out):
        return ()  # input x noise keeps only the noise, one value per channel

    def saved_inside(self, inputs, out):
        return inputs[0][0] if self.p else 0


@dataclass(frozen=True)
class StochasticDepth(Dropout):
    """Drops a residual branch per sample with probability p while training (an identity at
    inference); the rate is recorded."""

    name = "stochastic_depth"

    p: float = attr(kind="prob")
    mode: str = attr("row", kind="choice", choices=("row", "batch"))

    def summary(self, inputs):
        return f"{self.name} {self.p:.3g}"

    def saved(self, inputs, out):
        return ()  # input x noise keeps only the noise, one value per sample ("row")

    def saved_inside(self, inputs, out):
        return 1 if self.p and self.mode == "row" else 0
