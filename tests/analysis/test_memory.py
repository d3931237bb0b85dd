"""Activation memory: totals and the peak live bytes of a forward that frees each tensor after
its last use, checked by hand on small graphs and against torch's own allocations.

The torch measurement runs a hand-written forward (each tensor dropped after its last use, as
netdsl's schedule does) under a dispatch mode that sees every tensor torch allocates: a storage
counts from the op that creates it until the last tensor viewing it is garbage (CPython frees it
at once), so its peak is the peak of live activation storage, parameters excluded.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import netdsl


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


def torch_peak(forward, modules: list[nn.Module], shape: tuple[int, ...], dtype=torch.float32):
    ignore = {p.untyped_storage().data_ptr() for m in modules for p in m.parameters()}
    ignore |= {b.untyped_storage().data_ptr() for m in modules for b in m.buffers()}
    mode = LiveStorage(ignore)
    with torch.no_grad(), mode:
        box = [torch.zeros(1, *shape, dtype=dtype)]
        out = forward(box)
        del out
    return mode.peak


def stats(body: str, shape: tuple[int, ...], dtype: str = "float32"):
    dims = ", ".join(map(str, shape))
    return netdsl.load(f"network n {{\n input x: [{dims}]\n{body}\n}}\n").stats(dtype)


def test_chain_by_hand():
    """x 16 -> conv 32 -> relu 32 -> flatten (a view) -> linear 3 elements.

    Alive while relu runs: conv's output and relu's (64); x was freed after conv."""
    s = stats("conv(2, 1) -> relu -> flatten -> linear(3)", (1, 4, 4))
    assert s.activation_elements == 16 + 32 + 32 + 3
    assert s.activation_bytes == 4 * (16 + 32 + 32 + 3)
    assert s.peak_activation_bytes == 4 * 64


def test_residual_by_hand():
    """x (32) stays alive until the add: conv 32 + relu 32 + x 32 = 96 at the relu."""
    s = stats("conv(2, 1) -> relu\nadd(x)", (2, 4, 4))
    assert s.peak_activation_bytes == 4 * 96


def test_concat_branches_by_hand():
    """Three 1x1 branches of x (8 each): x + b1 + b2 + b3 alive, then the concat (24)."""
    s = stats("concat {\n conv(2, 1)\n conv(2, 1)\n conv(2, 1)\n}", (2, 2, 2))
    # x 8, three branches of 8 = 32; at the concat: 24 out + 24 inputs (x freed after b3)
    assert s.peak_activation_bytes == 4 * 48


def test_dtype_scales_bytes():
    f32 = stats("conv(2, 1) -> relu", (1, 4, 4))
    f16 = stats("conv(2, 1) -> relu", (1, 4, 4), "float16")
    assert f16.peak_activation_bytes * 2 == f32.peak_activation_bytes
    assert f16.activation_bytes * 2 == f32.activation_bytes
    assert f16.param_bytes * 2 == f32.param_bytes


def test_chain_against_torch():
    conv1, conv2, fc = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, 2, 1), nn.Linear(64, 10)

    def forward(box):
        x = box.pop()
        y = conv1(x)
        del x
        y = torch.relu(y)
        y = nn.functional.max_pool2d(y, 2)
        y = conv2(y)
        y = torch.relu(y)
        y = torch.flatten(y, 1)
        return fc(y)

    ours = stats("conv(8, 3, p=1) -> relu -> maxpool(2) -> conv(4, 3, s=2, p=1) -> relu -> "
                 "flatten -> linear(10)", (3, 16, 16))
    assert ours.peak_activation_bytes == torch_peak(forward, [conv1, conv2, fc], (3, 16, 16))


def test_residual_net_against_torch():
    conv1, conv2, conv3 = (nn.Conv2d(4, 4, 3, padding=1, bias=False) for _ in range(3))

    def forward(box):
        x = box.pop()
        skip = x
        y = conv1(x)
        del x
        y = torch.relu(y)
        y = conv2(y)
        y = y + skip
        del skip
        y = torch.relu(y)
        skip = y
        y = conv3(y)
        y = torch.sigmoid(y)
        y = y * skip
        return y

    ours = stats("conv(4, 3, p=1, bias=false) -> relu -> conv(4, 3, p=1, bias=false)\n"
                 "add(x)\nb: relu\nconv(4, 3, p=1, bias=false) -> sigmoid\nmul(b)", (4, 10, 10))
    assert ours.peak_activation_bytes == torch_peak(forward, [conv1, conv2, conv3], (4, 10, 10))


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


def test_window_attention_workspace_is_the_attention_matrix_torchvision_makes():
    """Swin's scores, windows x heads x tokens x tokens, exist as a tensor in torchvision's
    forward; netdsl counts one such matrix as the operator's workspace, alive while it runs."""
    from torchvision.models.swin_transformer import ShiftedWindowAttention
    attention = ShiftedWindowAttention(8, [4, 4], [2, 2], 2).eval()
    seen = Shapes()
    with torch.no_grad(), seen:
        attention(torch.zeros(1, 8, 12, 8))
    scores = (6, 2, 16, 16)  # 2 x 3 windows, 2 heads, 16 tokens a window
    assert scores in seen.made
    body = "permute([1, 2, 0]) -> window_attention(2, 4, shift=2)"
    with_attention = netdsl.load(f"network n {{\n input x: [8, 8, 12]\n{body}\n}}\n").stats()
    without = netdsl.load("network n {\n input x: [8, 8, 12]\npermute([1, 2, 0]) -> relu\n}\n")
    counted = with_attention.activation_elements - without.stats().activation_elements
    assert counted == 6 * 2 * 16 * 16


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
