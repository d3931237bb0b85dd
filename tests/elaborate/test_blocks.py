"""Blocks as modules: tensor parameters, several outputs, lists of tensors, reuse of one
definition per distinct instantiation. Shapes are worked out by hand in the comments."""

from __future__ import annotations

import pytest

import netdsl
from tests.elaborate.helpers import graph

X = "input x: [3, 8, 8]\n"
FUSE = """
block fuse(a: tensor, b: tensor, c: int = 4) {
    from a -> conv(c, 1) -> add(from b -> conv(c, 1))
}
"""
SPLIT = """
block split(c: int) {
    lo: conv(c, 1)
    from in -> hi: conv(c, 3, s=2, p=1)
    output lo, hi
}
"""


def test_a_block_takes_several_tensors_by_parameter():
    g = graph(X + "p: conv(2, 1)\nq: conv(5, 3, p=1)\nf: fuse(p, q, c=6)", FUSE)
    # conv 2->6 and conv 5->6 (1x1) summed: [6, 8, 8]
    assert g["f.0"].inputs == ["p"] and g["f.1"].inputs == ["q"]
    assert g["f.2"].op_name == "add" and g["f.2"].inputs == ["f.0", "f.1"]
    assert g["f.2"].shape == (6, 8, 8)


def test_a_missing_first_tensor_parameter_is_the_current_tensor():
    g = graph(X + "q: conv(5, 1)\nfrom x -> f: fuse(b=q)", FUSE)
    assert g["f.0"].inputs == ["x"] and g["f.1"].inputs == ["q"]


def test_a_tensor_given_to_a_value_parameter_is_an_error():
    with pytest.raises(netdsl.NetdslError, match="'c' must be int, got the tensor 'p'"):
        graph(X + "p: conv(2, 1)\nfuse(x, p, c=p)", FUSE)
    with pytest.raises(netdsl.NetdslError, match="'w' is not a tensor parameter"):
        graph(X + "p: conv(2, 1)\nb(p)", "block b(w) { conv(w, 1) }")


def test_items_of_a_list_of_tensors_are_tensor_arguments_of_an_assignment():
    """`y = fuse(xs[0], xs[1])` names the tensor the call makes, as `y = fuse(p, q)` does; an
    item given to a value parameter is the same type error as the tensor itself."""
    body = X + "p: conv(2, 1)\nq: conv(5, 1)\nxs = [p, q]\ny = fuse(xs[0], xs[-1])\noutput y"
    g = graph(body, FUSE)  # `y =` names a value, not layers: they are numbered
    assert g["2.0"].inputs == ["p"] and g["2.1"].inputs == ["q"]
    assert [(n.name, n.shape) for n in g.output_nodes()] == [("2.2", (4, 8, 8))]
    with pytest.raises(netdsl.NetdslError, match="'c' must be int, got the tensor 'q'"):
        graph(X + "p: conv(2, 1)\nq: conv(5, 1)\nxs = [p, q]\ny = fuse(p, q, xs[1])", FUSE)


def test_several_outputs_are_named_by_the_label_and_the_block_outputs():
    g = graph(X + "s: split(4)\nfrom s.hi -> conv(1, 1)\noutput s.lo, s.hi", SPLIT)
    # lo: 1x1 keeps 8x8; hi: 3x3/2 p=1 gives 4x4
    assert g["s.lo"].shape == (4, 8, 8) and g["s.hi"].shape == (4, 4, 4)
    assert g.outputs == {"s.lo": "s.lo", "s.hi": "s.hi"}
    assert g["1"].inputs == ["s.hi"]


def test_a_label_of_several_tensors_is_their_list():
    g = graph(X + "s: split(4)\nfor t in s { from t -> conv(2, 1) }\nconcat(s[1])", SPLIT)
    assert [g[n].inputs for n in ("1", "2")] == [["s.lo"], ["s.hi"]]
    assert g["3"].inputs == ["2", "s.hi"] and g["3"].shape == (6, 4, 4)


def test_a_merge_of_a_block_with_several_outputs_takes_them_all():
    g = graph(X + "s: split(4)\nfrom s.lo -> upsample(1)\nfrom s.hi -> upsample(2)\n"
              "concat(from s.lo)", SPLIT)
    assert g["3"].shape == (8, 8, 8)


def test_a_merge_after_several_outputs_takes_them_all():
    head = "block two(c: int) {\n a: conv(c, 1)\n from in -> b: conv(c, 3, p=1)\n output a, b\n}"
    g = graph(X + "two(4) -> add -> relu", head)
    assert g["1"].op_name == "add" and g["1"].inputs == ["0.a", "0.b"] and g["2"].inputs == ["1"]
    with pytest.raises(netdsl.NetdslError, match="takes one tensor but is applied to 2"):
        graph(X + "two(4) -> relu", head)


def test_missing_tensor_parameters_take_the_current_tensors_in_order():
    head = "block two(c: int) {\n a: conv(c, 1)\n from in -> b: conv(c, 3, p=1)\n output a, b\n}"
    g = graph(X + "two(6) -> f: fuse(c=2)", head + FUSE)
    assert g["f.0"].inputs == ["0.a"] and g["f.1"].inputs == ["0.b"]


def test_for_over_a_list_of_tensors():
    g = graph(X + "a: conv(2, 1)\nb: conv(3, 1)\nfor t in [a, b] { from t -> relu }")
    assert [(n.name, n.inputs) for n in g if n.op_name == "relu"] == [("2", ["a"]), ("3", ["b"])]


def test_in_is_not_defined_in_a_block_with_tensor_parameters():
    head = "block b(t: tensor) { from t -> conv(in.c, 1) }"
    with pytest.raises(netdsl.NetdslError, match="tensor parameters"):
        graph(X + "b(x)", head)


def test_a_repeat_is_one_run_of_one_definition_named_like_a_loop():
    head = "block unit() { add { identity\n conv(3, 3, p=1) -> relu } }"
    repeated = netdsl.load(f"{head}\nnetwork n {{\n{X}unit * 4\n}}\n")
    written = netdsl.load(f"{head}\nnetwork n {{\n{X}unit\nunit\nunit\nunit\n}}\n")
    assert [(n.name, n.inputs, n.shape) for n in repeated.graph] == \
        [(n.name, n.inputs, n.shape) for n in written.graph]
    (run,) = repeated.top.calls()
    assert run.count == 4 and run.members() == ["0", "1", "2", "3"]
    assert len({id(c.definition) for c in written.top.calls()}) == 1


def test_a_pass_of_a_run_read_later_splits_the_run_in_execution_order():
    """`from s.4` reads the fifth pass of a run: the run is cut there (the passes, their
    names and the flat graph are those of the unsplit repeat) and the calls stay in the
    order they run, whatever order the passes are read in."""
    head = "block unit() { conv(3, 3, p=1) }"
    body = "s: unit * 8\nfrom s.4 -> a: relu\nfrom s.1 -> b: relu\nfrom s.6 -> c: relu\n"
    net = netdsl.load(f"{head}\nnetwork n {{\n{X}{body}}}\n")
    plain = netdsl.load(f"{head}\nnetwork n {{\n{X}s: unit * 8\n}}\n")
    assert [(c.name, c.count) for c in net.top.calls()] == \
        [("s.0", 2), ("s.2", 3), ("s.5", 2), ("s.7", 1)]
    assert list(net.top.items) == ["x", "s.0", "s.2", "s.5", "s.7", "a", "b", "c"]
    assert net.top.scopes["s"].children == ["s.0", "s.2", "s.5", "s.7"]
    assert [n.name for n in net.graph][:9] == [n.name for n in plain.graph]
    assert [net.graph[t].inputs for t in "abc"] == [["s.4.0"], ["s.1.0"], ["s.6.0"]]


def test_a_block_called_on_another_shape_is_another_definition():
    head = "block b() { conv(4, 3, p=1) }"
    net = netdsl.load(f"{head}\nnetwork n {{\n{X}b\nb\nmaxpool(2)\nb\n}}\n")
    calls = net.top.calls()
    # on 3 channels, then twice on 4 channels: 8x8 and (after pooling) 4x4
    assert [c.definition.inputs for c in calls] == [[(3, 8, 8)], [(4, 8, 8)], [(4, 4, 4)]]
    assert len({id(c.definition) for c in calls}) == 3


def test_math_builtins_for_width_formulas():
    # RegNet's quantised widths: round(log(w / w0) / log(wm))
    net = netdsl.load("network n(w0: int = 24, wm: float = 2.5) {\n" + X +
                      "k = round(log(96 / w0) / log(wm))\nconv(int(w0 * wm ** k), 1)\n}\n")
    assert net.graph["0"].shape == (150, 8, 8)  # log(4)/log(2.5) = 1.51 -> 2; 24 * 6.25
    assert netdsl.load("network n {\n" + X + "conv(int(exp(log2(8))), 1)\n}\n").graph["0"] \
        .shape == (20, 8, 8)  # exp(3) = 20.09


HEAD = """
block head(c: int = 8) {
    conv(c, 3, p=1) -> relu
    cls: conv(2, 1)
}
"""
LEVELS = X + "a: conv(8, 1)\nb: maxpool(2)\n"


def test_a_shared_module_has_one_set_of_weights_and_runs_at_every_call():
    net = netdsl.load(HEAD + "network n {\n" + LEVELS +
                      "shared h: head(8)\nouts = [from t -> h for t in [a, b]]\noutput outs\n}\n")
    s = net.stats()
    head = (8 * 8 * 9 + 8) + (8 * 2 + 2)  # 3x3 conv 8->8 and 1x1 conv 8->2, with biases
    assert s.params == (3 * 8 + 8) + head  # a, then the head once
    # MACs at both levels: 8x8 and 4x4 positions
    assert s.macs == 3 * 8 * 64 + (8 * 8 * 9 + 8 * 2) * (64 + 16)
    assert s.outputs == {"outs.0": (2, 8, 8), "outs.1": (2, 4, 4)}
    assert [(r.name, r.params) for r in s.layers if r.is_block] == [("h", head), ("h#2", 0)]
    assert [n.inputs for n in net.graph if n.name in ("h.0", "h#2.0")] == [["a"], ["b"]]


def test_a_shared_module_needs_the_same_weights_at_every_call():
    # on 1 channel the head has 1*8*9+8 + 8*2+2 = 98 weights; on 8 channels 602
    with pytest.raises(netdsl.NetdslError, match="needs 98 weights here but 602"):
        netdsl.load(HEAD + "network n {\n" + X + "a: conv(8, 1)\nc: conv(1, 1)\n"
                    "shared h: head(8)\nfrom a -> h\nfrom c -> h\n}\n").stats()


def test_a_shared_operator_and_an_unused_shared_module():
    net = netdsl.load("network n {\n" + LEVELS + "shared proj: conv(4, 1)\n"
                      "p = from a -> proj\nq = from b -> proj\noutput p, q\n}\n")
    assert net.stats().params == (3 * 8 + 8) + (8 * 4 + 4)
    assert [n.name for n in net.graph if n.op_name == "conv"] == ["a", "proj", "proj#2"]
    with pytest.raises(netdsl.NetdslError, match="'h' is never applied"):
        netdsl.load(HEAD + "network n {\n" + X + "shared h: head(8)\nrelu\n}\n")


def test_a_shared_module_declared_in_a_group_is_visible_in_that_group_only():
    """As the calls of a module are its forward's: two heads' `shared conv` are two modules,
    and after a group `conv` is the operator again (it once stayed the group's module)."""
    net = netdsl.load("network n {\n" + X + "a: { shared conv: conv(3, 3, p=1); conv -> conv }\n"
                      "b: { shared conv: relu; conv }\nc: conv(4, 1)\n}\n")
    assert [(n.name, n.op_name) for n in net.graph if n.op_name != "input"] == [
        ("a.conv", "conv"), ("a.conv#2", "conv"), ("b.conv", "relu"), ("c", "conv")]
    assert net.stats().params == (3 * 3 * 9 + 3) + (3 * 4 + 4)
    with pytest.raises(netdsl.NetdslError, match="'g.h' is never applied"):
        netdsl.load("network n {\n" + X + "g: { shared h: relu; relu }\n}\n")


def test_a_shared_module_named_as_an_operator_says_it_hides_it():
    with pytest.raises(netdsl.NetdslError, match="'conv' is the shared module declared at .*"
                                                 "hides the operator 'conv' here"):
        netdsl.load("network n {\n" + X + "shared conv: relu\nconv\nout: conv(2, 1)\n}\n")


def test_comprehensions_of_values_and_of_tensors():
    g = graph(X + "widths = [w * 2 for w in [1, 2, 3, 4] if w % 2 == 0]\n"
                  "convs = [from x -> conv(w, 1) for w in widths]\n"
                  "from convs[1] -> concat(convs[0])")
    # widths [4, 8]: two 1x1 convs on x named by position, then concat of the last and first
    assert [(n.name, n.shape[0]) for n in g if n.op_name == "conv"] == [("0", 4), ("1", 8)]
    assert g["2"].inputs == ["1", "0"] and g["2"].shape == (12, 8, 8)


def test_a_labeled_comprehension_is_a_scope_and_its_label_the_list():
    g = graph(X + "a: conv(4, 1)\nb: conv(6, 1)\n"
                  "heads: [from t -> conv(2, 1) -> relu for t in [a, b]]\n"
                  "from heads[1] -> concat(heads[0])")
    names = [n.name for n in g if n.name.startswith("heads.")]
    assert names == ["heads.0", "heads.1", "heads.2", "heads.3"]  # items take positions
    assert g["3"].inputs == ["heads.3", "heads.1"]


def test_names_bound_to_tensors_and_destructuring():
    net = netdsl.load("network n {\n" + X + "t = from x -> conv(4, 1)\n"
                      "p = from x -> conv(2, 1)\nq = from t -> conv(2, 1)\n"
                      "u, v = [p, q]\nlast = from u -> add(v)\n"
                      "i, j = (1, 2)\nconv(i + j, 1)\n}\n")
    g = net.graph
    assert g["0"].inputs == ["x"] and g["1"].inputs == ["x"] and g["2"].inputs == ["0"]
    assert g["3"].inputs == ["1", "2"]  # last = p + q
    assert g["4"].shape == (3, 8, 8) and g["4"].inputs == ["3"]  # the chain goes on from last


def test_quoted_labels_and_their_limits():
    g = graph(X + '"block1-0": conv(4, 1)')
    assert g["block1-0"].shape == (4, 8, 8)
    with pytest.raises(netdsl.NetdslError, match="contains '.'"):
        graph(X + '"a.b": conv(4, 1)')
    with pytest.raises(netdsl.NetdslError, match="contains '#'"):
        graph(X + '"h#2": conv(4, 1)')


def test_expect_reaches_any_layer_by_its_dotted_name():
    net = netdsl.load("network n {\n" + X + "features: { conv(4, 3) -> relu -> conv(2, 1) }\n"
                      "expect features.0.params == 3 * 4 * 9 + 4\n"
                      "expect features.2.output == [2, 6, 6]\n"
                      "expect features.0.params == 1\n}\n")
    assert [d.message for d in net.check()] == [
        "expectation failed: got 112, expected == 1 (+11100.00%)"]
