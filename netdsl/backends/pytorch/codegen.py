"""Plans -> readable, standalone Python source that imports only torch.

Names in the output come only from validated labels (see lower.py) and generated names; every
value from a spec is written with repr. One class per distinct block instantiation (classes with
identical bodies are shared; variants of one block are numbered Bottleneck, Bottleneck2, ...),
then the network class. Several outputs are returned as a tuple in `output` order.
"""

from __future__ import annotations

import ast
import keyword
import textwrap
from pathlib import Path
from typing import Any

from netdsl.backends.pytorch.lower import (
    Child,
    ClassPlan,
    SequentialPlan,
    Step,
    is_identifier,
    plan,
)
from netdsl.backends.pytorch.ops import OVERWRITABLE, Call, lowering

INDENT = "    "
RUNTIME = Path(__file__).with_name("runtime.py")
HELPERS = ("TableConv", "Subsample", "center_crop", "channel_shuffle", "stochastic_depth")
_RESERVED = {"self", "torch", "nn", "F", "OrderedDict", "super", *HELPERS}


def literal(value: Any) -> str:
    """A Python literal for a value of the table (ints, floats, bools, str, None, lists)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (list, tuple)):
        items = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    raise TypeError(f"no literal for {type(value).__name__}")


def render_call(call: Call, lead: list[str] = ()) -> str:
    args = list(lead) + [literal(a) for a in call.args]
    args += [f"{k}={literal(v)}" for k, v in call.kwargs.items()]
    return f"{call.target}({', '.join(args)})"


def wrapped_call(call: Call, depth: int) -> str:
    """A long constructor call with one argument per line (and long lists one item per line)."""
    pad = INDENT * (depth + 1)
    items = []
    for value in call.args:
        text = literal(value)
        if isinstance(value, list) and len(text) > 60:
            inner = "".join(f"{pad}{INDENT}{literal(v)},\n" for v in value)
            text = f"[\n{inner}{pad}]"
        items.append(f"{pad}{text},")
    items += [f"{pad}{k}={literal(v)}," for k, v in call.kwargs.items()]
    return f"{call.target}(\n" + "\n".join(items) + f"\n{INDENT * depth})"


def docstring(text: str, indent: str = INDENT) -> str:
    """A docstring that no text can break out of, wrapped to fit 88 columns."""
    if text.isprintable() and '"' not in text and "\\" not in text and text.isascii():
        lines = textwrap.wrap(text, 80 - len(indent), break_long_words=False,
                              break_on_hyphens=False)
        return f'"""{f"{chr(10)}{indent}".join(lines)}"""'
    if len(repr(text)) <= 80 - len(indent):
        return repr(text)
    chunks = [repr(text[i:i + 50]) for i in range(0, len(text), 50)]
    return "(\n" + "".join(f"{indent}{INDENT}{c}\n" for c in chunks) + f"{indent})"


class Names:
    """Unique Python variable names within one forward."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def fresh(self, stem: str) -> str:
        stem = stem if is_identifier(stem) and stem not in _RESERVED else "x"
        name, i = stem, 1
        while name in self.taken:
            i += 1
            name = f"{stem}_{i}"
        self.taken.add(name)
        return name


class Writer:
    """Collects classes (deduplicated by body) and the helpers they use."""

    def __init__(self) -> None:
        self.classes: dict[str, str] = {}  # class name -> source
        self.bodies: dict[str, str] = {}  # body -> class name
        self.targets: set[str] = set()

    # ------------------------------------------------------------ constructors

    def construct(self, build: Call | SequentialPlan | ClassPlan, depth: int) -> str:
        if isinstance(build, Call):
            self.targets.add(build.target)
            return render_call(build)
        if isinstance(build, SequentialPlan):
            return self.sequential(build, depth)
        return f"{self.define(build)}()"

    def sequential(self, seq: SequentialPlan, depth: int) -> str:
        pad = INDENT * (depth + 1)
        positional = [c.name for c in seq.children] == [str(i) for i in range(len(seq.children))]
        if positional:
            items = [f"{pad}{self.construct(c.build, depth + 1)}," for c in seq.children]
            return "nn.Sequential(\n" + "\n".join(items) + f"\n{INDENT * depth})"
        self.targets.add("OrderedDict")
        items = [f"{pad}({c.name!r}, {self.construct(c.build, depth + 1)}),"
                 for c in seq.children]
        return "nn.Sequential(OrderedDict([\n" + "\n".join(items) + f"\n{INDENT * depth}]))"

    # ------------------------------------------------------------ classes

    def define(self, p: ClassPlan) -> str:
        body = self.class_body(p)
        if body in self.bodies:
            return self.bodies[body]
        name, i = p.base_name, 1
        while name in self.classes or name in _RESERVED:
            i += 1
            name = f"{p.base_name}{i}"
        self.bodies[body] = name
        self.classes[name] = f"class {name}(nn.Module):\n{body}"
        return name

    def class_body(self, p: ClassPlan) -> str:
        lines = [f"{INDENT}{docstring(p.doc)}", "", f"{INDENT}def __init__(self) -> None:",
                 f"{INDENT * 2}super().__init__()"]
        for child in p.children:
            lines += self.member(child)
        lines.append("")
        lines += self.forward(p)
        return "\n".join(lines) + "\n"

    def member(self, child: Child) -> list[str]:
        value = self.construct(child.build, 2)
        if isinstance(child.build, Call) and len(value) + len(child.name) > 80:
            value = wrapped_call(child.build, 2)
        if is_identifier(child.name):
            return [f"{INDENT * 2}self.{child.name} = {value}"]
        return [f"{INDENT * 2}self.add_module({child.name!r}, {value})"]

    def forward(self, p: ClassPlan) -> list[str]:
        names = Names(set())
        var: dict[str, str] = {}
        params = []
        for value, stem in zip(p.inputs, p.input_names, strict=True):
            var[value] = names.fresh(stem)
            params.append(f"{var[value]}: torch.Tensor")
        last_use: dict[str, int] = {}
        reads: dict[str, int] = {}
        for i, step in enumerate(p.steps):
            for src in step.inputs:
                last_use[src] = i
                reads[src] = reads.get(src, 0) + 1
        for out in p.outputs:
            last_use[out] = len(p.steps)
        producer = {out: step for step in p.steps for out in step.outputs}
        result = "torch.Tensor" if len(p.outputs) == 1 else "tuple[torch.Tensor, ...]"
        lines = [f"{INDENT}def forward(self, {', '.join(params)}) -> {result}:"]
        for i, step in enumerate(p.steps):
            dying = [v for v in dict.fromkeys(step.inputs) if last_use.get(v) == i]
            expr = self.expression(step, [var[v] for v in step.inputs],
                                   self.may_overwrite(step, dying, reads, producer))
            targets = self.targets_of(step, dying, var, names)
            lines.append(f"{INDENT * 2}{', '.join(targets)} = {expr}")
            for out, target in zip(step.outputs, targets, strict=True):
                var[out] = target
            gone = [var[v] for v in dying if var[v] not in targets]
            unused = [t for out, t in zip(step.outputs, targets, strict=True)
                      if out not in last_use]
            if gone or unused:
                lines.append(f"{INDENT * 2}del {', '.join(gone + unused)}")
        outs = [var[o] for o in p.outputs]
        result = outs[0] if len(outs) == 1 else f"({', '.join(outs)})"
        lines.append(f"{INDENT * 2}return {result}")
        return lines

    def targets_of(self, step: Step, dying: list[str], var: dict[str, str],
                   names: Names) -> list[str]:
        """Reuse a dying input's variable for a one-output step (the idiom `x = f(x)`); a
        layer on a tensor that lives on starts `out`, as torchvision writes it; merges and
        submodules get a name of their own (`add`, `concat`, `branch1`)."""
        merge = step.node is not None and step.node.op.variadic
        if len(step.outputs) == 1 and dying and not merge:
            return [var[dying[0]]]
        if step.node is not None:
            if not merge:  # a layer branching off a live tensor starts a path: `out = ...`
                return [names.fresh("out")]
            local = step.node.name.rsplit(".", 1)[-1]
            stem = local if is_identifier(local) else step.node.op_name
            return [names.fresh(stem)]
        stem = step.child if is_identifier(step.child) else "block"
        return [names.fresh(stem) for _ in step.outputs]

    @staticmethod
    def may_overwrite(step: Step, dying: list[str], reads: dict[str, int],
                      producer: dict[str, Step]) -> bool:
        """Whether an activation may work in place: its one input is read by nothing else (so
        no view of it lives on), was made in this forward (never the caller's tensor), by an
        operator whose backward does not need its output."""
        if step.node is None or step.child is not None or len(step.inputs) != 1:
            return False
        (src,) = step.inputs
        made_by = producer.get(src)
        return (lowering(step.node.op).inplace and dying == [src] and reads[src] == 1
                and made_by is not None and made_by.node is not None
                and made_by.node.op.name in OVERWRITABLE)

    def expression(self, step: Step, args: list[str], inplace: bool = False) -> str:
        if step.child is not None:
            target = f"self.{step.child}" if is_identifier(step.child) \
                else f"getattr(self, {step.child!r})"
            return f"{target}({', '.join(args)})"
        rule = lowering(step.node.op)
        call = step.function
        self.targets.add(call.target)
        extra = ["training=self.training"] if rule.training else []
        if inplace:
            extra.append("inplace=True")
        if rule.form == "infix":
            return f" {call.target} ".join(args)
        if rule.form == "cat":
            return render_call(call, [f"[{', '.join(args)}]"])
        if rule.form == "reshape":
            dims = ", ".join(literal(d) for d in call.args)
            return f"{args[0]}.reshape({args[0]}.shape[0], {dims})"
        if rule.form == "like" and len(args) == 2:
            return render_call(call, [args[0], f"list({args[1]}.shape[2:])"])
        text = render_call(call, args[:1])
        return text[:-1] + ", " + ", ".join(extra) + ")" if extra else text


def helper_sources(targets: set[str]) -> list[str]:
    """The source of the run-time helpers used, cut from runtime.py without importing it."""
    text = RUNTIME.read_text(encoding="utf-8")
    out = []
    for item in ast.parse(text).body:
        if isinstance(item, (ast.ClassDef, ast.FunctionDef)) and item.name in targets:
            out.append(ast.get_source_segment(text, item))
    return out


def generate(network: Any) -> str:
    """The standalone Python source of a loaded netdsl Network."""
    top = plan(network.graph, Path(network.source_path).name)
    writer = Writer()
    top_name = writer.define(top)
    imports = ["import torch", "from torch import nn"]
    used = writer.targets
    if any(t.startswith("F.") for t in used) or "Subsample" in used:
        imports.append("from torch.nn import functional as F")
    if "OrderedDict" in used:
        imports.insert(0, "from collections import OrderedDict\n")
    if "Subsample" in used:
        imports.insert(0, "import math\n")
    header = docstring(indent="", text=f"{network.graph.name}: generated by netdsl from "
                       f"{Path(network.source_path).name}; edit the spec, not this file.")
    parts = [header, "\n".join(imports)]
    parts += helper_sources(used)
    parts += [src for name, src in writer.classes.items()]
    text = "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    assert top_name in writer.classes
    return text


def network_class(source: str) -> str:
    """The name of the network class: the last class of a generated file."""
    tree = ast.parse(source)
    return [i.name for i in tree.body if isinstance(i, ast.ClassDef)][-1]


def valid_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)
