"""DOT text of a `Diagram`: a straight, deterministic translation (same diagram, same bytes).

Nothing here depends on dict or set iteration of unordered data: boxes, clusters and edges are
emitted in the diagram's order, which follows the graph's creation order.
"""

from __future__ import annotations

import hashlib

from netdsl.backends.graphviz import palette
from netdsl.backends.graphviz.diagram import Box, Diagram, Edge
from netdsl.backends.graphviz.labels import escape, label, shape_text, tooltip

FONT = "Helvetica"
LEGEND_ID = "legend"


_MAX_QUOTED = 1_000  # Graphviz refuses quoted strings past 16,384 characters


def quote(text: str) -> str:
    """A DOT string; a very long one (a 100,000-character label) is cut, and keeps a digest of
    the whole so that ids stay distinct and the same text gives the same string."""
    if len(text) > _MAX_QUOTED:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[:_MAX_QUOTED // 2]}\u2026{digest}"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(diagram: Diagram, direction: str = "TB", shapes: bool = True,
           legend: bool = True) -> str:
    lines = [f"digraph {quote(diagram.name)} {{"]
    lines += [
        f'  graph [rankdir={direction}, fontname="{FONT}", fontsize=12, labelloc=t, '
        f'label={quote(diagram.title)}, nodesep=0.25, ranksep=0.3, ordering=in, '
        f'bgcolor="white", pad=0.2];',
        f'  node [fontname="{FONT}", fontsize=10, shape=box, style="rounded,filled", '
        f'penwidth=1.0, margin="0.08,0.04", height=0.3];',
        f'  edge [color="{palette.EDGE}", arrowsize=0.6, penwidth=1.0, fontname="{FONT}", '
        f'fontsize=8];',
    ]
    children: dict[str | None, list[str]] = {}
    for cluster in diagram.clusters.values():
        children.setdefault(cluster.parent, []).append(cluster.id)
    boxes_in: dict[str | None, list[Box]] = {}
    for box in diagram.boxes:
        boxes_in.setdefault(box.cluster, []).append(box)
    _emit_frame(lines, diagram, None, children, boxes_in, shapes, "  ",
                _first_positions(diagram))
    for edge in diagram.edges:
        lines.append("  " + _edge(edge))
    if legend:
        lines += _legend(diagram, vertical=direction == "TB")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _emit_frame(lines: list[str], diagram: Diagram, frame: str | None,
                children: dict[str | None, list[str]], boxes_in: dict[str | None, list[Box]],
                shapes: bool, indent: str, first: dict[str, int]) -> None:
    """Boxes and sub-frames in the order of their first layer: Graphviz orders siblings (the
    branches of an Inception block) by declaration, so this keeps them left to right."""
    items: list[tuple[int, Box | str]] = [(first[b.id], b) for b in boxes_in.get(frame, [])]
    items += [(first[c], c) for c in children.get(frame, [])]
    for _, item in sorted(items, key=lambda pair: pair[0]):
        if isinstance(item, Box):
            lines.append(indent + _node(item, shapes))
            continue
        cluster = diagram.clusters[item]
        fill = palette.CLUSTER_FILLS[cluster.level % len(palette.CLUSTER_FILLS)]
        lines.append(f"{indent}subgraph {quote('cluster_' + cluster.id)} {{")
        lines.append(f'{indent}  graph [label=<<b>{escape(cluster.label)}</b>>, labeljust=l, '
                     f'style="rounded,filled", fillcolor="{fill}", '
                     f'color="{palette.CLUSTER_BORDER}", fontsize=10, margin=8];')
        _emit_frame(lines, diagram, cluster.id, children, boxes_in, shapes, indent + "  ", first)
        lines.append(f"{indent}}}")


def _first_positions(diagram: Diagram) -> dict[str, int]:
    """Position of each box, and of each cluster as the position of its first box."""
    first: dict[str, int] = {}
    for index, box in enumerate(diagram.boxes):
        first[box.id] = index
        frame = box.cluster
        while frame is not None and frame not in first:
            first[frame] = index
            frame = diagram.clusters[frame].parent
    return first


def _node(box: Box, shapes: bool) -> str:
    fill, border = palette.colours(box.family)
    attrs = [f"label={label(box, shapes)}", f'fillcolor="{fill}"', f'color="{border}"',
             f"tooltip={quote(tooltip(box))}"]
    if box.kind == "merge" and box.op in ("add", "mul"):
        attrs += ["shape=circle", "width=0.32", "height=0.32", "fixedsize=true", "margin=0"]
    elif box.kind == "merge":
        attrs += ['style="rounded,filled"', "margin=\"0.05,0.02\""]
    elif box.kind == "block":
        attrs += ["penwidth=1.4"]
        if box.count > 1:
            attrs += ['style="rounded,filled,bold"', "peripheries=2"]
    elif box.kind == "input":
        attrs += ['style="rounded,filled,bold"']
    if box.is_output:
        attrs += ["penwidth=2.2"]
    return f"{quote(box.id)} [{', '.join(attrs)}];"


def _edge(edge: Edge) -> str:
    attrs = [f"tooltip={quote(shape_text(edge.shape))}"] if edge.shape else []
    if edge.skip:
        attrs += [f'color="{palette.SKIP_EDGE}"', 'style="dashed"']
    elif edge.ref:
        attrs += [f'color="{palette.REF_EDGE}"', 'style="dotted"', 'arrowhead="odot"']
    text = f"{quote(edge.src)} -> {quote(edge.dst)}"
    return text + (f" [{', '.join(attrs)}];" if attrs else ";")


def _legend(diagram: Diagram, vertical: bool) -> list[str]:
    """One swatch per family in use: a block of three columns beside a top-down diagram (so
    it adds little width), a row above a left-to-right one."""
    cells = []
    for family in diagram.families():
        fill, border = palette.colours(family)
        cells.append(f'<td bgcolor="{fill}" color="{border}" border="1" cellpadding="3">'
                     f'<font point-size="8">{escape(palette.legend_text(family))}</font></td>')
    if any(e.skip for e in diagram.edges):
        cells.append(f'<td border="0"><font point-size="8" color="{palette.SKIP_EDGE}">'
                     f'- - \u25b8 skip</font></td>')
    if any(e.ref for e in diagram.edges):
        cells.append(f'<td border="0"><font point-size="8" color="{palette.REF_EDGE}">'
                     f'\u00b7\u00b7\u00b7 size of</font></td>')
    per_row = 3 if vertical else len(cells)
    rows = "".join("<tr>" + "".join(cells[i:i + per_row]) + "</tr>"
                   for i in range(0, len(cells), per_row))
    table = f'<<table border="0" cellspacing="3" cellborder="1">{rows}</table>>'
    return [f'  {quote(LEGEND_ID)} [shape=plaintext, style="", label={table}];']
