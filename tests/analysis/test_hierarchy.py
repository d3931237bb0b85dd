"""The analyses computed once per definition and placed at each call agree, on every spec of the
zoo, with the same analyses walked over the flat layer graph: totals, per-operator counts, the
peak of live activations, a training step's memory, and every row's receptive field. (The
memory figures are themselves checked against the storage torch allocates running the compiled
modules in test_memory.py and test_training.py, the receptive fields against autograd in
test_receptive_field.py.)"""

from __future__ import annotations

import pytest

import netdsl
from netdsl.analysis.annotate import annotate
from tests.analysis.flat_reference import flat_memory, flat_training
from tests.conftest import zoo_params


@pytest.mark.parametrize("path", zoo_params())
def test_definitions_agree_with_the_flat_graph(path):
    _agree_with_the_flat_graph(netdsl.load(path))


# The rows of a one-input block are made once and placed at each call; these are the cases
# where the placement differs from a plain copy.
PLACED = {
    # a shared module's later calls have no weights; its runs are placed call after call
    "shared_runs": """
block unit() {
    add {
        identity
        conv(8, 3, p=1) -> relu
    }
}
block tower(n: int) {
    unit * n
    maxpool(2)
}
network n {
    input x: [8, 32, 32]
    shared t: tower(3)
    concat {
        t
        t
        t
    }
}
""",
    # causal fields inside a call inside the block: placed by walking, not by composition
    "causal_inside": """
block last_token() {
    permute([1, 0]) -> attention(2, causal=true) -> select(-1)
}
block reader() {
    relu -> last_token
}
network n {
    input x: [4, 9]
    concat {
        reader
        reader
    }
}
""",
    # a run of passes split where later layers read one pass (`from stages.2`)
    "split_run": """
block unit(c: int) {
    conv(c, 3, p=1) -> relu
}
network n {
    input x: [3, 16, 16]
    stages: unit(8) * 6
    from stages.2 -> a: conv(4, 1)
    from stages.4 -> b: conv(4, 1)
    from stages.0 -> c: conv(4, 1)
    concat(a, b)
}
""",
}


@pytest.mark.parametrize("name", PLACED)
def test_rows_placed_at_each_call_agree_with_the_flat_graph(name):
    _agree_with_the_flat_graph(netdsl.load(PLACED[name]))


def test_a_shared_modules_later_calls_hold_no_weights():
    rows = {r.name: r for r in netdsl.load(PLACED["shared_runs"]).stats().layers}
    assert [rows[n].params for n in ("t", "t#2", "t#3")] == [3 * (8 * 8 * 9 + 8), 0, 0]
    assert rows["t#3.2.0"].params == 0 and rows["t.2.0"].params == 8 * 8 * 9 + 8
    assert rows["t#3.2.0"].macs == rows["t.2.0"].macs == 8 * 8 * 9 * 32 * 32


def _agree_with_the_flat_graph(net):
    stats = net.stats()
    graph = net.graph
    annotate(graph)
    for key in ("params", "buffers", "macs", "flops", "connections"):
        assert getattr(stats, key) == sum(n.meta[key] for n in graph), key
    elements, peak = flat_memory(graph)
    assert stats.activation_elements == elements
    assert stats.peak_activation_bytes == 4 * peak
    for batch, optimizer in ((1, "sgd"), (8, "adam")):
        training = net.stats(batch=batch, train=optimizer).training
        assert training == flat_training(graph, stats.params, stats.buffers, optimizer, batch)
    rows = {r.name: r for r in stats.layers if not r.is_block}
    assert set(rows) == set(graph.nodes)
    for node in graph:
        row = rows[node.name]
        assert (row.output, row.params, row.macs, row.rf) == \
            (node.shape, node.meta["params"], node.meta["macs"], node.meta["rf"]), node.name


def test_each_distinct_block_instantiation_is_one_definition():
    net = netdsl.load("specs/resnet50.net")
    stages = [c for c in net.top.calls() if c.definition.block == "stage"]
    assert [c.name for c in stages] == ["layer1", "layer2", "layer3", "layer4"]
    layer3 = stages[2].definition
    first, rest = layer3.calls()
    # the first unit downsamples; the other five are one definition, elaborated once and
    # applied as a run of five calls named 1 .. 5
    assert first.definition is not rest.definition and first.count == 1
    assert rest.count == 5 and rest.members() == ["1", "2", "3", "4", "5"]
    assert net.top.meta["layers"] == len(net.graph)
