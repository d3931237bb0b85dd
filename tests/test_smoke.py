"""The first promise: ResNet-50's figures from the spec agree with torchvision's."""

import netdsl
from tests.conftest import SPECS


def test_resnet50_params_match_torchvision_reference():
    import torchvision

    reference = sum(p.numel() for p in torchvision.models.resnet50().parameters())
    assert netdsl.load(SPECS / "resnet50.net").stats().params == reference == 25_557_032
