"""Expressions: precedence and associativity proven against Python's own parser, spans, and the
operators Python would not accept either."""

from __future__ import annotations

import ast as pyast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.errors import NetdslError
from netdsl.syntax import ast
from netdsl.syntax.parser import parse

# The language's operators, spelled as in Python, with Python's precedence.
_BINARY = ["+", "-", "*", "/", "//", "%", "**", "and", "or"]
_COMPARE = ["==", "!=", "<", "<=", ">", ">="]
_PY_OPS = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/",
           pyast.FloorDiv: "//", pyast.Mod: "%", pyast.Pow: "**", pyast.USub: "-",
           pyast.UAdd: "+", pyast.Eq: "==", pyast.NotEq: "!=", pyast.Lt: "<", pyast.LtE: "<=",
           pyast.Gt: ">", pyast.GtE: ">=", pyast.And: "and", pyast.Or: "or"}


def _ours(node: ast.Node) -> tuple:
    """A netdsl expression as a nested tuple, the same shape as `_python`'s."""
    match node:
        case ast.Name(id=name):
            return ("name", name)
        case ast.Number(value=value):
            return ("num", value)
        case ast.BinOp(op=op, left=left, right=right) | ast.BoolOp(op=op, left=left, right=right):
            return (op, _ours(left), _ours(right))
        case ast.Unary(op=op, operand=operand):
            return ("unary" + op, _ours(operand))
        case ast.Not(operand=operand):
            return ("not", _ours(operand))
        case ast.Compare(operands=operands, ops=ops):
            return ("compare", ops, tuple(_ours(o) for o in operands))
        case ast.Conditional(cond=cond, then=then, otherwise=otherwise):
            return ("if", _ours(cond), _ours(then), _ours(otherwise))
        case ast.Attribute(value=value, attr=attr):
            return ("attr", _ours(value), attr)
        case ast.Index(value=value, index=index):
            return ("index", _ours(value), _ours(index))
    raise AssertionError(node)


def _python(node: pyast.AST) -> tuple:
    match node:
        case pyast.Name(id=name):
            return ("name", name)
        case pyast.Constant(value=value):
            return ("num", value)
        case pyast.BinOp(op=op, left=left, right=right):
            return (_PY_OPS[type(op)], _python(left), _python(right))
        case pyast.BoolOp(op=op, values=values):  # Python folds `a or b or c` into one node
            result = _python(values[0])
            for value in values[1:]:
                result = (_PY_OPS[type(op)], result, _python(value))
            return result
        case pyast.UnaryOp(op=pyast.Not(), operand=operand):
            return ("not", _python(operand))
        case pyast.UnaryOp(op=op, operand=operand):
            return ("unary" + _PY_OPS[type(op)], _python(operand))
        case pyast.Compare(left=left, ops=ops, comparators=rest):
            return ("compare", tuple(_PY_OPS[type(o)] for o in ops),
                    tuple(_python(o) for o in [left, *rest]))
        case pyast.IfExp(test=test, body=body, orelse=orelse):
            return ("if", _python(test), _python(body), _python(orelse))
        case pyast.Attribute(value=value, attr=attr):
            return ("attr", _python(value), attr)
        case pyast.Subscript(value=value, slice=index):
            return ("index", _python(value), _python(index))
    raise AssertionError(pyast.dump(node))


def _expression(text: str) -> ast.Node:
    (assign,) = parse(f"X = {text}\n").items
    return assign.value


atoms = st.sampled_from(["a", "b", "c", "1", "2", "a.c", "b[0]", "a.h[1]"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(" ".join),
        st.tuples(children, st.lists(st.tuples(st.sampled_from(_COMPARE), children),
                                     min_size=1, max_size=3))
        .map(lambda t: t[0] + "".join(f" {op} {x}" for op, x in t[1])),
        st.tuples(st.sampled_from(["-", "+"]), children).map("".join),
        children.map(lambda x: f"not {x}"),
        children.map(lambda x: f"({x})"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
    )


expressions = st.recursive(atoms, _combine, max_leaves=12)


def _python_accepts(text: str) -> bool:
    try:
        pyast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(expressions)
def test_precedence_and_associativity_are_pythons(text):
    """Every operator binds as in Python; text Python rejects (`a + not b`) we reject too."""
    if not _python_accepts(text):
        with pytest.raises(NetdslError):
            _expression(text)
        return
    assert _ours(_expression(text)) == _python(pyast.parse(text, mode="eval").body)


@pytest.mark.parametrize("text, tree", [
    ("-a ** 2", ("unary-", ("**", ("name", "a"), ("num", 2)))),
    ("2 ** 3 ** 2", ("**", ("num", 2), ("**", ("num", 3), ("num", 2)))),
    ("a - b - c", ("-", ("-", ("name", "a"), ("name", "b")), ("name", "c"))),
    ("not a == b", ("not", ("compare", ("==",), (("name", "a"), ("name", "b"))))),
    ("a < b <= c", ("compare", ("<", "<="), (("name", "a"), ("name", "b"), ("name", "c")))),
])
def test_classic_cases(text, tree):
    assert _ours(_expression(text)) == tree


def test_spans_cover_operands_and_parentheses():
    value = _expression("(a + b) * in.c")
    assert (value.span.col, value.span.end_col) == (5, 19)
    assert (value.left.span.col, value.left.span.end_col) == (5, 12)  # the parentheses too
    assert (value.right.span.col, value.right.span.end_col) == (15, 19)


def test_not_after_an_operator_points_at_the_not():
    with pytest.raises(NetdslError) as info:
        parse("X = a + not b\n", "f.net")
    (diag,) = info.value.diagnostics
    assert (diag.span.line, diag.span.col) == (1, 9)
    assert "parentheses" in diag.message


def test_label_output_is_an_attribute_though_output_is_a_keyword():
    value = _expression("conv1.output[0] + output[1]")
    assert _ours(value.left) == ("index", ("attr", ("name", "conv1"), "output"), ("num", 0))
    assert _ours(value.right) == ("index", ("name", "output"), ("num", 1))
