"""Warnings of computation no output depends on: which layers they name is held to torch.fx's
own dead-code elimination of the built module; where and how they are said, to the text a
user sees from `netdsl check` and from the editor."""

from __future__ import annotations

import pytest

import netdsl
from netdsl.analysis.unused import dead_items
from netdsl.errors import render
from tests.cli.conftest import run_netdsl
from tests.conftest import SPECS

BRANCHES = """
network n {
    input x: [3, 16, 16]
    a: conv(8, 3, p=1)
    b: relu
    c: conv(4, 1) -> bn -> tanh
    from a -> d: conv(16, 1)
    e: conv(4, 1)
    from d -> f: maxpool(2)
    g: concat(from d -> conv(4, 1) -> avgpool(2), from a -> maxpool(2))
    output f, g
}
"""

BLOCKS = """
block two(c: int) {
    lo: conv(c, 1)
    hi: conv(c, 3, p=1)
    spare: conv(c, 1) -> relu
    output lo, hi
}
block unit(c: int) { conv(c, 3, p=1) -> relu }
network n {
    input x: [3, 16, 16]
    input y: [3, 16, 16]
    p, q = from x -> two(8)
    from p -> two(4)
    from p -> l: unit(8) * 4
    from l.1 -> m: conv(8, 1)
    from q -> two(6)
    output m
}
"""


def _torch_dead(network) -> tuple[set[str], int]:
    """What torch.fx's dead-code elimination removes from the traced built model: the
    modules, and how many calls in all (functions such as `torch.tanh` too)."""
    torch = pytest.importorskip("torch")
    traced = torch.fx.symbolic_trace(netdsl.build(network))
    before = list(traced.graph.nodes)
    traced.graph.eliminate_dead_code()
    removed = set(before) - set(traced.graph.nodes)
    return {n.target for n in removed if n.op == "call_module"}, len(removed)


def test_the_dead_layers_are_those_torch_fx_eliminates():
    network = netdsl.load(BRANCHES)
    ours = dead_items(network.top)
    assert ours == {"b", "c", "3", "4", "e"}  # `c:` names the chain's first layer
    modules, calls = _torch_dead(network)
    assert modules == ours - {"4"}  # the tanh is `torch.tanh`
    assert calls == len(ours)


def test_one_warning_where_dead_computation_starts_with_what_hangs_on_it():
    warnings = netdsl.load(BRANCHES).warnings()
    assert [(w.span.line, w.span.col, w.message) for w in warnings] == [
        (5, 5, "the result of this relu is never used, nor are the 3 layers computed from it"),
        (8, 5, "the result of this conv is never used"),
    ]
    assert {w.severity for w in warnings} == {"warning"}
    assert {w.code for w in warnings} == {"unused"}


def test_blocks_calls_repeats_and_inputs():
    """A dead layer inside a block is said once however often the block is called; a call
    whose outputs nobody reads is one dead item, a repeat's unread passes too; a call read
    through one of its two outputs is used."""
    warnings = netdsl.load(BLOCKS).warnings()
    assert [(w.span.line, w.message) for w in warnings] == [
        (5, "the result of this conv is never used, nor is the layer computed from it"),
        (11, "input 'y' is never used"),
        (13, "the result of this 'two' is never used"),
        (14, "the result of this 'unit' is never used"),
        (16, "the result of this 'two' is never used"),
    ]


def test_the_dead_items_of_blocks_agree_with_torch_fx():
    """What torch.fx eliminates from the built model is what the warnings name: the calls
    nothing reads (`1`, `4`: the second and third `two`; the unread passes `l.2`, `l.3`) and
    the layer of `two` no output of it reads (`spare`, in each call); and `0.hi`, an output of
    a call whose other output is used, which is no warning: the block's output is not dead
    inside the block."""
    network = netdsl.load(BLOCKS)
    fx_dead, _ = _torch_dead(network)
    assert fx_dead == {"1.lo", "1.hi", "1.spare", "4.lo", "4.hi", "4.spare", "l.2.0", "l.2.1",
                       "l.3.0", "l.3.1", "0.spare", "0.hi"}
    top = dead_items(network.top)
    assert top == {"y", "1", "l.2", "4"}
    two = next(c.definition for c in network.top.calls() if c.name == "0")
    assert dead_items(two) == {"spare", "3"}  # the spare conv and its relu


def test_check_prints_warnings_and_passes_unless_strict(tmp_path):
    spec = tmp_path / "dead.net"
    spec.write_text(BRANCHES)
    result = run_netdsl("check", str(spec))
    assert result.returncode == 0 and result.stdout == ""
    first = render(netdsl.load(spec).warnings()[0])
    assert result.stderr.startswith(first + "\n")
    assert first.splitlines()[1:] == [
        "        b: relu", "        ^~~~~~~",
        "help: label it and read it (`from LABEL -> ...`), list it in `output`, or remove it"]
    strict = run_netdsl("check", "--strict", str(spec))
    assert strict.returncode == 2 and strict.stderr == result.stderr


def test_warnings_are_bounded(tmp_path):
    lines = "\n".join(f"    from x -> conv({k + 1}, 1)" for k in range(60))
    spec = tmp_path / "many.net"
    spec.write_text(f"network n {{\n    input x: [3, 8, 8]\n{lines}\n    from x -> relu\n}}\n")
    result = run_netdsl("check", str(spec))
    assert result.returncode == 0
    assert result.stderr.count("warning: ") == 20
    assert result.stderr.endswith("... 40 more warnings not shown\n")


def test_the_zoo_has_no_dead_computation():
    for path in sorted(SPECS.glob("*.net")):
        assert netdsl.load(path).warnings() == [], path.name
