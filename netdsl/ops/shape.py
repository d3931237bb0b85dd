"""Operators that move elements without arithmetic: flatten, reshape, upsample, crop,
channel shuffle."""

from __future__ import annotations

import math
from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import (
    Op,
    ShapeError,
    TensorArg,
    attr,
    axis_index,
    merged_stride,
    numel,
    per_axis,
    spatial,
)


@dataclass(frozen=True)
class Flatten(Op):
    """Flattens the axes from `start` to `end` (by default: every axis but the batch) into
    one."""

    name = "flatten"
    family = "shape"
    is_view = True

    start: int = attr(0, kind="count")
    end: int = attr(-1, kind="int", doc="the last axis flattened; negative counts from the end")

    def infer_shape(self, inputs):
        (x,) = inputs
        axis_index(self, "start", len(x))
        end = axis_index(self, "end", len(x))
        if self.start > end:
            raise ShapeError(f"cannot flatten axes {self.start} to {self.end} of shape "
                             f"{shape_text(x, 'list')}: the start is after the end")
        return x[:self.start] + (numel(x[self.start:end + 1]),) + x[end + 1:]

    def view_strides(self, inputs, strides, out):
        (x,) = inputs
        end = self.end + len(x) if self.end < 0 else self.end
        merged = merged_stride(x[self.start:end + 1], strides[self.start:end + 1])
        if merged is None:
            return None  # torch.flatten copies a cropped or permuted map
        return strides[:self.start] + (merged,) + strides[end + 1:]

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.regroup(inputs[0], out)


@dataclass(frozen=True)
class Reshape(Op):
    """Reshapes to `shape` (batch excluded); one entry may be -1."""

    name = "reshape"
    family = "shape"
    is_view = True

    shape: tuple[int, ...] = attr(kind="shape")

    def infer_shape(self, inputs):
        (x,) = inputs
        total = numel(x)
        unknown = [i for i, d in enumerate(self.shape) if d == -1]
        if len(unknown) > 1 or any(d == 0 or d < -1 for d in self.shape):
            raise ShapeError(f"reshape target {shape_text(self.shape, 'list')} is not valid: its "
                             f"sizes are positive, one may be -1", "shape")
        known = numel(d for d in self.shape if d != -1)
        if unknown:
            if total % known:
                raise ShapeError(f"cannot reshape {shape_text(x, 'list')} ({total} elements) to "
                                 f"{shape_text(self.shape, 'list')}")
            return tuple(total // known if d == -1 else d for d in self.shape)
        if known != total:
            raise ShapeError(f"cannot reshape {shape_text(x, 'list')} ({total} elements) to "
                             f"{shape_text(self.shape, 'list')} ({known} elements)")
        return self.shape

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.regroup(inputs[0], out)


@dataclass(frozen=True)
class Upsample(Op):
    """Upsampling by a `scale` factor, to a `size` or to the tensor `to`'s size; nearest or linear.

    `to` is how torchvision's segmentation heads return to the input's size."""

    name = "upsample"
    family = "shape"

    scale: float | tuple[float, ...] | None = attr(None, kind="any")
    size: int | tuple[int, ...] | None = attr(None, kind="ints", keyword_only=True)
    mode: str = attr("nearest", kind="choice", choices=("nearest", "bilinear", "linear",
                                                         "trilinear", "bicubic"))
    align_corners: bool | None = attr(None, kind="any", keyword_only=True)
    to: TensorArg | None = attr(None, kind="tensor", keyword_only=True, size_only=True,
                                doc="upsample to this tensor's spatial size")

    def validate(self) -> None:
        if (self.scale is not None) + (self.size is not None) + (self.to is not None) != 1:
            raise SpecError("'upsample' needs exactly one of scale, size and to", "arg",
                            help="upsample(2) doubles the size; upsample(size=[28, 28]) sets "
                                 "it; upsample(to=image) takes image's")
        values = self.scale if isinstance(self.scale, tuple) else (self.scale,)
        if self.scale is not None and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
            raise SpecError("'upsample' scale must be a positive number or a list of them",
                            "type")
        if self.align_corners is not None and not isinstance(self.align_corners, bool):
            raise SpecError("'upsample' align_corners must be true or false", "type")

    def infer_shape(self, inputs):
        x = inputs[0]
        n = spatial(x, "upsample")
        if self.to is not None:
            ref = inputs[1]
            if len(ref) != len(x):
                raise ShapeError(f"cannot upsample {shape_text(x, 'list')} to the size of "
                                 f"{shape_text(ref, 'list')}")
            return (x[0],) + ref[1:]
        if self.size is not None:
            return (x[0],) + per_axis(self.size, n, "size")
        scale = per_axis(self.scale, n, "scale")
        return (x[0],) + tuple(int(math.floor(d * s)) for d, s in zip(x[1:], scale, strict=True))

    def flops(self, inputs, out):
        return 0 if self.mode == "nearest" else 4 * numel(out)

    def receptive_field(self, inputs, out):
        scale = tuple(o / i for o, i in zip(out[1:], inputs[0][1:], strict=True))
        if self.mode == "nearest":
            return rf.Resample(scale)
        sizes = list(zip(inputs[0][1:], out[1:], strict=True))
        if self.align_corners and all(length > 1 and o > 1 for length, o in sizes):
            return rf.cornered(sizes)
        return rf.Resample(scale, 1, 0 if self.align_corners else 1)

    def summary(self, inputs):
        if self.to is not None:
            return f"upsample to {self.to.label}"
        if self.size is not None:
            return f"upsample to {self.size}"
        return f"upsample x{self.scale:g}" if not isinstance(self.scale, tuple) else \
            f"upsample x{self.scale}"

    def saved(self, inputs, out):
        return ()  # the backward needs only sizes


@dataclass(frozen=True)
class Crop(Op):
    """Crop of the spatial axes to `size` or to the tensor `to`'s size, centred or from `offset`.

    Offsets are Caffe's crop layer's (FCN-8s crops at 5, 9 and 31)."""

    name = "crop"
    family = "shape"
    is_view = True  # torch narrows the tensor: the crop shares its storage

    to: TensorArg | None = attr(None, kind="tensor", size_only=True)
    size: int | tuple[int, ...] | None = attr(None, kind="ints", keyword_only=True)
    offset: int | tuple[int, ...] | None = attr(None, kind="counts", keyword_only=True,
                                               doc="first kept pixel per axis; none: centred")

    def validate(self) -> None:
        if (self.to is None) == (self.size is None):
            raise SpecError("'crop' needs exactly one of a tensor and size", "arg",
                            help="crop(enc4) crops to enc4's size; crop(size=[56, 56]) to 56x56")

    def target(self, inputs) -> tuple[int, ...]:
        x = inputs[0]
        n = spatial(x, "crop")
        if self.to is not None:
            ref = inputs[1]
            if len(ref) != len(x):
                raise ShapeError(f"cannot crop {shape_text(x, 'list')} to the size of "
                                 f"{shape_text(ref, 'list')}")
            return ref[1:]
        return per_axis(self.size, n, "size")

    def offsets(self, inputs, out) -> tuple[int, ...]:
        """The first kept pixel per spatial axis."""
        if self.offset is None:
            return tuple((d - t) // 2 for d, t in zip(inputs[0][1:], out[1:], strict=True))
        return per_axis(self.offset, len(out) - 1, "offset")

    def infer_shape(self, inputs):
        x = inputs[0]
        target = self.target(inputs)
        if any(t > d for t, d in zip(target, x[1:], strict=True)):
            raise ShapeError(f"cannot crop {shape_text(x, 'list')} to the larger size "
                             f"{shape_text(target, 'list')}")
        out = (x[0],) + tuple(target)
        for o, t, d in zip(self.offsets(inputs, out), target, x[1:], strict=True):
            if o + t > d:
                raise ShapeError(f"a crop of {t} from offset {o} passes the end of an axis of "
                                 f"{d}")
        return out

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.Shift(self.offsets(inputs, out))

    def view_strides(self, inputs, strides, out):
        return strides  # a narrowed view: the same steps over fewer elements

    def summary(self, inputs):
        at = f" at {self.offset}" if self.offset is not None else ""
        return (f"crop to {self.to.label}" if self.to else f"crop {self.size}") + at

    def saved(self, inputs, out):
        return ()  # a slice's backward needs only sizes


@dataclass(frozen=True)
class ChannelShuffle(Op):
    """Interleaves the channels of `groups` groups (ShuffleNet)."""

    name = "channel_shuffle"
    family = "shape"

    groups: int = attr(kind="size")

    def infer_shape(self, inputs):
        (x,) = inputs
        if x[0] % self.groups:
            raise ShapeError(f"groups={self.groups} must divide the {x[0]} channels")
        return x

    def flops(self, inputs, out):
        return 0

    def summary(self, inputs):
        return f"{self.name} g={self.groups}"

    def saved(self, inputs, out):
        return ()  # a permutation of the gradient
