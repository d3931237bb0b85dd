"""SegNet (Badrinarayanan et al. 2017) and DeconvNet (Noh et al. 2015) against plain torch.nn
rebuilds written here with nn.MaxUnpool2d: every stage's pooling keeps its switches and its
input's size, and the decoder unpools with them. The rebuild's weights (batch-norm statistics
randomised) load strictly into the spec's module and into the generated file, and the outputs
are equal; so are the parameter and buffer counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS

ENCODER = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
DECODER = [[512, 512, 512], [512, 512, 256], [256, 256, 128], [128, 64], [64]]


def stage(channels: int, widths: list[int], layer=nn.Conv2d) -> nn.Sequential:
    """Convolutions (or stride-1 deconvolutions) 3x3, padding 1, each with batch norm, relu."""
    modules: list[nn.Module] = []
    for width in widths:
        modules += [layer(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        channels = width
    return nn.Sequential(*modules)


class EncoderDecoder(nn.Module):
    """The five pooled encoder stages and the five unpooling decoder stages of both papers."""

    def __init__(self, decoder: list[list[int]], ceil: bool, deconv: bool) -> None:
        super().__init__()
        self.ceil = ceil
        channels = 3
        for i, widths in enumerate(ENCODER, 1):
            setattr(self, f"enc{i}", stage(channels, widths))
            channels = widths[-1]
        for i, widths in zip(range(5, 0, -1), decoder, strict=True):
            setattr(self, f"dec{i}", stage(channels, widths,
                                           nn.ConvTranspose2d if deconv else nn.Conv2d))
            channels = widths[-1]
        self.unpool = nn.MaxUnpool2d(2, 2)

    def middle(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        switches = []
        for i in range(1, 6):
            x = getattr(self, f"enc{i}")(x)
            size = x.shape
            x, indices = nn.functional.max_pool2d(x, 2, 2, ceil_mode=self.ceil,
                                                  return_indices=True)
            switches.append((indices, size))
        x = self.middle(x)
        for i in range(5, 0, -1):
            indices, size = switches[i - 1]
            x = getattr(self, f"dec{i}")(self.unpool(x, indices, output_size=size))
        return self.head(x)


class SegNet(EncoderDecoder):
    def __init__(self, classes: int = 11) -> None:
        super().__init__(DECODER, ceil=True, deconv=False)
        self.classifier = nn.Conv2d(64, classes, 3, padding=1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)


class DeconvNet(EncoderDecoder):
    def __init__(self, classes: int = 21) -> None:
        super().__init__(DECODER[:-1] + [[64, 64]], ceil=False, deconv=True)
        self.fc6 = nn.Sequential(nn.Conv2d(512, 4096, 7), nn.BatchNorm2d(4096), nn.ReLU())
        self.fc7 = nn.Sequential(nn.Conv2d(4096, 4096, 1), nn.BatchNorm2d(4096), nn.ReLU())
        self.deconv_fc6 = nn.Sequential(nn.ConvTranspose2d(4096, 512, 7), nn.BatchNorm2d(512),
                                        nn.ReLU())
        self.score = nn.Conv2d(64, classes, 1)

    def middle(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv_fc6(self.fc7(self.fc6(x)))

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(x)


def randomised(model: nn.Module) -> nn.Module:
    """Batch norms with statistics and affine weights away from the identity."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return model.eval()


CASES = [("segnet", SegNet, (3, 45, 61)), ("deconvnet", DeconvNet, (3, 224, 224))]


@pytest.mark.slow  # DeconvNet holds 252 M parameters
@pytest.mark.parametrize("spec, make, shape", CASES, ids=[c[0] for c in CASES])
def test_unpooling_network_equals_the_torch_rebuild(spec, make, shape, tmp_path) -> None:
    torch.manual_seed(0)
    reference = randomised(make())
    network = netdsl.load(SPECS / f"{spec}.net", inputs={"image": shape})
    stats = network.stats()
    assert stats.params == sum(p.numel() for p in reference.parameters())
    assert stats.buffers == sum(b.numel() for b in reference.buffers())
    x = torch.randn(1, *shape)
    with torch.no_grad():
        expected = reference(x)
    assert (tuple(expected.shape[1:]),) == tuple(stats.outputs.values())
    for build in (netdsl.build, lambda net: generated_model(net, tmp_path, spec)):
        model = build(network).eval()  # one at a time: DeconvNet's is a gigabyte
        model.load_state_dict(reference.state_dict(), strict=True)
        with torch.no_grad():
            torch.testing.assert_close(model(x), expected)
        del model
