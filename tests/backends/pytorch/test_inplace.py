"""Activations run in place only where nothing else can see their input: the outputs equal a
hand-written computation, and training's backward pass still works."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import netdsl
from netdsl.backends.pytorch.codegen import generate
from tests.conftest import SPECS


def test_relu_after_a_shared_tensor_is_not_in_place():
    """`a` feeds both the relu and the skip: an in-place relu would change the sum."""
    net = netdsl.load("""network n {
        input x: [3, 8, 8]
        a: conv(4, 3, p=1)
        add { relu; identity }
    }""")
    model = netdsl.build(net).eval()
    x = torch.randn(2, 3, 8, 8)
    a = F.conv2d(x, model.a.weight, model.a.bias, padding=1)
    torch.testing.assert_close(model(x), F.relu(a) + a, rtol=0, atol=0)


def test_a_block_never_overwrites_its_callers_tensor():
    net = netdsl.load("""block act { relu }
    network n {
        input x: [3, 8, 8]
        c: conv(4, 1)
        add { act; identity }
    }""")
    model = netdsl.build(net).eval()
    x = torch.randn(2, 3, 8, 8)
    c = F.conv2d(x, model.c.weight, model.c.bias)
    torch.testing.assert_close(model(x), F.relu(c) + c, rtol=0, atol=0)


@pytest.mark.parametrize("body", ["bn: bn\n relu", "relu: conv(8, 1)\n relu",
                                  "bn: bn\n relu\n conv(8, 1)\n bn\n relu"])
def test_a_bare_operator_named_like_a_label_calls_it_and_runs_in_place(body):
    """A chain's bare `relu` (or `bn`) applies the operator, as the elaborator reads it, even
    where a label has its name: no later read of the label keeps the relu from its input."""
    net = netdsl.load(f"network n {{\n input x: [8, 6, 6]\n {body}\n}}")
    source = generate(net)
    assert "ReLU()" not in source and "inplace=True" in source
    model = netdsl.build(net).train()
    model(torch.randn(2, 8, 6, 6)).square().mean().backward()  # autograd raises if the relu
    # overwrote a tensor it saved
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.slow  # a full-size ResNet-18, trained one step
def test_resnet_relus_are_in_place_and_training_backward_works():
    network = netdsl.load(SPECS / "resnet18.net", classes=10)
    source = generate(network)
    assert "out = F.relu(out, inplace=True)" in source
    model = netdsl.build(network).train()
    loss = model(torch.randn(2, 3, 64, 64)).square().mean()
    loss.backward()  # autograd raises if an in-place op overwrote a tensor it saved
    assert all(p.grad is not None for p in model.parameters())
