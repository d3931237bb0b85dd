"""Every form the analysis accepts for a tensor, compiled: a name for what a group, a `from` or
`in` gives (`t = { conv(4, 1) }`, `t = from xs[1]`, `t = in`, `[in, t]`), a labeled group that
starts from a list (`y: { from xs -> concat }`), a comprehension of groups, and items of a list
given to a block's tensor parameters (`fuse(xs[0], xs[1])`). `netdsl check` accepted each;
`netdsl compile` refused them ("a Group as a value", "`in` as a value", "the tensor 'xs'",
"the arguments of this call of 'fuse'"). Each output is checked against torch's functions on
the model's own weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import netdsl
from tests.backends.pytorch.conftest import assert_state_matches_ir, generated_model


def _conv(t: torch.Tensor, state: dict, name: str) -> torch.Tensor:
    return F.conv2d(t, state[f"{name}.weight"], state[f"{name}.bias"])


def _models(net: netdsl.Network, tmp_path, stem: str) -> list[torch.nn.Module]:
    return [netdsl.build(net).eval(), generated_model(net, tmp_path, stem).eval()]


def _outputs(model: torch.nn.Module, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = model(*inputs)
    return out if isinstance(out, tuple) else (out,)


NAMES = """block b() {
    c: conv(4, 1)
    t = in
    u = from t -> conv(4, 1)
    from u -> add([in, t, c])
}
network n {
    input p: [4, 8, 8]
    input q: [4, 8, 8]
    xs = [p, q]
    v = from xs[0]
    t = { conv(4, 1) -> relu }
    u = { from q -> conv(4, 1) }
    w = from t
    from w -> b() -> r: add(u)
    output t, r
}"""


def test_names_for_a_group_a_from_and_in(tmp_path):
    """`t = { ... }` names the group's tensor (its layers by position, as unlabeled
    elements; the chain goes on from it), `v = from xs[0]` and `w = from t` the tensor they
    start at, and inside a block `t = in` the block's input, after a layer (also an item of a
    list: `[in, t]`)."""
    net = netdsl.load(NAMES)
    p, q = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    for model in _models(net, tmp_path, "names"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        t = F.relu(_conv(p, s, "0"))
        block = _conv(t, s, "3.1") + t + t + _conv(t, s, "3.c")
        first, last = _outputs(model, p, q)
        torch.testing.assert_close(first, t, rtol=0, atol=1e-5)
        torch.testing.assert_close(last, block + _conv(q, s, "2"), rtol=0, atol=1e-5)


FROM_LIST = """network n {
    input a: [4, 8, 8]
    input b: [4, 8, 8]
    xs = [a, b]
    y: { from xs -> concat -> conv(4, 1) }
    z: { from xs -> add }
    g = [{ from x -> conv(4, 1) } for x in xs]
    output y, z, g
}"""


def test_groups_that_start_from_a_list_or_its_items(tmp_path):
    """`y: { from xs -> concat }`: the group's chain starts from every tensor of the list,
    as `from xs -> y: concat` does; a comprehension's item may be a group."""
    net = netdsl.load(FROM_LIST)
    a, b = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    for model in _models(net, tmp_path, "from_list"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        y, z, g0, g1 = _outputs(model, a, b)
        torch.testing.assert_close(y, _conv(torch.cat([a, b], 1), s, "y.1"), rtol=0, atol=1e-5)
        torch.testing.assert_close(z, a + b, rtol=0, atol=1e-5)
        torch.testing.assert_close(g0, _conv(a, s, "2"), rtol=0, atol=1e-5)
        torch.testing.assert_close(g1, _conv(b, s, "3"), rtol=0, atol=1e-5)


ITEMS = """block fuse(a: tensor, b: tensor) {
    from a -> conv(4, 1) -> add(b)
}
network n {
    input p: [4, 8, 8]
    input q: [4, 8, 8]
    xs = [p, q]
    y = fuse(xs[1], xs[0])
    f: fuse(xs[0], b=xs[1])
    z = add(xs[0], xs[1])
    output y, f, z
}"""


def test_items_of_a_list_as_a_block_s_tensor_arguments(tmp_path):
    """`fuse(xs[1], xs[0])` gives the list's items to the tensor parameters, in order, as
    labels would be; `add(xs[0], xs[1])` adds them to the current tensor."""
    net = netdsl.load(ITEMS)
    p, q = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    for model in _models(net, tmp_path, "items"):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        y, f, z = _outputs(model, p, q)
        torch.testing.assert_close(y, _conv(q, s, "0.0") + p, rtol=0, atol=1e-5)
        torch.testing.assert_close(f, _conv(p, s, "f.0") + q, rtol=0, atol=1e-5)
        torch.testing.assert_close(z, f + p + q, rtol=0, atol=1e-5)  # and the current one
