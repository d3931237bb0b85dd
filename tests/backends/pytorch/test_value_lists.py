"""Lists of values in generated code: whatever made a list (a literal, a comprehension, a
`range`, a slice, a join, a `def`, a parameter, a global), the constructor compares, joins,
indexes, counts and prints it as the language's evaluator does. A comprehension over a
parameter's range was a Python list and a literal a tuple: `ws == [0, 1]` was false in the
module and true in the analysis (a conv built with 4 channels where `netdsl stats` said 8), and
`ws + [5]` raised TypeError."""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.backends.pytorch import writer
from netdsl.backends.pytorch.codegen import generate
from tests.backends.pytorch.test_codegen import _ruff

HEAD = """W = [1, 2]
def f(i) = i * 2
def g(n) = [i * 2 for i in range(n)]
def h(a) = [a, 1]
"""

LEAVES = ["[i for i in range(k)]", "[k, 1]", "[0, 1]", "range(k)", "[]", "ws", "W", "g(k)",
          "h(k)", "[f(i) for i in range(20)]", "[i for i in range(1, k + 1)]", "range(3)"]

COMPOUNDS = ["({a}) + ({b})", "({a})[1:]", "({a})[:k]", "({a}) * 2", "[x + 1 for x in {a}]",
             "({a} if k > 1 else {b})", "[x for x in {a} if x > 0]", "[len({a})] + ({b})"]

# each a conv's channels: what the module computes of the two lists, the analysis's number
PROBES = ["1 + len(a)", "2 if a == b else 3", "1 + len(a + b)",
          "2 if len(a) > 0 and a[-1] == 1 else 3", "1 + sum(a + b)", "1 + (a + [7])[0]",
          "1 + len([x for x in b if x > 0])",
          "2 if a[1:] == b[:2] else 3", "len(str(a + b))", "2 if a + b == b + a else 3",
          "1 + sum([x for x in a])"]


@st.composite
def list_expressions(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(LEAVES))
    return draw(st.sampled_from(COMPOUNDS)).format(a=draw(list_expressions(depth - 1)),
                                                   b=draw(list_expressions(depth - 1)))


@st.composite
def specs(draw: st.DrawFn) -> str:
    """The probes in the network, or in a block that takes the lists as parameters."""
    probes = draw(st.lists(st.sampled_from(PROBES), min_size=2, max_size=4, unique=True))
    convs = "".join(f"    conv({p}, 1)\n" for p in probes)
    a, b = draw(list_expressions()), draw(list_expressions())
    head = "network n(k: int = 2, ws: list = [0, 1]) {\n    input image: [3, 2, 2]\n"
    if draw(st.booleans()):
        return HEAD + head + f"    a = {a}\n    b = {b}\n" + convs + "}\n"
    return (HEAD + "block probes(a: list, b: list, k: int) {\n" + convs + "}\n" + head
            + f"    probes({a}, {b}, k)\n}}\n")


def _channels_by_analysis(network: netdsl.Network) -> list[int]:
    return [node.shape[0] for node in network.graph.nodes.values()
            if node.op is not None and node.op.name == "conv"]


def _channels_built(model: torch.nn.Module) -> list[int]:
    return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_lists_made_any_way_compute_in_the_module_as_in_the_analysis(source: str) -> None:
    """One class for the spec, built at several `k` and `ws`: each conv has the channels the
    analysis gives it at the same parameters, or the generator declines with a located
    message."""
    try:
        netdsl.load(source).stats()
        network = type(netdsl.build(source))
    except netdsl.NetdslError as exc:
        assert all(d.span is not None for d in exc.diagnostics), source
        return
    accepted = inspect.signature(network).parameters
    for params in ({"k": 0}, {"k": 1}, {"k": 3, "ws": (2, 0, 5)}):
        try:
            analysed = netdsl.load(source, **params)
            analysed.stats()
        except netdsl.NetdslError:
            continue  # an index past the end, at these parameters
        model = network(**{k: v for k, v in params.items() if k in accepted})
        assert _channels_built(model) == _channels_by_analysis(analysed), (params, source)


def test_a_comprehension_over_a_parameters_range_compares_and_joins_as_a_literal() -> None:
    """The repros: `ws == [0, 1]` (silently 4 channels for 8), `ws + [5]` and `[0] + ws`."""
    for expression, probe in (("[i for i in range(k)]", "8 if ws == [0, 1] else 4"),
                              ("[i for i in range(k)] + [5]", "ws[-1]"),
                              ("[0] + [i for i in range(k)]", "ws[-1] + 4")):
        source = (f"network n(k: int = 2) {{\n    input x: [3, 8, 8]\n    ws = {expression}\n"
                  f"    conv({probe}, 1)\n}}\n")
        network = type(netdsl.build(source))
        for k in (2, 3):
            built = _channels_built(network(k=k))
            assert built == _channels_by_analysis(netdsl.load(source, k=k)), source


def test_a_long_def_is_broken_within_the_width(tmp_path: Path) -> None:
    source = ("def f(a) = a + 1111111111 + 2222222222 + 3333333333 + 4444444444 + "
              "5555555555 + 66666666666\nnetwork n(c: int = 1) {\n    input x: [3, 8, 8]\n"
              "    conv(f(c), 1)\n}\n")
    generated = generate(netdsl.load(source))
    assert max(len(line) for line in generated.splitlines()) <= writer.WIDTH
    assert _ruff(generated, tmp_path) == "All checks passed!\n"
    namespace: dict = {}
    exec(compile(generated, "<test>", "exec"), namespace)  # noqa: S102 - our generated code
    assert namespace["f"](1) == 1 + 1111111111 + 2222222222 + 3333333333 + 4444444444 + \
        5555555555 + 66666666666


def test_a_long_comprehension_over_a_constant_range_stays_the_specs_expression() -> None:
    """`[f(i) for i in range(200)]` was written as 200 calls, one a line. (Indexed by a
    parameter: `ws[-1]` is the constant 398, which the layer is then written with.)"""
    source = ("def f(i) = i * 2\nnetwork n(k: int = -1) {\n    input x: [3, 8, 8]\n"
              "    ws = [f(i) for i in range(200)]\n    conv(ws[k], 1)\n}\n")
    generated = generate(netdsl.load(source))
    assert "ws = tuple(f(i) for i in range(200))" in generated
    assert len(generated.splitlines()) < 20
    assert _channels_built(netdsl.build(source)) == [398]
