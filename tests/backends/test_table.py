"""The stats formats: JSON that any parser reads back to the same figures, one item a line."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import netdsl
from netdsl.backends.table import format_json, format_markdown, format_table

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


RESIZED = """
network n {
    input x: [1, 45, 45]
    conv(4, 3)
    up: upsample(size=44, mode=bilinear)
    last: conv(4, 3)
}
"""


def test_fractional_receptive_fields_are_rounded_in_the_table_exact_in_json():
    """A resize from 43 to 44 makes the stride 43/44; the 3x3 conv after it widens the
    upsampling's 4-pixel field by two such strides, to 131/22 pixels. The table once printed
    5.954545454545454 /0.977273; now it rounds, and JSON keeps every digit of the float."""
    stats = netdsl.load(RESIZED).stats()
    stride = Fraction(43, 44)
    size = 4 + 2 * stride  # the bilinear upsampling's 4-pixel field, widened by the 3x3 conv
    assert size == Fraction(131, 22)
    row = [line for line in format_table(stats).splitlines() if line.startswith("last ")][0]
    assert row.endswith(f"{float(size):.3g} /{float(stride):.3g}")
    assert row.endswith("5.95 /0.977")
    layer = {r["name"]: r for r in json.loads(format_json(stats))["layers"]}["last"]
    assert layer["rf"]["size"] == [float(size)] * 2 and layer["rf"]["stride"] == [float(stride)] * 2


def test_markdown_and_csv_print_exact_integers():
    """The README once called markdown exact while it printed "9.41 K"."""
    stats = netdsl.load(SPEC).stats()
    markdown = format_markdown(stats)
    assert "| 2,570 |" in markdown  # linear 64 -> 10: 64 * 10 + 10, torch's Linear count
    assert not re.search(r"\| [\d.]+ [KMGT] \|", markdown)
    assert "2.57 K" in format_table(stats)  # the table abbreviates for the eye
