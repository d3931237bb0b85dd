"""What the loader reads while the editor analyses a spec: open buffers before the disk, and
syntax trees cached by content.

The loader (`netdsl.elaborate.loader`) reads an imported file with its `read_source` and parses
it with `parse`, and takes no other source of text. While one analysis runs, `Sources.reading()`
stands in for both: the reader answers from the editor's buffers (else the disk) and records
every text it hands out, so the session can tell later whether an analysis still holds; the
parser returns the tree already made from the same path and text. A tree depends on nothing but
its path and text, and nothing changes a tree once it is made (`netdsl.syntax.ast`), so a tree
found by content is the one a fresh parse would give: the cache cannot serve a stale tree.
Analyses run one at a time on the session's one worker thread, so the stand-ins never meet
another reader. (When the loader takes a source of text as a parameter, this becomes one.)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from netdsl.elaborate import loader
from netdsl.errors import SOURCES, NetdslError
from netdsl.syntax import ast
from netdsl.syntax.parser import parse

_READ = loader.read_source  # the loader's own reader, which `reading` stands in for
CAPACITY = 64  # trees kept: every file of a large workspace's imports, and then some


def canonical(path: str) -> str:
    """The one name of a file, whatever way an import or a URI spells it."""
    return str(Path(path).resolve())


class Sources:
    """The editor's open buffers, and the syntax trees made so far, by path and text."""

    def __init__(self, capacity: int = CAPACITY):
        self.buffers: dict[str, str] = {}  # canonical path -> the text of an open document
        self._trees: OrderedDict[tuple[str, str], ast.Module] = OrderedDict()
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
        return found if found is not None else _READ(path)

    def current(self, path: str) -> str | None:
        """`text`, or None when the file cannot be read now."""
        try:
            return self.text(path)
        except NetdslError:
            return None

    def parse(self, text: str, path: str, *rest: Any) -> ast.Module:
        """The syntax tree of `text` read from `path`, parsed once per distinct content."""
        key = (path, text)
        tree = self._trees.get(key)
        if tree is not None:
            self._trees.move_to_end(key)
            self.hits += 1
            SOURCES.add(path, text)  # as `parse` does: messages quote lines from it
            return tree
        self.misses += 1
        tree = parse(text, path, *rest)
        self._trees[key] = tree
        if len(self._trees) > self.capacity:
            self._trees.popitem(last=False)
        return tree

    @contextmanager
    def reading(self) -> Iterator[dict[str, str]]:
        """Within the block the loader reads through this object; yields the texts it read
        (canonical path -> text), filled as it reads."""
        used: dict[str, str] = {}

        def read(path: str) -> str:
            text = self.text(path)
            used[canonical(path)] = text
            return text

        saved = loader.read_source, loader.parse
        loader.read_source, loader.parse = read, self.parse
        try:
            yield used
        finally:
            loader.read_source, loader.parse = saved

    def fresh(self, used: dict[str, str]) -> bool:
        """Whether every file still has the text an analysis read."""
        return all(self.current(path) == text for path, text in used.items())
