"""Every spec in specs/: the built module holds, under each layer name of the IR, exactly the
parameters and buffers the operators' rules count for that layer (which the spec tests prove
against torchvision and the papers), and computes outputs of the IR's shapes."""

from __future__ import annotations

import pytest
import torch

import netdsl
from tests.backends.pytorch.conftest import assert_state_matches_ir, example, small
from tests.conftest import spec_paths

SPECS = spec_paths()


@pytest.mark.parametrize("path", [  # every spec but LeNet-5 is a full-size model
    pytest.param(p, id=p.stem, marks=() if p.stem == "lenet5" else pytest.mark.slow)
    for p in SPECS])
def test_spec_lowers_exactly(path) -> None:
    network = small(path)
    torch.manual_seed(0)
    built = netdsl.build(network).eval()
    assert_state_matches_ir(built, network)
    graph = network.graph
    inputs = [example(graph, name) for name in graph.inputs]
    with torch.no_grad():
        out = built(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape[1:]) for o in outs] == [graph[n].shape for n in graph.outputs.values()]


def test_lenet5_connection_table_and_subsampling_hold_only_their_weights() -> None:
    model = netdsl.build("specs/lenet5.net")
    assert sum(p.numel() for p in model.c3.parameters()) == 1_516  # LeCun et al. 1998, C3
    for name, maps in (("s2", 6), ("s4", 16)):
        shapes = sorted(tuple(p.shape) for p in getattr(model, name).parameters())
        assert shapes == [(maps,), (maps,)]


def test_connection_table_connects_only_listed_maps() -> None:
    """A gradient reaches input map j of output map i only when table[i] lists j."""
    model = netdsl.build("specs/lenet5.net")
    table = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
             [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
             [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]  # the paper's Table I
    for i, row in enumerate(table):
        x = torch.randn(1, 6, 14, 14, requires_grad=True)
        model.c3(x)[0, i].sum().backward()
        seen = [j for j in range(6) if x.grad[0, j].abs().sum() > 0]
        assert seen == row
