"""A merge takes every tensor of a list, as the elaborator decides: the list a statement just
made (`rows = [...]` then `concat`), a list given as an argument (`concat(rows)`,
`add(levels[1:])`, `concat([a, b] + rows)`), the tensors `from rows` starts at; an assignment
whose right side merges tensors (`d = concat(a, b)`) names a tensor; `for t in [a, b]` runs
its body on each tensor. The compiled module, run by torch, gives the shapes and the parameter
count the analysis gives, and the channels the language's rule says."""

from __future__ import annotations

import pytest
import torch

import netdsl

PRELUDE = """network n {
    input x: [3, 16, 16]
    a: conv(8, 3, p=1)
    b: conv(8, 3, p=1)
    outs = [from t -> conv(4, 1) for t in [a, b]]
"""

CASES = {  # the rest of the body -> the channels of the network's (first) output
    "concat": ("concat", 8),
    "labeled merge after a list": ("d: concat(a, b)\n output d", 24),
    "assigned merge after a list": ("d = concat(a, b)\n output d", 24),
    "assigned merge of a list": ("d = concat(a)\n c = concat(outs)\n output c", 24),
    "list argument": ("from a -> d: concat(outs)\n output d", 16),
    "sum with a list argument": ("from b -> e: conv(4, 1) -> add(outs)\n output e", 4),
    "slice argument": ("from a -> f: concat(outs[1:])\n output f", 12),
    "joined list argument": ("from a -> g: concat([a, b] + outs)\n output g", 32),
    "from a list": ("from outs -> concat(a)", 16),
    "loop over tensors": ("for t in [a, b] {\n from t -> conv(2, 1) -> relu\n }", 2),
}


def built_and_analysed(body: str):
    net = netdsl.load(PRELUDE + body + "\n}\n")
    stats = net.stats()
    model = netdsl.build(net).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 16, 16))
    outs = out if isinstance(out, (tuple, list)) else [out]
    return stats, model, [tuple(o.shape[1:]) for o in outs]


@pytest.mark.parametrize("body, channels", CASES.values(), ids=CASES.keys())
def test_the_compiled_merge_takes_what_the_analysis_takes(body, channels):
    stats, model, shapes = built_and_analysed(body)
    assert shapes == [tuple(s) for s in stats.outputs.values()]
    assert shapes[0] == (channels, 16, 16)
    assert sum(p.numel() for p in model.parameters()) == stats.params


def test_a_merge_of_a_list_computes_torchs_cat_of_its_items():
    _, model, _ = built_and_analysed("from b -> c: concat(outs)\n output c")
    x = torch.randn(1, 3, 16, 16)
    layers = dict(model.named_children())
    a = layers["a"](x)
    b = layers["b"](a)
    with torch.no_grad():
        assert torch.equal(model(x), torch.cat([b, layers["2"](a), layers["3"](b)], 1))


def test_a_merge_given_the_list_it_already_takes_is_refused():
    """`rows = [...]` then `concat(rows)`: the list is the current value and the argument;
    taking it twice is not what anyone means."""
    with pytest.raises(netdsl.NetdslError, match="would take these tensors twice"):
        netdsl.load(PRELUDE + "c = concat(outs)\n}\n")


def test_a_block_loops_over_the_tensors_of_its_list_parameter():
    net = netdsl.load("""block heads(xs: tensors) {
    for t in xs { from t -> relu }
    ys = [from t -> conv(4, 1) for t in xs]
    concat
}
network n {
    input x: [3, 16, 16]
    a: conv(8, 3, p=1)
    b: conv(6, 3, p=1)
    h: heads([a, b])
}
""")
    model = netdsl.build(net)
    shape = tuple(model(torch.randn(1, 3, 16, 16)).shape[1:])
    assert shape == tuple(net.stats().outputs["h.4"]) == (8, 16, 16)
    assert sum(p.numel() for p in model.parameters()) == net.stats().params


def test_assignments_name_what_block_and_shared_module_calls_make():
    """`c = fuse(a, b)`, `d = sh(a, b)`: tensors, as in the analysis; the shared module is one
    submodule called at each site."""
    net = netdsl.load("""block fuse(a: tensor, b: tensor, width: int = 8) {
    from a -> conv(width, 1) -> add(from b -> conv(width, 1))
}
network n {
    input x: [3, 16, 16]
    a: conv(8, 3, p=1)
    b: conv(6, 3, p=1)
    shared sh: fuse(width=4)
    c = fuse(a, b)
    d = sh(a, b)
    e = sh(from a -> relu, b)
    output c, d, e
}
""")
    stats = net.stats()
    model = netdsl.build(net)
    outs = model(torch.randn(1, 3, 16, 16))
    assert [tuple(o.shape[1:]) for o in outs] == [tuple(s) for s in stats.outputs.values()] == \
        [(8, 16, 16), (4, 16, 16), (4, 16, 16)]
    assert sum(p.numel() for p in model.parameters()) == stats.params
    x = torch.randn(1, 3, 16, 16)
    a = model.a(x)
    b = model.b(a)
    assert torch.equal(model(x)[2], model.sh(torch.relu(a), b))


def test_layers_of_a_labeled_list_are_named_and_read_by_their_positions():
    """`g: [from t -> conv -> relu -> conv for t in xs]` numbers its layers in turn, as the
    table does (`g.0`, `g.2`, `g.3`, `g.5` hold weights), and `output g.1` is the first
    item's relu."""
    net = netdsl.load("""network n {
    input x: [3, 8, 8]
    g: [from t -> conv(4, 1) -> relu -> conv(2, 1) for t in [x, x]]
    output g.1, g.4
}
""")
    stats = net.stats()
    model = netdsl.build(net).eval()
    assert sorted(name for name, _ in model.named_parameters()) == sorted(
        f"g.{i}.{w}" for i in (0, 2, 3, 5) for w in ("weight", "bias"))
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        outs = model(x)
        assert [tuple(o.shape[1:]) for o in outs] == [tuple(s) for s in stats.outputs.values()]
        torch.testing.assert_close(outs[0], torch.relu(model.g["0"](x)))
        torch.testing.assert_close(outs[1], torch.relu(model.g["3"](x)))
