"""The syntax of several tensors at once: destructuring, list comprehensions, shared modules,
string labels, tensor parameters and lists; their tree shapes and spans."""

from __future__ import annotations

import ast as pyast

import pytest

from netdsl.errors import NetdslError, Span
from netdsl.syntax import ast
from netdsl.syntax.parser import parse


def _source(span: Span, text: str) -> str:
    """The text a span covers."""
    lines = text.split("\n")
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1:span.end_col - 1]
    middle = lines[span.line:span.end_line - 1]
    return "\n".join([lines[span.line - 1][span.col - 1:], *middle,
                      lines[span.end_line - 1][:span.end_col - 1]])


def _body(statements: str) -> tuple[str, tuple]:
    text = "network n {\n" + statements + "\n}\n"
    (net,) = parse(text).items
    return text, net.body


def _only(statements: str) -> tuple[str, ast.Node]:
    text, body = _body(statements)
    (stmt,) = body
    return text, stmt


# ---------------------------------------------------------------- destructuring


def test_unpack_names_a_chains_tensors():
    text, stmt = _only("    p3, p4, p5 = fpn(c3, c4, c5)")
    assert type(stmt) is ast.Unpack
    assert stmt.names == ("p3", "p4", "p5")
    assert [_source(s, text) for s in stmt.name_spans] == ["p3", "p4", "p5"]
    assert _source(stmt.span, text) == "p3, p4, p5 = fpn(c3, c4, c5)"
    (element,) = stmt.value.elements
    assert type(stmt.value) is ast.Chain and type(element.value) is ast.Call
    assert element.value.func == "fpn" and len(element.value.args) == 3


def test_unpack_of_a_chain_with_from():
    text, stmt = _only("    a, b = from x -> blk(2)")
    assert stmt.names == ("a", "b")
    first, second = stmt.value.elements
    assert first.value == ast.From(first.value.span, ("x",))
    assert second.value.func == "blk"
    assert _source(stmt.value.span, text) == "from x -> blk(2)"


def test_unpack_across_lines():
    text, stmt = _only("    p3, p4,\n        p5 = fpn(c3,\n                 c4, c5)")
    assert stmt.names == ("p3", "p4", "p5")
    assert (stmt.span.line, stmt.span.end_line) == (2, 4)


def test_one_name_is_still_an_assignment():
    _, stmt = _only("    x = 2 * 3")
    assert type(stmt) is ast.Assign and stmt.name == "x" and type(stmt.value) is ast.BinOp


@pytest.mark.parametrize("statement", [
    "    a, = f(x)",  # a trailing comma: one name is an assignment, spelled without it
    "    a, b",  # no value
    "    a, 1 = f(x)",
    "    (a, b) = f(x)",
])
def test_malformed_unpacks_are_syntax_errors(statement):
    with pytest.raises(NetdslError) as info:
        _body(statement)
    assert info.value.diagnostics[0].code == "syntax"
    assert info.value.diagnostics[0].span.line == 2


# ---------------------------------------------------------------- comprehensions


def _value(expression: str) -> tuple[str, ast.Node]:
    text = f"X = {expression}\n"
    (item,) = parse(text).items
    return text, item.value


def test_comprehension_shape_and_spans():
    text, value = _value("[c * 2 for c in widths if c > 8]")
    assert type(value) is ast.Comprehension
    assert _source(value.span, text) == "[c * 2 for c in widths if c > 8]"
    assert value.var == "c"
    (element,) = value.element.elements
    assert type(value.element) is ast.Chain and type(element.value) is ast.BinOp
    assert _source(value.element.span, text) == "c * 2"
    assert value.iterable == ast.Name(value.iterable.span, "widths")
    assert type(value.condition) is ast.Compare
    assert _source(value.condition.span, text) == "c > 8"


def test_comprehension_without_filter():
    _, value = _value("[f(i) for i in range(4)]")
    assert value.condition is None and value.var == "i"
    assert type(value.iterable) is ast.Call and value.iterable.func == "range"


def test_comprehension_of_chains():
    text, value = _value("[from p -> head -> flatten for p in levels]")
    assert [type(e.value).__name__ for e in value.element.elements] == ["From", "Name", "Name"]
    assert _source(value.element.span, text) == "from p -> head -> flatten"


def test_comprehension_across_lines():
    text, value = _value("[from p -> head\n     for p in levels\n     if p != p3]")
    assert (value.span.line, value.span.end_line) == (1, 3)
    assert value.var == "p" and value.condition is not None


def test_comprehension_nested_and_in_a_call():
    _, value = _value("concat([[x for x in row] for row in rows])")
    (arg,) = value.args
    outer = arg.value.elements[0].value
    assert type(outer) is ast.Comprehension and outer.var == "row"
    assert type(outer.element.elements[0].value) is ast.Comprehension


def _shape(node) -> tuple:
    """A comprehension, ours or Python's, as a tuple: element, variable, iterable, filter."""
    match node:
        case ast.Comprehension(element=element, var=var, iterable=it, condition=cond):
            return ("comp", _shape(element.elements[0].value), var, _shape(it), _shape(cond))
        case pyast.ListComp(elt=elt, generators=[gen]):
            cond = gen.ifs[0] if gen.ifs else None
            return ("comp", _shape(elt), gen.target.id, _shape(gen.iter), _shape(cond))
        case ast.Conditional(cond=c, then=t, otherwise=o) | pyast.IfExp(test=c, body=t, orelse=o):
            return ("if", _shape(c), _shape(t), _shape(o))
        case ast.Name(id=name) | pyast.Name(id=name):
            return ("name", name)
        case None:
            return None
    raise AssertionError(node)


@pytest.mark.parametrize("expression", [
    "[a if c else b for x in xs]",  # a conditional element
    "[a for x in xs if c]",  # a filter
    "[a if c else b for x in xs if d]",
    "[a for x in (ys if c else zs)]",  # a conditional iterable needs its parentheses
    "[a for x in xs if (c if d else e)]",
])
def test_the_if_of_a_comprehension_resolves_as_in_python(expression):
    _, ours = _value(expression)
    assert _shape(ours) == _shape(pyast.parse(expression, mode="eval").body)


@pytest.mark.parametrize("expression", [
    "[a for x in ys if c else zs]",  # a bare conditional iterable: an error, as in Python
    "[a for x in xs if c if d]",  # one filter
    "[for x in xs]",
    "[a for x]",
    "[a for 1 in xs]",
    "[a, b for x in xs]",
])
def test_malformed_comprehensions_are_syntax_errors(expression):
    with pytest.raises(NetdslError) as info:
        _value(expression)
    assert info.value.diagnostics[0].code == "syntax"
    if expression != "[a for x in xs if c if d]":  # Python reads that one as two filters
        with pytest.raises(SyntaxError):
            pyast.parse(expression, mode="eval")


# ---------------------------------------------------------------- shared modules


def test_shared_declares_one_module():
    text, stmt = _only("    shared head: retina_head(256, 9)")
    assert type(stmt) is ast.Shared and stmt.name == "head"
    assert _source(stmt.name_span, text) == "head"
    assert _source(stmt.span, text) == "shared head: retina_head(256, 9)"
    assert type(stmt.value) is ast.Call and stmt.value.func == "retina_head"


def test_shared_group_and_later_calls_by_name():
    text, body = _body("    shared tower: { conv(8, 3, p=1) -> relu }\n"
                       "    from p3 -> tower\n    from p4 -> tower")
    shared, first, second = body
    assert type(shared.value) is ast.Group and len(shared.value.body) == 1
    assert [e.value.id for e in (first.elements[1], second.elements[1])] == ["tower", "tower"]


@pytest.mark.parametrize("statement", [
    "    shared: conv(8, 3)",  # `shared` is a keyword now, not a label
    "    shared head conv(8, 3)",
    "    shared head:",
    "    shared = 3",
])
def test_malformed_shared_is_a_syntax_error(statement):
    with pytest.raises(NetdslError) as info:
        _body(statement)
    assert info.value.diagnostics[0].code == "syntax"


# ---------------------------------------------------------------- labels


def test_string_label_is_the_label_itself():
    text, stmt = _only('    "block1-0": conv(8, 3) -> "block1-1": relu')
    first, second = stmt.elements
    assert (first.label, second.label) == ("block1-0", "block1-1")
    assert _source(first.label_span, text) == '"block1-0"'
    assert _source(first.span, text) == '"block1-0": conv(8, 3)'


def test_string_label_escapes_and_keywords():
    _, stmt = _only('    "network": relu -> "a\\"b": tanh')
    assert [e.label for e in stmt.elements] == ["network", 'a"b']


def test_string_label_in_a_merge_and_a_group():
    _, stmt = _only('    add { "0": conv(8, 1); "1": { relu } }')
    merge = stmt.elements[0].value
    assert [s.elements[0].label for s in merge.body] == ["0", "1"]


def test_a_string_statement_is_still_an_expression():
    _, stmt = _only('    "relu"')
    assert stmt.elements[0].label is None and type(stmt.elements[0].value) is ast.String


# ---------------------------------------------------------------- paths with indices


def test_numeric_path_segments_in_attributes():
    text, stmt = _only("    expect features.12.rf == 3")
    attr = stmt.expr.operands[0]
    assert attr.attr == "rf" and attr.value.attr == "12"
    assert attr.value.value == ast.Name(attr.value.value.span, "features")
    assert _source(attr.value.span, text) == "features.12"
    assert _source(attr.span, text) == "features.12.rf"


def test_numeric_segments_in_from_and_output():
    _, body = _body("    from features.12 -> relu\n    output features.12.0, b.3")
    chain, output = body
    assert chain.elements[0].value.path == ("features", "12")
    assert output.names == (("features", "12", "0"), ("b", "3"))


def test_features_dot_zero_output_is_an_attribute_of_an_index():
    _, stmt = _only("    expect features.0.output == [64, 55, 55]")
    attr = stmt.expr.operands[0]
    assert (attr.attr, attr.value.attr) == ("output", "0")


# ---------------------------------------------------------------- blocks on several tensors


def test_tensor_parameters():
    module = parse("block fpn(c2: tensor, c3: tensor, width: int = 256) { from c3 }\n")
    (block,) = module.items
    assert [(p.name, p.type) for p in block.params] == [
        ("c2", "tensor"), ("c3", "tensor"), ("width", "int")]
    assert block.params[2].default == ast.Number(block.params[2].default.span, 256)


def test_several_outputs_in_a_block_body():
    module = parse("block two(c: tensor) {\n    a: conv(8, 1)\n    b: relu\n    output a, b\n}\n")
    (block,) = module.items
    assert block.body[-1] == ast.Output(block.body[-1].span, (("a",), ("b",)))


def test_for_over_a_list_of_tensors():
    text, stmt = _only("    for t in [p3, p4] { from t -> conv(8, 1) }")
    assert type(stmt) is ast.For and stmt.var == "t"
    assert [i.id for i in stmt.iterable.items] == ["p3", "p4"]
    (chain,) = stmt.body
    assert chain.elements[0].value.path == ("t",)
    assert _source(stmt.span, text) == "for t in [p3, p4] { from t -> conv(8, 1) }"
