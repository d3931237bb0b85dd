"""DOT text of a `Diagram`: a straight, deterministic translation (same diagram, same bytes).

Nothing here depends on dict or set iteration of unordered data: boxes, clusters and edges are
emitted in the diagram's order, which follows the graph's creation order.
"""

from __future__ import annotations

import hashlib

from netdsl.backends.graphviz import palette
from netdsl.backends.graphviz.diagram import Box, Diagram, Edge, Options
from netdsl.backends.graphviz.labels import escape, label, tooltip
from netdsl.notation import shape_text

FONT = "Helvetica"
LEGEND_ID = "legend"
PAD = 0.2  # inches of white around the drawing


_MAX_QUOTED = 1_000  # Graphviz refuses quoted strings past 16,384 characters


def quote(text: str) -> str:
    """A DOT string; a very long one (a 100,000-character label) is cut, and keeps a digest of
    the whole so that ids stay distinct and the same text gives the same string."""
    if len(text) > _MAX_QUOTED:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        text = f"{text[:_MAX_QUOTED // 2]}\u2026{digest}"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(diagram: Diagram, options: Options | None = None, legend: bool = True) -> str:
    """The DOT text; a U (diagram.layout "u") is drawn top to bottom whatever the direction."""
    options = options or Options()
    u_shape = diagram.layout == "u"
    direction = "TB" if u_shape else options.direction
    shapes = options.shapes
    lines = [f"digraph {quote(diagram.name)} {{"]
    lines += [
        f'  graph [rankdir={direction}, fontname="{FONT}", fontsize=12, labelloc=t, '
        f'label={quote(diagram.title)}, nodesep=0.2, ranksep=0.16, ordering=in, '
        f'bgcolor="white", pad={PAD}];',
        f'  node [fontname="{FONT}", fontsize=10, shape=box, style="rounded,filled", '
        f'penwidth=1.0, margin="0.1,0.03", height=0.25];',
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
                _first_positions(diagram), _branch_heads(diagram))
    upward = set(diagram.decoder) if u_shape else set()
    bottom = diagram.encoder[-1] if u_shape else None
    for edge in diagram.edges:
        lines.append("  " + _edge(edge, options.edge_shapes, upward, bottom))
    if u_shape:
        lines += _u_ranks(diagram)
    if legend:
        lines += _legend(diagram, vertical=direction == "TB")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _emit_frame(lines: list[str], diagram: Diagram, frame: str | None,
                children: dict[str | None, list[str]], boxes_in: dict[str | None, list[Box]],
                shapes: bool, indent: str, first: dict[str, int],
                heads: dict[str, list[list[str]]]) -> None:
    """Boxes and sub-frames in the order of their first layer (Graphviz orders sibling
    frames, such as GoogLeNet's branches, by declaration), then the order of the branches of
    each merge in the frame (`heads`)."""
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
                     f'color="{palette.CLUSTER_BORDER}", fontsize=10, margin=5];')
        _emit_frame(lines, diagram, cluster.id, children, boxes_in, shapes, indent + "  ", first,
                    heads)
        for row in heads.get(item, []):
            chain = " -> ".join(quote(h) for h in row)
            lines.append(f"{indent}  {{rank=same; {chain} [style=invis];}}")
        lines.append(f"{indent}}}")


def _branch_heads(diagram: Diagram) -> dict[str, list[list[str]]]:
    """For each frame, the first box of each branch of the concatenations in it, in the order
    of the concatenation's inputs: drawn on one rank, chained by invisible edges, they keep
    Graphviz from reordering Inception-v3's branches. A branch's first box is the earliest of
    the boxes in the frame that feed that input of the merge and no other; none of them feeds
    another, so they can share a rank."""
    ins: dict[str, list[str]] = {}
    for e in diagram.edges:
        ins.setdefault(e.dst, []).append(e.src)
    where = {b.id: b.cluster for b in diagram.boxes}
    order = {b.id: i for i, b in enumerate(diagram.boxes)}
    heads: dict[str, list[list[str]]] = {}
    for merge in diagram.boxes:
        sources = ins.get(merge.id, [])
        if merge.kind != "merge" or merge.op in ("add", "mul") or merge.cluster is None \
                or len(sources) < 2:
            continue
        feeds = [_ancestors(src, ins, where, merge.cluster) for src in sources]
        row = []
        for k, mine in enumerate(feeds):
            others = set().union(*(f for j, f in enumerate(feeds) if j != k))
            only = [b for b in mine if b not in others]
            if only:
                row.append(min(only, key=order.__getitem__))
        if len(row) >= 2 and len(set(row)) == len(row):
            heads.setdefault(merge.cluster, []).append(row)
    return heads


def _ancestors(box: str, ins: dict[str, list[str]], where: dict[str, str | None],
               frame: str) -> set[str]:
    """`box` and the boxes feeding it, within the frame `frame` (its sub-frames included)."""
    found: set[str] = set()
    todo = [box]
    while todo:
        b = todo.pop()
        if b in found or b not in where or not _inside(where[b], frame):
            continue
        found.add(b)
        todo.extend(ins.get(b, []))
    return found


def _inside(cluster: str | None, frame: str) -> bool:
    return cluster is not None and (cluster == frame or cluster.startswith(frame + "."))


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
    elif box.kind in ("input", "output"):
        attrs += ['style="rounded,filled,bold"']
    if box.is_output:
        attrs += ["penwidth=2.2"]
    return f"{quote(box.id)} [{', '.join(attrs)}];"


def _edge(edge: Edge, shapes: bool, upward: set[str], bottom: str | None) -> str:
    """An edge; into a U's decoder (`upward`) from the decoder or the U's `bottom`, written
    from its head to its tail and drawn backwards, so that Graphviz ranks the decoder bottom to
    top; a skip across the U leaves the ranking alone."""
    shape = shape_text(edge.shape, "times")
    attrs = [f"tooltip={quote(shape)}"] if edge.shape else []
    if shapes and edge.shape:
        attrs.append(f"label={quote(shape)}")
    if edge.skip:
        attrs += [f'color="{palette.SKIP_EDGE}"', 'style="dashed"']
    elif edge.ref:
        attrs += [f'color="{palette.REF_EDGE}"', 'style="dotted"', 'arrowhead="odot"']
    src, dst = edge.src, edge.dst
    if edge.dst in upward and (edge.src in upward or edge.src == bottom):
        src, dst = dst, src
        attrs.append("dir=back")
    elif upward and (edge.dst in upward) != (edge.src in upward):
        attrs.append("constraint=false")
    text = f"{quote(src)} -> {quote(dst)}"
    return text + (f" [{', '.join(attrs)}];" if attrs else ";")


def _u_ranks(diagram: Diagram) -> list[str]:
    """Each level of a U on one rank: the encoder's box beside the decoder's."""
    return [f"  {{rank=same; {quote(a)}; {quote(b)};}}" for a, b in diagram.pairs]


def _legend(diagram: Diagram, vertical: bool) -> list[str]:
    """One swatch per family in use: a block of three columns beside a top-down diagram (so
    it adds little width), a row above a left-to-right one."""
    cells = []
    for family in diagram.families():
        ops = list(dict.fromkeys(b.op for b in diagram.boxes if b.family == family))
        fill, border = palette.colours(family)
        cells.append(f'<td bgcolor="{fill}" color="{border}" border="1" cellpadding="3">'
                     f'<font point-size="8">{escape(palette.legend_text(family, ops))}</font></td>')
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
