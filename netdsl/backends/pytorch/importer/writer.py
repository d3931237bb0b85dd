"""Elements as the text of the language. Lines are laid out here (one statement a line, light
layers chained with `->` after the heavy one they follow); indentation and spacing are left to
`netdsl fmt`'s formatter, which the importer runs on the whole file."""

from __future__ import annotations

import keyword
from typing import Any

from netdsl.backends.pytorch.importer.elements import (
    Call,
    Comment,
    Element,
    Expr,
    For,
    From,
    Group,
    If,
    Merge,
    Op,
    Output,
    Ref,
    Repeat,
)
from netdsl.backends.pytorch.importer.mapping import OpCall, Word
from netdsl.backends.pytorch.importer.structure import NodeRef
from netdsl.names import is_name
from netdsl.syntax.keywords import KEYWORDS

# Layers that start a line; the others follow the one before them on its line.
HEAVY = frozenset({"conv", "conv_transpose", "linear", "attention", "window_attention",
                   "parameter", "embedding", "subsample"})
LINE = 90



def label_text(label: str) -> str:
    if isinstance(label, Expr):
        return f"({label})"
    return label if is_name(label) else '"' + label.replace('"', '\\"') + '"'


def value_text(value: Any) -> str:
    if isinstance(value, NodeRef):
        raise AssertionError(f"unnamed tensor {value.node}")
    if isinstance(value, (Ref, Expr, Word)):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 100_000 else str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ("e" in text or "." in text) else text + ".0"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if value is None:
        return "none"
    raise AssertionError(f"no text for {value!r}")


def args_text(args: list[tuple[str | None, Any]]) -> str:
    return ", ".join(value_text(v) if k is None else f"{k}={value_text(v)}" for k, v in args)


def call_text(call: OpCall) -> str:
    args = [(None, a) for a in call.args] + list(call.kwargs)
    return f"{call.name}({args_text(args)})" if args else call.name


def _labeled(label: str | None, text: str) -> str:
    return f"{label_text(label)}: {text}" if label else text


class Writer:
    """Writes bodies as lines of text."""

    def body(self, body: list[Element]) -> list[str]:
        lines: list[str] = []
        chainable = False  # whether the last line may take `-> element`
        for element in body:
            text = self.element(element)
            light = "\n" not in text and isinstance(element, Op) \
                and element.call.name not in HEAVY
            if light and chainable and len(lines[-1]) + len(text) + 4 <= LINE:
                lines[-1] += " -> " + text
            else:
                if isinstance(element, From):
                    lines.append(text)
                    chainable = True
                    continue
                lines.extend(text.split("\n"))
            chainable = "\n" not in text and not isinstance(element, (Output, Comment))
        return lines

    def element(self, e: Element) -> str:
        rules = {Op: self.op, Call: self.call, Group: self.group, Merge: self.merge,
                 From: self.from_, Output: self.output, If: self.if_, Repeat: self.repeat,
                 For: self.for_, Comment: self.comment}
        return rules[type(e)](e)

    def op(self, e: Op) -> str:
        return _labeled(e.label, call_text(e.call))

    def call(self, e: Call) -> str:
        args = [(None, Ref(t) if not isinstance(t, Ref) else t) for t in e.tensors] + e.args
        text = f"{e.block}({args_text(args)})" if args else e.block
        return _labeled(e.label, text)

    def group(self, e: Group) -> str:
        inner = self.body(e.body)
        return _labeled(e.label, "{\n" + "\n".join(inner) + "\n}")

    def merge(self, e: Merge) -> str:
        head = call_text(e.call)
        branches = [self.branch(b) for b in e.branches]
        return _labeled(e.label, head + " {\n" + "\n".join(branches) + "\n}")

    def branch(self, body: list[Element]) -> str:
        """One path of a merge: a single statement."""
        if not body:
            return "identity"
        if len(body) == 1 and isinstance(body[0], If):
            e = body[0]
            return (f"if {e.cond} {{\n{self.branch(e.then)}\n}} else {{\n"
                    f"{self.branch(e.orelse)}\n}}")
        if len(body) == 1:
            return self.element(body[0])
        lines = self.body(body)
        if len(lines) == 1:
            return lines[0]
        return "{\n" + "\n".join(lines) + "\n}"

    def from_(self, e: From) -> str:
        return f"from {value_text(e.ref)}"

    def output(self, e: Output) -> str:
        return "output " + ", ".join(value_text(r) for r in e.refs)

    def if_(self, e: If) -> str:
        text = f"if {e.cond} {{\n" + "\n".join(self.body(e.then)) + "\n}"
        if e.orelse:
            text += " else {\n" + "\n".join(self.body(e.orelse)) + "\n}"
        return text

    def repeat(self, e: Repeat) -> str:
        return f"{self.element(e.element)} * {value_text(e.count)}"

    def for_(self, e: For) -> str:
        return (f"for {e.var} in range({value_text(e.count)}) {{\n"
                + "\n".join(self.body(e.body)) + "\n}")

    def comment(self, e: Comment) -> str:
        return "\n".join("# " + line for line in e.text.splitlines())


def keyword_safe(name: str) -> str:
    """A Python or netdsl keyword as a name gets a trailing underscore."""
    return name + "_" if name in KEYWORDS or keyword.iskeyword(name) else name
