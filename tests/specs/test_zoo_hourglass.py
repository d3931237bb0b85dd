"""The stacked hourglass (Newell et al. 2016) against a plain torch.nn rebuild of the authors'
Torch code (pose-hg-train's hg.lua and Residual.lua), written here by hand with the spec's
module names: the rebuild's weights load strictly into the netdsl-built module and the
generated file, every stack's heatmaps are equal, and the parameters and FlopCounterMode's
MACs are netdsl's, at 2 and 8 stacks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS

SIZE = (3, 64, 64)  # the smallest the four poolings of each hourglass allow after the stem's 4x


class Residual(nn.Module):
    """Fig. 4 (left): pre-activation bottleneck, a 1x1 conv on the skip if the width changes."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = cout // 2
        self.conv_block = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(), nn.Conv2d(mid, cout, 1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x) + (self.skip(x) if self.skip is not None else x)


class Hourglass(nn.Module):
    def __init__(self, n: int, f: int):
        super().__init__()
        self.up1, self.low1, self.low3 = Residual(f, f), Residual(f, f), Residual(f, f)
        self.low2 = Hourglass(n - 1, f) if n > 1 else Residual(f, f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low3(self.low2(self.low1(F.max_pool2d(x, 2, 2))))
        return self.up1(x) + F.interpolate(low, scale_factor=2, mode="nearest")


class Stack(nn.Module):
    def __init__(self, f: int, joints: int, last: bool):
        super().__init__()
        self.hg, self.res = Hourglass(4, f), Residual(f, f)
        self.lin = nn.Sequential(nn.Conv2d(f, f, 1), nn.BatchNorm2d(f), nn.ReLU())
        self.out = nn.Conv2d(f, joints, 1)
        if not last:
            self.merge_features, self.merge_preds = nn.Conv2d(f, f, 1), nn.Conv2d(joints, f, 1)
        self.last = last

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.lin(self.res(self.hg(x)))
        heatmaps = self.out(features)
        if self.last:
            return heatmaps, None
        return heatmaps, x + self.merge_features(features) + self.merge_preds(heatmaps)


class StackedHourglass(nn.Module):
    def __init__(self, stacks: int, joints: int = 16, f: int = 256):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 64, 7, 2, 3), nn.BatchNorm2d(64)
        self.r1, self.r4, self.r5 = Residual(64, 128), Residual(128, 128), Residual(128, f)
        self.stacks = stacks
        for i in range(stacks):
            setattr(self, f"stack{i + 1}", Stack(f, joints, i == stacks - 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.r1(F.relu(self.bn1(self.conv1(x))))
        x = self.r5(self.r4(F.max_pool2d(x, 2, 2)))
        outs = []
        for i in range(self.stacks):
            heatmaps, x = getattr(self, f"stack{i + 1}")(x)
            outs.append(heatmaps)
        return outs


def _randomise_norms(model: nn.Module) -> None:
    """Batch norms whose statistics are not the identity, so the comparison sees them."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)


@pytest.mark.parametrize("stacks", [2, pytest.param(8, marks=pytest.mark.slow)])
def test_hourglass_equals_the_torch_rebuild(stacks: int, tmp_path) -> None:
    torch.manual_seed(0)
    reference = StackedHourglass(stacks).eval()
    _randomise_norms(reference)
    net = netdsl.load(SPECS / "hourglass.net", inputs={"image": SIZE}, stacks=stacks)
    stats = net.stats()
    x = torch.randn(2, *SIZE)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        expected = reference(x)
    assert stats.params == sum(p.numel() for p in reference.parameters())
    assert stats.buffers == sum(b.numel() for b in reference.buffers())
    assert stats.macs == counter.get_total_flops() // 2 // 2  # batch of 2
    assert list(stats.outputs.values()) == [(16, 16, 16)] * stacks
    for ours in (netdsl.build(net).eval(), generated_model(net, tmp_path, "hourglass").eval()):
        ours.load_state_dict(reference.state_dict(), strict=True)
        with torch.no_grad():
            got = ours(x)
        assert len(got) == stacks
        for mine, theirs in zip(got, expected, strict=True):
            torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)
