"""Asymmetric and TensorFlow-SAME padding lower to modules whose state dict is torch's own layer's
and whose outputs equal hand-written torch modules, at the spec's input size and at another one
(SAME at a stride > 1 depends on the size, so the lowering computes the pads in forward)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import netdsl
from tests.backends.pytorch.conftest import generated_model


def _same(x: torch.Tensor, k: int, s: int, value: float = 0.0) -> torch.Tensor:
    """TensorFlow's SAME on both spatial axes, from tf.nn.convolution's documented formula."""
    pads = []
    for size in reversed(x.shape[2:]):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


class TFStem(nn.Module):
    """A TensorFlow-style stem written by hand: conv 3x3/2 SAME, max pool 3x3/2 SAME, a
    Keras ZeroPadding2D(((0, 1), (0, 1))) before a valid conv 3x3/2, avg pool 3x3/2 SAME
    that ignores the padding (TF's average pooling)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, bias=False)
        self.conv2 = nn.Conv2d(8, 8, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(_same(x, 3, 2))
        x = F.max_pool2d(_same(x, 3, 2, float("-inf")), 3, 2)
        x = self.conv2(F.pad(x, [0, 1, 0, 1]))
        ones = torch.ones_like(x[:, :1])
        return F.avg_pool2d(_same(x, 3, 2), 3, 2) / F.avg_pool2d(_same(ones, 3, 2), 3, 2)


SPEC = """
network tf_stem {
    input x: [3, 64, 64]
    conv1: conv(8, 3, s=2, p=same, bias=false)
    maxpool(3, s=2, p=same)
    conv2: conv(8, 3, s=2, p=[[0, 1], [0, 1]])
    avgpool(3, s=2, p=same, count_include_pad=false)
}
"""


@pytest.mark.parametrize("side", [64, 45])
def test_padding_lowers_to_tensorflow_semantics(side: int, tmp_path) -> None:
    torch.manual_seed(0)
    reference = TFStem().eval()
    network = netdsl.load(SPEC)
    built = netdsl.build(network).eval()
    generated = generated_model(network, tmp_path, "tf_stem").eval()
    for model in (built, generated):
        model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, side, side)
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(built(x), expected)
        torch.testing.assert_close(generated(x), expected)
    if side == 64:
        (shape,) = network.stats().outputs.values()
        assert tuple(expected.shape[1:]) == shape
