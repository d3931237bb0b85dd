"""A parameter without `batch=true` has no batch axis: every operator on it, and every merge of it
with the batched input, against torch computing the same on the stored tensor itself."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import netdsl
from netdsl.backends.pytorch.codegen import generate

torch.set_num_threads(1)


def _linear(model: nn.Module, p: torch.Tensor) -> torch.Tensor:
    layer = next(m for m in model.modules() if isinstance(m, nn.Linear))
    return layer(p)


# (the parameter's shape, what is applied to it, the same on the stored tensor in torch)
CASES = [
    ([6, 8], "slice(0, 4)", lambda m, p: p[:4]),
    ([6, 10], "slice(0, 8, axis=1)", lambda m, p: p[:, :8]),
    ([8, 6], "transpose(0, 1)", lambda m, p: p.transpose(0, 1)),
    ([8, 6], "permute([1, 0])", lambda m, p: p.permute(1, 0)),
    ([2, 6, 8], "select(1)", lambda m, p: p[1]),
    ([48], "reshape([6, 8])", lambda m, p: p.reshape(6, 8)),
    ([6, 2, 4], "flatten(1)", lambda m, p: p.flatten(1)),
    ([6, 8], "softmax(1)", lambda m, p: p.softmax(1)),
    ([6, 8], "layernorm", lambda m, p: F.layer_norm(p, [8])),
    ([6, 3], "linear(8)", _linear),
    ([6, 8], "gelu", lambda m, p: F.gelu(p)),
    # operators whose torch code needs a batch axis compute it as a batch of one
    ([1, 3, 4], "upsample(2)", lambda m, p: F.interpolate(p[None], scale_factor=2.0)[0]),
    ([6, 8], "l2norm", lambda m, p: F.normalize(p, dim=0)),
]


def _network(shape: list[int], chain: str, out: tuple[int, ...]) -> netdsl.Network:
    dims = ", ".join(map(str, out))
    return netdsl.load(f"network t {{\n    input x: [{dims}]\n    add {{ identity\n"
                       f"          {{ p: parameter({list(shape)}, std=1) -> {chain} }} }}\n}}\n")


@pytest.mark.parametrize(("shape", "chain", "expected"), CASES,
                         ids=[c[1] for c in CASES])
def test_an_operator_on_a_parameter_without_a_batch_axis(shape, chain, expected):
    alone = netdsl.load(f"network t {{\n    input x: [1]\n"
                        f"    p: parameter({list(shape)}) -> {chain}\n}}\n")
    out = expected(netdsl.build(alone), torch.zeros(shape)).shape  # torch's
    net = _network(shape, chain, tuple(out))
    model = netdsl.build(net).eval()
    p = model.p.detach()
    want = expected(model, p).detach()
    x = torch.randn(3, *want.shape)
    torch.testing.assert_close(model(x), x + want)
    # the analysis: the shape torch makes, per sample
    assert list(alone.stats().outputs.values()) == [tuple(want.shape)]


def test_a_slice_of_a_parameter_indexes_its_own_first_axis():
    """The tester's case: `self.pos[:4]`, not `self.pos[:, :4]`."""
    source = generate(_network([6, 8], "slice(0, 4)", (4, 8)))
    assert "return x + self.pos[:4]" in source.replace("self.p[", "self.pos[")


def test_the_macs_of_a_linear_on_a_parameter_are_torchs():
    net = _network([6, 3], "linear(8)", (6, 8))
    assert net.stats().macs == 6 * 3 * 8  # torch's x @ W.T: 6 rows of 3 x 8, once


def test_merges_of_a_parameter_with_the_batched_input():
    """concat expands it to the batch; a product broadcasts it, the batched input gaining
    the axes the analysis pads on the left after its batch axis."""
    net = netdsl.load("network t {\n    input x: [6, 8]\n"
                      "    concat(dim=0) { t: parameter([2, 8], std=1); identity }\n"
                      "    mul { identity; s: parameter([3, 1, 1], std=1) }\n}\n")
    model = netdsl.build(net).eval()
    x = torch.randn(2, 6, 8)
    joined = torch.cat([model.t.expand(2, -1, -1), x], dim=1)
    want = joined[:, None] * model.s
    got = model(x)
    torch.testing.assert_close(got, want)
    assert list(net.stats().outputs.values()) == [tuple(got.shape[1:])]


def test_a_block_on_a_parameter_computes_it_as_one_sample():
    net = netdsl.load("block b { bn -> softmax(1) }\n"
                      "network t {\n    input x: [6, 8]\n"
                      "    add { identity; { p: parameter([6, 8], std=1) -> b } }\n}\n")
    model = netdsl.build(net).eval()
    x = torch.randn(2, 6, 8)
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    torch.testing.assert_close(model(x), x + bn(model.p[None]).softmax(2)[0])
