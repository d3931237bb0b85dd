"""`inline block`: an unlabeled call names its layers in the caller, as torchvision's ResNet
does (conv1 .. fc at the top level), while a labeled call still opens a scope."""

import torch
import torchvision

import netdsl
from tests.conftest import SPECS

SPEC = """
inline block body(w: int) {
    conv1: conv(w, 3)
    relu
    features: { conv(w, 3) -> relu }
}
network n {
    input x: [3, 32, 32]
    body(8)
    head: body(4)
}
"""


def test_unlabeled_inline_call_names_in_the_caller_and_labeled_call_opens_a_scope():
    graph = netdsl.load(SPEC).graph
    names = [n.name for n in graph if n.op is not None and n.op.name == "conv"]
    assert names == ["conv1", "features.0", "head.conv1", "head.features.0"]
    assert "head" in graph.scopes and graph.scopes["head"].block == "body"
    assert not any(s.block == "body" and s.name != "head" for s in graph.scopes.values())


def test_one_line_resnet18_has_torchvisions_state_dict_keys():
    graph = netdsl.load(SPECS / "resnet18.net").graph
    ours = {n.name for n in graph if n.meta.get("shape") and n.op is not None
            and n.op.name in ("conv", "bn", "linear")}
    theirs = {k.rsplit(".", 1)[0] for k in torchvision.models.resnet18().state_dict()}
    assert ours == theirs


def test_inline_resnet18_keeps_torchvision_parameter_count():
    reference = sum(p.numel() for p in torchvision.models.resnet18().parameters())
    assert netdsl.load(SPECS / "resnet18.net").stats().params == reference
    assert torch.__version__  # torch is the reference here, not netdsl
