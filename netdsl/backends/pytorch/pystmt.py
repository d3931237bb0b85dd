"""Statements of generated code as `ast` trees: building them, and the rewrites the translator
makes once a branch or a loop is written (renaming a variable, putting in a value)."""

from __future__ import annotations

import ast
import copy

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.flow import Tensor, TensorList
from netdsl.backends.pytorch.pyexpr import Py


def assign(name: str, value: ast.expr) -> ast.stmt:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def self_attr(name: str, ctx: ast.expr_context | None = None) -> ast.expr:
    return ast.Attribute(ast.Name("self", ast.Load()), name, ctx or ast.Load())


def store_target(node: ast.expr) -> ast.expr:
    node = copy.deepcopy(node)
    node.ctx = ast.Store()  # type: ignore[attr-defined]
    return node


def if_chain(tests: list[Py], bodies: list[list[ast.stmt]]) -> list[ast.stmt]:
    """`if / elif / else` from tests (the last may be True: the else), dropping empty
    branches at the end and negating a lone test whose branch is empty."""
    pairs = list(zip(tests, bodies, strict=True))
    while pairs and not pairs[-1][1]:
        pairs.pop()
    if not pairs:
        return []
    if len(pairs) == 2 and not pairs[0][1] and pairs[1][0].const is True:
        return [ast.If(P.negate(pairs[0][0]).node, pairs[1][1], [])]
    orelse: list[ast.stmt] = []
    for test, body in reversed(pairs):
        if test.const is True:
            orelse = body
            continue
        orelse = [ast.If(test.node, body or [ast.Pass()], orelse)]
    return orelse


def tidy_branches(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Branches as a person writes them, once pruning has emptied some: `if a: pass / else:
    b` as `if not a: b` (`a != c` where the comparison has an inverse), an empty `else`
    dropped, an `if` left with nothing in either branch dropped (its test only reads values)."""
    out: list[ast.stmt] = []
    for s in stmts:
        if isinstance(s, (ast.If, ast.For)):
            s.body = tidy_branches(s.body)
            s.orelse = tidy_branches(s.orelse)
        if isinstance(s, ast.If):
            if not s.body and not s.orelse:
                continue
            if not s.body:
                s = ast.If(P.negate(Py(s.test)).node, s.orelse, [])
        if isinstance(s, ast.For) and not s.body:
            s.body = [ast.Pass()]
        if not isinstance(s, ast.Pass):
            out.append(s)
    return out


def all_names(body: list[ast.stmt]) -> set[str]:
    return {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}


def returns(outputs: list[tuple[str, Tensor | TensorList]]) -> ast.stmt:
    """`return x`, `return a, b`; a list of tensors among the outputs is spread into the tuple
    (`return (*layer_blocks, pool)`), and one alone is returned as a tuple."""
    if len(outputs) == 1 and isinstance(outputs[0][1], TensorList):
        listed = outputs[0][1]
        value: ast.expr = listed.node
        return ast.Return(value if listed.whole else ast.Call(ast.Name("tuple", ast.Load()),
                                                             [value], []))
    values = [ast.Starred(t.node, ast.Load()) if isinstance(t, TensorList) else t.node
              for _, t in outputs]
    return ast.Return(values[0] if len(values) == 1 else ast.Tuple(values, ast.Load()))


def assigns(stmts: list[ast.stmt], var: str | None) -> bool:
    return any(isinstance(n, ast.Name) and n.id == var and isinstance(n.ctx, ast.Store)
               for s in stmts for n in ast.walk(s))


def rename(stmts: list[ast.stmt], old: str | None, new: str | None) -> None:
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and n.id == old:
                n.id = new  # type: ignore[assignment]


def retarget_last(stmts: list[ast.stmt], old: str | None, new: str) -> None:
    """The last statement that assigned `old` assigns `new` (a label's variable)."""
    for s in reversed(stmts):
        target = s.targets[0] if isinstance(s, ast.Assign) else None
        if isinstance(target, ast.Tuple) and target.elts and \
                isinstance(target.elts[0], ast.Name) and target.elts[0].id == old:
            target = target.elts[0]  # `x, indices = self.pool(x)`
        if isinstance(target, ast.Name) and target.id == old:
            target.id = new
            return
    stmts.append(assign(new, ast.Name(old, ast.Load())))  # type: ignore[arg-type]


def substitute_name(stmts: list[ast.stmt], name: str, value: Py) -> None:
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return copy.deepcopy(value.node) if node.id == name else node
    for i, s in enumerate(stmts):
        stmts[i] = Sub().visit(s)


def is_append(stmt: ast.stmt, var: str) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "append" and \
        isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == var


def is_named_registration(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Attribute) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and
        isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "add_module" and
        isinstance(stmt.value.args[0], ast.Constant))


def registration_pair(stmt: ast.stmt) -> tuple[str | None, ast.expr]:
    if isinstance(stmt, ast.Assign):
        return stmt.targets[0].attr, stmt.value  # type: ignore[attr-defined]
    call = stmt.value  # type: ignore[attr-defined]
    if call.func.attr == "append":
        return None, call.args[0]
    return call.args[0].value, call.args[1]


def numbered(items: list[tuple[str | None, ast.expr]]) -> list[tuple[str, ast.expr]]:
    return [(k if k is not None else str(i), v) for i, (k, v) in enumerate(items)]


def loop_target(target: ast.expr, body: list[ast.stmt]) -> ast.expr:
    """A loop variable the body does not read is written `_`."""
    if isinstance(target, ast.Name) and not any(
            isinstance(n, ast.Name) and n.id == target.id for s in body for n in ast.walk(s)):
        return ast.Name("_", ast.Store())
    return target
