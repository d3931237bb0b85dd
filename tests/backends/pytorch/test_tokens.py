"""The lowering of the layout operators and of parameters, in both the forms the generated code
uses (a module inside an nn.Sequential, a function in a class's forward), against the same
computation written with torch directly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netdsl
from netdsl.backends.pytorch.codegen import generate


def built(body: str, shape: tuple[int, ...]) -> nn.Module:
    dims = ", ".join(map(str, shape))
    return netdsl.build(f"network n {{\n input x: [{dims}]\n{body}\n}}\n").eval()


def test_layout_modules_inside_a_sequential():
    """permute and transpose as modules (a chain of them becomes an nn.Sequential)."""
    model = built("f: { conv(4, 3, p=1) -> permute([1, 2, 0]) -> linear(6) -> "
                  "transpose(0, 2) }", (3, 5, 7))
    assert isinstance(model.f, nn.Sequential)
    x = torch.randn(2, 3, 5, 7)
    conv, linear = model.f[0], model.f[2]
    expected = linear(conv(x).permute(0, 2, 3, 1)).transpose(1, 3)
    torch.testing.assert_close(model(x), expected)


def test_flatten_of_chosen_axes_in_both_forms():
    model = built("s: { flatten(0, 1) }\nflatten(1, -1)", (2, 3, 4, 5))
    x = torch.randn(2, 2, 3, 4, 5)
    torch.testing.assert_close(model(x), x.flatten(1, 2).flatten(2, -1))


def test_layout_functions_in_a_forward():
    """flatten, permute, select and transpose as calls; the class token prepended."""
    model = built("conv(4, 2, s=2) -> flatten(1) -> permute([1, 0])\n"
                  "concat(dim=0) { class_token: parameter([1, 4], batch=true, std=1); identity }\n"
                  "transpose(0, 1) -> select(0, axis=1)", (3, 6, 6))
    x = torch.randn(2, 3, 6, 6)
    tokens = model.get_submodule("0")(x).flatten(2).permute(0, 2, 1)
    sequence = torch.cat([model.class_token.expand(2, -1, -1), tokens], dim=1)
    torch.testing.assert_close(model(x), sequence.transpose(1, 2)[:, :, 0])
    assert model.state_dict()["class_token"].shape == (1, 1, 4)


def test_parameters_broadcast_and_unlabeled_ones_are_registered_by_position():
    """A layer scale without a batch axis broadcasts from the right, as ConvNeXt's does; an
    unlabeled parameter is a parameter of the module named by its position."""
    model = built("mul { identity; parameter([3, 1, 1], value=0.5) }", (3, 2, 2))
    assert dict(model.named_parameters())["0"].shape == (3, 1, 1)
    x = torch.randn(2, 3, 2, 2)
    torch.testing.assert_close(model(x), x * 0.5)
    assert 'register_parameter("0"' in generate(netdsl.load(
        "network n {\n input x: [3, 2, 2]\n mul { identity; parameter([3, 1, 1]) }\n}\n"))


PARAMETERS_IN_GROUPS = {
    "a merge": ("t: mul { identity; parameter([4, 1, 1], value=1) }", (4, 6, 6)),
    "a broadcast add": ("t: add(broadcast=true) { identity; parameter([4, 1, 1]) }",
                        (4, 6, 6)),
    "a group": ("t: { parameter([4, 6, 6]) }", (4, 6, 6)),
    "a group with a module": ("g: { conv(4, 1); parameter([4, 6, 6]) }", (4, 6, 6)),
    "a repeat": ("t: { parameter([4, 6, 6]) } * 2", (4, 6, 6)),
    "a comprehension": ("ys: [from x -> mul { identity; parameter([4, 1, 1]) } "
                        "for i in range(2)]\nconcat", (4, 6, 6)),
    "a token": ("c: concat(dim=0) { parameter([1, 6, 6], batch=true); identity }", (1, 6, 6)),
    "the network": ("concat(dim=0) { parameter([1, 6, 6], batch=true); identity }", (1, 6, 6)),
}


@pytest.mark.parametrize("body", PARAMETERS_IN_GROUPS.values(), ids=PARAMETERS_IN_GROUPS.keys())
def test_an_unlabeled_parameter_in_a_group_is_held_by_its_layer_name(body) -> None:
    """A ModuleDict holds modules only: a parameter in a labeled group is registered on it,
    its state_dict key the layer's name in the analysis (`t.0`), so a state dict keyed by
    those names loads strictly."""
    source, shape = body
    network = netdsl.load(f"network n {{\n input x: {list(shape)}\n{source}\n}}\n")
    graph, stats = network.graph, network.stats()
    model = netdsl.build(network).eval()
    parameters = {name: node.shape for name, node in graph.nodes.items()
                  if node.op is not None and node.op.name == "parameter"}
    state = model.state_dict()
    assert {name: tuple(state[name].shape[-len(s):]) for name, s in parameters.items()} == \
        parameters  # a parameter with a batch axis holds a batch of one
    assert sum(p.numel() for p in model.parameters()) == stats.params
    model.load_state_dict({key: torch.randn_like(value) for key, value in state.items()})
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    (expected,) = stats.outputs.values()
    assert tuple(out.shape[-len(expected):]) == tuple(expected)  # a parameter has no batch


def test_an_unlabeled_parameter_of_a_merge_in_a_group_computes_what_torch_does() -> None:
    model = built("t: mul { identity; parameter([3, 1, 1], value=0.5) }", (3, 2, 2))
    scale = dict(model.named_parameters())["t.0"]
    x = torch.randn(2, 3, 2, 2)
    torch.testing.assert_close(model(x), x * scale)
