"""Loading small inline specs for the elaborator tests."""

from __future__ import annotations

import netdsl


def graph(body: str, head: str = "", **params):
    """The graph of `network n { BODY }` with HEAD (blocks, values) before it."""
    return netdsl.load(f"{head}\nnetwork n(k: int = 1) {{\n{body}\n}}\n", **params).graph


def layers(body: str, head: str = "", **params) -> list[tuple[str, str, tuple[int, ...]]]:
    """(name, op, shape) of every layer, inputs excluded, in order."""
    return [(n.name, n.op_name, n.shape) for n in graph(body, head, **params) if not n.is_input]
