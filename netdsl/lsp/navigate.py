"""Finding one's way in the syntax tree: the word under the cursor, the definition (block,
network, function, value) around a position, the names a body binds, and where a name used at
a position was defined.

Positions here are 1-based lines and columns counted in characters, as spans are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from netdsl.errors import Span
from netdsl.lsp.index import contains
from netdsl.names import NAME_PATTERN
from netdsl.syntax import ast
from netdsl.syntax.tree import walk

_WORD = re.compile(NAME_PATTERN)
_IMPORT = re.compile(r'^\s*import\s+"([^"\\]*)"')


@dataclass(frozen=True)
class Word:
    """An identifier in the text, and the dotted path it ends (`branch1.conv` for `conv`)."""

    text: str
    span: Span
    path: tuple[str, ...]

    @property
    def qualified(self) -> bool:
        return len(self.path) > 1


def word_at(text: str, path: str, line: int, col: int) -> Word | None:
    """The identifier at 1-based (line, col), the cursor touching either end of it."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    source = lines[line - 1]
    for m in _WORD.finditer(source):
        if m.start() + 1 <= col <= m.end() + 1:
            head = re.search(rf"((?:{NAME_PATTERN}|\d+)\.)*$", source[:m.start()])
            parts = tuple(p for p in head.group().split(".") if p) if head else ()
            return Word(m.group(), Span(path, line, m.start() + 1, line, m.end() + 1),
                        parts + (m.group(),))
    return None


def import_at(text: str, line: int) -> str | None:
    """The imported path when `line` is an import statement."""
    lines = text.split("\n")
    if 1 <= line <= len(lines):
        m = _IMPORT.match(lines[line - 1])
        if m:
            return m.group(1)
    return None


def definition_around(module: ast.Module, line: int, col: int) -> ast.Node | None:
    """The top-level item (block, network, def, value) that holds the position."""
    for item in module.items:
        if contains(item.span, line, col):
            return item
    return None


def name_span(span: Span, name: str, text: str) -> Span:
    """Where `name` is first written inside `span` (a definition's own name: the first word
    equal to it after `block`, `network`, `def`, `input` or `for`)."""
    lines = text.split("\n")
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
    for number in range(span.line, min(span.end_line, len(lines)) + 1):
        start = span.col - 1 if number == span.line else 0
        m = pattern.search(lines[number - 1], start)
        if m:
            return Span(span.path, number, m.start() + 1, number, m.end() + 1)
    return span


@dataclass(frozen=True)
class Binding:
    """A name a body or file defines: `kind` is label, value, tensor, param, input, shared,
    loop, function, block or network."""

    name: str
    kind: str
    span: Span  # the whole statement or element
    name_span: Span | None  # the name alone, where the tree knows it
    node: ast.Node


def body_bindings(item: ast.BlockDef) -> list[Binding]:
    """Every name a block's or network's body binds, nested groups and branches included, in
    source order: its parameters, inputs, labels, values, tensors, shared modules, loops."""
    out = [Binding(p.name, "param", p.span, None, p) for p in item.params]
    for node in walk(item):
        out.extend(_binds(node))
    return out


def _binds(node: ast.Node) -> list[Binding]:
    kind = type(node)
    if kind is ast.Element and isinstance(node.label, str):
        return [Binding(node.label, "label", node.span, node.label_span, node)]
    if kind is ast.Assign:
        return [Binding(node.name, "value", node.span, None, node)]
    if kind is ast.Unpack:
        return [Binding(n, "tensor", node.span, s, node)
                for n, s in zip(node.names, node.name_spans, strict=True)]
    if kind is ast.Shared:
        return [Binding(node.name, "shared", node.span, node.name_span, node)]
    if kind is ast.Input:
        return [Binding(node.name, "input", node.span, None, node)]
    if kind in (ast.For, ast.Comprehension):
        return [Binding(node.var, "loop", node.span, None, node)]
    if kind is ast.Def:
        return [Binding(node.name, "function", node.span, None, node)]
    return []


def top_bindings(module: ast.Module) -> list[Binding]:
    """The names a file defines at its top level."""
    out = []
    for item in module.items:
        if isinstance(item, ast.BlockDef):
            out.append(Binding(item.name, "network" if item.is_network else "block", item.span,
                               None, item))
        elif isinstance(item, ast.Def):
            out.append(Binding(item.name, "function", item.span, None, item))
        elif isinstance(item, ast.Assign):
            out.append(Binding(item.name, "value", item.span, None, item))
    return out


def resolve(word: Word, module: ast.Module, modules: list[ast.Module]) -> Binding | None:
    """The definition of the name at `word`: a label or other name of the enclosing body (the
    last one bound before the word, else the first after it), else a top-level name of the
    document or of the files it imports. In a dotted path (`branch1.conv`) the label is looked
    up by its last name."""
    around = definition_around(module, word.span.line, word.span.col)
    if isinstance(around, ast.BlockDef):
        found = _in_body(word, body_bindings(around))
        if found is not None:
            return found
    if word.qualified:
        return None
    for tree in [module, *(m for m in modules if m is not module)]:
        for binding in top_bindings(tree):
            if binding.name == word.text:
                return binding
    return None


def _in_body(word: Word, bindings: list[Binding]) -> Binding | None:
    """The binding of the word's name in a body: the closest one before it, else the first
    after (a `def` or a label used in an `expect` above it)."""
    if word.qualified:
        wanted = [b for b in bindings if b.kind == "label" and b.name == word.text]
    else:
        wanted = [b for b in bindings if b.name == word.text]
    before = [b for b in wanted if (b.span.line, b.span.col) <= (word.span.line, word.span.col)]
    if before:
        return before[-1]
    return wanted[0] if wanted else None


def import_target(importer: str, imported: str) -> str:
    """The file an import statement of `importer` names (relative to its folder)."""
    return str(Path(importer).parent / imported)
