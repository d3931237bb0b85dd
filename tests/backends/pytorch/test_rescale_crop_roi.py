"""The lowering of l2norm, scale, crop with offsets and RoI pooling computes what hand-written
torch code computes, in the built module and in the generated file."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import netdsl
from tests.backends.pytorch.conftest import generated_model


class Rescale(nn.Module):
    """SSD's conv4_3 branch and FCN-8s's scaled pool: conv, L2 norm with a learned scale (as
    torchvision's SSD), a plain L2 norm, a constant scale, and a Caffe crop at offset 5."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.weight = nn.Parameter(torch.ones(6) * 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.weight.view(1, -1, 1, 1) * nn.functional.normalize(x)
        x = nn.functional.normalize(x) * 0.01
        return x[:, :, 5:5 + 8, 5:5 + 8]


SPEC = """
network rescale {
    input x: [3, 24, 24]
    conv: conv(6, 3)
    norm: l2norm(20)
    l2norm -> scale(0.01)
    crop(size=8, offset=5)
}
"""


def test_l2norm_scale_and_crop_lower_exactly(tmp_path) -> None:
    torch.manual_seed(0)
    reference = Rescale().eval()
    with torch.no_grad():
        reference.weight.uniform_(1, 30)
    network = netdsl.load(SPEC)
    built = netdsl.build(network).eval()
    generated = generated_model(network, tmp_path, "rescale").eval()
    weights = {"conv.weight": reference.conv.weight, "conv.bias": reference.conv.bias,
               "norm.weight": reference.weight}
    x = torch.randn(2, 3, 24, 24)
    for model in (built, generated):
        model.load_state_dict(weights, strict=True)
        with torch.no_grad():
            torch.testing.assert_close(model(x), reference(x))


ROI_SPEC = """
network box_head {
    input image: [3, 32, 40]
    input boxes: [5, 4]
    from image -> features: conv(8, 3, s=2, p=1)
    pooled: roi_align(boxes, 4, scale=0.5, sampling=2)
    flatten(1) -> fc: linear(16)
    from features -> max: roi_pool(boxes, [2, 3], scale=0.5)
    output fc, max
}
"""


@pytest.mark.parametrize("batch", [1, 3])
def test_roi_pooling_lowers_per_image(batch: int, tmp_path) -> None:
    """Each image has its own N boxes; the outputs hold N maps per image, [batch, N, ...]."""
    torch.manual_seed(0)
    network = netdsl.load(ROI_SPEC)
    built = netdsl.build(network).eval()
    generated = generated_model(network, tmp_path, "box_head").eval()
    generated.load_state_dict(built.state_dict(), strict=True)
    image = torch.randn(batch, 3, 32, 40)
    corner = torch.rand(batch, 5, 2) * 30
    boxes = torch.cat([corner, corner + 1 + torch.rand(batch, 5, 2) * 10], dim=2)
    with torch.no_grad():
        features = built.features(image)
        aligned = torchvision.ops.roi_align(features, list(boxes), 4, 0.5, 2)
        fc = built.fc(aligned.flatten(1)).view(batch, 5, 16)
        pooled = torchvision.ops.roi_pool(features, list(boxes), (2, 3), 0.5).view(
            batch, 5, 8, 2, 3)
        for model in (built, generated):
            ours = model(image, boxes)
            torch.testing.assert_close(ours[0], fc)
            torch.testing.assert_close(ours[1], pooled)
    assert network.stats().outputs == {"fc": (5, 16), "max": (5, 8, 2, 3)}
