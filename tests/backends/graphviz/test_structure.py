"""Every spec's diagram against its IR: at full depth one box per layer and one edge per data
dependency; by default a drawing Graphviz lays out within a page (or a title that says it is
larger); collapsed depths and "x n" runs against torchvision's architectures."""

from __future__ import annotations

import re

import pytest

import netdsl
from netdsl.backends.graphviz import diagram_of, dot_of, render_bytes
from netdsl.backends.graphviz.dot import PAD
from netdsl.backends.graphviz.fit import fits
from netdsl.backends.graphviz.layout import OUTPUT_ID
from tests.backends.graphviz.conftest import dot_clusters, dot_edges, dot_nodes, svg_counts
from tests.conftest import SPECS, zoo_params

SPEC_IDS = [pytest.param(p.values[0].stem, id=p.id, marks=p.marks) for p in zoo_params()]
ALL = 1_000_000


def runs(dot: str) -> list[int]:
    """The "x n" marks of the collapsed runs, in order."""
    return [int(n) for n in re.findall(r"\u00d7 (\d+)</b></font>", dot)]


@pytest.mark.parametrize("name", SPEC_IDS)
def test_full_depth_draws_every_layer_and_dependency(networks, name):
    net = networks(name)
    graph = net.graph
    dot = dot_of(net, depth=ALL)
    # a network of several outputs ends in one box for each, fed by the layer making it
    outputs = graph.outputs if len(graph.outputs) > 1 else {}
    assert sorted(dot_nodes(dot)) == sorted([*graph.nodes, *(OUTPUT_ID + o for o in outputs)])
    assert sorted(dot_edges(dot)) == sorted([*graph.nx.edges,
                                             *((n, OUTPUT_ID + o) for o, n in outputs.items())])
    # every scope is a frame labelled with its name (relative to its parent frame)
    assert sorted(dot_clusters(dot)) == sorted(graph.scopes)
    for scope in graph.scopes.values():
        assert f"<b>{scope.name.rsplit('.', 1)[-1]}" in dot


@pytest.mark.parametrize("name", SPEC_IDS)
def test_default_svg_draws_what_the_dot_says(networks, name):
    net = networks(name)
    diagram = diagram_of(net)
    dot = dot_of(net)
    svg = render_bytes(dot, "svg").decode()
    counts = svg_counts(svg)
    assert counts["node"] == len(diagram.boxes) + 1  # + the legend
    assert counts["edge"] == len(diagram.edges) == len(dot_edges(dot))
    assert counts["cluster"] == len(diagram.clusters)
    width, height = (float(svg.split(f'{side}="')[1].split("pt")[0]) / 72 - 2 * PAD
                     for side in ("width", "height"))
    assert diagram.size == pytest.approx((width, height), abs=0.02)  # what Graphviz drew
    if fits(diagram.size):
        assert "fits a page" in diagram.title
    else:  # even the shallowest drawing is larger (VGG's chain, LR-ASPP's wide head)
        assert "larger than a page at every depth" in diagram.title
        assert diagram.depth == 1


def test_resnet50_depth_1_collapses_the_four_stages(networks):
    dot = dot_of(networks("resnet50"), depth=1)
    # torchvision resnet50: x, conv1, bn1, relu, maxpool, layer1..4, avgpool, flatten, fc
    nodes = dot_nodes(dot)
    assert len(nodes) == 12
    assert [n for n in nodes if n.startswith("layer")] == ["layer1", "layer2", "layer3", "layer4"]
    assert len(dot_edges(dot)) == 11
    assert dot_clusters(dot) == []
    assert "256\u00d756\u00d756" in dot and "2048\u00d77\u00d77" in dot


def test_resnet50_depth_2_shows_stages_as_frames_with_runs(networks):
    dot = dot_of(networks("resnet50"), depth=2)
    assert dot_clusters(dot) == ["layer1", "layer2", "layer3", "layer4"]
    # torchvision layers [3, 4, 6, 3]: each stage opens with the block that has a downsample
    # path (layer1's too: 64 channels in, 256 out), followed by a run of the rest
    assert runs(dot) == [2, 3, 5, 2]
    assert len(dot_nodes(dot)) == 8 + 8
    assert "layer3.1 \u2026 layer3.5" in dot


def test_resnet152_default_depth_is_readable(networks):
    net = networks("resnet152")
    diagram = diagram_of(net)
    assert diagram.depth == 2
    # torchvision resnet152: layers [3, 8, 36, 3], each stage's first block on its own
    assert [b.count for b in diagram.boxes if b.count > 1] == [2, 7, 35, 2]
    assert len(diagram.boxes) == 16


def test_densenet121_runs_of_dense_layers(networks):
    net = networks("densenet121")
    diagram = diagram_of(net, depth=2)
    # torchvision densenet121: block_config (6, 12, 24, 16)
    assert [b.count for b in diagram.boxes if b.count > 1] == [6, 12, 24, 16]
    assert len(diagram.boxes) < 40
    run = next(b for b in diagram.boxes if b.count == 24)
    assert run.shape == (1024, 14, 14)  # 256 + 24 x 32 channels after the last dense layer


def test_googlenet_inception_blocks_keep_branch_order(networks):
    net = networks("googlenet")
    diagram = diagram_of(net, depth=2)
    inceptions = [c for c in diagram.clusters if c.startswith("inception")]
    assert inceptions == ["inception3a", "inception3b", "inception4a", "inception4b",
                          "inception4c", "inception4d", "inception4e", "inception5a",
                          "inception5b"]
    inside = [b.name for b in diagram.boxes if b.cluster == "inception3a"]
    assert inside[:4] == ["branch1", "branch2", "branch3", "branch4"]
    texts = {b.name: b.text for b in diagram.boxes if b.cluster == "inception3a"}
    # torchvision inception3a: 1x1 64 | 1x1 96 -> 3x3 128 | 1x1 16 -> 3x3 32 | pool -> 1x1 32
    assert texts["branch1"] == "conv 1x1, 64"
    assert texts["branch2"] == "conv 1x1, 96 \u2192 conv 3x3, 128"
    assert texts["branch4"] == "maxpool 3x3 \u2192 conv 1x1, 32"
    concat = [b for b in diagram.boxes if b.cluster == "inception3a" and b.kind == "merge"]
    assert len(concat) == 1 and concat[0].shape == (256, 28, 28)  # 64 + 128 + 32 + 32


def test_residual_identity_paths_are_skip_edges(networks):
    diagram = diagram_of(networks("resnet18"), depth=ALL)
    adds = [b.id for b in diagram.boxes if b.op == "add"]
    assert len(adds) == 8  # torchvision resnet18: [2, 2, 2, 2] basic blocks
    skips = [e for e in diagram.edges if e.skip]
    # the identity path of each block without a 1x1 downsample (layer2-4 open with one) goes
    # straight from the block's input to its add, around the two convolutions
    plain = [a for a in adds if not a.startswith(("layer2.0", "layer3.0", "layer4.0"))]
    assert len(plain) == 5
    assert sorted(e.dst for e in skips) == sorted(plain)
    dot = dot_of(networks("resnet18"), depth=ALL)
    assert dot.count('style="dashed"') == 5
    assert dot.count("shape=circle") == 8


def test_the_tensors_a_block_takes_are_its_inputs_not_skips():
    """Edges into a block of several tensor parameters are skips only where they jump over
    another path between the same boxes (FPN's laterals from the backbone's stages), not where
    they are the only way the tensor reaches it (separate inputs, a detection head's levels)."""
    spec = """
block fuse(a: tensor, b: tensor) { from a -> add(from b -> conv(4, 1)) }
network n {
    input p: [4, 8, 8]
    input q: [4, 8, 8]
    f: fuse(p, q)
    s: conv(4, 3, p=1)
    g: fuse(f, s)
}
"""
    diagram = diagram_of(netdsl.load(spec), depth=1)
    edges = {(e.src, e.dst): e.skip for e in diagram.edges}
    assert edges[("p", "f")] is False and edges[("q", "f")] is False
    assert edges[("f", "g")] is True and edges[("s", "g")] is False  # f also reaches g by s


def test_labels_show_paper_notation_shapes_and_params(networks):
    dot = dot_of(networks("resnet50"), depth=ALL)
    assert "conv 7x7/2, 64" in dot and "maxpool 3x3/2" in dot and "linear 1000" in dot
    assert "64\u00d7112\u00d7112 \u00b7 9.41 K params" in dot  # 64 x 3 x 7 x 7 = 9,408
    assert "bottleneck(width=128, s=2)" in dot  # the block's call, defaults left out
    no_shapes = dot_of(networks("resnet50"), depth=ALL, shapes=False)
    assert "64\u00d7112\u00d7112 \u00b7" not in no_shapes and "9.41 K params" in no_shapes


def test_lenet5_legend_lists_the_families_present(networks):
    dot = dot_of(networks("lenet5"))
    legend = next(line for line in dot.splitlines() if line.lstrip().startswith('"legend"'))
    for text in ("convolution", "activation", "pooling", "linear"):
        assert text in legend
    assert "normalisation" not in legend and "merge" not in legend


def test_dot_text_escapes_spec_text():
    net = netdsl.load('block weird(s: str = "a\\"b<c>&") {\n relu\n}\n'
                      'network n { input x: [4]\n w: weird(s="x\\"<y>&")\n}\n')
    dot = dot_of(net, depth=1)
    assert "&lt;y&gt;&amp;" in dot
    render_bytes(dot, "svg")  # Graphviz accepts it


def test_vit_encoder_layers_collapse_to_one_run(networks):
    """torchvision's names put ViT-B/16's twelve layers at encoder.layers.encoder_layer_i:
    `encoder` and `layers` hold nearly the whole network and use no level, so at depth 1 the
    layers are one box marked x 12 (GPT-2's twelve, under h, too)."""
    diagram = diagram_of(networks("vit_b_16"), depth=1)
    assert [b.count for b in diagram.boxes if b.count > 1] == [12]
    assert list(diagram.clusters) == ["encoder", "encoder.layers"]
    assert runs(dot_of(networks("gpt2_small"), depth=1)) == [12]


def _output_boxes(dot: str) -> dict[str, str]:
    """Output box id -> its tooltip's names (`heatmaps.0 \u2026 heatmaps.6`)."""
    found = re.findall(r'^\s*"(output:[^"]*)" \[.*tooltip="([^"|]*) \| output', dot, re.M)
    return {box: names for box, names in found}


@pytest.mark.parametrize("stacks", [2, 8])
def test_hourglass_draws_every_stack_output(stacks):
    """Each stack's heatmaps are an output (Newell et al. 2016: intermediate supervision); a
    run of stacks draws its outputs as one run too, so none is hidden behind the run's box."""
    net = netdsl.load(SPECS / "hourglass.net", stacks=stacks)
    dot = dot_of(net, depth=1)
    boxes = _output_boxes(dot)
    last = f"heatmaps.{stacks - 1}"
    if stacks == 2:  # two different stacks (the last has no merge convs): one box each
        assert boxes == {OUTPUT_ID + "heatmaps.0": "heatmaps.0", OUTPUT_ID + last: last}
        assert ("stack1", OUTPUT_ID + "heatmaps.0") in dot_edges(dot)
    else:
        assert boxes == {OUTPUT_ID + "heatmaps.0": "heatmaps.0 \u2026 heatmaps.6",
                         OUTPUT_ID + last: last}
        assert runs(dot) == [7, 7]  # the stacks' run and their outputs' run
        assert ("stack1", OUTPUT_ID + "heatmaps.0") in dot_edges(dot)
    assert ("stack" + str(stacks), OUTPUT_ID + last) in dot_edges(dot)


def test_fpn_draws_its_five_levels_as_outputs(networks):
    dot = dot_of(networks("fpn_resnet50"), depth=1)
    boxes = _output_boxes(dot)
    # by the block's output names, which reach them (`fpn.0` is the FPN's first layer)
    assert sorted(boxes.values()) == [f"fpn.layer_blocks.{i}" for i in range(4)] + ["fpn.pool"]
    assert all(("fpn", box) in dot_edges(dot) for box in boxes)


def test_single_output_networks_draw_no_output_box(networks):
    assert not _output_boxes(dot_of(networks("resnet50"), depth=1))
