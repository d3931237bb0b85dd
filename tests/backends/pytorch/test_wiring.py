"""What a fuzz of the generator's wiring found (helper, 1,000 random specs checked by shapes,
params, state-dict names, torch's autograd and a reference interpreter): each case is
computed here with torch's own functions on the built module's weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import netdsl


def built(source: str, **params):
    net = netdsl.load(source, **params)
    return net, netdsl.build(net).eval()


def test_an_inline_blocks_from_in_reads_the_calls_input():
    """`from in` in an unlabeled inline call read the tensor its first layer overwrote."""
    _, model = built("""inline block b(c: int) {
    conv(3, 1)
    from in -> conv(c, 1)
}
network n {
    input x: [3, 16, 16]
    b(4)
}
""")
    x = torch.randn(2, 3, 16, 16)
    second = getattr(model, "1")
    with torch.no_grad():
        torch.testing.assert_close(model(x), F.conv2d(x, second.weight, second.bias))


def test_a_strided_same_layer_halves_the_size_the_generated_code_assumes():
    """ceil(16 / 2) = 8: a Linear after it takes 4 * 8 * 8 features (it was built for 16 * 16),
    and a block that branches on `in.h > 8` takes the branch for 8."""
    net, model = built("""network n {
    input x: [4, 16, 16]
    conv(4, 3, s=2, p=same)
    flatten -> linear(5)
}
""")
    assert model(torch.randn(2, 4, 16, 16)).shape == (2, 5)
    assert sum(p.numel() for p in model.parameters()) == net.stats().params
    net, model = built("""block b {
    if in.h > 8 { big: conv(4, 1) } else { small: conv(4, 3, p=1) }
}
network n {
    input x: [4, 16, 16]
    maxpool(2, s=2, p=same)
    b()
}
""")
    assert sorted(n for n, _ in model.named_parameters()) == ["1.small.bias", "1.small.weight"]
    assert sum(p.numel() for p in model.parameters()) == net.stats().params == 148


def test_layers_after_a_residual_chosen_by_the_input_channels_keep_the_tables_names():
    """The sum of `residual(when = in.c == 4)` takes position 1 when it is made: the 1x1 conv
    after it is `0.2` (it was `0.1`, the sum's name in the table)."""
    source = """block b {
    residual(when = in.c == 4) { conv(4, 3, p=1) }
    conv(4, 1)
}
network n {
    input x: [%d, 16, 16]
    b()
}
"""
    for channels, last in ((4, "0.2"), (3, "0.1")):
        net, model = built(source % channels)
        weighted = {r.name for r in net.stats().layers if r.params and not r.is_block}
        assert weighted == {"0.0", last}
        assert {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()} == weighted
        x = torch.randn(1, channels, 16, 16)
        inner = getattr(model, "0")
        first, conv = getattr(inner, "0"), getattr(inner, last.split(".")[1])
        body = first(x)
        with torch.no_grad():
            torch.testing.assert_close(model(x), conv(x + body if channels == 4 else body))


def test_an_untyped_parameter_holding_a_layer_is_a_layer_parameter():
    _, model = built("""block b(act = relu, c = 4) { conv(c, 1) -> act }
network n {
    input x: [3, 8, 8]
    b(act=sigmoid)
}
""")
    x = torch.randn(1, 3, 8, 8)
    conv = getattr(getattr(model, "0"), "0")
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.sigmoid(conv(x)))


def test_a_merge_argument_may_be_a_dotted_path_into_a_group():
    _, model = built("""network n {
    input x: [3, 8, 8]
    h: { a: conv(4, 1); b: conv(4, 1) }
    add(h.a)
}
""")
    x = torch.randn(1, 3, 8, 8)
    a = model.h.a(x)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.h.b(a) + a)


def test_a_comprehension_filtered_by_a_network_parameter_is_the_constructors():
    source = """network n(w: int = 4) {
    input x: [3, 8, 8]
    ws = [w * m for m in [1, 2, 3] if m * w < 10]
    for v in ws { conv(v, 1) }
}
"""
    network = type(built(source)[1])
    for w in (2, 3, 4):
        model = network(w=w)
        assert sum(p.numel() for p in model.parameters()) == \
            netdsl.load(source, w=w).stats().params


def test_a_residual_chosen_by_the_input_size_is_written_per_size_and_identical_sizes_share():
    """`residual(when = in.h > 4)` was refused ('a value known only when the network runs');
    like an `if` on the size it makes a class per size, and the sizes whose class comes out
    the same (4x4 and 2x2: no sum) are one class."""
    net, model = built("""block unit(c: int) {
    residual(when = in.h > 4) { conv(c, 3, p=1) -> relu }
}
network n {
    input x: [8, 8, 8]
    a: unit(8)
    pool: maxpool(2)
    b: unit(8)
    pool2: maxpool(2)
    c: unit(8)
}
""")
    classes = {type(m).__name__ for m in (model.a, model.b, model.c)}
    assert type(model.a).__name__ != type(model.b).__name__ == type(model.c).__name__
    assert len(classes) == 2
    assert sum(p.numel() for p in model.parameters()) == net.stats().params == 3 * (8 * 72 + 8)
    x = torch.randn(2, 8, 8, 8)

    def unit(m, t, residual):
        conv = getattr(m, "0")
        y = F.relu(F.conv2d(t, conv.weight, conv.bias, padding=1))
        return t + y if residual else y

    with torch.no_grad():
        expected = unit(model.c, F.max_pool2d(unit(model.b, F.max_pool2d(
            unit(model.a, x, True), 2), False), 2), False)
        torch.testing.assert_close(model(x), expected)
    text = net.to_source()
    assert "# `unit` for 4x4 and 2x2 inputs: its structure depends on the size of its input" \
        in text
    assert text.count("\nclass ") == 3


def test_a_layer_of_a_labeled_chain_is_read_by_position():
    """`output g.0`, `output head.g.0`: the chain is an nn.Sequential called in two parts, the
    first ending at the layer read (refused before: 'the output g.0')."""
    net, model = built("""network n {
    input x: [3, 16, 16]
    head: {
        g: { conv(4, 3, p=1) -> relu -> conv(5, 1) }
        b: { conv(2, 1) }
    }
    output head.g.0, head.b
}
""")
    weighted = {r.name for r in net.stats().layers if r.params and not r.is_block}
    assert {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()} == weighted == \
        {"head.g.0", "head.g.2", "head.b.0"}
    x = torch.randn(2, 3, 16, 16)
    first, last, b = model.head.g[0], model.head.g[2], model.head.b[0]
    with torch.no_grad():
        tap = F.conv2d(x, first.weight, first.bias, padding=1)
        g = F.conv2d(F.relu(tap), last.weight, last.bias)
        got_tap, got_b = model(x)
        torch.testing.assert_close(got_tap, tap)
        torch.testing.assert_close(got_b, F.conv2d(g, b.weight, b.bias))


def test_a_labeled_layer_two_chains_deep_is_read():
    """`from g.h.a`: the chain `h` inside the chain `g` is tapped, `g` becoming a ModuleDict
    (refused before: 'the tensor g.h.a')."""
    net, model = built("""network n {
    input x: [3, 16, 16]
    g: { h: { a: conv(4, 3, p=1) -> relu } -> conv(5, 1) }
    from g.h.a -> conv(2, 1)
}
""")
    weighted = {r.name for r in net.stats().layers if r.params and not r.is_block}
    assert {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()} == weighted
    x = torch.randn(2, 3, 16, 16)
    a, last = model.g.h.a, getattr(model, "1")
    with torch.no_grad():
        tap = F.conv2d(x, a.weight, a.bias, padding=1)
        torch.testing.assert_close(model(x), F.conv2d(tap, last.weight, last.bias))


def test_a_size_dependent_block_after_a_loop_that_keeps_the_size_compiles():
    """A loop over a network parameter whose passes change the channels but not the size
    (3 -> 8 -> 8 maps of 32x32): the block after it, whose layers depend on its input's size,
    knows the size (refused before: 'down' is made for one size of its input)."""
    net, model = built("""block down(c: int) {
    if in.h > 8 { conv(c, 3, s=2, p=1) } else { conv(c, 1) }
}
network n(k: int = 2) {
    input x: [3, 32, 32]
    for i in range(k) { conv(8, 3, p=1) }
    down(8)
    down(8)
    down(8)
}
""")
    assert list(net.stats().outputs.values()) == [(8, 8, 8)]  # 32 -> 16 -> 8 -> 8
    assert sum(p.numel() for p in model.parameters()) == net.stats().params
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        y = x
        for conv in (model[0], model[1]):
            y = F.conv2d(y, conv.weight, conv.bias, padding=1)
        for down, stride in ((model[2][0], 2), (model[3][0], 2), (model[4][0], 1)):
            y = F.conv2d(y, down.weight, down.bias, stride=stride,
                         padding=1 if stride == 2 else 0)
        torch.testing.assert_close(model(x), y)


def test_a_comprehension_over_a_blocks_list_parameter_is_computed_by_the_constructor():
    """`sum([w * 2 for w in widths])` over a block's list parameter (refused before: 'a
    comprehension over a list known only at construction')."""
    net, model = built("""block b(widths: list) {
    conv(sum([w * 2 for w in widths]), 1)
    conv(max([w for w in widths if w > 2]), 1)
}
network n {
    input x: [3, 16, 16]
    b([2, 4, 6])
}
""")
    assert "sum(w * 2 for w in widths)" in net.to_source()  # a generator, as Python sums
    assert [tuple(p.shape) for p in model.parameters()] == [(24, 3, 1, 1), (24,), (6, 24, 1, 1),
                                                            (6,)]
    assert sum(p.numel() for p in model.parameters()) == net.stats().params


def test_whole_floats_in_integer_arguments_compile_as_ints():
    """Loading takes `permute([2.0, 1, 0])` and `conv(4.0, 3)` as ints; the generator used the
    floats (an internal error indexing a shape with 2.0)."""
    net, model = built("""network n {
    input x: [3, 16, 16]
    permute([2.0, 1, 0])
    conv(4.0, 3)
}
""")
    assert list(net.stats().outputs.values()) == [(4, 14, 1)]  # [16, 16, 3] -> 3x3 conv
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 4, 14, 1)
    assert sum(p.numel() for p in model.parameters()) == net.stats().params == 16 * 4 * 9 + 4


def test_a_huge_range_in_a_branch_not_taken_compiles_as_written():
    """`range(2 ** 255)` loads (the branch is not taken); the generator, which writes every
    branch, failed with an internal OverflowError, then with a located error; now the range
    meets the language's list bound like any other, and the branch is written as the spec has
    it. Taking it is the located error of loading."""
    import pytest

    source = """network n(b: bool = false) {
    input x: [3, 8, 8]
    if b { for i in range(2 ** 255) { } }
    relu
}
"""
    model = netdsl.build(source)
    x = torch.randn(2, 3, 8, 8)
    assert torch.equal(model(x), torch.relu(x))
    with pytest.raises(netdsl.NetdslError, match="a list may hold") as info:
        netdsl.load(source, b=True)
    assert info.value.diagnostics[0].span.line == 3


# A second fuzz of the generator (helper, 3,402 random specs against a reference interpreter
# of the flat graph): 100 wrong modules, of four kinds; each kind's smallest spec, every one
# wrong on the previous main.
FUZZ_CASES = {
    "a name for a call of several outputs": """block b() {
    u: conv(2, 1)
    from in -> v: conv(2, 1)
    output u, v
}
network n {
    input x: [3, 8, 8]
    t = from x -> b()
    from t -> add
}
""",
    "a group around a call of several outputs": """block b(c: int) {
    lo: conv(c, 1)
    from in -> hi: conv(c, 1)
    output lo, hi
}
network n {
    input x: [4, 8, 8]
    w: { b(4) }
    output w
}
""",
    "a label inside an inline block": """inline block b() {
    a: conv(2, 1)
    sigmoid
    from a -> relu
}
network n {
    input x: [4, 8, 8]
    b()
}
""",
    "a member of a repeat read by position": """block b(c: int) {
    conv(in.c + c, 1)
}
network n {
    input x: [3, 8, 8]
    s: b(4) * 2
    from s.0 -> bn
}
""",
    "an inline block's outputs": """inline block b() {
    lo: conv(2, 1)
    from in -> hi: conv(2, 1)
    output lo, hi
}
network n {
    input x: [4, 8, 8]
    p, q = b()
    from q -> c: conv(8, 1)
    output lo, q, c
}
""",
    "an inline block's outputs in an assignment": """inline block two(c: int) {
    u: conv(c, 1)
    from in -> v: conv(c, 3, p=1) -> relu
    output u, v
}
network n {
    input x: [3, 8, 8]
    l2: conv(2, 3, s=2, p=1)
    v6 = from l2 -> two(2)
}
""",
}


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def test_fuzzed_modules_agree_with_the_analysis():
    for name, source in FUZZ_CASES.items():
        net, model = built(source)
        stats = net.stats()
        weighted = {r.name for r in stats.layers if r.params and not r.is_block}
        assert {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()} == weighted, name
        assert sum(p.numel() for p in model.parameters()) == stats.params, name
        with torch.no_grad():
            got = _outputs(model(torch.randn(2, *stats.inputs["x"])))
        assert [tuple(t.shape[1:]) for t in got] == list(stats.outputs.values()), name


def test_fuzzed_modules_compute_what_the_spec_says():
    _, model = built(FUZZ_CASES["a name for a call of several outputs"])
    x = torch.randn(2, 3, 8, 8)
    u, v = getattr(model, "0").u, getattr(model, "0").v
    with torch.no_grad():
        torch.testing.assert_close(model(x), F.conv2d(x, u.weight, u.bias) +
                                   F.conv2d(x, v.weight, v.bias))
    _, model = built(FUZZ_CASES["a label inside an inline block"])
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), F.relu(F.conv2d(x, model.a.weight, model.a.bias)))


def test_a_huge_constant_list_is_not_written_out():
    """`[[1] * 3000] * 3000` (accepted by `check`) and `[1] * 10 ** 7` in a branch not taken:
    the generator folded each into a literal of millions of items (over 40 s and 2 GB)."""
    for body in ("y = [[1] * 3000] * 3000", "if b { y = [1] * 10 ** 7 }"):
        net = netdsl.load("network n(b: bool = false) {\n    input x: [3, 8, 8]\n    "
                          f"{body}\n    relu\n}}\n")
        assert len(net.to_source()) < 2_000


def test_folding_never_makes_a_list_it_would_not_write_out():
    """`[1] * 10 ** 12` in a branch not taken: Python's own arithmetic made the list
    (MemoryError, an internal error); `"ab" * 10 ** 12` likewise."""
    from netdsl.backends.pytorch import pyexpr as P
    for seq in ((1,), "ab"):
        assert not P.binop("*", P.lit(seq), P.lit(10 ** 12)).known
        assert P.binop("*", P.lit(seq), P.lit(3)).const == seq * 3
    net = netdsl.load("network n(b: bool = false) {\n    input x: [3, 8, 8]\n"
                      "    if b { conv(len([1] * 10 ** 12) % 7 + 1, 3) }\n    relu\n}\n")
    assert "len((1,) * 1000000000000)" in net.to_source()


def test_folding_spends_one_work_budget_for_the_whole_module():
    """Each fold had a budget of its own, so a spec could make compile do its whole work
    budget's worth once per constant (forty `str` of a million-item list in branches never
    taken: about 40 s). Now every fold of the module shares one budget: each `str` below
    costs about 0.4 of it, and is tried twice (for the layer and for the channels after it);
    once the budget is spent, a fold gives up at once and the expression stays as written."""
    from netdsl.backends.pytorch.generator import Generator
    from netdsl.limits import MAX_STEPS
    branch = "    if b {{ conv(len(str([[{k}] * 100] * 1000)) % 7 + 1, 3) }}\n"
    net = netdsl.load("network n(b: bool = false) {\n    input x: [3, 8, 8]\n"
                      + "".join(branch.format(k=k) for k in range(10)) + "    relu\n}\n")
    gen = Generator(net)
    source = gen.run()
    spent = MAX_STEPS - gen.budget.left  # 20 folds at 403,000 steps each, with a budget each
    assert MAX_STEPS < spent < MAX_STEPS + 403_000
    assert all(f"len(spec_str((({k},) * 100,) * 1000))" in source for k in range(10))


def test_constants_are_folded_into_short_literals_only():
    net = netdsl.load("network n {\n    input x: [3, 8, 8]\n    w = [64] * 3\n"
                      "    v = [1] * 1000\n    conv(w[0] * 4 + len(v) - 1000, 3)\n    relu\n}\n")
    assert "super().__init__(nn.Conv2d(3, 256, 3), nn.ReLU(inplace=True))" in net.to_source()
    from netdsl.backends.pytorch import pyexpr as P
    assert P.binop("*", P.lit((64,)), P.lit(3)).node.__class__.__name__ == "Tuple"
    assert P.binop("*", P.lit((1,)), P.lit(17)).node.__class__.__name__ == "BinOp"
