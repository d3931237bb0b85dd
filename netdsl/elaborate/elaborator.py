"""Instantiates a network: evaluates parameters, calls blocks, unrolls repeats and loops,
resolves tensor names and names every layer, building the hierarchy of definitions (`netdsl.ir`).

The work is split by concern: `Statements` (one method per statement), `Layers` (chain elements,
one method per kind of layer), `Blocks` (binding and instantiating block calls, once per
distinct definition), `Shared` (shared modules), `Builder` (nodes, scopes, shapes and the
expansion budget). This class holds what they share and answers the evaluator's questions
about names (`Resolver`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netdsl.elaborate.blocks import Blocks, check_type, signature
from netdsl.elaborate.builder import Builder
from netdsl.elaborate.cache import DefinitionCache
from netdsl.elaborate.constructs import CONSTRUCTS
from netdsl.elaborate.frame import AMBIGUOUS, Frame, Site
from netdsl.elaborate.layers import Layers
from netdsl.elaborate.loader import Program
from netdsl.elaborate.naming import Naming
from netdsl.elaborate.shared import Shared
from netdsl.elaborate.statements import Statements
from netdsl.elaborate.values import (
    Evaluator,
    FollowOnError,
    LayerRef,
    Poisoned,
    Resolver,
    TensorValue,
    holds_tensors,
)
from netdsl.errors import (
    Diagnostic,
    NetdslError,
    Override,
    Span,
    SpecError,
    did_you_mean,
)
from netdsl.ir import Definition, Expectation
from netdsl.limits import MAX_ERRORS, MAX_NODES
from netdsl.ops import REGISTRY
from netdsl.syntax import ast
from netdsl.syntax.tree import walk


class Elaborator(Resolver):
    """Builds the top `Definition` of one network of a `Program`."""

    def __init__(self, program: Program, max_nodes: int = MAX_NODES,
                 inputs: dict[str, tuple[int, ...]] | None = None,
                 cache: DefinitionCache | None = None):
        self.program = program
        self.input_overrides = dict(inputs or {})
        self.evaluator = Evaluator(self, program.budget)
        self.builder = Builder(self, max_nodes)
        self.statements = Statements(self)
        self.layers = Layers(self)
        self.blocks = Blocks(self, cache)
        if cache is not None:
            self.builder.shapes = cache.shapes
        self.shared = Shared(self)
        self.expectations: list[Expectation] = []
        self.frame = Frame(program.env, Definition("", None, {}, None, []))
        self.naming = Naming("", None)  # the scope of the statement being elaborated

    # ------------------------------------------------------------ Resolver

    def tensor(self, name: str) -> TensorValue | None:
        ref = self.frame.tensors.get(name)
        if ref is None:
            return None
        if ref is AMBIGUOUS:
            raise SpecError(f"the label '{name}' names several tensors", "name",
                            help="use its dotted name, e.g. 'branch1.conv'")
        shape = self.frame.definition.shape
        if not isinstance(ref, str):  # a label of several tensors is the list of them
            return tuple(TensorValue(r, shape(r), f"{name}[{i}]")  # type: ignore[return-value]
                         for i, r in enumerate(ref))
        return TensorValue(ref, shape(ref), name)

    def block_input(self) -> TensorValue:
        ref = self.frame.block_input
        if ref is None:
            if self.frame.call_sites:
                raise SpecError("`in` is not defined in a block with tensor parameters", "name",
                                help="name the tensors by their parameters")
            raise SpecError("`in` is only defined inside a block", "name",
                            help="in a network, name the tensor with a label")
        return TensorValue(ref, self.frame.definition.shape(ref), "in")

    def is_layer(self, name: str) -> bool:
        return name in REGISTRY or name in self.program.blocks or name in CONSTRUCTS

    def layer_names(self) -> set[str]:
        return set(REGISTRY) | set(self.program.blocks) | set(CONSTRUCTS)

    def layer_kind(self, name: str) -> str | None:
        if name in REGISTRY:
            return "operator"
        if name in self.program.blocks:
            return "block"
        return "layer" if name in CONSTRUCTS else None

    def tensor_at(self, path: ast.From) -> Any:
        """What `from path` names as a value: a name bound to a list of lists of tensors is
        that list (`from rows[0][0]`), anything else the tensor(s) of `from`."""
        if len(path.path) == 1:
            bound = self.frame.env.find(path.path[0])
            if isinstance(bound, tuple) and holds_tensors(bound):
                return bound
        return self.layers.tensor_value(self.layers.from_tensor(path))

    def applies_layers(self, chain: ast.Chain) -> bool:
        elements = chain.elements
        return len(elements) > 1 or elements[0].label is not None or \
            self.layers.applies_layers(elements[0].value)

    def calls_on_items(self, e: ast.Comprehension) -> bool:
        return self.layers.calls_on_items(e)

    def apply_chain(self, chain: ast.Chain, env: Any, index: int, count: int) -> Any:
        """A comprehension's item that applies layers, named in the statement's scope."""
        frame = self.frame
        outer = frame.env
        frame.env = env
        try:
            with self.builder.repetition(index, count):
                out = self.layers.chain(chain, None, self.naming)
        finally:
            frame.env = outer
        return self.layers.tensor_value(out)

    # ------------------------------------------------------------ networks

    def network(self, name: str | None, overrides: dict[str, Any]) -> Definition:
        net = self.pick(name)
        self.check_parameter_names(net, overrides)
        overrides = self.layer_overrides(net, overrides)
        self.check_parameter_types(net, overrides)
        try:  # a bad --set or load(..., name=value) is the user's error, located at the network
            bound = self.bind_network(net, overrides)
        except SpecError as exc:
            raise NetdslError(self.diagnostic(exc)) from None
        top = Definition(net.name, None, dict(bound), net.span, [])
        self.frame = Frame(self.program.env.child(**bound), top)
        errors, current = self.body(net.body)
        top.settle()
        errors += [_unknown_input(net, key, top.network_inputs) for key in self.input_overrides]
        errors += self.unused_instances(top)
        if errors:
            raise NetdslError(errors)
        if not top.network_inputs:
            raise NetdslError(Diagnostic(f"network '{net.name}' has no input", net.span, "name",
                                         help="declare one: input x: [3, 224, 224]"))
        if not top.outputs:
            refs = (current,) if isinstance(current, str) else current or ()
            if not refs:  # a list of tensors it ends at is empty
                raise NetdslError(Diagnostic(
                    f"network '{net.name}' ends at an empty list of tensors: it has no output",
                    net.body[-1].span if net.body else net.span, "name",
                    help="end it at a tensor, or name its outputs: output a, b"))
            top.outputs.extend(refs)
            top.output_names.extend(refs)
        top.expectations = self.expectations
        return top

    def body(self, stmts: tuple[ast.Stmt, ...]) -> tuple[list[Diagnostic], Any]:
        """The network's statements, each on its own: an error is reported and the next
        statement tried, until one has no input to go on from.

        A statement that reads what a failed one made (the current tensor after it, or one of
        its labels) is *tainted*: its input's shape is not the one the user meant, so a shape
        error in it would only echo the first; it is dropped. Other mistakes in it (an unknown
        name, a wrong argument) are still reported."""
        errors: list[Diagnostic] = []
        current: Any = None
        failed = False  # the current tensor comes from a failed statement
        tainted_names: set[str] = set()
        naming = Naming("", None)
        for stmt in stmts:
            # whether `stmt` makes tensors matters only after an error (the question may
            # evaluate part of it: a statement without errors is not asked)
            makes = self.makes_tensors(stmt) if failed else None
            tainted = (failed and makes and _reads_current(stmt)) or _mentions(stmt,
                                                                              tainted_names)
            try:
                current = self.statements.statement(stmt, current, naming)
            except SpecError as exc:
                self.poison(stmt)
                if not isinstance(exc, FollowOnError) and not (tainted and exc.code == "shape"):
                    exc.span = exc.span or stmt.span  # every message is located
                    _add_once(errors, self.diagnostic(exc))
                tainted = True
                if exc.code == "limit" or len(errors) >= MAX_ERRORS or current is None:
                    break
            if (failed or tainted) and (makes if makes is not None
                                        else self.makes_tensors(stmt)):
                failed = tainted
            if tainted:
                tainted_names.update(_bound_names(stmt))
        return errors, current

    def makes_tensors(self, stmt: ast.Stmt) -> bool:
        """Whether `stmt` applies layers (and so sets the current tensor)."""
        return _chain_of(stmt) is not None or isinstance(stmt, (ast.If, ast.For)) or (
            isinstance(stmt, ast.Assign) and self.layers.applies_layers(stmt.value))

    def poison(self, stmt: ast.Stmt) -> None:
        """Mark the names `stmt` would have bound, and did not, as failed."""
        vars_, tensors = self.frame.env.vars, self.frame.tensors
        for name in _bound_names(stmt):
            if name not in tensors and not isinstance(vars_.get(name), TensorValue):
                vars_[name] = Poisoned()

    def unused_instances(self, top: Definition) -> list[Diagnostic]:
        out = []
        for value in top.instances:  # those a group declared too
            if value.calls == 0:
                out.append(Diagnostic(f"the shared module '{value.name}' is never applied",
                                      value.span, "name",
                                      help=f"apply it in a chain: from x -> {value.name}"))
        return out

    def pick(self, name: str | None) -> ast.BlockDef:
        nets = self.program.networks
        own = [b.name for b in self.program.root.items
               if isinstance(b, ast.BlockDef) and b.is_network]
        if name is None:
            if len(own) == 1:
                return nets[own[0]]
            where = Span.file(self.program.root.path)
            if not own:
                raise NetdslError(Diagnostic("the file defines no network", where, "name",
                                             help="add one: network name { input x: [...] ... }"))
            raise NetdslError(Diagnostic(
                f"the file defines several networks: {', '.join(own)}", where,
                "usage", help="choose one with --network NAME"))
        if name not in nets:
            shown = name if len(name) <= 80 else name[:60] + "..."
            raise NetdslError(Diagnostic(f"no network named '{shown}'",
                                         Span.file(self.program.root.path), "name",
                                         help=did_you_mean(name, nets) or
                                         f"networks: {', '.join(sorted(nets)) or 'none'}"))
        return nets[name]

    def input_shape(self, stmt: ast.Input, declared: Any) -> Any:
        """The shape of a network input: the declared one, or the one `--input` gives, which
        must have the declared rank."""
        overrides = self.input_overrides
        key = stmt.name if stmt.name in overrides else "" if "" in overrides else None
        if key is None:
            return declared
        shape = overrides.pop(key)
        if isinstance(declared, tuple) and len(declared) != len(shape):
            dims = "x".join(str(d) for d in shape)
            want = "x".join(str(d) for d in declared)
            raise SpecError(f"--input gives '{stmt.name}' {len(shape)} dimensions ({dims}), but "
                            f"it is declared with {len(declared)} ({want})", "usage", stmt.span,
                            help=f"give all of them, channels first: --input {want}")
        return shape

    def diagnostic(self, exc: SpecError) -> Diagnostic:
        diag = exc.diagnostic()
        diag.with_context(exc.call_sites or ())
        diag.notes.extend(self.program.import_notes(diag.span))
        return diag

    def check_parameter_names(self, net: ast.BlockDef, overrides: dict[str, Any]) -> None:
        """Every overridden parameter is one of the network's (an unknown one is the caller's
        error, marked as such for the command line to quote its `--set`)."""
        names = {p.name for p in net.params}
        for key in overrides:
            if key not in names:
                raise NetdslError(Diagnostic(
                    f"network '{net.name}' has no parameter '{key}'", net.span, "arg",
                    notes=list(self.program.import_notes(net.span)),
                    help=did_you_mean(key, names) or f"signature: {signature(net)}",
                    argument=Override("parameter", key)))

    def layer_overrides(self, net: ast.BlockDef, overrides: dict[str, Any]) -> dict[str, Any]:
        """The overrides with a `layer` parameter given as text from outside (`--set
        act=gelu`, `load(..., act="gelu")`, where a value is a number, a bool, text or a list)
        read as the operator or block it names."""
        out = dict(overrides)
        for p in net.params:
            text = overrides.get(p.name)
            if p.type == "layer" and isinstance(text, str):
                out[p.name] = self.named_layer(net, p.name, text.strip())
        return out

    def named_layer(self, net: ast.BlockDef, param: str, text: str) -> LayerRef:
        """The layer `text` names, or the caller's error (marked for the command line to show
        at its `--set`)."""
        if self.is_layer(text):
            return LayerRef(text)
        shown = text if len(text) <= 80 else text[:60] + "..."
        raise NetdslError(Diagnostic(
            f"'{net.name}' parameter '{param}' must be a layer, and '{shown}' names no operator "
            "or block", net.span, "name", notes=list(self.program.import_notes(net.span)),
            help=did_you_mean(text, self.layer_names()) if text.isidentifier() else
            "give the name of an operator or a block: --set act=gelu",
            argument=Override("parameter", param)))

    def check_parameter_types(self, net: ast.BlockDef, overrides: dict[str, Any]) -> None:
        """Every overridden typed parameter has a value of its type (the caller's mistake,
        marked for the command line to show at its `--set`)."""
        for p in net.params:
            if p.name not in overrides or p.type is None:
                continue
            try:
                check_type(net.name, p, overrides[p.name], net.span)
            except SpecError as exc:
                raise NetdslError(Diagnostic(
                    exc.message, net.span, "type", notes=list(self.program.import_notes(net.span)),
                    argument=Override("parameter", p.name, quote=p.type == "str"))) from None

    def check_input_names(self, net: ast.BlockDef, names: Iterable[str]) -> None:
        """Every named `--input` is one the network declares somewhere in its body (whether
        a variant reaches that declaration is known only once it is elaborated)."""
        declared = [n.name for n in walk(net) if isinstance(n, ast.Input)]
        for key in names:
            if key and key not in declared:
                raise NetdslError(_unknown_input(net, key, declared))

    def bind_network(self, net: ast.BlockDef, overrides: dict[str, Any]) -> dict[str, Any]:
        site = Site(None, net.span, Naming("", None), None)
        blocks = self.blocks
        return blocks.complete(net, blocks.parameters(net), dict(overrides), site).values


def _add_once(errors: list[Diagnostic], diag: Diagnostic) -> None:
    """Report an error once: the same mistake inside a block called from two statements
    fails each of them, at the same place with the same words (only the call sites in its
    notes differ)."""
    if not any(e.span == diag.span and e.message == diag.message for e in errors):
        errors.append(diag)


def _unknown_input(net: ast.BlockDef, key: str, inputs: Iterable[str]) -> Diagnostic:
    """An `--input` naming no input of the network, located at the argument."""
    return Diagnostic(f"--input names '{key}', which is not an input of '{net.name}'", net.span,
                      "usage", help=f"inputs: {', '.join(inputs)}",
                      argument=Override("input", key))


def _chain_of(stmt: ast.Stmt) -> ast.Chain | None:
    """The chain of layers a statement applies, if it is one (`a, b = <chain>` too)."""
    chain = stmt.value if isinstance(stmt, ast.Unpack) else stmt
    return chain if isinstance(chain, ast.Chain) else None


def _reads_current(stmt: ast.Stmt) -> bool:
    """Whether a statement that applies layers may read the current tensor: all but a chain
    that starts `from` (an `if`, a `for` or an assignment is taken to)."""
    chain = _chain_of(stmt)
    return chain is None or not isinstance(chain.elements[0].value, ast.From)


def _mentions(stmt: ast.Stmt, names: set[str]) -> bool:
    """Whether `stmt` reads one of `names` (`from a`, `from a.b`, `concat(a)`, `a.c`)."""
    if not names:
        return False
    for node in walk(stmt):
        if isinstance(node, ast.From) and node.path[0] in names:
            return True
        if isinstance(node, ast.Name) and node.id in names:
            return True
    return False


def _bound_names(stmt: ast.Stmt) -> Iterable[str]:
    """The labels and names `stmt` binds, at any depth."""
    if isinstance(stmt, ast.Assign):
        yield stmt.name
    elif isinstance(stmt, ast.Unpack):
        yield from stmt.names
    elif isinstance(stmt, ast.Shared):
        yield stmt.name
    for node in walk(stmt):
        if isinstance(node, ast.Element) and isinstance(node.label, str):
            yield node.label
