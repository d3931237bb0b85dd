"""Fully connected layers."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, attr, numel


@dataclass(frozen=True)
class Linear(Op):
    """A fully connected layer on the last axis."""

    name = "linear"
    family = "linear"
    known_as = ("dense", "fc")

    out: int = attr(kind="size", doc="output features")
    bias: bool = attr(True, kind="bool")

    def infer_shape(self, inputs):
        (x,) = inputs
        if not x:
            raise ShapeError("linear needs at least one axis")
        return x[:-1] + (self.out,)

    def params(self, inputs, out):
        return inputs[0][-1] * self.out + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        return numel(inputs[0]) * self.out

    def flops(self, inputs, out):
        return numel(out) if self.bias else 0

    def connections(self, inputs, out):
        return self.params(inputs, out) * numel(out[:-1])

    def receptive_field(self, inputs, out):
        return rf.mix((-1,), inputs[0])

    def summary(self, inputs):
        return f"linear {self.out}"
