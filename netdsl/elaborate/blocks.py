"""Block calls: binding arguments to a block's signature, and instantiating its body as a
definition, once per distinct (block, arguments, input shapes).

A block's tensor inputs are its parameters typed `tensor` (one tensor) or `tensors` (a list);
a block that declares none takes one, `in`: the tensor its call is applied to. Its outputs are
named by an `output` statement, or are the tensor its body ends at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdsl.elaborate.frame import Frame, Returned, Site, returned_value
from netdsl.elaborate.naming import Naming
from netdsl.elaborate.values import LayerRef, TensorValue, single
from netdsl.errors import Span, SpecError, did_you_mean
from netdsl.ir import Call, Definition, port
from netdsl.limits import MAX_BLOCK_DEPTH
from netdsl.notation import described
from netdsl.syntax import ast

if TYPE_CHECKING:
    from netdsl.elaborate.cache import DefinitionCache
    from netdsl.elaborate.elaborator import Elaborator
    from netdsl.elaborate.values import Env

TENSOR_TYPES = ("tensor", "tensors")
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "list": (tuple,),
    "layer": (LayerRef,), "tensor": (TensorValue,), "tensors": (tuple,)}
# The one type of value each type accepts as it is: most arguments are, and need no more checks.
_EXACT: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str, "list": tuple,
                           "layer": LayerRef, "tensor": TensorValue}


@dataclass
class Parameters:
    """What binding a call needs to know of its block's signature, worked out once per block
    rather than at each of its calls (a sweep makes tens of thousands)."""

    kind: str  # "network" or "block", for messages
    by_name: dict[str, ast.Param]
    tensors: tuple[ast.Param, ...]  # typed `tensor` or `tensors`, in order
    tensor_names: frozenset[str]
    values: tuple[str, ...]  # the other parameters' names, in order: a definition's values
    constants: dict[str, tuple[Any, int]]  # name -> (literal default, its evaluation steps)

    @classmethod
    def of(cls, bdef: ast.BlockDef) -> Parameters:
        tensors = tuple(p for p in bdef.params if p.type in TENSOR_TYPES)
        names = frozenset(p.name for p in tensors)
        return cls("network" if bdef.is_network else "block", {p.name: p for p in bdef.params},
                   tensors, names, tuple(p.name for p in bdef.params if p.name not in names),
                   {p.name: c for p in bdef.params if (c := _constant(p.default)) is not None})


def _constant(default: ast.Expr | None) -> tuple[Any, int] | None:
    """A literal default's value and what evaluating it costs (`Evaluator`'s steps): the same
    at every call, so it is not evaluated at each."""
    if isinstance(default, (ast.Number, ast.Bool)):
        return default.value, 1
    if isinstance(default, ast.String):
        return default.value, 1 + len(default.value)
    return None


@dataclass
class Binding:
    """A call's arguments bound to the block's parameters. Tensor parameters hold the caller's
    tensors; `ports` lists those tensors in the order of the callee's input ports."""

    values: dict[str, Any]
    ports: list[TensorValue]
    signature: Parameters  # the block's


class Blocks:
    """Binds and instantiates block calls for an `Elaborator`."""

    def __init__(self, elaborator: Elaborator, cache: DefinitionCache | None = None):
        self.el = elaborator
        self.definitions: dict[tuple, Definition] = {}
        self.cache = cache  # definitions of earlier elaborations of the program
        self.params_by_block: dict[int, Parameters] = cache.parameters if cache is not None else {}

    def parameters(self, bdef: ast.BlockDef) -> Parameters:
        """`bdef`'s `Parameters`, by identity: the program keeps its blocks alive."""
        found = self.params_by_block.get(id(bdef))
        if found is None:
            found = self.params_by_block[id(bdef)] = Parameters.of(bdef)
        return found

    # ------------------------------------------------------------ calls

    def call(self, bdef: ast.BlockDef, arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
             site: Site) -> Any:
        """Apply a block at `site`; return the reference(s) of its output(s)."""
        el = self.el
        if len(el.frame.call_sites) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep: '{bdef.name}' "
                            f"calls itself without end?", "recursion", site.span,
                            help="a recursive block needs a condition that stops it")
        el.program.budget.block(bdef.name, site.span)
        binding = self.bind(bdef, arg_asts, preset, site)
        if bdef.inline and site.label is None:
            return self.inline(bdef, binding, site)
        name = site.naming.take(site.label, site.span)
        definition, reused = self.definition(bdef, binding, site, name)
        call = Call(name, definition, [t.node for t in binding.ports],
                    [self.outer(ref, name, binding) for ref in definition.outputs], site.span,
                    call_sites=el.frame.call_sites)
        el.builder.add_call(call, site.naming, reused)
        return self.result(call, site)

    def result(self, call: Call, site: Site) -> Any:
        """A call's output(s); a label on a call with several outputs also names each of them
        by the block's output names (`fpn.p3`)."""
        value = returned_value(call.outputs, call.definition.listed)
        if isinstance(value, str):
            return value
        if site.label is not None:
            full = site.naming.full(site.label)
            for name, ref in zip(call.definition.output_names, call.outputs, strict=True):
                self.el.frame.tensors[f"{full}.{name}"] = ref
        return value

    @staticmethod
    def outer(ref: str, call: str, binding: Binding) -> str:
        """The caller's reference for a callee output: a port is the caller's own tensor."""
        if ref.startswith("$"):
            return binding.ports[int(ref[1:])].node
        return f"{call}.{ref}"

    def definition(self, bdef: ast.BlockDef, binding: Binding, site: Site,
                   name: str) -> tuple[Definition, bool]:
        """The definition for these arguments and input shapes, instantiated on first use;
        and whether it was reused."""
        key: tuple | None = _key(bdef, binding)
        try:
            found = self.definitions.get(key)
        except TypeError:  # an argument that cannot be compared (a function value):
            key = found = None  # such a call is built alone
        if found is None and key is not None and self.cache is not None:
            found = self.cache.get(key)
        if found is not None:
            return found, True
        expectations = len(self.el.expectations)
        made = self.instantiate(bdef, binding, site, name)
        if key is not None:
            self.definitions[key] = made
            if self.cache is not None and len(self.el.expectations) == expectations:
                self.cache.definitions[key] = made
        return made, False

    def instantiate(self, bdef: ast.BlockDef, binding: Binding, site: Site,
                    name: str) -> Definition:
        el = self.el
        shapes = [t.shape for t in binding.ports]
        params = binding.signature
        values = {k: binding.values[k] for k in params.values}
        definition = Definition(bdef.name, bdef.name, values, bdef.span, shapes,
                                [t.label for t in binding.ports])
        for i, shape in enumerate(shapes):
            definition.values[port(i)] = shape
        env = el.program.env.child(**self.inner_values(bdef, binding))
        has_ports = bool(params.tensors)
        outer = el.frame
        path = f"{outer.path}.{name}" if outer.path else name
        el.frame = Frame(env, definition, path, None if has_ports else port(0),
                         outer.call_sites + ((bdef.name, site.span),),
                         ports=[(outer.flat(t.node), outer.kind(t.node)) for t in binding.ports])
        try:
            current = el.statements.body(bdef.body, None if has_ports else port(0),
                                         Naming("", None, path=path))
            definition.settle()
            if not definition.outputs:
                el.statements.set_outputs(current, site.span)
        except SpecError as exc:
            if exc.call_sites is None:
                exc.call_sites = el.frame.call_sites
            raise
        finally:
            el.frame = outer
        return definition

    def inner_values(self, bdef: ast.BlockDef, binding: Binding) -> dict[str, Any]:
        """The parameters as the body sees them: tensors become the definition's ports."""
        values = dict(binding.values)
        index = 0
        for p in bdef.params:
            if p.type == "tensor":
                outer = values[p.name]
                values[p.name] = TensorValue(port(index), outer.shape, p.name)
                index += 1
            elif p.type == "tensors":
                items = []
                for outer in values[p.name]:
                    items.append(TensorValue(port(index), outer.shape, f"{p.name}[{len(items)}]"))
                    index += 1
                values[p.name] = tuple(items)
        return values

    def inline(self, bdef: ast.BlockDef, binding: Binding, site: Site) -> Any:
        """An unlabeled call of an `inline block`: its layers and labels join the caller's
        scope (its values do not); its `output` names the call's value, as a block's does."""
        el = self.el
        outer = el.frame
        env = el.program.env.child(**binding.values)
        returned = Returned()
        el.frame = Frame(env, outer.definition, outer.path, site.current,
                         outer.call_sites + ((bdef.name, site.span),), outer.tensors,
                         outer.ports, returned=returned)
        try:
            current = el.statements.body(bdef.body, site.current, site.naming)
            if not returned.outputs:
                return current
            return returned_value(returned.outputs, returned.listed)
        except SpecError as exc:
            if exc.call_sites is None:
                exc.call_sites = el.frame.call_sites
            raise
        finally:
            el.frame = outer

    # ------------------------------------------------------------ binding

    def bind(self, bdef: ast.BlockDef, arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
             site: Site, tensors_only: bool = False) -> Binding:
        """Match the call's arguments (after those bound in a layer value) to the signature;
        tensor parameters take paths (a labeled tensor, or a chain from the current tensor).
        `tensors_only`: positional arguments fill the tensor parameters (a shared module's
        application, whose other arguments were given where it was declared)."""
        sig = self.parameters(bdef)
        kind, by_name = sig.kind, sig.by_name
        params = sig.tensors if tensors_only else bdef.params
        given: dict[str, Any] = {}
        for i, value in enumerate(preset.args):
            if i >= len(params):
                raise _too_many(bdef, kind, len(preset.args) + len(arg_asts), site.span)
            given[params[i].name] = value
        given.update(preset.kwargs)
        positional = len(preset.args)
        for arg in arg_asts:
            if arg.name is None:
                if positional >= len(params) and tensors_only:
                    raise _too_many_tensors(bdef, len(params), positional + 1, site.span)
                if positional >= len(params):
                    raise _too_many(bdef, kind, positional + 1, site.span)
                param = params[positional]
                positional += 1
            else:
                param = by_name.get(arg.name)
                if param is None:
                    raise SpecError(f"{kind} '{bdef.name}' has no parameter '{arg.name}'", "arg",
                                    arg.span, help=did_you_mean(arg.name, by_name) or
                                    f"signature: {signature(bdef)}")
            if param.name in given:
                raise SpecError(f"parameter '{param.name}' given twice", "arg", arg.span)
            given[param.name] = self.argument(bdef, param, arg, site)
        return self.complete(bdef, sig, given, site)

    def argument(self, bdef: ast.BlockDef, param: ast.Param, arg: ast.Arg, site: Site) -> Any:
        el = self.el
        if param.type == "tensor":
            ref = el.layers.path(arg.value, site)
            return TensorValue(ref, el.frame.definition.shape(ref), _describe(arg.value))
        value = el.evaluator.eval(single(arg.value), el.frame.env, symbols=True)
        if isinstance(value, TensorValue) and param.type is None:
            raise SpecError(f"'{bdef.name}' parameter '{param.name}' is not a tensor parameter, "
                            f"but got the tensor '{value.label}'", "type", arg.span,
                            help=f"declare it `{param.name}: tensor` to pass a tensor, or use "
                                 f"{value.label}.c, .h or .w for a size")
        return value

    def complete(self, bdef: ast.BlockDef, sig: Parameters, given: dict[str, Any],
                 site: Site) -> Binding:
        """Defaults, the current tensor for a missing first tensor parameter, and types."""
        constants = sig.constants
        values: dict[str, Any] = {}
        scope: Env | None = None  # the earlier parameters, for a default that is not a literal
        current = site.current
        pending = [current] if isinstance(current, str) else list(current or ())
        held = len(pending)
        shape = self.el.frame.definition.values.get
        for p in bdef.params:
            if p.name in given:
                value = given[p.name]
            elif p.type == "tensor" and pending:  # the current tensor(s), in order
                ref = pending.pop(0)
                value = TensorValue(ref, shape(ref), "the current tensor")
            elif p.name in constants:
                value, steps = constants[p.name]
                budget = self.el.program.budget
                budget.left -= steps
                if budget.left < 0:
                    budget.exhausted(p.default.span if p.default is not None else None)
            elif p.default is not None:
                if scope is None:
                    scope = self.el.program.env.child(**values)
                value = self.el.evaluator.eval(p.default, scope, symbols=True)
            else:
                raise SpecError(f"{sig.kind} '{bdef.name}' needs parameter '{p.name}'", "arg",
                                site.span, help=f"signature: {signature(bdef)}")
            if p.type is not None and type(value) is not _EXACT.get(p.type):
                value = check_type(bdef.name, p, value, site.span)
            values[p.name] = value
            if scope is not None:
                scope.vars[p.name] = value
        if pending and len(pending) < held:  # some of the current tensors taken, not all
            raise SpecError(f"{sig.kind} '{bdef.name}' takes {held - len(pending)} of the "
                            f"{held} current tensors, and leaves {len(pending)}", "arg",
                            site.span, help="pass its tensors by name, or pick them first: "
                                            f"from ... -> {bdef.name}(...)")
        ports: list[TensorValue] = []
        for p in sig.tensors:
            if p.type == "tensor":
                ports.append(values[p.name])
            else:
                ports.extend(values[p.name])
        if not bdef.is_network and not sig.tensors:
            ports = [self.implicit_input(bdef, site)]
        return Binding(values, ports, sig)

    def implicit_input(self, bdef: ast.BlockDef, site: Site) -> TensorValue:
        current = site.current
        if current is None:
            raise self.el.frame.no_input(site.span)
        if not isinstance(current, str) and len(current) == 1:
            current = current[0]  # a list of one is its tensor
        if not isinstance(current, str):
            raise SpecError(f"block '{bdef.name}' takes one tensor, `in`, but is applied to "
                            f"{len(current)} tensors", "arg", site.span,
                            help="declare tensor parameters to take several: "
                                 f"block {bdef.name}(a: tensor, b: tensor)")
        return TensorValue(current, self.el.frame.definition.shape(current), "in")


def _key(bdef: ast.BlockDef, binding: Binding) -> tuple:
    """What makes two calls one definition: the block, its non-tensor arguments (with their
    types: 1, 1.0 and true are equal in Python but not as arguments) and the input shapes.
    Unhashable when an argument cannot be compared (a function value)."""
    values = binding.values
    parts: list[Any] = [id(bdef)]
    parts.extend([(name, _typed(values[name])) for name in binding.signature.values])
    parts.append(tuple(t.shape for t in binding.ports))
    return tuple(parts)


def _typed(value: Any) -> Any:
    if isinstance(value, tuple):
        return (tuple, tuple(_typed(v) for v in value))
    return (type(value), value)


def _too_many(bdef: ast.BlockDef, kind: str, got: int, span: Span) -> SpecError:
    n = len(bdef.params)
    return SpecError(f"{kind} '{bdef.name}' takes {n} argument{'s' if n != 1 else ''}, got {got}",
                     "arg", span, help=f"signature: {signature(bdef)}")


def _too_many_tensors(bdef: ast.BlockDef, n: int, got: int, span: Span) -> SpecError:
    """A shared module's call: it takes tensors only, the block's tensor parameters."""
    takes = "no arguments (it has no tensor parameters)" if n == 0 else \
        f"its {n} tensor argument{'s' if n != 1 else ''}"
    return SpecError(f"a call of a shared '{bdef.name}' takes {takes}, got {got}", "arg", span,
                     help="its other arguments are given where it is declared: "
                          f"shared name: {signature(bdef)}")


def signature(bdef: ast.BlockDef) -> str:
    """For the help of an argument error (built only then: blocks are called per unit)."""
    return f"{bdef.name}({', '.join(_param_text(p) for p in bdef.params)})"


def _param_text(p: ast.Param) -> str:
    return p.name + (f": {p.type}" if p.type else "") + (" = ..." if p.default else "")


def check_type(block: str, p: ast.Param, value: Any, span: Span) -> Any:
    """A typed parameter's value, checked (and an int made float for `float`)."""
    allowed = _TYPES.get(p.type or "")
    if allowed is None:
        raise SpecError(f"unknown type '{p.type}' for parameter '{p.name}'", "type", p.span,
                        help=did_you_mean(p.type or "", _TYPES) or f"types: {', '.join(_TYPES)}")
    ok = not (isinstance(value, bool) and p.type != "bool") and isinstance(value, allowed)
    if p.type == "str" and isinstance(value, TensorValue):
        ok = False
    if p.type == "tensors":
        ok = ok and all(isinstance(v, TensorValue) for v in value)
    elif p.type != "tensor" and isinstance(value, TensorValue):
        ok = False
    if not ok:
        raise SpecError(f"'{block}' parameter '{p.name}' must be {_expected(p.type)}, got "
                        f"{described(value)}",
                        "type", span)
    return float(value) if p.type == "float" else value


def _expected(kind: str | None) -> str:
    return {"tensor": "a tensor", "tensors": "a list of tensors"}.get(kind or "", kind or "")


def _describe(chain: ast.Chain) -> str:
    first = chain.elements[0].value
    if isinstance(first, ast.Name):
        return first.id
    if isinstance(first, ast.From):
        return ".".join(first.path)
    return "path"
