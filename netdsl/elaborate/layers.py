"""Applying chain elements: operators, blocks, groups, merges, repeats, `from` and the language's
own constructs, each to the tensor(s) a chain has reached.

An element's value is dispatched by its syntax (`Group`, `Merge`, `From`, a repeat `x * n`,
a name or call) and a called name by what it resolves to (`op`, `block`, `construct`, `value`,
`instance`), as torch.fx's interpreter dispatches nodes: one method per kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netdsl.elaborate.constructs import CONSTRUCTS
from netdsl.elaborate.frame import AMBIGUOUS, Current, Site
from netdsl.elaborate.values import (
    UNBOUND,
    FollowOnError,
    LayerRef,
    Poisoned,
    TensorValue,
    call_number_help,
    hides,
    holds_tensors,
    single,
)
from netdsl.errors import SpecError, did_you_mean
from netdsl.ir import Call, Instance, Node
from netdsl.names import checked_label
from netdsl.notation import described, value_text
from netdsl.ops import REGISTRY, Op, TensorArg, TiedWeight
from netdsl.ops.base import Symbol, one_entry
from netdsl.syntax import ast

if TYPE_CHECKING:
    from netdsl.elaborate.elaborator import Elaborator

_NO_ARGS = LayerRef("")


class Layers:
    """The chain half of the elaborator."""

    def __init__(self, elaborator: Elaborator):
        self.el = elaborator
        self.ops: dict[tuple, Op] = {}  # operators are immutable: one per distinct call
        self.kinds: dict[type, Any] = {}  # element syntax class -> its method

    # ------------------------------------------------------------ chains and elements

    def chain(self, chain: ast.Chain, current: Current, naming: Any) -> Current:
        for element in chain.elements:
            current = self.element(element, current, naming)
        return current

    def element(self, el: ast.Element, current: Current, naming: Any) -> Current:
        label = self.label(el)
        value = el.value
        if label is not None and isinstance(value, ast.From):
            raise SpecError("a label on `from` names nothing new", "label", el.label_span,
                            help=f"to name the chain's result, wrap it: {label}: {{ from ... }}")
        out = self.layer(value, Site(label, el.span, naming, current))
        if label is not None:
            self.el.frame.bind_label(label, naming.full(label), out)
        return out

    def label(self, el: ast.Element) -> str | None:
        if el.label is None:
            return None
        if isinstance(el.label, str):
            return checked_label(el.label, el.label_span)
        text = self.el.evaluator.eval(el.label, self.el.frame.env)
        if not isinstance(text, str):
            raise SpecError(f"a computed label must be a string, got {value_text(text)}",
                            "label", el.label_span, help='make one: ("block" + str(i))')
        return checked_label(text, el.label_span)

    def layer(self, value: ast.Expr | ast.Merge, site: Site) -> Current:
        """Apply one element at `site`; return the new current tensor(s)."""
        method = self.kinds.get(type(value))
        if method is None:
            method = self.kinds[type(value)] = getattr(self, "_" + type(value).__name__,
                                                       self._value)
        return method(value, site)

    # ------------------------------------------------------------ by syntax

    def _Merge(self, m: ast.Merge, site: Site) -> Current:
        construct = CONSTRUCTS.get(m.func)
        if construct is not None and construct.takes_body:
            return construct.apply_body(self.el, m, site)
        cls = REGISTRY.get(m.func)
        if cls is None or not cls.variadic:
            known = sorted(n for n, c in REGISTRY.items() if c.variadic) + sorted(
                n for n, c in CONSTRUCTS.items() if c.takes_body)
            hint = did_you_mean(m.func, known)
            raise SpecError(f"'{m.func}' does not take a body of paths", "arg", m.func_span,
                            help=f"{hint + ' ' if hint else ''}merges with a body: "
                                 f"{', '.join(known)}")
        current = self.need_input(site)
        args, kwargs = self.el.evaluator.arguments(m.args, self.el.frame.env, symbols=True)
        if args:
            raise SpecError(f"'{m.func}' with a body takes keyword arguments only", "arg",
                            site.span)
        scope, inner = self.el.builder.scoped(site.label, site.span, site.naming, "merge")
        paths = self.el.statements.paths(m.body, current, inner)
        if not paths:
            raise SpecError(f"'{m.func}' has no paths", "arg", site.span)
        if len(paths) == 1:
            out = paths[0]
        else:
            operator = self.build_op(cls, [], kwargs, site)
            out = self.el.builder.node(inner.take(None, site.span), operator, paths, site.span,
                                       inner)
            self.note_twice(out, paths, [f"path {i}" for i in range(len(paths))])
        if scope is not None:
            scope.output = out
        return out

    def _Group(self, group: ast.Group, site: Site) -> Current:
        """A group's statements; the shared modules it declares are its own (its labels and
        `=` names are reachable after it)."""
        frame = self.el.frame
        mark = len(frame.declared)
        try:
            if site.label is None:
                out = self.el.statements.body(group.body, site.current, site.naming)
            else:
                scope = self.el.builder.open(site.label, site.span, site.naming, "group")
                out = self.el.statements.body(group.body, site.current,
                                              site.naming.inner(scope))
                scope.output = out if isinstance(out, str) else None
        finally:
            frame.forget_shared(mark)
        if out is None:
            raise SpecError("an empty group has no input to pass on", "name", site.span)
        return out

    def _From(self, value: ast.From, site: Site) -> Current:
        return self.from_tensor(value)

    def _BinOp(self, value: ast.BinOp, site: Site) -> Current:
        if value.op == "*" and self.is_layer_expr(value.left):
            return self.repeat(value, site)
        return self._value(value, site)

    def _Name(self, value: ast.Name, site: Site) -> Current:
        return self.apply(value.id, value.span, (), _NO_ARGS, site)

    def _Call(self, value: ast.Call, site: Site) -> Current:
        return self.apply(value.func, value.func_span, value.args, _NO_ARGS, site)

    def _Comprehension(self, value: ast.Comprehension | ast.ListExpr, site: Site) -> Current:
        """A list of tensors as an element (a comprehension, or a list of chains): a label
        names the list and opens a scope whose items take positions, as a labeled repeat's
        do."""
        el = self.el
        scope, inner = el.builder.scoped(site.label, site.span, site.naming, 'list')
        outer = el.naming
        el.naming = inner
        try:
            made = el.evaluator.eval(value, el.frame.env)
        finally:
            el.naming = outer
        refs = self.references(made, value.span)
        if scope is not None:
            scope.output = refs[-1] if refs else None
        return refs

    _ListExpr = _Comprehension

    def references(self, value: Any, span: Any) -> tuple[str, ...]:
        """The references of a tensor or a list of tensors."""
        items = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(t, TensorValue) for t in items):
            raise SpecError(f"expected tensors, got {value_text(value)}", "type", span,
                            help="a list item that applies layers makes a tensor: "
                                 "[from t -> conv(8, 1) for t in xs]")
        return tuple(t.node for t in items)

    def tensor_value(self, out: Current) -> Any:
        """What a chain made, as a value: a tensor or a list of them."""
        shape = self.el.frame.definition.values
        if isinstance(out, str):
            return TensorValue(out, shape[out], out)
        return tuple(TensorValue(r, shape[r], r) for r in out or ())

    def applies_layers(self, value: Any) -> bool:
        """Whether an expression, used as a value, applies layers: `from`, a group or a merge,
        a comprehension of such items, or a layer called with tensor arguments."""
        if isinstance(value, (ast.From, ast.Group, ast.Merge)) or _from_base(value):
            return True
        if isinstance(value, ast.Comprehension):
            return self.el.applies_layers(value.element) or self.calls_on_items(value)
        if isinstance(value, ast.ListExpr):  # `[from x -> conv(2, 1), from x -> conv(4, 1)]`
            return any(type(item) is ast.Chain for item in value.items)
        if isinstance(value, ast.Call) and self.is_layer_expr(value):
            return any(self.is_tensor_arg(arg.value) for arg in value.args)
        return False

    def is_tensor_arg(self, chain: ast.Chain) -> bool:
        if len(chain.elements) > 1:
            return True
        value = chain.elements[0].value
        if isinstance(value, (ast.From, ast.BlockInput)):
            return True
        if isinstance(value, ast.Name) and self.tensor_named(value.id) is not None:
            return True
        if isinstance(value, ast.Index) and self.picks_tensor(value):
            return True
        return self.tensor_list(chain) is not None

    def picks_tensor(self, value: ast.Index) -> bool:
        """`xs[0]`, `levels[-1]`: an item of a list of tensors is a tensor argument."""
        try:
            return isinstance(self.el.evaluator.eval(value, self.el.frame.env), TensorValue)
        except SpecError:
            return False

    def calls_on_items(self, e: ast.Comprehension) -> bool:
        """`[tb(t) for t in levels]`, `[head(t) for t in levels]`: a layer called on the items
        of a list of tensors makes tensors, as it does on a tensor outside a comprehension."""
        (element,) = e.element.elements if len(e.element.elements) == 1 else (None,)
        if element is None or not isinstance(element.value, ast.Call) or \
                not (self.is_layer_expr(element.value) or
                     isinstance(self.el.frame.env.find(element.value.func), Instance)):
            return False
        if not any(isinstance(a.value.elements[0].value, ast.Name) and
                   a.value.elements[0].value.id == e.var for a in element.value.args):
            return False
        iterable = ast.Chain(e.iterable.span, (ast.Element(e.iterable.span, None, None,
                                                           e.iterable),))
        return self.tensor_list(iterable) is not None

    def tensor_list(self, chain: ast.Chain) -> tuple[str, ...] | None:
        """The references of an argument that is a list of tensors (`rows`, `levels[1:]`,
        `[a, b]`, `rows + [a]`, the label of a call with several outputs); None for anything
        else. Only such expressions are evaluated here: others are left to their own rules."""
        if len(chain.elements) != 1 or chain.elements[0].label is not None:
            return None
        value = chain.elements[0].value
        if not isinstance(value, _LIST_SYNTAX):
            return None
        if isinstance(value, ast.Name):
            found = self.el.frame.tensors.get(value.id)
            if isinstance(found, tuple) and self.el.frame.env.find(value.id) is None:
                return found or None  # a label naming a call's several outputs
        try:
            listed = self.el.evaluator.eval(value, self.el.frame.env)
        except SpecError:
            return None
        if not isinstance(listed, tuple) or not listed or \
                not all(isinstance(t, TensorValue) for t in listed):
            return None
        return tuple(t.node for t in listed)

    def _value(self, value: ast.Expr, site: Site) -> Current:
        result = self.el.evaluator.eval(value, self.el.frame.env)
        if _from_base(value):  # `from levels[0]`: start at a tensor picked from a list
            return self.references(result, value.span)[0] if isinstance(result, TensorValue) \
                else self.references(result, value.span)
        if isinstance(result, LayerRef):
            return self.apply(result.name, site.span, (), result, site)
        if isinstance(result, Instance):
            return self.apply_instance(result, (), site)
        if isinstance(result, TensorValue):
            raise SpecError(f"the tensor '{result.label}' is not a layer", "type", value.span,
                            help=f"to continue from it, write: from {result.label} -> ...")
        raise SpecError(f"expected a layer, got {described(result)}", "type",
                        value.span, help="a chain is made of layers: conv(64, 3) -> relu")

    def repeat(self, value: ast.BinOp, site: Site) -> Current:
        el = self.el
        count = el.evaluator.eval(value.right, el.frame.env)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise SpecError(f"a repeat count must be an int >= 0, got {value_text(count)}", "value",
                            value.right.span)
        scope, inner = el.builder.scoped(site.label, site.span, site.naming, "repeat")
        item = ast.Element(value.left.span, None, None, value.left)
        current = site.current
        last: Call | None = None
        for i in range(count):
            el.program.budget.iterate(site.span, "repeat")
            with el.builder.repetition(i, count):
                if last is not None and last.definition.output_shapes() == \
                        last.definition.inputs:
                    current = el.builder.extend_run(last, count - i, inner)
                    break
                before = len(el.frame.definition.items)
                current = self.element(item, current, inner)
                last = self.single_call(before, current)
        if scope is not None:
            scope.output = current if isinstance(current, str) else None
        if current is None:
            raise SpecError("nothing to repeat over: no input yet", "name", site.span)
        return current

    def single_call(self, before: int, current: Current) -> Call | None:
        """The one call a pass of a repeat made, if it made exactly one plain positional call
        from the previous tensor to `current`: when its definition keeps the shape, the other
        passes are that call again (the element and its environment are the same), a run."""
        items = self.el.frame.definition.items
        if len(items) != before + 1 or not isinstance(current, str):
            return None
        call = next(reversed(items.values()))
        if not isinstance(call, Call) or call.shared is not None or call.outputs != [current] \
                or len(call.definition.inputs) != 1 or \
                not call.name.rpartition(".")[2].isdigit():
            return None
        return call

    # ------------------------------------------------------------ by what a name means

    def apply(self, func: str, func_span: Any, arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
              site: Site) -> Current:
        """Apply the layer `func` names, with the arguments of a layer value (`preset`) and
        of the call (`arg_asts`)."""
        bound = self.el.frame.env.find(func)
        if bound is not UNBOUND and bound is not None:
            if isinstance(bound, Instance):
                try:
                    return self.apply_instance(bound, arg_asts, site)
                except SpecError as exc:  # a label or arguments: meant for what it hides?
                    hidden = self.el.layer_kind(func)
                    if hidden is None or exc.code not in ("label", "arg"):
                        raise
                    raise hides(func, bound, hidden, func_span) from None
            if isinstance(bound, TensorValue):
                raise SpecError(f"'{func}' is a tensor, not a layer", "type", func_span,
                                help=f"to continue from it, write: from {func} -> ...")
            if isinstance(bound, Poisoned):  # its own error was reported
                raise FollowOnError.of(func, func_span)
            if not isinstance(bound, LayerRef):
                raise SpecError(f"'{func}' is {described(bound)}, not a layer",
                                "type", func_span)
            merged = LayerRef(bound.name, bound.args + preset.args,
                              bound.kwargs + preset.kwargs)
            return self.apply(bound.name, func_span, arg_asts, merged, site)
        construct = CONSTRUCTS.get(func)
        if construct is not None:
            return construct.apply(self.el, arg_asts, preset, site)
        blocks = self.el.program.blocks
        if func in blocks:
            return self.el.blocks.call(blocks[func], arg_asts, preset, site)
        if func in REGISTRY:
            return self.op(REGISTRY[func], arg_asts, preset, site)
        if self.el.frame.tensors.get(func) is not None:
            raise SpecError(f"'{func}' is a tensor, not a layer", "type", func_span,
                            help=f"to continue from it, write: from {func} -> ...")
        if func in self.el.program.networks:
            raise SpecError(f"'{func}' is a network; only blocks can be called", "name",
                            func_span, help=f"declare it as: block {func}(...) {{ ... }}")
        raise SpecError(f"unknown operator or block '{func}'", "name", func_span,
                        help=did_you_mean(func, self.el.layer_names()))

    def op(self, cls: type[Op], arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
           site: Site, name: str | None = None) -> Current:
        """Apply an operator; `name` overrides the naming by label or position (a shared
        operator's applications). A merge applied to several tensors takes them all."""
        if cls.variadic and isinstance(site.current, tuple):
            if not site.current:
                raise SpecError(f"{cls.name} of no tensors: the list it takes is empty", "arg",
                                site.span, help="a merge needs at least one tensor")
            inputs = list(site.current)
            current = inputs[-1]
            roles = [f"item {i} of the current tensors" for i in range(len(inputs))]
        else:
            current = self.need_input(site)
            inputs = [current]
            roles = ["the current tensor"]
        args, kwargs = list(preset.args), dict(preset.kwargs)
        ties: dict[str, str] = {}  # attribute -> the layer whose weight it shares
        spans: dict[str | None, Any] = {}  # attribute -> its argument, where its errors point
        table = cls.parameters()
        env = self.el.frame.env
        for arg in arg_asts:
            if arg.name is None and kwargs:
                raise SpecError("a positional argument follows a keyword argument", "arg",
                                arg.span)
            index = len(args)
            field_ = table.by_name.get(arg.name) if arg.name else (
                table.positional[index] if index < len(table.positional) else None)
            if field_ is not None:
                spans[field_.name] = arg.span
            if field_ is not None and field_.name in table.weights:
                value, ties[field_.name] = self.tied_weight(arg.value)
            elif cls.variadic and arg.name is None and \
                    (listed := self.tensor_list(arg.value)) is not None:
                if listed == site.current:
                    raise SpecError(f"'{cls.name}' would take these tensors twice: they are "
                                    "the current value, which a merge takes first, and its "
                                    "argument", "arg", arg.span,
                                    help=f"write `{cls.name}` alone to merge the current "
                                         "tensors, or start elsewhere with `from`")
                inputs.extend(listed)  # `concat(rows)`: every tensor of the list
                roles += [f"item {i} of its list" for i in range(len(listed))]
                continue
            elif (cls.variadic and arg.name is None) or (
                    field_ is not None and field_.name in table.tensors):
                ref = self.path(arg.value, site.with_current(current))
                inputs.append(ref)
                roles.append(f"its argument '{_describe(arg.value)}'")
                value: Any = self.tensor_arg(_describe(arg.value), ref)
                if cls.variadic and arg.name is None:
                    continue
            else:
                value = self.el.evaluator.eval(single(arg.value), env, symbols=True)
                if isinstance(value, TensorValue):
                    _tensor_misuse(value, arg)
                if field_ is not None and one_entry(field_, value):
                    self.el.program.one_entry.add(arg.span)
            if arg.name is None:
                args.append(value)
            elif arg.name in kwargs:
                raise SpecError(f"argument '{arg.name}' given twice", "arg", arg.span)
            else:
                kwargs[arg.name] = value
        try:
            operator = self.build_op(cls, args, kwargs, site)
            if name is None:
                name = site.naming.take(site.label, site.span)
            ref = self.el.builder.node(name, operator, inputs, site.span, site.naming)
        except SpecError as exc:  # an attribute at fault: at its argument, if the call gave it
            exc.span = spans.get(exc.attribute, exc.span)
            raise
        if cls.variadic:
            self.note_twice(ref, inputs, roles)
        if ties:
            self.el.frame.definition.items[ref].meta["ties"] = ties
        return ref

    def note_twice(self, ref: str, inputs: list[str], roles: list[str]) -> None:
        """Record on a merge a tensor it takes twice (`concat([x] + ys)` right after x: the
        current tensor and an item of its list), for the warning `netdsl check` gives: it
        doubles the tensor silently. `roles` says where each input came from."""
        first: dict[str, int] = {}
        for i, tensor in enumerate(inputs):
            if tensor in first:
                node = self.el.frame.definition.items[ref]
                node.meta["twice"] = (f"{node.op_name} takes '{self.el.frame.local(tensor)}' "
                                      f"twice: as {roles[first[tensor]]} and as {roles[i]}",
                                      _TAKES_CURRENT if "current" in roles[first[tensor]]
                                      else None)
                return
            first[tensor] = i

    def tied_weight(self, chain: ast.Chain) -> tuple[TiedWeight, str]:
        """`weight=wte`: the weight of the layer labeled `wte` earlier in this body, and that
        layer's reference."""
        value = chain.elements[0].value if len(chain.elements) == 1 else None
        if not isinstance(value, ast.Name) or chain.elements[0].label is not None:
            raise SpecError("a shared weight is named by the label of a layer", "arg",
                            chain.span, help="e.g. lm_head: linear(vocab, weight=wte)")
        ref = self.tensor_named(value.id)
        definition = self.el.frame.definition
        made = definition.items.get(ref) if ref is not None else None
        if not isinstance(made, Node) or made.op is None or value.id in definition.scopes:
            raise SpecError(f"'{value.id}' is not a layer of this body", "name", value.span,
                            help=did_you_mean(value.id, set(self.el.frame.tensors)) or
                            "a weight is shared with a layer labeled earlier in the same "
                            "network or block body")
        shape = made.op.weight_shape(list(made.meta["in"]))
        if shape is None:
            raise SpecError(f"'{value.id}' ({made.op.name}) has no weight to share", "arg",
                            value.span)
        return TiedWeight(value.id, shape), ref

    def tensor_arg(self, label: str, ref: str) -> TensorArg:
        """A tensor argument, with the operator that made it and that operator's input shape
        (`unpool(pool1)` takes its window and output size from the pooling it undoes)."""
        made = self.el.frame.definition.producer(ref)
        if made is None or made.op is None:
            return TensorArg(label)
        return TensorArg(label, made.op, made.meta["in"][0] if made.meta.get("in") else None)

    def build_op(self, cls: type[Op], args: list[Any], kwargs: dict[str, Any],
                 site: Site) -> Op:
        """The operator for evaluated arguments, one object per distinct scalar call."""
        for name in cls.whole_floats(args, kwargs):
            self.el.program.whole_floats.add((site.span, name))
        key = _call_key(cls, args, kwargs)
        operator = self.ops.get(key) if key is not None else None
        if operator is None:
            try:
                operator = cls.from_args(args, kwargs)
            except SpecError as exc:
                exc.span = exc.span or site.span
                exc.help = exc.help or self.symbol_help([*args, *kwargs.values()])
                raise
            if key is not None:
                self.ops[key] = operator
        return operator

    def apply_instance(self, instance: Instance, arg_asts: tuple[ast.Arg, ...],
                       site: Site) -> Current:
        """A call of a shared module: its definition for these input shapes, applied under
        the instance's name, with the instance's (one set of) weights."""
        return self.el.shared.apply(instance, arg_asts, site)

    def symbol_help(self, values: list[Any]) -> str | None:
        """A bare word rejected by an operator was most likely a misspelt value name."""
        for value in values:
            if isinstance(value, Symbol):
                hint = did_you_mean(value, self.el.frame.env.names() - set(REGISTRY))
                if hint:
                    return hint
        return None

    # ------------------------------------------------------------ tensors

    def need_input(self, site: Site) -> str:
        current = site.current
        if current is None:
            raise self.el.frame.no_input(site.span)
        if not isinstance(current, str):
            return one_tensor(current, "this layer", site.span)
        return current

    def is_layer_expr(self, expr: ast.Expr) -> bool:
        if isinstance(expr, (ast.Group, ast.Merge)):
            return True
        name = expr.id if isinstance(expr, ast.Name) else expr.func if isinstance(
            expr, ast.Call) else None
        if name is None:
            return False
        bound = self.el.frame.env.find(name)
        if bound is UNBOUND:
            return self.el.is_layer(name)
        return isinstance(bound, (LayerRef, Instance))

    def from_tensor(self, value: ast.From) -> Current:
        dotted = ".".join(value.path)
        if dotted == "in":
            return self.el.block_input().node
        if len(value.path) == 1:  # a name bound by `=` to a tensor or a list of them
            bound = self.el.frame.env.find(dotted)
            if isinstance(bound, TensorValue):
                return bound.node
            if isinstance(bound, tuple) and bound and all(isinstance(t, TensorValue)
                                                          for t in bound):
                return tuple(t.node for t in bound)
            if isinstance(bound, tuple) and holds_tensors(bound):
                raise SpecError(f"'{dotted}' is a list of lists of tensors: `from` takes a "
                                "tensor or a list of tensors", "type", value.span,
                                help=f"index it: from {dotted}[0][0]")
        found = self.el.frame.tensors.get(dotted) or self.el.frame.position(dotted)
        if found is AMBIGUOUS:
            raise SpecError(f"the label '{dotted}' names several tensors", "name", value.span,
                            help="use its dotted name, e.g. from branch1.conv")
        if found is None and Poisoned.named(self.el.frame.env, dotted):
            raise FollowOnError.of(dotted, value.span)
        if found is None:
            raise SpecError(f"unknown tensor '{dotted}'", "name", value.span,
                            help=did_you_mean(dotted, self.el.frame.tensors) or
                            (call_number_help(dotted) if "#" in dotted else
                             "only tensors labeled earlier in this body can be named"))
        return found

    def path(self, chain: ast.Chain, site: Site) -> str:
        """A tensor argument: a labeled tensor's name, or a chain run from the current tensor."""
        el = self.el
        if len(chain.elements) == 1 and chain.elements[0].label is None:
            value = chain.elements[0].value
            if isinstance(value, ast.Name):
                found = self.tensor_named(value.id)
                if found is not None:
                    return found
                if Poisoned.named(el.frame.env, value.id):  # its own error was reported
                    raise FollowOnError.of(value.id, value.span)
                bound = el.frame.env.find(value.id)
                if isinstance(bound, tuple) and holds_tensors(bound):
                    raise SpecError(f"'{value.id}' is a list of tensors, not one tensor",
                                    "type", value.span,
                                    help=f"pick one of its tensors: {value.id}[0]")
                if not self.is_layer_expr(value):
                    raise SpecError(f"unknown tensor or layer '{value.id}'", "name", value.span,
                                    help=did_you_mean(value.id, set(el.frame.tensors) |
                                                      el.layer_names()) or
                                    "only tensors labeled earlier in this body can be named")
            if isinstance(value, ast.BlockInput):
                return el.block_input().node
            if isinstance(value, (ast.Attribute, ast.Index)):  # branch1.conv, levels[0]
                tensor = el.evaluator.eval(value, el.frame.env)
                if isinstance(tensor, TensorValue):
                    return tensor.node
        out = self.chain(chain, site.current, site.naming)
        if not isinstance(out, str):
            raise SpecError("a tensor argument must be one tensor", "arg", chain.span)
        return out

    def tensor_named(self, name: str) -> str | None:
        """The reference a plain name gives as one tensor: a name bound to it by `=`, or a
        label; None if the name means no tensor."""
        bound = self.el.frame.env.find(name)
        if isinstance(bound, TensorValue):
            return bound.node
        found = self.el.frame.tensors.get(name)
        if found is None:
            return None
        if found is AMBIGUOUS or not isinstance(found, str):
            raise SpecError(f"'{name}' names several tensors", "name",
                            help="use a dotted name (branch1.conv) or an index (outputs[0])")
        return found


_TAKES_CURRENT = ("a merge takes the current tensor first: write its list without it, or start "
                  "elsewhere with `from`")
_LIST_SYNTAX = (ast.Name, ast.Index, ast.ListExpr, ast.BinOp)  # what may spell a list of tensors


def one_tensor(current: tuple[str, ...], what: str, span: Any) -> str:
    """The one tensor of a current value that is a list: a list of one is its tensor."""
    if len(current) == 1:
        return current[0]
    if not current:
        raise SpecError(f"{what} has no input: the list before it is empty", "arg", span)
    raise SpecError(f"{what} takes one tensor but is applied to {len(current)} tensors", "arg",
                    span, help="pick one with `from name`, or merge them: concat, add")

# Argument types that compare equal only to values of the same type once the type is in the key
# (1, 1.0 and true are equal in Python but not as arguments: a float channel count is an error).
_SCALARS = frozenset({int, float, bool, str, Symbol, type(None)})


def _call_key(cls: type[Op], args: list[Any], kwargs: dict[str, Any]) -> tuple | None:
    """What makes two operator calls the same operator; None when an argument is not a plain
    scalar (a list, a tensor), and the call is built on its own."""
    key: list[Any] = [cls]
    for value in args:
        if type(value) not in _SCALARS:
            return None
        key += (type(value), value)
    for name, value in kwargs.items():
        if type(value) not in _SCALARS:
            return None
        key += (name, type(value), value)
    return tuple(key)


def _from_base(value: Any) -> bool:
    """Whether an expression indexes or reaches into a `from`: `from levels[0]`."""
    while isinstance(value, (ast.Index, ast.Attribute)):
        value = value.value
    return isinstance(value, ast.From)


def _describe(chain: ast.Chain) -> str:
    first = chain.elements[0].value
    if isinstance(first, ast.Name):
        return first.id
    if isinstance(first, ast.From):
        return ".".join(first.path)
    return "path"


def _tensor_misuse(value: TensorValue, arg: ast.Arg) -> Any:
    raise SpecError(f"the tensor '{value.label}' is not a value here", "type", arg.span,
                    help=f"to use its size, write {value.label}.c, {value.label}.h or "
                         f"{value.label}.w")
