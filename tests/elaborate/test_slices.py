"""Slices of lists (of values or of tensors) and of strings: `levels[1:]`, `feats[:-1]`,
`widths[::2]`, with Python's meaning of every bound (negative, past the end, a negative step),
and located errors for what is not a slice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netdsl
from netdsl.elaborate.builtins import builtin_env
from netdsl.elaborate.values import Evaluator
from netdsl.errors import NetdslError, SpecError
from netdsl.notation import value_text
from netdsl.syntax.parser import parse


def ev(text: str):
    (item,) = parse(f"v = {text}\n").items
    return Evaluator().eval(item.value, builtin_env())


def _bound(b: int | None) -> str:
    return "" if b is None else str(b)


bounds = st.none() | st.integers(-12, 12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=8), bounds, bounds,
       st.none() | st.integers(-4, 4).filter(lambda s: s != 0))
def test_list_and_string_slices_are_pythons(items, start, stop, step):
    """Every bound and step as Python's own slicing takes it."""
    where = f"{_bound(start)}:{_bound(stop)}" + ("" if step is None else f":{step}")
    assert ev(f"{value_text(tuple(items))}[{where}]") == tuple(items)[start:stop:step]
    text = "".join("abcdefghijk"[i + 5] for i in items)
    assert ev(f'"{text}"[{where}]') == text[start:stop:step]


@pytest.mark.parametrize("text, value", [
    ("[8, 16, 32, 64][1:]", (16, 32, 64)), ("[8, 16, 32, 64][:-1]", (8, 16, 32)),
    ("[8, 16, 32, 64][::2]", (8, 32)), ("[8, 16, 32, 64][::-1]", (64, 32, 16, 8)),
    ("[[1, 2], [3]][1:][0]", (3,)), ("range(10)[2:8:3]", (2, 5)),
    ("[1, 2, 3][2 ** 200:]", ()), ('"resnet50"[:6]', "resnet"), ("len([1, 2, 3][1:])", 2),
])
def test_slices(text, value):
    assert ev(text) == value


@pytest.mark.parametrize("text, message, code", [
    ("[1, 2][::0]", "a slice step cannot be 0", "value"),
    ("[1, 2][1.5:]", "a slice bound must be an int, got float 1.5", "type"),
    ("[1, 2][:true]", "a slice bound must be an int, got bool true", "type"),
    ('[1, 2][:"1"]', 'a slice bound must be an int, got string "1"', "type"),
    ("3[1:]", "cannot slice int 3", "type"),
])
def test_what_is_not_a_slice_is_a_located_error(text, message, code):
    with pytest.raises(SpecError) as info:
        ev(text)
    assert str(info.value.message) == message and info.value.code == code
    assert info.value.span is not None and info.value.span.line == 1


FEATURES = """block top_down(features: tensors, width: int = 8) {
    inner: [from f -> conv(width, 1) for f in features[1:]]
    rev = inner[::-1]
    from rev[0] -> add(rev[1])
}
network n {
    input x: [3, 16, 16]
    a: conv(4, 3, p=1)
    b: conv(4, 3, p=1, s=2)
    c: conv(6, 3, p=1)
    feats = [a, b, c]
    m: top_down(feats[:2] + feats[-1:])
    heads: [from t -> conv(2, 1) for t in feats[:-1]]
    y = from feats[::-1][0] -> relu
    expect len(feats[1:]) == 2
    output m, heads, y
}"""


def test_lists_of_tensors_slice_into_blocks_loops_and_chains():
    net = netdsl.load(FEATURES)
    g = net.graph
    assert g["m.inner.0"].inputs == ["b"] and g["m.inner.1"].inputs == ["c"]
    assert [g[f"heads.{i}"].inputs for i in range(2)] == [["a"], ["b"]]
    assert g["heads.1"].shape == (2, 8, 8)
    assert g[g.outputs["y"]].inputs == ["c"]
    assert net.check() == []


def test_a_slice_of_values_is_no_list_of_tensors():
    with pytest.raises(NetdslError, match=r"must be a list of tensors, got list \[16, 32\]"):
        netdsl.load(FEATURES.replace("top_down(feats[:2] + feats[-1:])",
                                     "top_down([8, 16, 32][1:])"))
