"""Issue 13's generated code for blocks that are modules: a block of two tensor inputs, a block
of two outputs and a head shared by two sites compile to one class per block (a golden file),
and the built module loads a plain torch rebuild's weights strictly and computes what it does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import torch
from torch import nn

import netdsl
from netdsl.backends.pytorch.codegen import generate
from tests.backends.pytorch.conftest import assert_state_matches_ir

SPEC = Path(__file__).parent / "specs" / "blocks_as_modules.net"
GOLDEN = Path(__file__).parent / "golden" / "blocks_as_modules.py"


class Split(nn.Module):
    def __init__(self, cin: int, c: int):
        super().__init__()
        self.lo = nn.Conv2d(cin, c, 1)
        self.hi = nn.Conv2d(cin, c, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.lo(x), self.hi(x)


class Fuse(nn.Module):
    def __init__(self, ca: int, cb: int, width: int = 16):
        super().__init__()
        self.a = nn.Conv2d(ca, width, 1)
        self.b = nn.Conv2d(cb, width, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.a(a) + self.b(b)


class Rebuild(nn.Module):
    """The spec written by hand in torch: one head module applied to two maps."""

    def __init__(self, anchors: int = 9):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.s = Split(16, 16)
        self.f = Fuse(16, 16)
        self.box = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, anchors * 4, 3, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.s(torch.relu(self.stem(x)))
        return self.box(hi), self.box(self.f(lo, lo))


def test_generated_source_is_the_golden_file(update_goldens: bool) -> None:
    source = generate(netdsl.load(SPEC))
    if update_goldens:
        GOLDEN.write_text(source, encoding="utf-8")
    assert source == GOLDEN.read_text(encoding="utf-8")


def test_one_class_per_block_and_one_submodule_for_the_shared_head() -> None:
    source = generate(netdsl.load(SPEC))
    classes = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    assert list(classes) == ["Split", "Fuse", "Head", "Proof"]  # 3 blocks + the network
    forward = next(f for f in classes["Fuse"].body
                   if isinstance(f, ast.FunctionDef) and f.name == "forward")
    assert [a.arg for a in forward.args.args] == ["self", "a", "b"]
    assert source.count("self.box = Head(") == 1 and source.count("self.box(") == 2
    assert "s_lo, s_hi = self.s(x)" in source


def test_loads_a_plain_torch_rebuild_strictly_and_computes_the_same() -> None:
    network = netdsl.load(SPEC)
    built = netdsl.build(network).eval()
    assert_state_matches_ir(built, network)
    torch.manual_seed(0)
    reference = Rebuild().eval()
    mapping = {"f.a.weight": "f.0.weight", "f.a.bias": "f.0.bias",
               "f.b.weight": "f.1.weight", "f.b.bias": "f.1.bias"}
    state = {mapping.get(k, k): v for k, v in reference.state_dict().items()}
    built.load_state_dict(state, strict=True)
    assert sum(p.numel() for p in built.parameters()) == \
        sum(p.numel() for p in reference.parameters()) == network.stats().params
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ours, theirs = built(x), reference(x)
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b)
