"""The Python API: netdsl.load from a path or source text, with parameter overrides."""

from __future__ import annotations

import pytest

import netdsl
from tests.conftest import SPECS

SOURCE = """
network tiny(classes: int = 10, width: int = 4) {
    input x: [3, 8, 8]
    conv1: conv(width, 3, p=1) -> relu
    avgpool(global) -> flatten
    fc: linear(classes)
}
"""


def test_load_from_path_and_pathlike():
    a = netdsl.load(SPECS / "resnet50.net")
    b = netdsl.load(str(SPECS / "resnet50.net"))
    assert a.stats().params == b.stats().params == 25_557_032
    assert a.name == "resnet50" and len(a.graph) == len(b.graph)


def test_load_from_source_text():
    net = netdsl.load(SOURCE)
    # conv 3->4 3x3 with bias, linear 4->10 with bias (torch's formulas for Conv2d and Linear)
    assert net.stats().params == (3 * 4 * 9 + 4) + (4 * 10 + 10)
    assert net.graph["conv1"].shape == (4, 8, 8)


def test_params_override():
    net = netdsl.load(SOURCE, classes=3, width=2)
    assert net.stats().params == (3 * 2 * 9 + 2) + (2 * 3 + 3)
    assert net.graph.output_nodes()[0].shape == (3,)


def test_inputs_override():
    net = netdsl.load(SOURCE, inputs={"x": (3, 16, 5)})
    assert net.graph["conv1"].shape == (4, 16, 5)


def test_resnet50_with_classes_override():
    net = netdsl.load(SPECS / "resnet50.net", classes=10)
    assert net.stats().row("fc").params == 2048 * 10 + 10


def test_check_returns_failed_expectations():
    assert netdsl.load(SPECS / "resnet50.net").check() == []
    bad = netdsl.load(SOURCE.replace("fc: linear(classes)",
                                     "fc: linear(classes)\n expect fc.params == 0"))
    assert len(bad.check()) == 1


def test_errors_are_netdsl_errors():
    with pytest.raises(netdsl.NetdslError):
        netdsl.load("network n {\n input x: [3]\n nosuch\n}")
    with pytest.raises(netdsl.NetdslError):
        netdsl.load(SOURCE, nosuch=1)
    with pytest.raises(netdsl.NetdslError):
        netdsl.load(SPECS / "nosuch.net")


def test_stats_dtype_and_repr():
    net = netdsl.load(SOURCE)
    assert net.stats("float16").param_bytes * 2 == net.stats().param_bytes
    assert "tiny" in repr(net)


def test_a_path_without_its_suffix_names_the_file_meant(monkeypatch):
    """Once `load("specs/resnet50")` parsed the path as source text: "unexpected '/'"."""
    monkeypatch.chdir(SPECS.parent)
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load("specs/resnet50")
    (diag,) = caught.value.diagnostics
    assert diag.message == "no such spec file or bundled model: specs/resnet50"
    assert diag.code == "io"
    assert diag.help == "did you mean 'specs/resnet50.net'?"
    with pytest.raises(netdsl.NetdslError, match="did you mean 'specs/resnet50.net'"):
        netdsl.load("specs/resnet5.net")  # a near miss in the same folder


def test_a_string_is_a_path_unless_it_holds_a_newline_or_a_brace(tmp_path):
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load("network n")
    assert caught.value.diagnostics[0].message == "no such spec file or bundled model: network n"
    assert "newline" in caught.value.diagnostics[0].help
    one_line = "network n { input x: [3, 8, 8]; conv(4, 3) }"
    assert netdsl.load(one_line).stats().params == 3 * 4 * 9 + 4  # torch's Conv2d count
    named = tmp_path / "spec"  # a path need not end in .net
    named.write_text(one_line)
    assert netdsl.load(str(named)).stats().params == 3 * 4 * 9 + 4


def test_str_of_an_error_says_where_and_what_to_do(tmp_path):
    spec = tmp_path / "bad.net"
    spec.write_text("network n {\n    input x: [3, 8, 8]\n    conv(64, 3, groups=2)\n}\n")
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load(spec)
    text = str(caught.value)
    assert text.startswith(f"{spec}:3:5: error: ")
    assert "\n        conv(64, 3, groups=2)\n        ^~~~" in text  # the line, a caret
    assert "\nhelp: " in text


# ---------------------------------------------------------------- values from Python


@pytest.mark.parametrize("value, message", [
    (float("inf"), "too large for a float"), (float("nan"), "not a number"),
    (2 ** 300, "more than 256 bits"), (object(), "must be an int, float, bool, string or list"),
    (complex(1, 1), "must be an int, float, bool, string or list"),
])
def test_parameters_from_python_must_be_values_of_the_language(value, message):
    spec = "network n(p: float = 1.0) {\n    input x: [3, 8, 8]\n    leaky_relu(p)\n}\n"
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(spec, p=value)
    assert message in info.value.diagnostics[0].message
    assert info.value.diagnostics[0].span is not None


def test_a_python_list_parameter_is_a_list_of_the_language():
    spec = "network n(sizes: list = [4]) {\n    input x: [3, 8, 8]\n    conv(sizes[0], 1)\n}\n"
    assert netdsl.load(spec, sizes=[6, 7]).graph["0"].shape == (6, 8, 8)


LAYER_PARAM = """
block unit(c: int, act: layer = relu) {
    conv(c, 3, p=1) -> act
}
network n(act: layer = relu) {
    input x: [3, 8, 8]
    unit(4, act)
    act
}
"""


def test_a_layer_parameter_is_set_from_outside_by_an_operator_or_block_name():
    """`load(..., act="gelu")` and `--set act=gelu` give the operator gelu, as torch's GELU
    computes it."""
    import torch
    net = netdsl.load(LAYER_PARAM, act="gelu")
    assert [n.op.name for n in net.graph if n.op is not None] == ["conv", "gelu", "gelu"]
    model = netdsl.build(LAYER_PARAM, act="gelu").eval()
    (conv,) = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    x = torch.randn(1, 3, 8, 8)
    gelu = torch.nn.GELU()
    with torch.no_grad():
        assert torch.allclose(model(x), gelu(gelu(conv(x))), atol=1e-6)


def test_a_layer_parameter_set_to_no_layer_says_which_is_nearest():
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(LAYER_PARAM, act="gleu")
    (diag,) = info.value.diagnostics
    assert diag.message == "'n' parameter 'act' must be a layer, and 'gleu' names no " \
                           "operator or block"
    assert diag.help == "did you mean 'gelu'?" and diag.span.line == 5


def test_a_layer_parameter_may_name_a_block():
    spec = LAYER_PARAM.replace("network n(act: layer = relu)", "block head { conv(2, 1) }\n"
                               "network n(act: layer = relu)")
    assert list(netdsl.load(spec, act="head").stats().outputs.values()) == [(2, 8, 8)]


# ------------------------------------------------------------------ bad arguments from Python

TINY = "network n {\n    input x: [3, 8, 8]\n    conv(4, 3)\n}\n"


@pytest.mark.parametrize("arguments, message", [
    ({"max_steps": 0}, "max_steps must be a whole number >= 1, got 0"),  # was a ValueError
    ({"max_steps": "5"}, "max_steps must be a whole number >= 1, got '5'"),
    ({"max_nodes": 1.5}, "max_nodes must be a whole number >= 1, got 1.5"),  # was accepted
    ({"max_nodes": True}, "max_nodes must be a whole number >= 1, got True"),
    ({"inputs": {"x": "3x8x8"}}, "inputs['x'] must be a list or tuple of sizes, got '3x8x8'"),
    ({"inputs": [(3, 8, 8)]}, "inputs must be a dict of input names to shapes, got list"),
])
def test_bad_arguments_are_netdsl_errors_at_the_spec(arguments, message):
    """`inputs={"x": "3x8x8"}` was read character by character: 'gives x 5 dimensions'."""
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load(TINY, **arguments)
    assert str(caught.value).startswith(f"<string>: error: {message}  [usage]")


def test_an_input_shape_may_be_a_list():
    """A list was refused as 'an input shape must be a list of positive ints, got [3, 9, 9]'."""
    assert netdsl.load(TINY, inputs={"x": [3, 9, 9]}).stats().outputs == \
        netdsl.load(TINY, inputs={"x": (3, 9, 9)}).stats().outputs


def test_build_refuses_weights_past_max_bytes_at_the_heaviest_layer():
    """`linear(2 ** 31)` asked torch for 1.5 TiB: its allocator's RuntimeError (exit 1). The
    bound is torch's own count of the module's elements, at float32's 4 bytes (the batch
    counter of a norm too): exactly that builds, a byte less not."""
    torch = pytest.importorskip("torch")
    spec = ("network n {\n    input x: [3, 8, 8]\n    conv(4, 3) -> bn\n"
            "    flatten -> linear(7)\n}\n")
    module = netdsl.build(spec)
    weights = 4 * sum(t.numel() for t in (*module.parameters(), *module.buffers()))
    assert isinstance(netdsl.build(spec, max_bytes=weights), torch.nn.Module)
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.build(spec, max_bytes=weights - 1)
    assert f"{weights:,} bytes at float32, more than the bound of {weights - 1:,}" in \
        str(caught.value)
    assert str(caught.value).startswith("<string>:4:16: error: the network's weights")
    with pytest.raises(netdsl.NetdslError, match=r"<string>:3:16: error: .* 1\.51 TiB"):
        netdsl.build("network n {\n    input x: [3, 8, 8]\n    flatten -> linear(2 ** 31)\n}\n")
    with pytest.raises(netdsl.NetdslError, match="max_bytes must be a whole number >= 1"):
        netdsl.build(spec, max_bytes=0)


def test_a_lone_surrogate_in_a_string_is_refused():
    """No character, and no file or stream can hold it: it reached labels and the ONNX export
    as a UnicodeEncodeError."""
    spec = 'network n(s: str = "a") {\n    input x: [3, 8, 8]\n    (s): conv(4, 3)\n}\n'
    with pytest.raises(netdsl.NetdslError, match="holds '\\\\ud800', a lone surrogate"):
        netdsl.load(spec, s="b\ud800")
    with pytest.raises(netdsl.NetdslError) as caught:
        netdsl.load(spec.replace('"a"', '"\udcff"'))
    assert str(caught.value).startswith("<string>:1:21: error: the text holds '\\udcff'")
    str(caught.value).encode("utf-8")


@pytest.mark.parametrize("path", ["a" * 10_000, "a" * 252, "specs/" + "a" * 251])
def test_a_path_too_long_is_a_netdsl_error(path):
    """The system's OSError (File name too long) escaped from the bundled-model lookup."""
    with pytest.raises(netdsl.NetdslError, match=r"\[io\]"):
        netdsl.load(path)
