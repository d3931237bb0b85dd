"""Block instantiations as definitions with call sites: the hierarchy at the centre of the IR.

A `Definition` is one distinct instantiation of a block: the block, its bound arguments and the
shapes of its input tensors. It holds its own graph in execution order: `Node`s (operator
applications) and `Call`s (applications of other definitions), named locally with dotted names
(`conv1`, `downsample.0`, `layer1`). A value is named by a *reference*: a port of the definition
(`$0`, `$1`, ... for its input tensors), a node's name, or the name of a node inside a call
seen from outside (`layer1.2.relu`, which is also that node's dotted name relative to the
caller). The network itself is the top definition.

The same definition serves every call with the same key: elaboration, shape inference and the
analyses run once per definition, and the flat layer graph (`netdsl.ir.flatten`) is a view
derived from the hierarchy. A *shared* module is one `Instance` applied at several call sites:
its parameters belong to the instance, counted once; its MACs and activations to each call.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from netdsl.errors import Span
from netdsl.ir.node import Node, Scope
from netdsl.ops.base import Shape

if TYPE_CHECKING:
    from netdsl.ir.graph import Expectation

PORT = "$"  # the first character of a port reference; labels cannot contain it


def port(index: int) -> str:
    """The reference of a definition's input tensor number `index`."""
    return f"{PORT}{index}"


def is_port(ref: str) -> bool:
    return ref[:1] == PORT


@dataclass(eq=False)
class Instance:
    """A module declared once with `shared` and applied at several call sites.

    `target` is the block definition (`ast.BlockDef`) or operator class it instantiates, with
    its bound arguments; `owner` the definition whose body declared it (its parameters are
    counted there, once). `calls` counts the applications made so far (names them `head`,
    `head#2`, ...).
    """

    name: str
    target: Any
    args: dict[str, Any]
    span: Span
    owner: Definition | None = None
    calls: int = 0
    first: Node | Call | None = None  # the first application: whose figures are the weights'
    kind: ClassVar[str] = "shared module"

    def notation(self) -> str:
        return self.name

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(eq=False, slots=True)
class Call:
    """An application of a definition: `inputs` are references in the caller, `outputs` the
    references under which the caller sees the callee's outputs (in the callee's order).

    A *run* (`count` > 1) is the same definition applied `count` times in a row, each call on
    the previous one's output (a repeat `unit * n` once the shape is steady): its members are
    named by consecutive positions from `name` (`layer1.1` .. `layer1.110`) and `outputs` are
    the last member's.
    """

    name: str
    definition: Definition
    inputs: list[str]
    outputs: list[str]
    span: Span | None = None
    shared: Instance | None = None
    call_sites: tuple[tuple[str, Span], ...] = ()
    scope: tuple[str, ...] = ()  # the caller's local scopes that enclose the call
    count: int = 1

    @property
    def is_input(self) -> bool:
        return False

    def members(self) -> list[str]:
        """The name of each call of a run (the one name of a plain call)."""
        return [self.member(k) for k in range(self.count)]

    @property
    def numbered_in(self) -> str:
        """The scope a run's members are numbered in (`layer1` of `layer1.1`)."""
        return self.name.rpartition(".")[0]

    @property
    def first(self) -> int:
        """The position of a run's first member (`layer1.1`: 1)."""
        return int(self.name.rpartition(".")[2])

    def member(self, k: int) -> str:
        """The name of call `k` of a run."""
        if k == 0:
            return self.name
        prefix = self.numbered_in
        return f"{prefix}.{self.first + k}" if prefix else str(self.first + k)

    def member_of(self, ref: str) -> str | None:
        """The rest of `ref` below the member of this call it names, or None."""
        if self.count == 1:
            return ref[len(self.name) + 1:] if ref.startswith(self.name + ".") else None
        lead = f"{self.numbered_in}." if self.numbered_in else ""
        if not ref.startswith(lead):
            return None
        position, dot, rest = ref[len(lead):].partition(".")
        if dot and position.isdigit() and self.first <= int(position) < self.first + self.count:
            return rest
        return None


@dataclass(eq=False)
class Definition:
    """One distinct instantiation of a block, or the network's own body."""

    name: str  # the block's name, or the network's
    block: str | None  # None for the network body
    args: dict[str, Any]
    span: Span | None  # the block (or network) definition
    inputs: list[Shape]  # shapes of the ports $0, $1, ...
    input_names: list[str] = field(default_factory=list)  # `in`, or the tensor parameters
    items: dict[str, Node | Call] = field(default_factory=dict)  # execution order
    scopes: dict[str, Scope] = field(default_factory=dict)  # local groups, merges, repeats
    top: list[str] = field(default_factory=list)  # children of the body, in order
    values: dict[str, Shape] = field(default_factory=dict)  # shape of every reference
    outputs: list[str] = field(default_factory=list)  # references, in output order
    output_names: list[str] = field(default_factory=list)
    listed: bool = False  # the outputs are one list (`output row`), a list even of one tensor
    network_inputs: list[str] = field(default_factory=list)  # the network's input nodes
    instances: list[Instance] = field(default_factory=list)  # shared modules declared here
    expectations: list[Expectation] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # the analyses' figures, once
    runs: dict[str, list[Call]] = field(default_factory=dict)  # per scope, by first position
    tails: dict[str, str] = field(default_factory=dict)  # a split run's rest, until settled

    def shape(self, ref: str) -> Shape:
        return self.values[ref]

    def add(self, item: Node | Call) -> None:
        """Append a node or call, registering the shapes of the values it makes."""
        self.items[item.name] = item
        if isinstance(item, Call):
            for ref, shape in zip(item.outputs, item.definition.output_shapes(), strict=True):
                self.values.setdefault(ref, shape)
        else:
            self.values[item.name] = item.meta["shape"]

    def output_shapes(self) -> list[Shape]:
        return [self.values[ref] for ref in self.outputs]

    def add_run(self, run: Call) -> None:
        """Index a run (a call with `count` > 1) by its scope and first position."""
        insort(self.runs.setdefault(run.numbered_in, []), run, key=_first)

    def run_ending_at(self, scope: str, position: int) -> Call | None:
        """The call whose last member is `scope.position` (`layer1.2`), the run of `scope`
        that holds it split there; None if no run holds it."""
        runs = self.runs.get(scope, [])
        at = bisect_right(runs, position, key=_first) - 1
        run = runs[at] if at >= 0 else None
        if run is None or position >= run.first + run.count:
            return None
        return self.split_run(run, position - run.first)

    def split_run(self, run: Call, k: int) -> Call:
        """Cut `run` after its member `k` so that this member's outputs are the outputs of a
        call, as a later `from layer1.1` needs; return the call ending there. The members
        after `k` become a second run, which `settle` places right after the first."""
        if not 0 <= k < run.count - 1:
            return run
        last = run.member(k)
        callee = run.definition
        head_outputs = [run.inputs[int(ref[1:])] if is_port(ref) else f"{last}.{ref}"
                        for ref in callee.outputs]
        tail = replace(run, name=run.member(k + 1), inputs=head_outputs,
                       count=run.count - k - 1)
        run.outputs, run.count = head_outputs, k + 1
        for ref, shape in zip(head_outputs, callee.output_shapes(), strict=True):
            self.values.setdefault(ref, shape)
        self.items[tail.name] = tail
        if run.name in self.tails:
            self.tails[tail.name] = self.tails[run.name]
        self.tails[run.name] = tail.name
        self.add_run(tail)
        siblings = self.scopes[run.scope[-1]].children if run.scope else self.top
        siblings.insert(siblings.index(run.name) + 1, tail.name)
        return run

    def settle(self) -> None:
        """Put the items back in execution order once the body is elaborated: each split
        run's rest right after its head (they were appended, to keep each split cheap)."""
        if not self.tails:
            return
        rests = set(self.tails.values())
        ordered: dict[str, Node | Call] = {}
        for name, item in self.items.items():
            if name in rests:
                continue
            ordered[name] = item
            while name in self.tails:
                name = self.tails[name]
                ordered[name] = self.items[name]
        self.items = ordered
        self.tails.clear()

    def producer(self, ref: str) -> Node | None:
        """The node that makes the value `ref`, looked up through calls; None for a port."""
        item = self.items.get(ref)
        if isinstance(item, Node):
            return item
        for call in self.items.values():
            if isinstance(call, Call):
                rest = call.member_of(ref)
                if rest is not None:
                    return call.definition.producer(rest)
        return None

    def layer(self, dotted: str) -> str | None:
        """The value the stats table's row `dotted` shows (relative to this body: a node, a
        call's first output, a layer inside a call), which `expect` reads by that name; None
        where no row of one call has that name."""
        item = self.items.get(dotted)
        if isinstance(item, Node):
            return dotted
        if isinstance(item, Call):
            return item.outputs[0] if item.outputs else None
        parts = dotted.split(".")
        for k in range(len(parts) - 1, 0, -1):  # the call the name is inside, looked up
            call = self.items.get(".".join(parts[:k]))
            if isinstance(call, Call) and call.count == 1:
                inner = call.definition.layer(".".join(parts[k:]))
                return None if inner is None or is_port(inner) else f"{call.name}.{inner}"
        return None

    def calls(self) -> list[Call]:
        return [item for item in self.items.values() if isinstance(item, Call)]

    def __repr__(self) -> str:
        return f"<Definition {self.name}: {len(self.items)} items, {len(self.inputs)} inputs>"


def _first(call: Call) -> int:  # a sort key
    return call.first
