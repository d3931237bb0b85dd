"""One analysis of one document: its syntax tree, its program, each network it defines
elaborated and checked, and every diagnostic placed in the document.

A document that defines networks is checked as `netdsl check` checks it (every network, with
its `expect` statements); a document that defines only blocks (a library) is parsed and its
values evaluated, as any file that imports it would. A diagnostic in another file (an imported
one) is placed where the document leads to it: the outermost block call in the document, or
else the import statement that reaches the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from netdsl.elaborate import Program, elaborate, load_program
from netdsl.errors import Diagnostic, NetdslError, Span
from netdsl.gc_pause import paused_gc
from netdsl.limits import MAX_NODES
from netdsl.lsp.index import Index
from netdsl.lsp.sources import Sources, canonical
from netdsl.network import Network
from netdsl.syntax import ast

# As `netdsl check`'s: a spec that expands past this many layers is reported rather than
# analysed on every edit (a client may raise it: `maxNodes` in the initialization options).
EDITOR_MAX_NODES = MAX_NODES


@dataclass
class Located:
    """A diagnostic and where it shows in the document (its own span, or where the document
    leads to it)."""

    diagnostic: Diagnostic
    anchor: Span
    elsewhere: bool  # the diagnostic's own span is in another file


@dataclass
class Analysis:
    """Everything known about one version of a document."""

    path: str  # canonical
    text: str
    module: ast.Module | None  # None when the document does not parse
    program: Program | None = None  # None when loading it failed
    networks: list[Network] = field(default_factory=list)
    diagnostics: list[Located] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)  # every imported file's text, as read
    _index: Index | None = None

    @property
    def reusable(self) -> bool:
        """Whether `Sources.fresh(used)` is enough to reuse it: an import that could not be
        found or read may be there now, and reading it is not recorded."""
        return not any(loc.diagnostic.code in ("import", "io") for loc in self.diagnostics)

    @property
    def index(self) -> Index:
        """Where every layer of every network was made (built on first use)."""
        if self._index is None:
            self._index = Index(self.networks)
        return self._index


def analyse(text: str, path: str, sources: Sources,
            max_nodes: int = EDITOR_MAX_NODES) -> Analysis:
    """Analyse the text of the document at `path` (canonical), reading imports via `sources`."""
    reader = sources.reader()
    with paused_gc():
        try:
            module = sources.parse(text, path)
        except NetdslError as exc:
            out = Analysis(path, text, None)
            out.diagnostics = _locate(exc.diagnostics, out, sources)
            return out
        out = Analysis(path, text, module, used=reader.used)
        problems: list[Diagnostic] = []
        try:
            out.program = load_program(text, path, reader=reader)
        except NetdslError as exc:
            problems += exc.diagnostics
        else:
            problems += _networks(out, max_nodes)
    out.diagnostics = _locate(problems, out, sources)
    return out


def _networks(out: Analysis, max_nodes: int) -> list[Diagnostic]:
    """Elaborate and check every network the document defines."""
    problems: list[Diagnostic] = []
    for item in out.module.items:
        if not (isinstance(item, ast.BlockDef) and item.is_network):
            continue
        try:
            network = Network(out.program, elaborate(out.program, item.name, {}, max_nodes),
                              out.path)
            problems += network.check()
            problems += [w for w in network.warnings() if canonical(w.span.path) == out.path]
        except NetdslError as exc:
            problems += exc.diagnostics
            continue
        out.networks.append(network)
    return problems


def _locate(diagnostics: list[Diagnostic], out: Analysis, sources: Sources) -> list[Located]:
    return [_place(d, out, sources) for d in diagnostics]


def _place(diagnostic: Diagnostic, out: Analysis, sources: Sources) -> Located:
    span = diagnostic.span
    if span is not None and canonical(span.path) == out.path:
        return Located(diagnostic, span, False)
    for site, _ in diagnostic.notes:  # block calls, outermost first; import sites
        if site is not None and canonical(site.path) == out.path:
            return Located(diagnostic, site, span is not None)
    if span is not None and out.module is not None:
        target = canonical(span.path)
        for item in out.module.items:
            if isinstance(item, ast.Import) and target in _reached(out.path, item, sources):
                return Located(diagnostic, item.span, True)
    return Located(diagnostic, Span(out.path, 1, 1, 1, 1), span is not None)


def _reached(importer: str, item: ast.Import, sources: Sources) -> set[str]:
    """The files an import statement reads, itself and what it imports in turn."""
    seen: set[str] = set()
    todo = [canonical(str(Path(importer).parent / item.path))]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        text = sources.current(path)
        if text is None:
            continue
        try:
            tree = sources.parse(text, path)
        except NetdslError:
            continue
        todo += [canonical(str(Path(path).parent / i.path)) for i in tree.items
                 if isinstance(i, ast.Import)]
    return seen
