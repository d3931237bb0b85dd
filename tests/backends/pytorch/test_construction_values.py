"""Values a constructor knows though a block's text leaves them open: the output channels of
a block passed bound as a layer (`stage(unit(n=3), 16)`), a size read from the input and
passed to a nested block (MLP-Mixer's token MLP), the channels of a concatenation of a
comprehension's tensors, a tensor picked from a growing list by a loop's variable or a
`def` of it, a merge's path chosen by the input's channels (a class per number of them).
Each compiles, and torch's module has the analysis's parameters per layer and output
shapes, and computes what the same layers written by hand compute."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netdsl
import netdsl.backends.pytorch.codegen
from tests.backends.pytorch.conftest import assert_state_matches_ir

pytestmark = pytest.mark.usefixtures("one_thread")


def built(text: str) -> tuple[netdsl.Network, nn.Module]:
    """The network, and its compiled module, checked against the analysis: parameters and
    buffers per layer, and the output's shape."""
    network = netdsl.load(text)
    torch.manual_seed(0)
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    assert sum(p.numel() for p in model.parameters()) == network.stats().params
    (name,) = network.graph.inputs
    with torch.no_grad():
        out = model(torch.randn(2, *network.graph[name].shape))
    assert [tuple(out.shape[1:])] == [tuple(s) for s in network.stats().outputs.values()]
    return network, model


def same_as(model: nn.Module, by_hand: nn.Module, shape: tuple[int, ...]) -> None:
    """The hand-written module loads the compiled one's weights strictly and computes the
    same."""
    by_hand.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        torch.testing.assert_close(model(x), by_hand.eval()(x))


BOUND_LAYER = """block unit(c: int, n: int = 2) {
    parts = []
    for i in range(n) {
        p = from in -> ("c" + str(i)): conv(c, 1)
        parts = parts + [p]
    }
    from parts -> concat
}
block stage(u: layer, c: int) {
    u(c)
    u(c)
}
network n {
    input x: [8, 16, 16]
    stage(unit%s, 16)
}
"""


@pytest.mark.parametrize("bound, parts", [("", 2), ("(n=3)", 3), ("(n=4)", 4)])
def test_a_block_passed_bound_as_a_layer_says_its_output_channels(bound, parts):
    """The class its factory names sets `out_channels`, which the block applying it reads
    (before, the class with n=3 never set it: building raised AttributeError)."""
    _, model = built(BOUND_LAYER % bound)
    stage = model[0]
    assert stage[0].out_channels == stage.out_channels == 16 * parts
    assert stage[1].c0.in_channels == 16 * parts


MIXER_TOKENS = """block lin(out: int) { linear(out) }
block tok() {
%s
}
network m {
    input x: [3, 8, 8]
    conv(4, 2, s=2) -> flatten(1) -> transpose(0, 1)
    tok
}
"""


@pytest.mark.parametrize("body", [
    "    n = in.shape[0]\n    transpose(0, 1) -> lin(n) -> transpose(0, 1)",
    "    transpose(0, 1) -> lin(in.shape[0]) -> transpose(0, 1)",
], ids=["named", "direct"])
def test_a_token_count_passed_to_a_nested_block_is_known_at_construction(body):
    """MLP-Mixer's token MLP: the class is made for the one number of tokens it sees, as one
    whose layer reads `in.shape` directly is, and computes torch's linear over the tokens."""
    _, model = built(MIXER_TOKENS % body)
    tokens = model[3]
    linear = next(m for m in tokens.modules() if isinstance(m, nn.Linear))
    assert (linear.in_features, linear.out_features) == (16, 16)
    x = torch.randn(2, 16, 4)
    with torch.no_grad():
        assert torch.equal(tokens(x), linear(x.transpose(1, 2)).transpose(1, 2))


LIST_CONCAT = """block b(ks: list) {
    ys: [from in -> conv(2, 1) for k in ks]
    from in -> concat(ys)
}
network n {
    input x: [8, 4, 4]
    b([1, 2, 3])
    conv(4, 1)
}
"""


class _ListConcat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ys = nn.ModuleList(nn.Conv2d(8, 2, 1) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, *(y(x) for y in self.ys)], 1)


def test_the_channels_of_a_concatenated_comprehension_are_known_at_construction():
    """`in_channels + 2 * len(ks)`; the forward applies item i's layer to item i (not the
    layer at index k, the item's value)."""
    _, model = built(LIST_CONCAT)
    assert model[0].out_channels == 14
    same_as(model, nn.Sequential(_ListConcat(), nn.Conv2d(14, 4, 1)), (8, 4, 4))


LOOP_INDEX = """%s
network n {
    input x: [4, 8, 8]
    nodes = [x]
    for k in range(1, 4) {
        above = nodes[%s]
        t = from above -> conv(4, 1)
        nodes = nodes + [t]
    }
}
"""


@pytest.mark.parametrize("definition, index", [("", "k - 1"), ("def f(k) = k - 1", "f(k)")],
                         ids=["expression", "def"])
def test_a_loop_variable_picks_a_tensor_of_a_growing_list_in_a_network(definition, index):
    _, model = built(LOOP_INDEX % (definition, index))
    same_as(model, nn.Sequential(*(nn.Conv2d(4, 4, 1) for _ in range(3))), (4, 8, 8))


def test_a_def_of_a_loop_variable_picks_a_tensor_in_a_block():
    _, model = built("""def f(k) = k - 1
block chainb(x: tensor, m: int) {
    nodes = [x]
    for k in range(1, m) {
        above = nodes[f(k)]
        t = from above -> ("c" + str(k)): conv(4, 1)
        nodes = nodes + [t]
    }
    from nodes[m - 1] -> conv(4, 1)
}
network n(m: int = 3) {
    input x: [4, 8, 8]
    chainb(x, m)
}
""")
    block = model[0] if isinstance(model, nn.Sequential) else next(iter(model.children()))
    layers = list(block.children())
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), layers[2](layers[1](layers[0](x))))



MERGE_IF = """block b {
    add { conv(8, 1); if in.c == 8 { identity } }
}
block outer {
    b
    b
}
network n {
    input x: [4, 8, 8]
    b
    b
    conv(4, 1)
    outer
}
"""


class _Residual(nn.Module):
    """conv(8, 1), plus the input where it has 8 channels."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.add_module("0", nn.Conv2d(in_channels, 8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = getattr(self, "0")(x)
        return out + x if x.shape[1] == 8 else out


def test_a_merge_path_chosen_by_the_input_channels_makes_a_class_per_channel_count():
    """`if in.c == 8 { identity }` in an `add`: the block is written once per number of
    input channels it is called on (a comment says so), and so is a block calling it on its
    own input; the module computes conv(x) + x on 8 channels and conv(x) on 4."""
    network, model = built(MERGE_IF)
    source = netdsl.backends.pytorch.codegen.generate(network)
    assert "# `b` with in.c=4:" in source and "# `b` with in.c=8:" in source
    by_hand = nn.Sequential(_Residual(4), _Residual(8), nn.Conv2d(8, 4, 1),
                            nn.Sequential(_Residual(4), _Residual(8)))
    same_as(model, by_hand, (4, 8, 8))


BOUND_THEN_CALLED = """
block unit(c: int, k: int = 1) { conv(c, k, p=k // 2) -> relu }
block stage(u: layer, k: int) {
    u(k)
    u(k)
}
network n {
    input x: [8, 16, 16]
    STAGES
}
"""


@pytest.mark.parametrize("stages, widths, kernels", [
    ("stage(unit(4), 3)", [4, 4], [3, 3]),
    ("stage(unit(4), 3)\n    stage(unit, 5)", [4, 4, 5, 5], [3, 3, 1, 1]),
])
def test_a_bound_layer_value_takes_the_calls_arguments_after_its_own(stages, widths, kernels):
    """`unit(4)` binds c; `u(k)` then gives the next parameter, k, as functools.partial does.
    The compiled module builds the layers the analysis counts, also where the same block is
    passed bound in one call and unbound (`u(k)` is then c) in another."""
    network, model = built(BOUND_THEN_CALLED.replace("STAGES", stages))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == widths
    assert [c.kernel_size[0] for c in convs] == kernels
    if len(widths) > 2:  # a class per way of calling, each comment naming its value whole
        source = netdsl.backends.pytorch.codegen.generate(network)
        assert "# `stage` with u=unit(4): " in source and "# `stage` with u=unit: " in source


def test_a_block_built_from_its_inputs_size_is_written_once_per_size_its_calls_see():
    """`l2` reads the last axis, which is the features of the tokens at one call and the
    token count after a transpose at the other: check accepted it and compile refused it
    ('a layer whose construction depends on its input's size, which differs between its
    instances'). Each call now has its class, and the module computes the two linears."""
    network = netdsl.load("block l2 { linear(3) }\nnetwork n {\n    input x: [6, 4]\n    a: l2\n"
                          "    from x -> transpose(0, 1) -> b: l2\n    output a, b\n}\n")
    model = netdsl.build(network).eval()
    assert_state_matches_ir(model, network)
    x = torch.randn(2, 6, 4)
    first, second = (m for m in model.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        a, b = model(x)
        assert torch.equal(a, first(x)) and torch.equal(b, second(x.transpose(1, 2)))
    assert [tuple(a.shape[1:]), tuple(b.shape[1:])] == list(network.stats().outputs.values())
