"""The diagrams of ResNet-50, Inception-v3, DenseNet-121, EfficientNet-B0 and U-Net tell the
truth: which boxes, runs and edges exist, checked against torchvision's modules (a run only of
blocks torchvision builds alike) and against where Graphviz puts the boxes."""

from __future__ import annotations

import re

import pytest

from netdsl.backends.graphviz import diagram_of, dot_of
from netdsl.backends.graphviz.fit import fits
from netdsl.backends.graphviz.render import render_bytes
from netdsl.cli.output import EVERY_LEVEL

torchvision = pytest.importorskip("torchvision")

NOISE = re.compile(r"\d\.\d*(?:0{6}|9{6})\d")  # 0.037500000000000006, 0.15000000000000002


def _runs(diagram) -> dict[str, int]:
    return {b.id: b.count for b in diagram.boxes if b.count > 1}


def _positions(dot: str) -> dict[str, tuple[float, float]]:
    """Where Graphviz puts each box (inches, y upwards), from its `plain` output."""
    import subprocess

    from graphviz.backend.dot_command import command
    plain = subprocess.run(command("dot", "plain"), input=dot.encode(), capture_output=True,
                           check=True).stdout.decode()
    found = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts and parts[0] == "node":
            found[parts[1].strip('"')] = (float(parts[2]), float(parts[3]))
    return found


def test_resnet50_runs_are_the_blocks_torchvision_builds_alike(networks):
    model = torchvision.models.resnet50()
    diagram = diagram_of(networks("resnet50"))
    assert diagram.depth == 2 and diagram.title.endswith("depth 2 of 4, the deepest that fits "
                                                         "a page")
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        blocks = list(getattr(model, stage))
        # the first block alone has a downsample path (layer1's too: 64 channels in, 256 out)
        assert blocks[0].downsample is not None
        assert all(b.downsample is None and repr(b) == repr(blocks[1]) for b in blocks[1:])
        inside = [b for b in diagram.boxes if b.cluster == stage]
        assert [(b.id, b.count) for b in inside] == [(f"{stage}.0", 1),
                                                     (f"{stage}.1", len(blocks) - 1)]
        assert inside[1].last == f"{stage}.{len(blocks) - 1}"
        if inside[0].text == inside[1].text:  # layer1: the same call, told apart
            assert inside[0].note == "with downsample" and not inside[1].note
        first_params = sum(p.numel() for p in blocks[0].parameters())
        assert inside[0].params == first_params
        assert inside[1].params == sum(p.numel() for b in blocks[1:] for p in b.parameters())
    # one chain from the input to fc: every edge joins consecutive boxes
    ids = [b.id for b in diagram.boxes]
    assert [(e.src, e.dst) for e in diagram.edges] == list(zip(ids, ids[1:], strict=False))


def test_inception_v3_merges_only_identical_modules(networks):
    model = torchvision.models.inception_v3(init_weights=False, aux_logits=False)
    mixed = [name for name, _ in model.named_children() if name.startswith("Mixed")]
    diagram = diagram_of(networks("inception_v3"))
    assert diagram.depth == 1 and fits(diagram.size)
    # a run exactly where torchvision's consecutive modules are the same module
    alike = {a for a, b in zip(mixed, mixed[1:], strict=False)
             if repr(getattr(model, a)) == repr(getattr(model, b))}
    assert alike == {"Mixed_6c"}
    assert _runs(diagram) == {"Mixed_6c": 2}
    assert diagram.box("Mixed_6c").last == "Mixed_6d"
    # at depth 2 no two convolutions are one box: branch3x3dbl_2 sees 64 channels, _3 sees 96
    deeper = diagram_of(networks("inception_v3"), depth=2)
    assert _runs(deeper) == {}
    convs = model.Mixed_5b.branch3x3dbl_2.conv, model.Mixed_5b.branch3x3dbl_3.conv
    assert convs[0].in_channels != convs[1].in_channels
    assert deeper.box("Mixed_5b.branch3x3dbl_3").params == sum(
        p.numel() for p in model.Mixed_5b.branch3x3dbl_3.parameters())


def test_inception_v3_branches_are_drawn_in_concatenation_order(networks):
    dot = dot_of(networks("inception_v3"), depth=2)
    where = _positions(dot)
    # torchvision's InceptionA.forward: cat([branch1x1, branch5x5, branch3x3dbl, branch_pool])
    heads = ["Mixed_5b.branch1x1", "Mixed_5b.branch5x5_1", "Mixed_5b.branch3x3dbl_1",
             "Mixed_5b.6"]  # the avg pool that opens branch_pool
    xs = [where[h][0] for h in heads]
    assert xs == sorted(xs)
    # InceptionE: cat([branch1x1, branch3x3 (2a, 2b), branch3x3dbl (3a, 3b), branch_pool])
    heads = ["Mixed_7b.branch1x1", "Mixed_7b.branch3x3_1", "Mixed_7b.branch3x3dbl_1",
             "Mixed_7b.10"]
    xs = [where[h][0] for h in heads]
    assert xs == sorted(xs)


def test_densenet121_features_use_no_level_and_dense_layers_run(networks):
    model = torchvision.models.densenet121()
    diagram = diagram_of(networks("densenet121"))
    assert diagram.depth == 1 and fits(diagram.size) and "depth 1 of 3" in diagram.title
    # `features` is a frame; its dense blocks and transitions are the boxes of depth 1
    assert list(diagram.clusters) == ["features"]
    blocks = [b.id for b in diagram.boxes if b.kind == "block"]
    expected = [f"features.{name}" for name, _ in model.features.named_children()
                if name.startswith(("denseblock", "transition"))]
    assert blocks == expected
    for name in expected:
        module = model.features.get_submodule(name.split(".", 1)[1])
        assert diagram.box(name).params == sum(p.numel() for p in module.parameters())
    # depth 2: each dense block is one run of its layers (block_config 6, 12, 24, 16)
    deeper = diagram_of(networks("densenet121"), depth=2)
    assert list(_runs(deeper).values()) == [6, 12, 24, 16]
    assert deeper.box("features.denseblock3.denselayer1").shape == (1024, 14, 14)


def test_efficientnet_b0_blocks_are_apart_and_labels_exact(networks):
    model = torchvision.models.efficientnet_b0()
    net = networks("efficientnet_b0")
    diagram = diagram_of(net)
    assert diagram.depth == 1 and fits(diagram.size)
    assert [b.id for b in diagram.boxes if b.cluster == "features"] == [
        f"features.{i}" for i in range(9)]  # `features` uses no level
    # depth 2: the sixteen MBConv blocks, none merged: each has its own stochastic depth rate
    deeper = diagram_of(net, depth=2)
    assert _runs(deeper) == {}
    mbconvs = [b for b in deeper.boxes if b.op == "mbconv"]
    torch_blocks = [blk for stage in model.features[1:8] for blk in stage]
    assert len(mbconvs) == len(torch_blocks) == 16
    labels = {b.id: b.text for b in mbconvs}
    for stage in range(1, 8):
        for j, block in enumerate(model.features[stage]):
            rate = block.stochastic_depth.p
            if rate:  # 0.037500000000000006 in torchvision, 0.0375 here
                text = labels[f"features.{stage}.{j}"]
                shown = float(re.search(r"drop=([0-9.e-]+)", text).group(1))
                assert shown == pytest.approx(rate, rel=1e-9)
    assert NOISE.search(repr(model.features[3][0].stochastic_depth.p))  # what is left out
    dot = dot_of(net, depth=3)
    assert not NOISE.search(dot) and not NOISE.search(dot_of(net, depth=EVERY_LEVEL))
    assert "\u2026" not in dot  # no label is cut
    # stochastic depth is drawn by its own name, and so named in the legend
    legend = next(line for line in dot.splitlines() if line.lstrip().startswith('"legend"'))
    assert "stochastic_depth" in legend and "stochastic_depth 0.0125" in dot


def test_unet_is_a_u(networks):
    net = networks("unet")
    diagram = diagram_of(net)
    assert diagram.layout == "u" and fits(diagram.size)
    assert diagram.encoder[:2] == ["image", "enc1"] and diagram.encoder[-1] == "center"
    assert [b for b in diagram.decoder if b.startswith("dec")] == ["dec4", "dec3", "dec2",
                                                                   "dec1"]
    # each level's skip pairs the encoder's block with the crop of the decoder at that level
    assert [(a, diagram.box(b).text) for a, b in diagram.pairs] == [
        ("enc1", "crop to up1"), ("enc2", "crop to up2"), ("enc3", "crop to up3"),
        ("enc4", "crop to up4")]
    where = _positions(dot_of(net))
    for level in (1, 2, 3, 4):
        enc, dec = where[f"enc{level}"], where[f"dec{level}"]
        assert enc[0] < dec[0]  # encoder on the left
        assert abs(where[dict(diagram.pairs)[f"enc{level}"]][1] - enc[1]) < 0.01  # across
    ys = [where[f"dec{level}"][1] for level in (4, 3, 2, 1)]
    assert ys == sorted(ys)  # the decoder goes up (y grows upwards in Graphviz)
    assert where["center"][1] < min(ys)  # the bottom of the U
    column = diagram_of(net, layout="column")
    assert column.layout == "column" and not fits(column.size)


@pytest.mark.slow  # five PNGs of full-size networks (test_structure.py draws a few specs fast)
def test_the_five_pngs_fit_a_page(networks):
    """The images in docs/images are drawn at the default depth: each fits a page."""
    for name in ("resnet50", "inception_v3", "densenet121", "efficientnet_b0", "unet"):
        diagram = diagram_of(networks(name))
        assert fits(diagram.size), name
        png = render_bytes(dot_of(networks(name)), "png")
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width / 96, height / 96) == pytest.approx(diagram.size, abs=0.5)
