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
