"""Activation memory: total bytes of all activations, and the peak live bytes of an inference
forward pass that frees each tensor right after its last use (the torch backend's schedule).

Views (flatten, reshape) share their input's storage: they add no bytes and keep the storage
alive as long as they are used. Network inputs are live from the start; outputs to the end.
Parameters used as tensors (a class token) are stored, not activations. An operator's
workspace (the attention matrices of Swin's window attention) counts among the activations
and is alive, with the operator's inputs and output, while it runs.
"""

from __future__ import annotations

from netdsl.ir import Graph

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def storage_of(graph: Graph) -> dict[str, str]:
    """The node whose storage each node's tensor lives in (itself, or its base for views)."""
    base: dict[str, str] = {}
    for node in graph:
        if node.op is not None and node.op.is_view:
            base[node.name] = base[node.inputs[0]]
        else:
            base[node.name] = node.name
    return base


def last_uses(graph: Graph, base: dict[str, str] | None = None) -> dict[str, int]:
    """For each storage, the position of the last node that reads it (outputs: the end).

    One walk: positions only grow, so the latest reader overwrites; a storage is entered at
    its own position when created, which stands if nothing reads it."""
    base = base if base is not None else storage_of(graph)
    last: dict[str, int] = {}
    for position, node in enumerate(graph):
        for src in node.inputs:
            last[base[src]] = position
        last.setdefault(base[node.name], position)
    for name in graph.outputs.values():
        last[base[name]] = len(graph)
    return last


def activation_memory(graph: Graph) -> tuple[int, int]:
    """(elements of every activation, the largest number alive at once), in one walk."""
    return _walk_forward(graph, storage_of(graph))


def peak_live_elements(graph: Graph) -> int:
    """The largest number of activation elements alive at once during the forward pass."""
    return _walk_forward(graph, storage_of(graph))[1]


def activation_elements(graph: Graph) -> int:
    """Elements of every activation the pass produces (views excluded, inputs included)."""
    return _walk_forward(graph, storage_of(graph))[0]


def _walk_forward(graph: Graph, base: dict[str, str]) -> tuple[int, int]:
    """Run the schedule: allocate each storage, free it after its last use; return the total
    allocated and the peak."""
    last = last_uses(graph, base)
    total = 0
    live = 0
    peak = 0
    frees: dict[int, int] = {}
    for i, node in enumerate(graph):
        name = node.name
        meta = node.meta
        if base[name] == name:
            elements = meta["elements"]
            total += elements
            live += elements
            frees[last[name]] = frees.get(last[name], 0) + elements
        workspace = meta.get("workspace", 0)
        total += workspace
        peak = max(peak, live + workspace)
        live -= frees.pop(i, 0)
    return total, peak
