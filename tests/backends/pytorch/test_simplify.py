"""Integer expressions of generated code are written simplified (`0 * self.c` as 0, `2 * width
- width` as `width`) and compute what they computed."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.codegen import generate


class Self:
    width, c = 7, 3


NAMES = {"width": 5, "planes": -2, "i": 0, "self": Self}


def _leaf() -> st.SearchStrategy[ast.expr]:
    names = st.sampled_from(["width", "planes", "i"]).map(lambda n: ast.Name(n, ast.Load()))
    read = st.sampled_from(["width", "c"]).map(
        lambda a: ast.Attribute(ast.Name("self", ast.Load()), a, ast.Load()))
    return st.one_of(names, read, st.integers(0, 3).map(ast.Constant))


def _operator(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    ops = st.sampled_from([ast.Add, ast.Sub, ast.Mult])
    return st.one_of(
        st.builds(lambda a, op, b: ast.BinOp(a, op(), b), children, ops, children),
        st.builds(lambda a, k: ast.BinOp(a, ast.FloorDiv(), ast.Constant(k)), children,
                  st.integers(1, 4)),
        st.builds(lambda a: ast.UnaryOp(ast.USub(), a), children),
        st.builds(lambda a, b: ast.Call(ast.Name("max", ast.Load()), [a, b], []),
                  children, children),
    )


def _value(node: ast.expr) -> int:
    return eval(compile(ast.fix_missing_locations(ast.Expression(node)), "<e>", "eval"),  # noqa: S307
                dict(NAMES))


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaf(), _operator, max_leaves=12))
def test_a_simplified_integer_expression_computes_the_same_and_is_no_longer(tree):
    simple = P.simplify(P.Py(tree)).node
    assert _value(simple) == _value(tree)
    assert len(ast.unparse(simple)) <= len(ast.unparse(tree))


@pytest.mark.parametrize("source, text", [
    ("0 * self.c", "0"),
    ("c - 0 * c", "c"),
    ("2 * width - width", "width"),
    ("3 * width - 2 * width", "width"),
    ("(0 + 1) * self.width", "self.width"),
    ("base * 8 + base * 8", "base * 16"),
    ("4 * make_divisible(320 * width, 8)", "4 * make_divisible(320 * width, 8)"),  # as written
    ("c * 14 * 14", "c * 14 * 14"),  # channels by height by width
    ("(a + b) * 2", "(a + b) * 2"),  # not expanded
])
def test_integer_expressions_are_written_simplified(source, text):
    assert P.simplify(P.Py(ast.parse(source, mode="eval").body)).text() == text


SPLIT = """
block split(width: int, scale: int = 3) {
    conv(width * scale, 1)
    spx: relu
    parts = []
    for i in range(scale) {
        part = from spx -> slice(i * width, (i + 1) * width) -> conv(width, 3, p=1)
        parts = parts + [part]
    }
    from parts -> concat
}
network n {
    input x: [4, 8, 8]
    split(4)
    split(2)
}
"""


def test_an_unrolled_split_writes_its_channels_and_bounds_simplified():
    """Res2Net's and ResNeSt's splits: the loop's `i * width` with i = 0 was written `0 *
    self.width`, and a part's channels `2 * width - width`; the built module still has the
    spec's parameters."""
    net = netdsl.load(SPLIT)
    source = generate(net)
    assert "0 * " not in source and "- width" not in source, source
    assert "nn.Conv2d(width, width, 3, padding=1)" in source, source
    model = netdsl.build(net)
    assert sum(p.numel() for p in model.parameters()) == net.stats().params
