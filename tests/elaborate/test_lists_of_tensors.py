"""Lists of tensors as values: a list of lists indexed in `from`, a block's list output of one
tensor, and a list literal whose items are chains."""

import pytest
import torch

import netdsl
from netdsl.errors import NetdslError


def _convs(model: torch.nn.Module) -> list[torch.nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_from_reads_an_item_of_a_list_of_lists():
    spec = """
network n {
    input x: [3, 8, 8]
    a = from x -> conv(4, 1)
    rows = [[a]]
    from rows[0][0] -> conv(4, 1)
}
"""
    model = netdsl.build(netdsl.load(spec)).eval()
    c0, c1 = _convs(model)
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), c1(c0(x)), atol=1e-6)


def test_from_a_list_of_lists_says_to_index_it():
    spec = ("network n {\n    input x: [3, 8, 8]\n    a = from x -> conv(4, 1)\n"
            "    rows = [[a]]\n    from rows -> conv(4, 1)\n}\n")
    with pytest.raises(NetdslError) as info:
        netdsl.load(spec)
    (diag,) = info.value.diagnostics
    assert "list of lists" in diag.message and diag.help == "index it: from rows[0][0]"


def test_a_list_output_of_one_tensor_stays_a_list():
    """`output row` of `row = [x]` returns a list, as torch's `return [x]` does: the caller
    loops over it, indexes it, and a merge takes its items."""
    spec = """
block b(x: tensor, n: int) {
    row = [from x -> conv(4, 1) for i in range(n)]
    output row
}
network n {
    input x: [4, 8, 8]
    one = b(x, 1)
    two = b(x, 2)
    ys = [from t -> relu for t in one + two]
    concat
}
"""
    net = netdsl.load(spec)
    assert list(net.stats().outputs.values()) == [(3 * 4, 8, 8)]  # three items of 4


def test_a_compiled_block_returns_its_list_of_one_as_a_tuple():
    spec = """
block b(x: tensor) {
    row = [from x -> conv(4, 1)]
    output row
}
network n {
    input x: [4, 8, 8]
    r = b(x)
    for t in r { from t -> conv(2, 1) }
}
"""
    model = netdsl.build(netdsl.load(spec)).eval()
    c0, c1 = _convs(model)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), c1(c0(x)), atol=1e-6)
        (inner,) = [m for m in model.children() if not isinstance(m, torch.nn.Conv2d)]
        made = inner(x)
        assert isinstance(made, tuple) and len(made) == 1


def test_a_block_whose_output_is_one_tensor_returns_the_tensor():
    spec = ("block b(x: tensor) {\n    y = from x -> conv(4, 1)\n    output y\n}\n"
            "network n {\n    input x: [4, 8, 8]\n    r = b(x)\n    from r -> conv(2, 1)\n}\n")
    assert netdsl.load(spec).stats().outputs == {"1": (2, 8, 8)}


def test_a_list_of_chains_applies_each_in_turn():
    spec = """
network n {
    input x: [8, 4, 4]
    ys = [from x -> conv(2, 1), from x -> conv(3, 1) -> relu, x]
    concat
}
"""
    net = netdsl.load(spec)
    assert [r.name for r in net.stats().layers][1:] == ["0", "1", "2", "3"]
    model = netdsl.build(net).eval()
    c0, c1 = _convs(model)
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        assert torch.allclose(model(x), torch.cat([c0(x), torch.relu(c1(x)), x], 1),
                              atol=1e-6)


def test_a_labeled_list_of_chains_names_its_layers_in_its_scope():
    spec = """
network n {
    input x: [8, 4, 4]
    ys: [from x -> conv(2, 1), from x -> wide: conv(3, 1)]
    from x -> concat(ys)
}
"""
    rows = {r.name: r for r in netdsl.load(spec).stats().layers}
    assert {"ys.0", "ys.wide"} <= set(rows)
    theirs = torch.nn.Conv2d(8, 3, 1)
    assert rows["ys.wide"].params == sum(p.numel() for p in theirs.parameters())
