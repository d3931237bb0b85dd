"""Run-time pieces that torch.nn lacks: LeNet-5's connection-table convolution and trainable
subsampling, center cropping, channel shuffle and stochastic depth.

Each definition here uses only `torch`, `nn` and `F`, because codegen copies the source of the
ones a network uses into the standalone model file (so the file imports only torch).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
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

    def forward(self, x: Tensor) -> Tensor:
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

    def forward(self, x: Tensor) -> Tensor:
        window = self.kernel_size * self.kernel_size
        total = F.avg_pool2d(x, self.kernel_size) * window
        return total * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def center_crop(x: Tensor, size: list[int]) -> Tensor:
    """Crop the spatial axes of x to `size`, keeping the centre (U-Net's skips)."""
    for axis, length in enumerate(size):
        dim = axis + 2
        x = x.narrow(dim, (x.shape[dim] - length) // 2, length)
    return x


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of `groups` groups (ShuffleNet)."""
    batch, channels = x.shape[0], x.shape[1]
    grouped = x.reshape(batch, groups, channels // groups, *x.shape[2:])
    return grouped.transpose(1, 2).reshape(x.shape)


def stochastic_depth(x: Tensor, p: float, mode: str = "row",
                     training: bool = False) -> Tensor:
    """Drop x per sample ("row") or as a whole ("batch") with probability p, in
    training."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.dim() - 1) if mode == "row" else [1] * x.dim()
    noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * noise / keep if keep > 0.0 else x * noise


class StochasticDepth(nn.Module):
    """Drops its input per sample ("row") or as a whole ("batch") with probability p
    while training (Huang et al. 2016), as torchvision.ops.StochasticDepth."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        return stochastic_depth(x, self.p, self.mode, training=self.training)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round `value` to the nearest multiple of `divisor`, not below 90% of it (the rule
    of the MobileNet and EfficientNet reference code)."""
    new = max(divisor if min_value is None else min_value,
              int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new
