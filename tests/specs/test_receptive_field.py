"""Receptive fields reported by netdsl equal the input region that autograd says one output
unit depends on, in models we did not write (torchvision) or wrote in plain torch.nn.

To make "depends on" visible as a non-zero gradient everywhere the geometry allows: max pooling
becomes average pooling of the same geometry (max routes gradient to one input), ReLU becomes
the identity, every weight is a positive constant scaled by 1 / fan-in (so activations stay near
1 and no product of weights underflows), batch norm is the identity plus a small positive bias,
and the computation is float64 in eval mode. The gradient is taken of one spatial position's
values summed over channels: channels of a concatenation come from different paths (GoogLeNet's
channel 0 is a 1x1 branch), and netdsl's size is the union over paths. Then unit i of a layer
must see exactly input pixels [i*stride - padding, i*stride - padding + size - 1], clipped to
the image.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
import torchvision
from torch import nn

import netdsl
from tests.conftest import SPECS


class _Reached(Exception):
    """Stops the forward pass once the layer under test has produced its output."""


def _positive_geometry_model(model: nn.Module) -> nn.Module:
    """Swap gradient-gating modules for geometric equivalents and make every weight positive."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.MaxPool2d):
            setattr(model, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                              ceil_mode=child.ceil_mode))
        elif isinstance(child, (nn.ReLU, nn.ReLU6, nn.Tanh)):
            setattr(model, name, nn.Identity())
        else:
            _positive_geometry_model(child)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.fill_(1.0 / fan_in)
                if module.bias is not None:
                    module.bias.fill_(0.01)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.fill_(0.01)
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
    return model.double().eval()


def _layer_output(model: nn.Module, layer: str, image: torch.Tensor) -> torch.Tensor:
    """The output of the named submodule, computing no further than it."""
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        captured.append(output)
        raise _Reached

    handle = model.get_submodule(layer).register_forward_hook(hook)
    try:
        model(image)
    except _Reached:
        pass
    finally:
        handle.remove()
    return captured[0]


def _gradient_extent(grad: torch.Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    """First and last row, first and last column where the input gradient is non-zero."""
    support = grad[0].abs().sum(0) > 0
    rows = support.any(1).nonzero().flatten()
    cols = support.any(0).nonzero().flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def _expected_extent(rf: dict, unit: tuple[int, int], image: tuple[int, int]):
    """Unit i spans [i*stride - padding, i*stride - padding + size - 1] per axis, clipped."""
    spans = []
    for axis in range(2):
        first = unit[axis] * rf["stride"][axis] - rf["padding"][axis]
        last = first + rf["size"][axis] - 1
        spans.append((max(first, 0), min(last, image[axis] - 1)))
    return tuple(spans)


def _lenet5_geometry() -> nn.Module:
    """LeNet-5's spatial structure in torch.nn, names as the spec's labels. S2/S4 (sum of a
    2x2 window times one weight per map) are an average pool followed by a per-map 1x1 scale;
    C3's connection table only removes channel links, so a full 5x5 conv has C3's geometry."""
    return nn.Sequential(OrderedDict(
        c1=nn.Conv2d(1, 6, 5), a1=nn.Tanh(),
        s2=nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(6, 6, 1, groups=6)), a2=nn.Tanh(),
        c3=nn.Conv2d(6, 16, 5), a3=nn.Tanh(),
        s4=nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(16, 16, 1, groups=16)), a4=nn.Tanh(),
        c5=nn.Conv2d(16, 120, 5),
    ))


MODELS = {
    "lenet5": (_lenet5_geometry, (1, 32, 32)),
    "alexnet": (torchvision.models.alexnet, (3, 224, 224)),
    "vgg16": (torchvision.models.vgg16, (3, 112, 112)),
    "resnet50": (torchvision.models.resnet50, (3, 160, 160)),
    "googlenet": (lambda: torchvision.models.googlenet(
        aux_logits=False, transform_input=False, init_weights=False), (3, 160, 160)),
    "deeplabv3_resnet50": (lambda: torchvision.models.segmentation.deeplabv3_resnet50(
        weights=None, weights_backbone=None, aux_loss=False), (3, 160, 160)),
}

# (spec, layer): layers of several depths, down to the last spatial one. Images are as small as
# keeps these layers several units wide (the fields do not depend on the image size; the
# torchvision models are fully convolutional up to their adaptive pooling), to keep float64 fast.
CASES = [
    ("lenet5", "c1"), ("lenet5", "s2"), ("lenet5", "c3"), ("lenet5", "s4"),
    ("alexnet", "features.5"), ("alexnet", "features.10"),
    ("vgg16", "features.16"), ("vgg16", "features.28"),
    ("resnet50", "layer1"), ("resnet50", "layer2"), ("resnet50", "layer3"),
    ("googlenet", "inception3b"), ("googlenet", "inception4c"), ("googlenet", "inception5b"),
    # dilated stages (stride 8) and the rate-36 ASPP branch
    ("deeplabv3_resnet50", "backbone.layer3"), ("deeplabv3_resnet50", "backbone.layer4"),
    ("deeplabv3_resnet50", "classifier.0.convs.3"),
]


@pytest.fixture(scope="module")
def prepared():
    """Each model is built and converted once, on first use."""
    cache: dict[str, nn.Module] = {}

    def get(spec: str) -> nn.Module:
        if spec not in cache:
            cache[spec] = _positive_geometry_model(MODELS[spec][0]())
        return cache[spec]

    return get


@pytest.mark.parametrize(("spec", "layer"), [
    pytest.param(s, n, id=f"{s}:{n}", marks=() if s == "lenet5" else pytest.mark.slow)
    for s, n in CASES])
def test_receptive_field_equals_gradient_support(prepared, spec: str, layer: str):
    model = prepared(spec)
    shape = MODELS[spec][1]
    image = torch.ones((1, *shape), dtype=torch.float64, requires_grad=True)
    out = _layer_output(model, layer, image)
    rf = netdsl.load(SPECS / f"{spec}.net").stats().row(layer).rf.as_dict()
    height, width = out.shape[-2:]
    for unit in [(height // 2, width // 2), (0, 0), (height - 1, width - 1)]:
        column = out[0, :, unit[0], unit[1]].sum()  # all channels: the union of every path
        (grad,) = torch.autograd.grad(column, image, retain_graph=True)
        assert _gradient_extent(grad) == _expected_extent(rf, unit, shape[1:]), (unit, rf)
