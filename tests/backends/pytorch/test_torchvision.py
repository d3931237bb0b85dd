"""torchvision's own weights load with strict=True into netdsl.build(spec) and into the class
of the generated file, and in eval mode both compute torchvision's outputs (atol 1e-5)."""

from __future__ import annotations

import pytest
import torch
import torchvision

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS

pytestmark = pytest.mark.slow  # full-size torchvision models, built twice and run

MODELS = {
    "alexnet": lambda: torchvision.models.alexnet(),
    "vgg16": lambda: torchvision.models.vgg16(),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, transform_input=False,
                                                      init_weights=False),
    "resnet50": lambda: torchvision.models.resnet50(),
    "densenet121": lambda: torchvision.models.densenet121(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
    "mobilenet_v3_large": lambda: torchvision.models.mobilenet_v3_large(),
    "mobilenet_v3_small": lambda: torchvision.models.mobilenet_v3_small(),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(),
    "efficientnet_b0": lambda: torchvision.models.efficientnet_b0(),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torchvision_weights_and_outputs(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    reference = MODELS[name]().eval()
    weights = reference.state_dict()
    network = netdsl.load(SPECS / f"{name}.net")
    built = netdsl.build(network).eval()
    generated = generated_model(network, tmp_path, name).eval()
    built.load_state_dict(weights, strict=True)
    generated.load_state_dict(weights, strict=True)
    x = torch.randn(2, 3, 128, 128)  # every one of these accepts any size from about 64
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(built(x), expected, atol=1e-5, rtol=0)
        torch.testing.assert_close(generated(x), expected, atol=1e-5, rtol=0)


def test_module_tree_follows_torchvision_names() -> None:
    model = netdsl.build(SPECS / "resnet50.net")
    assert isinstance(model.layer1, torch.nn.Sequential)
    assert isinstance(model.layer1[0].downsample, torch.nn.Sequential)
    names = {n for n, _ in model.named_modules()}
    assert {"layer4.2.conv3", "layer1.0.downsample.0", "fc"} <= names
