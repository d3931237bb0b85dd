"""Walking the syntax tree: one home for what is inside a node."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from netdsl.syntax import ast


def children(node: object) -> Iterator[ast.Node]:
    """The syntax nodes directly inside `node`, in source order."""
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        if f.name in ("span", "func_span", "label_span", "name_spans", "name_span"):
            continue
        yield from _nodes(getattr(node, f.name))


def _nodes(value: object) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes(item)


def walk(node: ast.Node) -> Iterator[ast.Node]:
    """`node` and everything inside it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))
