"""Small PyTorch models for `netdsl import`'s tests: one that imports, one with a call no
operator describes, one torch.fx cannot trace, one whose auxiliary head is never called."""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, c: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c * stride, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c * stride)
        self.down = nn.Conv2d(c, c * stride, 1, stride=stride) if stride > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.down is None else self.down(x)
        return torch.relu(self.bn(self.conv(x)) + skip)


class TinyNet(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.stage1 = nn.Sequential(*[Residual(width) for _ in range(3)])
        self.stage2 = nn.Sequential(Residual(width, 2), Residual(width * 2), Residual(width * 2))
        self.head = nn.Linear(width * 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage2(self.stage1(self.stem(x)))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Unmapped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.erfinv(torch.sigmoid(self.conv(x)) * 0.5)
        return torch.special.i0(y)


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Conv2d(3, 8, 3), Gate())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class Gate(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x
        return -x


class WithAux(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.training:
            return self.aux(y.mean((2, 3)))
        return y


def tiny_net(width: int = 8) -> TinyNet:
    return TinyNet(width)
