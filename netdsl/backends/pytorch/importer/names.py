"""Names for the tensors a body refers to: a labeled element's tensor is its label (with the
labels of the groups around it, `layer1.0` style), an input is `in` or its parameter's name.
References to tensors of an enclosing body stay unresolved until that body is named."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from torch import fx

from netdsl.backends.pytorch.importer.elements import (
    Call,
    Child,
    Element,
    For,
    From,
    Group,
    If,
    Merge,
    Op,
    Output,
    Ref,
    Repeat,
    Shared,
    Use,
)
from netdsl.backends.pytorch.importer.mapping import OpCall
from netdsl.backends.pytorch.importer.structure import NodeRef


def resolve(body: list[Element], known: dict[fx.Node, str]) -> list[Element]:
    """`body` with every reference to a tensor named in it (or in `known`) replaced by the
    name."""
    return _Namer(dict(known)).body(body, "")


class _Namer:
    def __init__(self, known: dict[fx.Node, str]) -> None:
        self.known = known
        # names no group's path sets apart: `=` names, which a group does not scope, and the
        # labels at the top of the body
        self.flat: set[str] = set(known.values())

    def ref(self, value: Any) -> Any:
        if isinstance(value, NodeRef) and value.node in self.known:
            return Ref(self.known[value.node])
        if isinstance(value, (list, tuple)):
            return type(value)(self.ref(v) for v in value)
        return value

    def opcall(self, call: OpCall) -> OpCall:
        return OpCall(call.name, tuple(self.ref(a) for a in call.args),
                      tuple((k, self.ref(v)) for k, v in call.kwargs))

    def body(self, body: list[Element], prefix: str) -> list[Element]:
        return [self.element(e, prefix) for e in body]

    def element(self, e: Element, prefix: str) -> Element:
        rules = {Op: self.op, Merge: self.merge, Group: self.group, Child: self.child,
                 Call: self.call, From: self.from_, Output: self.output, If: self.if_,
                 Repeat: self.repeat, For: self.for_, Shared: self.shared, Use: self.use}
        rule = rules.get(type(e))
        return rule(e, prefix) if rule is not None else e

    def _define(self, nodes: list[Any], label: str | None, prefix: str) -> None:
        if label is not None:
            if not prefix:
                self.flat.add(label)
            for node in nodes:
                if node is not None:
                    self.known[node] = prefix + label

    def op(self, e: Op, prefix: str) -> Element:
        out = replace(e, call=self.opcall(e.call))
        self._define([e.node], e.label, prefix)
        return out

    def merge(self, e: Merge, prefix: str) -> Element:
        inner = prefix + e.scope + "." if e.scope else prefix
        out = replace(e, call=self.opcall(e.call),
                      branches=[self.body(b, inner) for b in e.branches])
        self._define([e.node], e.label, prefix)
        return out

    def group(self, e: Group, prefix: str) -> Element:
        inner = prefix + e.label + "." if e.label else prefix
        out = replace(e, body=self.body(e.body, inner))
        last = _made_last(e.body)
        if e.label and len(last) == 1 and getattr(e.body[-1], "bind", None) is None:
            self._define(last, e.label, prefix)  # a labeled group's tensor is its last layer's
            # (a shared module's call keeps the name `=` gave it: `logits_3`, not `head`)
        return out

    def child(self, e: Child, prefix: str) -> Element:
        out = replace(e, tensors=[self.ref(t) for t in e.tensors])
        self._define(list(e.instance.outputs), e.label, prefix)
        return out

    def call(self, e: Call, prefix: str) -> Element:
        out = replace(e, tensors=[self.ref(t) for t in e.tensors],
                      args=[(k, self.ref(v)) for k, v in e.args])
        self._define(list(e.outputs), e.label, prefix)
        return out

    def shared(self, e: Shared, prefix: str) -> Element:
        return replace(e, layer=self.element(e.layer, prefix))

    def use(self, e: Use, prefix: str) -> Element:
        bind = self._unique(e.bind) if e.bind is not None else None
        out = replace(e, tensors=[self.ref(t) for t in e.tensors], source=self.ref(e.source),
                      bind=bind)
        self._define(list(e.outputs), bind, "")  # a name given by `=`, not a layer's label
        return out

    def _unique(self, name: str) -> str:
        """A name given by `=` in an inline group is one of the whole body: the same name in
        two groups (each head of a detector naming its `conv_2`) is made two."""
        base, k = re.sub(r"_\d+\Z", "", name), 1  # `conv_2` taken: `conv_7`, not `conv_2_2`
        while name in self.flat:
            k += 1
            name = f"{base}_{k}"
        return name

    def from_(self, e: From, prefix: str) -> Element:
        return From(self.ref(e.ref))

    def output(self, e: Output, prefix: str) -> Element:
        return Output([self.ref(r) for r in e.refs])

    def if_(self, e: If, prefix: str) -> Element:
        return replace(e, then=self.body(e.then, prefix), orelse=self.body(e.orelse, prefix))

    def repeat(self, e: Repeat, prefix: str) -> Element:
        return replace(e, element=self.element(e.element, prefix))

    def for_(self, e: For, prefix: str) -> Element:
        return replace(e, body=self.body(e.body, prefix))


def _made_last(body: list[Element]) -> list[Any]:
    """The tensors the last element of a body makes."""
    if not body:
        return []
    e = body[-1]
    if isinstance(e, (Op, Merge)):
        return [e.node]
    if isinstance(e, (Call, Use)):
        return list(e.outputs)
    if isinstance(e, Child):
        return list(e.instance.outputs)
    if isinstance(e, Group):
        return _made_last(e.body)
    return []
