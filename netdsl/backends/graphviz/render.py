"""Turning DOT text into SVG, PNG or PDF with the `dot` program.

`dot`'s layout time grows fast with the boxes and with the ranks that long edges cross (it
splits such an edge into one segment per rank), so a 700-box DAG whose edges skip many ranks
runs for minutes. Before running it, `layout_size` measures both from the DOT text; past
`MAX_LAYOUT` the diagram is refused with a hint to collapse blocks (`--depth`). `dot` itself
runs under a time limit, `DOT_SECONDS`. The command line is built by the graphviz package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict, deque

from netdsl.errors import Diagnostic, NetdslError, Span
from netdsl.limits import DOT_SECONDS, MAX_LAYOUT

FORMATS = ("svg", "png", "pdf", "dot")
BINARY_FORMATS = ("png", "pdf")  # the others are text
INSTALL_HELP = ("install Graphviz, which provides `dot`: `sudo apt-get install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install -c conda-forge "
                "graphviz`, or https://graphviz.org/download/; or write a .dot file "
                "(-o diagram.dot), which needs no Graphviz")
DEPTH_HELP = ("collapse blocks into boxes with --depth N (--depth 1 draws the top level only), "
              "or write a .dot file (-o diagram.dot)")

_ID = r'"(?:[^"\\]|\\.)*"'
_NODE = re.compile(rf"^\s*({_ID})\s*\[", re.MULTILINE)
_EDGE = re.compile(rf"^\s*({_ID})\s*->\s*({_ID})", re.MULTILINE)


def dot_missing() -> NetdslError:
    return NetdslError(Diagnostic("the Graphviz program `dot` was not found on PATH", None,
                                  "usage", help=INSTALL_HELP))


def layout_size(dot_text: str) -> tuple[int, int]:
    """The boxes of netdsl's DOT text, and the segments its edges add: an edge from rank r to
    rank s (ranks by longest path, as `dot` places a DAG) passes s - r - 1 ranks."""
    boxes = _NODE.findall(dot_text)
    edges = _EDGE.findall(dot_text)
    after: dict[str, list[str]] = defaultdict(list)
    waiting: dict[str, int] = defaultdict(int)
    for src, dst in edges:
        after[src].append(dst)
        waiting[dst] += 1
    rank = dict.fromkeys(boxes, 0)
    ready = deque(b for b in dict.fromkeys([*boxes, *after]) if waiting[b] == 0)
    while ready:
        box = ready.popleft()
        for nxt in after[box]:
            rank[nxt] = max(rank.get(nxt, 0), rank.get(box, 0) + 1)
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    segments = sum(max(rank.get(dst, 0) - rank.get(src, 0) - 1, 0) for src, dst in edges)
    return len(boxes), segments


def render_bytes(dot_text: str, fmt: str, source: str | None = None) -> bytes:
    """Lay out and draw `dot_text` as `fmt` (svg, png, pdf); problems are reported at the spec
    file `source` when given."""
    if fmt not in FORMATS or fmt == "dot":
        raise ValueError(fmt)
    try:
        return _render(dot_text, fmt)
    except NetdslError as exc:
        for diag in exc.diagnostics:
            diag.span = diag.span or (Span.file(source) if source else None)
        raise


def _render(dot_text: str, fmt: str) -> bytes:
    boxes, segments = layout_size(dot_text)
    if boxes + segments > MAX_LAYOUT:
        raise NetdslError(Diagnostic(
            f"the diagram is too large to lay out: {boxes:,} boxes and {segments:,} edge "
            f"segments, more than the {MAX_LAYOUT:,} in all that Graphviz is given", None,
            "limit", help=DEPTH_HELP))
    if shutil.which("dot") is None:
        raise dot_missing()
    from graphviz.backend.dot_command import command
    try:
        done = subprocess.run(command("dot", fmt), input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=DOT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise NetdslError(Diagnostic(f"Graphviz did not finish the layout in {DOT_SECONDS} s",
                                     None, "limit", help=DEPTH_HELP)) from None
    except OSError as exc:
        if shutil.which("dot") is None:
            raise dot_missing() from None
        raise NetdslError(Diagnostic(f"cannot run Graphviz: {exc.strerror}", None,
                                     "io")) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise NetdslError(Diagnostic(f"Graphviz failed to draw the diagram: {detail}", None,
                                     "io"))
    return done.stdout
