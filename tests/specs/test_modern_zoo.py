"""The transformer-era specs against torchvision: ViT, ConvNeXt, Swin, EfficientNetV2.

Each spec is checked twice. At a small size (its parameters set from the test, the torchvision
class built with the same configuration) quickly: parameters, buffers, output shape and MACs
equal torch's; torchvision's weights load strictly into the module netdsl builds and into the
class of the generated file, and both compute torchvision's outputs. At full size (marked slow):
the same on the real model at 224 x 224, and the figures the spec states with `expect` hold.

MACs are FlopCounterMode's FLOPs / 2 with torch's math attention kernel and autograd on: the
fused kernels (nn.MultiheadAttention's inference path, CPU scaled_dot_product_attention) are
invisible to FlopCounterMode, which would leave ViT's attention uncounted (11.27 G instead of
torchvision's published 17.56 G).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS


@dataclass(frozen=True)
class Case:
    """A spec, the torchvision model it reproduces, and a small configuration of both."""

    spec: str
    full: Callable[[], nn.Module]
    small: Callable[[], nn.Module]
    small_params: dict = field(default_factory=dict)  # the spec's parameters for `small`
    small_side: int = 32


def _vit_small() -> nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                             hidden_dim=16, mlp_dim=24, num_classes=10)


def _convnext_small() -> nn.Module:
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 2)],
                    stochastic_depth_prob=0.1, num_classes=10)


def _swin_small() -> nn.Module:
    """At 40 x 40: a 10 x 10 map padded to whole 4 x 4 windows, shifted; merged to 5 x 5."""
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer([4, 4], 8, [2, 2], [2, 4], [4, 4], stochastic_depth_prob=0.2,
                           num_classes=10)


CASES = [
    Case("vit_b_16", torchvision.models.vit_b_16, _vit_small,
         dict(image=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=24,
              classes=10)),
    Case("convnext_tiny", torchvision.models.convnext_tiny, _convnext_small,
         dict(image=32, depths=(1, 2), dims=(8, 16), classes=10)),  # lists are tuples
    Case("swin_t", torchvision.models.swin_t, _swin_small,
         dict(image=40, embed_dim=8, depths=(2, 2), num_heads=(2, 4), window=4, classes=10),
         small_side=40),
    Case("efficientnet_v2_s", torchvision.models.efficientnet_v2_s,
         torchvision.models.efficientnet_v2_s, dict(image=64), small_side=64),
]


def counted(model: nn.Module, x: torch.Tensor) -> tuple[int, torch.Size]:
    """MACs (FlopCounterMode / 2, attention products included) and the output shape."""
    model.eval()
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        y = model(x)
    return counter.get_total_flops() // 2, y.shape[1:]


def agree(case: Case, reference: nn.Module, network: netdsl.network.Network, side: int,
          folder) -> None:
    """Counts, strict weights and equal outputs of netdsl's build and generated file."""
    stats = network.stats()
    x = torch.randn(2, 3, side, side)
    macs, shape = counted(reference, x[:1])
    assert stats.params == sum(p.numel() for p in reference.parameters())
    assert stats.buffers == sum(b.numel() for b in reference.buffers())
    assert (stats.macs, tuple(stats.outputs.values())[0]) == (macs, tuple(shape))
    weights = reference.state_dict()
    built = netdsl.build(network).eval()
    generated = generated_model(network, folder, case.spec).eval()
    built.load_state_dict(weights, strict=True)
    generated.load_state_dict(weights, strict=True)
    with torch.no_grad():
        expected = reference.eval()(x)
        torch.testing.assert_close(built(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(generated(x), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.spec)
def test_small_configuration_matches_torchvision(case: Case, tmp_path) -> None:
    torch.manual_seed(0)
    network = netdsl.load(SPECS / f"{case.spec}.net", **case.small_params)
    agree(case, case.small(), network, case.small_side, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.spec)
def test_full_model_matches_torchvision(case: Case, tmp_path) -> None:
    torch.manual_seed(0)
    network = netdsl.load(SPECS / f"{case.spec}.net")
    assert network.check() == []
    agree(case, case.full(), network, 224, tmp_path)


@pytest.mark.slow  # torch.compile; test_runtime.py compiles LeNet-5 and a small network fast
@pytest.mark.parametrize("case", [c for c in CASES if c.small is not c.full],
                         ids=lambda c: c.spec)
def test_small_configuration_compiles_fullgraph(case: Case) -> None:
    """Attention, window attention, parameters and layout operators trace without graph
    breaks (torch.compile(fullgraph=True)) and compute what the module computes. Static
    shapes: after another case's input size, dynamo would otherwise retrace this model with
    symbolic sizes (swin_t: 11 s becomes two minutes)."""
    model = netdsl.build(SPECS / f"{case.spec}.net", **case.small_params).eval()
    x = torch.randn(2, 3, case.small_side, case.small_side)
    with torch.no_grad():
        compiled = torch.compile(model, fullgraph=True, backend="aot_eager", dynamic=False)
        torch.testing.assert_close(compiled(x), model(x))
