"""Where each layer and block call of the analysed networks was written: source spans to the
dotted names the flat layer graph gives them.

A line of a block's body makes one layer per instantiation of the block (a bottleneck's
`conv2` is 16 layers of ResNet-50), so a span maps to every layer made there, in network
order; the figures of each are `Network.stats().row(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from netdsl.errors import Span
from netdsl.ir import Call, Definition, Node
from netdsl.lsp.sources import canonical
from netdsl.network import Network


@dataclass(frozen=True)
class Made:
    """One layer (`kind` "layer") or scope (a block call: "block"; a labeled group, merge or
    repeat: "group", "merge", "repeat") made at a span, by its dotted name in `network`; or
    one of the items an unlabeled call of an inline block made in its caller's scope ("inline":
    the call has no name of its own, so its figures are the sum of its items, grouped by
    `where`, the caller's prefix)."""

    network: Network
    name: str
    kind: str
    shape: tuple[int, ...]  # of its output (a call's: its first output)
    where: str = ""
    block: str = ""
    item: Node | Call | None = field(default=None, compare=False)  # a layer's or call's
    member: int = 0  # which call of a run
    chain: Chain = field(default=(), compare=False)  # the calls (and members) leading to it


class Index:
    """Spans of one analysis's networks, per file (canonical path)."""

    def __init__(self, networks: list[Network]):
        # canonical path -> (line, col, end line, end col) -> what was made there
        self.spans: dict[str, dict[Coords, list[Made]]] = {}
        for network in networks:
            self._inherited: dict[int, int] = {id(network.top): 0}
            self._definition(network, network.top, "", ())

    def _definition(self, network: Network, d: Definition, prefix: str, chain: Chain) -> None:
        """Index `d`'s items and scopes as they appear under `prefix`, and its calls'."""
        for local, scope in d.scopes.items():
            if scope.span is not None:
                shape = d.values.get(scope.output, ()) if scope.output else ()
                self._add(scope.span, Made(network, prefix + local, scope.kind, shape))
        own = self._inherited[id(d)]  # the call sites that lead to `d`, not inside it
        for item in d.items.values():
            is_call = isinstance(item, Call)
            names = [prefix + m for m in item.members()] if is_call else [prefix + item.name]
            kind = "block" if is_call else "layer"
            shape = d.values.get(item.outputs[0], ()) if is_call and item.outputs \
                else item.meta.get("shape", ()) if not is_call else ()
            for k, name in enumerate(names):
                if item.span is not None:
                    self._add(item.span, Made(network, name, kind, shape, item=item, member=k,
                                              chain=chain))
                for block, site in item.call_sites[own:]:  # inline calls inside `d`
                    if site is not None and _inline(network, block):
                        self._add(site, Made(network, name, "inline", shape, prefix, block,
                                             item, k, chain))
            if is_call:
                callee = item.definition
                self._inherited.setdefault(id(callee), len(item.call_sites) + 1)
                for k, name in enumerate(names):
                    self._definition(network, callee, name + ".", chain + ((item, k),))

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
Chain = tuple[tuple[Call, int], ...]


def _inline(network: Network, block: str) -> bool:
    found = network.program.blocks.get(block)
    return found is not None and found.inline


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
