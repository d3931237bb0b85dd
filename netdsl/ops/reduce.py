"""Reductions over one axis: the mean of a sequence's tokens (a ViT's or an MLP-Mixer's
average pooling, `x.mean(dim=1)`), or of any other axis counted as laid out."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, attr, axis_index, numel


@dataclass(frozen=True)
class Mean(Op):
    """The mean over one axis, which is removed (kept as size 1 with `keep=true`, torch's
    keepdim): mean(0) of [tokens, dim] is `x.mean(dim=1)`."""

    name = "mean"
    family = "pool"
    channel_axis = 0  # along an axis counted as laid out

    axis: int = attr(0, kind="int", alias="dim")
    keep: bool = attr(False, kind="bool", alias="keepdim", keyword_only=True)

    def infer_shape(self, inputs):
        (x,) = inputs
        axis = axis_index(self, "axis", len(x))
        return x[:axis] + ((1,) if self.keep else ()) + x[axis + 1:]

    def flops(self, inputs, out):
        return numel(inputs[0])  # every input element is added once

    def receptive_field(self, inputs, out):
        x = inputs[0]
        axis = axis_index(self, "axis", len(x))
        return rf.Reduce(rf.mix((axis,), x), axis, x[axis], self.keep)

    def saved(self, inputs, out):
        return ()  # a mean's backward needs only sizes

    def summary(self, inputs):
        return f"mean of axis {self.axis}" + (" (kept)" if self.keep else "")
