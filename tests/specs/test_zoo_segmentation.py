"""The segmentation and detection zoo against torchvision: specs whose models torchvision has
load torchvision's weights with strict=True into the built module and into the generated file,
and compute torchvision's outputs; parameter and buffer counts, the modules holding them, and
MACs as torch.utils.flop_counter.FlopCounterMode counts them (FLOPs / 2) are equal too.

Torchvision's segmentation models return {"out": ...}; the auxiliary heads are off
(aux_loss=False), as the specs have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS
from tests.specs.reference import holders

SEGMENTATION = torchvision.models.segmentation
SIZE = (3, 96, 128)  # any size works: every spec here upsamples to its input's size


@dataclass(frozen=True)
class Case:
    spec: str
    make: object  # () -> the torchvision model, untrained

    def reference(self) -> nn.Module:
        torch.manual_seed(0)
        return self.make().eval()


CASES = [
    Case("fcn_resnet50", lambda: SEGMENTATION.fcn_resnet50(
        weights=None, weights_backbone=None, aux_loss=False)),
    Case("deeplabv3_resnet50", lambda: SEGMENTATION.deeplabv3_resnet50(
        weights=None, weights_backbone=None, aux_loss=False)),
    Case("lraspp_mobilenet_v3_large", lambda: SEGMENTATION.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None)),
]


def _out(y):
    return y["out"] if isinstance(y, dict) else y


@pytest.fixture(scope="module", ids=lambda c: c.spec, params=[  # full-size torchvision models
    pytest.param(c, marks=() if c.spec == "lraspp_mobilenet_v3_large" else pytest.mark.slow)
    for c in CASES])
def case(request):
    """The torchvision model and the spec loaded at the test's input size, once per module."""
    c: Case = request.param
    return c, c.reference(), netdsl.load(SPECS / f"{c.spec}.net", inputs={"image": SIZE})


def test_counts_and_weight_holders_equal_torchvision(case):
    _, model, net = case
    stats = net.stats()
    assert stats.params == sum(p.numel() for p in model.parameters())
    assert stats.buffers == sum(b.numel() for b in model.buffers())
    ours = {r.name: (r.params, r.buffers) for r in stats.layers
            if not r.is_block and (r.params or r.buffers)}
    assert ours == holders(model)


def test_macs_equal_flop_counter(case):
    _, model, net = case
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = _out(model(torch.zeros(1, *SIZE)))
    assert net.stats().macs == counter.get_total_flops() // 2
    assert list(net.stats().outputs.values()) == [tuple(out.shape[1:])]


@pytest.mark.slow
def test_torchvision_weights_load_strictly_and_outputs_are_equal(case, tmp_path):
    c, model, net = case
    built = netdsl.build(net).eval()
    generated = generated_model(net, tmp_path, c.spec).eval()
    x = torch.randn(2, *SIZE)
    with torch.no_grad():
        expected = _out(model(x))
        for ours in (built, generated):
            ours.load_state_dict(model.state_dict(), strict=True)
            torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=0)
