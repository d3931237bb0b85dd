"""Tensors named by dotted paths and positions, in the compiled module as in the analysis: a
label inside a group or an output of a call given in a list or to a block's tensor parameter
(`lsum([s.lo, s.hi, g.a])`, `gate(g.a, s.hi)`), a layer of a list's items by position
(`from o.2`), a list made in a block read whole (`from ys -> add`), the tensor parameters of an
inline block, and blocks made for one size of their input called where the forward cannot
follow the size (after a crop). Each was refused by `netdsl compile` ("the tensor attribute
'lo'", "`from` a value that is not one tensor", "an inline block with tensor parameters",
"made for one size of its input"). Also the tensors a repeat of no pass hands on. Each output
is checked against torch's functions on the model's own weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import netdsl
from tests.backends.pytorch.conftest import assert_state_matches_ir, generated_model

PATHS = """block two(c: int) {
    lo: conv(c, 1)
    from in -> hi: conv(c, 3, p=1)
    output lo, hi
}
block lsum(xs: tensors) {
    outs = [from t -> conv(4, 1) for t in xs]
    from outs -> add
}
block gate(a: tensor, b: tensor) {
    from a -> conv(b.c, 1) -> mul(from b -> sigmoid)
}
network n {
    input x: [3, 8, 8]
    s: two(4)
    from x -> g: { a: conv(4, 1) -> b: relu }
    m: lsum([s.lo, s.hi, g.a])
    q: gate(g.a, s.hi)
    output m, q
}"""


def _conv(t: torch.Tensor, state: dict, name: str, padding: int = 0) -> torch.Tensor:
    return F.conv2d(t, state[f"{name}.weight"], state[f"{name}.bias"], padding=padding)


def _models(net: netdsl.Network, tmp_path, stem: str) -> list[torch.nn.Module]:
    return [netdsl.build(net).eval(), generated_model(net, tmp_path, stem).eval()]


def test_dotted_labels_are_tensors_in_lists_and_block_arguments(tmp_path):
    net = netdsl.load(PATHS)
    x = torch.randn(2, 3, 8, 8)
    for model in _models(net, tmp_path, "dotted"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        lo, hi, a = _conv(x, s, "s.lo"), _conv(x, s, "s.hi", 1), _conv(x, s, "g.a")
        with torch.no_grad():
            m, q = model(x)
        expected_m = _conv(lo, s, "m.0") + _conv(hi, s, "m.1") + _conv(a, s, "m.2")
        torch.testing.assert_close(m, expected_m, rtol=0, atol=1e-5)
        torch.testing.assert_close(q, _conv(a, s, "q.0") * torch.sigmoid(hi), rtol=0, atol=1e-5)


LISTS = """block fan(c: int, n: int = 2) {
    ys: [from in -> conv(c, 1) -> relu for i in range(n)]
    from ys -> add
}
network n {
    input x: [3, 8, 8]
    fan(4)
    f: fan(4, n=3)
    o: [from t -> conv(2, 1) -> relu for t in [x, f]]
    from o.2 -> p: conv(2, 1)
    output p, o.1, o.3
}"""


def _fan(t: torch.Tensor, state: dict, prefix: str, n: int) -> torch.Tensor:
    return sum(F.relu(_conv(t, state, f"{prefix}.ys.{2 * i}")) for i in range(n))


def test_a_list_made_in_a_block_and_a_layer_of_a_list_s_items(tmp_path):
    """`from ys -> add` sums the list the block made; `o.2` is the second item's
    convolution (items of two layers number them in turn), `o.3` its relu."""
    net = netdsl.load(LISTS)
    x = torch.randn(2, 3, 8, 8)
    for model in _models(net, tmp_path, "lists"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        f = _fan(_fan(x, s, "0", 2), s, "f", 3)
        o2 = _conv(f, s, "o.2")
        with torch.no_grad():
            p, o1, o3 = model(x)
        torch.testing.assert_close(p, _conv(o2, s, "p"), rtol=0, atol=1e-5)
        torch.testing.assert_close(o1, F.relu(_conv(x, s, "o.0")), rtol=0, atol=1e-5)
        torch.testing.assert_close(o3, F.relu(o2), rtol=0, atol=1e-5)


MADE_FOR_SIZE = """block resize(c: int) {
    if in.h > 4 { conv(c, 1) -> maxpool(2) } else { conv(c, 3, p=1) -> upsample(4) }
}
network n {
    input x: [3, 16, 16]
    crop(size=[6, 6])
    resize(4) -> resize(4)
}"""


def test_blocks_made_for_one_size_after_a_crop(tmp_path):
    """The forward does not follow the size through the crop, nor through the first call's
    class: the sizes come from the analysis (6x6, then 3x3), as the network is written for
    its input's size, which its forward checks."""
    net = netdsl.load(MADE_FOR_SIZE)
    source = net.to_source()
    assert "# `resize` for 6x6 inputs" in source and "# `resize` for 3x3 inputs" in source
    x = torch.randn(2, 3, 16, 16)
    for model in _models(net, tmp_path, "made_for_size"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        t = F.max_pool2d(_conv(x[:, :, 5:11, 5:11], s, "1.0"), 2)
        expected = F.interpolate(_conv(t, s, "2.0", 1), scale_factor=4.0)
        with torch.no_grad():
            torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-5)
            with pytest.raises(AssertionError, match="built for 16x16 inputs"):
                model(torch.randn(1, 3, 20, 20))


INLINE_TENSORS = """inline block pair(a: tensor, b: tensor, k: int = 1) {
    conv(4, k, p=k // 2)
    add(from b -> conv(4, 1) -> relu, a)
}
network n {
    input x: [4, 8, 8]
    input y: [4, 8, 8]
    from y -> pair(b=x)
    pair(x, y, k=3)
}"""


def test_an_inline_block_with_tensor_parameters(tmp_path):
    """Its body runs in the caller's forward from the current tensor; the tensor parameters
    name the tensors given, a missing one the current tensor (`a` of `from y -> pair(b=x)`
    is `y`)."""
    net = netdsl.load(INLINE_TENSORS)
    x, y = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    for model in _models(net, tmp_path, "inline_tensors"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        first = _conv(y, s, "0") + F.relu(_conv(x, s, "1")) + y
        expected = _conv(first, s, "4", 1) + F.relu(_conv(y, s, "5")) + x
        with torch.no_grad():
            torch.testing.assert_close(model(x, y), expected, rtol=0, atol=1e-5)


SHADOWED = """inline block two(c: int) {
    t = from in -> conv(c, 1)
    from t -> relu
}
network n {
    input x: [3, 8, 8]
    g: { "0": conv(2, 1) -> relu }
    from x -> two(4)
    o = [from t -> conv(5, 1) for t in [x, g.0]]
    from o[0] -> add(o[1])
}"""


def test_a_comprehension_s_item_is_not_a_label_of_the_same_name(tmp_path):
    """`t` of the comprehension is its item, as in the analysis, though the inline block
    called before it labels a tensor `t` in the same forward."""
    net = netdsl.load(SHADOWED)
    x = torch.randn(2, 3, 8, 8)
    for model in _models(net, tmp_path, "shadowed"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        g0 = _conv(x, s, "g.0")
        with torch.no_grad():
            torch.testing.assert_close(model(x), _conv(x, s, "3") + _conv(g0, s, "4"),
                                       rtol=0, atol=1e-5)


NO_PASS = """block two(c: int) {
    u: conv(c, 1)
    from in -> v: conv(c, 3, p=1)
    output u, v
}
block unit(c: int) { conv(c, 1) }
network n {
    input x: [3, 8, 8]
    two(4)
    unit(4) * 0
}"""


def test_a_repeat_of_no_pass_passes_on_every_tensor(tmp_path):
    """The network ends at both outputs of `two`, as the analysis says: the repeat of zero
    passes made the module return only the first."""
    net = netdsl.load(NO_PASS)
    assert len(net.stats().outputs) == 2
    x = torch.randn(2, 3, 8, 8)
    for model in _models(net, tmp_path, "no_pass"):
        s = model.state_dict()
        with torch.no_grad():
            u, v = model(x)
        torch.testing.assert_close(u, _conv(x, s, "0.u"), rtol=0, atol=1e-5)
        torch.testing.assert_close(v, _conv(x, s, "0.v", 1), rtol=0, atol=1e-5)


SHARED_FOR_SIZE = """block up(c: int) {
    if in.h > 4 { conv(c, 3, p=1) -> upsample(2) } else { conv(c, 1) }
}
network n {
    input x: [4, 12, 12]
    crop(size=[8, 8])
    shared s: up(4)
    s
    s
}"""


def test_a_shared_module_made_for_one_size_called_at_two(tmp_path):
    """Both calls (on 8x8 after the crop, then 16x16) choose the same layers: one class,
    one module called twice; the sizes are the analysis's where the forward lost them.
    (Had the calls chosen other layers, compile would refuse, rather than call a module
    built for the first.)"""
    net = netdsl.load(SHARED_FOR_SIZE)
    assert "# `up` for 8x8 and 16x16 inputs" in net.to_source()
    x = torch.randn(2, 4, 12, 12)
    for model in _models(net, tmp_path, "shared_for_size"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        once = F.interpolate(_conv(x[:, :, 2:10, 2:10], s, "s.0", 1), scale_factor=2.0)
        with torch.no_grad():
            torch.testing.assert_close(model(x), F.interpolate(_conv(once, s, "s.0", 1),
                                                               scale_factor=2.0),
                                       rtol=0, atol=1e-5)
