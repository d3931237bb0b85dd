"""Convolutions: conv (with groups, dilation, 'same' padding, LeNet connection tables),
conv_transpose, and LeNet-5's trainable subsampling."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.ops import receptive as rf
from netdsl.ops.base import (
    Op,
    Shape,
    ShapeError,
    Symbol,
    attr,
    kxk,
    numel,
    per_axis,
    spatial,
    window_out,
)
from netdsl.ops.padding import Pads, is_pair, resolve, window_length


def _stride(s: tuple[int, ...]) -> str:
    """'/2' for stride 2 on every axis, '/1x2' for uneven strides, '' for stride 1."""
    if len(set(s)) > 1:
        return f"/{kxk(s)}"
    return f"/{s[0]}" if s[0] > 1 else ""


@dataclass(frozen=True)
class Conv(Op):
    """Convolution over 1, 2 or 3 spatial axes; `table` lists, per output map, the input maps
    it sees (LeNet-5's C3)."""

    name = "conv"
    overwritable = True
    family = "conv"

    out: int = attr(kind="size", doc="output channels")
    kernel: int | tuple[int, ...] = attr(kind="ints", alias="k", doc="kernel size")
    stride: int | tuple[int, ...] = attr(1, kind="ints", alias="s")
    padding: int | tuple[int, ...] | str = attr(0, kind="padding", alias="p")
    dilation: int | tuple[int, ...] = attr(1, kind="ints", alias="d")
    groups: int = attr(1, kind="size", alias="g")
    bias: bool = attr(True, kind="bool")
    table: tuple[tuple[int, ...], ...] | None = attr(None, kind="table", keyword_only=True,
                                                     doc="connection table")

    def validate(self) -> None:
        if self.table is not None:
            if self.groups != 1:
                raise SpecError("'conv' with a connection table cannot also have groups", "arg")
            if len(self.table) != self.out:
                raise SpecError(f"the connection table has {len(self.table)} rows for "
                                f"{self.out} output maps", "arg",
                                help="give one list of input maps per output map")

    def geometry(self, shape: Shape) -> tuple[tuple[int, ...], tuple[int, ...], Pads,
                                              tuple[int, ...]]:
        """Kernel, stride, pads and dilation per spatial axis on an input of `shape`."""
        n = spatial(shape, "conv")
        k = per_axis(self.kernel, n, "kernel")
        s = per_axis(self.stride, n, "stride")
        d = per_axis(self.dilation, n, "dilation")
        return k, s, resolve(self.padding, shape, k, s, d), d

    def infer_shape(self, inputs: list[Shape]) -> Shape:
        (x,) = inputs
        k, s, p, d = self.geometry(x)
        cin = x[0]
        if cin % self.groups or self.out % self.groups:
            raise ShapeError(f"groups={self.groups} must divide both the input channels ({cin}) "
                             f"and the output channels ({self.out})")
        if self.table is not None:
            bad = [i for row in self.table for i in row if i >= cin]
            if bad:
                raise ShapeError(f"the connection table names input map {max(bad)} but the "
                                 f"input has {cin} channels")
        return (self.out,) + tuple(window_length(x[i + 1], k[i], s[i], p.before[i], p.after[i],
                                                 d[i]) for i in range(len(k)))

    def fan_in(self, x: Shape) -> list[int]:
        """Weights per output map."""
        kernel = numel(self.geometry(x)[0])
        if self.table is not None:
            return [len(row) * kernel for row in self.table]
        return [x[0] // self.groups * kernel] * self.out

    def weights(self, x: Shape) -> int:
        """All weights, the sum of `fan_in` without listing one entry per output map."""
        if self.table is not None:
            return sum(self.fan_in(x))
        return x[0] // self.groups * numel(self.geometry(x)[0]) * self.out

    def params(self, inputs, out):
        return self.weights(inputs[0]) + (self.out if self.bias else 0)

    def macs(self, inputs, out):
        return self.weights(inputs[0]) * numel(out[1:])

    def flops(self, inputs, out):
        return numel(out) if self.bias else 0

    def connections(self, inputs, out):
        return (self.weights(inputs[0]) + (self.out if self.bias else 0)) * numel(out[1:])

    def receptive_field(self, inputs, out):
        k, s, p, d = self.geometry(inputs[0])
        return rf.Window(k, s, p.before, d)

    def summary(self, inputs):
        k, s, _, d = self.geometry(inputs[0])
        text = f"conv {kxk(k)}{_stride(s)}, {self.out}"
        if self.groups > 1:
            text += f", g={self.groups}"
        if max(d) > 1:
            text += f", dil {d[0] if len(set(d)) == 1 else kxk(d)}"
        if self.table is not None:
            text += ", table"
        return text


@dataclass(frozen=True)
class ConvTranspose(Op):
    """Transposed convolution ("up-convolution", "deconvolution")."""

    name = "conv_transpose"
    overwritable = True
    family = "conv"
    known_as = ("deconv", "deconvolution", "upconv", "convtranspose", "conv_transpose2d")

    out: int = attr(kind="size", doc="output channels")
    kernel: int | tuple[int, ...] = attr(kind="ints", alias="k")
    stride: int | tuple[int, ...] = attr(1, kind="ints", alias="s")
    padding: int | tuple[int, ...] = attr(0, kind="padding", alias="p")
    output_padding: int | tuple[int, ...] = attr(0, kind="padding", alias="op")
    groups: int = attr(1, kind="size", alias="g")
    bias: bool = attr(True, kind="bool")
    dilation: int | tuple[int, ...] = attr(1, kind="ints", alias="d")

    def validate(self) -> None:
        for value in (self.padding, self.output_padding):
            if isinstance(value, Symbol) or (isinstance(value, tuple)
                                             and any(is_pair(v) for v in value)):
                raise SpecError("'conv_transpose' takes symmetric numeric padding only", "arg",
                                help="an int, or one int per spatial axis")

    def geometry(self, shape: Shape):
        n = spatial(shape, "conv_transpose")
        return (per_axis(self.kernel, n, "kernel"), per_axis(self.stride, n, "stride"),
                per_axis(self.padding, n, "padding"), per_axis(self.dilation, n, "dilation"),
                per_axis(self.output_padding, n, "output_padding"))

    def infer_shape(self, inputs):
        (x,) = inputs
        k, s, p, d, op = self.geometry(x)
        if x[0] % self.groups or self.out % self.groups:
            raise ShapeError(f"groups={self.groups} must divide both the input channels "
                             f"({x[0]}) and the output channels ({self.out})")
        dims = []
        for i in range(len(k)):
            if op[i] >= max(s[i], d[i]):
                raise ShapeError("output_padding must be smaller than the stride or the dilation")
            length = (x[i + 1] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1
            if length < 1:
                raise ShapeError(f"padding {p[i]} leaves no output on axis {i + 1}")
            dims.append(length)
        return (self.out,) + tuple(dims)

    def params(self, inputs, out):
        x = inputs[0]
        return x[0] * (self.out // self.groups) * numel(self.geometry(x)[0]) + \
            (self.out if self.bias else 0)

    def macs(self, inputs, out):
        x = inputs[0]
        return numel(x) * (self.out // self.groups) * numel(self.geometry(x)[0])

    def flops(self, inputs, out):
        return numel(out) if self.bias else 0

    def connections(self, inputs, out):
        return self.macs(inputs, out) + (numel(out) if self.bias else 0)

    def receptive_field(self, inputs, out):
        k, s, p, d, _ = self.geometry(inputs[0])
        return rf.Transposed(k, s, p, d)

    def summary(self, inputs):
        k, s, *_ = self.geometry(inputs[0])
        return f"{self.name} {kxk(k)}{_stride(s)}, {self.out}"


@dataclass(frozen=True)
class Subsample(Op):
    """LeNet-5's trainable subsampling: each window's sum times one weight plus one bias per map."""

    name = "subsample"
    family = "pool"

    kernel: int = attr(2, kind="size", alias="k", doc="window and stride")

    def infer_shape(self, inputs):
        (x,) = inputs
        n = spatial(x, "subsample")
        return (x[0],) + tuple(window_out(x[i + 1], self.kernel, self.kernel, 0)
                               for i in range(n))

    def params(self, inputs, out):
        return 2 * inputs[0][0]

    def macs(self, inputs, out):
        return numel(out)  # one multiply by the map's coefficient per output

    def flops(self, inputs, out):
        window = self.kernel ** (len(out) - 1)
        return numel(out) * window  # window - 1 additions, plus the bias

    def connections(self, inputs, out):
        return numel(out) * (self.kernel ** (len(out) - 1) + 1)

    def receptive_field(self, inputs, out):
        n = len(out) - 1
        return rf.Window((self.kernel,) * n, (self.kernel,) * n, (0,) * n, (1,) * n)

    def summary(self, inputs):
        return f"subsample {kxk((self.kernel,) * (len(inputs[0]) - 1))}"

    def saved(self, inputs, out):
        return ()  # a strided slice: the backward needs only sizes
