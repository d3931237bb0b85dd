"""Run-time pieces that torch.nn lacks: LeNet-5's connection-table convolution and trainable
subsampling, TensorFlow's SAME padding, cropping, L2 normalisation with a learned scale,
channel shuffle and stochastic depth.

Each definition here uses only `torch`, `nn` and `F`, because codegen copies the source of the
ones a network uses into the standalone model file (so the file imports only torch).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class TableConv(nn.Module):
    """A convolution in which output map i sees only the input maps in table[i].

    Output maps are grouped by fan-in; each group gathers its input channels and runs
    one grouped convolution, so the module holds exactly the table's weights (no masked
    dense kernel).
    """

    def __init__(self, table: list[list[int]], kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, bias: bool = True) -> None:
        super().__init__()
        fan_ins = sorted({len(row) for row in table})
        self.gathers: list[list[int]] = []
        maps: list[int] = []
        convs = []
        for fan_in in fan_ins:
            rows = [i for i, row in enumerate(table) if len(row) == fan_in]
            self.gathers.append([c for i in rows for c in table[i]])
            maps += rows
            convs.append(nn.Conv2d(fan_in * len(rows), len(rows), kernel_size,
                                   stride=stride, padding=padding, dilation=dilation,
                                   groups=len(rows), bias=bias))
        self.convs = nn.ModuleList(convs)
        self.order = [maps.index(i) for i in range(len(table))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [conv(x[:, self.gathers[i]]) for i, conv in enumerate(self.convs)]
        return torch.cat(parts, dim=1)[:, self.order]


class Subsample(nn.Module):
    """LeNet-5's trainable subsampling: the sum of each window times one weight, plus
    one bias, per map."""

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        bound = 1 / math.sqrt(kernel_size * kernel_size)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window = self.kernel_size * self.kernel_size
        total = F.avg_pool2d(x, self.kernel_size) * window
        return total * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def center_crop(x: torch.Tensor, size: list[int]) -> torch.Tensor:
    """Crop the spatial axes of x to `size`, keeping the centre (U-Net's skips)."""
    for axis, length in enumerate(size):
        dim = axis + 2
        x = x.narrow(dim, (x.shape[dim] - length) // 2, length)
    return x


def pad_same(x: torch.Tensor, kernel_size: int | list[int], stride: int | list[int],
             dilation: int | list[int] = 1, value: float = 0.0) -> torch.Tensor:
    """Pad the spatial axes of x as TensorFlow's SAME does, from x's own size (timm's
    Conv2dSame): a window of stride s then gives ceil(size / s) outputs, and an odd total
    puts its extra pixel after (bottom, right)."""
    sizes = x.shape[2:]
    n = len(sizes)
    kernel_size = [kernel_size] * n if isinstance(kernel_size, int) else kernel_size
    stride = [stride] * n if isinstance(stride, int) else stride
    dilation = [dilation] * n if isinstance(dilation, int) else dilation
    pads: list[int] = []
    for size, k, s, d in zip(reversed(sizes), reversed(kernel_size), reversed(stride),
                             reversed(dilation), strict=True):
        total = max((-(size // -s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


def avg_pool_valid(x: torch.Tensor, kernel_size: int | list[int], stride: int | list[int],
                   pads: list[int] | None, ceil_mode: bool = False) -> torch.Tensor:
    """Average pooling over padding that torch's own layer cannot add (`pads` in F.pad's order,
    or None for TensorFlow's SAME), dividing each window by its pixels inside the input
    (count_include_pad=False, as TensorFlow's average pooling does)."""
    n = x.dim() - 2
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    if pads is None:
        x, ones = pad_same(x, kernel_size, stride), pad_same(ones, kernel_size, stride)
    else:
        x, ones = F.pad(x, pads), F.pad(ones, pads)
    return pool(x, kernel_size, stride, ceil_mode=ceil_mode) / pool(
        ones, kernel_size, stride, ceil_mode=ceil_mode)


def crop_at(x: torch.Tensor, size: list[int], offset: list[int]) -> torch.Tensor:
    """Crop the spatial axes of x to `size` from `offset` (Caffe's crop layer)."""
    for axis, (length, start) in enumerate(zip(size, offset, strict=True)):
        x = x.narrow(axis + 2, start, length)
    return x


class L2Norm(nn.Module):
    """L2 normalisation over the channels at each position, times a learned per-channel
    weight that starts at `scale` (ParseNet; SSD's conv4_3 starts it at 20)."""

    def __init__(self, channels: int, scale: float = 1.0, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [1, -1] + [1] * (x.dim() - 2)
        return F.normalize(x, dim=1, eps=self.eps) * self.weight.view(shape)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of `groups` groups (ShuffleNet)."""
    batch, channels = x.shape[0], x.shape[1]
    grouped = x.reshape(batch, groups, channels // groups, *x.shape[2:])
    return grouped.transpose(1, 2).reshape(x.shape)


def stochastic_depth(x: torch.Tensor, p: float, mode: str,
                     training: bool) -> torch.Tensor:
    """Drop x per sample ("row") or as a whole ("batch") with probability p, in
    training."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.dim() - 1) if mode == "row" else [1] * x.dim()
    noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * noise / keep if keep > 0.0 else x * noise
