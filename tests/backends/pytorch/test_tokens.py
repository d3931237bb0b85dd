"""The lowering of the layout operators and of parameters, in both the forms the generated code
uses (a module inside an nn.Sequential, a function in a class's forward), against the same
computation written with torch directly."""

from __future__ import annotations

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
