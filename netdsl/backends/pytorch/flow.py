"""The tensors of a body while it is translated, and where a scope's layers are registered.

A `Tensor` is what the translator knows of one tensor: its symbolic shape (`shapes`), and in a
forward the variable that holds it. A `Scope` is one naming scope of the spec (a block, a
labeled group) as generated code: an nn.Sequential being filled (`chain`), or a module whose
forward wires its children (`module`); its `Owner` says how a child is registered and read.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field, replace

from netdsl.backends.pytorch.pyexpr import (
    UNKNOWN,
    Py,
    attr,
    binop,
    call,
    dotted,
    is_identifier,
    list_of,
    lit,
    name,
    names_in,
    simplify,
    substitute,
)
from netdsl.backends.pytorch.shapes import Shape

RUNNING = "x"  # the variable a forward passes from layer to layer, as torchvision's


@dataclass
class Tensor:
    """One tensor: shape, and in a forward its variable.

    `owned`: no one else reads the variable, so the next layer may rebind it (`x = f(x)`).
    `fresh`: made in this forward by a layer whose backward does not need its output, and read
    by nothing else: an activation may overwrite it in place.
    `batched`: it has the batch axis first; a parameter without `batch=true`, and what is
    computed from it alone, has none (the same for every sample, it broadcasts in a merge).
    """

    shape: Shape
    var: str | None = None
    owned: bool = False
    fresh: bool = False
    caxis: int = 0  # the axis of its channels: 0, or the last of a channels-last map
    read: ast.expr | None = None  # without a variable: how the forward reads it (`features[i]`)
    batched: bool = True

    @property
    def rank(self) -> int:
        """Spatial axes (a [C, H, W] tensor has 2)."""
        return len(self.shape) - 1

    @property
    def node(self) -> ast.expr:
        """The forward's expression for it: its variable, or how it is read from a list."""
        if self.var is None and self.read is not None:
            return copy.deepcopy(self.read)
        return ast.Name(self.var, ast.Load())  # type: ignore[arg-type]

    def shared(self) -> Tensor:
        return replace(self, owned=False, fresh=False)

    @property
    def channel_axis(self) -> int:
        """The axis of its channels in `shape` (0 for a shape without that axis)."""
        return self.caxis if self.caxis < len(self.shape) else 0

    def with_channels(self, channels: Py | None) -> Tensor:
        """The same tensor with `channels` on its channel axis."""
        axis = self.channel_axis
        return replace(self, shape=self.shape[:axis] + (channels,) + self.shape[axis + 1:])


def as_samples(inputs: list[Tensor]) -> list[Py]:
    """The forward's values of `inputs` for a layer whose code needs a batch axis: a tensor
    without one is given a batch of one (`self.pos.unsqueeze(0)`), computed as one sample."""
    return [Py(t.node) if t.batched else call(attr(Py(t.node), "unsqueeze"), [lit(0)])
            for t in inputs]


def as_computed(result: Py, inputs: list[Tensor]) -> Py:
    """A result `as_samples` gave a batch of one, without it again (`.squeeze(0)`), where
    none of `inputs` had a batch axis; else as it is, broadcast to theirs."""
    if any(t.batched for t in inputs):
        return result
    return call(attr(result, "squeeze"), [lit(0)])


ITEM = "__item__"  # an item's index in the expression of a list's channels per item


@dataclass
class TensorList:
    """A list of tensors the forward holds in one variable (`features`, `inner_blocks`) or
    reads as one expression (`[body[i - 1] for i in self.returned]`), of a length the class
    need not know: it is indexed, looped over and passed whole. Its items share `shape`
    (spatial sizes None), except their channels where `per_item` gives them as an expression
    of the item's index (the name ITEM: `in_channels_list[__item__]`), `items` one by one
    (a labeled call's outputs kept whole), or `channels_list` as one constructor list.

    `length` is the number of items as the constructor computes it (None when only the forward
    knows it); `deps` the block parameters the list is made over, which a class that cannot
    be written for every length is specialised on; `whole` that the forward's value is a
    tuple a block gave (`return fpn` rather than `return tuple(fpn)`).
    """

    var: str | None
    shape: Shape
    length: Py | None
    per_item: Py | None = None
    deps: frozenset[str] = frozenset()
    caxis: int = 0
    whole: bool = False
    read: ast.expr | None = None
    items: tuple[Tensor, ...] | None = None
    channels_list: Py | None = None

    @property
    def rank(self) -> int:
        return len(self.shape) - 1

    @property
    def node(self) -> ast.expr:
        if self.var is None and self.read is not None:
            return copy.deepcopy(self.read)
        return ast.Name(self.var, ast.Load())  # type: ignore[arg-type]

    def channels_at(self, index: Py | None) -> Py | None:
        """The channels of item `index` (a constructor expression), where they are known."""
        if self.items is not None and index is not None and type(index.const) is int and \
                -len(self.items) <= index.const < len(self.items):
            item = self.items[index.const]
            return item.shape[item.caxis]
        if self.shape[self.caxis] is not None:
            return self.shape[self.caxis]
        if index is None:
            return None
        if self.per_item is not None:
            return substitute(self.per_item, {ITEM: index})
        source = self._source()
        if source is not None:  # `self.body.out_channels[i - 1]`
            return Py(ast.Subscript(source.node, index.node, ast.Load()), UNKNOWN,
                      source.deps | index.deps)
        return None

    def _source(self) -> Py | None:
        """E, when item k's channels are E[k] for every k (`self.body.out_channels`)."""
        if self.items is None or not self.items:
            return None
        bases = set()
        for k, item in enumerate(self.items):
            c = item.shape[item.caxis]
            if c is None or not isinstance(c.node, ast.Subscript) or \
                    not isinstance(c.node.slice, ast.Constant) or c.node.slice.value != k:
                return None
            bases.add(ast.dump(c.node.value))
        if len(bases) != 1:
            return None
        first = self.items[0].shape[self.items[0].caxis]
        assert first is not None
        return Py(first.node.value, UNKNOWN, first.deps)  # type: ignore[attr-defined]

    def channels(self) -> Py | None:
        """The items' channels as one constructor list (`in_channels_list`, `[width] * n`)."""
        if self.channels_list is not None:
            return self.channels_list
        if self.items is not None:
            source = self._source()
            if source is not None:  # `self.body.out_channels`
                return source
            channels = [t.shape[t.caxis] for t in self.items]
            return None if any(c is None for c in channels) else \
                list_of(channels)  # type: ignore[arg-type]
        if self.per_item is not None:
            node = self.per_item.node
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and \
                    node.slice.id == ITEM and ITEM not in names_in(node.value):
                return Py(node.value, UNKNOWN, self.per_item.deps)
            if self.length is None:
                return None
            index = "i"
            body = substitute(self.per_item, {ITEM: name(index)})
            loop = ast.comprehension(ast.Name(index, ast.Store()),
                                     call("range", [self.length]).node, [], 0)
            return Py(ast.ListComp(body.node, [loop]), UNKNOWN, body.deps | self.length.deps)
        channels = self.shape[self.caxis]
        if channels is None or self.length is None:
            return None
        if type(self.length.const) is int and self.length.const <= 2:
            return list_of([channels] * self.length.const)
        return binop("*", list_of([channels]), self.length)

    def total_channels(self) -> Py | None:
        """The channels of its items together, which their concatenation has (`2 * len(ks)`,
        `sum(in_channels_list)`); None where the constructor cannot give them."""
        uniform = self.shape[self.caxis]
        if uniform is not None and self.length is not None:
            return simplify(binop("*", uniform, self.length))
        channels = self.channels()
        return None if channels is None else call("sum", [channels])

    def known_items(self) -> tuple[Tensor, ...] | None:
        """Each item, read from the list, where the constructor knows how many there are
        (`s: two` used as a list, `l: lat([x, x])`); None otherwise."""
        if self.length is None or type(self.length.const) is not int:
            return None
        return tuple(self.item(lit(k), ast.Subscript(self.node, ast.Constant(k), ast.Load()))
                     for k in range(self.length.const))

    def item(self, index: Py | None, read: ast.expr) -> Tensor:
        """One item as a tensor the forward reads as `read`."""
        if self.items is not None and index is not None and type(index.const) is int and \
                -len(self.items) <= index.const < len(self.items):
            return replace(self.items[index.const], read=read, var=None)
        channels = self.channels_at(index)
        shape = self.shape[:self.caxis] + (channels,) + self.shape[self.caxis + 1:]
        return Tensor(shape, None, caxis=self.caxis, read=read)


@dataclass
class Flow:
    """The current tensor, the labeled tensors a body can name, and the block's input."""

    current: Tensor | None
    labels: dict[str, Tensor] = field(default_factory=dict)
    block_input: Tensor | None = None
    hint: str = RUNNING  # the name of a new variable in this flow
    outputs: list[tuple[str, Tensor]] = field(default_factory=list)
    results: list[Tensor] | None = None  # the tensors of the last call of several outputs
    groups: dict[str, list[Tensor]] = field(default_factory=dict)  # a labeled call's outputs
    returned: bool = False  # an `if` whose every branch ends in an `output` ended the body
    listed: tuple[Tensor, ...] | None = None  # `rows = [from f -> ... for f in features]`
    # made the current value a list of tensors: a variadic operator next takes them all

    def fork(self, current: Tensor | None, hint: str | None = None) -> Flow:
        return Flow(current, self.labels, self.block_input, hint or self.hint,
                    list(self.outputs), groups=self.groups)


@dataclass
class Position:
    """A positional child's name where an `if` before it decides the position: the
    constructor's expression (`str(position + 2)`) and the forward's (`str(self.position + 2)`)."""

    ctor: ast.expr
    fwd: ast.expr
    text: str  # the name it stands for in lists of registered names


@dataclass(frozen=True)
class ComputedLabel(Py):
    """A label the spec computes (`("stack" + str(i + 1))`) as the constructor writes it;
    `source` (the expression, its environment and flow) gives the forward's on demand."""

    source: tuple = field(default=(), compare=False, repr=False)


@dataclass
class Offset:
    """Where a scope's positions start when an `if` before them decides it: a constructor
    expression (`1 if pre_relu else 0`), given a variable (`position`) at its first use, which
    is assigned right after `anchor` (the statement the `if` ended with) in `ctor`."""

    value: Py
    ctor: list[ast.stmt]
    anchor: ast.stmt | None
    var: str | None = None


class NamedChild(Exception):
    """A chain being built as a list met a labeled layer: it needs a Sequential by name."""


class Owner:
    """Where a scope's children are registered, and how a forward reads one."""

    base: ast.expr
    sequential: bool = False

    def register(self, name: str | Py | None, module: Py) -> ast.stmt:
        raise NotImplementedError

    def ref(self, name: str, ctor: bool = False) -> ast.expr:
        raise NotImplementedError


class SequentialOwner(Owner):
    """An nn.Sequential (the class itself or a local), filled in order: a positional child is
    appended (named by its position, as the spec names it); a labeled one is named."""

    sequential = True

    def __init__(self, target: str, is_list: bool = False):
        self.base = dotted(target)
        self.target = target
        self.is_list = is_list

    def register(self, name: str | Py | None, module: Py) -> ast.stmt:
        if name is None:
            return _expr(ast.Call(ast.Attribute(self.base, "append", ast.Load()),
                                  [module.node], []))
        if self.is_list:
            raise NamedChild
        if isinstance(name, str) and is_identifier(name):
            return ast.Assign([ast.Attribute(self.base, name, ast.Store())], module.node)
        key = lit(name).node if isinstance(name, str) else name.node
        return _expr(ast.Call(ast.Attribute(self.base, "add_module", ast.Load()),
                              [key, module.node], []))

    def ref(self, name: str, ctor: bool = False) -> ast.expr:
        raise AssertionError("a chain is not wired by a forward")


class ModuleOwner(Owner):
    """Children as attributes of `self` (`self.conv1`, `getattr(self, "3")`), or of a
    ModuleDict attribute that holds a labeled group's layers (`self.select["0"]`).

    A parameter is no module: it is registered on the owner by its name, which is the
    state_dict key the spec's layer table gives (`t.0`), and read as an attribute
    (`getattr(self.t, "0")`), as a ModuleDict's items hold modules only."""

    def __init__(self, base: ast.expr, is_dict: bool = False):
        self.base = base
        self.is_dict = is_dict
        self.parameters: set[str] = set()  # the names of the parameters registered

    def register(self, name: str | Py | Position | None, module: Py) -> ast.stmt:
        if _is_parameter(module) and not (isinstance(name, str) and is_identifier(name)):
            return self._register_parameter(name, module)  # type: ignore[arg-type]
        if isinstance(name, Position):
            if self.is_dict:
                return ast.Assign([ast.Subscript(self.base, name.ctor, ast.Store())], module.node)
            return _expr(ast.Call(ast.Attribute(self.base, "add_module", ast.Load()),
                                  [name.ctor, module.node], []))
        assert isinstance(name, str)
        if is_identifier(name):
            return ast.Assign([ast.Attribute(self.base, name, ast.Store())], module.node)
        if self.is_dict:
            return ast.Assign([ast.Subscript(self.base, ast.Constant(name), ast.Store())],
                              module.node)
        return _expr(ast.Call(ast.Attribute(self.base, "add_module", ast.Load()),
                              [ast.Constant(name), module.node], []))

    def _register_parameter(self, name: str | Position, module: Py) -> ast.stmt:
        """`self.t.register_parameter("0", nn.Parameter(...))`: a parameter named by its
        position, which is no attribute name."""
        key = name.ctor if isinstance(name, Position) else ast.Constant(name)
        self.parameters.add(name.text if isinstance(name, Position) else name)
        return _expr(ast.Call(ast.Attribute(self.base, "register_parameter", ast.Load()),
                              [key, module.node], []))

    def ref(self, name: str | Position, ctor: bool = False) -> ast.expr:
        if isinstance(name, Position):
            key = copy.deepcopy(name.ctor if ctor else name.fwd)
            if self.is_dict and name.text not in self.parameters:
                return ast.Subscript(self.base, key, ast.Load())
            return ast.Call(ast.Name("getattr", ast.Load()), [self.base, key], [])
        if is_identifier(name):
            return ast.Attribute(self.base, name, ast.Load())
        if self.is_dict and name not in self.parameters:
            return ast.Subscript(self.base, ast.Constant(name), ast.Load())
        return ast.Call(ast.Name("getattr", ast.Load()), [self.base, ast.Constant(name)], [])


class ListOwner(Owner):
    """An nn.ModuleList attribute made by a comprehension of layers, one layer per item:
    the items' modules are gathered and the list made at once."""

    def __init__(self, base: ast.expr, item: ast.expr | None = None):
        self.base = base
        self.index = 0
        self.item = item  # how a forward written once for every item reads the item's layer
        self.modules: list[Py] = []

    def register(self, name: str | Py | None, module: Py) -> ast.stmt:
        self.modules.append(module)
        return ast.Pass()

    def ref(self, name: str, ctor: bool = False) -> ast.expr:
        if self.item is not None:
            return copy.deepcopy(self.item)
        return ast.Subscript(self.base, ast.Constant(self.index), ast.Load())


def _is_parameter(module: Py) -> bool:
    node = module.node
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr == "Parameter"


def _expr(node: ast.expr) -> ast.stmt:
    return ast.Expr(node)


@dataclass
class Scope:
    """One naming scope being generated: its mode, owner, the statements of the constructor
    and (in a module) of the forward at the current nesting, and the position of the next
    element. A position that depends on an `if` before it is `dynamic` (its parameters)."""

    mode: str  # "chain" or "module"
    owner: Owner
    ctor: list[ast.stmt]
    fwd: list[ast.stmt] | None
    counter: int = 0
    dynamic: frozenset[str] | None = None
    offset: Offset | None = None  # where `counter` 0 is, when an `if` before decides it
    registered: list[str] = field(default_factory=list)
    # the labels an `if` registers in some of its branches, and the parameters it tests
    chosen: dict[str, frozenset[str]] = field(default_factory=dict)
    last_overwritable: bool = False  # the last layer of a chain lets the next work in place
    # in a chain, each label's tensor and the position of the layer after it (None: a loop
    # or an `if` before it makes that position a constructor's choice)
    marks: dict[str, tuple[int, Tensor] | None] = field(default_factory=dict)
    # a chain called from a forward: its label's full path there (`g`, `head.g`), by which
    # the body reads a layer of it by position (`output g.0`)
    path: str | None = None

    def nested(self, ctor: list[ast.stmt], fwd: list[ast.stmt] | None) -> Scope:
        return Scope(self.mode, self.owner, ctor, fwd, self.counter, self.dynamic,
                     self.offset, self.registered, self.chosen, marks=self.marks,
                     path=self.path)

    def take(self) -> int:
        position = self.counter
        self.counter += 1
        return position
