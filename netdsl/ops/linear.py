"""Fully connected layers."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, TiedWeight, attr, numel


@dataclass(frozen=True)
class Linear(Op):
    """A fully connected layer on the last axis."""

    name = "linear"
    channel_axis = -1
    overwritable = True
    family = "linear"
    known_as = ("dense", "fc")

    out: int = attr(kind="size", doc="output features")
    bias: bool = attr(True, kind="bool")
    weight: TiedWeight | None = attr(None, kind="weight", keyword_only=True,
                                     doc="share an earlier layer's weight (GPT-2's lm_head "
                                         "uses the token embedding's: weight=wte)")

    def infer_shape(self, inputs):
        (x,) = inputs
        if not x:
            raise ShapeError("linear needs at least one axis")
        own = self.weight_shape(inputs)
        if self.weight is not None and self.weight.shape != own:
            raise ShapeError(f"cannot share the weight of '{self.weight.label}': it has shape "
                             f"{shape_text(self.weight.shape, 'list')}, this layer's is "
                             f"{shape_text(own, 'list')} [out, in]")
        return x[:-1] + (self.out,)

    def weight_shape(self, inputs):
        return (self.out, inputs[0][-1])

    def params(self, inputs, out):
        own = 0 if self.weight is not None else inputs[0][-1] * self.out
        return own + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        return numel(inputs[0]) * self.out

    def flops(self, inputs, out):
        return numel(out) if self.bias else 0

    def connections(self, inputs, out):
        return (inputs[0][-1] + self.bias) * numel(out)

    def receptive_field(self, inputs, out):
        return rf.mix((-1,), inputs[0])

    def summary(self, inputs):
        shared = f" (weight of {self.weight.label})" if self.weight is not None else ""
        return f"linear {self.out}{shared}"
