"""Pooling of regions of interest: a fixed-size map per box (Fast/Faster R-CNN's RoI pooling, Mask
R-CNN's RoI align).

The boxes are a tensor of the network, `[N, 4]` per image (x1, y1, x2, y2 in input pixels,
torchvision's list-of-boxes form), usually a network input: `input boxes: [N, 4]`. The result is
`[N, C, h, w]` per image, N boxes at a time, so per-box layers after it (flatten(1) -> linear)
count their work for all N boxes. Which pixels a bin reads depends on its box, so every output
is said to see the whole map.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.notation import shape_text
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, ShapeError, TensorArg, attr, numel, per_axis


@dataclass(frozen=True)
class _RoI(Op):
    family = "pool"

    boxes: TensorArg = attr(kind="tensor", doc="the boxes, [N, 4] per image")
    size: int | tuple[int, ...] = attr(kind="ints", doc="output size per box")
    scale: float = attr(1.0, kind="float", doc="spatial_scale: the map's size / the image's")

    def infer_shape(self, inputs):
        x, boxes = inputs
        if len(x) != 3:
            raise ShapeError(f"{self.name} pools a [C, H, W] map, got {shape_text(x, 'list')}")
        if len(boxes) != 2 or boxes[1] != 4:
            raise ShapeError(f"{self.name} needs boxes shaped [N, 4] (x1, y1, x2, y2), got "
                             f"{shape_text(boxes, 'list')}")
        return (boxes[0], x[0]) + per_axis(self.size, 2, "size")

    def receptive_field(self, inputs, out):
        return rf.GLOBAL  # a bin's pixels depend on where its box is

    def summary(self, inputs):
        size = self.size if isinstance(self.size, tuple) else (self.size, self.size)
        return f"{self.name} {size[0]}x{size[1]} of {self.boxes.label}"


@dataclass(frozen=True)
class RoIAlign(_RoI):
    """RoI align (He et al. 2017): each bin averages bilinear samples of the map."""

    name = "roi_align"
    known_as = ("roialign", "roi_align_rotated")

    sampling: int = attr(-1, kind="int", doc="sampling_ratio: points per bin axis; -1 adaptive")
    aligned: bool = attr(False, kind="bool", doc="half-pixel offset (Detectron2's ROIAlignV2)")

    def flops(self, inputs, out):
        # 4 per bilinear sample and 1 to average it, at sampling^2 points per bin; an adaptive
        # count depends on each box's size, so it is counted as the paper's 4 points
        points = self.sampling ** 2 if self.sampling > 0 else 4
        return 5 * points * numel(out)


@dataclass(frozen=True)
class RoIPool(_RoI):
    """RoI max pooling (Girshick 2015): each bin is the maximum of the map's pixels under it."""

    name = "roi_pool"
    known_as = ("roipool", "roi_pooling")

    def flops(self, inputs, out):
        return numel(out)  # the comparisons depend on each bin's size: one per output counted
