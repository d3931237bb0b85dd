"""Every construct of the language, elaborated: shapes and wiring of small networks.

Shapes are worked out by hand in the comments (valid 3x3 conv on 8x8 gives 6x6, and so on).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import netdsl
from tests.elaborate.helpers import graph, layers

X = "input x: [3, 8, 8]\n"
UNIT = "block unit(w: int, act: layer = relu) { conv(w, 1) -> act }\n"


def ops(body: str, head: str = "", **params) -> list[str]:
    return [op for _, op, _ in layers(X + body, head, **params)]


def out_shape(body: str, head: str = "", **params) -> tuple[int, ...]:
    return layers(X + body, head, **params)[-1][2]


def test_chain_across_lines_and_semicolons():
    a = layers(X + "conv(4, 3) ->\n relu\n -> conv(2, 1); tanh")
    assert [(op, s) for _, op, s in a] == [("conv", (4, 6, 6)), ("relu", (4, 6, 6)),
                                           ("conv", (2, 6, 6)), ("tanh", (2, 6, 6))]


@pytest.mark.parametrize("k, channels", [(1, 1), (2, 2), (7, 3)])
def test_if_elif_else(k, channels):
    body = "if k == 1 { conv(1, 1) } elif k == 2 { conv(2, 1) } else { conv(3, 1) }"
    assert out_shape(body, k=k) == (channels, 8, 8)


def test_for_with_computed_labels_and_loop_variable():
    g = layers(X + 'for i in range(3) { ("c" + str(i + 1)): conv(4 * (i + 1), 1) }')
    assert [(n, s[0]) for n, _, s in g] == [("c1", 4), ("c2", 8), ("c3", 12)]


def test_repeat_n_and_repeat_zero():
    head = "block b(w: int) { conv(w, 1) -> relu }"
    assert ops("b(4) * 3", head) == ["conv", "relu"] * 3
    assert ops("b(4) * 0\nsigmoid", head) == ["sigmoid"]
    assert ops("relu * 2") == ["relu", "relu"]
    g = graph(X + "b(4) * 0\nsigmoid", head)
    assert g["0"].inputs == ["x"]  # `* 0` is the identity


def test_repeat_count_from_an_expression():
    assert ops("relu * (k + 2)", k=1) == ["relu"] * 3


@pytest.mark.parametrize("s, expected", [(1, ["conv", "relu", "add"]), (2, ["conv", "relu"])])
def test_residual_when(s, expected):
    head = "block r(s: int = 1) {\n residual(when = s == 1) { conv(in.c, 3, s=s, p=1) -> relu }\n}"
    g = graph(X + f"r({s})", head)
    assert [n.op_name for n in g if not n.is_input] == expected
    if s == 1:
        add = [n for n in g if n.op_name == "add"][0]
        assert "x" in add.inputs  # the identity path is the block's input


@pytest.mark.parametrize("s, ops_, shape", [
    (1, ["conv", "add"], (3, 8, 8)),
    (2, ["conv", "conv", "add"], (3, 4, 4)),
])
def test_merge_with_if_paths(s, ops_, shape):
    body = "add {\n conv(3, 3, s=k, p=1)\n if k == 1 { identity } else { conv(3, 1, s=k) }\n}"
    g = layers(X + body, "", k=s)
    assert [op for _, op, _ in g] == ops_ and g[-1][2] == shape


def test_merge_body_paths_start_from_the_merge_input():
    g = graph(X + "relu\nconcat {\n conv(2, 1)\n conv(5, 1) -> tanh\n identity\n}")
    cat = [n for n in g if n.op_name == "concat"][0]
    assert cat.shape == (2 + 5 + 3, 8, 8)
    starts = [g[i] for i in cat.inputs]
    assert starts[2].name == "0"  # identity: the relu before the merge
    assert g[g[starts[1].name].inputs[0]].inputs == ["0"]


def test_mul_broadcasts_for_se_gating():
    body = "mul {\n identity\n avgpool(global) -> conv(3, 1) -> sigmoid\n}"
    assert out_shape(body) == (3, 8, 8)


def test_from_and_call_form_merges():
    g = graph(X + "a: conv(4, 1)\nb: conv(5, 1)\nfrom a -> relu\nconcat(b)\n"
                  "from a\nadd(from a -> tanh)")
    cat = [n for n in g if n.op_name == "concat"][0]
    assert cat.shape == (9, 8, 8) and g[cat.inputs[0]].op_name == "relu" and cat.inputs[1] == "b"
    add = [n for n in g if n.op_name == "add"][0]
    assert add.shape == (4, 8, 8)


def test_call_form_merge_shape_mismatch_is_located():
    with pytest.raises(netdsl.NetdslError) as info:
        graph(X + "a: conv(4, 1)\nconv(5, 1)\nadd(a)")
    assert info.value.diagnostics[0].span.line == 6  # line 1 is the empty head


def test_crop_to_a_named_tensor():
    g = layers(X + "enc: conv(4, 1)\nconv(4, 3) -> conv(4, 3)\nsmall: relu\n"
               "from enc -> crop(small)\nconcat(small)")
    assert g[-2][1:] == ("crop", (4, 4, 4)) and g[-1][2] == (8, 4, 4)


def test_in_attributes_inside_blocks():
    head = "block b { conv(in.c * 2, 1) -> avgpool(in.h // 2) -> conv(len(in.shape), 1) }"
    assert [s for _, _, s in layers(X + "b", head)] == [(6, 8, 8), (6, 2, 2), (3, 2, 2)]


def test_in_outside_a_block_is_an_error():
    with pytest.raises(netdsl.NetdslError, match="only defined inside a block"):
        graph(X + "conv(in.c, 1)")


def test_layer_valued_params_with_bound_args():
    head = UNIT + "block stage(u: layer, w: int, n: int) { u(w) * n }"
    g = layers(X + "s: stage(unit, 4, 2)\nunit(4, act=leaky_relu(0.2))", head)
    assert [op for _, op, _ in g] == ["conv", "relu", "conv", "relu", "conv", "leaky_relu"]
    net = netdsl.load(f"{head}\nnetwork n {{\n{X}unit(4, act=leaky_relu(0.2))\n}}")
    assert [n.op for n in net.graph if n.op_name == "leaky_relu"][0].slope == 0.2


def test_def_functions_and_file_values():
    head = "W = 8\ndef half(v) = v // 2\ndef both(a, b) = a * b"
    assert out_shape("conv(half(W), 1) -> conv(both(2, 3), 1)", head) == (6, 8, 8)


def test_network_params_default_and_override():
    src = f"network n(classes: int = 1000, width: int = 4) {{\n{X}conv(width, 3)\nflatten\n" \
          "linear(classes)\n}"
    assert netdsl.load(src).graph.output_nodes()[0].shape == (1000,)
    net = netdsl.load(src, classes=10, width=2)
    assert net.graph.output_nodes()[0].shape == (10,)
    assert net.stats().params == (3 * 9 * 2 + 2) + (2 * 36 * 10 + 10)


@pytest.mark.parametrize("override", [{"c": "x"}, {"nosuch": 1}])
def test_bad_param_overrides_are_user_errors(override):
    with pytest.raises(netdsl.NetdslError):
        netdsl.load(f"network n(c: int = 1) {{\n{X}conv(c, 1)\n}}", **override)


def test_several_outputs():
    g = graph(X + "a: conv(4, 1)\nb: conv(5, 1)\noutput a, b")
    assert {k: g[v].shape for k, v in g.outputs.items()} == {"a": (4, 8, 8), "b": (5, 8, 8)}


def test_expect_statements_hold_and_fail():
    ok = netdsl.load(f"network n {{\n{X}c: conv(4, 3)\nexpect c.params == 112\n"
                     "expect params == 112\nexpect output == [4, 6, 6]\n"
                     "expect c.output == [4, 6, 6] and c.connections == 112 * 36\n}")
    assert ok.check() == []
    bad = netdsl.load(f"network n {{\n{X}c: conv(4, 3)\nexpect c.params == 113\n}}")
    (diag,) = bad.check()
    assert diag.span.line == 4 and "112" in diag.message


def test_expect_reads_receptive_fields_and_tensor_sizes():
    """`x.rf` is a record of the figures `netdsl stats` reports (size, stride and padding per
    axis); `x.c`, `x.h`, `x.w` are the labeled layer's output sizes, as in a body."""
    spec = ("network n {\n input x: [3, 64, 48]\n c1: conv(8, 3, s=2, p=1)\n"
            " c2: conv(8, 3, s=2, p=1)\n g: avgpool(global)\n"
            " expect c2.rf.size == [7, 7] and c2.rf.stride == [4, 4] and c2.rf.padding == [3, 3]\n"
            " expect c2.rf.min_size == [7, 7] and c2.rf.aligned and not c2.rf.global\n"
            " expect c2.c == 8 and c2.h == 16 and c2.w == 12 and x.c == 3 and g.rf.global\n}\n")
    net = netdsl.load(spec)
    rf = net.stats().row("c2").rf.as_dict()
    assert (rf["size"], rf["stride"], rf["padding"]) == ([7, 7], [4, 4], [3, 3])
    assert net.check() == []


def test_imports_are_relative_to_the_importing_file(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.net").write_text('import "more.net"\n'
                                                 "block twice { half -> half }\n")
    (tmp_path / "lib" / "more.net").write_text("block half { avgpool(2) }\n")
    (tmp_path / "sub").mkdir()
    spec = tmp_path / "sub" / "net.net"
    spec.write_text(f'import "../lib/blocks.net"\nnetwork n {{\n{X}twice\n}}\n')
    net = netdsl.load(spec, include=[str(tmp_path / "lib")])  # lib/ is outside sub/
    assert net.graph.output_nodes()[0].shape == (3, 2, 2)


def test_missing_import_is_a_located_error(tmp_path: Path):
    spec = tmp_path / "n.net"
    spec.write_text(f'import "nope.net"\nnetwork n {{\n{X}relu\n}}\n')
    with pytest.raises(netdsl.NetdslError) as info:
        netdsl.load(spec)
    assert info.value.diagnostics[0].span.line == 1


@pytest.mark.parametrize("body", [
    "conv(4, 3) -> nosuchop",
    "conv(4, 3, nosuch=1)",
    "from later -> relu\nlater: relu",
    "conv(4, 9)",
    "a: relu\na: relu",
])
def test_user_errors(body):
    with pytest.raises(netdsl.NetdslError):
        graph(X + body)


def test_labeled_repeat_and_residual_are_scopes_reachable_from_expect():
    """stage: two 1x1 convs 3->3 (12 params each); r: a 3x3 conv 3->3 (84) plus the add."""
    net = netdsl.load("block b { conv(3, 1) -> relu }\nnetwork n {\n" + X +
                      "stage: b * 2\nr: residual(when = true) { conv(3, 3, p=1) }\n"
                      "expect stage.params == 24 and r.params == 84\n"
                      "expect stage.output == [3, 8, 8]\n}")
    assert [n.name for n in net.graph if not n.is_input] == \
        ["stage.0.0", "stage.0.1", "stage.1.0", "stage.1.1", "r.0", "r.1"]
    assert net.check() == []


def _aliases() -> list[tuple[str, str]]:
    from netdsl.ops import REGISTRY
    return [(alias, op.name) for op in REGISTRY.values() for alias in op.known_as]


@pytest.mark.parametrize("alias, op", _aliases())
def test_other_libraries_names_hint_at_the_operator(alias: str, op: str):
    """`deconv`, `normalize`, `max_unpool2d`: the hint names the operator, not a look-alike
    (`l2norm` once suggested layernorm, `transpose` conv_transpose)."""
    with pytest.raises(netdsl.NetdslError) as caught:
        graph(X + f"{alias}(4)")
    (diag,) = caught.value.diagnostics
    assert diag.message == f"unknown operator or block '{alias}'"
    assert diag.help.startswith(f"did you mean '{op}'?")


def test_a_path_through_numbered_positions_names_a_tensor():
    """As the language reference says (`from features.3.0`): `g.0` is the first layer of the
    group `g`, `features.1` the second block call of `features`, unlabeled both. They were
    "unknown tensor" unless labeled "0"."""
    net = netdsl.load("block b(c: int) { conv(c, 3, p=1) -> relu }\nnetwork n {\n" + X +
                      " g: { conv(4, 1) -> bn -> relu }\n"
                      " tap: { from g.0 -> conv(2, 1) }\n"
                      " features: { b(4); b(8) }\n"
                      " y: { from features.0 -> conv(5, 1) }\n"
                      " output g.1, tap, y, features.1\n}\n")
    g = net.graph
    assert g["tap.0"].inputs == ["g.0"] and g["y.0"].inputs == ["features.0.1"]
    assert list(net.stats().outputs) == ["g.1", "tap", "y", "features.1"]
    assert list(net.stats().outputs.values()) == [(4, 8, 8), (2, 8, 8), (5, 8, 8), (8, 8, 8)]
    with pytest.raises(netdsl.NetdslError, match="unknown tensor 'g.3'"):
        netdsl.load("network n {\n" + X + " g: { conv(4, 1) -> bn -> relu }\n"
                    " from g.3 -> relu\n}\n")
