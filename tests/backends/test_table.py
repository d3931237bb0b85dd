"""The stats formats: JSON that any parser reads back to the same figures, one item a line."""

from __future__ import annotations

import json

import netdsl
from netdsl.backends.table import format_json

SPEC = """
network n() {
    input x: [3, 8, 8]
    body: { conv(4, 3, p=1) -> relu }
    flatten
    linear(10)
}
"""


def test_json_reads_back_to_the_stats():
    stats = netdsl.load(SPEC).stats()
    data = json.loads(format_json(stats))
    expected = stats.as_dict()
    assert data == expected
    assert data["params"] == 3 * 4 * 9 + 4 + 4 * 64 * 10 + 10
    assert [layer["name"] for layer in data["layers"]] == \
        ["x", "body", "body.0", "body.1", "1", "2"]


def test_json_puts_each_layer_and_operator_on_its_own_line():
    stats = netdsl.load(SPEC).stats()
    lines = format_json(stats).splitlines()
    layer_lines = [line for line in lines if line.startswith('  {"name": ')]
    assert len(layer_lines) == len(stats.layers)
    assert any(line.startswith('  "conv": {"count": 1') for line in lines)


def test_json_depth_hides_layers_inside_blocks():
    stats = netdsl.load(SPEC).stats()
    data = json.loads(format_json(stats, depth=1))
    assert [layer["name"] for layer in data["layers"]] == ["x", "body", "1", "2"]
    assert json.loads(format_json(stats, depth=0))["layers"] == []
