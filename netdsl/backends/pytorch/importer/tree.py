"""The module tree of a traced model: each module instance whose forward torch.fx traced through
holds, in order, the layers its own forward computes and its child instances, with the tensors
it reads from outside (its inputs) and the tensors used outside it (its outputs).

A node belongs to the innermost module whose forward made it (torch.fx's `nn_module_stack`);
a leaf module's call is a layer of the module that called it, labeled with the leaf's name.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from netdsl.backends.pytorch.importer.mapping import (
    Alias,
    Context,
    Layers,
    Mapping,
    Unmapped,
    Value,
    map_node,
)
from netdsl.backends.pytorch.importer.trace import Trace, line_span, source_line
from netdsl.errors import Diagnostic, Span
from netdsl.names import is_spec_name


@dataclass
class Item:
    """One element of a module's body: a layer (`node`, `layers`) or a child instance."""

    node: fx.Node | None = None
    layers: Layers | None = None
    child: Instance | None = None
    label: str | None = None
    unmapped: Unmapped | None = None
    shared: str | None = None  # a call of this shared module (one module called at several sites)

    def inputs(self, canon: Any) -> list[fx.Node]:
        if self.child is not None:
            return list(self.child.inputs)
        if self.layers is None:
            return []
        return [canon(n) for n in self.layers.inputs]

    def outputs(self) -> list[fx.Node]:
        if self.child is not None:
            return list(self.child.outputs)
        return [self.node] if self.node is not None else []


@dataclass
class Instance:
    """One call of a module that torch.fx traced through."""

    path: str
    module: nn.Module
    label: str | None
    items: list[Item] = field(default_factory=list)
    inputs: list[fx.Node] = field(default_factory=list)
    outputs: list[fx.Node] = field(default_factory=list)
    shared: bool = False  # one call of a module called at several sites
    synthetic: bool = False  # a container whose items another module's forward calls

    @property
    def cls(self) -> type:
        return type(self.module)

    def walk(self) -> list[Instance]:
        """This instance and every instance below it, children first."""
        found: list[Instance] = []
        for item in self.items:
            if item.child is not None:
                found += item.child.walk()
        return found + [self]

    def nodes(self) -> list[fx.Node]:
        """The layer nodes of this instance and of every instance below it."""
        found: list[fx.Node] = []
        for item in self.items:
            if item.child is not None:
                found += item.child.nodes()
            elif item.node is not None:
                found.append(item.node)
        return found


@dataclass
class ModuleTree:
    """The instances, the mapping of every node, and the model's inputs and outputs."""

    root: Instance
    mappings: dict[fx.Node, Mapping]
    inputs: list[fx.Node]
    outputs: list[fx.Node]  # in the order the forward returns them
    problems: list[Diagnostic]  # what a spec cannot say as the model does it

    def canon(self, node: fx.Node) -> fx.Node:
        """The node whose tensor `node` is (through aliases such as .contiguous())."""
        while isinstance(self.mappings.get(node), Alias):
            node = self.mappings[node].source  # type: ignore[union-attr]
        return node


def build_tree(traced: Trace) -> ModuleTree:
    mappings = _map_all(traced)
    root = Instance("", traced.model, None)
    tree = ModuleTree(root, mappings, [], [], [])
    instances: dict[str, Instance] = {"": root}
    place = _Placer(traced.model, tree.problems)
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            tree.inputs.append(node)
            continue
        if node.op == "output":
            returned = _results(node.args[0])
            tree.problems += _output_problems(returned, traced.values, root, tree.canon)
            tree.outputs = [tree.canon(out) for out in returned if isinstance(out, fx.Node)]
            continue
        mapping = mappings[node]
        if isinstance(mapping, (Alias, Value)):
            continue
        place.node = node
        owner, label = _owner(node, traced.model, instances, place)
        item = Item(node, mapping if isinstance(mapping, Layers) else None,
                    unmapped=mapping if isinstance(mapping, Unmapped) else None)
        place(owner, label, item)
    _close_containers(root, tree.canon)
    _drop_repeated_labels(root, traced.model)
    tree.problems += _share(root, traced.model)
    tree.problems += _tie_problems(root)
    _interfaces(tree)
    if _hoist_concats(tree):
        _interfaces(tree)  # a hoisted concat is no longer an output of the module it left
    return tree


def _map_all(traced: Trace) -> dict[fx.Node, Mapping]:
    mappings: dict[fx.Node, Mapping] = {}
    for node in traced.graph.nodes:
        if node.op not in ("placeholder", "output"):
            mappings[node] = map_node(Context(node, traced.values, traced.model, mappings))
    return mappings


def _results(value: Any) -> list[Any]:
    """What the forward returns, in order: a dict's values and the items of nested tuples and
    lists one after another (the spec's outputs are one list, as `verify` compares them)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [out for v in value for out in _results(v)]
    return [value]


def _relative(path: str, owner: str) -> str:
    return path[len(owner) + 1:] if owner else path


def _owner(node: fx.Node, model: nn.Module, instances: dict[str, Instance],
           place: _Placer) -> tuple[Instance, str | None]:
    """The instance whose forward made `node`, created with its ancestors on first sight, and
    the node's label in it (a leaf module's or a parameter's name)."""
    stack = list((node.meta.get("nn_module_stack") or {}).items())
    label_path = None
    if node.op == "call_module":
        label_path = str(node.target)
        stack = stack[:-1]
    elif node.op == "get_attr":
        label_path = str(node.target)
    owner = instances[""]
    for key, (path, _) in stack:
        if key not in instances:
            child = Instance(path, model.get_submodule(path), None)
            place(owner, _relative(path, owner.path), Item(child=child))
            instances[key] = child
        owner = instances[key]
    label = _relative(label_path, owner.path) if label_path is not None else None
    return owner, label


class _Placer:
    """Puts each item in the body of the instance whose forward made it. A module called by the
    forward of an ancestor other than its parent (the items of a module list called in a loop:
    `layers.0`, `layers.1`) goes into a group for each container its name passes through, so
    that every label is a name; a layer without weights made while such a group is open joins
    it (the loop's `relu`). A container must be filled in one run: one whose items are called
    apart, between other layers, is a problem (a spec's group holds its layers together)."""

    def __init__(self, model: nn.Module, problems: list[Diagnostic]) -> None:
        self.model, self.problems = model, problems
        self.node: fx.Node | None = None  # the node being placed, to locate a problem
        self.apart: set[str] = set()

    def __call__(self, owner: Instance, label: str | None, item: Item) -> None:
        if label is not None and "." in label:
            while "." in label:
                head, label = label.split(".", 1)
                owner = self._container(owner, head)
        elif label is None or self._stateless(item):
            inner = owner
            while inner.items and _open(inner.items[-1]):
                inner = inner.items[-1].child  # type: ignore[assignment]
            if inner is not owner:  # a stateless leaf's name is no layer of the container
                owner, label = inner, None
        item.label = label
        if item.child is not None:
            item.child.label = label
        owner.items.append(item)

    def _container(self, owner: Instance, head: str) -> Instance:
        path = f"{owner.path}.{head}" if owner.path else head
        if owner.items and _open(owner.items[-1]) and owner.items[-1].child.path == path:
            return owner.items[-1].child  # type: ignore[return-value]
        if path not in self.apart and any(it.child is not None and it.child.path == path
                                          for it in owner.items):
            self.apart.add(path)
            where = f"module '{owner.path}'" if owner.path else "the model"
            self.problems.append(_problem(
                f"the items of '{path}' are called apart, between other layers of {where}'s "
                f"forward, and a spec's group holds the layers of '{path}' together",
                self.node, owner, "call the items of a module list or dict one after another"))
        container = Instance(path, self.model.get_submodule(path), head, synthetic=True)
        owner.items.append(Item(child=container, label=head))
        return container

    def _stateless(self, item: Item) -> bool:
        node = item.node
        return item.child is None and node is not None and node.op != "get_attr" and not (
            node.op == "call_module" and _has_state(self.model, str(node.target)))


SHARED_HELP = "a shared module is declared, by its name, in the one module whose forward calls it"


def _open(item: Item) -> bool:
    return item.child is not None and item.child.synthetic


def _close_containers(instance: Instance, canon: Any) -> None:
    """The layers without weights that joined a container after its last item, and that the
    loop calling its items did not make between them (the pooling after the loop: `for b in
    self.blocks: x = b(x)`, then `x.mean((2, 3))`), follow the container's group instead: they
    are no layers of the container. A line of the forward the loop ran between items (its
    `relu`) made the last item's too, and a merge of several items' tensors (`torch.cat([b(x)
    for b in self.branches], 1)`) can only be written with them: both stay. Inner containers
    first."""
    for item in list(instance.items):
        if item.child is None:
            continue
        _close_containers(item.child, canon)
        if not item.child.synthetic:
            continue
        inner = item.child.items
        last = max((k for k, it in enumerate(inner) if not _joined(it)), default=-1)
        looped = {_line(it, instance) for it in inner[:last] if _joined(it)}
        made = {node for it in inner[:last + 1] for node in _made(it)}
        stay = last + 1
        while stay < len(inner) and (_line(inner[stay], instance) in looped
                                     or len(made & set(inner[stay].inputs(canon))) > 1):
            made.update(_made(inner[stay]))
            stay += 1
        after = instance.items.index(item) + 1
        instance.items[after:after] = inner[stay:]
        del inner[stay:]


def _joined(item: Item) -> bool:
    """Whether an item of a container joined it (a layer without weights made while its group
    was open) rather than being one of its items."""
    return item.child is None and item.label is None


def _made(item: Item) -> list[fx.Node]:
    """The nodes an item makes (before the instances' outputs are known)."""
    return item.child.nodes() if item.child is not None else [item.node]


def _line(item: Item, owner: Instance) -> tuple[str, int] | None:
    """The line of the owner's forward that made the item's node."""
    span = source_line(item.node, type(owner.module)) if item.node is not None else None
    return (span.path, span.line) if span is not None else None


def _has_state(model: nn.Module, path: str) -> bool:
    module = model.get_submodule(path)
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _drop_repeated_labels(instance: Instance, model: nn.Module) -> None:
    """A stateless leaf called more than once (torchvision's one `relu` per block) is a fresh
    operator at each call: unlabeled, it takes a position."""
    counts: dict[str, int] = {}
    for item in instance.items:
        if item.child is None and item.label is not None:
            counts[item.label] = counts.get(item.label, 0) + 1
    for item in instance.items:
        if item.child is not None:
            _drop_repeated_labels(item.child, model)
        elif item.label and counts[item.label] > 1 and item.node is not None \
                and item.node.op == "call_module" \
                and not _has_state(model, str(item.node.target)):
            item.label = None


def _output_problems(returned: list[Any], values: dict[fx.Node, Any], root: Instance,
                     canon: Any) -> list[Diagnostic]:
    """A spec's outputs are distinct tensors that layers make: a model that returns its input,
    one tensor twice (`return y, y`), something other than a tensor, or tensors it does not
    take apart (`return x.chunk(2)`), cannot be said (its spec lost an output)."""
    at = _return_line(root.module)  # torch.fx records no stack for its output node
    if not all(isinstance(values.get(out), torch.Tensor) for out in returned):
        return [_located("the model returns something other than tensors taken one by one "
                         "(a constant, or a sequence of tensors such as `x.chunk(2)`)", at,
                         "a spec's outputs are tensors its layers make; return them one by "
                         "one: `a, b = x.chunk(2, dim=1)`, `return a, b`")]
    outputs = [canon(out) for out in returned]
    found = []
    if any(out.op == "placeholder" for out in outputs):
        found.append(_located("the model returns its input as an output", at,
                              "a spec's outputs are tensors its layers make"))
    if len(set(outputs)) < len(outputs):
        found.append(_located("the model returns one tensor as two of its outputs", at,
                              "a spec's outputs are distinct tensors"))
    return found


def _return_line(model: nn.Module) -> Span | None:
    """The last `return` of the model's forward, where its source can be read."""
    try:
        lines, first = inspect.getsourcelines(type(model).forward)
        path = inspect.getsourcefile(type(model).forward)
    except (OSError, TypeError):
        return None
    returns = [first + i for i, text in enumerate(lines) if text.lstrip().startswith("return")]
    return line_span(path, returns[-1]) if path and returns else None


def _problem(message: str, node: fx.Node | None, owner: Instance, help: str) -> Diagnostic:
    """A located problem: at the line of the owner's forward that made `node`."""
    return _located(message, source_line(node, type(owner.module)) if node is not None else None,
                    help)


def _located(message: str, span: Span | None, help: str) -> Diagnostic:
    return Diagnostic(f"cannot import: {message}", span, "unmapped", help=help)


def _share(root: Instance, model: nn.Module) -> list[Diagnostic]:
    """Marks the calls of each module called at several sites (a siamese network's tower) as
    calls of one shared module, named in the module that calls it; a leaf without state is a
    fresh operator at each call instead (`_drop_repeated_labels`). Why any cannot be shared."""
    sites: dict[str, list[tuple[Instance, Item]]] = {}
    for inst in root.walk():
        for item in inst.items:
            path = item.child.path if item.child is not None else \
                str(item.node.target) if item.node is not None and item.node.op == "call_module" \
                else None
            if path is not None:
                sites.setdefault(path, []).append((inst, item))
    problems = []
    for path, calls in sites.items():
        if len(calls) < 2 or (calls[0][1].child is None and not _has_state(model, path)):
            continue
        owner, first = calls[0]
        name = first.label
        if len({inst.path for inst, _ in calls}) > 1:
            problems.append(_problem(f"module '{path}' is called from the forwards of several "
                                     f"modules", _node_of(calls[1][1]), calls[1][0], SHARED_HELP))
        elif sum(inst is owner for inst, _ in calls) == 1:
            continue  # once by each call of a module called at several sites: that one is shared
        elif name is None or not is_spec_name(name):
            problems.append(_problem(f"module '{path}' is called at several sites, and a shared "
                                     f"module's name must be a name of the language in the "
                                     f"module that calls it", _node_of(calls[1][1]), owner,
                                     SHARED_HELP))
        else:
            for _, item in calls:
                item.shared, item.label = name, None
                if item.child is not None:
                    item.child.shared = True
    return problems


def _tie_problems(root: Instance) -> list[Diagnostic]:
    """A tied weight (`dec: linear(16, weight=enc)`) names a layer labeled in the same body:
    why any tie of the model cannot be said so."""
    problems = []
    for inst in root.walk():
        labeled = {item.node for item in inst.items if item.label and item.shared is None}
        for item in inst.items:
            holder = dict(item.layers.calls[0].kwargs).get("weight") if item.layers else None
            if isinstance(holder, fx.Node) and holder not in labeled:
                problems.append(_problem(
                    f"module '{item.node.target}' shares its weight with module "
                    f"'{holder.target}' (tied weights), which is no layer of the same forward",
                    item.node, inst, "a spec ties a weight to a layer labeled in the same body "
                    "(`linear(out, weight=label)`): call both modules from one forward"))
    return problems


def _node_of(item: Item) -> fx.Node | None:
    """A node of the item: its own, or the first its instance made."""
    if item.child is not None:
        return next(iter(item.child.nodes()), None)
    return item.node


def _interfaces(tree: ModuleTree) -> None:
    """Each instance's inputs (tensors read from outside, in order of first use) and outputs
    (tensors used outside it, or returned by the model)."""
    users: dict[fx.Node, list[fx.Node | None]] = {}
    layer_items = [(item.node, item) for inst in tree.root.walk() for item in inst.items
                   if item.layers is not None]
    for node, item in layer_items:
        for source in item.inputs(tree.canon) + _refs(item):
            users.setdefault(source, []).append(node)
    for out in tree.outputs:
        users.setdefault(out, []).append(None)
    for inst in tree.root.walk():
        members = set(inst.nodes())
        inst.inputs = _unique([s for node, item in layer_items if node in members
                               for s in item.inputs(tree.canon) + _refs(item)
                               if s not in members])
        inst.outputs = [n for n in inst.nodes()
                        if any(u is None or u not in members for u in users.get(n, []))]
    made = set(tree.root.outputs)  # the network's, in the order the forward returns them
    tree.root.outputs = [n for n in _unique(tree.outputs) if n in made]


def _refs(item: Item) -> list[fx.Node]:
    """Tensors an operator takes as arguments (`upsample(to=x)`)."""
    if item.layers is None:
        return []
    return [v for call in item.layers.calls for _, v in call.kwargs if isinstance(v, fx.Node)]


def _unique(nodes: list[fx.Node]) -> list[fx.Node]:
    return list(dict.fromkeys(nodes))


def _hoist_concats(tree: ModuleTree) -> bool:
    """A module whose forward starts by concatenating all its inputs (a DenseNet layer) is
    called on the concatenation: the concat moves to the caller, so that every call of the
    module takes one tensor whatever the number of maps before it. Whether any moved."""
    moved = False
    for inst in tree.root.walk():
        for item in list(inst.items):
            child = item.child
            if child is None or len(child.inputs) < 2 or not child.items:
                continue
            first = child.items[0]
            if first.layers is None or first.layers.calls[0].name != "concat" \
                    or len(first.layers.calls) != 1:
                continue
            if set(first.inputs(tree.canon)) != set(child.inputs):
                continue
            if any(set(other.inputs(tree.canon)) & set(child.inputs)
                   for other in child.items[1:]):
                continue
            child.items.pop(0)
            inst.items.insert(inst.items.index(item), first)
            child.inputs = [first.node]
            moved = True
    return moved
