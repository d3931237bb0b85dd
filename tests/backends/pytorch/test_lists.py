"""Blocks over lists of tensors are written once, for any length of the list: the classes the
detection specs compile to are used at lengths the specs never built (FPN over 2, 3 and 5
levels, RetinaNet's heads over 3) and load torchvision's modules of those lengths strictly and
compute what they compute; one class serves calls of different lengths in one network; where
a block cannot be written so, it is written per length with a comment saying why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

import netdsl
from netdsl.backends.pytorch import module_namespace
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.codegen import generate
from tests.backends.pytorch.conftest import assert_state_matches_ir
from tests.conftest import SPECS


def _classes(source: str) -> dict[str, str]:
    """Each class's source, with the comment written above it."""
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            start = node.lineno - 1
            while start > 0 and lines[start - 1].startswith("#"):
                start -= 1
            out[node.name] = "\n".join(lines[start:node.end_lineno])
    return out


def _maps(channels: list[int], side: int = 64) -> list[torch.Tensor]:
    """Feature maps halving in size, as a backbone's stages give them."""
    torch.manual_seed(0)
    return [torch.randn(2, c, side >> i, (side + 16) >> i) for i, c in enumerate(channels)]


@pytest.fixture(scope="module")
def fpn_source() -> str:
    return generate(netdsl.load(SPECS / "fpn_resnet50.net"))


@pytest.mark.parametrize("channels", [[16, 32], [8, 16, 32], [8, 16, 32, 64, 128]])
def test_fpn_class_is_torchvisions_fpn_at_any_number_of_levels(fpn_source, channels) -> None:
    """fpn_resnet50 builds its FPN over four levels; the class it compiles to takes any number
    (the spec's `for i in range(n - 2, -1, -1)` is the forward's loop), and any of the spec's
    extra blocks: none, LastLevelMaxPool or LastLevelP6P7, each chosen by the constructor."""
    extras = {"none": (None, 0), "pool": (LastLevelMaxPool(), 1),
              "p6p7": (LastLevelP6P7(24, 24), 2)}
    for extra, (block, more) in extras.items():
        fpn = module_namespace(fpn_source, "fpn")["Fpn"](channels, width=24, extra=extra).eval()
        reference = FeaturePyramidNetwork(channels, 24, extra_blocks=block).eval()
        fpn.load_state_dict(reference.state_dict(), strict=True)
        maps = _maps(channels)
        with torch.no_grad():
            expected = list(reference({str(i): m for i, m in enumerate(maps)}).values())
            got = fpn(maps)
        assert len(got) == len(channels) + more
        for mine, theirs in zip(got, expected, strict=True):
            torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=0)


def test_fpn_class_mirrors_the_spec(fpn_source) -> None:
    """One ModuleList per comprehension, the loop over indices kept, no unpacking."""
    fpn = _classes(fpn_source)["Fpn"]
    assert "nn.ModuleList(\n            ConvLayer(in_channels, width, 1) for in_channels in " \
           "in_channels_list\n        )" in fpn
    assert "for i in range(n - 2, -1, -1):" in fpn
    assert "zip(self.inner_blocks, features, strict=True)" in fpn
    assert "features_0" not in fpn and "in_channels_list[0]" not in fpn


def test_retinanet_heads_are_written_once_and_are_torchvisions_at_three_levels() -> None:
    source = generate(netdsl.load(SPECS / "retinanet_resnet50_fpn.net"))
    classes = _classes(source)
    for name in ("RetinaHead", "RetinaClassificationHead", "RetinaRegressionHead", "ResnetFpn"):
        assert "features_0" not in classes[name] and "features=" not in classes[name]
    assert "for f in features:" in classes["RetinaClassificationHead"]
    assert "nn.Conv2d(256" not in source  # the head's channels come from its tower
    assert "built for" not in classes["RetinanetResnet50Fpn"]  # no size the network needs
    head = module_namespace(source, "retina")["RetinaHead"]([32] * 3, 9, 91).eval()
    torch.manual_seed(0)
    reference = RetinaNetHead(32, 9, 91).eval()
    head.load_state_dict(reference.state_dict(), strict=True)
    maps = _maps([32] * 3, side=32)
    with torch.no_grad():
        expected = reference(maps)
        logits, boxes = head(maps)
    torch.testing.assert_close(logits, expected["cls_logits"], atol=1e-5, rtol=0)
    torch.testing.assert_close(boxes, expected["bbox_regression"], atol=1e-5, rtol=0)


def test_ssd_anchors_stay_one_list_read_by_index() -> None:
    head = _classes(generate(netdsl.load(SPECS / "ssd300_vgg16.net")))["SsdScoringHead"]
    assert "self.anchors = anchors" in head and "self.anchors[i]" in head
    assert "self.anchors_" not in head and "features_0" not in head
    assert "nn.Conv2d(in_channels_list[i], anchors[i] * per_anchor, 3, padding=1)" in head


SPEC = """
import "std/fpn"

block heads(levels: tensors) {
    outs = [from p -> conv(8, 1) for p in levels]
    output outs
}

network two {
    input x: [3, 64, 64]
    c1: conv(8, 3, s=2, p=1)
    c2: conv(16, 3, s=2, p=1)
    c3: conv(32, 3, s=2, p=1)
    p: fpn([c1, c2, c3], 16)
    q: fpn([c2, c3], 16)
    h: heads([c1, c3])
    output p, q, h
}
"""


def test_one_class_for_calls_of_different_lengths_and_a_class_per_length_says_why(
        tmp_path: Path) -> None:
    """`fpn` over three and over two maps is one class; `heads` makes a layer for each item
    by position, which a class for any length cannot name: it is written for its length,
    and the comment above it says so."""
    path = tmp_path / "two.net"
    path.write_text(SPEC, encoding="utf-8")
    network = netdsl.load(path)
    source = generate(network)
    classes = _classes(source)
    assert [n for n in classes if n.startswith("Fpn")] == ["Fpn"]
    assert classes["Heads"].startswith(
        "# `heads` with levels=2: a comprehension makes layers for each item")
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    graph = network.graph
    assert [tuple(o.shape[1:]) for o in outs] == [graph[n].shape for n in graph.outputs.values()]
    assert len(outs) == 7  # p's three levels, q's two, h's two


def test_list_lengths_simplify() -> None:
    """What the generator knows of a list's length: written out, over another list, grown by
    a loop over a range."""
    n = P.name("n")
    assert P.simplify(P.call("len", [P.list_of([n, n])])).const == 2
    comprehension = ast.parse("[c[i - 1] for i in returned]", mode="eval").body
    assert P.simplify(P.Py(ast.Call(ast.Name("len"), [comprehension], []))).text() == \
        "len(returned)"
    passes = P.simplify(P.binop("-", P.binop("-", n, P.lit(2)), P.lit(-1)))
    assert passes.text() == "n - 1"
    assert P.simplify(P.binop("+", P.lit(1), passes)).text() == "n"
