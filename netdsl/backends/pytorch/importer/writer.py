"""Elements as the text of the language. Lines are laid out here (one statement a line, light
layers chained with `->` after the heavy one they follow); indentation and spacing are left to
`netdsl fmt`'s formatter, which the importer runs on the whole file."""

from __future__ import annotations

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
    Shared,
    Use,
)
from netdsl.backends.pytorch.importer.mapping import OpCall, Word
from netdsl.backends.pytorch.importer.structure import NodeRef
from netdsl.elaborate.constructs import Identity
from netdsl.errors import Diagnostic, NetdslError
from netdsl.names import is_spec_name

# Layers that start a line; the others follow the one before them on its line.
HEAVY = frozenset({"conv", "conv_transpose", "linear", "attention", "window_attention",
                   "parameter", "embedding", "subsample"})
LINE = 90


def label_text(label: str) -> str:
    if isinstance(label, Expr):
        return f"({label})"
    return label if is_spec_name(label) else '"' + label.replace('"', '\\"') + '"'


def value_text(value: Any) -> str:
    if isinstance(value, NodeRef):
        raise AssertionError(f"unnamed tensor {value.node}")
    if isinstance(value, Ref):
        return ref_text(value)
    if isinstance(value, (Expr, Word)):
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


def argument_text(value: Any) -> str:
    """An argument; a tensor named by a dotted path (`level3.downsample`) is a chain from it,
    since an argument's dots read attributes of a value."""
    if isinstance(value, Ref) and "." in value:
        return f"from {value}"
    return value_text(value)


def ref_text(ref: Ref) -> str:
    """A tensor's name: a path of labels, each a name of the language (or a position after a
    dot), else the spec cannot read the tensor."""
    first, *rest = ref.split(".")
    if ref == "in" or is_spec_name(first) and all(is_spec_name(p) or p.isdigit() for p in rest):
        return str(ref)
    raise NetdslError(Diagnostic(
        f"cannot import: the model reads the tensor of '{ref}' again, and a spec names a tensor "
        f"only by a path of labels that are names (not keywords, not strings)", None,
        "unmapped", help="rename the module in the model"))


def args_text(args: list[tuple[str | None, Any]]) -> str:
    return ", ".join(argument_text(v) if k is None else f"{k}={argument_text(v)}"
                     for k, v in args)


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
            light = "\n" not in text and (isinstance(element, Op) and element.call.name not in
                                          HEAVY or isinstance(element, Use) and not element.bind)
            if light and chainable and len(lines[-1]) + len(text) + 4 <= LINE:
                lines[-1] += " -> " + text
            else:
                if isinstance(element, From):
                    lines.append(text)
                    chainable = True
                    continue
                lines.extend(text.split("\n"))
            chainable = "\n" not in text and not isinstance(element, (Output, Comment, Shared)) \
                and not (isinstance(element, Use) and element.bind)  # `t = ...` ends there
        return lines

    def element(self, e: Element) -> str:
        rules = {Op: self.op, Call: self.call, Group: self.group, Merge: self.merge,
                 From: self.from_, Output: self.output, If: self.if_, Repeat: self.repeat,
                 For: self.for_, Comment: self.comment, Shared: self.shared, Use: self.use}
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
        if e.inline:  # the current tensor, then each other branch as a tensor argument
            others = tuple(Expr(self.branch(b)) for b in e.branches[1:])
            return _labeled(e.label, call_text(OpCall(e.call.name, others, e.call.kwargs)))
        head = call_text(e.call)
        branches = [self.branch(b) for b in e.branches]
        return _labeled(e.label, head + " {\n" + "\n".join(branches) + "\n}")

    def branch(self, body: list[Element]) -> str:
        """One path of a merge: a single statement."""
        if not body:
            return Identity.name
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

    def shared(self, e: Shared) -> str:
        return f"shared {e.name}: {self.element(e.layer)}"

    def use(self, e: Use) -> str:
        tensors = [(None, Ref(t) if not isinstance(t, Ref) else t) for t in e.tensors]
        call = f"{e.name}({args_text(tensors)})" if tensors else e.name
        return f"{e.bind} = from {value_text(e.source)} -> {call}" if e.bind else call

    def comment(self, e: Comment) -> str:
        return "\n".join("# " + line for line in e.text.splitlines())

