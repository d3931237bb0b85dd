"""The flat layer graph, derived from the hierarchy of definitions: every layer of every call
under its dotted name (`layer1.0.conv1`), for the views that need each layer (diagrams, the
per-layer table of a shape walk, tests). Built on demand; the analyses do not need it."""

from __future__ import annotations

from collections.abc import Callable

from netdsl.ir.definition import Call, Definition, is_port
from netdsl.ir.graph import Expectation, Graph
from netdsl.ir.node import Node, Scope


def flatten(top: Definition, expectations: list[Expectation] | None = None) -> Graph:
    """Every node of `top` and of its calls, recursively, named by path."""
    graph = Graph(top.name, params=dict(top.args))
    graph.inputs = list(top.network_inputs)
    _Flattener(graph).definition(top, "", {}, (), ())
    graph.top = _members(top, top.top)
    graph.outputs = dict(zip(top.output_names, top.outputs, strict=True))
    graph.expectations = list(expectations or ())
    return graph


class _Flattener:
    def __init__(self, graph: Graph):
        self.graph = graph

    def definition(self, d: Definition, prefix: str, ports: dict[str, str],
                   outer_scopes: tuple[str, ...], sites: tuple) -> None:
        """Add `d`'s items under `prefix`; `ports` maps its port references to flat names."""
        def flat(ref: str) -> str:
            return ports[ref] if is_port(ref) else prefix + ref

        for local, scope in d.scopes.items():
            self.graph.scopes[prefix + local] = Scope(
                prefix + local, scope.kind, scope.block, scope.args, scope.span,
                [prefix + c for c in _members(d, scope.children)],
                flat(scope.output) if scope.output else None)
        for item in d.items.values():
            enclosing = outer_scopes + tuple(prefix + s for s in item.scope)
            if isinstance(item, Call):
                self.call(item, prefix, flat, enclosing, sites)
                continue
            node = Node(prefix + item.name, item.op, [flat(i) for i in item.inputs], item.span,
                        sites, enclosing, {"shape": item.meta["shape"]}, item.shared)
            if "in" in item.meta:
                node.meta["in"] = item.meta["in"]
            if "ties" in item.meta:  # the layers whose weights it shares, by flat name
                node.meta["ties"] = {k: flat(v) for k, v in item.meta["ties"].items()}
            self.graph.add(node)

    def call(self, call: Call, prefix: str, flat: Callable[[str], str],
             enclosing: tuple[str, ...], sites: tuple) -> None:
        callee = call.definition
        inputs = [flat(ref) for ref in call.inputs]
        here = sites + ((callee.block or callee.name, call.span),)
        for k in range(call.count):  # each call of a run on the previous one's output
            name = prefix + call.member(k)
            ports = {f"${i}": ref for i, ref in enumerate(inputs)}
            outputs = [ports[r] if is_port(r) else f"{name}.{r}" for r in callee.outputs]
            self.graph.scopes[name] = Scope(name, "block", callee.block, dict(callee.args),
                                            call.span,
                                            [f"{name}.{c}" for c in _members(callee, callee.top)],
                                            outputs[0] if outputs else None,
                                            {"shared": call.shared} if call.shared else {})
            self.definition(callee, name + ".", ports, enclosing + (name,), here)
            inputs = outputs


def _members(d: Definition, names: list[str]) -> list[str]:
    """Child names with each run expanded into the names of its calls."""
    out: list[str] = []
    for name in names:
        item = d.items.get(name)
        out.extend(item.members() if isinstance(item, Call) else (name,))
    return out
