"""FCN-32s, FCN-16s and FCN-8s (Long, Shelhamer & Darrell 2015) against a plain torch.nn rebuild
of the authors' Caffe nets written here: VGG-16 with conv1_1 padded by 100, Caffe's ceil-mode
pooling, fc6/fc7 as convolutions, bias-free deconvolutions, and the crops at Caffe's offsets
(19; 5 and 27; 5, 9 and 31). The rebuild's weights load strictly into the spec's module and the
generated file, and the outputs are equal; so are the parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS

STAGES = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def crop(x: torch.Tensor, offset: int, like: torch.Tensor) -> torch.Tensor:
    h, w = like.shape[2:]
    return x[:, :, offset:offset + h, offset:offset + w]


class FCN(nn.Module):
    """voc-fcn32s, -16s and -8s (and -8s-atonce) in torch.nn, one module per Caffe layer."""

    def __init__(self, stride: int, classes: int = 21, at_once: bool = False) -> None:
        super().__init__()
        self.stride, self.at_once = stride, at_once
        channels = 3
        for s, widths in enumerate(STAGES, 1):
            for i, width in enumerate(widths, 1):
                pad = 100 if (s, i) == (1, 1) else 1
                setattr(self, f"conv{s}_{i}", nn.Conv2d(channels, width, 3, padding=pad))
                channels = width
        self.fc6 = nn.Conv2d(512, 4096, 7)
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.score_fr = nn.Conv2d(4096, classes, 1)
        up = {32: [("upscore", 64, 32)], 16: [("upscore2", 4, 2), ("upscore16", 32, 16)],
              8: [("upscore2", 4, 2), ("upscore_pool4", 4, 2), ("upscore8", 16, 8)]}[stride]
        for name, k, s in up:
            setattr(self, name, nn.ConvTranspose2d(classes, classes, k, s, bias=False))
        if stride <= 16:
            self.score_pool4 = nn.Conv2d(512, classes, 1)
        if stride == 8:
            self.score_pool3 = nn.Conv2d(256, classes, 1)

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        x, pools = data, []
        for s, widths in enumerate(STAGES, 1):
            for i in range(1, len(widths) + 1):
                x = torch.relu(getattr(self, f"conv{s}_{i}")(x))
            x = nn.functional.max_pool2d(x, 2, 2, ceil_mode=True)
            pools.append(x)
        x = torch.relu(self.fc7(torch.relu(self.fc6(x))))  # dropout: identity in eval
        x = self.score_fr(x)
        if self.stride == 32:
            return crop(self.upscore(x), 19, data)
        x = self.upscore2(x)
        pool4 = pools[3] * 0.01 if self.at_once else pools[3]
        x = x + crop(self.score_pool4(pool4), 5, x)
        if self.stride == 16:
            return crop(self.upscore16(x), 27, data)
        x = self.upscore_pool4(x)
        pool3 = pools[2] * 0.0001 if self.at_once else pools[2]
        x = x + crop(self.score_pool3(pool3), 9, x)
        return crop(self.upscore8(x), 31, data)


CASES = [("fcn32s", 32, {}), ("fcn16s", 16, {}), ("fcn8s", 8, {}),
         ("fcn8s", 8, {"at_once": True})]


@pytest.mark.slow  # three 135 M-parameter models per case
@pytest.mark.parametrize("spec, stride, params", CASES,
                         ids=["fcn32s", "fcn16s", "fcn8s", "fcn8s-atonce"])
def test_fcn_equals_the_caffe_rebuild(spec: str, stride: int, params: dict, tmp_path) -> None:
    torch.manual_seed(0)
    reference = FCN(stride, **params).eval()
    network = netdsl.load(SPECS / f"{spec}.net", inputs={"data": (3, 64, 80)}, **params)
    assert network.stats().params == sum(p.numel() for p in reference.parameters())
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        expected = reference(x)
    assert tuple(expected.shape[1:]) == (21, 64, 80)
    for make in (netdsl.build, lambda net: generated_model(net, tmp_path, spec)):
        model = make(network).eval()  # one at a time: each holds half a gigabyte
        model.load_state_dict(reference.state_dict(), strict=True)
        with torch.no_grad():
            torch.testing.assert_close(model(x), expected)
        del model
