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
    net = netdsl.load(path)
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
