"""Graphviz is given only what it can lay out in reasonable time, and never runs unbounded: a
diagram is measured (boxes, and the segments of edges that skip ranks) before `dot` runs, which
runs under a time limit; long texts are cut before Graphviz's own limits."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.backends.graphviz import dot_of, render
from netdsl.backends.graphviz.render import layout_size, render_bytes
from netdsl.errors import NetdslError
from tests.backends.graphviz.conftest import dot_nodes


def _dense_dag(n: int) -> str:
    """Each layer adds the outputs of layers n - 1, n // 2 and n // 3: edges skip many ranks."""
    lines = ["    a0: conv(4, 1)"]
    for i in range(1, n):
        sources = sorted({f"a{j}" for j in (i - 1, i // 2, i // 3) if j < i})
        lines.append(f"    a{i}: add({', '.join(sources)})" if len(sources) > 1
                     else f"    a{i}: {{ from a{i - 1} -> relu }}")
    return "network n {\n    input x: [4, 8, 8]\n" + "\n".join(lines) + "\n}\n"


def test_a_dense_dag_is_measured_and_refused_before_dot_runs():
    net = netdsl.load(_dense_dag(300))
    text = dot_of(net)
    boxes, segments = layout_size(text)
    assert boxes == len(dot_nodes(text)) + 1  # and the legend
    assert segments > 10_000  # an edge from a75 to a150 passes 74 ranks
    with pytest.raises(NetdslError) as info:
        render_bytes(text, "svg", net.source_path)
    diag = info.value.diagnostics[0]
    assert diag.code == "limit" and "--depth" in diag.help
    assert str(diag.span) == "<string>"


def test_a_chain_has_no_extra_segments():
    net = netdsl.load("network n {\n    input x: [3, 8, 8]\n    relu * 20\n}\n")
    assert layout_size(dot_of(net, depth=2)) == (22, 0)


def test_the_zoo_fits_at_every_depth_it_is_drawn_at_by_default():
    for spec in ("specs/resnet152.net", "specs/densenet201.net", "specs/inception_v3.net"):
        boxes, segments = layout_size(dot_of(netdsl.load(spec)))
        assert boxes + segments < 500


def test_dot_runs_under_a_time_limit(monkeypatch):
    monkeypatch.setattr(render, "DOT_SECONDS", 1e-6)
    net = netdsl.load("specs/resnet50.net")
    with pytest.raises(NetdslError) as info:
        render_bytes(dot_of(net), "svg", net.source_path)
    assert "did not finish" in info.value.diagnostics[0].message


def test_a_100k_character_label_is_drawn():
    label = "x" * 100_000
    net = netdsl.load(f'network n {{\n    input x: [3, 8, 8]\n    ("{label}"): conv(3, 1)\n}}\n')
    svg = render_bytes(dot_of(net), "svg").decode()
    assert "<svg" in svg and label not in svg
