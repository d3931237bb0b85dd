"""A hover computes the figures of the layers at one place without the table of every layer;
they must be the table's own, for every layer and call of networks of every kind (inline
blocks, runs, dense connections, windows and tokens, shared modules)."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.lsp.figures import row
from netdsl.lsp.index import Index
from tests.conftest import SPECS

SIAMESE = """
block tower(x: tensor) { from x -> conv(8, 3, p=1) -> relu -> conv(8, 3, s=2) }
network siamese {
    input a: [3, 32, 32]
    input b: [3, 32, 32]
    shared twin: tower
    left = twin(a)
    right = twin(b)
    add(left, right) -> flatten -> linear(2)
}
"""


def _compare(network: netdsl.Network) -> int:
    compared = 0
    for spans in Index([network]).spans.values():
        for made in spans.values():
            for m in made:
                if m.item is None:
                    continue
                mine, table = row(m), network.stats().row(m.name)
                assert (mine.output, mine.params, mine.buffers, mine.macs, mine.flops,
                        mine.connections, mine.rf, mine.summary, mine.is_block) == \
                    (table.output, table.params, table.buffers, table.macs, table.flops,
                     table.connections, table.rf, table.summary, table.is_block), m.name
                compared += 1
    return compared


@pytest.mark.parametrize("spec", ["resnet152", "googlenet", "densenet121", "swin_t",
                                  "yolov3", "gpt2_small", "unet"])
def test_a_layers_figures_are_its_table_row(spec):
    network = netdsl.load(SPECS / f"{spec}.net")
    assert _compare(network) >= len(network.top.items)


def test_a_shared_modules_later_applications_own_no_weights():
    network = netdsl.load(SIAMESE)
    assert _compare(network) > 0
    calls = [r for r in network.stats().layers if r.is_block]
    assert [r.params > 0 for r in calls] == [True, False]  # the weights are the first call's
