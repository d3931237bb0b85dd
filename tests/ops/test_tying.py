"""A layer that shares another's weight (`linear(vocab, weight=wte)`): counted once, as torch
counts a module's parameters, and one tensor in the built module."""

from __future__ import annotations

import torch

import netdsl

SPEC = """
network lm(vocab: int = 40, width: int = 12) {
    input tokens: [6]
    wte: embedding(vocab, width)
    proj: { a: linear(width) -> b: linear(width, weight=a) }
    lm_head: linear(vocab, bias=false, weight=wte)
}
"""


def test_shared_weights_count_once_as_torch_counts_them():
    network = netdsl.load(SPEC)
    model = netdsl.build(network)
    assert model.lm_head.weight is model.wte.weight
    assert network.stats().params == sum(p.numel() for p in model.parameters())
    assert network.stats().params == 40 * 12 + (12 * 12 + 12) + 12  # b keeps its own bias


def test_the_table_says_whose_weight_a_layer_uses():
    rows = {r.name: r for r in netdsl.load(SPEC).stats().layers}
    assert rows["lm_head"].summary == "linear 40 (weight of wte)" and rows["lm_head"].params == 0
    assert rows["proj.b"].params == 12


def test_a_trained_step_moves_one_tensor():
    model = netdsl.build(netdsl.load(SPEC))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randint(0, 40, (2, 6))).square().mean().backward()
    optimizer.step()
    assert torch.equal(model.lm_head.weight, model.wte.weight)
    assert torch.equal(model.proj.b.weight, model.proj.a.weight)


BLOCKS = """
block twice(width: int) {
    first: linear(width)
    second: linear(width, weight=first)    # the same matrix applied twice, biases apart
}
network stack(width: int = 10) {
    input x: [width]
    h: { for i in range(3) { twice(width) } }
}
"""


def test_a_block_s_shared_weights_are_shared_in_every_instance():
    network = netdsl.load(BLOCKS)
    model = netdsl.build(network)
    assert network.stats().params == sum(p.numel() for p in model.parameters())
    assert network.stats().params == 3 * (10 * 10 + 10 + 10)
    for k in range(3):
        assert model.h[k].second.weight is model.h[k].first.weight
    assert model.h[0].first.weight is not model.h[1].first.weight
