"""The outline of a document (networks, blocks, functions, values, and the labels of each body,
nested as the labeled groups nest), and where a name or an import leads: the same walk over
the syntax tree, as plain records the server turns into the protocol's types."""

from __future__ import annotations

from dataclasses import dataclass, field

from netdsl.errors import Span
from netdsl.lsp.navigate import Word, import_at, import_target, name_span, resolve, word_at
from netdsl.lsp.sources import Sources, canonical
from netdsl.syntax import ast


@dataclass
class Symbol:
    """One entry of the outline: `kind` is network, block, function, value, input, shared or
    label."""

    name: str
    kind: str
    span: Span
    name_span: Span
    detail: str = ""
    children: list[Symbol] = field(default_factory=list)


def outline(module: ast.Module, text: str) -> list[Symbol]:
    """The document's symbols, in source order."""
    out = []
    for item in module.items:
        if isinstance(item, ast.BlockDef):
            kind = "network" if item.is_network else "block"
            detail = "(" + ", ".join(p.name for p in item.params) + ")"
            out.append(Symbol(item.name, kind, item.span, name_span(item.span, item.name, text),
                              detail, _labels(item.body, text)))
        elif isinstance(item, (ast.Def, ast.Assign)):
            kind = "function" if isinstance(item, ast.Def) else "value"
            out.append(Symbol(item.name, kind, item.span, name_span(item.span, item.name, text)))
    return out


def _labels(statements: tuple, text: str) -> list[Symbol]:
    """The labeled elements, inputs and shared modules directly in `statements` (through
    chains, branches and loops, which name nothing), each with the labels inside it."""
    out: list[Symbol] = []
    for node in statements:
        out.extend(_symbols(node, text))
    return out


def _symbols(node: object, text: str) -> list[Symbol]:
    kind = type(node)
    if kind is ast.Input:
        return [Symbol(node.name, "input", node.span, name_span(node.span, node.name, text))]
    if kind is ast.Shared:
        return [Symbol(node.name, "shared", node.span, node.name_span)]
    if kind is ast.Element and isinstance(node.label, str):
        return [Symbol(node.label, "label", node.span, node.label_span or node.span, "",
                       _inside(node.value, text))]
    return _inside(node, text)


def _inside(node: object, text: str) -> list[Symbol]:
    """The symbols inside any other node: its statements, chain elements, branches."""
    out: list[Symbol] = []
    if isinstance(node, ast.Chain):
        for element in node.elements:
            out.extend(_symbols(element, text))
    elif isinstance(node, ast.Element):
        out.extend(_inside(node.value, text))
    elif isinstance(node, (ast.Group, ast.Merge, ast.For)):
        out.extend(_labels(node.body, text))
    elif isinstance(node, ast.If):
        for _, body in node.branches:
            out.extend(_labels(body, text))
        out.extend(_labels(node.otherwise or (), text))
    elif isinstance(node, ast.Unpack):
        out.extend(_inside(node.value, text))
    return out


@dataclass(frozen=True)
class Target:
    """Where a definition is: a file, and the span in it (None: the file itself)."""

    path: str
    span: Span | None


def definition(module: ast.Module, modules: list[ast.Module], text: str, path: str,
               line: int, col: int, sources: Sources) -> Target | None:
    """Where the name or import at 1-based (line, col) is defined."""
    imported = import_at(text, line)
    if imported is not None:
        return Target(canonical(import_target(path, imported)), None)
    word: Word | None = word_at(text, path, line, col)
    if word is None:
        return None
    binding = resolve(word, module, modules)
    if binding is None:
        return None
    where = canonical(binding.span.path)
    if binding.name_span is not None:
        return Target(where, binding.name_span)
    source = text if where == path else sources.current(where) or ""
    return Target(where, name_span(binding.span, binding.name, source))
