"""U-Net (Ronneberger 2015) and NiN (Lin 2013, as d2l.ai teaches it) have no torchvision model,
so the reference is the same network written in plain torch.nn here, checked by torch: parameter
count, output shape, and MACs from FlopCounterMode (FLOPs / 2, conv and conv_transpose only).
U-Net runs on the meta device: shapes and FLOPs without computing 150 G multiply-adds."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.conftest import SPECS


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())


def _center_crop(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    top = (t.shape[-2] - size[0]) // 2
    left = (t.shape[-1] - size[1]) // 2
    return t[..., top:top + size[0], left:left + size[1]]


class ReferenceUNet(nn.Module):
    """Fig. 1 of the paper: valid 3x3 convs, 2x2 max pooling, 2x2 up-convolutions, cropped
    copies of the contracting path concatenated before the upsampled maps."""

    def __init__(self, classes: int = 2, base: int = 64):
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8]
        self.down = nn.ModuleList()
        cin = 1
        for w in widths:
            self.down.append(_double_conv(cin, w))
            cin = w
        self.center = _double_conv(cin, base * 16)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        cin = base * 16
        for w in reversed(widths):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.decoders.append(_double_conv(2 * w, w))
            cin = w
        self.out = nn.Conv2d(base, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = self.center(nn.functional.max_pool2d(x, 2))
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = up(x)
            x = decoder(torch.cat([_center_crop(skip, x.shape[-2:]), x], dim=1))
        return self.out(x)


def _nin_block(cin: int, cout: int, k: int, s: int, p: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p), nn.ReLU(),
                         nn.Conv2d(cout, cout, 1), nn.ReLU(), nn.Conv2d(cout, cout, 1), nn.ReLU())


def reference_nin(classes: int = 10) -> nn.Sequential:
    """d2l.ai's NiN, with explicit input channels (one, Fashion-MNIST) instead of lazy layers."""
    return nn.Sequential(
        _nin_block(1, 96, 11, 4, 0), nn.MaxPool2d(3, 2),
        _nin_block(96, 256, 5, 1, 2), nn.MaxPool2d(3, 2),
        _nin_block(256, 384, 3, 1, 1), nn.MaxPool2d(3, 2),
        nn.Dropout(0.5),
        _nin_block(384, classes, 3, 1, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _measure(model: nn.Module, shape: tuple[int, ...], device: str) -> tuple[int, tuple, int]:
    model = model.to(device).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros((1, *shape), device=device))
    return (sum(p.numel() for p in model.parameters()), tuple(out.shape[1:]),
            counter.get_total_flops() // 2)


@pytest.mark.parametrize(("spec", "build", "shape", "device"), [
    ("unet", ReferenceUNet, (1, 572, 572), "meta"),
    ("nin", reference_nin, (1, 224, 224), "cpu"),
], ids=["unet", "nin"])
def test_spec_equals_plain_torch(spec, build, shape, device):
    params, output, macs = _measure(build(), shape, device)
    stats = netdsl.load(SPECS / f"{spec}.net").stats()
    (spec_output,) = stats.outputs.values()
    assert (stats.params, tuple(spec_output), stats.macs) == (params, output, macs)


def test_unet_is_the_original():
    """The commonly cited figures of the 2-class original: 31,030,658 params, 388x388x2."""
    with torch.device("meta"):
        model = ReferenceUNet()
    assert sum(p.numel() for p in model.parameters()) == 31_030_658
    stats = netdsl.load(SPECS / "unet.net").stats()
    assert stats.params == 31_030_658
    assert [tuple(v) for v in stats.outputs.values()] == [(2, 388, 388)]
