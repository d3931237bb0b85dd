"""What the loader reads while the editor analyses a spec: open buffers before the disk, and
syntax trees cached by content.

The loader (`netdsl.elaborate.loader`) takes every text and tree from a `Reader`; an analysis
passes `Sources.reader()`, which answers from the editor's buffers (else the disk), records every
text it hands out, so the session can tell later whether an analysis still holds, and returns
the tree already made from the same path and text. A tree depends on nothing but its path and
text, and nothing changes a tree once it is made (`netdsl.syntax.ast`), so a tree found by
content is the one a fresh parse would give: the cache cannot serve a stale tree. A tree found
spends the tokens its parse read from the load's budget, as a fresh parse would.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from netdsl.elaborate.loader import Reader, read_source
from netdsl.errors import SOURCES, NetdslError
from netdsl.syntax import ast
from netdsl.syntax.lexer import TokenLimit
from netdsl.syntax.parser import parse

CAPACITY = 64  # trees kept: every file of a large workspace's imports, and then some


def canonical(path: str) -> str:
    """The one name of a file, whatever way an import or a URI spells it."""
    return str(Path(path).resolve())


class Sources:
    """The editor's open buffers, and the syntax trees made so far, by path and text."""

    def __init__(self, capacity: int = CAPACITY):
        self.buffers: dict[str, str] = {}  # canonical path -> the text of an open document
        # (path, text) -> its tree and the tokens its parse read
        self._trees: OrderedDict[tuple[str, str], tuple[ast.Module, int]] = OrderedDict()
        self.capacity = capacity
        self.hits = 0
        self.misses = 0

    def open(self, path: str, text: str) -> None:
        self.buffers[canonical(path)] = text

    def close(self, path: str) -> None:
        self.buffers.pop(canonical(path), None)

    def text(self, path: str) -> str:
        """The text of `path`: its open buffer, else the file (NetdslError if unreadable)."""
        found = self.buffers.get(canonical(path))
        return found if found is not None else read_source(path)

    def current(self, path: str) -> str | None:
        """`text`, or None when the file cannot be read now."""
        try:
            return self.text(path)
        except NetdslError:
            return None

    def parse(self, text: str, path: str, limit: TokenLimit | None = None) -> ast.Module:
        """The syntax tree of `text` read from `path`, parsed once per distinct content."""
        limit = limit or TokenLimit()
        key = (path, text)
        found = self._trees.get(key)
        if found is not None and found[1] <= limit.left:  # else parse: it fails as it should
            self._trees.move_to_end(key)
            self.hits += 1
            SOURCES.add(path, text)  # as `parse` does: messages quote lines from it
            limit.left -= found[1]
            return found[0]
        self.misses += 1
        before = limit.left
        tree = parse(text, path, limit)
        self._trees[key] = (tree, before - limit.left)
        if len(self._trees) > self.capacity:
            self._trees.popitem(last=False)
        return tree

    def reader(self) -> Recording:
        """A reader for one load, through these buffers and trees."""
        return Recording(self)

    def fresh(self, used: dict[str, str]) -> bool:
        """Whether every file still has the text an analysis read."""
        return all(self.current(path) == text for path, text in used.items())


class Recording(Reader):
    """The loader's reader for one analysis: `Sources`' texts and trees; `used` records every
    text handed out (canonical path -> text)."""

    def __init__(self, sources: Sources):
        self.sources = sources
        self.used: dict[str, str] = {}

    def read(self, path: str) -> str:
        text = self.sources.text(path)
        self.used[canonical(path)] = text
        return text

    def parse(self, text: str, path: str, limit: TokenLimit) -> ast.Module:
        return self.sources.parse(text, path, limit)
