"""Receptive fields against autograd: with positive weights and inputs, the input pixels whose
gradient is non-zero for one output element are exactly its receptive field.

For an output element j far from the borders, the field is [j*stride - padding, ... + size);
measuring elements j and j+1 gives size, stride and the effective padding per axis.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import netdsl


def positive(module: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(0.1)
    return module.eval()


Extent = list[tuple[int, int]]  # first and last input pixel per spatial axis


def gradient_extent(model: nn.Module, shape: tuple[int, ...], index: tuple[int, ...]) -> Extent:
    """The input pixels whose gradient is non-zero for output `index` (channel 0)."""
    x = torch.ones(1, *shape, requires_grad=True)
    model(x)[(0, 0) + index].backward()
    return _span(x.grad[0].abs().sum(0) > 0)


def _span(support: torch.Tensor) -> Extent:
    nz = support.nonzero()
    return [(int(nz[:, a].min()), int(nz[:, a].max())) for a in range(support.dim())]


def measured_field(model: nn.Module, shape: tuple[int, ...], j: tuple[int, ...], step: int = 1,
                   extent=gradient_extent):
    """(size, stride, padding) per spatial axis, from the extents of outputs j .. j+step.

    After an upsampling by `step` (a transposed convolution, nearest or bilinear upsampling),
    neighbouring outputs read different windows (pairs of outputs share a field): the field is
    the union over the `step` phases j .. j+step-1, each placed at its own output's position,
    and the stride is averaged over `step` outputs."""
    def moved(axis: int, by: int) -> tuple[int, ...]:
        other = list(j)
        other[axis] += by
        return tuple(other)

    here = extent(model, shape, j)
    size, stride, padding = [], [], []
    for axis in range(len(j)):
        step_stride = (extent(model, shape, moved(axis, step))[axis][0] - here[axis][0]) // step
        phases = [extent(model, shape, moved(axis, d))[axis] for d in range(step)]
        lo = min(first - d * step_stride for d, (first, _) in enumerate(phases))
        hi = max(last - d * step_stride for d, (_, last) in enumerate(phases))
        size.append(hi - lo + 1)
        stride.append(step_stride)
        padding.append(j[axis] * step_stride - lo)
    inside = all(0 < lo and hi < n - 1 for (lo, hi), n in zip(here, shape[1:], strict=True))
    assert inside, "the probe touches the border; use a larger input"
    return size, stride, padding


def field(spec_body: str, shape: tuple[int, ...]) -> dict:
    dims = ", ".join(map(str, shape))
    net = netdsl.load(f"network n {{\n input x: [{dims}]\n{spec_body}\n}}\n")
    rf = net.stats().layers[-1].rf
    return rf.as_dict() if not isinstance(rf, str) else rf


class Residual(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


CASES = [
    ("conv(2, 3, p=1) -> conv(2, 3, s=2, p=1) -> avgpool(2) -> conv(2, 3, d=2, p=2)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, 2, 1),
                           nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, padding=2, dilation=2)),
     (1, 64, 64), (8, 8), 1),
    ("conv(2, [1, 7], p=[0, 3]) -> conv(2, [5, 1], s=[2, 1])",
     lambda: nn.Sequential(nn.Conv2d(1, 2, (1, 7), padding=(0, 3)),
                           nn.Conv2d(2, 2, (5, 1), (2, 1))),
     (1, 40, 40), (8, 15), 1),
    ("conv(2, 7, s=2, p=3) -> relu -> avgpool(3, s=2, p=1) -> conv(2, 3, p=1)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 7, 2, 3), nn.ReLU(), nn.AvgPool2d(3, 2, 1),
                           nn.Conv2d(2, 2, 3, padding=1)),
     (1, 64, 64), (8, 8), 1),
    ("conv(2, 3, s=2) -> conv_transpose(2, 2, s=2) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ConvTranspose2d(2, 2, 2, 2),
                           nn.Conv2d(2, 2, 3)),
     (1, 41, 41), (10, 10), 2),
    ("conv(2, 3, s=2) -> conv_transpose(2, 3, s=2, p=1) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ConvTranspose2d(2, 2, 3, 2, 1),
                           nn.Conv2d(2, 2, 3)),
     (1, 41, 41), (10, 10), 2),
    ("conv(2, 3, s=2) -> conv_transpose(2, 4, s=2, p=1) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ConvTranspose2d(2, 2, 4, 2, 1),
                           nn.Conv2d(2, 2, 3)),
     (1, 41, 41), (10, 10), 2),
    ("conv(2, 3, s=3) -> upsample(3) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 3), nn.Upsample(scale_factor=3), nn.Conv2d(2, 2, 3)),
     (1, 46, 46), (12, 12), 3),
    ("conv(2, 3, s=3) -> upsample(3, mode=bilinear) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 3), nn.Upsample(scale_factor=3, mode="bilinear"),
                           nn.Conv2d(2, 2, 3)),
     (1, 46, 46), (12, 12), 3),
    ("conv(2, 3, s=2) -> conv(2, 3, s=2) -> upsample(2) -> conv(2, 3) -> upsample(2) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 2, 3, 2),
                           nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3),
                           nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3)),
     (1, 90, 90), (20, 20), 4),
    ("conv(2, 3, s=2) -> conv(2, 3, s=2) -> conv_transpose(2, 3, s=2, p=1) -> "
     "conv_transpose(2, 4, s=2, p=1) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 2, 3, 2),
                           nn.ConvTranspose2d(2, 2, 3, 2, 1), nn.ConvTranspose2d(2, 2, 4, 2, 1),
                           nn.Conv2d(2, 2, 3)),
     (1, 90, 90), (20, 20), 4),
    ("conv(2, 3, s=2, p=same) -> conv(2, 4, s=2, p=same) -> avgpool(3, s=2, p=same)",
     # TF SAME on 40: (0, 1); then on 20 with k=4: (1, 2); then on 10 with k=3: (0, 1)
     lambda: nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(1, 2, 3, 2),
                           nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(2, 2, 4, 2),
                           nn.ZeroPad2d((0, 1, 0, 1)), nn.AvgPool2d(3, 2)),
     (1, 40, 40), (2, 2), 1),
    ("conv(2, 3, p=[[2, 0], [0, 2]]) -> conv(2, 3, s=2)",
     lambda: nn.Sequential(nn.ZeroPad2d((0, 2, 2, 0)), nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, 2)),
     (1, 30, 30), (6, 6), 1),
    ("conv(2, 3) -> adaptive_avgpool(6)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(6)),
     (1, 38, 38), (2, 2), 1),
    ("conv(2, 3, s=2) -> upsample(2) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3)),
     (1, 41, 41), (10, 10), 2),
    ("conv(2, 3, s=2) -> upsample(2, mode=bilinear) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2, mode="bilinear"),
                           nn.Conv2d(2, 2, 3)),
     (1, 41, 41), (10, 10), 2),
    # a strided layer after an upsampling: every output sees alike again, and exactly what
    # its phase of the upsampled map sees (the union over phases said 6 and 11 pixels)
    ("conv(2, 3, s=2) -> upsample(2) -> conv(2, 3, s=2)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2),
                           nn.Conv2d(2, 2, 3, 2)),
     (1, 90, 90), (10, 10), 1),
    ("conv(2, 3, s=2) -> conv_transpose(2, 2, s=2) -> conv(2, 3, s=2)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ConvTranspose2d(2, 2, 2, 2),
                           nn.Conv2d(2, 2, 3, 2)),
     (1, 90, 90), (10, 10), 1),
    ("conv(2, 3, s=2) -> upsample(2) -> conv(2, 3) -> maxpool(2) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2),
                           nn.Conv2d(2, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3)),
     (1, 90, 90), (10, 10), 1),
    ("conv(2, 3, s=2) -> upsample(2, mode=bilinear) -> conv(2, 3, s=2, p=1)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2, mode="bilinear"),
                           nn.Conv2d(2, 2, 3, 2, 1)),
     (1, 90, 90), (10, 10), 1),
    ("conv(2, 3, s=2) -> conv(2, 3, s=2) -> upsample(2) -> conv(2, 3) -> upsample(2) -> "
     "avgpool(2) -> conv(2, 3, s=2)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 2, 3, 2),
                           nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3),
                           nn.Upsample(scale_factor=2), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, 2)),
     (1, 120, 120), (6, 6), 1),
]


@pytest.mark.parametrize("body, make, shape, j, step", CASES, ids=[c[0] for c in CASES])
def test_chains_match_autograd(body, make, shape, j, step):
    size, stride, padding = measured_field(positive(make()), shape, j, step)
    rf = field(body, shape)
    assert (rf["size"], rf["stride"], rf["padding"]) == (size, stride, padding)
    assert rf["aligned"]


def test_residual_union_and_smallest_path():
    body = "add {\n identity\n conv(1, 3, p=1) -> relu -> conv(1, 3, p=1)\n}"
    model = positive(Residual(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.ReLU(),
                                            nn.Conv2d(1, 1, 3, padding=1))))
    size, stride, padding = measured_field(model, (1, 21, 21), (10, 10))
    rf = field(body, (1, 21, 21))
    assert (rf["size"], rf["stride"], rf["padding"]) == (size, stride, padding) == \
        ([5, 5], [1, 1], [2, 2])
    assert rf["min_size"] == [1, 1] and rf["aligned"]


class TwoUpsamplings(nn.Module):
    """`conv(2, 3, s=2)`, then the sum of a nearest upsampling and a 3x3 transposed
    convolution of it, then a strided convolution."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(1, 2, 3, 2)
        self.up = nn.ConvTranspose2d(2, 2, 3, 2, 1, output_padding=1)
        self.out = nn.Conv2d(2, 2, 3, 2)

    def forward(self, x):
        x = self.down(x)
        return self.out(nn.functional.interpolate(x, scale_factor=2) + self.up(x))


def test_a_merge_of_upsampled_paths_is_united_per_phase():
    """The two paths' phases differ (the transposed convolution's outputs read one or two
    inputs by phase); their union per phase, after the strided layer, is what autograd finds,
    and so is the smallest path (the nearest upsampling's)."""
    body = ("conv(2, 3, s=2)\nadd {\n upsample(2)\n conv_transpose(2, 3, s=2, p=1, "
            "output_padding=1)\n}\nconv(2, 3, s=2)")
    size, stride, padding = measured_field(positive(TwoUpsamplings()), (1, 90, 90), (10, 10))
    rf = field(body, (1, 90, 90))
    assert (rf["size"], rf["stride"], rf["padding"]) == (size, stride, padding)
    smallest = measured_field(positive(nn.Sequential(
        nn.Conv2d(1, 2, 3, 2), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3, 2))),
        (1, 90, 90), (10, 10))
    assert rf["min_size"] == smallest[0]


def test_misaligned_paths_are_reported_not_a_crash():
    """A valid 2x2 conv centres its field half a pixel off the identity's (cropped to fit)."""
    rf = field("a: relu\nconv(1, 2)\nb: relu\nfrom a -> crop(size=[11, 11])\nadd(b)", (1, 12, 12))
    assert rf["aligned"] is False
    assert rf["size"] == [2, 2] and rf["min_size"] == [1, 1]
    centred = field("a: relu\nconv(1, 3)\nb: relu\nfrom a -> crop(size=[10, 10])\nadd(b)",
                    (1, 12, 12))
    assert centred["aligned"] is True


@pytest.mark.parametrize("tail", ["avgpool(global)", "adaptive_avgpool(1)",
                                  "flatten -> linear(4)"])
def test_global_after_pooling_and_linear(tail):
    assert field(f"conv(2, 3) -> {tail}", (1, 9, 9)) == "global"


def test_flatten_keeps_each_elements_field():
    """Element (c, i, j) of a flattened map depends on the pixels conv's field at (i, j) reads,
    not on the whole image (autograd: 3 x 3 pixels); the linear layer after it mixes them."""
    conv = positive(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()))
    x = torch.ones(1, 1, 9, 9, requires_grad=True)
    conv(x)[0, 7 * 3 + 4].backward()  # channel 0, position (3, 4)
    rows, cols = x.grad[0, 0].nonzero().unbind(1)
    rf = field("conv(2, 3) -> flatten", (1, 9, 9))
    assert rf["size"] == [int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1]
    assert rf["size"] == [3, 3] and rf["layout"] == [[0, 1]]


def test_gate_keeps_the_spatial_field_and_notes_global_context():
    """An SE gate multiplies every map by a function of the whole image; the field reported is
    the spatial path's (equal to the same net without the gate), marked global_context."""
    plain = field("conv(4, 3) -> conv(4, 3, s=2)", (3, 32, 32))
    gated = field("conv(4, 3) -> conv(4, 3, s=2)\n"
                  "mul { identity; avgpool(global) -> conv(4, 1) -> sigmoid }", (3, 32, 32))
    assert (gated["size"], gated["stride"], gated["padding"]) == \
        (plain["size"], plain["stride"], plain["padding"]) == ([5, 5], [2, 2], [0, 0])
    assert gated["global_context"] and not plain["global_context"]


def test_unet_skips_are_centred_on_the_upsampled_path():
    """U-Net's crops are chosen so that each skip lines up with the up-convolution's output:
    with the phase union, every merge of the original U-Net is aligned."""
    from tests.conftest import SPECS
    stats = netdsl.load(SPECS / "unet.net").stats()
    merges = [r for r in stats.layers if r.op == "concat"]
    assert len(merges) == 4 and all(r.rf.aligned for r in merges)
    assert all(r.rf.aligned for r in stats.layers if not isinstance(r.rf, str))


# ---------------------------------------------------------------- max unpooling
#
# Which input pixels can affect output o of `unpool(p)`? Its value is input q of the values
# tensor when the switch of pooling window q points at o, else zero; a switch can point only
# inside its window, and points at o for some input (a peak at o). So o reads, through the
# values, every q whose window holds o: a transposed convolution's geometry. And the switches
# themselves are a function of the pooled map's own field: whether o is zero changes with those
# pixels too. netdsl's field is the union of both, through the transposed window. Max pooling
# routes gradients to one pixel, so "can affect" is measured over many random inputs: the union
# of the gradient supports (the values' path) or of the pixels whose change moves output o (both
# paths, without autograd).

class SwitchNet(nn.Module):
    """conv -> maxpool with switches -> conv -> unpool with those switches -> conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = (nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, padding=1),
                                              nn.Conv2d(2, 2, 3))
        self.pool = nn.MaxPool2d(3, 2, 1, return_indices=True)
        self.unpool = nn.MaxUnpool2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        pooled, indices = self.pool(x)
        return self.conv3(self.unpool(self.conv2(pooled), indices, output_size=x.shape[2:]))


def gradient_union_extent(model: nn.Module, shape: tuple[int, ...],
                          index: tuple[int, ...]) -> Extent:
    """The union over 512 random inputs of the pixels whose gradient reaches output `index`."""
    torch.manual_seed(0)
    x = torch.randn(512, *shape, requires_grad=True)
    model(x)[(slice(None), 0) + index].sum().backward()  # samples do not mix: one backward
    return _span(x.grad.abs().sum((0, 1)) > 0)


def test_unpool_values_reach_the_transposed_window_autograd():
    torch.manual_seed(1)
    model = SwitchNet().eval()
    size, stride, padding = measured_field(model, (1, 32, 32), (12, 12), 2, gradient_union_extent)
    rf = field("conv(2, 3) -> p: maxpool(3, s=2, p=1, indices=true) -> conv(2, 3, p=1)\n"
               "unpool(p) -> conv(2, 3)", (1, 32, 32))
    assert (rf["size"], rf["stride"], rf["padding"]) == (size, stride, padding)


class SwitchesOnly(nn.Module):
    """Values from a 2x2 average (a small field), switches from a 5x5 conv's max pool."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 5, padding=2)
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, indices = self.pool(self.conv(x))
        return self.unpool(nn.functional.avg_pool2d(x, 2), indices, output_size=x.shape[2:])


def change_extent(model: nn.Module, shape: tuple[int, ...], index: tuple[int, ...]) -> Extent:
    """The input pixels whose change moves output `index`, over 20 random inputs: each input
    and, in one batch, its copies with one pixel changed."""
    torch.manual_seed(0)
    pixels = shape[1] * shape[2]
    moved = torch.zeros(pixels, dtype=torch.bool)
    with torch.no_grad():
        for _ in range(20):
            base = torch.randn(1, *shape)
            batch = base.repeat(pixels, 1, 1, 1)
            batch.view(pixels, -1)[torch.arange(pixels), torch.arange(pixels)] += \
                4 * torch.randn(pixels)
            out = model(torch.cat([base, batch]))[(slice(None), 0) + index]
            moved |= out[1:] != out[0]
    return _span(moved.view(shape[1:]))


def test_unpool_switches_widen_the_field_by_perturbation():
    model = SwitchesOnly().eval()
    size, stride, padding = measured_field(model, (1, 24, 24), (10, 10), 2, change_extent)
    rf = field("a: avgpool(2)\nfrom x -> conv(1, 5, p=2) -> p: maxpool(2, indices=true)\n"
               "from a -> unpool(p)", (1, 24, 24))
    assert (rf["size"], rf["stride"], rf["padding"]) == (size, stride, padding)
    assert rf["size"] == [7, 7]  # the switches' 6 pixels (conv 5 over a 2-pixel window),
    # as the union of output 2q's and 2q+1's fields placed at their own positions


RUNS = """block unit(s: int) {
    conv(2, 3, s=s, p=1) -> relu
}
network n {
    input x: [2, 64, 64]
    unit(1) * 3
    unit(2) * 3
}"""


def test_each_call_of_a_run_has_the_field_autograd_finds():
    """The rows of `unit(s) * n` place each call's field from the one before it: checked
    against the gradient of each call's centre output, read by a hook on the built module."""
    net = netdsl.load(RUNS)
    model = netdsl.build(net).double().eval()
    for conv in model.modules():
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.constant_(conv.weight, 1.0)
            torch.nn.init.constant_(conv.bias, 1.0)  # relu passes every gradient
    rows = {r.name: r.rf.as_dict() for r in net.stats().layers if r.is_block}
    assert list(rows) == [str(k) for k in range(6)]
    for name, module in model.named_children():
        x = torch.ones(1, 2, 64, 64, dtype=torch.float64, requires_grad=True)
        seen: list[torch.Tensor] = []
        hook = module.register_forward_hook(lambda m, a, out, seen=seen: seen.append(out))
        model(x)
        hook.remove()
        out = seen[0]
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        ys, xs = x.grad[0, 0].nonzero().unbind(1)
        size = [int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1]
        assert rows[name]["size"] == size, name


SMALLEST = [
    ("conv(2, 3, s=2) -> conv(2, 3, s=2) -> upsample(2) -> conv(2, 3) -> upsample(2) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 2, 3, 2),
                           nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3),
                           nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3)), 11),
    ("conv(2, 3, s=2) -> conv(2, 3, s=2) -> conv_transpose(2, 3, s=2, p=1) -> "
     "conv_transpose(2, 4, s=2, p=1) -> conv(2, 3)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.Conv2d(2, 2, 3, 2),
                           nn.ConvTranspose2d(2, 2, 3, 2, 1), nn.ConvTranspose2d(2, 2, 4, 2, 1),
                           nn.Conv2d(2, 2, 3)), 11),
    ("conv(2, 3, s=2) -> conv_transpose(2, 3, s=2, p=1) -> conv(2, 3) -> "
     "conv_transpose(2, 3, s=2, p=1) -> conv(2, 5)",
     lambda: nn.Sequential(nn.Conv2d(1, 2, 3, 2), nn.ConvTranspose2d(2, 2, 3, 2, 1),
                           nn.Conv2d(2, 2, 3), nn.ConvTranspose2d(2, 2, 3, 2, 1),
                           nn.Conv2d(2, 2, 5)), 7),
]


@pytest.mark.parametrize("body, make, smallest", SMALLEST, ids=[c[0] for c in SMALLEST])
def test_min_size_after_upsamplings_is_the_smallest_outputs_field(body, make, smallest):
    """On one path, `min_size` is the field of the output that sees least: measured by
    autograd over the four phases of two upsamplings by 2 (the union of the phases said 13
    for nearest upsampling twice, every output seeing 11 or 15 pixels)."""
    model = positive(make())
    sizes = []
    for d in range(4):
        (first, last), _ = gradient_extent(model, (1, 90, 90), (24 + d, 24 + d))
        sizes.append(last - first + 1)
    assert min(sizes) == smallest == field(body, (1, 90, 90))["min_size"][0]


RESAMPLING = ["conv(1, 3, p=1)", "conv(1, 3, s=2, p=1)", "conv(1, 2, s=2)", "avgpool(2)",
              "avgpool(3, s=2, p=1)", "upsample(2)", "upsample(2, mode=bilinear)",
              "conv_transpose(1, 2, s=2)", "conv_transpose(1, 3, s=2, p=1, output_padding=1)",
              "conv_transpose(1, 4, s=2, p=1)", "crop(size=[40, 40])"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(RESAMPLING), min_size=2, max_size=5))
def test_random_resampling_chains_match_autograd_phase_by_phase(chain):
    """Chains of strided layers, upsamplings and transposed convolutions, built by torch:
    over eight neighbouring outputs (every phase of up to three upsamplings by 2), the
    union of their fields placed at their positions is the field netdsl reports, and the
    output that sees least sees `min_size` pixels. (No max pooling: its gradient reaches only
    the pixel it picked.)"""
    assume(sum(op.startswith(("upsample", "conv_transpose")) for op in chain) <= 3)
    try:
        net = netdsl.load("network n {\n input x: [1, 96, 96]\n " + " -> ".join(chain) + "\n}\n")
    except netdsl.NetdslError:
        assume(False)  # a crop larger than the map
    out = net.stats().layers[-1]
    side = out.output[-1]
    assume(side >= 24 and isinstance(out.rf, netdsl.analysis.receptive_field.Field))
    model = positive(netdsl.build(net))
    j = side // 2 - 4
    extents = [gradient_extent(model, (1, 96, 96), (j + d, j + d))[0] for d in range(9)]
    assume(all(0 < first and last < 95 for first, last in extents))
    stride = Fraction(extents[8][0] - extents[0][0], 8)
    first = min(f - d * stride for d, (f, _) in enumerate(extents[:8]))
    last = max(t - d * stride for d, (_, t) in enumerate(extents[:8]))
    rf = out.rf.axes[0]
    assert (rf.size, rf.stride, rf.start) == (last - first + 1, stride, first - j * stride)
    assert rf.min_size == min(t - f + 1 for f, t in extents[:8])


def test_phases_are_bounded():
    """Each upsampling by 2 doubles the phases a field keeps: 40 of them would keep 2^40 (a
    spec of three lines ran out of memory). Up to MAX_FIELD_PHASES they are kept exactly;
    beyond, the field is their union, as after a resize by a fraction."""
    from netdsl.limits import MAX_FIELD_PHASES

    def last(n: int):
        net = netdsl.load(f"network n {{\n input x: [1, 1, 8]\n upsample([1, 2]) * {n}\n}}\n")
        return net.stats().layers[-1].rf.axes[1]

    kept, capped = last(6), last(40)
    assert kept.phases is not None and kept.phases.period == 64 == MAX_FIELD_PHASES
    assert capped.phases is None and capped.stride == Fraction(1, 2 ** 40)
    assert capped.min_size == 1 and capped.size < 2


def _extents_per_output(model: nn.Module, shape: tuple[int, ...], side: int) -> list[Extent]:
    """Autograd's extent of every output along the diagonal (i, i)."""
    return [gradient_extent(model, shape, (i, i)) for i in range(side)]


# Resizes by a fraction: each output's autograd extent lies inside the field netdsl places at
# it, and (from the input, whose pixels all see alike) the union over the outputs is the field.
RESIZES = [
    ("upsample(size=[24, 24], mode=bilinear, align_corners=true)",
     lambda: nn.Upsample(size=(24, 24), mode="bilinear", align_corners=True), (1, 16, 16)),
    ("upsample(2, mode=bilinear, align_corners=true)",
     lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), (1, 16, 16)),
    ("upsample(size=[9, 9], mode=bilinear, align_corners=true)",
     lambda: nn.Upsample(size=(9, 9), mode="bilinear", align_corners=True), (1, 16, 16)),
    ("adaptive_avgpool(6)", lambda: nn.AdaptiveAvgPool2d(6), (1, 4, 4)),
    ("adaptive_avgpool(4)", lambda: nn.AdaptiveAvgPool2d(4), (1, 11, 11)),
    ("adaptive_avgpool(7)", lambda: nn.AdaptiveAvgPool2d(7), (1, 100, 100)),
    ("adaptive_avgpool(5)", lambda: nn.AdaptiveAvgPool2d(5), (1, 16, 16)),
]


@pytest.mark.parametrize("body, make, shape", RESIZES, ids=[c[0] for c in RESIZES])
def test_resizes_by_a_fraction_match_autograd(body, make, shape):
    net = netdsl.load(f"network n {{\n input x: [{', '.join(map(str, shape))}]\n {body}\n}}\n")
    out = net.stats().layers[-1]
    rf, side = out.rf.axes[0], out.output[-1]
    extents = [e[0] for e in _extents_per_output(positive(make()), shape, side)]
    below = [Fraction(first) - (rf.start + i * rf.stride) for i, (first, _) in enumerate(extents)]
    above = [rf.start + i * rf.stride + rf.size - 1 - last for i, (_, last) in enumerate(extents)]
    assert min(below) == 0 and min(above) == 0  # every output inside, the bounds reached
    assert rf.min_size == min(last - first + 1 for first, last in extents)


def test_resizes_after_strided_layers_cover_every_output():
    """After a convolution and a pooling the field of each pixel is wider than the step: every
    output of the resize still lies inside the field placed at it."""
    chain = "conv(1, 3, p=1) -> avgpool(2) -> upsample(size=[23, 23], mode=bilinear, " \
            "align_corners=true) -> adaptive_avgpool(10)"
    model = positive(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.AvgPool2d(2),
                                   nn.Upsample(size=(23, 23), mode="bilinear",
                                               align_corners=True), nn.AdaptiveAvgPool2d(10)))
    net = netdsl.load(f"network n {{\n input x: [1, 32, 32]\n {chain}\n}}\n")
    rf = net.stats().layers[-1].rf.axes[0]
    for i, ((first, last), _) in enumerate(_extents_per_output(model, (1, 32, 32), 10)):
        assert rf.start + i * rf.stride <= first and last <= rf.start + i * rf.stride + rf.size - 1


@pytest.mark.parametrize("norm, make", [
    ("groupnorm(1)", lambda: nn.GroupNorm(1, 2)),
    ("groupnorm(2)", lambda: nn.GroupNorm(2, 2)),
    ("instancenorm", lambda: nn.InstanceNorm2d(2)),
    ("layernorm(3)", lambda: nn.LayerNorm([2, 16, 16])),
])
def test_norms_over_the_map_keep_the_field_and_note_global_context(norm, make):
    """Group, instance and layer norm over the map normalise each element by statistics of the
    whole map: autograd finds every pixel, and the field is reported as an SE gate's is, the
    convolution's own marked global context."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), make())
    with torch.no_grad():
        model[0].weight.normal_()
    assert gradient_extent(model, (1, 16, 16), (8, 8)) == [(0, 15), (0, 15)]
    rf = field(f"conv(2, 3, p=1) -> {norm}", (1, 16, 16))
    assert (rf["size"], rf["stride"], rf["global_context"]) == ([3, 3], [1, 1], True)


class _Tokens(nn.Module):
    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


def test_pooling_a_sequence_features_keeps_each_tokens_field():
    """Pooling a [tokens, features] sequence to one feature averages each token's features:
    token 5 of a 4 x 4 patch grid still reads its 4 x 4 patch (autograd), not the image."""
    model = positive(nn.Sequential(nn.Conv2d(3, 8, 4, 4), _Tokens(), nn.AdaptiveAvgPool1d(1)))
    x = torch.ones(1, 3, 16, 16, requires_grad=True)
    model(x)[0, 5, 0].backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero().unbind(1)
    rf = field("conv(8, 4, s=4) -> flatten(1) -> transpose(0, 1) -> adaptive_avgpool(1)",
               (3, 16, 16))
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (4, 7, 4, 7)
    assert rf != "global" and rf["size"] == [4, 4] and rf["stride"] == [4, 4]


@pytest.mark.parametrize("tail, reduce, rf_expected", [
    # over the tokens: every token read, the whole image
    ("mean(0)", lambda t: t.mean(1)[0, 0], "global"),
    # over each token's features: token 5 reads its own 4 x 4 patch
    ("mean(1)", lambda t: t.mean(2)[0, 5], ([4, 4], [4, 4])),
    ("mean(1, keep=true)", lambda t: t.mean(2, keepdim=True)[0, 5, 0], ([4, 4], [4, 4])),
])
def test_a_mean_over_an_axis_reads_that_axis_whole(tail, reduce, rf_expected):
    """The field netdsl gives equals the extent autograd finds for one output."""
    model = positive(nn.Sequential(nn.Conv2d(3, 8, 4, 4), _Tokens()))
    x = torch.ones(1, 3, 16, 16, requires_grad=True)
    reduce(model(x)).backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero().unbind(1)
    rf = field(f"conv(8, 4, s=4) -> flatten(1) -> transpose(0, 1) -> {tail}", (3, 16, 16))
    if rf_expected == "global":
        assert rf == "global" and (int(rows.max()) - int(rows.min()) + 1) == 16
    else:
        assert (rf["size"], rf["stride"]) == rf_expected
        assert (int(rows.max()) - int(rows.min()) + 1, int(cols.max()) - int(cols.min()) + 1) \
            == tuple(rf_expected[0])
