"""What the elaborator carries while it builds one definition, and one value per call site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from netdsl.elaborate.naming import Naming
from netdsl.elaborate.values import UNBOUND, Env, TensorValue
from netdsl.errors import Span, SpecError
from netdsl.ir import Call, Definition

# The tensor(s) a chain has reached: one reference, several (after a block with several
# outputs), or none yet (before a network's first input).
Current = Union[str, tuple[str, ...], None]

AMBIGUOUS: Any = object()  # a short label that names several tensors of one body


@dataclass
class Returned:
    """What an unlabeled call of an `inline block` returns: its `output` statement's tensors,
    which are the call's value rather than outputs of the definition it joins."""

    outputs: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    listed: bool = False


def returned_value(outputs: list[str], listed: bool) -> Current:
    """A call's value: its one output, or the list of them (a list output stays a list, even
    of one tensor)."""
    return outputs[0] if len(outputs) == 1 and not listed else tuple(outputs)


@dataclass
class Frame:
    """One body being instantiated: the network's, or a block's as a new definition."""

    env: Env
    definition: Definition
    path: str = ""  # dotted name of the definition's first call, for `expect` and messages
    block_input: str | None = None  # the reference `in` stands for
    call_sites: tuple[tuple[str, Span], ...] = ()
    tensors: dict[str, Any] = field(default_factory=dict)  # label -> reference(s)
    ports: list[tuple[str, str]] = field(default_factory=list)  # (flat name, kind) per port
    # each `shared` declaration made so far, with what its name meant before it: a group
    # forgets those made in it when it ends
    declared: list[tuple[Env, str, Any]] = field(default_factory=list)
    returned: Returned | None = None  # set in an inline call's body: where `output` goes

    @property
    def output_target(self) -> Definition | Returned:
        """Where an `output` statement puts its tensors."""
        return self.returned if self.returned is not None else self.definition

    def no_input(self, span: Span) -> SpecError:
        """A layer applied where no tensor flows in: before the network's input, or in a
        value (a list of lists, an argument) where tensors do not flow."""
        if not self.ports and not self.tensors and self.block_input is None:
            return SpecError("no input tensor here", "name", span,
                             help="declare the network's input first: input x: [3, 224, 224]")
        return SpecError("no input tensor here: a layer is called inside a value", "name", span,
                         help="layers read tensors in a chain, a merge or a one-level tensor "
                              "comprehension (`[relu(t) for t in xs]`); write the inner list "
                              "as a label of its own")

    def flat(self, ref: str) -> str:
        """A reference as the user sees it: the dotted name of the layer in the network."""
        if ref.startswith("$"):
            return self.ports[int(ref[1:])][0]
        return f"{self.path}.{ref}" if self.path else ref

    def local(self, ref: str) -> str:
        """A reference as this body's text names it: by a name bound to it (`a = from x ->
        ...`, a tensor parameter), `in`, or its local name."""
        if ref == self.block_input:
            return "in"
        env: Env | None = self.env
        while env is not None:
            found = next((name for name, value in env.vars.items()
                          if isinstance(value, TensorValue) and value.node == ref), None)
            if found is not None:
                return found
            env = env.parent
        return ref

    def kind(self, ref: str) -> str:
        """What makes the tensor `ref`: an operator's name, `input` or a block's output."""
        if ref.startswith("$"):
            return self.ports[int(ref[1:])][1]
        node = self.definition.producer(ref)
        if node is None:
            return "block output"
        return node.op.name if node.op is not None else "input"

    def position(self, dotted: str) -> str | None:
        """The tensor a path through numbered positions names (`g.0`, `features.12`): the
        layer of that name made so far in this definition, or a block call's one output."""
        if not any(part.isdigit() for part in dotted.split(".")):
            return None
        item = self.definition.items.get(dotted)
        if item is None or isinstance(item, Call) and item.count > 1:
            item = self.run_member(dotted) or item
        if isinstance(item, Call):
            return item.outputs[0] if len(item.outputs) == 1 else None
        return dotted if item is not None and dotted in self.definition.values else None

    def run_member(self, dotted: str) -> Call | None:
        """The call ending at the member of a run that `dotted` names (`layer1.2` of a run
        `layer1.1` .. `layer1.5`), the run split there; None if no run holds it."""
        prefix, _, position = dotted.rpartition(".")
        if not (position.isascii() and position.isdigit()) or len(position) > 18:
            return None
        return self.definition.run_ending_at(prefix, int(position))

    def forget_shared(self, mark: int) -> None:
        """Undo the `shared` declarations made since `declared` was `mark` long: a shared
        module is visible in the group that declares it, not after it."""
        while len(self.declared) > mark:
            env, name, before = self.declared.pop()
            if before is UNBOUND:
                env.vars.pop(name, None)
            else:
                env.vars[name] = before

    def bind_label(self, label: str, full: str, ref: Current) -> None:
        """Make the tensor `ref` reachable by its label and by its local dotted name."""
        tensors = self.tensors
        tensors[full] = ref
        if label != full:
            tensors[label] = AMBIGUOUS if label in tensors and tensors[label] != ref else ref


@dataclass
class Site:
    """One element being applied: its label, position, naming scope and the tensor(s) it
    takes. The value every layer rule receives instead of a chain of positional arguments."""

    label: str | None
    span: Span
    naming: Naming
    current: Current

    def with_current(self, current: Current) -> Site:
        return Site(self.label, self.span, self.naming, current)

    def unlabeled(self) -> Site:
        return Site(None, self.span, self.naming, self.current)
