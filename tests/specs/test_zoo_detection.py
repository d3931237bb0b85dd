"""Detection-side networks of the zoo against torch and the papers: SPP-net's pyramid gives one
length at any input size (He et al. 2014); YOLO's figures against Darknet's own."""

from __future__ import annotations

import pytest
import torch

import netdsl
from tests.conftest import SPECS


@pytest.mark.parametrize("side", [224, 180])  # the paper's two training sizes
def test_sppnet_pyramid_has_one_length_at_any_size(side: int) -> None:
    """The analysis at each size, and torch running the module built at 224 on that size."""
    network = netdsl.load(SPECS / "sppnet.net", inputs={"x": (3, side, side)})
    stats = network.stats()
    assert stats.row("spp").output == (12_800,)
    assert stats.row("conv5").output == ((256, 13, 13) if side == 224 else (256, 10, 10))
    model = netdsl.build(SPECS / "sppnet.net").eval()
    seen = []
    model.spp.register_forward_hook(lambda module, inputs, out: seen.append(out.shape))
    with torch.no_grad():
        out = model(torch.randn(2, 3, side, side))
    assert seen == [torch.Size([2, 12_800])] and out.shape == (2, 1000)
    assert stats.params == sum(p.numel() for p in model.parameters())


@pytest.mark.slow  # 33 G multiply-accumulates at 416x416
def test_yolov3_module_counts_what_torch_counts() -> None:
    """The built YOLOv3: three raw output maps of 255 channels at strides 32, 16 and 8, the
    parameters Ultralytics reports, and netdsl's MACs equal to FlopCounterMode's (the spec checks
    Darknet's 65.879 BFLOPS from them, adding the shortcuts' elementwise adds)."""
    from torch.utils.flop_counter import FlopCounterMode
    network = netdsl.load(SPECS / "yolov3.net")
    model = netdsl.build(network).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        outs = model(torch.randn(1, 3, 416, 416))
    assert [tuple(o.shape[1:]) for o in outs] == [(255, 13, 13), (255, 26, 26), (255, 52, 52)]
    assert sum(p.numel() for p in model.parameters()) == 61_949_149
    assert network.stats().macs == counter.get_total_flops() // 2
    assert network.check() == []


class YOLOv1(torch.nn.Module):
    """Fig. 3 of Redmon et al. 2016 by hand: (kernel, channels, stride) per convolution."""

    LAYERS = ([(7, 64, 2), "M", (3, 192, 1), "M", (1, 128, 1), (3, 256, 1), (1, 256, 1),
               (3, 512, 1), "M"] + [(1, 256, 1), (3, 512, 1)] * 4 +
              [(1, 512, 1), (3, 1024, 1), "M"] + [(1, 512, 1), (3, 1024, 1)] * 2 +
              [(3, 1024, 1), (3, 1024, 2), (3, 1024, 1), (3, 1024, 1)])

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        layers, channels = [], 3
        for layer in self.LAYERS:
            if layer == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            k, c, s = layer
            layers += [nn.Conv2d(channels, c, k, s, k // 2), nn.LeakyReLU(0.1)]
            channels = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(1024 * 7 * 7, 4096), nn.LeakyReLU(0.1),
                                  nn.Dropout(0.5), nn.Linear(4096, 7 * 7 * 30))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).view(-1, 7, 7, 30)


@pytest.mark.slow  # 200 M parameters at 448x448
def test_yolov1_counts_equal_the_torch_rebuild() -> None:
    from torch.utils.flop_counter import FlopCounterMode
    reference = YOLOv1().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = reference(torch.zeros(1, 3, 448, 448))
    stats = netdsl.load(SPECS / "yolov1.net").stats()
    assert stats.params == sum(p.numel() for p in reference.parameters())
    assert list(stats.outputs.values()) == [tuple(out.shape[1:])]
    assert stats.macs == counter.get_total_flops() // 2
