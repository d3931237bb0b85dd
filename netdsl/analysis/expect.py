"""Checks a spec's `expect` statements against the analyses' figures."""

from __future__ import annotations

from typing import Any

from netdsl.analysis.summary import Stats
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import Evaluator, Resolver, Unavailable, show
from netdsl.errors import Diagnostic, SpecError, did_you_mean
from netdsl.ir import Expectation, Graph
from netdsl.limits import MAX_ERRORS
from netdsl.syntax import ast


class LayerRecord:
    """A labeled layer or block seen from `expect`: `c3.params`, `c3.connections`, ..."""

    def __init__(self, label: str, row: Any):
        self.label = label
        self.row = row

    def attribute(self, attr: str) -> Any:
        values = {"params": self.row.params, "buffers": self.row.buffers, "macs": self.row.macs,
                  "flops": self.row.flops, "connections": self.row.connections,
                  "output": self.row.output, "shape": self.row.output}
        if attr == "rf":
            rf = self.row.rf
            return rf if isinstance(rf, str) else tuple(rf.as_dict()["size"])
        if attr not in values:
            raise SpecError(f"a layer has no figure '{attr}'", "name",
                            help=did_you_mean(attr, values) or f"figures: {', '.join(values)}, rf")
        return values[attr]


class _ExpectResolver(Resolver):
    def __init__(self, graph: Graph, stats: Stats, labels: dict[str, str]):
        self.rows = {r.name: r for r in stats.layers}
        self.labels = labels

    def tensor(self, name: str) -> Any:
        target = self.labels.get(name)
        if target is None:
            return None
        row = self.rows.get(name) or self.rows.get(target)
        return LayerRecord(name, row) if row else None


def _totals(stats: Stats) -> dict[str, Any]:
    outputs = list(stats.outputs.values())
    totals = {k: getattr(stats, k) for k in (
        "params", "trainable_params", "buffers", "macs", "flops", "connections",
        "activation_elements", "activation_bytes", "peak_activation_bytes", "param_bytes")}
    totals["outputs"] = tuple(outputs)
    totals["output"] = outputs[0] if len(outputs) == 1 else Unavailable(
        f"the network has {len(outputs)} outputs, so `output` is ambiguous",
        "name one: outputs[0] .. outputs[n - 1], or a labeled layer's .output")
    return totals


def check_expectations(graph: Graph, stats: Stats,
                       budget: Budget | None = None) -> list[Diagnostic]:
    """One diagnostic per `expect` that does not hold; evaluating them spends `budget` (the
    load's), and a spent budget ends the checking with its own error."""
    budget = budget or Budget()
    problems = []
    for exp in graph.expectations:
        problem = _check(exp, graph, stats, budget)
        if problem:
            problems.append(problem)
            if problem.code == "limit" or len(problems) >= MAX_ERRORS:
                break
    return problems


def _check(exp: Expectation, graph: Graph, stats: Stats, budget: Budget) -> Diagnostic | None:
    evaluator = Evaluator(_ExpectResolver(graph, stats, exp.labels), budget)
    env = exp.env.child(**_totals(stats))
    expr = exp.expr.expr
    try:
        ok = evaluator.eval(expr, env)
    except SpecError as exc:
        return exc.diagnostic()
    except RecursionError:
        return Diagnostic("the expectation is nested too deeply to evaluate", exp.expr.span,
                          "limit", help="split it into named values")
    if ok is True:
        return None
    if ok is not False:
        return Diagnostic(f"an expectation must be true or false, got {show(ok)}", expr.span,
                          "type")
    return Diagnostic(f"expectation failed{_detail(expr, evaluator, env)}", expr.span, "expect")


def _detail(expr: ast.Expr, evaluator: Evaluator, env: Any) -> str:
    """': got X, expected == Y (+1.00%)' for a comparison that failed."""
    if not isinstance(expr, ast.Compare):
        return ""
    try:
        left, right = (evaluator.eval(e, env) for e in expr.operands[:2])
    except (SpecError, RecursionError):  # a spent budget: the failure alone is reported
        return ""
    detail = f": got {_fmt(left)}, expected {expr.ops[0]} {_fmt(right)}"
    if isinstance(left, int) and isinstance(right, int) and right:
        detail += f" ({(left - right) / right:+.2%})"
    return detail


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return show(value)
