"""The answer to each request, in the protocol's types: the features' plain results turned into
`lsprotocol` values, positions converted between spans (1-based lines and columns in
characters) and the client's units (0-based, UTF-16 by default) against the text they are in.

Runs on the analysis thread (see `server`); every method takes canonical paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.workspace.position_codec import PositionCodec

from netdsl.errors import NetdslError, Span
from netdsl.lsp.analysis import Located
from netdsl.lsp.completion import Item, complete
from netdsl.lsp.hints import shape_hints
from netdsl.lsp.hover import hover
from netdsl.lsp.session import Session
from netdsl.lsp.sources import canonical
from netdsl.lsp.symbols import Symbol, definition, outline
from netdsl.syntax.formatter import format_source

_SEVERITY = {"error": types.DiagnosticSeverity.Error,
             "warning": types.DiagnosticSeverity.Warning}
_SYMBOL_KINDS = {"network": types.SymbolKind.Module, "block": types.SymbolKind.Class,
                 "function": types.SymbolKind.Function, "value": types.SymbolKind.Constant,
                 "input": types.SymbolKind.Variable, "shared": types.SymbolKind.Object,
                 "label": types.SymbolKind.Field}
_ITEM_KINDS = {"argument": (types.CompletionItemKind.Property, "0"),
               "field": (types.CompletionItemKind.Field, "0"),
               "label": (types.CompletionItemKind.Variable, "1"),
               "value": (types.CompletionItemKind.Constant, "2"),
               "block": (types.CompletionItemKind.Class, "3"),
               "operator": (types.CompletionItemKind.Function, "4"),
               "function": (types.CompletionItemKind.Method, "5"),
               "keyword": (types.CompletionItemKind.Keyword, "6")}


class Answers:
    """The session's documents, seen through the protocol."""

    def __init__(self, session: Session, codec: PositionCodec | None = None):
        self.session = session
        self.codec = codec or PositionCodec()

    # ------------------------------------------------------------ positions

    def lines(self, path: str) -> list[str]:
        text = self.session.texts.get(path)
        if text is None:
            text = self.session.sources.current(path) or ""
        return text.split("\n")

    def position(self, path: str, position: types.Position) -> tuple[int, int]:
        """A client position as a 1-based (line, column in characters)."""
        at = self.codec.position_from_client_units(self.lines(path), position)
        return at.line + 1, at.character + 1

    def range(self, span: Span, path: str | None = None) -> types.Range:
        """A span as a client range (in the lines of the file it is in)."""
        lines = self.lines(path or span.path)
        raw = types.Range(types.Position(max(span.line - 1, 0), max(span.col - 1, 0)),
                          types.Position(max(span.end_line - 1, 0), max(span.end_col - 1, 0)))
        return self.codec.range_to_client_units(lines, raw)

    def location(self, path: str, span: Span | None) -> types.Location:
        zero = types.Range(types.Position(0, 0), types.Position(0, 0))
        return types.Location(from_fs_path(path), self.range(span, path) if span else zero)

    # ------------------------------------------------------------ diagnostics

    def diagnostics(self, path: str) -> list[types.Diagnostic]:
        analysis = self.session.analysis(path)
        return [self.diagnostic(loc, path) for loc in analysis.diagnostics]

    def diagnostic(self, loc: Located, path: str) -> types.Diagnostic:
        d = loc.diagnostic
        message = d.message
        related = []
        if loc.elsewhere and d.span is not None:
            message = f"{_relative(d.span, path)}: {message}"
            related.append(types.DiagnosticRelatedInformation(
                self.location(canonical(d.span.path), d.span), d.message))
        for site, note in d.notes:
            message += f"\nnote: {note}"
            if site is not None:
                related.append(types.DiagnosticRelatedInformation(
                    self.location(canonical(site.path), site), note))
        if d.help:
            message += f"\nhelp: {d.help}"
        return types.Diagnostic(self.range(loc.anchor, path), message,
                                severity=_SEVERITY[d.severity], code=d.code,
                                source="netdsl", related_information=related or None)

    # ------------------------------------------------------------ requests

    def hover(self, path: str, position: types.Position) -> types.Hover | None:
        line, col = self.position(path, position)
        analysis = self.session.analysis(path)
        found = hover(analysis, self.session.places(path), self.session.sources, line, col)
        if found is None:
            return None
        text, span = found
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text),
                           self.range(span, path) if span else None)

    def definition(self, path: str, position: types.Position) -> types.Location | None:
        line, col = self.position(path, position)
        known = self.session.analysis(path)
        if known.module is None:
            known = self.session.known(path) or known
        if known.module is None:
            return None
        modules = list(known.program.modules.values()) if known.program else []
        target = definition(known.module, modules, self.session.texts[path], path, line, col,
                            self.session.sources)
        return self.location(target.path, target.span) if target else None

    def symbols(self, path: str) -> list[types.DocumentSymbol]:
        known = self.session.analysis(path)
        if known.module is None:
            known = self.session.known(path) or known
        if known.module is None:
            return []
        return [self.symbol(s, path) for s in outline(known.module, known.text)]

    def symbol(self, s: Symbol, path: str) -> types.DocumentSymbol:
        return types.DocumentSymbol(s.name, _SYMBOL_KINDS[s.kind], self.range(s.span, path),
                                    self.range(s.name_span, path), detail=s.detail or None,
                                    children=[self.symbol(c, path) for c in s.children] or None)

    def completion(self, path: str, position: types.Position) -> types.CompletionList:
        line, col = self.position(path, position)
        self.session.analysis(path)
        items = complete(self.session.texts[path], line, col, self.session.known(path))
        return types.CompletionList(False, [_item(i) for i in items])

    def formatting(self, path: str) -> list[types.TextEdit] | None:
        """The whole document in `netdsl fmt`'s layout, or None when it does not parse (its
        diagnostics say why)."""
        text = self.session.texts[path]
        try:
            formatted = format_source(text, path)
        except NetdslError:
            return None
        if formatted == text:
            return []
        lines = text.split("\n")
        end = self.codec.position_to_client_units(
            lines, types.Position(len(lines) - 1, len(lines[-1])))
        return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]

    def inlay_hints(self, path: str, within: types.Range) -> list[types.InlayHint]:
        first = self.position(path, within.start)[0]
        last = self.position(path, within.end)[0]
        self.session.analysis(path)
        lines = self.lines(path)
        out = []
        for line, label in shape_hints(self.session.places(path), path, first, last).items():
            end = self.codec.position_to_client_units(
                lines, types.Position(line - 1, len(lines[line - 1])))
            out.append(types.InlayHint(end, label, kind=types.InlayHintKind.Type,
                                       padding_left=True))
        return out


def _item(item: Item) -> types.CompletionItem:
    kind, order = _ITEM_KINDS[item.kind]
    doc = types.MarkupContent(types.MarkupKind.Markdown, item.documentation) \
        if item.documentation else None
    return types.CompletionItem(item.label, kind=kind, detail=item.detail or None,
                                documentation=doc, insert_text=item.insert,
                                sort_text=f"{order}{item.label}")


def _relative(span: Span, path: str) -> str:
    """The span's place, its file relative to the document's folder."""
    where = os.path.relpath(canonical(span.path), Path(path).parent)
    return f"{where}:{span.line}:{span.col}"
