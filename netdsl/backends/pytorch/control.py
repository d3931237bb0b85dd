"""A block's `if` and `for` at construction time, and what a forward reads back of them."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.flow import Flow, Offset, Scope, Tensor
from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.backends.pytorch.pystmt import (
    assign,
    assigns,
    if_chain,
    loop_target,
    rename,
    returns,
    self_attr,
    substitute_name,
)
from netdsl.backends.pytorch.shapes import Shape
from netdsl.backends.pytorch.syntax import over_range, walk
from netdsl.backends.pytorch.values import (
    IN,
    IN_CHANNELS,
    SIZE,
    SIZES,
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    pass

# the variable an `if` in a path of a merge joins its branches into, as torchvision names the
# shortcut (`identity = x; if self.downsample is not None: identity = self.downsample(x)`)
PATH_VARIABLE = "identity"


class Unroll(Exception):
    """A constructor loop whose passes see different sizes, calling classes made for one
    size, or pick different tensors of a list (`nodes[k - 1]`): written once per pass
    instead."""


class ControlFlow:
    """A block's `if` and `for` at construction time, and what a forward reads back of them."""

    def _s_If(self, stmt: syn.If, scope: Scope, flow: Flow, env: Env) -> None:
        tests: list[Py] = []
        bodies: list[tuple[syn.Stmt, ...]] = []
        for cond, body in stmt.branches:
            test = self.construction_test(cond, env, flow)
            if test.known and isinstance(test.const, bool):
                if test.const:
                    tests.append(P.lit(True))
                    bodies.append(body)
                    break
                continue
            tests.append(test)
            bodies.append(body)
        else:
            tests.append(P.lit(True))
            bodies.append(stmt.otherwise or ())
        if tests and tests[0].const is True:
            self.body(bodies[0], scope, flow, env)
            return
        self.branches(tests, bodies, scope, flow, env, paths=None)

    def construction_test(self, cond: syn.Expr, env: Env, flow: Flow) -> Py:
        """A condition the constructor decides (an `if`, `residual(when = ...)`). One that
        reads the input's size makes the block a class per size, as the issue's specialized
        classes: a module cannot rebuild itself for each input it is given."""
        try:
            return self.decides(self.py(cond, env, flow, "ctor"))
        except RuntimeOnly as exc:
            self.made_for_size(exc, "its structure depends on the size of its input")

    def made_for_size(self, exc: RuntimeOnly, why: str) -> NoReturn:
        """A value the constructor needs was read from the input's size: the class is made
        for the one size its input has, which makes that value a constant (and the module
        checks its input against it); a class that already is, or the network, cannot know
        it."""
        if self.info.is_network or SIZES in self.info.binding:
            raise exc
        raise Specialize(frozenset({SIZES}), why) from None

    def decides(self, value: Py) -> Py:
        """A value the constructor chooses structure by (a test, a number of passes): one
        read from the input's size makes the module check, when it runs, the size it was
        built for, as a layer made from that size does."""
        if SIZE in value.deps:
            self.size_dependent = True
        return value

    def decided(self, value: Value) -> Value:
        """What a list of layers or tensors is made over (`range(x.h // 8)`), as `decides`."""
        if value.py is not None:
            self.decides(value.py)
        return value

    def branches(self, tests: list[Py], bodies: list[tuple[syn.Stmt, ...]], scope: Scope,
                 flow: Flow, env: Env, paths: Tensor | None) -> list[Tensor] | None:
        """Translate an `if` whose branches are chosen at construction time: the constructor
        gets a Python `if`; a forward, an `if` on what the constructor recorded. With `paths`
        (the entry of a merge), each branch yields merge paths instead of a current tensor."""
        start = flow.current
        results = []
        envs: list[Env] = []
        before = dict(flow.labels)
        bound: list[dict[str, Tensor]] = []  # the labels each branch binds
        conds = _branch_conditions(tests)
        casing = paths is None and scope.fwd is not None and self.may_return_by_case(scope)
        for body, cond in zip(bodies, conds, strict=True):
            ctor: list[ast.stmt] = []
            fwd: list[ast.stmt] | None = [] if scope.fwd is not None else None
            inner = scope.nested(ctor, fwd)
            inner.registered = []
            inner.chosen = {}
            branch_flow = flow.fork(start)
            branch_flow.labels = flow.labels
            branch_env = env.child()
            if casing:  # an `if` in this branch may end in outputs of its own too
                self.case_path.append((cond, fwd))
            try:
                if paths is not None:
                    ends = self.paths(body, paths, inner, branch_flow, branch_env)
                else:
                    self.body(body, inner, branch_flow, branch_env)
                    ends = [branch_flow.current]
            finally:
                if casing:
                    self.case_path.pop()
            if branch_flow.returned:
                ends = []  # by an `if` in it, whose branches each end in an `output`
            elif len(branch_flow.outputs) > len(flow.outputs) and fwd is not None:
                fwd.append(returns(branch_flow.outputs))  # an `output` in the branch
                ends = []
            results.append((ctor, fwd, inner, branch_flow, ends))
            envs.append(branch_env)
            bound.append(_unbind(flow.labels, before))
        _merge_envs(env, envs)
        tested = frozenset().union(*(t.deps for t in tests))  # the parameters the `if` tests
        deps = tested - {IN, SIZE}
        counters = {r[2].counter for r in results}
        shift = None  # the position after the `if`, where it is the constructor's choice
        if len(counters) > 1:
            shift = self.shifted_position(tests, [r[2].counter for r in results], scope)
            if shift is None:
                scope.dynamic = (scope.dynamic or frozenset()) | tested
            scope.counter = 0 if shift is not None else max(counters)
        else:
            scope.counter = counters.pop()
            if any(r[2].dynamic for r in results):
                scope.dynamic = frozenset().union(*(r[2].dynamic or frozenset() for r in results))
        registered = [r[2].registered for r in results]
        for names in registered:
            for name in names:
                if name in scope.registered and name not in scope.chosen:
                    raise Specialize(deps, f"a branch it chooses gives the label '{name}' again")
                scope.chosen[name] = deps
            scope.registered.extend(names)
        # the tensors after the `if` (of the branches that go on)
        returned = [r for r in results if not r[4] and paths is None]
        going = [r for r in results if r not in returned]
        if not going or any(r[3].returned for r in results):
            if not deps and not going:
                raise Unsupported("every branch ends in an `output`, chosen as the network runs")
            if going or not casing or not self.returns_by_case(tests):
                raise Specialize(deps, "each branch ends in an `output` of its own")
            ctor_if = if_chain(tests, [r[0] for r in results])
            ftests = self.forward_tests(tests, registered, scope, ctor_if)
            scope.fwd.extend(_early_return(if_chain(ftests, [r[1] for r in results])))
            scope.ctor.extend(ctor_if)
            enclosing = [c for c, _ in self.case_path]
            self.cases += [(_all(enclosing + [c]), r[3].outputs, r[3].current)
                           for c, r in zip(conds, results, strict=True) if not r[3].returned]
            flow.returned = True
            return None
        counts = {len(r[4]) for r in going}
        if len(counts) > 1:
            if not deps and IN in tested:  # a class per number of input channels
                raise Specialize(frozenset({IN_CHANNELS}), "the number of paths of a merge "
                                                           "depends on its input's channels")
            raise Specialize(deps, "the number of paths of a merge depends on it")
        n = counts.pop()
        self.join_labels([bound[results.index(r)] for r in going], going, scope, flow, start)
        ends: list[Tensor] = []
        for i in range(n):
            ends.append(self.join([r[4][i] for r in going], [r[0] for r in going],
                                  [r[1] for r in going], scope,
                                  hint=PATH_VARIABLE if paths is not None else flow.hint,
                                  start=start))
        # the constructor
        ctor_if = if_chain(tests, [r[0] for r in results])
        if scope.fwd is not None:
            fwd_bodies = [r[1] for r in results]
            if len({ast.dump(ast.Module(b or [], [])) for b in fwd_bodies}) == 1:
                scope.fwd.extend(fwd_bodies[0] or [])  # every branch runs the same code
            elif any(fwd_bodies):
                ftests = self.forward_tests(tests, registered, scope, ctor_if)
                scope.fwd.extend(if_chain(ftests, fwd_bodies))
        scope.ctor.extend(ctor_if)
        if shift is not None:
            scope.offset = Offset(shift, scope.ctor, scope.ctor[-1] if scope.ctor else None)
        if paths is not None:
            return ends
        flow.current = ends[0]
        return None

    def may_return_by_case(self, scope: Scope) -> bool:
        """Whether an `if` here may end in outputs the constructor chooses: at the top of a
        block's forward, or right in a branch of such an `if`."""
        if self.info.is_network:
            return False
        return scope.fwd is (self.case_path[-1][1] if self.case_path else self.top_fwd)

    def returns_by_case(self, tests: list[Py]) -> bool:
        """Whether an `if` whose every branch ends in an `output` can be one class whose
        forward returns what the constructor chose (hg_stack's `if last { output out }
        else { ... output out, next }`): on a test of its parameters alone, which each call's
        arguments then decide."""
        params = {p.py for p in self.info.params}
        return all(set(P.names_in(t.node)) <= params for t in tests)

    def shifted_position(self, tests: list[Py], counters: list[int], scope: Scope) -> Py | None:
        """The position after an `if` whose branches take different numbers of positions, as
        a constructor expression (`1 if pre_relu else 0`); None where it cannot name layers
        (in a Sequential being filled, whose appends need no names; or inside another
        branch, where the forward could not read it back)."""
        if scope.owner.sequential or scope.dynamic or scope.ctor is not self.top_ctor:
            return None
        offset = scope.offset
        base = P.lit(0) if offset is None else offset.value if offset.value.known else \
            P.name(self.offset_variable(offset))  # named once, not copied into each branch
        value: Py | None = None
        for test, counter in reversed(list(zip(tests, counters, strict=True))):
            here = P.simplify(P.binop("+", base, P.lit(counter)))
            value = here if value is None or test.const is True else \
                P.conditional(test, here, value)
        return value

    def join_labels(self, bound: list[dict[str, Tensor]], going: list[Any], scope: Scope,
                    flow: Flow, start: Tensor | None) -> None:
        """A label every branch binds and the body reads after the `if` (`if s != 1 {
        t: conv(..) } else { t: identity }`, then `concat(t)`) is one tensor after it: one
        variable every branch assigns, channels of their own (later layers change the running
        ones). A branch's current tensor that is the label's follows the renaming."""
        common = {k for k in set.intersection(*(set(b) for b in bound))
                  if k in self.referenced} if bound else set()  # read after the `if`
        for b in bound:  # the others: as before, the last branch's
            flow.labels.update({k: v for k, v in b.items() if k not in common})
        groups: dict[tuple[int, ...], list[str]] = {}
        for name in sorted(common):  # a label and its dotted path name one tensor
            groups.setdefault(tuple(id(b[name]) for b in bound), []).append(name)
        for names in groups.values():
            tensors = [b[names[0]] for b in bound]
            joined = self.join(tensors, [r[0] for r in going], [r[1] for r in going], scope,
                               hint=names[0].rpartition(".")[2], start=start, fresh=True)
            joined = joined.shared()
            for r, tensor in zip(going, tensors, strict=True):
                r[4][:] = [joined if tensor.var is not None and end.var == tensor.var else end
                           for end in r[4]]
            for name in names:
                flow.labels[name] = joined

    def join(self, ends: list[Tensor], ctors: list[list[ast.stmt]],
             fwds: list[list[ast.stmt] | None], scope: Scope, hint: str,
             start: Tensor | None, fresh: bool = False) -> Tensor:
        """One tensor from the branches' tensors: channels agreed on (or a running variable;
        with `fresh`, or in a path of a merge, one of their own), and in a forward one variable
        every branch assigns."""
        shape = self.join_shapes([e.shape for e in ends], ctors,
                                 fresh=fresh or hint == PATH_VARIABLE, caxis=ends[0].caxis)
        if len({e.batched for e in ends}) > 1:
            raise Unsupported("branches of which one ends in a tensor without a batch axis "
                              "(a parameter's) and another in one with it")
        if scope.fwd is None:
            return Tensor(shape, caxis=ends[0].caxis)
        vars_ = [e.var for e in ends]
        if len(set(vars_)) == 1:
            same = ends[0]
            return replace(same, shape=shape, fresh=all(e.fresh for e in ends))
        # a variable every branch ends in: one made in a branch, renamed; an older one, copied
        entry = start.var if start is not None else None  # the tensor the `if` starts from

        def own(var: str | None, fwd: list[ast.stmt] | None) -> bool:
            """Made in the branch (so it may be renamed), not a variable from before it."""
            return bool(fwd) and assigns(fwd, var) and var != entry \
                and not _defined_before(var, scope)

        made = [v for v, f in zip(vars_, fwds, strict=True) if own(v, f)]
        # made anew in every branch (an add, a concatenation): what follows may work in place
        fresh = len(made) == len(ends) and all(e.fresh for e in ends)
        kept = any(not f for f in fwds)  # a branch that leaves the tensor as it was
        if made and not (hint == PATH_VARIABLE and kept):
            target = made[0]
        else:  # torchvision's `identity = x; if ...: identity = self.downsample(x)`
            target = self.fnames.reserve(hint)
            self.temps[target] = hint
        hoisted = None
        for var, fwd in zip(vars_, fwds, strict=True):
            assert fwd is not None
            if var == target:
                continue
            if own(var, fwd):
                rename(fwd, var, target)
            elif hoisted is None and not fwd:
                hoisted = var
            else:
                fwd.append(assign(target, ast.Name(var, ast.Load())))
        if hoisted is not None:
            scope.fwd.append(assign(target, ast.Name(hoisted, ast.Load())))
        return Tensor(shape, target, owned=True, fresh=fresh, caxis=ends[0].caxis,
                      batched=ends[0].batched)

    def join_shapes(self, shapes: list[Shape], ctors: list[list[ast.stmt]],
                    fresh: bool = False, caxis: int = 0) -> Shape:
        first = shapes[0]
        if any(len(s) != len(first) for s in shapes):
            raise Unsupported("branches that end in tensors of different ranks")
        out: list[Py | None] = []
        for axis in range(len(first)):
            dims = [s[axis] for s in shapes]
            if all(d is not None for d in dims) and all(P.same(d, dims[0]) for d in dims):
                out.append(dims[0])
            elif axis == caxis and all(d is not None for d in dims):
                # a merge path's channels are a value of their own; the flow's, the running one
                var = self.locals.reserve("channels", None if fresh else "channels")
                for ctor, d in zip(ctors, dims, strict=True):
                    if not (isinstance(d.node, ast.Name) and d.node.id == var):
                        ctor.append(assign(var, d.node))
                out.append(P.name(var, frozenset().union(*(d.deps for d in dims))))
            else:
                out.append(None)
        return tuple(out)

    def forward_tests(self, tests: list[Py], registered: list[list[str]], scope: Scope,
                      ctor_if: list[ast.stmt]) -> list[Py]:
        """How the forward tells which branch the constructor took."""
        out = []
        for i, test in enumerate(tests):
            if test.const is True:
                out.append(test)
                continue
            names = registered[i]
            others = [n for j, r in enumerate(registered) if j != i for n in r]
            if len(tests) <= 2 and len(names) == 1 and not others and names[0] not in self.multi \
                    and P.is_identifier(names[0]) and i == 0:
                label = names[0]
                ctor_if.insert(0, ast.Assign([self_attr(label, ast.Store())],
                                             ast.Constant(None)))
                out.append(Py(ast.Compare(self_attr(label), [ast.IsNot()],
                                          [ast.Constant(None)])))
                continue
            out.append(self.flag(test, names))
        return out

    def flag(self, test: Py, names: list[str]) -> Py:
        """A constructor-time condition as the forward reads it: a parameter or value it names
        (stored: `self.s == 1`), or a flag of its own."""
        free = [n for n in P.names_in(test.node)]
        if len(set(free)) == 1 and free[0] not in ("in_channels", "in_features"):
            var = free[0]
            stored = self.store(var, P.name(var))
            return P.substitute(test, {var: stored})
        key = f"use_{names[0]}" if names else "use_branch"
        return self.store(key, test)

    def flag_named(self, test: Py, key: str) -> Py:
        free = set(P.names_in(test.node))
        if len(free) == 1 and not free & {"in_channels", "in_features"}:
            var = free.pop()
            return P.substitute(test, {var: self.store(var, P.name(var))})
        return self.store(key, test)

    def _s_For(self, stmt: syn.For, scope: Scope, flow: Flow, env: Env) -> None:
        iterable = self.decided(self.expr(stmt.iterable, env, flow, "ctor"))
        if iterable.py is None and (iterable.tensors is not None or iterable.listed is not None):
            if scope.fwd is None:
                raise NotChain
            items = iterable.tensors if iterable.tensors is not None else \
                iterable.listed.known_items()  # type: ignore[union-attr]
            if items is not None:  # `for t in [p3, p4]`: the body for each tensor
                for item in items:
                    env.vars[stmt.var] = Value(None, tensors=(item,))
                    self.body(stmt.body, scope, flow, env)
                return
            if iterable.listed is not None:
                raise Specialize(iterable.listed.deps, "a forward loops over its tensors")
        if iterable.py is None:
            raise Unsupported("a loop over values known only when the network runs")
        if scope.mode == "module" or scope.fwd is not None:
            if scope.fwd is not None and not iterable.py.known:  # a loop the forward runs
                self.forward_loop(stmt, iterable, scope, flow, env)
                return
            self.unroll(stmt, iterable.py, scope, flow, env)
            return
        var = self.locals.reserve(stmt.var, "loop")
        inner_env = env.child()
        inner_env.vars[stmt.var] = Value(P.name(var, iterable.py.deps),
                                         exact_str=over_range(stmt.iterable, env))
        try:
            self.loop(ast.Name(var, ast.Store()), iterable.py, stmt.body, scope, flow, inner_env)
        except Unroll:
            self.unroll(stmt, iterable.py, scope, flow, env)

    def unroll(self, stmt: syn.For, iterable: Py, scope: Scope, flow: Flow, env: Env) -> None:
        if not iterable.known or not isinstance(iterable.const, tuple):
            raise Specialize(iterable.deps - {IN, SIZE}, "a forward loops over it")
        for value in iterable.const:
            env.vars[stmt.var] = self.constant_value(value)
            self.body(stmt.body, scope, flow, env)

    def loop(self, target: ast.expr, iterable: Py, body: tuple[syn.Stmt, ...] | syn.Element,
             scope: Scope, flow: Flow, env: Env) -> None:
        """A constructor loop (in a chain); the channels it changes become a running
        variable."""
        _forget(env, body)
        start = flow.current
        assert start is not None
        placeholder = "__channels__"
        axis = start.channel_axis
        trial_ctor: list[ast.stmt] = []
        inner = scope.nested(trial_ctor, None)
        inner_flow = flow.fork(start.with_channels(P.name(placeholder)))
        made_for_size = self.gen.made_for_size
        marked = dict(scope.marks)
        self.constructor_loops += 1
        try:
            self._loop_body(body, inner, inner_flow, env)
        except Specialize as exc:
            if SIZES in exc.names:
                raise Unroll from None  # a pass calls a class made for the size it sees
            raise
        finally:
            self.constructor_loops -= 1
        if any(mark is not marked.get(name) for name, mark in scope.marks.items()):
            raise Unroll  # the body reads a pass's tensor (`from s.0`): its channels are that
            # pass's, not the running variable's after the loop
        if self.gen.made_for_size != made_for_size and inner_flow.current is not None and \
                _kept(start.shape, inner_flow.current.shape) != tuple(start.shape):
            raise Unroll  # each pass calls a class made for the size that pass sees
        _count_loop(scope, inner.counter - scope.counter, iterable)
        first = start.shape[axis]
        end = inner_flow.current.shape[axis] if inner_flow.current else None
        same = end is not None and first is not None and \
            placeholder not in P.names_in(end.node) and P.same(end, first)
        if end is not None and (end.is_name(placeholder) or same):
            # the channels do not change: the body reads the channels from before the loop
            substitute_name(trial_ctor, placeholder, first)
            scope.ctor.append(ast.For(loop_target(target, trial_ctor), iterable.node,
                                      trial_ctor or [ast.Pass()], []))
            flow.current = replace(start, shape=_kept(start.shape, inner_flow.current.shape)) \
                .with_channels(first)
            return
        var = self.locals.reserve("channels", "channels")
        if end is not None and not end.is_name(var):
            trial_ctor.append(assign(var, end.node))
        substitute_name(trial_ctor, placeholder, P.name(var))
        if first is None or not first.is_name(var):
            scope.ctor.append(assign(var, first.node))
        scope.ctor.append(ast.For(loop_target(target, trial_ctor), iterable.node, trial_ctor, []))
        channels = P.name(var, (end.deps if end else frozenset()))
        after = inner_flow.current.shape if inner_flow.current else (None,) * len(start.shape)
        flow.current = replace(start, shape=_kept(start.shape, after)).with_channels(channels)

    def _loop_body(self, body: Any, scope: Scope, flow: Flow, env: Env) -> None:
        if isinstance(body, syn.Element):
            self.element(body, scope, flow, env)
        else:
            self.body(body, scope, flow, env)


def _branch_conditions(tests: list[Py]) -> list[Py]:
    """When each branch of an `if / elif / else` runs: its test, after the earlier ones
    failed."""
    out = []
    for i, test in enumerate(tests):
        parts = [P.negate(t) for t in tests[:i]] + ([] if test.const is True else [test])
        out.append(_all(parts))
    return out


def _all(parts: list[Py]) -> Py:
    result = P.lit(True)
    for part in parts:
        result = P.boolop("and", result, part)
    return result


def _early_return(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """`if a: return x` then the rest, rather than an `else` after a return."""
    if len(stmts) == 1 and isinstance(stmts[0], ast.If) and stmts[0].orelse and \
            isinstance(stmts[0].body[-1], ast.Return):
        rest, stmts[0].orelse = stmts[0].orelse, []
        return [stmts[0], *_early_return(rest)]
    return stmts


def _count_loop(scope: Scope, per_pass: int, iterable: Py) -> None:
    """The position after a constructor loop: known when the number of its passes is."""
    if not per_pass:
        return
    try:
        passes = len(iterable.const) if iterable.known else None
    except TypeError:
        passes = None
    if passes is None:
        scope.dynamic = (scope.dynamic or frozenset()) | iterable.deps | {"loop"}
    else:
        scope.counter += per_pass * passes


def _unbind(labels: Any, before: dict[str, Tensor]) -> dict[str, Tensor]:
    """The labels a branch bound, taken back out of `labels` so that the next branch starts
    from the labels before the `if`."""
    made = {k: v for k, v in labels.items() if before.get(k) is not v}
    for name in made:
        if name in before:
            labels[name] = before[name]
        else:
            labels.pop(name, None)
    return made


def _merge_envs(env: Env, branches: list[Env]) -> None:
    """After an `if`: a value a branch assigned is the variable every branch assigns (its
    value no longer a constant); the layers it may hold, all of theirs."""
    names = {n for b in branches for n in b.vars}
    for name in names:
        values = [b.vars[name] for b in branches if name in b.vars]
        first = values[0]
        if first.py is None or first.function is not None:
            env.vars[name] = first
            continue
        deps = frozenset().union(*(v.py.deps for v in values if v.py is not None))
        layers = None
        if any(v.layers is not None for v in values):
            layers = tuple(r for v in values for r in (v.layers or ()))
        env.vars[name] = Value(Py(first.py.node, UNKNOWN, deps), layers=layers,
                               runtime=first.runtime)


def _forget(env: Env, body: Any) -> None:
    """Values a loop or a branch assigns are no longer constants where they are read after
    (the loop's next pass, the code after the `if`)."""
    for node in walk(body if isinstance(body, tuple) else (body,)):
        if isinstance(node, syn.Assign):
            found = env.find(node.name)
            if found is not None and found.py is not None and found.py.known:
                found.py = Py(found.py.node, UNKNOWN, found.py.deps)


def _defined_before(var: str | None, scope: Scope) -> bool:
    return scope.fwd is not None and assigns(scope.fwd, var)


def _kept(before: tuple, after: tuple) -> tuple:
    """The shape after a loop from its shape before and after one pass: an axis the pass
    changes (a pooling halves the size each pass) is unknown after several."""
    if len(before) != len(after):
        return (None,) * len(after)
    return tuple(b if b is not None and a is not None and P.same(a, b) else None
                 for b, a in zip(before, after, strict=True))
