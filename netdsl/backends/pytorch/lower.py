"""IR -> a tree of module plans: which scopes become classes or nn.Sequential, what each holds,
and the straight-line forward of each class (with liveness, so dead tensors are released).

Codegen renders the plans as Python source; `build` executes that source. A scope that is a
plain chain (each step feeds the next, every layer has a module form) becomes an nn.Sequential,
like torchvision's `layer1` or `features`; any other scope, and the network, becomes a class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from netdsl.analysis import analyse
from netdsl.backends.pytorch.ops import OVERWRITABLE, Call, in_place, lowering
from netdsl.errors import Diagnostic, NetdslError
from netdsl.ir import Graph, Node
from netdsl.names import MODULE_ATTRIBUTES, is_identifier

_POSITION = re.compile(r"[0-9]+\Z")
@dataclass
class Child:
    """One submodule: its local name and what constructs it."""

    name: str
    build: Call | SequentialPlan | ClassPlan


@dataclass
class SequentialPlan:
    children: list[Child]


@dataclass
class Step:
    """One statement of a forward: a node (leaf op) or a call of a child scope."""

    node: Node | None
    child: str | None  # local name of the submodule called
    function: Call | None  # for a functional node
    inputs: list[str]  # value (node) names
    outputs: list[str]
    pad: Call | None = None  # pads the first input before the layer (see ops.Lowering.pad)
    apply: str | None = None  # how the child is used: a template of {module} and {x}


@dataclass
class ClassPlan:
    base_name: str  # CamelCase stem, e.g. Bottleneck
    doc: str
    children: list[Child]
    inputs: list[str]
    outputs: list[str]
    steps: list[Step]
    input_names: list[str] = field(default_factory=list)  # preferred variable names
    # for a block's class: the block, its arguments and its input channels, from which codegen
    # names the constructor parameters of a class shared by several instantiations
    block: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    in_shape: tuple[int, ...] = ()


def camel(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return text if text and not text[0].isdigit() else "Block" + text


def _fail(message: str, span: Any = None) -> NetdslError:
    return NetdslError(Diagnostic(message, span, "lower"))


class Lowerer:
    """Computes the plans of one graph."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.members: dict[str, set[str]] = {}
        users: dict[str, list[str]] = {}
        for node in graph:
            for src in reads(node):
                users.setdefault(src, []).append(node.name)
        self.users = users
        self.outputs = set(graph.outputs.values())

    # ------------------------------------------------------------ scope structure

    def nodes_in(self, scope: str) -> set[str]:
        if scope not in self.members:
            self.members[scope] = {n.name for n in self.graph.scope_nodes(scope)}
        return self.members[scope]

    def interface(self, scope: str) -> tuple[list[str], list[str]]:
        """External inputs (in order of first use) and outputs (in graph order) of a scope."""
        inside = self.nodes_in(scope)
        inputs: list[str] = []
        outputs: list[str] = []
        for node in self.graph.scope_nodes(scope):
            for src in reads(node):
                if src.partition(":")[0] not in inside and src not in inputs:
                    inputs.append(src)
            for value in produces(node):
                if value in self.outputs or any(u not in inside
                                                for u in self.users.get(value, [])):
                    outputs.append(value)
        return inputs, outputs

    def span(self, name: str) -> Any:
        """Where the layer or scope `name` was written."""
        if name in self.graph.scopes:
            return self.graph.scopes[name].span
        return self.graph[name].span if name in self.graph.nodes else None

    def shapes(self, node: Node) -> list[tuple[int, ...]]:
        return [self.graph[src].shape for src in node.inputs]

    def has_state(self, node: Node) -> bool:
        shapes = self.shapes(node)
        return bool(node.op.params(shapes, node.shape) or node.op.buffers(shapes, node.shape))

    # ------------------------------------------------------------ plans

    def network(self, source: str) -> ClassPlan:
        g = self.graph
        top = [t for t in g.top if not (t in g.nodes and g[t].is_input)]
        steps, children = self.body("", top)
        args = ", ".join(f"{k}={v!r}" for k, v in g.params.items())
        doc = f"{g.name} from {source}" + (f" with {args}" if args else "") + "."
        plan = ClassPlan(camel(g.name), doc, children, list(g.inputs),
                         list(g.outputs.values()), steps, list(g.inputs))
        return plan

    def body(self, scope: str, names: list[str]) -> tuple[list[Step], list[Child]]:
        steps: list[Step] = []
        children: list[Child] = []
        for name in names:
            local = name[len(scope) + 1:] if scope else name
            if not (is_identifier(local) or _POSITION.match(local)):
                raise _fail(f"layer name '{name}' cannot name a torch submodule", self.span(name))
            if name in self.graph.scopes:
                inputs, outputs = self.interface(name)
                children.append(Child(local, self.scope(name)))
                steps.append(Step(None, local, None, inputs, outputs))
                continue
            node = self.graph[name]
            rule = lowering(node.op)
            shapes = self.shapes(node)
            pad = rule.pad(node.op, shapes) if rule.pad else None
            if rule.function is None or self.has_state(node):
                module = rule.module(node.op, shapes) if rule.module else None
                if module is None:
                    raise _fail(f"operator '{node.op_name}' has no module lowering", node.span)
                children.append(Child(local, module))
                apply = rule.apply(node.op, shapes) if rule.apply is not None else None
                steps.append(Step(node, local, None, reads(node), produces(node), pad,
                                  apply))
            else:
                call = rule.function(node.op, shapes)
                steps.append(Step(node, None, call, reads(node), produces(node), pad))
        for child in children:
            if child.name in MODULE_ATTRIBUTES:  # `netdsl check` refuses such labels already
                raise _fail(f"label '{child.name}' in '{scope or self.graph.name}' would shadow "
                            f"the torch.nn.Module attribute of that name; rename it",
                            self.span(f"{scope}.{child.name}" if scope else child.name))
        return steps, children

    def scope(self, name: str) -> SequentialPlan | ClassPlan:
        info = self.graph.scopes[name]
        inputs, outputs = self.interface(name)
        sequential = self.as_sequential(name, info.children, inputs, outputs)
        if sequential is not None:
            return sequential
        steps, children = self.body(name, info.children)
        local = name.rsplit(".", 1)[-1]
        if info.kind == "block" and info.block:
            args = ", ".join(f"{k}={show_value(v)}" for k, v in info.args.items())
            stem, doc = camel(info.block), f"{info.block}({args}) on {self.channels(inputs)}."
        else:
            stem = camel(local) if is_identifier(local) else camel(info.kind)
            doc = f"The {info.kind} '{local}'."
        names = [self.input_name(src, i) for i, src in enumerate(inputs)]
        first = self.graph[inputs[0]].shape if len(inputs) == 1 and ":" not in inputs[0] else ()
        return ClassPlan(stem, doc, children, inputs, outputs, steps, names,
                         block=info.block if info.kind == "block" else None,
                         args=dict(info.args), in_shape=tuple(first))

    def channels(self, inputs: list[str]) -> str:
        """What a block's class works on: its input channels, or the input's shape when that
        is not channels first (a token sequence, a channels-last map)."""
        if any(_laid_out(self.graph[src]) for src in inputs):
            shapes = ", ".join("[" + ", ".join(map(str, self.graph[src].shape)) + "]"
                               for src in inputs)
            return f"input{'s' if len(inputs) > 1 else ''} {shapes}"
        counts = [str(self.graph[src].shape[0]) for src in inputs if ":" not in src]
        return f"{', '.join(counts)} input channel{'s' if counts != ['1'] else ''}"

    def input_name(self, src: str, index: int) -> str:
        if index == 0:
            return "x"
        local = src.rsplit(".", 1)[-1].replace(":", "_")
        return local if is_identifier(local) else f"x{index}"

    def as_sequential(self, name: str, members: list[str], inputs: list[str],
                      outputs: list[str]) -> SequentialPlan | None:
        """The scope as an nn.Sequential, if it is a plain chain of one-in one-out steps."""
        if len(inputs) != 1 or len(outputs) != 1:
            return None
        current = inputs[0]
        children: list[Child] = []
        previous: Node | None = None  # the leaf before, whose output only this step reads
        for member in members:
            local = member[len(name) + 1:]
            if member in self.graph.scopes:
                sub_in, sub_out = self.interface(member)
                if sub_in != [current] or len(sub_out) != 1:
                    return None
                children.append(Child(local, self.scope(member)))
                current, previous = sub_out[0], None
                continue
            node = self.graph[member]
            rule = lowering(node.op)
            if node.inputs != [current] or rule.module is None or rule.results(node.op) \
                    or rule.apply is not None:
                return None
            if rule.pad is not None and rule.pad(node.op, self.shapes(node)) is not None:
                return None  # the input is padded in a forward first
            call = rule.module(node.op, self.shapes(node))
            if call is None:
                return None
            if rule.inplace and previous is not None and previous.op.name in OVERWRITABLE:
                call = in_place(call)
            children.append(Child(local, call))
            current, previous = member, node
        if current != outputs[0]:
            return None
        # each value feeds only the next step
        for member, after in zip(members, members[1:], strict=False):
            last = self.graph.scopes[member].output if member in self.graph.scopes else member
            within = self.nodes_in(after) if after in self.graph.scopes else {after}
            if any(user not in within for user in self.users.get(last, [])):
                return None
        return SequentialPlan(children)


def reads(node: Node) -> list[str]:
    """The values a node's step reads: its inputs, or what its lowering's `reads` names
    (`pool1:indices`, `pool1:size` for max unpooling)."""
    rule = lowering(node.op) if node.op is not None else None
    if rule is None or rule.reads is None:
        return list(node.inputs)
    return [node.inputs[i] + (f":{result}" if result else "") for i, result in rule.reads]


def produces(node: Node) -> list[str]:
    """The values a node's step yields: its output, then its lowering's other `results`."""
    if node.op is None:
        return [node.name]
    return [node.name] + [f"{node.name}:{r}" for r in lowering(node.op).results(node.op)]


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "name") and hasattr(value, "args"):  # a layer value
        return str(value.name)
    return repr(value)


def _laid_out(node: Node) -> bool:
    """Whether a tensor is not channels first, as its receptive field's layout records."""
    rf = node.meta.get("rf")
    return getattr(rf, "layout", None) is not None


def plan(graph: Graph, source: str) -> ClassPlan:
    """The class plan of a network (its children nest the plans of its scopes)."""
    analyse(graph)  # the layouts of the tensors, for the classes' docstrings
    return Lowerer(graph).network(source)
