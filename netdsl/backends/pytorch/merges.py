"""Merges of paths (`add`, `concat`, ...) and `residual`, in a forward."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import ops as lowering
from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.calls import Input
from netdsl.backends.pytorch.flow import Flow, Offset, Scope, Tensor
from netdsl.backends.pytorch.pyexpr import Py
from netdsl.backends.pytorch.pystmt import (
    assign,
    assigns,
    retarget_last,
)
from netdsl.backends.pytorch.syntax import first_label, path_labels, single
from netdsl.backends.pytorch.values import (
    IN,
    SIZE,
    Env,
    NotChain,
    RuntimeOnly,
    Specialize,
    Unsupported,
    Value,
)
from netdsl.elaborate.constructs import body_construct
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    pass



_STEM = re.compile(r"^(.+?)_\d+[a-z]?$")  # branch5x5_1 -> branch5x5


def _stem(label: str) -> str:
    m = _STEM.match(label)
    return m.group(1) if m else label


class Merges:
    """Merges of paths (`add`, `concat`, ...) and `residual`, in a forward."""

    def merge(self, m: syn.Merge, label: str | Py | None, span: Any, scope: Scope, flow: Flow,
              env: Env) -> None:
        if scope.fwd is None:
            raise NotChain
        construct = body_construct(m.func)
        if construct is not None:  # the language's own (residual): a method of its name
            getattr(self, construct.name)(m, label, scope, flow, env)
            return

        def fill(inner: Scope, inner_flow: Flow) -> None:
            entry = inner_flow.current
            assert entry is not None
            paths = self.paths(m.body, entry.shared(), inner, inner_flow, env)
            if len(paths) == 1:
                inner_flow.current = paths[0]
                return
            attrs = self.op_attrs(m.func, m.args, (), {}, env, inner_flow, "ctor")[0]
            self.apply_op(m.func, attrs, {}, paths, None, inner, inner_flow, span)
            result = inner_flow.current
            if entry.owned and result is not None and result.var != entry.var and inner.fwd and \
                    (entry.var not in self.info.inputs or assigns(inner.fwd, entry.var)):
                # the merge's result takes the name of the tensor it branched from (an input's
                # name once the forward has rebound it: `x = torch.cat([class_token, x], 1)`)
                retarget_last(inner.fwd, result.var, entry.var)  # type: ignore[arg-type]
                inner_flow.current = replace(result, var=entry.var)

        if label is None:
            fill(scope, flow)
        else:
            self.namespace(label, scope, flow, fill)

    def paths(self, stmts: tuple[syn.Stmt, ...], entry: Tensor, scope: Scope, flow: Flow,
              env: Env) -> list[Tensor]:
        """Each chain of a merge's body is one path from `entry`."""
        out: list[Tensor] = []
        for stmt in stmts:
            if isinstance(stmt, syn.Chain):
                path_flow = flow.fork(entry.shared(), hint=self.path_hint(stmt, len(out)))
                path_flow.labels = flow.labels
                self._s_Chain(stmt, scope, path_flow, env)
                assert path_flow.current is not None
                out.append(path_flow.current)
            elif isinstance(stmt, syn.If):
                tests, bodies = [], []
                for cond, body in stmt.branches:
                    test = self.py(cond, env, flow, "ctor")
                    if test.known and test.const is False:
                        continue
                    tests.append(test)
                    bodies.append(body)
                    if test.const is True:
                        break
                else:
                    tests.append(P.lit(True))
                    bodies.append(stmt.otherwise or ())
                if tests[0].const is True:
                    out += self.paths(bodies[0], entry, scope, flow, env)
                    continue
                try:
                    ends = self.branches(tests, bodies, scope, flow, env, paths=entry)
                except Unsupported as exc:
                    exc.span = exc.span or stmt.span  # the `if`, not the merge around it
                    raise
                out += ends or []
            elif isinstance(stmt, syn.For) and self.tensor_items(stmt.iterable, env, flow):
                for item in self.tensor_items(stmt.iterable, env, flow):  # a path per tensor
                    env.vars[stmt.var] = Value(None, tensors=(item,))
                    out += self.paths(stmt.body, entry, scope, flow, env)
            elif isinstance(stmt, syn.For):
                iterable = self.py(stmt.iterable, env, flow, "ctor")
                if not iterable.known or not isinstance(iterable.const, tuple):
                    raise Specialize(iterable.deps - {IN, SIZE}, "a merge's paths loop over it")
                for value in iterable.const:
                    env.vars[stmt.var] = self.constant_value(value)
                    out += self.paths(stmt.body, entry, scope, flow, env)
            elif isinstance(stmt, (syn.Assign, syn.Def)):
                self.statement(stmt, scope, flow, env)
            else:
                raise Unsupported("a statement in a merge")
        return out

    def position_after(self, when: Py, scope: Scope) -> None:
        """After `residual(when = ...)`, whose sum takes a position only when it is made:
        later positions are the constructor's choice (`2 if in_channels == 4 else 1`), or
        the class is written per value of what `when` tests."""
        after = scope.counter
        shift = self.shifted_position([when, P.lit(True)], [after + 1, after], scope)
        if shift is None:
            scope.dynamic = (scope.dynamic or frozenset()) | (when.deps - {IN, SIZE})
            return
        scope.counter = 0
        scope.offset = Offset(shift, scope.ctor, scope.ctor[-1] if scope.ctor else None)

    def tensor_items(self, e: syn.Expr, env: Env, flow: Flow) -> tuple[Tensor, ...]:
        """The tensors of a list the constructor knows item by item (`[a, x]`, a label of
        several outputs); () for anything else."""
        try:
            value = self.expr(e, env, flow, "ctor")
        except (RuntimeOnly, Unsupported):
            return ()
        if value.tensors is not None:
            return value.tensors
        return (value.listed.known_items() or ()) if value.listed is not None else ()

    def path_hint(self, chain: syn.Chain, index: int) -> str:
        """A merge path's variable: named after the block or group its first label names
        (`branch1`; `branch5x5_1` -> `branch5x5`, as torchvision names them), else `out`."""
        first = chain.elements[0]
        if len(chain.elements) == 1 and isinstance(first.label, str):
            return first.label
        label = first_label(chain, self.gen.program.blocks)
        if label is None:
            return "out"
        stem = _stem(label)
        if any(_stem(other) != stem for other in path_labels(chain)):
            return "out"  # conv1 -> conv2 -> conv3 is no one's name for the path
        return stem

    def residual(self, m: syn.Merge, label: str | Py | None, scope: Scope, flow: Flow,
                 env: Env) -> None:
        when = P.lit(True)
        for a in m.args:
            if a.name == "when":
                when = self.construction_test(single(a.value), env, flow)

        def fill(inner: Scope, inner_flow: Flow) -> None:
            entry = inner_flow.current
            assert entry is not None
            body_flow = inner_flow.fork(entry.shared(), hint="out")
            body_flow.labels = inner_flow.labels
            self.body(m.body, inner, body_flow, env)
            result = body_flow.current
            assert result is not None
            if when.const is False:
                inner_flow.current = result
                return
            if when.const is not True:
                self.position_after(when, inner)
            shape = result.shape  # what the body makes: what the block makes without the sum
            if when.const is True:
                inner.take()
            added = lowering.invoke("add", {"broadcast": P.lit(False)},
                                    [Py(entry.node), Py(result.node)], Input(self, entry),
                                    P.lit(False))
            target = result.var if result.owned else self.fnames.reserve(inner_flow.hint)
            if when.const is True:
                inner.fwd.append(assign(target, added.node))  # type: ignore[union-attr]
                inner_flow.current = Tensor(shape, target, owned=True, fresh=True,
                                            caxis=entry.caxis,
                                            batched=entry.batched or result.batched)
                return
            test = self.flag_named(when, "use_residual")
            if not result.owned:
                inner.fwd.append(assign(target, result.node))  # type: ignore
            inner.fwd.append(ast.If(test.node, [assign(target, added.node)], []))  # type: ignore
            inner_flow.current = Tensor(shape, target, owned=True, fresh=False,
                                        caxis=entry.caxis, batched=entry.batched or result.batched)

        if label is None:
            fill(scope, flow)
        else:
            self.namespace(label, scope, flow, fill)
