"""Each operator's shape, params, buffers and MACs rule against torch modules built by hand.

The torch module is written here, not taken from netdsl's backend, and run on a zero tensor:
its output shape, `sum(p.numel())`, buffer elements, and half of FlopCounterMode's count (torch
counts 2 FLOPs per multiply-accumulate, bias excluded) are the references.

`CASES` is the one table of operator cases: every registered operator has at least one (the
coverage test), and tests/backends/pytorch/test_lowering.py runs each through the PyTorch
backend against the same hand-written module. Adding an operator adds a row here.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netdsl


def layer(op: str, shape: tuple[int, ...], extra: str = "") -> dict:
    """netdsl's row for one layer `l: OP` on an input of `shape` (batch excluded)."""
    dims = ", ".join(str(d) for d in shape)
    net = netdsl.load(f"network n {{\n input x: [{dims}]\n{extra}\n l: {op}\n}}\n")
    return net.stats().row("l").as_dict()


def reference(module: nn.Module, shape: tuple[int, ...]) -> dict:
    """Output shape, params, buffers and MACs of a torch module on a zero batch of one.

    Attention runs torch's math kernel, whose products FlopCounterMode sees (the fused CPU
    kernel's it does not count), with autograd on, which keeps nn.MultiheadAttention off its
    fused inference path (also uncounted)."""
    module.eval()
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        out = module(torch.zeros(1, *shape))
    return {"output": list(out.shape[1:]),
            "params": sum(p.numel() for p in module.parameters()),
            "buffers": sum(b.numel() for b in module.buffers()),
            "macs": counter.get_total_flops() // 2}


def assert_matches(op: str, shape: tuple[int, ...], module: nn.Module, macs: bool = True) -> None:
    ours, ref = layer(op, shape), reference(module, shape)
    keys = ("output", "params", "buffers", "macs") if macs else ("output", "params", "buffers")
    assert {k: ours[k] for k in keys} == {k: ref[k] for k in keys}


CONVS = [
    ("conv(8, 3)", (3, 10, 10), lambda: nn.Conv2d(3, 8, 3)),
    ("conv(8, 3, s=2, p=1)", (3, 11, 11), lambda: nn.Conv2d(3, 8, 3, 2, 1)),
    ("conv(8, 3, bias=false)", (4, 9, 9), lambda: nn.Conv2d(4, 8, 3, bias=False)),
    ("conv(6, 3, g=3)", (6, 9, 9), lambda: nn.Conv2d(6, 6, 3, groups=3)),
    ("conv(12, 3, g=4, d=2, p=2)", (8, 9, 9),
     lambda: nn.Conv2d(8, 12, 3, padding=2, dilation=2, groups=4)),
    ("conv(8, 3, groups=8, p=1)", (8, 7, 7), lambda: nn.Conv2d(8, 8, 3, padding=1, groups=8)),
    ("conv(5, [1, 7], p=[0, 3])", (4, 9, 9), lambda: nn.Conv2d(4, 5, (1, 7), padding=(0, 3))),
    ("conv(5, [7, 1], p=[3, 0])", (4, 9, 9), lambda: nn.Conv2d(4, 5, (7, 1), padding=(3, 0))),
    ("conv(5, [3, 5], s=[2, 1])", (2, 11, 12), lambda: nn.Conv2d(2, 5, (3, 5), (2, 1))),
    ("conv(4, 3, p=same)", (3, 10, 9), lambda: nn.Conv2d(3, 4, 3, padding="same")),
    ("conv(4, 4, p=same)", (3, 10, 9), lambda: nn.Conv2d(3, 4, 4, padding="same")),
    ("conv(4, 3, p=same, d=2)", (3, 10, 9),
     lambda: nn.Conv2d(3, 4, 3, padding="same", dilation=2)),
    ("conv(4, 3, p=valid)", (3, 10, 9), lambda: nn.Conv2d(3, 4, 3, padding="valid")),
    ("conv(8, 5, s=3)", (3, 17), lambda: nn.Conv1d(3, 8, 5, 3)),
    ("conv(4, 3, p=1)", (2, 5, 6, 7), lambda: nn.Conv3d(2, 4, 3, padding=1)),
]


@pytest.mark.parametrize("op, shape, make", CONVS, ids=[c[0] for c in CONVS])
def test_conv(op, shape, make):
    assert_matches(op, shape, make())


def _padded(pads: tuple[int, ...], layer: nn.Module, value: float = 0.0) -> nn.Module:
    """A layer after nn.ConstantPad2d/1d (pads in its order: left, right, top, bottom)."""
    pad = nn.ConstantPad1d(pads, value) if len(pads) == 2 else nn.ConstantPad2d(pads, value)
    return nn.Sequential(pad, layer)


# TensorFlow's SAME (tf.nn.convolution's documentation): out = ceil(L / s), total padding
# max((out - 1) * s + (k - 1) * d + 1 - L, 0), the odd pixel after. Worked by hand per case:
# L=10, k=3, s=2: out 5, total 1 -> (0, 1); L=11: out 6, total 2 -> (1, 1);
# L=9, k=4, s=2: out 5, total 3 -> (1, 2); L=12, k=3, s=2, d=2: out 6, total 3 -> (1, 2).
PADDED_CONVS = [
    ("conv(4, 3, s=2, p=same)", (3, 10, 11),
     lambda: _padded((1, 1, 0, 1), nn.Conv2d(3, 4, 3, 2))),
    ("conv(4, 4, s=2, p=same)", (3, 9, 9), lambda: _padded((1, 2, 1, 2), nn.Conv2d(3, 4, 4, 2))),
    ("conv(4, 3, s=2, d=2, p=same)", (2, 12, 12),
     lambda: _padded((1, 2, 1, 2), nn.Conv2d(2, 4, 3, 2, dilation=2))),
    ("conv(4, 3, s=2, p=same)", (3, 10), lambda: _padded((0, 1), nn.Conv1d(3, 4, 3, 2))),
    ("conv(4, 3, s=2, p=[[0, 1], [1, 0]])", (3, 10, 10),
     lambda: _padded((1, 0, 0, 1), nn.Conv2d(3, 4, 3, 2))),
    ("conv(4, [2, 3], p=[[0, 1], 1])", (3, 8, 8),
     lambda: _padded((1, 1, 0, 1), nn.Conv2d(3, 4, (2, 3)))),
]


@pytest.mark.parametrize("op, shape, make", PADDED_CONVS, ids=[c[0] for c in PADDED_CONVS])
def test_asymmetric_and_tensorflow_same_padding(op, shape, make):
    assert_matches(op, shape, make())


TRANSPOSED = [
    ("conv_transpose(4, 2, s=2)", (6, 5, 5), lambda: nn.ConvTranspose2d(6, 4, 2, 2)),
    ("conv_transpose(4, 3, s=2, p=1, op=1)", (6, 5, 5),
     lambda: nn.ConvTranspose2d(6, 4, 3, 2, 1, output_padding=1)),
    ("conv_transpose(6, 3, g=3, bias=false)", (6, 4, 5),
     lambda: nn.ConvTranspose2d(6, 6, 3, groups=3, bias=False)),
    ("conv_transpose(4, 3, s=2, d=2, op=1)", (2, 4, 4),
     lambda: nn.ConvTranspose2d(2, 4, 3, 2, dilation=2, output_padding=1)),
    ("conv_transpose(3, [1, 5], s=[1, 2])", (2, 4, 4),
     lambda: nn.ConvTranspose2d(2, 3, (1, 5), (1, 2))),
    ("conv_transpose(3, 4, s=2, p=1)", (2, 7), lambda: nn.ConvTranspose1d(2, 3, 4, 2, 1)),
]


@pytest.mark.parametrize("op, shape, make", TRANSPOSED, ids=[c[0] for c in TRANSPOSED])
def test_conv_transpose(op, shape, make):
    assert_matches(op, shape, make())


LINEARS = [
    ("linear(7)", (12,), lambda: nn.Linear(12, 7)),
    ("linear(7, bias=false)", (12,), lambda: nn.Linear(12, 7, bias=False)),
    ("linear(5)", (3, 12), lambda: nn.Linear(12, 5)),
]


@pytest.mark.parametrize("op, shape, make", LINEARS, ids=[c[0] for c in LINEARS])
def test_linear(op, shape, make):
    assert_matches(op, shape, make())


POOLS = [
    ("maxpool(2)", (3, 9, 9), lambda: nn.MaxPool2d(2)),
    ("maxpool(3, s=2)", (3, 10, 10), lambda: nn.MaxPool2d(3, 2)),
    ("maxpool(3, s=2, ceil=true)", (3, 10, 10), lambda: nn.MaxPool2d(3, 2, ceil_mode=True)),
    ("maxpool(3, s=2, p=1, ceil=true)", (3, 14, 13),
     lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
    ("maxpool(2, s=2, ceil=true)", (3, 5, 7), lambda: nn.MaxPool2d(2, 2, ceil_mode=True)),
    ("maxpool(3, s=1, d=2)", (3, 9, 9), lambda: nn.MaxPool2d(3, 1, dilation=2)),
    ("maxpool([1, 3], s=[1, 2])", (3, 9, 9), lambda: nn.MaxPool2d((1, 3), (1, 2))),
    ("avgpool(3, s=2, p=1)", (3, 9, 8), lambda: nn.AvgPool2d(3, 2, 1)),
    ("avgpool(3, s=2, p=1, count_include_pad=false)", (3, 9, 8),
     lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    ("avgpool(3, s=2, ceil=true)", (3, 8, 8), lambda: nn.AvgPool2d(3, 2, ceil_mode=True)),
    ("avgpool(2)", (3, 7), lambda: nn.AvgPool1d(2)),
    ("avgpool(global)", (5, 7, 6), lambda: nn.AdaptiveAvgPool2d(1)),
    ("maxpool(global)", (5, 7, 6), lambda: nn.AdaptiveMaxPool2d(1)),
    ("adaptive_avgpool(1)", (5, 7, 6), lambda: nn.AdaptiveAvgPool2d(1)),
    ("adaptive_avgpool([3, 2])", (5, 7, 6), lambda: nn.AdaptiveAvgPool2d((3, 2))),
    ("adaptive_maxpool(4)", (5, 7, 6), lambda: nn.AdaptiveMaxPool2d(4)),
]


@pytest.mark.parametrize("op, shape, make", POOLS, ids=[c[0] for c in POOLS])
def test_pool(op, shape, make):
    assert_matches(op, shape, make())


PADDED_POOLS = [  # SAME worked as in PADDED_CONVS; max pooling pads with -inf (TF ignores it)
    ("maxpool(3, s=2, p=same)", (3, 10, 11),
     lambda: _padded((1, 1, 0, 1), nn.MaxPool2d(3, 2), float("-inf"))),
    ("maxpool(2, s=2, p=same)", (3, 9, 8),
     lambda: _padded((0, 0, 0, 1), nn.MaxPool2d(2, 2), float("-inf"))),
    ("avgpool(3, s=2, p=same)", (3, 10, 10), lambda: _padded((0, 1, 0, 1), nn.AvgPool2d(3, 2))),
    ("avgpool(2, s=1, p=[[0, 1], [1, 0]])", (3, 6, 6),
     lambda: _padded((1, 0, 0, 1), nn.AvgPool2d(2, 1))),
    ("maxpool(2, s=1, p=same)", (3, 6, 7),
     lambda: _padded((0, 1, 0, 1), nn.MaxPool2d(2, 1), float("-inf"))),
]


@pytest.mark.parametrize("op, shape, make", PADDED_POOLS, ids=[c[0] for c in PADDED_POOLS])
def test_pool_asymmetric_and_tensorflow_same_padding(op, shape, make):
    assert_matches(op, shape, make())


def test_avgpool_count_include_pad_is_an_attribute_not_a_shape_change():
    a = layer("avgpool(3, s=1, p=1, count_include_pad=false)", (2, 5, 5))
    assert a["output"] == [2, 5, 5]


NORMS = [
    ("bn", (6, 4, 4), lambda: nn.BatchNorm2d(6)),
    ("bn(affine=false)", (6, 4, 4), lambda: nn.BatchNorm2d(6, affine=False)),
    ("bn", (6, 5), lambda: nn.BatchNorm1d(6)),
    ("bn", (6,), lambda: nn.BatchNorm1d(6)),
    ("bn", (6, 3, 3, 3), lambda: nn.BatchNorm3d(6)),
    ("layernorm", (4, 10), lambda: nn.LayerNorm(10)),
    ("layernorm(axes=2)", (4, 10), lambda: nn.LayerNorm((4, 10))),
    ("layernorm(affine=false)", (4, 10), lambda: nn.LayerNorm(10, elementwise_affine=False)),
    ("layernorm(bias=false)", (4, 10), lambda: nn.LayerNorm(10, bias=False)),
    ("layernorm(axes=2, bias=false)", (4, 10), lambda: nn.LayerNorm((4, 10), bias=False)),
    ("groupnorm(3)", (6, 4, 4), lambda: nn.GroupNorm(3, 6)),
    ("groupnorm(2, affine=false)", (6, 4, 4), lambda: nn.GroupNorm(2, 6, affine=False)),
    ("instancenorm", (6, 4, 4), lambda: nn.InstanceNorm2d(6)),
    ("instancenorm(affine=true)", (6, 4, 4), lambda: nn.InstanceNorm2d(6, affine=True)),
    ("lrn(5, alpha=0.0001, beta=0.75, k=2)", (6, 4, 4),
     lambda: nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)),
]


@pytest.mark.parametrize("op, shape, make", NORMS, ids=[f"{c[0]}-{len(c[1])}" for c in NORMS])
def test_norm(op, shape, make):
    assert_matches(op, shape, make())


def test_bn_buffers_count_num_batches_tracked():
    """torch's state_dict holds running_mean, running_var and the scalar num_batches_tracked."""
    bn = nn.BatchNorm2d(6)
    assert layer("bn", (6, 4, 4))["buffers"] == sum(b.numel() for b in bn.buffers()) == 13


class _L2Norm(nn.Module):
    """x / max(||x||, 1e-12) over the channels, times a learned per-channel weight if given."""

    def __init__(self, channels: int = 0):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 20.0)) if channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(1, keepdim=True).sqrt().clamp_min(1e-12)
        return x / norm * (self.weight.view(1, -1, 1, 1) if self.weight is not None else 1)


class _Scale(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.01


class _Divide(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / 3


class _Shift(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1.5


ELEMENTWISE = [
    ("relu", nn.ReLU), ("relu6", nn.ReLU6), ("leaky_relu(0.2)", lambda: nn.LeakyReLU(0.2)),
    ("prelu", nn.PReLU), ("prelu(channels=true)", lambda: nn.PReLU(5)),
    ("elu", nn.ELU), ("gelu", nn.GELU), ("silu", nn.SiLU), ("hardswish", nn.Hardswish),
    ("gelu(approximate=tanh)", lambda: nn.GELU(approximate="tanh")),
    ("hardsigmoid", nn.Hardsigmoid), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh),
    ("softmax", lambda: nn.Softmax(1)), ("dropout", nn.Dropout), ("dropout(0.2)",
                                                                  lambda: nn.Dropout(0.2)),
    ("dropout2d", nn.Dropout2d),
    ("channel_shuffle(5)", lambda: nn.ChannelShuffle(5)),
    ("l2norm", _L2Norm), ("l2norm(20)", lambda: _L2Norm(5)), ("scale(0.01)", _Scale),
    ("scale(3, divide=true)", _Divide), ("shift(1.5)", _Shift),
]


@pytest.mark.parametrize("op, make", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_elementwise(op, make):
    assert_matches(op, (5, 4, 3), make())


class _PoolUnpool(nn.Module):
    """Max pooling with its switches, then max unpooling to the pooled input's size."""

    def __init__(self, kernel: int, stride: int, padding: int = 0, ceil: bool = False):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel, stride, padding, return_indices=True, ceil_mode=ceil)
        self.unpool = nn.MaxUnpool2d(kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled, indices = self.pool(x)
        return self.unpool(pooled, indices, output_size=x.shape[2:])


UNPOOLS = [
    ("maxpool(2, s=2, indices=true)", (3, 9, 11), lambda: _PoolUnpool(2, 2)),
    ("maxpool(3, s=2, p=1, indices=true)", (3, 10, 7), lambda: _PoolUnpool(3, 2, 1)),
    ("maxpool(2, s=2, ceil=true, indices=true)", (3, 9, 9), lambda: _PoolUnpool(2, 2, ceil=True)),
]


@pytest.mark.parametrize("pool, shape, make", UNPOOLS, ids=[c[0] for c in UNPOOLS])
def test_unpool_restores_the_pooled_input_size(pool, shape, make):
    """The row of `unpool(p)`; the reference's MACs (none) are those of pooling and unpooling."""
    ours = layer("unpool(p)", shape, f"p: {pool}")
    ref = reference(make(), shape)
    assert {k: ours[k] for k in ("output", "params", "buffers", "macs")} == \
        {k: ref[k] for k in ("output", "params", "buffers", "macs")}


def test_channel_shuffle_needs_divisible_channels():
    with pytest.raises(netdsl.NetdslError):
        layer("channel_shuffle(4)", (6, 2, 2))


SHAPE_OPS = [
    ("flatten", (3, 4, 5), lambda: nn.Flatten()),
    ("flatten(1)", (3, 4, 5), lambda: nn.Flatten(2)),
    ("reshape([4, -1])", (3, 4, 5), lambda: nn.Sequential(nn.Flatten(), nn.Unflatten(1, (4, 15)))),
    ("reshape([7, 7, 30])", (1470,), lambda: nn.Unflatten(1, (7, 7, 30))),
    ("upsample(2)", (3, 4, 5), lambda: nn.Upsample(scale_factor=2)),
    ("upsample(2, mode=bilinear)", (3, 4, 5),
     lambda: nn.Upsample(scale_factor=2, mode="bilinear")),
    ("upsample(1.5)", (3, 4, 5), lambda: nn.Upsample(scale_factor=1.5)),
    ("upsample(size=[7, 9])", (3, 4, 5), lambda: nn.Upsample(size=(7, 9))),
    ("upsample([2, 3])", (3, 4, 5), lambda: nn.Upsample(scale_factor=(2, 3))),
]


@pytest.mark.parametrize("op, shape, make", SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS])
def test_shape_ops(op, shape, make):
    assert_matches(op, shape, make())


def test_upsample_to_another_tensors_size():
    """torchvision's segmentation heads: F.interpolate(x, size=input.shape[-2:])."""
    ours = layer("upsample(to=x, mode=bilinear)", (3, 13, 11), "conv(5, 3, s=4)")
    out = nn.functional.interpolate(torch.zeros(1, 5, 3, 3), size=(13, 11), mode="bilinear")
    assert (ours["output"], ours["params"], ours["macs"]) == (list(out.shape[1:]), 0, 0)


def test_reshape_rejects_wrong_element_count():
    with pytest.raises(netdsl.NetdslError):
        layer("reshape([7, -1])", (3, 4, 5))


def test_crop_to_size_and_to_tensor():
    assert layer("crop(size=[4, 6])", (3, 8, 9))["output"] == [3, 4, 6]
    ours = layer("crop(small)", (3, 8, 9), "small: maxpool(2)\nfrom x")
    assert ours["output"] == [3, 4, 4]


class _Crop(nn.Module):
    """Caffe's crop by hand: rows from `top`, columns from `left`."""

    def __init__(self, top: int, left: int, h: int, w: int):
        super().__init__()
        self.box = (top, left, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, left, h, w = self.box
        return x[:, :, top:top + h, left:left + w]


CROP_OFFSETS = [
    ("crop(size=[4, 6], offset=[1, 2])", (3, 8, 9), lambda: _Crop(1, 2, 4, 6)),
    ("crop(size=5, offset=3)", (3, 8, 9), lambda: _Crop(3, 3, 5, 5)),
    ("crop(size=5, offset=0)", (3, 8, 9), lambda: _Crop(0, 0, 5, 5)),
]


@pytest.mark.parametrize("op, shape, make", CROP_OFFSETS, ids=[c[0] for c in CROP_OFFSETS])
def test_crop_from_an_offset(op, shape, make):
    assert_matches(op, shape, make())


@pytest.mark.parametrize("op", ["crop(size=5, offset=4)", "crop(size=[5, 5], offset=[1, 5])"])
def test_crop_past_the_end_is_a_user_error(op):
    with pytest.raises(netdsl.NetdslError):
        layer(op, (3, 8, 9))


def _roi_row(op: str) -> dict:
    net = netdsl.load(f"network n {{\n input x: [4, 16, 20]\n input boxes: [3, 4]\n"
                      f" from x -> l: {op}\n}}\n")
    return net.stats().row("l").as_dict()


@pytest.mark.parametrize("op, call", [
    ("roi_align(boxes, 7, scale=0.5)",
     lambda x, b: torchvision.ops.roi_align(x, b, 7, spatial_scale=0.5)),
    ("roi_align(boxes, [3, 5], scale=0.25, sampling=2, aligned=true)",
     lambda x, b: torchvision.ops.roi_align(x, b, (3, 5), 0.25, 2, aligned=True)),
    ("roi_pool(boxes, 7, scale=0.0625)",
     lambda x, b: torchvision.ops.roi_pool(x, b, 7, spatial_scale=0.0625)),
])
def test_roi_pooling_gives_one_map_per_box(op, call):
    """torchvision's own operators on one image with 3 boxes: [3, C, h, w], no weights, and no
    multiply-accumulates in FlopCounterMode's count (netdsl counts none either)."""
    boxes = [torch.tensor([[0.0, 0.0, 8.0, 8.0], [2.0, 3.0, 30.0, 20.0], [5.0, 5.0, 6.0, 9.0]])]
    counter = FlopCounterMode(display=False)
    with counter:
        out = call(torch.zeros(1, 4, 16, 20), boxes)
    ours = _roi_row(op)
    assert ours["output"] == list(out.shape)  # the 3 boxes of the one image
    assert (ours["params"], ours["buffers"], ours["macs"]) == (0, 0, counter.get_total_flops())


@pytest.mark.parametrize("op", ["roi_align(x, 7)", "roi_pool(boxes, 7)"])
def test_roi_pooling_needs_boxes_and_a_map(op):
    """Boxes shaped [N, 4] and a [C, H, W] map: `x` as the boxes, or the boxes as the map, fail."""
    with pytest.raises(netdsl.NetdslError):
        netdsl.load(f"network n {{\n input x: [4, 16, 20]\n input boxes: [3, 4]\n l: {op}\n}}\n")


ARITHMETIC = [
    ("sub(m, broadcast=true)", "m: avgpool(global)\nfrom x", lambda x: x - x.mean((2, 3), True)),
    ("div(from x -> sigmoid)", "", lambda x: x / torch.sigmoid(x)),
    ("div(m)", "m: conv(1, 1)\nfrom x", lambda x: x / x[:, :1]),
    ("scale(3, divide=true)", "", lambda x: x / 3),
    ("shift(-2)", "", lambda x: x - 2),
]


@pytest.mark.parametrize("op, extra, compute", ARITHMETIC, ids=[a[0] for a in ARITHMETIC])
def test_arithmetic_against_torch(op, extra, compute):
    """sub, div, scale(divide=true), shift: torch's result shape, and as many FLOPs as
    FlopCounterMode's count besides (it counts none of these: one per output element each)."""
    x = torch.zeros(1, 4, 6, 6)
    with FlopCounterMode(display=False) as counter:
        out = compute(x)
    ours = layer(op, (4, 6, 6), extra)
    assert ours["output"] == list(out.shape[1:]) and ours["params"] == 0
    assert counter.get_total_flops() == 0 and ours["flops"] == out[0].numel()


def test_sub_and_div_take_two_inputs():
    for op in ("sub(p, q)", "div(p, q)"):
        with pytest.raises(netdsl.NetdslError, match="takes 2 inputs"):
            layer(op, (4, 6, 6), "p: relu\nfrom x\nq: sigmoid\nfrom x")


def test_merges_against_torch():
    """add/mul/concat: the output of torch's own operators on tensors of those shapes."""
    a, b = torch.zeros(1, 4, 6, 6), torch.zeros(1, 4, 1, 1)
    add = layer("add(from x -> relu)", (4, 6, 6))
    assert add["output"] == list((a + a).shape[1:]) and add["params"] == 0
    mul = layer("mul(se)", (4, 6, 6), "se: avgpool(global)\nfrom x")
    assert mul["output"] == list((a * b).shape[1:])
    cat = layer("concat(p)", (4, 6, 6), "p: conv(3, 1)\nfrom x")
    assert cat["output"] == list(torch.cat([a, torch.zeros(1, 3, 6, 6)], 1).shape[1:])


@pytest.mark.parametrize("op, extra", [
    ("add(p)", "p: conv(3, 1)\nfrom x"),
    ("concat(p)", "p: maxpool(2)\nfrom x"),
    ("mul(p)", "p: conv(3, 1)\nfrom x"),
    ("sub(p)", "p: conv(3, 1)\nfrom x"),
    ("sub(p)", "p: avgpool(global)\nfrom x"),  # broadcasting only when asked
    ("div(p)", "p: conv(3, 1)\nfrom x"),
])
def test_merge_shape_errors_are_user_errors(op, extra):
    with pytest.raises(netdsl.NetdslError):
        layer(op, (4, 6, 6), extra)


def test_subsample_is_lenet_s2():
    """LeNet-5's S2: 6 maps of 28x28 -> 14x14, 12 params, 5,880 connections (LeCun 1998)."""
    row = layer("subsample(2)", (6, 28, 28))
    assert (row["output"], row["params"], row["connections"]) == ([6, 14, 14], 12, 5880)


def test_connection_table_conv_counts_only_listed_maps():
    """A conv whose output map 0 sees maps 0-2 and map 1 sees all 4: (3 + 4) * 25 + 2 params."""
    row = layer("conv(2, 5, table=[[0, 1, 2], [0, 1, 2, 3]])", (4, 9, 9))
    assert row["output"] == [2, 5, 5]
    assert row["params"] == (3 + 4) * 25 + 2
    assert row["macs"] == (3 + 4) * 25 * 5 * 5


@pytest.mark.parametrize("op, shape", [
    ("conv(8, 5)", (3, 4, 4)),          # kernel larger than the input
    ("conv(8, 3, g=2)", (3, 8, 8)),     # groups do not divide the channels
    ("maxpool(3, p=2)", (3, 8, 8)),     # padding more than half the kernel
    ("maxpool(3, p=[[0, 2], 1])", (3, 8, 8)),  # on one side
    ("maxpool(3, s=2, p=same, ceil=true)", (3, 8, 8)),
    ("conv(8, 3, p=[[0, 1, 2], 1])", (3, 8, 8)),
    ("conv_transpose(8, 3, p=[[0, 1], 1])", (3, 8, 8)),
    ("linear(0)", (4,)),
])
def test_bad_layers_are_user_errors(op, shape):
    with pytest.raises(netdsl.NetdslError):
        layer(op, shape)


class _Slice(nn.Module):
    def __init__(self, start: int, stop: int, axis: int):
        super().__init__()
        self.index = (slice(None),) * (axis + 1) + (slice(start, stop),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[self.index]


TENSOR_OPS = [
    ("slice(2, 5)", (6, 5, 5), lambda: _Slice(2, 5, 0)),
    ("slice(1, -1, axis=2)", (6, 5, 5), lambda: _Slice(1, -1, 2)),
    ("slice(0, 2, axis=-1)", (6, 5, 4), lambda: _Lambda(lambda x: x[..., 0:2])),
    ("slice(1, 3, dim=-2)", (6, 5, 4), lambda: _Lambda(lambda x: x[..., 1:3, :])),
    ("pixel_shuffle(2)", (8, 3, 5), lambda: nn.PixelShuffle(2)),
    ("pixel_unshuffle(3)", (2, 6, 9), lambda: nn.PixelUnshuffle(3)),
    ("stochastic_depth(0.2)", (4, 3, 3), nn.Identity),  # an identity at inference
]


@pytest.mark.parametrize("op, shape, make", TENSOR_OPS, ids=[c[0] for c in TENSOR_OPS])
def test_tensor_ops(op, shape, make):
    assert_matches(op, shape, make())


class _SelfMatmul(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, (1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.conv(x))


def test_matmul_of_two_paths_against_torch():
    """`matmul { identity; path }` multiplies the last two axes: [4, 3, 3] @ [4, 3, 2]."""
    assert_matches("matmul { identity; conv(4, [1, 2]) }", (4, 3, 3), _SelfMatmul())


class _Residual(nn.Module):
    """x + relu(x): `add(from x -> relu)`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(x)


class _Gate(nn.Module):
    """x * mean(x): `mul(se)` with `se: avgpool(global)`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x.mean((2, 3), keepdim=True)


class _Centre(nn.Module):
    """x - mean(x): `sub(m, broadcast=true)` with `m: avgpool(global)`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean((2, 3), keepdim=True)


class _Ratio(nn.Module):
    """x / sigmoid(x): `div(from x -> sigmoid)`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / torch.sigmoid(x)


class _Stack(nn.Module):
    """cat(x, conv(x)): `concat(p)` with `p: conv(3, 1)`."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(x)], 1)


class _CenterCrop(nn.Module):
    def __init__(self, size: tuple[int, int]):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.size
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return x[:, :, top:top + h, left:left + w]


class _Subsample(nn.Module):
    """LeNet-5's subsampling as the paper defines it: each 2x2 window's sum times one weight,
    plus one bias, per map."""

    def __init__(self, maps: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(maps))
        self.bias = nn.Parameter(torch.randn(maps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sums = x.unfold(2, 2, 2).unfold(3, 2, 2).sum((-1, -2))
        return sums * self.weight[:, None, None] + self.bias[:, None, None]


# ---------------------------------------------------------------- tokens and channels last


class _Lambda(nn.Module):
    """A parameter-free torch expression as a module (the reference for layout operators)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


LAYOUT = [
    ("permute([1, 2, 0])", (3, 4, 5), lambda: _Lambda(lambda x: x.permute(0, 2, 3, 1))),
    ("permute([1, 0])", (6, 5), lambda: _Lambda(lambda x: x.permute(0, 2, 1))),
    ("transpose(0, 1)", (6, 5), lambda: _Lambda(lambda x: x.transpose(1, 2))),
    ("transpose(-1, 0)", (3, 4, 5), lambda: _Lambda(lambda x: x.transpose(-1, 1))),
    ("select(0)", (7, 5), lambda: _Lambda(lambda x: x[:, 0])),
    ("select(-1, axis=1)", (7, 5, 3), lambda: _Lambda(lambda x: x[:, :, -1])),
    ("flatten(1)", (8, 3, 4), lambda: _Lambda(lambda x: x.flatten(2))),
    ("flatten(0, 1)", (8, 3, 4), lambda: _Lambda(lambda x: x.flatten(1, 2))),
    ("flatten(1, end=-2)", (8, 3, 4, 5), lambda: _Lambda(lambda x: x.flatten(2, -2))),
    ("mean(0)", (7, 5), lambda: _Lambda(lambda x: x.mean(1))),
    ("mean(dim=-1)", (3, 4, 5), lambda: _Lambda(lambda x: x.mean(-1))),
    ("mean(1, keep=true)", (3, 4, 5), lambda: _Lambda(lambda x: x.mean(2, keepdim=True))),
    ("mean(0, keepdim=true)", (6,), lambda: _Lambda(lambda x: x.mean(1, keepdim=True))),
]


@pytest.mark.parametrize("op, shape, make", LAYOUT, ids=[c[0] for c in LAYOUT])
def test_layout_ops(op, shape, make):
    assert_matches(op, shape, make())


@pytest.mark.parametrize("op, shape", [
    ("permute([0, 0, 1])", (3, 4, 5)),   # not a permutation
    ("permute([1, 0])", (3, 4, 5)),      # wrong rank
    ("transpose(0, 3)", (3, 4, 5)),      # axis out of range
    ("select(7)", (7, 5)),               # index out of range
])
def test_bad_layout_ops_are_user_errors(op, shape):
    with pytest.raises(netdsl.NetdslError):
        layer(op, shape)


class _Parameter(nn.Module):
    """A learned tensor used as torchvision uses class tokens (expanded to the batch) and layer
    scales (broadcast)."""

    def __init__(self, shape: tuple[int, ...], batch: bool):
        super().__init__()
        self.batch = batch
        self.value = nn.Parameter(torch.zeros((1, *shape) if batch else shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch:
            return self.value.expand(x.shape[0], *self.value.shape[1:])
        return self.value.expand(x.shape[0], *self.value.shape)


PARAMETERS = [
    ("parameter([1, 6], batch=true)", (4, 6), lambda: _Parameter((1, 6), True)),
    ("parameter([5, 1, 1], value=0.000001)", (5, 3, 3), lambda: _Parameter((5, 1, 1), False)),
    ("parameter([7, 6], batch=true, std=0.02)", (7, 6), lambda: _Parameter((7, 6), True)),
]


@pytest.mark.parametrize("op, shape, make", PARAMETERS, ids=[c[0] for c in PARAMETERS])
def test_parameter(op, shape, make):
    assert_matches(op, shape, make())


def test_parameter_is_no_activation_and_sees_nothing():
    net = netdsl.load("network n {\n input x: [4, 6]\n add { identity; "
                      "p: parameter([4, 6], batch=true) }\n}\n")
    stats = net.stats()
    assert stats.activation_elements == 2 * 24  # the input and the sum; the parameter is stored
    assert stats.row("p").rf == "constant"


class _SelfAttention(nn.Module):
    """nn.MultiheadAttention as torchvision's ViT calls it (and GPT's causal mask)."""

    def __init__(self, dim: int, heads: int, causal: bool = False, bias: bool = True):
        super().__init__()
        self.causal = causal
        self.attention = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.causal:
            mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            return self.attention(x, x, x, attn_mask=mask, is_causal=True,
                                  need_weights=False)[0]
        return self.attention(x, x, x, need_weights=False)[0]


class _WindowAttention(nn.Module):
    """torchvision's Swin window attention on one [H, W, C] map."""

    def __init__(self, dim: int, window: int, shift: int, heads: int):
        super().__init__()
        from torchvision.models.swin_transformer import ShiftedWindowAttention
        self.attention = ShiftedWindowAttention(dim, [window, window], [shift, shift], heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x)


ATTENTION = [
    ("attention(2)", (5, 8), lambda: _SelfAttention(8, 2)),
    ("attention(4, bias=false)", (9, 16), lambda: _SelfAttention(16, 4, bias=False)),
    ("attention(1, causal=true)", (6, 4), lambda: _SelfAttention(4, 1, causal=True)),
    ("window_attention(2, 4)", (8, 8, 6), lambda: _WindowAttention(6, 4, 0, 2)),
    ("window_attention(2, 4, shift=2)", (8, 12, 6), lambda: _WindowAttention(6, 4, 2, 2)),
    ("window_attention(3, 3, shift=1)", (7, 5, 6), lambda: _WindowAttention(6, 3, 1, 3)),
    ("window_attention(1, 7, shift=3)", (7, 7, 4), lambda: _WindowAttention(4, 7, 3, 1)),
]


@pytest.mark.parametrize("op, shape, make", ATTENTION, ids=[c[0] for c in ATTENTION])
def test_attention(op, shape, make):
    assert_matches(op, shape, make())


@pytest.mark.parametrize("op, shape", [
    ("attention(3)", (5, 8)),                 # heads do not divide the width
    ("attention(2)", (4, 5, 8)),              # not a sequence
    ("window_attention(2, 4)", (8, 8)),       # not a channels-last map
    ("window_attention(2, 4, shift=4)", (8, 8, 6)),  # shift not inside the window
    ("window_attention(2, [3, 3, 3])", (8, 8, 6)),   # a window of three axes
    ("window_attention(2, 4, shift=same)", (8, 8, 6)),
    ("parameter([0, 3])", (8, 6)),
    ("embedding(0, 3)", (8,)),
    ("patch_merge", (8, 6)),                  # not a channels-last map
    ("layernorm2d", (8, 6)),
])
def test_bad_attention_is_a_user_error(op, shape):
    with pytest.raises(netdsl.NetdslError):
        layer(op, shape)


class _Embedding(nn.Module):
    """nn.Embedding on the zero batch read as token ids."""

    def __init__(self, vocab: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x.long())


EMBEDDINGS = [
    ("embedding(50, 8)", (7,), lambda: _Embedding(50, 8)),
    ("embedding(10, 3)", (4, 5), lambda: _Embedding(10, 3)),
]


@pytest.mark.parametrize("op, shape, make", EMBEDDINGS, ids=[c[0] for c in EMBEDDINGS])
def test_embedding(op, shape, make):
    assert_matches(op, shape, make())


class _LayerNorm2d(nn.Module):
    """Layer norm over the channels of each position, written with torch's own LayerNorm."""

    def __init__(self, channels: int, affine: bool = True):
        super().__init__()
        self.norm = nn.LayerNorm(channels, elementwise_affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


CHANNEL_NORMS = [
    ("layernorm2d", (6, 4, 5), lambda: _LayerNorm2d(6)),
    ("layernorm2d(affine=false)", (6, 4, 5), lambda: _LayerNorm2d(6, affine=False)),
    ("layernorm(eps=0.000001)", (5, 7, 6), lambda: nn.LayerNorm(6, eps=1e-6)),  # channels last
]


@pytest.mark.parametrize("op, shape, make", CHANNEL_NORMS, ids=[c[0] for c in CHANNEL_NORMS])
def test_channel_norms(op, shape, make):
    assert_matches(op, shape, make())


class _PatchMerging(nn.Module):
    """torchvision's Swin patch merging without its norm and linear layer: its padding and
    channel order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torchvision.models.swin_transformer import _patch_merging_pad
        return _patch_merging_pad(x)


PATCH_MERGES = [("patch_merge", (8, 6, 3), _PatchMerging), ("patch_merge(2)", (7, 5, 4),
                                                            _PatchMerging)]


@pytest.mark.parametrize("op, shape, make", PATCH_MERGES, ids=[c[0] for c in PATCH_MERGES])
def test_patch_merge(op, shape, make):
    assert_matches(op, shape, make())


class Case(NamedTuple):
    """An operator call on an input shape (after the `extra` layers), and the torch module
    written by hand that computes the same."""

    call: str
    shape: tuple[int, ...]
    make: object
    extra: str = ""


OTHERS = [
    Case("add(from x -> relu)", (4, 6, 6), _Residual),
    Case("mul(se)", (4, 6, 6), _Gate, "se: avgpool(global)\nfrom x"),
    Case("sub(m, broadcast=true)", (4, 6, 6), _Centre, "m: avgpool(global)\nfrom x"),
    Case("div(from x -> sigmoid)", (4, 6, 6), _Ratio),
    Case("concat(p)", (4, 6, 6), _Stack, "p: conv(3, 1)\nfrom x"),
    Case("matmul { identity; conv(4, [1, 2]) }", (4, 3, 3), _SelfMatmul),
    Case("crop(size=[4, 6])", (3, 8, 9), lambda: _CenterCrop((4, 6))),
    Case("subsample(2)", (6, 28, 28), lambda: _Subsample(6)),
]
class _RoiAlign(nn.Module):
    """torchvision.ops.roi_align of the boxes given beside the map, one list per image."""

    def __init__(self, target: str, **options: object):
        super().__init__()
        self.target, self.options = target, options

    def forward(self, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        pooled = getattr(torchvision.ops, self.target)(x, list(boxes), **self.options)
        return pooled.unflatten(0, boxes.shape[:2])


# cases of two inputs: the map `x` and `boxes` [3, 4] per image
ROIS = [
    Case("roi_align(boxes, 7, scale=0.5)", (4, 16, 20),
         lambda: _RoiAlign("roi_align", output_size=7, spatial_scale=0.5),
         "input boxes: [3, 4]\nfrom x"),
    Case("roi_pool(boxes, 3, scale=0.25)", (4, 16, 20),
         lambda: _RoiAlign("roi_pool", output_size=3, spatial_scale=0.25),
         "input boxes: [3, 4]\nfrom x"),
]
CASES: list[Case] = [
    *(Case(*c) for c in CONVS + PADDED_CONVS + TRANSPOSED + LINEARS + POOLS + PADDED_POOLS
      + NORMS + SHAPE_OPS + TENSOR_OPS + CROP_OFFSETS + LAYOUT + ATTENTION + PARAMETERS
      + EMBEDDINGS + CHANNEL_NORMS + PATCH_MERGES),
    *(Case(op, (5, 4, 3), make) for op, make in ELEMENTWISE),
    *(Case("unpool(p)", shape, make, f"p: {pool}") for pool, shape, make in UNPOOLS),
    *ROIS,
    *OTHERS,
]


def case_spec(case: Case) -> str:
    dims = ", ".join(str(d) for d in case.shape)
    return f"network n {{\n input x: [{dims}]\n{case.extra}\n l: {case.call}\n}}\n"


def case_operator(case: Case) -> str:
    """The operator a case exercises, as the elaborator reads its call."""
    graph = netdsl.load(case_spec(case)).graph
    node = graph["l"] if "l" in graph.nodes else graph[graph.scopes["l"].output]
    return node.op.name


def test_every_operator_has_a_class_a_lowering_and_a_case():
    """Adding an operator means a class, a lowering row and a row of CASES; removing any of
    them fails here."""
    from netdsl.backends.pytorch.ops import LOWERINGS
    from netdsl.ops import REGISTRY
    assert sorted(LOWERINGS) == sorted(REGISTRY)
    covered = {case_operator(c) for c in CASES}
    assert sorted(set(REGISTRY) - covered) == []


@pytest.mark.parametrize("case", OTHERS, ids=[c.call for c in OTHERS])
def test_other_cases_against_torch(case):
    ours = layer(case.call, case.shape, case.extra)
    module = case.make().eval()
    x = torch.zeros(1, *case.shape)
    with torch.no_grad():
        assert ours["output"] == list(module(x).shape[1:])
    if not case.extra:
        assert ours["params"] == sum(p.numel() for p in module.parameters())


def test_window_lengths_are_torchs_for_every_small_case():
    """Output lengths of a sliding window, ceil_mode included, against torch over a grid: with
    ceil_mode a kernel one larger than the input still fits once (torch gives 1), which
    netdsl refused as "larger than the padded input" (found by fuzzing)."""
    from torch.nn import functional as F

    from netdsl.ops.base import ShapeError, window_out
    for length, kernel, stride, ceil in itertools.product(range(1, 8), range(1, 6), range(1, 4),
                                                          (False, True)):
        for pad in range(kernel // 2 + 1):
            try:
                theirs = F.max_pool1d(torch.zeros(1, 1, length), kernel, stride, pad,
                                      ceil_mode=ceil).shape[-1]
            except RuntimeError:
                theirs = None
            try:
                ours = window_out(length, kernel, stride, pad, 1, ceil)
            except ShapeError:
                ours = None
            assert ours == theirs, (length, kernel, stride, pad, ceil)
