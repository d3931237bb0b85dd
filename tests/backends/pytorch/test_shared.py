"""A shared module is one submodule called at each of its sites: one set of weights in the
state dict, and each call's output what torch computes with those weights on that call's input,
in the built module and in the generated file."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import netdsl
from tests.backends.pytorch.conftest import generated_model

SPEC = """block tower(c: int) { conv(c, 3, p=1) -> relu -> conv(c, 3, p=1) }
network n {
    input x: [3, 12, 12]
    shared head: conv(4, 3, p=1)
    shared body: tower(3)
    a = from x -> head
    b = from x -> body -> head
    c = from x -> avgpool(2) -> body -> head
    output a, b, c
}"""


def test_later_calls_reuse_the_first_calls_weights(tmp_path):
    net = netdsl.load(SPEC)
    x = torch.randn(2, 3, 12, 12)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "shared").eval()):
        state = model.state_dict()
        assert sorted(state) == ["body.0.bias", "body.0.weight", "body.2.bias", "body.2.weight",
                                 "head.bias", "head.weight"]

        def head(t, s=state):
            return F.conv2d(t, s["head.weight"], s["head.bias"], padding=1)

        def body(t, s=state):
            t = F.relu(F.conv2d(t, s["body.0.weight"], s["body.0.bias"], padding=1))
            return F.conv2d(t, s["body.2.weight"], s["body.2.bias"], padding=1)

        with torch.no_grad():
            a, b, c = model(x)
        torch.testing.assert_close(a, head(x), rtol=0, atol=1e-6)
        torch.testing.assert_close(b, head(body(x)), rtol=0, atol=1e-6)
        torch.testing.assert_close(c, head(body(F.avg_pool2d(x, 2))), rtol=0, atol=1e-6)
        assert sum(p.numel() for p in model.parameters()) == net.stats().params


SWAPPED = """block gate(x: tensor, y: tensor) { from x -> conv(3, 1) -> mul(from y -> sigmoid) }
network n {
    input a: [3, 6, 6]
    input b: [3, 6, 6]
    shared g: gate
    p = from a -> g(a, b)
    q = from b -> g(b, a)
    output p, q
}"""


def test_each_call_of_a_shared_block_takes_its_own_tensors(tmp_path):
    net = netdsl.load(SWAPPED)
    a, b = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 6, 6)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "swapped").eval()):
        s = model.state_dict()

        def gate(x, y, s=s):
            return F.conv2d(x, s["g.0.weight"], s["g.0.bias"]) * torch.sigmoid(y)

        with torch.no_grad():
            p, q = model(a, b)
        torch.testing.assert_close(p, gate(a, b), rtol=0, atol=1e-6)
        torch.testing.assert_close(q, gate(b, a), rtol=0, atol=1e-6)


LISTED = """block tower(c: int) { conv(c, 3, p=1) -> relu -> conv(2, 1) }
block heads(features: tensors) {
    shared box: conv(2, 1)
    rows: [from f -> relu -> box for f in features]
    output rows
}
network n {
    input x: [4, 8, 8]
    a: conv(4, 1)
    b: conv(4, 3, p=1)
    shared head: conv(2, 1)
    shared tower_head: tower(4)
    cls: [from t -> head for t in [a, b]]
    reg: [from t -> relu -> tower_head for t in [a, b]]
    hs: heads([a, b])
    output cls, reg, hs
}"""


def test_a_shared_module_in_a_labeled_comprehension_is_one_module(tmp_path):
    """`cls: [from t -> head for t in [a, b]]`: the items call the shared module, which lives
    where it was declared (`head`, not `cls.0`), once, in a list of two or of any length."""
    net = netdsl.load(LISTED)
    x = torch.randn(2, 4, 8, 8)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "listed").eval()):
        state = model.state_dict()
        assert sorted(state) == [
            "a.bias", "a.weight", "b.bias", "b.weight", "head.bias", "head.weight",
            "hs.box.bias", "hs.box.weight", "tower_head.0.bias", "tower_head.0.weight",
            "tower_head.2.bias", "tower_head.2.weight"]
        with torch.no_grad():
            outs = model(x)
            a = model.a(x)
            b = model.b(a)
            expected = [model.head(a), model.head(b), model.tower_head(F.relu(a)),
                        model.tower_head(F.relu(b)), model.hs.box(F.relu(a)),
                        model.hs.box(F.relu(b))]
        assert len(outs) == 6
        for got, want in zip(outs, expected, strict=True):
            torch.testing.assert_close(got, want)


def test_compile_rejects_a_shared_module_the_analysis_rejects():
    """The shared conv's second call is on 8 channels, its weights made for 4: `stats`
    says so, and compile (which did not run the analysis) wrote a module that failed only
    when run. It now gives the analysis's message, located at the call."""
    spec = """
network n {
    input x: [4, 8, 8]
    shared s: conv(4, 3, p=1)
    s
    conv(8, 1)
    s
}
"""
    net = netdsl.load(spec)
    for make in (net.to_source, lambda: netdsl.build(net)):
        with pytest.raises(netdsl.NetdslError) as info:
            make()
        diagnostic = info.value.diagnostics[0]
        assert diagnostic.message == ("the shared module 's' needs 292 weights here but 148 "
                                      "at its first application")  # 8 * 4 * 9 + 4, 4 * 4 * 9 + 4
        assert (diagnostic.span.line, diagnostic.span.col) == (7, 5)


HEADS = """network n {
    input x: [3, 8, 8]
    a: { shared conv: conv(3, 3, p=1); conv -> relu -> conv }
    b: { shared conv: conv(3, 3, p=1); conv -> conv }
    { shared conv: conv(4, 1); conv }
    c: conv(2, 1)
}"""


def test_a_shared_module_declared_in_a_group_is_that_groups(tmp_path):
    """Two heads' `shared conv` (torchvision's FCOS heads both name their tower so) are two
    submodules, each called twice in its head; after the group `conv` is the operator again."""
    net = netdsl.load(HEADS)
    x = torch.randn(2, 3, 8, 8)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "heads").eval()):
        s = model.state_dict()
        assert sorted(s) == ["a.conv.bias", "a.conv.weight", "b.conv.bias", "b.conv.weight",
                             "c.bias", "c.weight", "conv.bias", "conv.weight"]

        def conv(t, name, padding=0, s=s):
            return F.conv2d(t, s[f"{name}.weight"], s[f"{name}.bias"], padding=padding)

        a = conv(F.relu(conv(x, "a.conv", 1)), "a.conv", 1)
        b = conv(conv(a, "b.conv", 1), "b.conv", 1)
        with torch.no_grad():
            torch.testing.assert_close(model(x), conv(conv(b, "conv"), "c"), rtol=0, atol=1e-5)
