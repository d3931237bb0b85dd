"""The pyramid detectors of the zoo against torchvision: ResNet-50 with an FPN, RetinaNet and
Faster R-CNN's backbone and RPN. torchvision's weights load with strict=True into the built
module and into the generated file, and the outputs are torchvision's, level by level (the
detectors' heads in torchvision's concatenated order); parameter and buffer counts, the modules
holding them, and MACs as FlopCounterMode counts them (FLOPs / 2) are equal too. The receptive
field of every pyramid level is the input region autograd finds one unit depends on.

Batch norm is nn.BatchNorm2d, as torchvision's detectors use it when built without pretrained
weights (with weights they freeze it: FrozenBatchNorm2d, the same computation at inference).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import detection
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

import netdsl
from tests.backends.pytorch.conftest import generated_model
from tests.conftest import SPECS
from tests.specs.reference import holders
from tests.specs.test_receptive_field import (
    _expected_extent,
    _gradient_extent,
    _positive_geometry_model,
)

SIZE = (3, 128, 160)  # small, and not square: the levels' sizes differ per axis


def _fpn_levels(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    return list(model(x).values())


def _retina_head(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The head's raw outputs on the backbone's levels: torchvision's RetinaNet.forward without
    its image transform (resizing and normalising come before the network) and the decoding."""
    head = model.head(list(model.backbone(x).values()))
    return [head["cls_logits"], head["bbox_regression"]]


def _ssd_head(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """SSD's raw outputs, in the order of torchvision's SSDHead.forward."""
    head = model.head(list(model.backbone(x).values()))
    return [head["bbox_regression"], head["cls_logits"]]


@dataclass(frozen=True)
class Case:
    spec: str
    make: object  # () -> the torchvision module, untrained
    run: object  # (module, x) -> its outputs as a list, in the spec's output order
    size: tuple[int, int, int] = SIZE

    def reference(self) -> nn.Module:
        torch.manual_seed(0)
        return self.make().eval()


CASES = [
    Case("fpn_resnet50", lambda: resnet_fpn_backbone(
        backbone_name="resnet50", weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5),
        _fpn_levels),
    Case("retinanet_resnet50_fpn", lambda: detection.retinanet_resnet50_fpn(
        weights=None, weights_backbone=None), _retina_head),
    # SSD300's extra stages end in unpadded 3x3 convs (3 -> 1): only its own size fits
    Case("ssd300_vgg16", lambda: detection.ssd300_vgg16(weights=None, weights_backbone=None),
         _ssd_head, (3, 300, 300)),
]


@pytest.fixture(scope="module", ids=lambda c: c.spec, params=[  # full-size torchvision models
    pytest.param(c, marks=() if c.spec == "fpn_resnet50" else pytest.mark.slow) for c in CASES])
def case(request):
    """The torchvision module and the spec loaded at the test's input size, once per module."""
    c: Case = request.param
    return c, c.reference(), netdsl.load(SPECS / f"{c.spec}.net", inputs={"image": c.size})


def _as_list(y) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def test_counts_and_weight_holders_equal_torchvision(case):
    _, model, net = case
    stats = net.stats()
    assert stats.params == sum(p.numel() for p in model.parameters())
    assert stats.buffers == sum(b.numel() for b in model.buffers())
    ours = {_holder(r): (r.params, r.buffers) for r in stats.layers
            if not r.is_block and (r.params or r.buffers)}
    assert ours == holders(model)


def _holder(row) -> str:
    """The torch module that holds a layer's weights: a `parameter` is an attribute of the
    module around it (SSD's backbone.scale_weight)."""
    return row.name.rpartition(".")[0] if row.op == "parameter" else row.name


def test_macs_and_output_shapes_equal_torchvision(case):
    c, model, net = case
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        outs = c.run(model, torch.zeros(1, *c.size))
    assert net.stats().macs == counter.get_total_flops() // 2
    assert list(net.stats().outputs.values()) == [tuple(o.shape[1:]) for o in outs]


@pytest.mark.slow
def test_torchvision_weights_load_strictly_and_outputs_are_equal(case, tmp_path):
    c, model, net = case
    built = netdsl.build(net).eval()
    generated = generated_model(net, tmp_path, c.spec).eval()
    x = torch.randn(2, *c.size)
    with torch.no_grad():
        expected = c.run(model, x)
        for ours in (built, generated):
            ours.load_state_dict(model.state_dict(), strict=True)
            got = _as_list(ours(x))
            assert len(got) == len(expected)
            for mine, theirs in zip(got, expected, strict=True):
                torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)


@pytest.mark.slow  # float64 backward passes through ResNet-50 and the FPN at 512x512
def test_fpn_level_fields_equal_gradient_support():
    """Each level's units see inside netdsl's field, and the field is tight. P5 has no
    upsampling after it: its units' windows are the field exactly. Level i below it reads P5
    through 3 - i nearest 2x upsamplings, so its units fall in 2 ** (3 - i) phases whose windows
    are shifted against each other: the field is their union (phase 0's window starts where the
    field starts, the last phase's ends where it ends)."""
    side = 512  # wider than the fields (463 .. 491 pixels), so central units are not clipped
    model = _positive_geometry_model(resnet_fpn_backbone(
        backbone_name="resnet50", weights=None, norm_layer=nn.BatchNorm2d, trainable_layers=5))
    stats = netdsl.load(SPECS / "fpn_resnet50.net").stats()
    levels = [f"fpn.layer_blocks.{i}" for i in range(4)]
    captured = {}
    for name in levels:
        model.get_submodule(name).register_forward_hook(
            lambda module, inputs, out, name=name: captured.__setitem__(name, out))
    image = torch.ones((1, 3, side, side), dtype=torch.float64, requires_grad=True)
    model(image)
    for i, name in enumerate(levels):
        out, rf = captured[name], stats.row(name).rf.as_dict()
        h, w = out.shape[-2:]
        phases = 2 ** (3 - i)
        centre = h // 2 // phases * phases  # phase 0 (P5's rows and columns start there)
        units = [(centre + k, centre + k) for k in range(phases)] + [(0, 0), (h - 1, w - 1)]
        relative = []  # per unclipped unit: its window's first and last pixel, field-relative
        for unit in units:
            (grad, ) = torch.autograd.grad(out[0, :, unit[0], unit[1]].sum(), image,
                                           retain_graph=True)
            seen, field = _gradient_extent(grad), _expected_extent(rf, unit, (side, side))
            for (first, last), (lo, hi) in zip(seen, field, strict=True):
                assert lo <= first and last <= hi, (name, unit, seen, field)
            if unit[0] == unit[1] >= centre:
                relative.append([(first - lo, last - lo) for (first, last), (lo, _) in
                                 zip(seen, field, strict=True)])
        size = rf["size"]
        assert [min(r[axis][0] for r in relative) for axis in range(2)] == [0, 0], name
        assert [max(r[axis][1] for r in relative) for axis in range(2)] == [
            size[0] - 1, size[1] - 1], name
        assert rf["aligned"] == (phases == 1)
        if phases == 1:
            assert relative[0] == [(0, size[0] - 1), (0, size[1] - 1)], name


def _boxes_for_level_4(count: int, side: int) -> torch.Tensor:
    """Boxes 230 to 400 pixels on a side: torchvision's MultiScaleRoIAlign pools all of them
    from P4 (FPN paper, Eq. 1), the level the spec pools every box from."""
    torch.manual_seed(1)
    size = torch.empty(count, 2).uniform_(230, 400)
    corner = torch.rand(count, 2) * (side - size)
    return torch.cat([corner, corner + size], dim=1)


@pytest.mark.slow  # ResNet-50 and the FPN at 512x512
def test_fasterrcnn_weights_load_strictly_and_outputs_are_equal(tmp_path):
    """The whole of torchvision's model loads strictly; the RPN head's outputs (as
    concat_box_prediction_layers orders them) and the box head's class scores and box deltas for
    given regions are torchvision's, and netdsl's MACs are FlopCounterMode's for that work."""
    from torchvision.models.detection.rpn import concat_box_prediction_layers
    side, count = 512, 8
    torch.manual_seed(0)
    model = detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None).eval()
    net = netdsl.load(SPECS / "fasterrcnn_resnet50_fpn.net",
                      inputs={"image": (3, side, side), "boxes": (count, 4)}, rois=count)
    assert net.stats().params == sum(p.numel() for p in model.parameters())
    x, boxes = torch.randn(1, 3, side, side), _boxes_for_level_4(count, side)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        features = model.backbone(x)
        objectness, deltas = concat_box_prediction_layers(
            *model.rpn.head(list(features.values())))
        pooled = model.roi_heads.box_roi_pool(features, [boxes], [(side, side)])
        scores, box_deltas = model.roi_heads.box_predictor(model.roi_heads.box_head(pooled))
    assert net.stats().macs == counter.get_total_flops() // 2
    expected = [objectness, deltas, scores, box_deltas]
    built = netdsl.build(net).eval()
    generated = generated_model(net, tmp_path, "fasterrcnn_resnet50_fpn").eval()
    for ours in (built, generated):
        ours.load_state_dict(model.state_dict(), strict=True)
        with torch.no_grad():
            got = ours(x, boxes[None])
        assert [tuple(g.shape[1:]) for g in got] == [
            (objectness.shape[0], 1), (deltas.shape[0], 4), (count, 91), (count, 364)]
        for mine, theirs in zip(got, expected, strict=True):
            torch.testing.assert_close(mine.reshape(theirs.shape), theirs, atol=1e-5, rtol=0)
