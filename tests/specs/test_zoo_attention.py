"""The non-local block (Wang et al. 2018) and the double attention block (Chen et al. 2018)
against plain torch.nn rebuilds of the papers' blocks written here with bmm, softmax and
permute: the rebuild's weights load strictly into the spec's module and into the generated file,
the outputs are equal, and so are the parameter counts and FlopCounterMode's MACs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS


class NonLocal(nn.Module):
    """Fig. 2, embedded Gaussian: z = W(softmax(theta^T phi) g) + x, W a 1x1 conv and bn."""

    def __init__(self, c: int, inter: int) -> None:
        super().__init__()
        self.theta, self.phi, self.g = (nn.Conv2d(c, inter, 1) for _ in range(3))
        self.W = nn.Sequential(nn.Conv2d(inter, c, 1), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2).permute(0, 2, 1)           # [b, hw, inter]
        phi = self.phi(x).flatten(2)                                 # [b, inter, hw]
        g = self.g(x).flatten(2).permute(0, 2, 1)                   # [b, hw, inter]
        f = F.softmax(torch.bmm(theta, phi), dim=-1)
        y = torch.bmm(f, g).permute(0, 2, 1).reshape(b, -1, h, w)
        return self.W(y) + x


class DoubleAttention(nn.Module):
    """Fig. 2: G = A softmax_hw(B)^T, Z = G softmax_n(V), a 1x1 conv back, plus the input."""

    def __init__(self, c: int, m: int, n: int) -> None:
        super().__init__()
        self.convA, self.convB, self.convV = nn.Conv2d(c, m, 1), nn.Conv2d(c, n, 1), \
            nn.Conv2d(c, n, 1)
        self.conv_reconstruct = nn.Conv2d(m, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        a = self.convA(x).flatten(2)
        maps = F.softmax(self.convB(x).flatten(2), dim=-1)
        vectors = F.softmax(self.convV(x).flatten(2), dim=1)
        z = torch.bmm(torch.bmm(a, maps.permute(0, 2, 1)), vectors)
        return self.conv_reconstruct(z.view(b, -1, h, w)) + x


def _randomised(model: nn.Module) -> nn.Module:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):  # the paper starts it at zero: not here
                module.weight.uniform_(0.5, 1.5)
                module.running_mean.uniform_(-0.1, 0.1)
    return model.eval()


CASES = [("nonlocal_block", "nl", lambda: NonLocal(1024, 512)),
         ("a2_block", "a2", lambda: DoubleAttention(1024, 256, 256))]


@pytest.mark.parametrize("spec, label, make", CASES, ids=[c[0] for c in CASES])
def test_attention_block_equals_the_torch_rebuild(spec, label, make, tmp_path) -> None:
    torch.manual_seed(0)
    block = _randomised(make())
    network = netdsl.load(SPECS / f"{spec}.net")
    stats = network.stats()
    x = torch.randn(2, 1024, 14, 14)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        expected = block(x[:1])
    assert stats.params == sum(p.numel() for p in block.parameters())
    assert stats.macs == counter.get_total_flops() // 2
    weights = {f"{label}.{k}": v for k, v in block.state_dict().items()}
    with torch.no_grad():
        expected = block(x)
        for model in (netdsl.build(network), generated_model(network, tmp_path, spec)):
            model.eval().load_state_dict(weights, strict=True)
            torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
