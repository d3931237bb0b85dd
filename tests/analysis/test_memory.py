"""Activation memory: totals and the peak live bytes of the compiled module's forward, checked by
hand on small graphs and against the storage torch allocates running the compiled module.

The torch measurement runs `netdsl.build`'s module (the code `netdsl compile` writes) under a
dispatch mode that sees every tensor torch allocates: a storage counts from the op that creates
it until the last tensor viewing it is garbage (CPython frees it at once), so its peak is the
peak of live activation storage, parameters and buffers excluded. The caller holds the input,
as `out = model(x)` does.
"""

from __future__ import annotations

import weakref

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import netdsl
from tests.conftest import SPECS


class LiveStorage(TorchDispatchMode):
    """Bytes of tensor storage created by ops and still referenced; the peak of that sum."""

    def __init__(self, ignore: set[int]):
        super().__init__()
        self.ignore = ignore  # parameter storages
        self.holders: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.live = self.peak = 0

    def _release(self, key: int) -> None:
        self.holders[key] -= 1
        if not self.holders[key]:
            self.live -= self.sizes.pop(key)
            del self.holders[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if key in self.ignore:
                continue
            if key not in self.holders:
                self.holders[key] = 0
                self.sizes[key] = storage.nbytes()
                self.live += storage.nbytes()
            self.holders[key] += 1
            weakref.finalize(t, self._release, key)
        self.peak = max(self.peak, self.live)
        return out


def compiled_peak(source, batch: int = 1) -> int:
    """The peak of live storage while the compiled module of `source` (a spec's text or path)
    runs on a batch of zeros, the batch included, weights and buffers left out."""
    model = netdsl.build(source).eval()
    (shape,) = netdsl.load(source).stats().inputs.values()
    mode = LiveStorage({t.untyped_storage().data_ptr()
                        for t in [*model.parameters(), *model.buffers()]})
    with torch.no_grad(), mode:
        x = torch.zeros(batch, *shape)
        out = model(x)
        del out, x
    return mode.peak


def network(body: str, shape: tuple[int, ...], blocks: str = "") -> str:
    dims = ", ".join(map(str, shape))
    return f"{blocks}\nnetwork n {{\n input x: [{dims}]\n{body}\n}}\n"


def stats(body: str, shape: tuple[int, ...], dtype: str = "float32"):
    return netdsl.load(network(body, shape)).stats(dtype)


def test_chain_by_hand():
    """x 16 -> conv 32 -> relu 32 -> flatten (a view) -> linear 3 elements.

    The relu overwrites the conv's output in place; x is held by the caller to the end. Alive
    while the linear layer runs: x, the conv's storage and the linear's output (51)."""
    s = stats("conv(2, 1) -> relu -> flatten -> linear(3)", (1, 4, 4))
    assert s.activation_elements == 16 + 32 + 32 + 3
    assert s.activation_bytes == 4 * (16 + 32 + 32 + 3)
    assert s.peak_activation_bytes == 4 * 51


def test_residual_by_hand():
    """x (32) stays alive to the end; the relu works in place: x + conv + add = 96 at the add."""
    s = stats("conv(2, 1) -> relu\nadd(x)", (2, 4, 4))
    assert s.peak_activation_bytes == 4 * 96


def test_concat_branches_by_hand():
    """Three 1x1 branches of x (8 each) and their concat (24), x held throughout: 56."""
    s = stats("concat {\n conv(2, 1)\n conv(2, 1)\n conv(2, 1)\n}", (2, 2, 2))
    assert s.peak_activation_bytes == 4 * 56


def test_a_block_holds_its_input_until_it_returns_by_hand():
    """x 16 -> conv 32 -> a block (conv 16 -> sigmoid 16): inside the block the caller still
    holds the conv's output (its argument) after the block's conv has read it: 16 + 32 + 16 +
    16 = 80 at the sigmoid (64 if it were freed after its last reader)."""
    blocks = "block squeeze() {\n conv(1, 1) -> sigmoid\n}\n"
    s = netdsl.load(network("conv(2, 1)\nsqueeze()", (1, 4, 4), blocks)).stats()
    assert s.peak_activation_bytes == 4 * 80


def test_dtype_scales_bytes():
    f32 = stats("conv(2, 1) -> relu", (1, 4, 4))
    f16 = stats("conv(2, 1) -> relu", (1, 4, 4), "float16")
    assert f16.peak_activation_bytes * 2 == f32.peak_activation_bytes
    assert f16.activation_bytes * 2 == f32.activation_bytes
    assert f16.param_bytes * 2 == f32.param_bytes


NESTED = """block unit(c: int) {
    add {
        { conv(c, 3, p=1, bias=false) -> bn -> relu
          conv(c, 3, p=1, bias=false) -> bn }
        identity
    }
    relu
}

block stage(c: int, n: int) {
    conv(c, 1, bias=false) -> bn -> relu
    unit(c) * n
}

block tower(c: int) {
    a: stage(c, 2)
    stage(c, 3)
    add(a)
}
"""

MINI_UNET = """block double_conv(c: int) {
    conv(c, 3) -> relu
    conv(c, 3) -> relu
}
"""

ENCODER = """
block enc() {
    add {
        identity
        layernorm -> attention(2)
    }
    add {
        identity
        layernorm -> linear(32) -> gelu -> linear(16)
    }
}
"""

THREE = """
block three() {
    a: conv(16, 1)
    b: conv(2, 1)
    z: conv(4, 1)
    output b, a, z
}
"""

COMPILED = {
    "chain": network("conv(8, 3, p=1) -> relu -> avgpool(2) -> conv(4, 3, s=2, p=1) -> relu "
                     "-> flatten -> linear(10)", (3, 16, 16)),
    "residual": network("conv(4, 3, p=1, bias=false) -> relu -> conv(4, 3, p=1, bias=false)\n"
                        "add(x)\nb: relu\nconv(4, 3, p=1, bias=false) -> sigmoid\nmul(b)",
                        (4, 10, 10)),
    # blocks in blocks, runs of a block, shortcuts inside blocks and across block calls
    "nested": network("conv(8, 3, p=1) -> relu\nt: tower(8)\ntower(16)\n"
                      "avgpool(2) -> flatten -> linear(10)", (3, 12, 12), NESTED),
    # U-Net's skips: center crops (views of the encoder's maps) concatenated
    "mini_unet": network("enc1: double_conv(8)\nmaxpool(2) -> enc2: double_conv(16)\n"
                         "up1: conv_transpose(8, 2, s=2)\n"
                         "from enc1 -> crop(up1) -> concat(up1) -> double_conv(8)\n"
                         "conv(2, 1)", (1, 44, 44), MINI_UNET),
    # dropout returns its input in eval mode: it makes nothing, in a block or a run of blocks
    "dropout": network("conv(8, 3, p=1) -> dropout(0.1)\nb * 3\nflatten -> dropout(0.5) -> "
                       "linear(10)", (4, 8, 8), "block b() {\n dropout(0.1) -> conv(8, 1)\n}"),
    # a labeled chain of blocks runs as an nn.Sequential, whose caller holds its input to the
    # end (ViT's encoder layers)
    "sequential_group": network("linear(16)\nlayers: {\n enc\n enc\n enc\n}\nlayernorm",
                                (10, 16), ENCODER),
    # a flatten of a crop or of a permute is a copy (torch.flatten reshapes what it cannot
    # view), also of a crop a block returned
    "copies": network("crop(size=[6, 6]) -> permute([1, 2, 0]) -> flatten -> linear(5)",
                      (4, 12, 12)),
    "copy_of_a_returned_view": network("tail\nflatten -> linear(5)", (4, 12, 12),
                                       "block tail() {\n crop(size=[2, 2])\n}"),
    # a block that returns a view (a crop of its 9 x 9 map): its caller holds the whole map
    "returned_view": network("concat {\n tail\n tail\n}", (4, 9, 9),
                             "block tail() {\n conv(16, 1) -> crop(size=[2, 2])\n}"),
    # Swin's window attention, step by step: the windows' q, k and v, matmul's copies, the
    # scores and their softmax; with a shift (its mask), padding (then a crop), one window,
    # one head, windows of one row
    "windows": network("window_attention(2, 4)", (8, 8, 6)),
    "shifted_windows": network("window_attention(2, 4, shift=2)", (8, 12, 6)),
    "padded_windows": network("window_attention(3, 3, shift=1)", (7, 5, 6)),
    "one_window": network("window_attention(1, 7, shift=3)", (7, 7, 4)),
    "row_windows": network("window_attention(2, [1, 3], shift=[0, 1])", (9, 10, 8)),
    # local response norm: a padded copy of the squares, then an elementwise chain
    "lrn": network("lrn(5)", (96, 13, 13)),
    "lrn_wide": network("lrn(9)", (4, 5, 5)),
    # an `expect` reads a layer's shape, not its tensor: the relu after it works in place
    # (ZFNet's conv1 .. conv5 were followed by relus that copied)
    "expected_layer": network("c1: conv(8, 3, p=1) -> relu\navgpool(2)\n"
                              "expect c1.output == [8, 12, 12]", (3, 12, 12)),
    # a label named like an operator: the bare `relu` after it calls the operator, it does not
    # read the label, so it works in place (it copied, a third above the count)
    "label_named_bn": network("bn: bn\nrelu", (8, 16, 16)),
    "label_named_relu": network("relu: conv(8, 1)\nrelu", (8, 16, 16)),
    # outputs of a block that nothing reads go as the block returns (PSPNet's backbone gives
    # four maps, its head reads one): the module held them to the end, a fifth above the count
    "unread_outputs": network("t: three\nfrom t.b -> conv(32, 3, p=1) -> concat(t.z) -> "
                              "conv(32, 3, p=1)", (4, 16, 16), THREE),
    "one_output_read": network("t: three\nfrom t.b -> conv(32, 3, p=1) -> conv(32, 3, p=1)",
                               (4, 16, 16), THREE),
    "bare_operator_after_its_label": network("b", (8, 16, 16),
                                             "block b {\n bn: bn\n relu\n conv(8, 1)\n bn\n"
                                             " relu\n}"),
}


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("batch", [1, 3])
def test_peak_is_the_compiled_modules(name, batch):
    source = COMPILED[name]
    ours = netdsl.load(source).stats(batch=batch).peak_activation_bytes
    assert ours == compiled_peak(source, batch)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "densenet121", "swin_t",
                                  "a2_block", "nonlocal_block", "shufflenet_v1",
                                  "preact_resnet164", "alexnet_caffe", "oct_resnet50",
                                  pytest.param("vit_b_16", marks=pytest.mark.slow)])
def test_peak_of_zoo_networks_is_the_compiled_modules(name):
    """Bottlenecks and downsampling shortcuts in runs of blocks, inverted residuals, dense
    blocks' concatenations, Swin's shifted window attention (it was 11% under before its
    workspace followed the module step by step), ViT's encoder layers (a labeled chain, an
    nn.Sequential whose caller holds its input), the double attention and non-local blocks
    (whose forwards once held each temporary to the end: 14% and 22% above the count, now
    deleted after their last use), ShuffleNet's relu after an `if` of merges (now in place),
    pre-activation's rebound input (deleted once the shortcut has read it), local response
    norm's temporaries (AlexNet's Caffe layout), OctConv's high-frequency map read last in the
    branch that makes the low-frequency output (the module held 3% more until that branch
    deleted it);
    bench/memory.py measures the first three and ResNet-50 and U-Net at batch 8."""
    path = SPECS / f"{name}.net"
    assert netdsl.load(path).stats().peak_activation_bytes == compiled_peak(path)


def test_max_pooling_makes_int64_switches_netdsl_leaves_out():
    """Torch's max pooling allocates its switches (int64, one per output element) even under
    no_grad, freed as it returns; netdsl's peak leaves them out (docs/language.md), which is
    all that separates it from torch's where the peak falls on a max pooling."""
    source = network("conv(8, 3, p=1) -> relu -> maxpool(2) -> flatten -> linear(10)",
                     (3, 16, 16))
    ours = netdsl.load(source).stats().peak_activation_bytes
    switches = 8 * 8 * 8 * 8
    assert compiled_peak(source) == ours + switches


class Shapes(TorchDispatchMode):
    """The shape of every tensor torch makes."""

    def __init__(self):
        super().__init__()
        self.made: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.made.append(tuple(t.shape))
        return out


def _peak_of(module: nn.Module, x_shape: tuple[int, ...]) -> int:
    mode = LiveStorage({t.untyped_storage().data_ptr()
                        for t in [*module.parameters(), *module.buffers()]})
    with torch.no_grad(), mode:
        out = module(torch.randn(*x_shape))
        del out
    return mode.peak


def test_compiled_window_attention_computes_torchvisions_in_less_memory():
    """The compiled module's ShiftedWindowAttention loads torchvision's weights strictly and
    gives its outputs, holding a sixth less at its peak (10.3 MB against 12.1 MB at Swin-T's
    first stage, input included): it frees the padded map, the windows and the scores once
    read, and adds the bias and the mask in place. netdsl counts exactly what it holds (the
    COMPILED cases above check more shapes)."""
    from torchvision.models.swin_transformer import ShiftedWindowAttention as Reference

    from netdsl.backends.pytorch.runtime import ShiftedWindowAttention
    torch.manual_seed(0)
    reference = Reference(96, [7, 7], [3, 3], 3).eval()
    ours = ShiftedWindowAttention(96, [7, 7], [3, 3], 3).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 56, 56, 96)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-5, rtol=0)
    lean, theirs = _peak_of(ours, (1, 56, 56, 96)), _peak_of(reference, (1, 56, 56, 96))
    assert lean < 0.9 * theirs, (lean, theirs)
    body = "window_attention(3, 7, shift=3)"
    counted = netdsl.load(network(body, (56, 56, 96))).stats().peak_activation_bytes
    assert counted == lean


def test_fused_attention_makes_no_attention_matrix_and_none_is_counted():
    """nn.MultiheadAttention as lowered (need_weights=False) runs torch's fused kernel: no
    [heads, tokens, tokens] tensor is made on this machine; netdsl counts none and says so."""
    attention = nn.MultiheadAttention(16, 2, batch_first=True).eval()
    seen = Shapes()
    x = torch.zeros(1, 10, 16)
    with torch.no_grad(), seen:
        attention(x, x, x, need_weights=False)
    assert not [s for s in seen.made if s[-2:] == (10, 10)]
    stats = netdsl.load("network n {\n input x: [10, 16]\n attention(2)\n}\n").stats()
    assert stats.activation_elements == 2 * 10 * 16
    assert stats.notes and stats.notes[0].startswith("attention (1 layer): [heads, tokens")
