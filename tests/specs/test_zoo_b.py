"""The model zoo, second half: MobileNets, ShuffleNets, EfficientNet, Xception and the attention
ResNets, each against code or figures netdsl did not produce.

Torchvision's models (mobilenet_v3_large/small, shufflenet_v2_x1_0, efficientnet_b0) are the
reference where they exist: parameter and buffer counts, the modules holding them (name, params
and buffers, so state dicts line up), the output shape of a forward pass, and MACs as
torch.utils.flop_counter.FlopCounterMode counts them (FLOPs / 2; SE's pooling and products are
not MACs there, nor here). The others are checked against the figures their papers (or Keras)
publish, within 1% where the paper rounds. The new operators these specs need (slice, matmul,
broadcasting add) are checked against torch on small tensors, and the composed SE, GC and SK
blocks against plain torch rebuilds of the papers' blocks.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netdsl
from tests.conftest import SPECS
from tests.specs.reference import Reference, measure

TORCHVISION = ["mobilenet_v3_large", "mobilenet_v3_small", "shufflenet_v2_x1_0",
               "efficientnet_b0"]


def _macs(model: nn.Module, *shape: int) -> tuple[int, torch.Tensor]:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, *shape))
    return counter.get_total_flops() // 2, out


@pytest.fixture(scope="module", params=[pytest.param(name, marks=pytest.mark.slow)
                                        for name in TORCHVISION])
def tv(request) -> tuple[Reference, netdsl.Network]:
    """Each torchvision model built and run once, with its spec loaded."""
    reference = measure(getattr(torchvision.models, request.param)(), 224)
    return reference, netdsl.load(SPECS / f"{request.param}.net")


def test_params_and_buffers_equal_torchvision(tv):
    ref, net = tv
    stats = net.stats()
    assert (stats.params, stats.buffers) == (ref.params, ref.buffers)


def test_output_shape_equals_torchvision(tv):
    ref, net = tv
    assert list(net.stats().outputs.values()) == [ref.output]


def test_macs_match_flop_counter(tv):
    ref, net = tv
    macs = net.stats().macs
    assert abs(macs - ref.macs) / ref.macs < 0.01
    assert macs == ref.macs  # exactly, in fact: the same operators are counted


def test_layers_holding_weights_are_named_as_torchvision(tv):
    """Every leaf layer with params or buffers is torchvision's module of that name holding the
    same numbers, and every torchvision module that holds any is a layer of the spec."""
    ref, net = tv
    ours = {r.name: (r.params, r.buffers) for r in net.stats().layers
            if not r.is_block and (r.params or r.buffers)}
    assert ours == ref.holders


@pytest.mark.slow
def test_efficientnet_records_torchvision_stochastic_depth_rates():
    model = torchvision.models.efficientnet_b0()
    rates = {n: m.p for n, m in model.named_modules()
             if isinstance(m, torchvision.ops.StochasticDepth)}
    net = netdsl.load(SPECS / "efficientnet_b0.net")
    ours = {n.name: n.op.p for n in net.graph.nodes.values()
            if n.op is not None and n.op.name == "stochastic_depth"}
    assert ours.keys() == rates.keys()
    assert all(abs(ours[k] - rates[k]) < 1e-12 for k in rates)


# ------------------------------------------------------------------ published figures

def _stats(spec: str, **params):
    return netdsl.load(SPECS / f"{spec}.net", **params).stats()


def _close(ours: int, published: float, tolerance: float = 0.01) -> bool:
    return abs(ours - published) / published < tolerance


def test_xception_matches_keras():
    """Keras Applications' Xception: 22,910,480 parameters in all, of which 22,855,952
    trainable; the rest are the 40 BN layers' moving means and variances."""
    stats = _stats("xception")
    assert stats.params == 22_855_952
    bn_layers = sum(1 for r in stats.layers if r.op == "bn")
    assert stats.params + stats.buffers - bn_layers == 22_910_480
    assert list(stats.outputs.values()) == [(1000,)]


def test_mobilenet_v1_matches_howard_2017():
    """Table 8: 1.0 MobileNet-224, 569 M mult-adds, 4.2 M params."""
    stats = _stats("mobilenet_v1")
    assert _close(stats.macs, 569e6) and _close(stats.params, 4.2e6)


@pytest.mark.parametrize("scale, mflops", [(1.0, 137), (2.0, 524)])
def test_shufflenet_v1_matches_zhang_2017(scale, mflops):
    """Tables 1 and 2, g = 3: 137 MFLOPs at 1x and 524 MFLOPs at 2x (mult-adds)."""
    stats = _stats("shufflenet_v1", scale=scale)
    assert _close(stats.macs, mflops * 1e6)
    if scale == 1.0:
        assert _close(stats.params, 1.9e6, 0.05)  # "about 1.9 M" (reference code; not in paper)


@pytest.mark.parametrize("spec, params, gmacs", [
    ("se_resnet50", 28.1e6, 3.87),     # Hu et al., Table 2
    ("sknet50", 27.5e6, 4.47),         # Li et al., Table 1
    ("gc_resnet50", 28.08e6, 4.13),    # Cao et al., ImageNet table (r16, c3-c5)
])
def test_attention_resnets_match_their_papers(spec, params, gmacs):
    stats = _stats(spec)
    assert _close(stats.params, params)
    assert _close(stats.macs, gmacs * 1e9)
    assert list(stats.outputs.values()) == [(1000,)]


# ------------------------------------------------------------------ operators against torch

def test_slice_takes_channels_like_torch():
    net = netdsl.load("network n { input x: [6, 5, 5]\n slice(2, 5) }")
    assert list(net.stats().outputs.values()) == [tuple(torch.zeros(1, 6, 5, 5)[:, 2:5].shape[1:])]
    net = netdsl.load("network n { input x: [6, 5, 5]\n slice(1, -1, axis=2) }")
    assert list(net.stats().outputs.values()) == [(6, 5, 3)]


def test_matmul_shape_and_macs_match_torch():
    src = """network n {
        input x: [4, 6]
        matmul { identity
                 reshape([6, 4]) }
    }"""
    stats = netdsl.load(src).stats()
    a, b = torch.zeros(1, 4, 6), torch.zeros(1, 6, 4)
    with FlopCounterMode(display=False) as counter:
        out = torch.matmul(a, b)
    assert list(stats.outputs.values()) == [tuple(out.shape[1:])]
    assert stats.macs == counter.get_total_flops() // 2


def test_add_broadcasts_only_when_asked():
    ok = "network n { input x: [8, 4, 4]\n add(broadcast=true) { identity\n adaptive_avgpool(1) } }"
    assert list(netdsl.load(ok).stats().outputs.values()) == [(8, 4, 4)]
    with pytest.raises(netdsl.NetdslError, match="one shape"):
        netdsl.load(ok.replace("(broadcast=true)", ""))


# ------------------------------------------------------------------ attention blocks vs torch

class GlobalContext(nn.Module):
    """Cao et al. Fig. 4d, written plainly in torch."""

    def __init__(self, c: int, r: int):
        super().__init__()
        self.conv_mask = nn.Conv2d(c, 1, 1)
        self.channel_add = nn.Sequential(nn.Conv2d(c, c // r, 1), nn.LayerNorm([c // r, 1, 1]),
                                         nn.ReLU(), nn.Conv2d(c // r, c, 1))

    def forward(self, x):
        n, c, h, w = x.shape
        weights = self.conv_mask(x).view(n, h * w, 1).softmax(1)
        context = torch.matmul(x.view(n, c, h * w), weights).view(n, c, 1, 1)
        return x + self.channel_add(context)


class SelectiveKernel(nn.Module):
    """Li et al. Fig. 1 with two grouped branches (3x3 and 3x3 dilated 2), written in torch."""

    def __init__(self, c: int, groups: int = 32, r: int = 16, floor: int = 32):
        super().__init__()
        d = max(c // r, floor)

        def branch(dilation: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation,
                                           groups=groups, bias=False),
                                 nn.BatchNorm2d(c), nn.ReLU())
        self.branches = nn.ModuleList([branch(1), branch(2)])
        self.fuse = nn.Sequential(nn.Conv2d(c, d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU())
        self.select = nn.Conv2d(d, 2 * c, 1, bias=False)

    def forward(self, x):
        u = [b(x) for b in self.branches]
        z = self.fuse((u[0] + u[1]).mean((2, 3), keepdim=True))
        a = self.select(z).view(x.shape[0], 2, -1, 1, 1).softmax(1)
        return u[0] * a[:, 0] + u[1] * a[:, 1]


@pytest.mark.parametrize("block, module, c", [
    ("global_context(16)", lambda: GlobalContext(256, 16), 256),
    ("sk_conv(128)", lambda: SelectiveKernel(128), 128),
    ("se(16)", lambda: torchvision.ops.SqueezeExcitation(64, 4), 64),
])
def test_attention_blocks_match_torch_rebuilds(block, module, c):
    src = f'import "{SPECS / "lib" / "attention.net"}"\n' \
          f"network n {{ input x: [{c}, 14, 14]\n {block} }}"
    stats = netdsl.load(src).stats()
    model = module().eval()
    macs, out = _macs(model, c, 14, 14)
    assert stats.params == sum(p.numel() for p in model.parameters())
    assert stats.buffers == sum(b.numel() for b in model.buffers())
    assert list(stats.outputs.values()) == [tuple(out.shape[1:])]
    assert stats.macs == macs


# ------------------------------------------------------------------ octave convolution vs torch

class OctConv(nn.Module):
    """Chen et al. Sec. 3 with its batch norms, on (high, low) pairs, written plainly in torch:
    stride 2 pools before the convs; alpha 0 on either side drops the low part."""

    def __init__(self, c_in: int, c: int, k: int, s: int, a_in: float, a_out: float):
        super().__init__()
        l_in, l_out = int(a_in * c_in), int(a_out * c)
        h_in, h_out = c_in - l_in, c - l_out
        self.s = s

        def conv(i: int, o: int) -> nn.Module | None:
            return nn.Conv2d(i, o, k, padding=(k - 1) // 2, bias=False) if i and o else None
        self.hh, self.lh, self.hl, self.ll = conv(h_in, h_out), conv(l_in, h_out), \
            conv(h_in, l_out), conv(l_in, l_out)
        self.bn_h = nn.BatchNorm2d(h_out)
        self.bn_l = nn.BatchNorm2d(l_out) if l_out else None

    def forward(self, pair):
        hi, lo = pair
        pool = nn.functional.avg_pool2d
        if self.s == 2:
            hi = pool(hi, 2)
        h = self.hh(hi)
        if lo is not None:
            lh = self.lh(lo)
            h = h + (nn.functional.interpolate(lh, scale_factor=2.0) if self.s == 1 else lh)
        if self.bn_l is None:
            return self.bn_h(h), None
        low = self.hl(pool(hi, 2))
        if lo is not None:
            low = low + self.ll(pool(lo, 2) if self.s == 2 else lo)
        return self.bn_h(h), self.bn_l(low)


class OctBottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, s: int, a_in: float, a_out: float):
        super().__init__()
        self.convs = nn.ModuleList([OctConv(c_in, width, 1, 1, a_in, a_out),
                                    OctConv(width, width, 3, s, a_out, a_out),
                                    OctConv(width, 4 * width, 1, 1, a_out, a_out)])
        self.down = OctConv(c_in, 4 * width, 1, s, a_in, a_out) \
            if s != 1 or c_in != 4 * width else None

    def forward(self, pair):
        out = pair
        for i, conv in enumerate(self.convs):
            out = conv(out)
            if i < 2:
                out = tuple(t.relu() if t is not None else None for t in out)
        skip = self.down(pair) if self.down is not None else pair
        return tuple((a + b).relu() if a is not None else None
                     for a, b in zip(out, skip, strict=True))


class OctResNet50(nn.Module):
    def __init__(self, alpha: float):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, c_in = [], 64
        for width, n, s, a_in, a_out in [(64, 3, 1, 0, alpha), (128, 4, 2, alpha, alpha),
                                         (256, 6, 2, alpha, alpha), (512, 3, 2, alpha, 0)]:
            for j in range(n):
                blocks.append(OctBottleneck(c_in, width, s if j == 0 else 1,
                                            a_in if j == 0 else a_out, a_out))
                c_in = 4 * width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x):
        hi, _ = self.blocks((self.stem(x), None))
        return self.fc(hi.mean((2, 3)))


@pytest.mark.parametrize("alpha", [0.25, 0.5])
@pytest.mark.slow
def test_oct_resnet50_matches_torch_rebuild(alpha):
    """Params equal ResNet-50's (OctConv splits kernels, adds none), MACs equal FlopCounterMode's
    count of a plain torch Oct-ResNet-50; at alpha 0.5 they are d-li14/octconv.pytorch's
    published 2.367 GFLOPs."""
    model = OctResNet50(alpha).eval()
    macs, out = _macs(model, 3, 224, 224)
    stats = _stats("oct_resnet50", alpha=alpha)
    assert stats.params == sum(p.numel() for p in model.parameters()) == 25_557_032
    assert stats.buffers == sum(b.numel() for b in model.buffers())
    assert stats.macs == macs
    assert list(stats.outputs.values()) == [tuple(out.shape[1:])]
    if alpha == 0.5:
        assert _close(stats.macs, 2.367e9)


def test_pixel_shuffle_round_trip_shapes_match_torch():
    x = torch.zeros(1, 8, 6, 6)
    net = netdsl.load("network n { input x: [8, 6, 6]\n pixel_shuffle(2)\n pixel_unshuffle(3) }")
    expected = nn.PixelUnshuffle(3)(nn.PixelShuffle(2)(x)).shape[1:]
    assert list(net.stats().outputs.values()) == [tuple(expected)]
