"""`maxpool(..., indices=true)` and `unpool(label)` lower to torch's max pooling with
return_indices=True and max unpooling to the pooled input's size: the built module and the
generated file equal a hand-written encoder-decoder, at odd sizes where the pooling floors."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

import netdsl
from tests.backends.pytorch.conftest import generated_model

SPEC = """
network switches {
    input x: [3, 21, 23]
    enc1: conv(4, 3, p=1)
    p1: maxpool(2, s=2, indices=true)
    enc2: conv(8, 3, p=1)
    p2: maxpool(3, s=2, p=1, indices=true)
    dec: { unpool(p2) -> conv(4, 3, p=1) }
    unpool(p1)
    out: conv(2, 1)
}
"""


class Switches(nn.Module):
    """The same network by hand: the sizes before each pooling are kept for the unpooling."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Conv2d(3, 4, 3, padding=1)
        self.enc2 = nn.Conv2d(4, 8, 3, padding=1)
        self.dec = nn.Sequential()
        self.dec.add_module("1", nn.Conv2d(8, 4, 3, padding=1))
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.enc1(x)
        size1 = x.shape
        x, indices1 = F.max_pool2d(x, 2, 2, return_indices=True)
        x = self.enc2(x)
        size2 = x.shape
        x, indices2 = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        x = self.dec(F.max_unpool2d(x, indices2, 3, 2, 1, output_size=size2))
        x = F.max_unpool2d(x, indices1, 2, 2, output_size=size1)
        return self.out(x)


def test_unpool_lowering_equals_hand_written(tmp_path) -> None:
    torch.manual_seed(0)
    reference = Switches().eval()
    network = netdsl.load(SPEC)
    built = netdsl.build(network).eval()
    generated = generated_model(network, tmp_path, "switches").eval()
    for model in (built, generated):
        model.load_state_dict(reference.state_dict(), strict=True)
    for side in ((21, 23), (32, 17)):
        x = torch.randn(2, 3, *side)
        with torch.no_grad():
            expected = reference(x)
            assert torch.equal(built(x), expected)
            assert torch.equal(generated(x), expected)
    assert network.stats().outputs == {"out": (2, 21, 23)}

