"""`netdsl render` as a user runs it: formats, determinism, a missing `dot`, no torch."""

from __future__ import annotations

import os
import subprocess
import sys

import netdsl
from tests.backends.graphviz.conftest import dot_nodes, svg_counts
from tests.conftest import ROOT, SPECS, run_cli

RESNET50 = str(SPECS / "resnet50.net")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


def test_dot_output_is_byte_identical_across_runs(tmp_path):
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.dot"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = _run("render", RESNET50, "-o", str(out), "--depth", "all", env=env)
        assert result.returncode == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    # input + stem (conv, bn, relu, maxpool) + 16 bottlenecks x 10 layers (3 conv, 3 bn, 3 relu,
    # add) + 4 downsamples x 2 (conv, bn) + avgpool, flatten, fc
    assert len(dot_nodes(outs[0].decode())) == 1 + 4 + 160 + 8 + 3


def test_svg_png_pdf_by_suffix(tmp_path):
    svg = tmp_path / "g.svg"
    assert run_cli("render", str(SPECS / "googlenet.net"), "-o", str(svg)).returncode == 0
    assert svg_counts(svg.read_text())["cluster"] == 0  # by default the blocks are boxes
    assert run_cli("render", str(SPECS / "googlenet.net"), "-o", str(svg), "--depth",
                   "2").returncode == 0
    assert svg_counts(svg.read_text())["cluster"] >= 9  # the nine inception blocks
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    assert run_cli("render", RESNET50, "-o", str(png), "--depth", "1",
                   "--direction", "LR").returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli("render", RESNET50, "-o", str(pdf)).returncode == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_set_and_direction_reach_the_diagram(tmp_path):
    out = tmp_path / "r.dot"
    result = run_cli("render", RESNET50, "-o", str(out), "--set", "classes=10", "--direction",
                     "LR", "--depth", "1")
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "rankdir=LR" in text and "linear 10<" in text


def test_unknown_format_is_a_user_error(tmp_path):
    result = run_cli("render", RESNET50, "-o", str(tmp_path / "r.jpeg"))
    assert result.returncode == 2
    assert ".svg" in result.stderr and "format" in result.stderr


def test_missing_dot_says_how_to_install_and_dot_still_works(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH: no `dot`
    result = _run("render", RESNET50, "-o", str(tmp_path / "r.svg"), env=env)
    assert result.returncode == 2
    assert "`dot` was not found" in result.stderr
    assert "apt-get install graphviz" in result.stderr and "brew install graphviz" in result.stderr
    assert not (tmp_path / "r.svg").exists()
    result = _run("render", RESNET50, "-o", str(tmp_path / "r.dot"), env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r.dot").read_text().startswith('digraph "resnet50"')


def test_render_never_imports_torch(tmp_path):
    out = str(tmp_path / "r.svg")
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import cli; "
            f"code = cli.main(['render', {RESNET50!r}, '-o', {out!r}]); "
            "assert code == 0; assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


def test_refuses_to_overwrite_the_spec(tmp_path):
    spec = tmp_path / "n.dot"
    spec.write_text("network n {\n input x: [4]\n relu\n}\n")
    result = run_cli("render", str(spec), "-o", str(spec))
    assert result.returncode == 2
    assert spec.read_text().startswith("network n")


def test_jupyter_shows_the_diagram():
    html = netdsl.load(SPECS / "lenet5.net")._repr_html_()
    svg = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
    assert svg_counts(svg)["node"] == 15 + 1  # LeNet-5's 15 layers and input, + legend


def test_edge_shapes_are_written_on_the_edges(tmp_path):
    out = tmp_path / "r.dot"
    assert run_cli("render", RESNET50, "-o", str(out), "--depth", "1").returncode == 0
    assert 'label="256\u00d756\u00d756"' not in out.read_text()
    assert run_cli("render", RESNET50, "-o", str(out), "--depth", "1",
                   "--edge-shapes").returncode == 0
    edges = [line for line in out.read_text().splitlines() if " -> " in line]
    # layer1 -> layer2 carries layer1's output: torchvision's layer1 gives 256 x 56 x 56
    assert any('"layer1" -> "layer2"' in e and 'label="256\u00d756\u00d756"' in e for e in edges)
    assert all("label=" in e for e in edges)


def test_dpi_sets_the_png_resolution(tmp_path):
    sizes = []
    for dpi in ("48", "192"):
        png = tmp_path / f"r{dpi}.png"
        result = run_cli("render", RESNET50, "-o", str(png), "--depth", "1", "--dpi", dpi)
        assert result.returncode == 0, result.stderr
        data = png.read_bytes()
        sizes.append((int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")))
    assert abs(sizes[1][0] / sizes[0][0] - 4) < 0.05 and abs(sizes[1][1] / sizes[0][1] - 4) < 0.05
    result = run_cli("render", RESNET50, "-o", str(tmp_path / "x.png"), "--dpi", "0")
    assert result.returncode == 2 and "--dpi" in result.stderr


def test_layout_u_needs_an_encoder_decoder(tmp_path):
    result = run_cli("render", RESNET50, "-o", str(tmp_path / "r.dot"), "--layout", "u")
    assert result.returncode == 2
    assert "encoder-decoder" in result.stderr and "[usage]" in result.stderr
    assert not (tmp_path / "r.dot").exists()
    unet = tmp_path / "u.dot"
    assert run_cli("render", str(SPECS / "unet.net"), "-o", str(unet), "--layout",
                   "column").returncode == 0
    assert "dir=back" not in unet.read_text()


def test_a_depth_larger_than_a_page_is_warned_about(tmp_path):
    out = tmp_path / "d.dot"
    result = run_cli("render", str(SPECS / "densenet121.net"), "-o", str(out), "--depth", "all")
    assert result.returncode == 0 and out.exists()
    assert "warning: the diagram is larger than a page" in result.stderr
    assert "--depth 1 fits a page" in result.stderr
    quiet = run_cli("render", str(SPECS / "densenet121.net"), "-o", str(out), "--depth", "1")
    assert quiet.returncode == 0 and quiet.stderr == ""
