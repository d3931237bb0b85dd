"""Completion: what may be written at the cursor.

After `in.` the fields of a block's input; after a label and a dot the figures and sizes of
that layer (as `expect` reads them); inside the parentheses of an operator or block call its
keyword arguments first; everywhere the labels and values bound above the cursor in the
enclosing body, the blocks of the program, the operators, the builtin functions and keywords.
The names come from the last analysis whose document parsed, so they stay while a line is
half written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netdsl.elaborate.builtins import BUILTINS
from netdsl.elaborate.values import TENSOR_ATTRIBUTES
from netdsl.lsp.analysis import Analysis
from netdsl.lsp.index import contains
from netdsl.lsp.navigate import Binding, body_bindings, definition_around, top_bindings
from netdsl.names import NAME_PATTERN
from netdsl.ops import REGISTRY
from netdsl.syntax import ast
from netdsl.syntax.keywords import KEYWORDS

FIGURES = ("params", "buffers", "macs", "flops", "connections", "output", "rf")
_IN_FIELD = re.compile(r"(?<![A-Za-z0-9_])in\.([A-Za-z_]*)$")
_LABEL_FIELD = re.compile(rf"({NAME_PATTERN})\.([A-Za-z_]*)$")


@dataclass(frozen=True)
class Item:
    """One completion: `kind` is keyword, operator, block, function, label, value, field or
    argument (the server maps it to the protocol's kinds)."""

    label: str
    kind: str
    detail: str = ""
    documentation: str = ""
    insert: str | None = None


def complete(text: str, line: int, col: int, known: Analysis | None) -> list[Item]:
    """The items for 1-based (line, col) of `text`; `known` is the last analysis of the
    document that parsed (its tree and program give the names)."""
    lines = text.split("\n")
    before = lines[line - 1][:col - 1] if 1 <= line <= len(lines) else ""
    if _IN_FIELD.search(before):
        return [Item(f, "field", "a size of the block's input") for f in TENSOR_ATTRIBUTES]
    dotted = _LABEL_FIELD.search(before)
    if dotted and known is not None and _is_label(known, dotted.group(1), line):
        return [Item(f, "field", f"{dotted.group(1)}.{f}") for f in (*FIGURES,
                                                                      *TENSOR_ATTRIBUTES)]
    if dotted or re.search(r"[0-9]\.$", before):
        return []
    offset = sum(len(x) + 1 for x in lines[:line - 1]) + col - 1
    items = _arguments(_open_call(text[:offset]), known)
    items += _names(known, line, col) + _operators() + _functions() + _keywords()
    return items


def _is_label(known: Analysis, name: str, line: int) -> bool:
    if known.module is None:
        return False
    around = definition_around(known.module, line, 1)
    return isinstance(around, ast.BlockDef) and any(
        b.kind == "label" and b.name == name for b in body_bindings(around))


def _open_call(text: str) -> str | None:
    """The name before the innermost `(` still open at the end of `text` (strings and comments
    skipped), or None."""
    code = re.sub(r'"([^"\\\n]|\\.)*"|#[^\n]*', "", text)
    stack: list[str | None] = []
    for m in re.finditer(rf"({NAME_PATTERN})?\s*([(\[{{])|([)\]}}])", code):
        if m.group(3):
            if stack:
                stack.pop()
        else:
            stack.append(m.group(1) if m.group(2) == "(" else None)
    return stack[-1] if stack else None


def _arguments(call: str | None, known: Analysis | None) -> list[Item]:
    """The keyword arguments of the operator or block being called."""
    if call is None:
        return []
    cls = REGISTRY.get(call)
    if cls is not None:
        out = []
        for f in cls.fields():
            alias = f.metadata.get("alias")
            doc = f.metadata.get("doc", "")
            out.append(Item(f"{f.name}=", "argument", cls.signature(), doc, f"{f.name}="))
            if alias:
                out.append(Item(f"{alias}=", "argument", f"{f.name} ({cls.name})", doc,
                                f"{alias}="))
        return out
    block = _blocks(known).get(call)
    if block is None:
        return []
    return [Item(f"{p.name}=", "argument", f"{p.name}: {p.type}" if p.type else p.name,
                 insert=f"{p.name}=") for p in block.params]


def _blocks(known: Analysis | None) -> dict[str, ast.BlockDef]:
    if known is None:
        return {}
    if known.program is not None:
        return {**known.program.blocks, **known.program.networks}
    if known.module is None:
        return {}
    return {i.name: i for i in known.module.items if isinstance(i, ast.BlockDef)}


def _in_scope(b: Binding, line: int, col: int) -> bool:
    """Whether a body's binding may be used at (line, col): a loop's variable inside the loop,
    anything else once written (a label is not yet bound on its own line's element)."""
    if b.kind == "loop":
        return contains(b.span, line, col)
    return (b.span.end_line, b.span.end_col) <= (line, col)


def _names(known: Analysis | None, line: int, col: int) -> list[Item]:
    """Labels and values bound above the cursor in the enclosing body, then top-level names."""
    if known is None or known.module is None:
        return []
    out: list[Item] = []
    seen: set[str] = set()
    around = definition_around(known.module, line, col)
    if isinstance(around, ast.BlockDef):
        for b in reversed(body_bindings(around)):
            if _in_scope(b, line, col) and b.name not in seen:
                seen.add(b.name)
                out.append(Item(b.name, "label" if b.kind == "label" else "value", b.kind))
    modules = list(known.program.modules.values()) if known.program else [known.module]
    for tree in modules:
        for b in top_bindings(tree):
            if b.name not in seen and b.kind != "network":
                seen.add(b.name)
                detail = b.kind
                if b.kind == "block":
                    detail = "block " + b.name + "(" + ", ".join(
                        p.name for p in b.node.params) + ")"
                out.append(Item(b.name, "block" if b.kind == "block" else "value", detail))
    return out


def _operators() -> list[Item]:
    return [Item(name, "operator", cls.signature(), (cls.__doc__ or "").strip().split("\n")[0])
            for name, cls in sorted(REGISTRY.items())]


def _functions() -> list[Item]:
    return [Item(name, "function", "builtin function") for name in BUILTINS]


def _keywords() -> list[Item]:
    return [Item(k, "keyword") for k in KEYWORDS]
