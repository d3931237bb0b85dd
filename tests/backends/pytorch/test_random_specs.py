"""Random small specs, compiled and run: the module torch builds from the generated source has
the params and the output shapes the analysis computes. The specs mix what broke before
(runs of blocks that change the map's size, size-dependent structure, shared modules in
labeled groups, views returned by blocks) with parameterized blocks, merges and loops; each
either compiles to a module that agrees, or fails with a located NetdslError."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl

LAYERS = ["conv(c, 3, p=1)", "conv(c, 1)", "relu", "bn", "conv(c, 3, s=2, p=1)", "maxpool(2)",
          "avgpool(2)", "sigmoid", "conv(c, 3, p=1, groups=2)", "upsample(2)", "dropout(0.2)",
          "hardswish", "identity", "crop(size=[2, 2])"]

BODIES = [
    "    {chain}",
    "    add {{\n        identity\n        {same} -> conv(in.c, 1)\n    }}",
    "    concat {{\n        {chain}\n        {chain}\n    }}",
    "    for i in range(n) {{\n        {chain}\n    }}",
    "    if in.h > 4 {{\n        {chain}\n    }} else {{\n        conv(c, 1)\n    }}",
    "    first: {chain}\n    second: conv(c * 2, 1) -> relu",
]

USES = ["b({c}, n={n})", "b({c}) * {n}", "stage{i}: b({c}, {n})", "shared s{i}: b({c})\n    s{i}",
        "g{i}: {{ b({c}) -> relu }}", "shared s{i}: b({c})\n    g{i}: {{ s{i} }}"]

SAME_SIZE = ["conv(c, 3, p=1)", "relu", "bn", "sigmoid", "hardswish", "identity"]


@st.composite
def specs(draw: st.DrawFn) -> str:
    chain = " -> ".join(draw(st.lists(st.sampled_from(LAYERS), min_size=1, max_size=3)))
    same = " -> ".join(draw(st.lists(st.sampled_from(SAME_SIZE), min_size=1, max_size=3)))
    body = draw(st.sampled_from(BODIES)).format(chain=chain, same=same)
    uses = []
    for i in range(draw(st.integers(1, 3))):
        use = draw(st.sampled_from(USES))
        uses.append(use.format(c=draw(st.sampled_from([4, 8])), n=draw(st.integers(1, 3)), i=i))
    tail = draw(st.sampled_from(["", "\n    adaptive_avgpool(1) -> flatten -> linear(3)",
                                 "\n    flatten -> linear(3)"]))
    size = draw(st.sampled_from([8, 16]))
    return (f"block b(c: int, n: int = 2) {{\n{body}\n}}\nnetwork n {{\n"
            f"    input x: [4, {size}, {size}]\n    " + "\n    ".join(uses) + tail + "\n}\n")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_a_compiled_random_spec_agrees_with_the_analysis(source: str) -> None:
    try:
        stats = netdsl.load(source).stats()
    except netdsl.NetdslError:
        return  # a spec the language rejects, with a located message
    if stats.activation_elements > 2_000_000:
        return  # upsampled past what a unit test should allocate
    try:
        model = netdsl.build(source).eval()
    except netdsl.NetdslError as exc:  # a construct the generator declines, located
        assert all(d.span is not None for d in exc.diagnostics)
        return
    (shape,) = stats.inputs.values()
    with torch.no_grad():
        out = model(torch.zeros(2, *shape))
    (expected,) = stats.outputs.values()
    assert tuple(out.shape[1:]) == tuple(expected), source
    assert sum(p.numel() for p in model.parameters()) == stats.params, source


SEQUENCE_BLOCKS = """block mlp(hidden: int) {
    linear(hidden) -> gelu -> linear(in.shape[-1])
}
block enc(heads: int, hidden: int) {
    add { identity
          { layernorm -> attention(heads) } }
    add { identity
          { layernorm -> mlp(hidden) } }
}
block posadd() {
    add { identity
          pos: parameter(in.shape, std=0.02) }
}
block twice(n: int, heads: int) {
    for i in range(n) { enc(heads, 2 * in.shape[-1]) }
}
"""

STEMS = ["input t: [5]\n    embedding(20, width)",
         "input x: [3, 8, 8]\n    conv(width, 4, s=4) -> flatten(1) -> permute([1, 0])",
         "input x: [3, 8, 8]\n    conv(width, 4, s=4) -> flatten(1) -> transpose(0, 1)",
         "input s: [3, 12]\n    linear(width)"]

SEQUENCE_USES = ["enc(heads, 2 * width)", "posadd()", "twice(2, heads)", "mlp(width)",
                 "layernorm", "shared sh: enc(heads, width)\n    sh\n    sh",
                 "add {\n        identity\n        linear(width)\n    }"]


@st.composite
def sequence_specs(draw: st.DrawFn) -> str:
    uses = draw(st.lists(st.sampled_from(SEQUENCE_USES), min_size=1, max_size=3, unique=True))
    tail = draw(st.sampled_from(["", "\n    select(0) -> linear(3)", "\n    linear(5)"]))
    return (SEQUENCE_BLOCKS + "network n(width: int = 8, heads: int = 2) {\n    "
            + draw(st.sampled_from(STEMS)) + "\n    " + "\n    ".join(uses) + tail + "\n}\n")


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(sequence_specs())
def test_a_compiled_sequence_model_takes_its_width(source: str) -> None:
    """Token sequences [tokens, features]: an embedding, a permute, a transpose or a linear
    layer puts the features on the last axis, and every class takes them as `in_features`,
    so the network's `width` is an argument that builds the spec loaded with that width
    (GPT-2's and ViT's widths were once baked in as 768)."""
    network = type(netdsl.build(source))  # the class `netdsl compile` writes
    for width in (8, 16):
        stats = netdsl.load(source, width=width).stats()
        model = network(width=width).eval()
        (shape,) = stats.inputs.values()
        x = torch.randint(0, 20, (2, *shape)) if len(shape) == 1 else torch.zeros(2, *shape)
        with torch.no_grad():
            out = model(x)
        (expected,) = stats.outputs.values()
        assert tuple(out.shape[1:]) == tuple(expected), source
        assert sum(p.numel() for p in model.parameters()) == stats.params, source


LIST_BLOCKS = """block fuse(a: tensor, b: tensor) {
    from a -> conv(4, 1) -> add(from b -> conv(4, 1))
}
block two(c: int) {
    lo: conv(c, 1)
    from in -> hi: conv(c, 3, p=1)
    output lo, hi
}
block heads(xs: tensors) {
    ys = [from t -> conv(4, 1) -> relu for t in xs]
    concat
}
"""

LISTS = ["[a, b]", "[a, b, c]", "[c, a]", "outs", "outs[1:]", "[a] + outs", "pair"]

LIST_STATEMENTS = [
    "outs = [from t -> conv(4, 1) for t in {list}]",
    "m{i}: [from t -> conv(4, 1) for t in {list}]",
    "for t in {list} {{\n        from t -> conv(2, 1) -> relu\n    }}",
    "from {list} -> concat",
    "from a -> concat({list})",
    "d{i} = concat(a, b)",
    "d{i}: concat",
    "from a -> h{i}: heads({list})",
    "f{i} = fuse(a, c)",
    "from b -> pair: two(4)",
    "shared s{i}: fuse\n    g{i} = s{i}(a, c)\n    k{i} = s{i}(from a -> relu, c)",
]


@st.composite
def list_specs(draw: st.DrawFn) -> str:
    statements = []
    for i in range(draw(st.integers(1, 4))):
        statement = draw(st.sampled_from(LIST_STATEMENTS))
        statements.append(statement.format(list=draw(st.sampled_from(LISTS)), i=i))
    return (LIST_BLOCKS + "network n {\n    input x: [3, 8, 8]\n    a: conv(8, 3, p=1)\n"
            "    b: conv(6, 3, p=1)\n    c: conv(4, 1)\n    outs = [from t -> conv(4, 1) for t "
            "in [a, b]]\n    pair = [a, c]\n    " + "\n    ".join(statements) + "\n}\n")


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(list_specs())
def test_a_compiled_spec_over_lists_of_tensors_agrees_with_the_analysis(source: str) -> None:
    """Lists of tensors made, looped over, merged, passed to blocks, and the tensors of
    block and shared-module calls named by assignments: the module computes the outputs the
    analysis gives, or the generator declines with a located message."""
    try:
        stats = netdsl.load(source).stats()
    except netdsl.NetdslError:
        return
    try:
        model = netdsl.build(source).eval()
    except netdsl.NetdslError as exc:
        assert all(d.span is not None for d in exc.diagnostics)
        return
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    outs = model(x)
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    assert [tuple(o.shape[1:]) for o in outs] == \
        [tuple(s) for s in stats.outputs.values()], source
    assert sum(p.numel() for p in model.parameters()) == stats.params, source
    network = netdsl.load(source)
    for k, name in enumerate(stats.outputs):  # each output is computed from the right layers
        assert layers_with_gradient(model, k, x) == weighted_layers_behind(network, name), \
            (name, source)


def weighted_layers_behind(network: netdsl.Network, output: str) -> set[str]:
    """The layers with weights an output depends on in the flat graph, named as in the state
    dict (a shared module's later calls by its first call's name)."""
    graph = network.graph
    seen: set[str] = set()
    todo, found = [graph.outputs[output]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.nodes[name]
        todo.extend(node.inputs)
        if node.op is not None and node.op.params([graph.nodes[i].shape for i in node.inputs],
                                                  node.shape):
            found.add(".".join(part.split("#")[0] for part in name.split(".")))
    return found


def layers_with_gradient(model: torch.nn.Module, k: int, x: torch.Tensor) -> set[str]:
    """The layers whose weights get a gradient from output k, by torch's autograd."""
    model.zero_grad(set_to_none=True)
    outs = model(x)
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    outs[k].square().sum().backward()
    return {name.rsplit(".", 1)[0] for name, p in model.named_parameters()
            if p.grad is not None and p.grad.abs().sum() > 0}
