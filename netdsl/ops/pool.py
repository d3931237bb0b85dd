"""Pooling: max and average (windowed or `global`), adaptive max and average, and max
unpooling with a max pooling's switches."""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import (
    Op,
    Shape,
    ShapeError,
    TensorArg,
    attr,
    kxk,
    numel,
    per_axis,
    spatial,
)
from netdsl.ops.padding import Pads, resolve, window_length


@dataclass(frozen=True)
class _Pool(Op):
    family = "pool"
    kind = ""

    kernel: int | tuple[int, ...] | str = attr(kind="any", alias="k",
                                               doc="window size, or `global`")
    stride: int | tuple[int, ...] | None = attr(None, kind="ints", alias="s",
                                                doc="defaults to the kernel")
    padding: int | tuple[int, ...] = attr(0, kind="padding", alias="p")
    ceil: bool = attr(False, kind="bool", doc="ceil_mode")

    @property
    def is_global(self) -> bool:
        return self.kernel == "global"

    def validate(self) -> None:
        if isinstance(self.kernel, str):
            if self.kernel != "global":
                raise SpecError(f"'{self.name}' kernel must be a size or `global`, got "
                                f"'{self.kernel}'", "type")
        elif not (isinstance(self.kernel, int) and not isinstance(self.kernel, bool)
                  and self.kernel > 0) and not (
                isinstance(self.kernel, tuple) and all(isinstance(k, int) and k > 0
                                                       for k in self.kernel)):
            raise SpecError(f"'{self.name}' kernel must be a positive int, a list of them, or "
                            f"`global`", "type")
        if self.padding == "same" and self.ceil:
            raise SpecError(f"'{self.name}' with padding 'same' has no ceil mode", "arg",
                            help="same padding already gives ceil(size / stride) positions")
        if self.is_global and self.padding != 0:
            raise SpecError(f"global '{self.name}' takes no padding", "arg")

    def geometry(self, x: Shape) -> tuple[tuple[int, ...], tuple[int, ...], Pads,
                                          tuple[int, ...]]:
        """Kernel, stride, pads and dilation per spatial axis on an input of shape `x`."""
        n = spatial(x, self.name)
        if self.is_global:
            return x[1:], x[1:], Pads((0,) * n, (0,) * n), (1,) * n
        k = per_axis(self.kernel, n, "kernel")
        s = per_axis(self.stride, n, "stride") if self.stride is not None else k
        d = (getattr(self, "dilation", 1),) * n
        pads = resolve(self.padding, x, k, s, d)
        if self.padding != "same":
            for ki, before, after in zip(k, pads.before, pads.after, strict=True):
                if max(before, after) > ki // 2:  # torch's rule: no window all padding
                    raise ShapeError(f"padding {max(before, after)} is more than half the "
                                     f"kernel {ki}")
        return k, s, pads, d

    def infer_shape(self, inputs):
        (x,) = inputs
        k, s, p, d = self.geometry(x)
        if self.is_global:
            return (x[0],) + (1,) * len(k)
        return (x[0],) + tuple(window_length(x[i + 1], k[i], s[i], p.before[i], p.after[i], d[i],
                                             self.ceil) for i in range(len(k)))

    def flops(self, inputs, out):
        return numel(out) * numel(self.geometry(inputs[0])[0])

    def receptive_field(self, inputs, out):
        if self.is_global:
            return rf.pooled(inputs[0], out)
        k, s, p, d = self.geometry(inputs[0])
        return rf.Window(k, s, p.before, d)

    def summary(self, inputs):
        if self.is_global:
            return f"{self.name} global"
        k, s, _, _ = self.geometry(inputs[0])
        if len(set(s)) > 1:
            stride = f"/{kxk(s)}"
        else:
            stride = f"/{s[0]}" if s[0] > 1 else ""
        return f"{self.kind}pool {kxk(k)}{stride}"


@dataclass(frozen=True)
class MaxPool(_Pool):
    """Max pooling; `indices=true` keeps the switches for a later `unpool` (SegNet)."""

    name = "maxpool"
    kind = "max"

    dilation: int = attr(1, kind="size", alias="d")
    indices: bool = attr(False, kind="bool", doc="return_indices")

    def infer_shape(self, inputs):
        if self.indices:
            pads = self.geometry(inputs[0])[2]
            if pads.dynamic or not pads.symmetric:
                raise ShapeError("indices=true needs symmetric padding: the switches of a "
                                 "padded copy would point outside the input")
        return super().infer_shape(inputs)

    def saved(self, inputs, out):
        return ("inputs", "indices")  # the input and the int64 switches


@dataclass(frozen=True)
class Unpool(Op):
    """Max unpooling with a labeled `maxpool(..., indices=true)`'s switches (SegNet, DeconvNet).

    Each value goes back where that pooling found its maximum, zeros elsewhere, at the pooling's
    input size."""

    name = "unpool"
    family = "pool"
    known_as = ("maxunpool", "max_unpool", "max_unpool2d", "unpooling")

    pool: TensorArg = attr(kind="tensor", doc="a labeled maxpool(..., indices=true)")

    def validate(self) -> None:
        source = self.pool.source
        if isinstance(source, MaxPool) and source.indices:
            return
        made = f"a {source.name}" if source is not None else "a network input"
        hint = "label a maxpool(..., indices=true) and write unpool(label)"
        if isinstance(source, MaxPool):
            made = "a maxpool without indices=true"
            hint = f"keep its switches: {self.pool.label}: maxpool(..., indices=true)"
        raise SpecError(f"'unpool' needs the switches of a max pooling, but "
                        f"'{self.pool.label}' is {made}", "arg", help=hint)

    def window(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...],
                              tuple[int, ...]]:
        """The pool's kernel, stride, padding and dilation per spatial axis."""
        assert isinstance(self.pool.source, MaxPool) and self.pool.source_input is not None
        k, s, pads, d = self.pool.source.geometry(self.pool.source_input)
        return k, s, pads.before, d

    def infer_shape(self, inputs):
        x, pooled = inputs
        if x != pooled:
            raise ShapeError(f"unpool needs a tensor shaped as the pooled map "
                             f"{shape_text(pooled, 'list')} of '{self.pool.label}', got "
                             f"{shape_text(x, 'list')}")
        return self.pool.source_input

    def flops(self, inputs, out):
        return 0  # a scatter into zeros

    def receptive_field(self, inputs, out):
        return rf.Unpool(*self.window())

    def summary(self, inputs):
        return f"unpool with {self.pool.label}"


@dataclass(frozen=True)
class AvgPool(_Pool):
    """Average pooling."""

    name = "avgpool"
    kind = "avg"

    count_include_pad: bool = attr(True, kind="bool")

    def saved(self, inputs, out):
        # `global` is an adaptive pooling to 1: a mean, whose backward needs only sizes
        return () if self.is_global else super().saved(inputs, out)


@dataclass(frozen=True)
class _Adaptive(Op):
    family = "pool"
    kind = ""

    size: int | tuple[int, ...] = attr(kind="ints", doc="output size")

    def infer_shape(self, inputs):
        (x,) = inputs
        n = spatial(x, self.name)
        return (x[0],) + per_axis(self.size, n, "size")

    def flops(self, inputs, out):
        return numel(inputs[0])  # every input element is read once

    def receptive_field(self, inputs, out):
        return rf.pooled(inputs[0], out)

    def summary(self, inputs):
        size = per_axis(self.size, len(inputs[0]) - 1, "size")
        return f"{self.name} {kxk(size)}"


@dataclass(frozen=True)
class AdaptiveAvgPool(_Adaptive):
    """Adaptive average pooling to a fixed output size."""

    name = "adaptive_avgpool"
    kind = "avg"

    def saved(self, inputs, out):
        # to 1x1 torch takes a mean, whose backward needs only sizes
        return () if all(o == 1 for o in out[1:]) else ("inputs",)


@dataclass(frozen=True)
class AdaptiveMaxPool(_Adaptive):
    """Adaptive max pooling to a fixed output size."""

    name = "adaptive_maxpool"
    kind = "max"

    def saved(self, inputs, out):
        return ("inputs", "indices")  # the input and the int64 switches
