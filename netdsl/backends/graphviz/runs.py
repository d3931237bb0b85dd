"""Runs of identical consecutive blocks drawn as one box marked "x n".

Two collapsed blocks belong to one run when they sit in the same frame, are alike by the IR
(identity.py: calls of one definition, or calls made by one statement with one structure), and
are chained: the first feeds only the second and the second is fed only by the first. ResNet's
`bottleneck(256) * 35` and DenseNet's six to forty-eight dense layers become one box each, with
the run's summed params and MACs and its last output shape; a stage's first block, with its
downsample path, stays a box of its own.
"""

from __future__ import annotations

from netdsl.backends.graphviz.diagram import Box, Diagram
from netdsl.backends.graphviz.identity import CallKey, alike
from netdsl.ir import Graph


def collapse_runs(diagram: Diagram, graph: Graph, keys: dict[str, CallKey]) -> None:
    outputs = {b.id for b in diagram.boxes if b.kind == "output"}
    outs: dict[str, list[str]] = {}
    ins: dict[str, list[str]] = {}
    for e in diagram.edges:
        if e.dst not in outputs:  # making a network output does not end a run
            outs.setdefault(e.src, []).append(e.dst)
            ins.setdefault(e.dst, []).append(e.src)
    kept: list[Box] = []
    merged: dict[str, str] = {}  # id of a box folded into a run -> the run's first box
    members: dict[str, list[str]] = {}  # a run's first box -> every box of the run
    for box in diagram.boxes:
        head = kept[-1] if kept else None
        tail = head.last or head.id if head else None
        if head and tail and _same_block(graph, keys, head, box) and outs.get(tail) == [box.id] \
                and ins.get(box.id) == [tail]:
            head.count += 1
            head.last = box.id
            head.params += box.params
            head.macs += box.macs
            head.shape = box.shape
            head.is_output = head.is_output or box.is_output
            merged[box.id] = head.id
            members.setdefault(head.id, [head.id]).append(box.id)
            continue
        kept.append(box)
    _note_differences(kept, graph)
    if not merged:
        return
    for run in members.values():
        _fold_outputs(run, kept, diagram, merged)
    diagram.boxes = [b for b in kept if b.id not in merged]
    _reroute(diagram, merged)


def _fold_outputs(run: list[str], boxes: list[Box], diagram: Diagram,
                  merged: dict[str, str]) -> None:
    """A run whose every block makes one network output (the hourglass's stacks, each giving
    its heatmaps) draws those outputs as one box too: `output heatmaps.0 ... heatmaps.6 x 7`."""
    made: dict[str, list[str]] = {}
    kinds = {b.id: b.kind for b in boxes}
    for e in diagram.edges:
        if e.src in run and kinds.get(e.dst) == "output":
            made.setdefault(e.src, []).append(e.dst)
    if [len(made.get(member, ())) for member in run] != [1] * len(run):
        return
    first = next(b for b in boxes if b.id == made[run[0]][0])
    for member in run[1:]:
        output = made[member][0]
        first.count += 1
        first.last = output
        merged[output] = first.id


def _note_differences(boxes: list[Box], graph: Graph) -> None:
    """Two neighbouring blocks with the same label that are not one run differ inside: name
    the parts one has and the other lacks (a ResNet stage's first block: `with downsample`)."""
    for a, b in zip(boxes, boxes[1:], strict=False):
        if a.kind != "block" or b.kind != "block" or a.text != b.text or a.cluster != b.cluster:
            continue
        parts_a, parts_b = _parts(graph, a.id), _parts(graph, b.id)
        for box, mine, theirs in ((a, parts_a, parts_b), (b, parts_b, parts_a)):
            extra = [p for p in mine if p not in theirs]
            if extra and not box.note:
                box.note = "with " + ", ".join(extra)


def _parts(graph: Graph, scope: str) -> list[str]:
    """The named scopes directly inside a block (`downsample`), by their relative names."""
    children = graph.scopes[scope].children
    return [c[len(scope) + 1:] for c in children if c in graph.scopes]


def _same_block(graph: Graph, keys: dict[str, CallKey], a: Box, b: Box) -> bool:
    if a.kind != "block" or b.kind != "block" or a.cluster != b.cluster:
        return False
    ka, kb = keys.get(a.id), keys.get(b.id)
    return ka is not None and kb is not None and alike(ka, kb)


def _reroute(diagram: Diagram, merged: dict[str, str]) -> None:
    """Edges inside a run disappear; edges leaving its last box leave from the run's box."""
    edges = []
    seen: set[tuple[str, str]] = set()
    for e in diagram.edges:
        src, dst = merged.get(e.src, e.src), merged.get(e.dst, e.dst)
        if src == dst or (src, dst) in seen:
            continue
        seen.add((src, dst))
        e.src, e.dst = src, dst
        edges.append(e)
    diagram.edges = edges
