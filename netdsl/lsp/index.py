"""Where each layer and block call of the analysed networks was written: source spans to the
dotted names the flat layer graph gives them.

A line of a block's body makes one layer per instantiation of the block (a bottleneck's
`conv2` is 16 layers of ResNet-50), so a span maps to every layer made there, in network
order; the figures of each are `Network.stats().row(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from netdsl.errors import Span
from netdsl.lsp.sources import canonical
from netdsl.network import Network


@dataclass(frozen=True)
class Made:
    """One layer (`kind` "layer") or scope (a block call: "block"; a labeled group, merge or
    repeat: "group", "merge", "repeat") made at a span, by its dotted name in `network`."""

    network: Network
    name: str
    kind: str


class Index:
    """Spans of one analysis's networks, per file (canonical path)."""

    def __init__(self, networks: list[Network]):
        # canonical path -> (line, col, end line, end col) -> what was made there
        self.spans: dict[str, dict[Coords, list[Made]]] = {}
        for network in networks:
            graph = network.graph
            for node in graph:
                if node.span is not None:
                    self._add(node.span, Made(network, node.name, "layer"))
            for scope in graph.scopes.values():
                if scope.span is not None:
                    self._add(scope.span, Made(network, scope.name, scope.kind))

    def _add(self, span: Span, made: Made) -> None:
        self.spans.setdefault(_canonical(span.path), {}).setdefault(coords(span), []).append(made)

    def at(self, path: str, line: int, col: int) -> tuple[Span | None, list[Made]]:
        """The innermost span of `path` around 1-based (line, col), and what was made there."""
        best: Coords | None = None
        for span in self.spans.get(path, ()):
            if _inside(span, line, col) and (best is None or _size(span) < _size(best)):
                best = span
        if best is None:
            return None, []
        return Span(path, *best), self.spans[path][best]

    def made(self, path: str, span: Span) -> list[Made]:
        return self.spans.get(path, {}).get(coords(span), [])

    def line_ends(self, path: str) -> dict[int, list[Made]]:
        """For each line, what the last element ending on it made (its output is the line's
        output): the span that ends last on the line, and of those the outermost."""
        last: dict[int, Coords] = {}
        for span in self.spans.get(path, ()):
            end_line, end_col = span[2], span[3]
            seen = last.get(end_line)
            if seen is None or (end_col, -_size(span)[0], -_size(span)[1]) > \
                    (seen[3], -_size(seen)[0], -_size(seen)[1]):
                last[end_line] = span
        return {line: self.spans[path][span] for line, span in sorted(last.items())}


class Places:
    """The indexes that know a file: its own analysis's, and those of the open documents that
    import it (a library's lines show the figures of the networks that use them)."""

    def __init__(self, indexes: list[Index]):
        self.indexes = indexes

    def at(self, path: str, line: int, col: int) -> tuple[Span | None, list[Made]]:
        best: Span | None = None
        for index in self.indexes:
            span, _ = index.at(path, line, col)
            if span is not None and (best is None or _size(coords(span)) < _size(coords(best))):
                best = span
        return best, (self.made(path, best) if best is not None else [])

    def made(self, path: str, span: Span) -> list[Made]:
        return [m for index in self.indexes for m in index.made(path, span)]

    def line_ends(self, path: str) -> dict[int, list[Made]]:
        out: dict[int, list[Made]] = {}
        for index in self.indexes:
            for line, made in index.line_ends(path).items():
                out.setdefault(line, []).extend(made)
        return out


def contains(span: Span, line: int, col: int) -> bool:
    """Whether 1-based (line, col) is inside `span`, its end included (a cursor right after a
    word is on it)."""
    return (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)


Coords = tuple[int, int, int, int]


def coords(span: Span) -> Coords:
    """A span's position without its path (files are compared by canonical path)."""
    return span.line, span.col, span.end_line, span.end_col


def _inside(c: Coords, line: int, col: int) -> bool:
    return (c[0], c[1]) <= (line, col) <= (c[2], c[3])


def _size(c: Coords) -> tuple[int, int]:
    return c[2] - c[0], c[3] - c[1]


@lru_cache(maxsize=1024)
def _canonical(path: str) -> str:
    return canonical(path)
