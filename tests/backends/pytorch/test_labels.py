"""A label read later names the tensor of the layer it labels, in the built module and in the
generated file, wherever the label was given: computed in a loop, in each branch of an `if`, or
inside the group that reads it by its dotted path; a block's output channels may be those of a
tensor parameter. Each output is checked against torch's functions on the model's own weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import netdsl
from tests.backends.pytorch.conftest import assert_state_matches_ir, generated_model

SPEC = """block pick(out: int = 4) {
    if in.c != out { t: conv(out, 1) } else { t: conv(in.c, 3, p=1) }
    u: conv(out, 1)
    concat(t)
}
block two(x0: tensor, x1: tensor) { from x0 -> conv(x0.c * 2, 1) -> add(x1) }
network n {
    input x: [4, 6, 6]
    for i in range(2) { ("c" + str(i + 1)): conv(4, 3, p=1) }
    a = from c2 -> concat(c1)
    b = from x -> pick
    c = from x -> pick(out=6)
    g: {
        d: conv(8, 1)
        from x -> e: two(x, from g.d)
    }
    f = from g -> conv(8, 1)
    output a, b, c, f
}"""


def test_labels_name_their_layers_tensors(tmp_path):
    net = netdsl.load(SPEC)
    x = torch.randn(2, 4, 6, 6)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "labels").eval()):
        s = model.state_dict()

        def conv(t, name, padding=0, s=s):
            return F.conv2d(t, s[f"{name}.weight"], s[f"{name}.bias"], padding=padding)

        c1 = conv(x, "c1", 1)
        t_same, t_wide = conv(x, "3.t", 1), conv(x, "4.t")
        with torch.no_grad():
            a, b, c, f = model(x)
        torch.testing.assert_close(a, torch.cat([conv(c1, "c2", 1), c1], 1), rtol=0, atol=1e-5)
        torch.testing.assert_close(b, torch.cat([conv(t_same, "3.u"), t_same], 1),
                                   rtol=0, atol=1e-5)
        c_ = torch.cat([conv(t_wide, "4.u"), t_wide], 1)
        torch.testing.assert_close(c, c_, rtol=0, atol=1e-5)
        e = conv(x, "g.e.0") + conv(c_, "g.d")  # the group starts from c
        torch.testing.assert_close(f, conv(e, "6"), rtol=0, atol=1e-5)


INPUT_READ_IN_AN_IF = """block b(flag: bool = true) {
    p: conv(in.c * 2, 1)
    if flag {
        slice(0, in.c) -> a: add(in)
        from p -> g: slice(in.c, in.c * 2)
        from a -> concat(g)
    }
}
network n {
    input x: [4, 6, 6]
    b
}"""


def test_a_temporary_in_an_if_does_not_take_the_name_of_a_tensor_read_after_it(tmp_path):
    """timm's RexNet: `cat([x[:, :c] + shortcut, x[:, c:]])` in a branch; the slice must not
    overwrite the block's input, which the add reads after it."""
    net = netdsl.load(INPUT_READ_IN_AN_IF)
    x = torch.randn(2, 4, 6, 6)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "branch").eval()):
        s = model.state_dict()
        p = F.conv2d(x, s["0.p.weight"], s["0.p.bias"])
        with torch.no_grad():
            torch.testing.assert_close(model(x), torch.cat([p[:, :4] + x, p[:, 4:]], 1),
                                       rtol=0, atol=1e-5)


PADDING_PARAMETER = """block b(s: int, p) { conv(4, 3, s=s, p=p) }
network n {
    input x: [4, 9, 9]
    b(1, 1)
    b(2, same)
}"""


def test_a_padding_parameter_that_is_same_at_a_stride_pads_as_tensorflow(tmp_path):
    """timm's tf_efficientnet: `p` is `same` in the strided instances (Conv2dSame), which
    torch's own padding refuses; the class is written for that value."""
    net = netdsl.load(PADDING_PARAMETER)
    x = torch.randn(2, 4, 9, 9)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "padding").eval()):
        s = model.state_dict()
        y = F.conv2d(x, s["0.0.weight"], s["0.0.bias"], padding=1)
        y = F.conv2d(F.pad(y, [1, 1, 1, 1]), s["1.0.weight"], s["1.0.bias"], stride=2)
        with torch.no_grad():
            torch.testing.assert_close(model(x), y, rtol=0, atol=1e-5)


QUOTED = """block unit(c: int) {
    "conv-1": { conv(c, 1) -> relu }
    "merge-1": { conv(c, 1) -> add(in) }
}
network n {
    input x: [4, 6, 6]
    a: conv(4, 1)
    "block-1": { conv(4, 1) -> add(a) }
    p: conv(2, 1)
    "heads-1": [from t -> conv(2, 1) for t in [a, x]]
    q: add
    from a -> u: unit(4)
    output p, q, u
}"""


def test_quoted_labels_that_are_not_identifiers_name_groups_and_lists(tmp_path):
    """`"block-1": { ... }` is a group that is not a chain (an nn.ModuleDict registered with
    add_module), `"heads-1": [...]` a ModuleList, `"conv-1": { ... }` a Sequential: each is
    reached with getattr, under the spec's very name."""
    net = netdsl.load(QUOTED)
    x = torch.randn(2, 4, 6, 6)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "quoted").eval()):
        assert_state_matches_ir(model, net)
        assert {"block-1.0.weight", "heads-1.1.weight", "u.conv-1.0.weight",
                "u.merge-1.0.weight"} <= set(model.state_dict())
        block, heads, u = getattr(model, "block-1"), getattr(model, "heads-1"), model.u
        with torch.no_grad():
            got = model(x)
            a = model.a(x)
            inner = F.relu(getattr(u, "conv-1")[0](a))
            expected = (model.p(block["0"](a) + a), heads[0](a) + heads[1](x),
                        getattr(u, "merge-1")["0"](inner) + a)
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e)


COMPUTED = """
block unit(c: int) { conv(c, 3, p=1) -> relu }
network n(depths: list = [2, 1]) {
    input x: [3, 8, 8]
    for s in range(len(depths)) {
        for j in range(depths[s]) {
            ("block" + str(s + 1) + "-" + str(j)): unit(4)
        }
    }
}"""


def test_computed_labels_are_any_string_a_quoted_label_may_be(tmp_path):
    """RegNet's `block1-0`, made in a loop: the names of the state dict and of the forward's
    calls are the spec's, and the module is the chain of its units."""
    net = netdsl.load(COMPUTED)
    x = torch.randn(2, 3, 8, 8)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "computed").eval()):
        assert_state_matches_ir(model, net)
        assert [k for k in model.state_dict() if k.endswith("weight")] == [
            "block1-0.0.weight", "block1-1.0.weight", "block2-0.0.weight"]
        with torch.no_grad():
            expected = x
            for name in ("block1-0", "block1-1", "block2-0"):
                expected = F.relu(getattr(model, name)[0](expected))
            torch.testing.assert_close(model(x), expected)


NAMED_INPUTS = """block lateral(c5: tensor) { from c5 -> inner: conv(8, 1) -> relu }
network n {
    input image: [3, 8, 8]
    stem: conv(4, 3, p=1)
    act: relu
    top: lateral(act)
}"""


def test_a_named_input_is_not_rebound_to_feature_maps():
    """`image = self.stem(image)` would call feature maps an image: an input keeps its name
    and the forward's running variable is `x`, as it is for an input named `x`."""
    source = netdsl.load(NAMED_INPUTS).to_source()
    network = source[source.index("class N"):]
    assert "x = self.stem(image)" in network and "image = " not in network
    lateral = source[source.index("class Lateral"):source.index("class N")]
    assert "x = self.inner(c5)" in lateral and "c5 = " not in lateral


TAPPED_CHAIN = """block unit(c: int, wide: bool = false) {
    if wide { conv(2 * c, 3, p=1) } else { conv(c, 3, p=1) }
    relu
}
network n {
    input x: [3, 16, 16]
    backbone: {
        unit(8)
        unit(16, wide=true)
        "2": unit(24)
        unit(32, wide=true)
        unit(40)
    }
    head = from backbone.2 -> conv(5, 1)
    from backbone -> conv(5, 1) -> add(head)
}"""


def test_a_tap_of_a_chain_keeps_the_channels_it_had(tmp_path):
    """A layer reading `backbone.2` takes that tap's channels (24), not the chain's running
    `channels`, which the layers after the tap reassign (40 by the end): LR-ASPP's low-level
    classifier, imported from torchvision, had 160 inputs where torchvision's has 40."""
    net = netdsl.load(TAPPED_CHAIN)
    assert "backbone_2_channels = channels" in net.to_source()
    for model in (netdsl.build(net), generated_model(net, tmp_path, "tapped")):
        assert getattr(model, "1").in_channels == 24
        with torch.no_grad():
            assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 5, 16, 16)


def test_a_label_made_with_str_of_a_bool_or_a_list_is_the_spec_s(tmp_path):
    """`str(flag)` and `str(ws)` on constructor arguments were Python's `str`: the layer the
    analysis calls `0.ctrue33` was `0.cTrue43` in the module, so no state dict matched.
    `str(k + 1)` of an int stays Python's, as it reads."""
    net = netdsl.load("""
block b(flag: bool, ws: list, k: int) {
    ("c" + str(flag) + str(len(str(ws))) + str(k + 1)): conv(4, 1)
}
network n(flag: bool = true) {
    input x: [3, 8, 8]
    b(flag, [4], 2)
    relu
}
""")
    assert [r.name for r in net.stats().layers] == ["x", "0", "0.ctrue33", "1"]
    source = net.to_source()
    assert '"c" + spec_str(flag) + str(len(spec_str(ws))) + str(k + 1)' in source
    model = generated_model(net, tmp_path, "str_labels")
    assert_state_matches_ir(model, net)


TAPPED_REPEAT = """block unit(c: int) { conv(c, 3, p=1) -> relu }
network n {
    input x: [3, 8, 8]
    stages: unit(6) * 5
    from stages.1 -> a: conv(2, 1)
    from stages.3 -> b: conv(2, 1)
    output a, b, stages.0, stages
}"""


def test_a_pass_of_a_repeat_is_read_by_its_position(tmp_path):
    """`from stages.3` reads the fourth pass of `unit(6) * 5`. Passes 2 to 5 see the same
    shape, so the IR holds them as one run of the same definition: `stages.3` used to be
    an unknown tensor there (and found where the shapes kept changing). The module is called
    in parts that end at the passes read; each output is checked against torch's functions
    on the model's own weights."""
    net = netdsl.load(TAPPED_REPEAT)
    names = [r.name for r in net.stats().layers]
    assert [n for n in names if n.count(".") == 1] == [f"stages.{k}" for k in range(5)]
    assert net.graph["a"].inputs == ["stages.1.1"] and net.graph["b"].inputs == ["stages.3.1"]
    x = torch.randn(2, 3, 8, 8)
    for model in (netdsl.build(net).eval(), generated_model(net, tmp_path, "tapped_repeat")):
        assert_state_matches_ir(model, net)
        s = model.state_dict()
        passes, t = [], x
        for k in range(5):
            t = F.relu(F.conv2d(t, s[f"stages.{k}.0.weight"], s[f"stages.{k}.0.bias"],
                                padding=1))
            passes.append(t)
        with torch.no_grad():
            a, b, first, last = model(x)
        for got, tap, name in ((a, passes[1], "a"), (b, passes[3], "b")):
            torch.testing.assert_close(got, F.conv2d(tap, s[f"{name}.weight"], s[f"{name}.bias"]),
                                       rtol=0, atol=1e-5)
        torch.testing.assert_close(first, passes[0], rtol=0, atol=1e-5)
        torch.testing.assert_close(last, passes[4], rtol=0, atol=1e-5)
