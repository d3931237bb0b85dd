"""The exploring half of the Python API: `Network.table`, `Stats.to_pandas`, `Network.render`,
`Network.to_source`, the notebook display and a short `repr` of stats; figures checked
against torchvision's modules."""

from __future__ import annotations

import re

import pytest
import torchvision

import netdsl
from tests.conftest import SPECS


def params_of(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_table_is_the_stats_command_table(cli):
    net = netdsl.load(SPECS / "resnet18.net")
    printed = cli("stats", str(SPECS / "resnet18.net"), "--depth", "1").stdout
    assert net.table(depth=1) == printed
    assert "layer1.0.conv1" in net.table() and "layer1.0.conv1" not in net.table(depth=1)


def test_to_pandas_rows_are_torchvisions_modules():
    frame = netdsl.load(SPECS / "resnet18.net").stats().to_pandas()
    reference = torchvision.models.resnet18()
    for name in ("conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer3", "fc"):
        assert frame.loc[name, "params"] == params_of(reference.get_submodule(name))
    assert frame.loc["layer4", "output"] == (512, 7, 7)
    assert frame.loc["conv1", "rf_size"] == (7, 7) and frame.loc["fc", "rf_size"] == "global"
    top = frame[frame["depth"] == 1]
    assert top["params"].sum() == params_of(reference)


def test_repr_of_stats_is_one_short_line():
    stats = netdsl.load(SPECS / "resnet50.net").stats()
    text = repr(stats)
    assert "\n" not in text and len(text) < 160
    assert "25,557,032 params" in text and "4,089,184,256 MACs" in text


def test_render_writes_the_format_of_the_suffix(tmp_path):
    net = netdsl.load(SPECS / "lenet5.net")
    svg = net.render(tmp_path / "lenet.svg")
    assert svg.read_text().rstrip().endswith("</svg>")
    png = net.render(tmp_path / "r18.png", depth=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dot = netdsl.load(SPECS / "resnet18.net").render(tmp_path / "r18.dot", depth=1)
    assert "layer1.0.conv1" not in dot.read_text() and '"layer1"' in dot.read_text()


def test_render_takes_the_options_of_the_command(tmp_path):
    import struct
    net = netdsl.load(SPECS / "lenet5.net")
    widths = []
    for dpi in (36, 72):
        png = net.render(tmp_path / f"lenet{dpi}.png", dpi=dpi).read_bytes()
        widths.append(struct.unpack(">I", png[16:20])[0])  # the IHDR chunk's width
    assert widths[1] == pytest.approx(2 * widths[0], abs=2)
    edges = net.render(tmp_path / "lenet.dot", edge_shapes=True).read_text()
    assert 'label="6\u00d728\u00d728"' in edges  # the shape on the edge itself


def test_to_source_is_what_compile_writes_and_builds_torchvisions_resnet18(cli):
    from netdsl.backends.pytorch.codegen import network_class
    source = netdsl.load(SPECS / "resnet18.net").to_source()
    assert source == cli("compile", str(SPECS / "resnet18.net"), "-o", "-").stdout
    namespace: dict = {}
    exec(compile(source, "resnet18.py", "exec"), namespace)  # noqa: S102 - our own output
    model = namespace[network_class(source)]()
    reference = torchvision.models.resnet18()
    model.load_state_dict(reference.state_dict())  # strict: every name and shape agrees
    assert params_of(model) == params_of(reference)


def test_notebook_display_has_totals_diagram_and_folded_table():
    net = netdsl.load(SPECS / "resnet18.net")
    html = net._repr_html_()
    assert "11,689,512" in html  # torchvision resnet18's parameters
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "layer1.0.conv1" not in svg and ">layer1<" in svg  # collapsed to the top blocks
    table = html[html.index("<details>"):]
    rows = re.findall(r'<tr class="(?:block|layer)" data-name="([^"]*)"', table)
    assert rows == [r.name for r in net.stats().layers]
