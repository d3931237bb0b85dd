"""One spec block (or the network) -> one Python class, translated from its syntax tree.

The block's parameters become the constructor's, with `in_channels` first; its value
statements, `if` and `for` become constructor-time Python that chooses and builds submodules;
repeats become loops. A body that is a plain chain of layers becomes an nn.Sequential subclass
(no forward of its own); any other body gets a forward that mirrors it, with the spec's labels
as variable names and constructor-time choices read back from attributes
(`if self.downsample is not None`). Layer names follow the spec's naming rules, so state dicts
line up with the elaborated network's layer names.

Where a class cannot be written once for every value of some parameters (the position that
names a layer depends on them, say), translation raises `Specialize` and the generator writes
one class per value, with a comment saying why.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import liveness
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.calls import Calls
from netdsl.backends.pytorch.classinfo import OUTPUT_FIELDS, BuiltSizes, ClassInfo, Param
from netdsl.backends.pytorch.control import ControlFlow, Unroll
from netdsl.backends.pytorch.expressions import Expressions
from netdsl.backends.pytorch.flow import (
    ITEM,
    RUNNING,
    ComputedLabel,
    Flow,
    ListOwner,
    ModuleOwner,
    Scope,
    SequentialOwner,
    Tensor,
    TensorList,
)
from netdsl.backends.pytorch.lists import Lists
from netdsl.backends.pytorch.merges import Merges
from netdsl.backends.pytorch.names import BUILTIN_NAMES, METHOD_NAMES, MODULE_ATTRIBUTES, Namespace
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.pystmt import all_names, assign, returns
from netdsl.backends.pytorch.scopes import Scoping, full_path
from netdsl.backends.pytorch.shapes import Shape, with_found_sizes
from netdsl.backends.pytorch.syntax import (
    dotted_path,
    label_counts,
    labels,
    named_as_values,
    names_read,
    referenced_labels,
    uses_block_input,
    walk,
)
from netdsl.backends.pytorch.values import (
    IN,
    IN_CHANNELS,
    SIZE,
    SIZES,
    SPATIAL,
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.blocks import TENSOR_TYPES
from netdsl.elaborate.constructs import passes_input
from netdsl.elaborate.values import LayerRef
from netdsl.errors import SpecError
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    from netdsl.backends.pytorch.generator import Generator

class ClassTranslator(Calls, Merges, Scoping, ControlFlow, Expressions, Lists):
    """Translates one block definition, with some parameters bound, into `info`."""

    def __init__(self, gen: Generator, info: ClassInfo, mode: str):
        self.gen = gen
        self.info = info
        self.bdef = info.bdef
        self.mode = mode
        self.attrs = Namespace(MODULE_ATTRIBUTES | labels(self.bdef.body))
        self.locals = Namespace(gen.module_names | METHOD_NAMES)
        self.fnames = Namespace(gen.module_names | {"self"})
        self.stores: dict[str, str] = {}  # value store key -> attribute
        self.store_values: list[tuple[str, ast.expr]] = []
        self.flags: dict[str, str] = {}
        self.size_dependent = False
        body = self.bdef.body + inline_bodies(self.bdef.body, gen.program.blocks)
        self.referenced = referenced_labels(body)  # named in the forward
        # read as tensors: an `expect` reads only shapes, as the spec loads, so what only an
        # `expect` names may be overwritten in place and needs no tap of its own
        self.tensor_reads = referenced_labels(body, skip=syn.Expect)
        self.paths_read = frozenset(self.tensor_reads)  # as the body writes them, in full
        self.uses_input = uses_block_input(self.bdef.body)
        self.lenient = False
        self.late_defaults: list[tuple[str, Py]] = []
        self.switches: dict[str, tuple[str, str, dict[str, Py]]] = {}  # pool label -> its
        # indices' and input size's variables, and its attributes
        self.temps: dict[str, str] = {}  # forward temporaries and the name they would like
        self.shared: dict[str, syn.Shared] = {}  # shared modules declared, by name
        self.shared_made: dict[str, Any] = {}  # name -> how a later call applies it
        self.shared_homes: dict[str, Scope] = {}  # name -> the scope that declared it
        self.filling: set[str] = set()  # the locals of the Sequentials being built
        self.inlining: set[str] = set()  # the inline blocks whose bodies are being written
        self.listed_current: tuple[Tensor, ...] | None = None  # see Flow.listed
        self.lists_tensors = False  # a tensor's name stands for itself (in a list of tensors)
        self.constructor_loops = 0  # the constructor loops (`for` of a chain) being written
        self.outputs: list[tuple[str, Tensor]] = []
        self.label_vars: set[str] = set()
        self.unpacked: list[tuple[str, list[str]]] = []  # a list input and its items' names
        self.listed: dict[str, tuple[Tensor, ...]] = {}  # a `tensors` parameter's items
        self.input_vars: list[str] = []  # the forward's tensor inputs, lists included
        self.multi = {label for label, n in label_counts(self.bdef.body).items() if n > 1}
        # labels the body names as values (`fpn(body)`, `body[i - 1]`): a call of several
        # outputs so labeled is kept whole, one variable
        self.whole = named_as_values(self.bdef.body)
        self.local_defs: dict[str, Py | None] = {}  # a constructor local and its value, if
        # it is assigned once (a list's length in its parameters' terms, for callers)

    def run(self) -> None:
        info = self.info
        info.inputs = []
        info.size_check = None
        env = Env()
        self.bind_params(env)
        ctor: list[ast.stmt] = []
        self.top_ctor = ctor
        self.cases: list[tuple[Py, list[tuple[str, Tensor]], Tensor | None]] = []
        self.case_path: list[tuple[Py, list[ast.stmt] | None]] = []  # the branches we are in
        if info.is_network:
            fwd: list[ast.stmt] | None = [] if self.mode == "module" else None
            owner = SequentialOwner("self") if self.mode == "chain" else \
                ModuleOwner(ast.Name("self", ast.Load()))
            scope = Scope(self.mode, owner, ctor, fwd)
            flow = Flow(None)
        else:
            channels = P.name(info.channels, frozenset({IN}), info.binding.get(
                IN_CHANNELS, UNKNOWN))  # a class made for one number of them knows it
            bound = info.binding.get(SIZES)  # a class made for one size of its input
            sizes = [P.name(f"__size{i}__", frozenset({SPATIAL})) for i in range(info.rank)] \
                if bound is None else [Py(ast.Constant(d), d, frozenset({SIZE})) for d in bound]
            sizes.insert(info.channel_axis, channels)
            shape: Shape = tuple(sizes)
            tensors = self.tensor_inputs()
            if tensors and self.mode == "chain":
                raise NotChain
            x = "x"
            if not tensors:
                self.fnames.reserve(x)
            entry = _entry(tensors[0]) if tensors else Tensor(
                shape, x, owned=not self.uses_input, caxis=info.channel_axis)
            fwd = [] if self.mode == "module" else None
            owner = ModuleOwner(ast.Name("self", ast.Load())) if self.mode == "module" else \
                SequentialOwner("self")
            scope = Scope("module" if self.mode == "module" else "chain", owner, ctor, fwd)
            flow = Flow(entry, block_input=entry.shared())
            singles = [t for t in tensors if isinstance(t, Tensor) and not any(
                t.var in names for _, names in self.unpacked)]
            info.inputs = self.input_vars if tensors else [x]  # in the parameters' order
            for p, t in zip([p for p in self.bdef.params if p.type == "tensor"], singles,
                            strict=False):
                flow.labels[p.name] = t.shared()
            for name, items in self.listed.items():
                env.vars[name] = Value(None, tensors=tuple(t.shared() for t in items))
            for p, t in zip([p for p in self.bdef.params if p.type == "tensors"],
                            [t for t in tensors if isinstance(t, TensorList)], strict=False):
                env.vars[p.name] = Value(None, listed=t)
            if fwd is not None:
                fwd += [ast.Assign([ast.Tuple([ast.Name(n, ast.Store()) for n in names],
                                              ast.Store())], ast.Name(var, ast.Load()))
                        for var, names in self.unpacked]
        for name, value in self.late_defaults:
            ctor.append(ast.If(ast.Compare(ast.Name(name, ast.Load()), [ast.Is()],
                                           [ast.Constant(None)]), [assign(name, value.node)], []))
        self.top_fwd = fwd
        if self.mode == "tail":
            fwd = self.chain_then_tail(scope, flow, env)
        else:
            self.body(self.bdef.body, scope, flow, env)
        if info.is_network:
            ctor += [ast.Assign([_module_path(layer, attribute, ast.Store())],
                                _module_path(target, attribute, ast.Load()))
                     for layer, attribute, target in self.gen.facts.ties()]
        if flow.current is None:
            raise Unsupported("the body has no input")
        info.base = "nn.Module" if self.mode == "module" else "nn.Sequential"
        info.ctor = ctor
        info.fwd = fwd
        if fwd is not None:
            if not flow.returned and not flow.outputs and flow.listed is not None:
                flow.outputs = _ending_list(flow.listed)  # the body ends at a list: all of it
            if not flow.returned:
                fwd.append(returns(flow.outputs or [("", flow.current)]))
            liveness.inline_reads(fwd, set(self.temps))
            fwd[:] = liveness.inline_attributes(fwd)
            fwd[:] = liveness.drop_unread(fwd)
            liveness.coalesce(fwd, info.inputs, self.temps,
                              self.gen.module_names | BUILTIN_NAMES | {"self"})
            fwd[:] = liveness.inline_returns(fwd)
            tensors = set(self.temps) | set(self.temps.values()) | set(self.label_vars) | \
                set(info.inputs) | _list_vars(env)
            tensors -= liveness.parameter_views(fwd)
            fwd[:] = liveness.release(fwd, info.inputs, all_names(fwd) - tensors)
        self.outputs = flow.outputs
        self.finish_out(flow.current)
        info.stores = self.store_values

    def chain_then_tail(self, scope: Scope, flow: Flow, env: Env) -> list[ast.stmt]:
        """A block that is a chain of layers and then one statement that makes no layer of
        its own but reads the block's input (an upsample back to the input's size): an
        nn.Sequential whose forward runs itself, then that statement, as torchvision's
        ASPPPooling does. Its forward."""
        body = self.bdef.body
        *prefix, last = body
        if self.info.is_network or not prefix or not isinstance(last, syn.Chain) or \
                labels(tuple(prefix)) & names_read((last,)) or \
                any(isinstance(n, syn.From) and n.path != ("in",) for n in walk((last,))):
            raise NotChain
        self.body(tuple(prefix), scope, flow, env)
        current = flow.current
        if current is None or flow.returned or flow.outputs:
            raise NotChain
        var = self.fnames.reserve("out")
        block_input = flow.block_input
        assert block_input is not None and block_input.var is not None
        fwd: list[ast.stmt] = [assign(var, ast.Call(ast.Attribute(ast.Call(
            ast.Name("super", ast.Load()), [], []), "forward", ast.Load()),
            [ast.Name(block_input.var, ast.Load())], []))]
        flow.current = Tensor(current.shape, var, owned=True, caxis=current.caxis)
        tail_ctor: list[ast.stmt] = []
        tail = Scope("module", ModuleOwner(ast.Name("self", ast.Load())), tail_ctor, fwd)
        self.top_fwd = fwd
        self.body((last,), tail, flow, env)
        if tail_ctor or tail.registered:  # the statement makes a layer: not this form
            raise NotChain
        return fwd

    def tensor_inputs(self) -> list[Tensor | TensorList]:
        """A block's tensor parameters as the forward's inputs; the constructor takes each
        one's channels (`a_channels`)."""
        params = [p for p in self.bdef.params if p.type in TENSOR_TYPES]
        self.info.channel_params = []
        self.info.lists = set()
        tensors = []
        for p in params:
            if p.type == "tensors" and p.name not in self.info.binding:
                tensors.append(self.symbolic_list_input(p))
                continue
            if p.type == "tensors":
                tensors += self.tensor_list_input(p)
                continue
            channels = self.locals.reserve(f"{p.name}_channels")
            self.info.channel_params.append(channels)
            var = self.fnames.reserve(p.name)
            shape = (P.name(channels, frozenset({IN})),) + (None,) * self.info.rank
            tensors.append(Tensor(shape, var, owned=_rebindable(p.name, self.referenced)))
            self.input_vars.append(var)
        return tensors

    def symbolic_list_input(self, p: syn.Param) -> TensorList:
        """`features: tensors`: the forward takes a list of any length (`features`), the
        constructor its channels (`in_channels_list`)."""
        channels = self.list_channels_param(p)
        var = self.fnames.reserve(p.name)
        self.info.lists |= {channels, var}
        self.input_vars.append(var)
        deps = frozenset({p.name})
        source = P.name(channels, deps)
        per_item = P.subscript(source, P.name(ITEM))
        return TensorList(var, (None,) * (self.info.rank + 1),
                          P.call("len", [source]), per_item=Py(per_item.node, UNKNOWN, deps),
                          deps=deps)

    def list_channels_param(self, p: syn.Param) -> str:
        channels = self.locals.reserve(f"{p.name}_channels" if p.name != "features"
                                       else "in_channels_list")
        self.info.channel_params.append(channels)
        return channels

    def tensor_list_input(self, p: syn.Param) -> list[Tensor]:
        """`features: tensors` in a class written for one length of the list (its items do
        not share what the code needs of them): the forward unpacks it
        (`features_0, features_1 = features`)."""
        count = self.info.binding[p.name]
        channels = self.list_channels_param(p)
        var = self.fnames.reserve(p.name)
        self.info.lists |= {channels, var}
        items = []
        for i in range(count):
            shape = (P.subscript(P.name(channels, frozenset({IN})), P.lit(i)),) + \
                (None,) * self.info.rank
            items.append(Tensor(shape, self.fnames.reserve(f"{p.name}_{i}")))
        self.unpacked.append((var, [t.var for t in items]))
        self.listed[p.name] = tuple(items)
        self.input_vars.append(var)
        return items

    def bind_params(self, env: Env) -> None:
        """Parameters: those bound by specialisation are constants; the rest are the
        constructor's, with their spec defaults."""
        info = self.info
        info.params = []
        for p in self.bdef.params:
            if p.type in TENSOR_TYPES:
                continue
            if p.name in info.binding:
                value = info.binding[p.name]
                env.vars[p.name] = self.constant_value(value)
                continue
            py_name = self.locals.reserve(p.name)
            default = None
            if p.default is not None:
                default_value = self.expr(p.default, env, None, "ctor")
                default = self.default_node(p, default_value, info)
                if not info.is_network and default_value.py is not None and \
                        default_value.py.deps & {q.spec for q in info.params}:
                    # a default of earlier parameters: None, computed in the constructor
                    self.late_defaults.append((py_name, default_value.py))
                    default = ast.Constant(None)
            if info.is_network and p.name in self.gen.facts.params:
                loaded = self.gen.facts.params[p.name]
                if default is None or not _equal(default_value.const, loaded):
                    default = self.default_node(p, self.constant_value(loaded), info)
            layers = None
            if p.type == "layer" or p.type is None and self.layer_valued(p):
                layers = self.candidates(p, env)
            if default is not None and _made_by_call(default) and \
                    not any(passes_input(r.name) for r in layers or ()):
                # `act=partial(nn.LeakyReLU, ...)` would be made once, when the class is
                # defined: None, made in the constructor (torchvision's `norm_layer=None`)
                self.late_defaults.append((py_name, Py(default)))
                default = ast.Constant(None)
            py = P.name(py_name, frozenset({p.name}))
            env.vars[p.name] = Value(py, layers=layers,
                                     exact_str=p.type in ("int", "float", "string"))
            hint = _hint(p.type, layers)
            if any(name == py_name for name, _ in self.late_defaults) and hint:
                hint += " | None"
            info.params.append(Param(p.name, py_name, default, hint))

    def default_node(self, p: syn.Param, value: Value, info: ClassInfo) -> ast.expr:
        if value.layers is not None:
            return value.py.node if value.py is not None else ast.Constant(None)
        assert value.py is not None
        if isinstance(value.py.const, tuple):
            return P.literal_node(value.py.const)
        return value.py.node

    def layer_valued(self, p: syn.Param) -> bool:
        """Whether an untyped parameter holds a layer at every call and in its default
        (`block b(act = relu)`), as a `layer` parameter does."""
        values = list(self.gen.facts.arguments(self.bdef.name, p.name))
        if p.default is not None:
            try:
                values.append(self.gen.evaluate(p.default))
            except SpecError:
                return False
        return bool(values) and all(isinstance(v, LayerRef) for v in values)

    def candidates(self, p: syn.Param, env: Env) -> tuple[LayerRef, ...]:
        """The layers a layer-typed parameter stands for: every instance's argument and the
        default."""
        found: list[LayerRef] = []
        for value in self.gen.facts.arguments(self.bdef.name, p.name):
            if isinstance(value, LayerRef) and value not in found:
                found.append(value)
        if p.default is not None:
            try:
                value = self.gen.evaluate(p.default)
            except SpecError:
                value = None
            if isinstance(value, LayerRef) and value not in found:
                found.append(value)
        return tuple(found)

    def finish_out(self, current: Tensor) -> None:
        """The block's outputs, for its callers; of each case where the constructor chooses
        which outputs the forward returns (a caller's arguments choose the case)."""
        if not self.cases:
            self.finish_outputs(current)
            return
        cases = []
        lists = False
        for test, outputs, end in self.cases:
            self.outputs = outputs
            if end is None:
                raise Specialize(test.deps, "each branch ends in an `output` of its own")
            self.info.out_list = []
            self.finish_outputs(end)
            lists = lists or bool(self.info.out_list)
            if not self.info.out_list and (self.info.out is None or None in self.info.outs):
                raise Specialize(test.deps, "each branch ends in an `output` of its own")
            cases.append((test, {f: getattr(self.info, f) for f in OUTPUT_FIELDS}))
        self.info.cases = cases
        if lists:  # `return tuple(layer_blocks)`, `return (*layer_blocks, pool)`
            single = any(len(c[1]) == 1 and not isinstance(c[1][0][1], TensorList)
                         for c in self.cases)
            self.info.returns = "Tensor | tuple[Tensor, ...]" if single else "tuple[Tensor, ...]"

    def made_sizes(self, sizes: tuple[Py | None, ...]) -> tuple[Py | None, ...]:
        """The output sizes of a class made for one size of its input: those the analysis
        found where the forward's own reckoning lost them (after an upsampling), so that a
        caller can pass them on to the next class made for one size."""
        bound = self.info.binding.get(SIZES)
        if bound is None or None not in sizes:
            return sizes
        args = {k: v for k, v in self.info.binding.items() if k != SIZES}
        return with_found_sizes(sizes, self.gen.facts.output_sizes(self.bdef.name, bound, args))

    def finish_outputs(self, current: Tensor) -> None:
        """The block's output channels as an expression of its parameters, when they are one."""
        info = self.info
        if any(isinstance(t, TensorList) for _, t in self.outputs):
            info.returns = "tuple[Tensor, ...]"
            if not info.is_network:
                self.finish_list_out()
            return
        if info.is_network:
            return
        if current.shape and current.caxis < len(current.shape):
            info.out_axis = current.caxis  # where the body's flow leaves the channels
        info.out_names = [name for name, _ in self.outputs] if len(self.outputs) > 1 else []
        info.outs = [self.channels_of(t.shape[t.caxis] if t.shape else None)
                     for _, t in self.outputs] if len(self.outputs) > 1 else []
        raw = [t.shape[t.caxis] if t.shape else None for _, t in self.outputs]
        info.outs_expr = [r.node for r in raw] if info.outs and None in info.outs and \
            None not in raw and not any(r.deps & {SIZE, SPATIAL} for r in raw) else None
        axis = info.out_axis
        info.out_shape = self.made_sizes(tuple(current.shape[:axis] + current.shape[axis + 1:]))
        out = current.shape[axis] if current.shape else None
        if out is None or out.deps & {SPATIAL}:  # a size only the forward knows
            info.out = None
            return
        info.out_expr = out.node
        names = set(P.names_in(out.node))
        params = {p.py for p in info.params} | {info.channels} | (
            set(info.channel_params) - info.lists)  # `x0.c * 2` of a tensor parameter
        if names <= params and not out.deps & {SIZE} and not _has_attribute(out.node):
            info.out = out
        else:
            info.out = None

    def finish_list_out(self) -> None:
        """Outputs that hold a list of tensors: the class returns one tuple of any length;
        its callers learn the items' channels and their number in the parameters' terms."""
        info = self.info
        info.out_names, info.outs, info.outs_expr, info.out = [], [], None, None
        info.out_list = []
        for name, t in self.outputs:
            channels = self.in_parameters(t.shape[t.caxis])
            shape = t.shape[:t.caxis] + (channels,) + t.shape[t.caxis + 1:]
            if isinstance(t, TensorList):
                t = replace(t, shape=shape, length=self.in_parameters(t.length),
                            per_item=self.in_parameters(t.per_item))
            else:
                t = replace(t, shape=shape)
            info.out_list.append((name, t))

    def in_parameters(self, value: Py | None) -> Py | None:
        """A constructor expression with its locals put back as the values they were given
        (`n` -> `len(in_channels_list)`), or None where a local changes."""
        if value is None:
            return None
        for _ in range(16):
            names = [n for n in P.names_in(value.node) if n in self.local_defs]
            if not names:
                free = set(P.names_in(value.node)) - BUILTIN_NAMES - {ITEM}
                known = {p.py for p in self.info.params} | set(self.info.channel_params)
                return value if free <= known and not value.deps & {SIZE} else None
            defs = {n: self.local_defs[n] for n in names}
            if any(v is None for v in defs.values()):
                return None
            value = P.substitute(value, defs)  # type: ignore[arg-type]
        return None

    def channels_of(self, out: Py | None) -> Py | None:
        """Channels as an expression of the constructor's parameters, or None."""
        if out is None:
            return None
        params = {p.py for p in self.info.params} | {self.info.channels} | set(
            self.info.channel_params)
        if set(P.names_in(out.node)) <= params and not out.deps & {SIZE}:
            return out
        return None

    def _s_Shared(self, stmt: syn.Shared, scope: Scope, flow: Flow, env: Env) -> None:
        """`shared head: retina_head(9)`: made at its first call, called again at the rest."""
        if scope.fwd is None:
            raise NotChain
        self.shared[stmt.name] = stmt
        self.shared_homes[stmt.name] = scope

    def _s_Unpack(self, stmt: syn.Unpack, scope: Scope, flow: Flow, env: Env) -> None:
        """`t = from c4 -> conv(256, 1)`, `p3, p4 = fpn(c3, c4)`: names for what a chain
        makes; the chain goes on from it."""
        if scope.fwd is None:
            raise NotChain
        if self.unpack_list(stmt, flow, env):
            return
        sub = flow.fork(flow.current.shared() if flow.current else None)
        sub.labels = flow.labels
        sub.results = None
        sub.listed = flow.listed  # a merge that starts the chain takes a list made before
        self._s_Chain(stmt.value, scope, sub, env)
        if len(stmt.names) == 1 and _several(sub.listed):
            self.bind_several(stmt.names[0], sub.listed, scope, flow)  # `t = from x -> b()`
            return
        if len(stmt.names) == 1 and isinstance(sub.listed, TensorList):  # a list a block gave
            self.assign_list(stmt.names[0], Value(None, listed=sub.listed), scope, env)
            flow.current, flow.listed = sub.current, sub.listed
            return
        made = sub.results if len(stmt.names) > 1 else [sub.current]
        if made is None or len(made) != len(stmt.names):
            raise Unsupported(f"{len(stmt.names)} names for what this chain makes")
        for name, tensor in zip(stmt.names, made, strict=True):
            flow.current = tensor
            self.referenced.add(name)
            self.tensor_reads.add(name)
            self.bind_label(name, flow, scope)
            if _listed(env, name):  # `last = from last -> ...`: the name now means the new one
                env.vars[name] = Value(None, tensors=(flow.labels[name],))
        flow.current = flow.labels[stmt.names[-1]]
        # the current value is what the chain made: all of them, or the one tensor
        flow.listed = tuple(flow.labels[name] for name in stmt.names) \
            if len(stmt.names) > 1 else None

    def bind_several(self, name: str, tensors: tuple[Tensor, ...], scope: Scope,
                     flow: Flow) -> None:
        """One name for what a call of several outputs made: all of them, for a merge,
        `from` or `output` that reads the name, as a labeled call's are."""
        flow.groups[name] = list(tensors)
        flow.current, flow.listed = tensors[0], tensors
        self.referenced.add(name)
        self.tensor_reads.add(name)
        self.bind_label(name, flow, scope)

    def unpack_list(self, stmt: syn.Unpack, flow: Flow, env: Env) -> bool:
        """`p, q = levels`: names for the tensors of a list (no layer applied, the current
        value unchanged); False when the right side applies layers."""
        (element,) = stmt.value.elements if len(stmt.value.elements) == 1 else (None,)
        if element is None or element.label is not None or \
                not isinstance(element.value, (syn.Name, syn.Index, syn.ListExpr, syn.BinOp)) or \
                self.is_layer_expr(element.value, env):
            return False
        try:
            value = self.expr(element.value, env, flow, "ctor")
        except (RuntimeOnly, Unsupported):
            return False
        items = value.tensors if value.tensors is not None else \
            value.listed.known_items() if value.listed is not None else None
        if items is None or len(items) != len(stmt.names):
            return False
        for name, item in zip(stmt.names, items, strict=True):
            flow.labels[name] = item.shared()
            env.vars.pop(name, None)
        return True

    def body(self, stmts: tuple[syn.Stmt, ...], scope: Scope, flow: Flow, env: Env) -> None:
        for stmt in stmts:
            if flow.returned and not isinstance(stmt, syn.Expect):
                raise Unsupported("a statement after an `if` whose every branch ends in an "
                                  "`output`")
            self.statement(stmt, scope, flow, env)

    def statement(self, stmt: syn.Stmt, scope: Scope, flow: Flow, env: Env) -> None:
        method = getattr(self, "_s_" + type(stmt).__name__, None)
        try:
            if method is None:
                raise Unsupported(f"the statement {type(stmt).__name__} in generated code")
            method(stmt, scope, flow, env)
        except Unsupported as exc:
            if exc.span is None:
                exc.span = stmt.span
            raise

    def _s_Chain(self, stmt: syn.Chain, scope: Scope, flow: Flow, env: Env) -> None:
        for element in stmt.elements:
            self.element(element, scope, flow, env)

    def _s_Expect(self, stmt: syn.Expect, scope: Scope, flow: Flow, env: Env) -> None:
        pass

    def _s_Assign(self, stmt: syn.Assign, scope: Scope, flow: Flow, env: Env) -> None:
        if isinstance(stmt.value, syn.Comprehension) and (
                _applies_layers(stmt.value.element) or self.calls_on_items(stmt.value, env, flow)):
            if scope.fwd is None:
                raise NotChain
            iterable = self.iterated(stmt.value, env, flow)
            if iterable is not None and (iterable.listed is None or
                                         iterable.listed.known_items() is None):
                self.applied_list_any(stmt, iterable, scope, flow, env)
                return
            self.applied_list(stmt, scope, flow, env)  # items the constructor knows
            return
        if isinstance(stmt.value, syn.ListExpr) and \
                any(isinstance(item, syn.Chain) for item in stmt.value.items):
            self.applied_items(stmt, stmt.value, scope, flow, env)
            return
        named = self.named_tensor(stmt.value, flow, env)
        if named is not None:
            flow.labels[stmt.name] = named  # `inter = r5`, `t = in`: another name, a tensor
            return
        if _makes_tensors(stmt.value) or self.applies_layers(stmt.value, env, flow):
            # `t = { conv(4, 1) }`, `t = from x`, `d = concat(a, b)`: a chain's tensor(s)
            element = syn.Element(stmt.value.span, None, None, stmt.value)
            self._s_Unpack(syn.Unpack(stmt.span, (stmt.name,), (stmt.span,),
                                      syn.Chain(stmt.value.span, (element,))), scope, flow, env)
            return
        try:
            value = self.expr(stmt.value, env, flow, "ctor")
        except RuntimeOnly:
            value = Value(None)
        if value.listed is not None:
            self.assign_list(stmt.name, value, scope, env)
            return
        if value.tensors is not None:
            if len(value.tensors) == 1 and value.tensors[0].var is None:
                held = self.hold(value.tensors[0], scope, stmt.name, temp=False)
                self.label_vars.add(held.var)  # type: ignore[arg-type]
                value = Value(None, tensors=(held,))  # `lateral = inner_blocks[i]`
            env.vars[stmt.name] = value
            if len(value.tensors) == 1 and isinstance(stmt.value, (syn.Index, syn.Name)):
                flow.labels[stmt.name] = value.tensors[0]
            return
        if value.py is not None and SIZE not in value.py.deps:
            local = self.locals.reserve(stmt.name, "value")
            scope.ctor.append(assign(local, value.py.node))
            self.local_defs[local] = None if local in self.local_defs else value.py
            runtime = None
            if value.runtime is not None and scope.fwd is not None:  # `n = len(features)`
                runtime = P.name(self.fnames.reserve(stmt.name, "value"))
                scope.fwd.append(assign(runtime.text(), value.runtime.node))
            env.vars[stmt.name] = Value(P.name(local, value.py.deps, value.py.const),
                                        layers=value.layers, runtime=runtime,
                                        exact_str=self.exact_str(stmt.value, env))
            return
        if scope.fwd is None:
            if value.py is None:
                raise NotChain
            # `n = in.shape[0]` in a class made for one size: a constant the layers of a
            # Sequential are built with, which no forward needs
            env.vars[stmt.name] = Value(value.py, exact_str=self.exact_str(stmt.value, env))
            return
        computed = value.runtime if value.py is None and value.runtime is not None else \
            self.expr(stmt.value, env, flow, "fwd").py
        assert computed is not None
        local = self.fnames.reserve(stmt.name, "value")
        scope.fwd.append(assign(local, computed.node))
        env.vars[stmt.name] = Value(value.py, runtime=P.name(local),
                                    exact_str=self.exact_str(stmt.value, env))

    def _s_Def(self, stmt: syn.Def, scope: Scope, flow: Flow, env: Env) -> None:
        local = self.locals.reserve(stmt.name)
        inner = env.child()
        params = [self.locals.reserve(p) for p in stmt.params]
        for p, py_name in zip(stmt.params, params, strict=True):
            inner.vars[p] = Value(P.name(py_name))
        body = self.py(stmt.body, inner, flow, "ctor")
        func = ast.FunctionDef(local, ast.arguments([], [ast.arg(p) for p in params], None, [],
                                                    [], None, []),
                               [ast.Return(body.node)], [], None, None)
        func.lineno = 0  # type: ignore[attr-defined]
        scope.ctor.append(func)
        env.vars[stmt.name] = Value(P.name(local), function=stmt, closure=env)

    def _s_Output(self, stmt: syn.Output, scope: Scope, flow: Flow, env: Env) -> None:
        if scope.fwd is None:
            raise NotChain
        for path in stmt.names:
            dotted = ".".join(path)
            tensor = flow.labels.get(dotted)
            listed = env.find(dotted) if len(path) == 1 else None
            group = flow.groups.get(dotted)
            if tensor is None and listed is not None and listed.listed is not None:
                flow.outputs.append((dotted, listed.listed))
                continue
            if isinstance(group, TensorList):
                flow.outputs.append((dotted, group))
                continue
            if tensor is None and listed is not None and listed.tensors is not None:
                if len(stmt.names) == 1 and len(listed.tensors) == 1:  # a list, of one
                    flow.outputs.append((dotted, _list_of_one(listed.tensors[0])))
                    continue
                flow.outputs.extend((f"{dotted}.{i}", t) for i, t in enumerate(listed.tensors))
                continue
            if dotted in flow.groups:  # `output fpn`: every output of a labeled call
                flow.outputs.extend((f"{dotted}.{i}", t)
                                    for i, t in enumerate(flow.groups[dotted]))
                continue
            if tensor is None:
                raise Unsupported(f"the output '{dotted}'")
            flow.outputs.append((dotted, tensor))

    def _s_Input(self, stmt: syn.Input, scope: Scope, flow: Flow, env: Env) -> None:
        concrete = self.gen.facts.input_shapes()[stmt.name]
        axis = self.gen.facts.input_channel_axis(stmt.name)
        spec = self.expr(stmt.shape, env, flow, "ctor").py
        channels: Py = P.lit(concrete[axis])
        if spec is not None and isinstance(spec.node, ast.Tuple) and \
                len(spec.node.elts) == len(concrete):
            given = Py(spec.node.elts[axis], spec.const[axis] if spec.known else UNKNOWN,
                       spec.deps)
            if not given.known or given.const == concrete[axis]:
                channels = given
        shape = [Py(ast.Constant(d), d, frozenset({SIZE})) for d in concrete]
        shape[axis] = channels
        var = self.fnames.reserve(stmt.name)
        tensor = Tensor(tuple(shape), var, owned=_rebindable(stmt.name, self.referenced),
                        caxis=axis)
        self.info.inputs.append(var)
        if self.info.size_check is None:
            self.info.size_check = {}
        self.info.size_check[var] = BuiltSizes(1 if axis else 2,
                                               concrete[:axis] + concrete[axis + 1:])
        flow.current = tensor
        flow.labels[stmt.name] = tensor.shared()
        if len(self.info.inputs) > 1 and scope.mode == "chain":
            raise NotChain

    def element(self, el: syn.Element, scope: Scope, flow: Flow, env: Env) -> None:
        self.listed_current, flow.listed = flow.listed, None
        position = scope.counter
        label = self.label_of(el, env, flow)
        value = el.value
        if isinstance(value, syn.Merge):
            self.merge(value, label, el.span, scope, flow, env)
        elif isinstance(value, syn.Group):
            self.group(value.body, label, scope, flow, env)
        elif isinstance(value, syn.Comprehension) and isinstance(label, str):
            if scope.fwd is None or scope.owner.sequential:
                raise NotChain
            iterable = self.iterated(value, env, flow)
            if iterable is not None:
                self.layer_list_any(value, label, iterable, scope, flow, env)
            else:
                self.layer_list(value, label, scope, flow, env)
            return
        elif isinstance(value, syn.From) or from_base(value):
            self.from_(value, flow, scope, env)
        elif isinstance(value, syn.BinOp) and value.op == "*" and self.is_layer_expr(value.left,
                                                                                    env):
            self.repeat(value, label, el, scope, flow, env)
        else:
            self.call(value, label, el.span, scope, flow, env)
        if isinstance(label, str):
            if label not in flow.groups and _several(flow.listed):
                flow.groups[label] = list(flow.listed)  # `w: { b() }` of several outputs
            self.bind_label(label, flow, scope)
        elif label is None and scope.counter == position + 1 and scope.offset is None and \
                not scope.dynamic and flow.current is not None and \
                self.read_by_position(str(position), flow, scope):
            self.bind_label(str(position), flow, scope)  # `output g.1`: a layer by position

    def read_by_position(self, name: str, flow: Flow, scope: Scope) -> bool:
        """Whether the body reads the tensor of the layer at this position by its full path
        (`output g.1`): in a labeled chain called from the forward (an nn.Sequential, called
        in parts that end at it), or in ModuleDicts, whose labels are kept dotted."""
        if scope.path is not None:
            return f"{scope.path}.{name}" in self.paths_read
        return full_path(flow.labels, name) in self.paths_read

    def reads_a_pass(self, scope: Scope) -> bool:
        """Whether the body reads the tensor of one pass of this repeat (`from layer1.1`):
        the passes are then written one by one, so that the forward can stop at it."""
        if scope.path is None:
            return False
        prefix = f"{scope.path}."
        return any(path.startswith(prefix) and path[len(prefix):].isdigit()
                   for path in self.paths_read)

    def label_of(self, el: syn.Element, env: Env, flow: Flow) -> str | Py | None:
        if el.label is None or isinstance(el.label, str):
            return el.label
        value = self.py(el.label, env, flow, "ctor")
        if value.known and isinstance(value.const, str):
            return str(value.const)
        return ComputedLabel(value.node, value.const, value.deps, source=(el.label, env, flow))

    @staticmethod
    def named_tensor(value: syn.Expr, flow: Flow, env: Env) -> Tensor | None:
        """The tensor an assignment's right side names without applying a layer: a label
        (`r5`, `s.hi`) or `in`."""
        if isinstance(value, syn.BlockInput):
            return flow.block_input
        path = dotted_path(value)
        if path is None or env.find(path) is not None:
            return None
        return flow.labels.get(path)

    def calls_on_items(self, e: syn.Comprehension, env: Env, flow: Flow) -> bool:
        """`[tb(t) for t in levels]`: a layer called on the items of a list of tensors, as
        the elaborator decides."""
        (element,) = e.element.elements if len(e.element.elements) == 1 else (None,)
        if element is None or not isinstance(element.value, syn.Call) or \
                not (self.is_layer_expr(element.value, env) or element.value.func in self.shared):
            return False
        if not any(isinstance(a.value.elements[0].value, syn.Name) and
                   a.value.elements[0].value.id == e.var for a in element.value.args):
            return False
        iterable = syn.Chain(e.iterable.span, (syn.Element(e.iterable.span, None, None,
                                                           e.iterable),))
        return self.tensor_list_arg(iterable, env, flow) is not None

    def applies_layers(self, value: syn.Expr, env: Env, flow: Flow) -> bool:
        """Whether an assignment's right side is a layer called on tensors, as the elaborator
        decides: it makes a tensor rather than a value."""
        return isinstance(value, syn.Call) and \
            (self.is_layer_expr(value, env) or value.func in self.shared) and \
            any(self.is_tensor_arg(a.value, env, flow) for a in value.args)

    def is_layer_expr(self, e: syn.Expr, env: Env) -> bool:
        if isinstance(e, (syn.Group, syn.Merge)):
            return True
        name = e.id if isinstance(e, syn.Name) else e.func if isinstance(e, syn.Call) else None
        if name is None:
            return False
        bound = env.find(name)
        if bound is not None:
            return bound.layers is not None
        return self.gen.is_layer_name(name)

    def from_listed(self, value: syn.Expr, flow: Flow, scope: Scope, env: Env) -> None:
        """`from f`, `from features[i]`, `from layer_blocks[n - 1]`: a tensor of a list the
        generator knows item by item."""
        if scope.fwd is None:
            raise NotChain
        if isinstance(value, syn.From) and len(value.path) > 1 and \
                ".".join(value.path) in flow.labels:
            self.from_label(value, flow, scope)  # `from ys.2`: a layer of the items by position
            return  # (a name alone is the value's, a comprehension's item, as in the analysis)
        picked = self.expr(_without_from(value), env, flow, "ctor")
        if picked.tensors is not None and len(picked.tensors) > 1:  # `from rows -> concat`
            held = tuple(self.hold(t.shared(), scope, flow.hint) for t in picked.tensors)
            flow.current, flow.listed = held[-1], held
            return
        if picked.tensors is None and picked.listed is not None:  # built in the forward
            self.take_list(picked.listed, flow)
            return
        if picked.tensors is None or len(picked.tensors) != 1:
            raise Unsupported("`from` a value that is not one tensor")
        flow.current = self.hold(picked.tensors[0].shared(), scope, flow.hint)

    @staticmethod
    def take_list(listed: TensorList, flow: Flow) -> None:
        """A list of tensors as the current value (`from s`, `from ys -> add`): item by item
        where the constructor knows how many, else the list itself; the current tensor is
        its first, which a layer taking one tensor reads."""
        items = listed.known_items()
        flow.listed = items if items is not None else listed
        flow.current = items[0] if items else listed.item(P.lit(0), _index_of(listed, 0))

    def applied_list(self, stmt: syn.Assign, scope: Scope, flow: Flow, env: Env) -> None:
        """`rows = [from f -> conv -> cls_logits for f in features]`: the chain applied to
        each item in the forward, with the layers it names (shared ones, inline blocks); the
        results are a list of tensors, the current value."""
        e = stmt.value
        assert isinstance(e, syn.Comprehension)
        if scope.fwd is None:
            raise NotChain
        iterable = self.decided(self.expr(e.iterable, env, flow, "ctor"))
        items = iterable.tensors
        if items is None and iterable.listed is not None:
            items = iterable.listed.known_items()
        if items is None and iterable.py is not None and isinstance(iterable.py.const, tuple):
            items = iterable.py.const
        if items is None:
            deps = iterable.py.deps - {IN, SIZE} if iterable.py is not None else frozenset()
            raise Specialize(deps, "a forward applies layers over it")
        results = []
        for item in items:
            inner_env = self.bound_item(e, item, env)
            if self.kept(e, inner_env, flow):
                results.append(self.applied_chain(e.element, stmt.name, scope, flow, inner_env))
        self.made_list(stmt.name, results, flow, env)

    def applied_items(self, stmt: syn.Assign, e: syn.ListExpr, scope: Scope, flow: Flow,
                      env: Env) -> None:
        """`ys = [from x -> conv(2, 1), from x -> conv(4, 1), x]`: each chain applied in the
        forward, in turn; the results (and the tensors named among them) are a list of
        tensors, the current value."""
        if scope.fwd is None:
            raise NotChain
        results: list[Tensor] = []
        for item in e.items:
            if isinstance(item, syn.Chain):
                results.append(self.applied_chain(item, stmt.name, scope, flow, env))
                continue
            value = self.tensor_list(syn.ListExpr(item.span, (item,)), env, flow)
            if value is None or value.tensors is None:
                raise Unsupported("a list of chains with an item that is not a tensor")
            results += [t.shared() for t in value.tensors]
        self.made_list(stmt.name, results, flow, env)

    def applied_chain(self, chain: syn.Chain, hint: str, scope: Scope, flow: Flow,
                      env: Env) -> Tensor:
        """The tensor one item of a list applies its chain to make, from the current tensor."""
        sub = flow.fork(flow.current.shared() if flow.current else None, hint=hint)
        sub.labels = flow.labels
        self._s_Chain(chain, scope, sub, env)
        assert sub.current is not None
        return sub.current.shared()

    @staticmethod
    def made_list(name: str, results: list[Tensor], flow: Flow, env: Env) -> None:
        """`name` for the list of tensors a statement made, which is the current value."""
        env.vars[name] = Value(None, tensors=tuple(results))
        flow.current = results[-1] if results else flow.current
        flow.listed = tuple(results)

    def bound_item(self, e: syn.Comprehension, item: Any, env: Env) -> Env:
        inner = env.child()
        inner.vars[e.var] = Value(None, tensors=(item,)) if isinstance(item, Tensor) \
            else self.constant_value(item)
        return inner

    def kept(self, e: syn.Comprehension, env: Env, flow: Flow) -> bool:
        """Whether a comprehension's `if` keeps the item bound in `env` (the constructor
        decides: the items are known)."""
        if e.condition is None:
            return True
        test = self.py(e.condition, env, flow, "ctor")
        if not test.known:
            raise Unsupported("a comprehension of tensors whose condition the constructor "
                              "cannot decide")
        return bool(test.const)

    def layer_list(self, e: syn.Comprehension, label: str, scope: Scope, flow: Flow,
                   env: Env) -> None:
        """`inner_blocks: [from f -> conv_layer(width, 1) for f in features]`: one layer per
        item, in an nn.ModuleList (state-dict names `inner_blocks.<i>`), applied item by item
        in the forward; the label names the list of results."""
        if scope.fwd is None or scope.owner.sequential:
            raise NotChain
        iterable = self.decided(self.expr(e.iterable, env, flow, "ctor"))
        items = iterable.tensors
        if items is None and iterable.py is not None and isinstance(iterable.py.const, tuple):
            items = iterable.py.const
        if items is None:
            deps = iterable.py.deps - {IN, SIZE} if iterable.py is not None else frozenset()
            raise Specialize(deps, "a list of layers is made over it")
        items = [item for item in items if self.kept(e, self.bound_item(e, item, env), flow)]
        layers = [el for el in e.element.elements if not isinstance(el.value, syn.From)]
        if len(layers) != 1 or not isinstance(layers[0].value, (syn.Call, syn.Name)):
            self.layer_scope(e, label, items, scope, flow, env)
            return
        self.check_child(label)
        attr = scope.owner.ref(label)
        owner = ListOwner(attr)
        results = []
        for index, item in enumerate(items):
            inner_env = self.bound_item(e, item, env)
            owner.index = index
            ctor: list[ast.stmt] = []
            sub = flow.fork(flow.current.shared() if flow.current else None, hint=label)
            self.body((e.element,), Scope("module", owner, ctor, scope.fwd), sub, inner_env)
            # one layer per item, or none (the items call a shared module)
            if len(owner.modules) not in (index + 1, 0) or \
                    any(not isinstance(stmt, ast.Pass) for stmt in ctor):
                raise Unsupported("a list of layers whose items are not one layer each")
            assert sub.current is not None
            results.append(sub.current.shared())
        if owner.modules:
            scope.ctor.append(scope.owner.register(label, P.call(
                "nn.ModuleList", [P.list_of(owner.modules)])))
            scope.registered.append(label)
        scope.take()
        env.vars[label] = Value(None, tensors=tuple(results))
        for index, tensor in enumerate(results):  # item i's layer, which made its result
            flow.labels[f"{label}.{index}"] = tensor
        flow.current = results[-1]  # the chain goes on from the list (`-> add` takes it all)
        flow.listed = tuple(results)

    def layer_scope(self, e: syn.Comprehension, label: str, items: list[Any], scope: Scope,
                    flow: Flow, env: Env) -> None:
        """`ys: [from t -> conv(4, 1) -> relu for t in xs]`, items of several layers: one
        scope whose layers take positions item after item (`ys.0` the first conv, `ys.2` the
        second), a ModuleDict, as the table names them."""
        results: list[Tensor] = []

        def fill(inner: Scope, inner_flow: Flow) -> None:
            for item in items:
                sub = inner_flow.fork(inner_flow.current.shared() if inner_flow.current
                                      else None, hint=label)
                sub.labels = inner_flow.labels
                self._s_Chain(e.element, inner, sub, self.bound_item(e, item, env))
                assert sub.current is not None
                results.append(sub.current.shared())

        self.namespace(label, scope, flow, fill)
        env.vars[label] = Value(None, tensors=tuple(results))
        flow.current = results[-1] if results else flow.current
        flow.listed = tuple(results)

    def from_(self, value: syn.Expr, flow: Flow, scope: Scope, env: Env) -> None:
        """`from t`, `from xs`, `from levels[0]`: the chain goes on from a labeled tensor or
        from a list's tensors."""
        if isinstance(value, syn.From) and not _listed(env, value.path[0]):
            self.from_label(value, flow, scope)
        else:
            self.from_listed(value, flow, scope, env)

    def from_label(self, value: syn.From, flow: Flow, scope: Scope) -> None:
        if scope.fwd is None:
            raise NotChain
        dotted = ".".join(value.path)
        group = flow.groups.get(dotted)
        if dotted == "in":
            flow.current = flow.block_input
        elif isinstance(group, list):  # `from s`: every output of the call labeled s
            flow.listed, flow.current = tuple(group), group[0]
        elif group is not None:
            self.take_list(group, flow)
        else:
            tensor = flow.labels.get(dotted)
            if tensor is None:
                raise Unsupported(f"the tensor '{dotted}'")
            flow.current = tensor.shared()

    def group(self, body: tuple[syn.Stmt, ...], label: str | Py | None, scope: Scope, flow: Flow,
              env: Env) -> None:
        """A group's statements; the shared modules it declares are its own, as the
        elaborator scopes them (two heads' `shared conv` are two modules)."""
        before = (dict(self.shared), dict(self.shared_made), dict(self.shared_homes))
        try:
            self.group_body(body, label, scope, flow, env)
        finally:
            for name in [n for n, s in self.shared.items() if before[0].get(n) is not s]:
                for now, then in zip((self.shared, self.shared_made, self.shared_homes), before,
                                     strict=True):
                    now.pop(name, None)
                    if name in then:
                        now[name] = then[name]

    def group_body(self, body: tuple[syn.Stmt, ...], label: str | Py | None, scope: Scope,
                   flow: Flow, env: Env) -> None:
        if label is None:
            self.body(body, scope, flow, env)
            return
        start, rest = _leading_from(body)
        if start is not None and scope.fwd is not None:
            self.from_(start, flow, scope, env)  # `{ from t -> a -> b }`: a chain applied to t
            body = rest
        self.child_scope(label, scope, flow,
                         lambda inner, inner_flow: self.body(body, inner, inner_flow, env))

    def repeat(self, value: syn.BinOp, label: str | Py | None, el: syn.Element, scope: Scope,
               flow: Flow, env: Env) -> None:
        count = self.decides(self.py(value.right, env, flow, "ctor"))
        item = syn.Element(value.left.span, None, None, value.left)

        def fill(inner: Scope, inner_flow: Flow) -> None:
            if inner.fwd is None and inner.mode == "chain" and \
                    not self.reads_a_pass(inner):
                try:
                    self.loop(ast.Name("_", ast.Store()), P.call("range", [count]), item,
                              inner, inner_flow, env)
                    return
                except Unroll:
                    pass
            if type(count.const) is not int:
                raise Specialize(count.deps - {IN, SIZE}, "a forward repeats a layer that many "
                                                          "times")
            for _ in range(count.const):
                self.element(item, inner, inner_flow, env)

        passed = self.listed_current
        if label is None:
            fill(scope, flow)
        else:
            self.child_scope(label, scope, flow, fill)
        if type(count.const) is int and count.const == 0:
            flow.listed = passed  # no pass: the tensors it was given go on, all of them


# ---------------------------------------------------------------- helpers


def _several(listed: tuple[Tensor, ...] | TensorList | None) -> bool:
    """Whether the current value is several tensors, known one by one (a call of several
    outputs), which one name then stands for together."""
    return isinstance(listed, tuple) and len(listed) > 1 and \
        all(isinstance(t, Tensor) for t in listed)


def inline_bodies(body: tuple[syn.Stmt, ...], blocks: dict[str, syn.BlockDef]
                  ) -> tuple[syn.Stmt, ...]:
    """The bodies of the inline blocks `body` calls (and they call): their statements run in
    this forward, so the labels they read are read here (`a: conv ... from a -> relu`)."""
    found: list[syn.Stmt] = []
    seen: set[str] = set()
    pending = [body]
    while pending:
        for node in walk(pending.pop()):
            name = node.func if isinstance(node, syn.Call) else \
                node.id if isinstance(node, syn.Name) else None
            block = blocks.get(name) if name is not None else None
            if block is not None and block.inline and name not in seen:
                seen.add(name)
                found.extend(block.body)
                pending.append(block.body)
    return tuple(found)


def _made_by_call(default: ast.expr) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(default))


def _rebindable(name: str, referenced: set[str]) -> bool:
    """Whether the forward may rebind an input's variable to the next layer's result
    (`x = self.conv1(x)`): only when nothing else reads the input and its name is the running
    one; `image = self.stem(image)` would name feature maps an image."""
    return name == RUNNING and name not in referenced


def _entry(first: Tensor | TensorList) -> Tensor:
    """The tensor a block of tensor parameters starts from: its first, or a list's first
    item."""
    if isinstance(first, Tensor):
        return first
    return first.item(P.lit(0), ast.Subscript(ast.Name(first.var, ast.Load()), ast.Constant(0),
                                              ast.Load()))


def _leading_from(body: tuple[syn.Stmt, ...]) -> tuple[syn.From | None, tuple[syn.Stmt, ...]]:
    """A group that is one chain starting `from t` (unlabelled): that `from`, and the group
    without it."""
    chain = body[0] if len(body) == 1 else None
    if not isinstance(chain, syn.Chain) or len(chain.elements) < 2:
        return None, body
    first = chain.elements[0]
    if first.label is not None or not isinstance(first.value, syn.From):
        return None, body
    return first.value, (replace(chain, elements=chain.elements[1:]),)


def from_base(value: syn.Expr) -> bool:
    """`from levels[0]`: an index into (or attribute of) a `from`."""
    if not isinstance(value, (syn.Index, syn.Attribute)):
        return False
    while isinstance(value, (syn.Index, syn.Attribute)):
        value = value.value
    return isinstance(value, syn.From)


def _makes_tensors(value: syn.Expr) -> bool:
    """Whether an expression applies layers whatever its names mean, as the analysis
    decides: a `from` (or an index into one), a group or a merge."""
    return isinstance(value, (syn.From, syn.Group, syn.Merge)) or from_base(value)


def _applies_layers(chain: syn.Chain) -> bool:
    """Whether a comprehension's element is a chain that applies layers (`from f -> ...`)."""
    return len(chain.elements) > 1 or _makes_tensors(chain.elements[0].value)


def _index_of(listed: TensorList, k: int) -> ast.expr:
    return ast.Subscript(listed.node, ast.Constant(k), ast.Load())


def _ending_list(listed: tuple[Tensor, ...] | TensorList) -> list[tuple[str, Any]]:
    """The outputs of a body that ends at a list of tensors, named by position."""
    if isinstance(listed, TensorList):
        return [("", listed)]
    names = [t.var if t.var and P.is_identifier(t.var) else str(i) for i, t in enumerate(listed)]
    if len(set(names)) < len(names):
        names = [str(i) for i in range(len(listed))]
    return list(zip(names, listed, strict=True))


def _listed(env: Env, name: str) -> bool:
    found = env.find(name)
    return found is not None and (found.tensors is not None or found.listed is not None)


def _without_from(value: syn.Expr) -> syn.Expr:
    """`from features[i]` read as the value `features[i]`."""
    if isinstance(value, syn.From):
        name: syn.Expr = syn.Name(value.span, value.path[0])
        for part in value.path[1:]:
            name = syn.Attribute(value.span, name, part)
        return name
    if isinstance(value, syn.Index):
        return replace(value, value=_without_from(value.value))
    if isinstance(value, syn.Attribute):
        return replace(value, value=_without_from(value.value))
    return value


def _module_path(name: str, attribute: str, ctx: ast.expr_context) -> ast.expr:
    """`self.h[0].mlp.weight`: a tensor of a submodule by its dotted name, as Python reaches
    it (`self.lm_head.weight = self.wte.weight` ties a weight once the modules exist)."""
    node: ast.expr = ast.Name("self", ast.Load())
    for part in name.split("."):
        if part.isdigit():
            node = ast.Subscript(node, ast.Constant(int(part)), ast.Load())
        elif P.is_identifier(part):
            node = ast.Attribute(node, part, ast.Load())
        else:
            node = ast.Call(ast.Attribute(node, "get_submodule", ast.Load()),
                            [ast.Constant(part)], [])
    return ast.Attribute(node, attribute, ctx)


def _hint(kind: str | None, layers: Any) -> str | None:
    if layers is not None:
        return "Callable[..., nn.Module] | None" if any(
            passes_input(r.name) for r in layers) else "Callable[..., nn.Module]"
    return {"int": "int", "float": "float", "bool": "bool", "str": "str",
            "list": "tuple"}.get(kind or "")


def _has_attribute(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Attribute, ast.Subscript)) for n in ast.walk(node))


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _list_vars(env: Env) -> set[str]:
    """The forward's variables that hold lists of tensors (`inner_blocks`, `merged`)."""
    return {v.listed.var for v in env.vars.values()
            if v.listed is not None and v.listed.var is not None}


def _list_of_one(tensor: Tensor) -> TensorList:
    """The list of one tensor that an `output` of a list returns (`return (x,)`): a list
    still, which its callers loop over and index."""
    return TensorList(None, tensor.shape, P.lit(1), caxis=tensor.caxis, whole=True,
                      read=ast.Tuple([tensor.node], ast.Load()), items=(tensor,))
