"""The open documents and their analyses, kept between edits.

What is kept: each open document's latest analysis (its networks, the index of where each layer
was made, the statistics once asked for), and, in `Sources`, the syntax tree of every file read,
by path and content. An analysis is used again only while the document's text is the one it
analysed and every file it imported still reads the same (open buffers first, else the disk,
re-read at each use); otherwise the document is analysed again, so an edited import is never
answered from the old one. Editing a document also analyses again the open documents that
import it, and republishes their diagnostics.

Every method runs on the server's one analysis thread (see `server`), so nothing here is shared
between threads.
"""

from __future__ import annotations

from netdsl.lsp.analysis import EDITOR_MAX_NODES, Analysis, analyse
from netdsl.lsp.index import Places
from netdsl.lsp.sources import Sources, canonical


class Session:
    """Open documents by canonical path."""

    def __init__(self, max_nodes: int = EDITOR_MAX_NODES):
        self.sources = Sources()
        self.max_nodes = max_nodes
        self.texts: dict[str, str] = {}  # the open documents' latest texts
        self.analyses: dict[str, Analysis] = {}
        self.parsed: dict[str, Analysis] = {}  # the latest analysis whose document parsed
        self.runs = 0  # analyses made (a test counts them)

    def update(self, path: str, text: str) -> list[str]:
        """A document opened or changed: analyse it and the open documents that import it;
        the paths whose diagnostics may have changed."""
        path = canonical(path)
        self.texts[path] = text
        self.sources.open(path, text)
        changed = [path]
        self.analysis(path)
        for other in list(self.texts):
            if other != path and path in self.analyses.get(other, _EMPTY).used:
                self.analysis(other)
                changed.append(other)
        return changed

    def is_open(self, path: str) -> bool:
        return canonical(path) in self.texts

    def close(self, path: str) -> None:
        path = canonical(path)
        for table in (self.texts, self.analyses, self.parsed):
            table.pop(path, None)
        self.sources.close(path)

    def analysis(self, path: str) -> Analysis:
        """The analysis of the document's latest text, made again unless still current."""
        path = canonical(path)
        text = self.texts[path]
        found = self.analyses.get(path)
        if found is not None and found.text == text and found.reusable \
                and self.sources.fresh(found.used):
            return found
        found = analyse(text, path, self.sources, self.max_nodes)
        self.runs += 1
        self.analyses[path] = found
        if found.module is not None:
            self.parsed[path] = found
        return found

    def places(self, path: str) -> Places:
        """The layers made in a document: by its own networks, and by those of the other open
        documents that import it (their analyses brought up to date first)."""
        path = canonical(path)
        own = self.analysis(path)
        indexes = [own.index]
        for other in list(self.texts):
            if other != path and path in self.analyses.get(other, _EMPTY).used:
                theirs = self.analysis(other)
                if theirs.used.get(path) == own.text:
                    indexes.append(theirs.index)
        return Places(indexes)

    def known(self, path: str) -> Analysis | None:
        """The latest analysis of the document that parsed (for names while a line is half
        written)."""
        return self.parsed.get(canonical(path))


_EMPTY = Analysis("", "", None)
