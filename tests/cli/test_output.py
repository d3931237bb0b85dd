"""One rule for what every command writes: the format from the suffix of -o unless --format
says otherwise, a clear error when they disagree or the suffix names nothing, `-` for standard
output, and no binary format on a terminal.

References: the onnx package reading what `compile -o x.onnx` writes, torch.jit.load and
torch.export.load reading .pt and .pt2, the PNG signature, Python's ast for the source.
"""

from __future__ import annotations

import ast
import io
import json
import warnings

import onnx
import pytest
import torch

from tests.cli.conftest import assert_user_error
from tests.conftest import SPECS

LENET = str(SPECS / "lenet5.net")


@pytest.mark.parametrize(("command", "output", "fmt", "means"), [
    ("compile", "x.onnx", "py", "onnx"),
    ("compile", "x.py", "torchscript", "py"),
    ("render", "x.svg", "png", "svg"),
    ("render", "x.dot", "svg", "dot"),
    ("stats", "x.json", "csv", "json"),
])
def test_suffix_and_format_that_disagree_are_a_usage_error(netdsl, tmp_path, command, output,
                                                           fmt, means):
    target = tmp_path / output
    done = netdsl(command, LENET, "-o", str(target), "--format", fmt)
    assert_user_error(done, f"--format {fmt} disagrees", f"which means {means}", "[usage]")
    assert not target.exists()


@pytest.mark.parametrize(("command", "output"), [("compile", "x.txt"), ("compile", "model"),
                                                 ("render", "r.jpeg"), ("stats", "s.xlsx")])
def test_a_suffix_that_names_no_format_needs_format(netdsl, tmp_path, command, output):
    target = tmp_path / output
    assert_user_error(netdsl(command, LENET, "-o", str(target)),
                      "cannot tell the output format", "--format")
    assert not target.exists()


def test_format_names_a_file_whose_suffix_does_not(netdsl, tmp_path):
    target = tmp_path / "model.txt"
    assert netdsl("compile", LENET, "-o", str(target), "--format", "py").returncode == 0
    ast.parse(target.read_text())  # Python source


def test_onnx_suffix_writes_onnx(netdsl, tmp_path):
    """Once, `-o x.onnx` without --format wrote Python source into x.onnx and exited 0."""
    target = tmp_path / "lenet.onnx"
    done, warned = _warnings_of(netdsl, "compile", LENET, "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert (done.stderr, warned) == ("", [])  # once, a TracerWarning on LeNet's size check
    model = onnx.load_model_from_string(target.read_bytes())
    assert [i.name for i in model.graph.input] == ["x"]


@pytest.mark.parametrize(("suffix", "load"), [(".pt", torch.jit.load),
                                              (".pt2", torch.export.load)])
def test_torch_suffixes_write_torch_formats(netdsl, tmp_path, suffix, load):
    target = tmp_path / f"lenet{suffix}"
    done, warned = _warnings_of(netdsl, "compile", LENET, "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert (done.stderr, warned) == ("", [])  # once, torch.jit's deprecation and TracerWarning
    assert load(io.BytesIO(target.read_bytes())) is not None


def _warnings_of(netdsl, *args: str) -> tuple:
    """The run and every warning it let out that a user's terminal would show (pytest would
    otherwise collect them away from stderr); Python shows no DeprecationWarning raised
    outside `__main__`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        done = netdsl(*args)
    return done, [f"{w.category.__name__}: {w.message}" for w in caught]


def test_stats_suffix_picks_the_table_format(netdsl, tmp_path):
    for suffix, check in ((".json", json.loads), (".md", lambda t: t.startswith("### lenet5")),
                          (".csv", lambda t: t.startswith("name,op,depth")),
                          (".txt", lambda t: t.startswith("network lenet5"))):
        target = tmp_path / f"lenet{suffix}"
        assert netdsl("stats", LENET, "-o", str(target)).returncode == 0
        assert check(target.read_text()), suffix


def test_compile_to_stdout_is_the_source(netdsl, tmp_path):
    done = netdsl("compile", LENET, "-o", "-")
    assert done.returncode == 0, done.stderr
    assert "class Lenet5(nn.Sequential)" in done.stdout
    ast.parse(done.stdout)
    assert not (tmp_path / "-").exists() and not (SPECS.parent / "-").exists()


def test_render_to_stdout_is_dot_or_svg(netdsl):
    dot = netdsl("render", LENET, "-o", "-")
    assert dot.returncode == 0 and dot.stdout.startswith('digraph "lenet5"')
    svg = netdsl("render", LENET, "-o", "-", "--format", "svg", tty=True)  # text: allowed
    assert svg.returncode == 0 and "</svg>" in svg.stdout


@pytest.mark.parametrize(("command", "fmt"), [("render", "png"), ("render", "pdf"),
                                              ("compile", "onnx"), ("compile", "torchscript")])
def test_binary_formats_are_refused_on_a_terminal(netdsl, command, fmt):
    done = netdsl(command, LENET, "-o", "-", "--format", fmt, tty=True)
    assert_user_error(done, f"refusing to write {fmt}", "redirect")
    assert done.stdout_bytes == b""


def test_binary_formats_go_to_a_pipe(netdsl):
    done = netdsl("render", LENET, "-o", "-", "--format", "png")
    assert done.returncode == 0, done.stderr
    assert done.stdout_bytes[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_writes_stdout_by_default_and_with_dash(netdsl):
    default = netdsl("stats", LENET)
    dash = netdsl("stats", LENET, "-o", "-")
    assert default.returncode == dash.returncode == 0
    assert default.stdout == dash.stdout and default.stdout.startswith("network lenet5")


def test_onnx_of_a_network_whose_output_is_a_position(netdsl, tmp_path):
    """The last layer of a network without labels is named '1' in the table, a name torch's
    ONNX exporter refuses: 'compile -o x.onnx' failed with an internal error."""
    spec = tmp_path / "plain.net"
    spec.write_text("network n {\n    input x: [3, 16, 16]\n    conv(4, 3) -> relu\n}\n")
    target = tmp_path / "plain.onnx"
    done = netdsl("compile", str(spec), "-o", str(target))
    assert done.returncode == 0, done.stderr
    model = onnx.load_model_from_string(target.read_bytes())
    assert [o.name for o in model.graph.output] == ["output_1"]
