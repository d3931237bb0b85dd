"""Checks a spec's `expect` statements against the analyses' figures."""

from __future__ import annotations

from typing import Any

from netdsl.analysis.summary import Stats
from netdsl.elaborate.values import Evaluator, Resolver, Unavailable, show
from netdsl.errors import Diagnostic, SpecError, did_you_mean
from netdsl.ir import Expectation
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
    def __init__(self, stats: Stats, labels: dict[str, str]):
        self.stats = stats
        self.labels = labels

    def tensor(self, name: str) -> Any:
        """A label of the body the `expect` is in, or any layer by its dotted name
        (`features.12`)."""
        target = self.labels.get(name)
        row = self._row(name) or (self._row(target) if target else None)
        return LayerRecord(name, row) if row else None

    def _row(self, name: str) -> Any:
        try:
            return self.stats.row(name)
        except KeyError:
            return None


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


def check_expectations(expectations: list[Expectation], stats: Stats) -> list[Diagnostic]:
    """One diagnostic per `expect` that does not hold."""
    problems = []
    for exp in expectations:
        problem = _check(exp, stats)
        if problem:
            problems.append(problem)
    return problems


def _check(exp: Expectation, stats: Stats) -> Diagnostic | None:
    evaluator = Evaluator(_ExpectResolver(stats, exp.labels))
    env = exp.env.child(**_totals(stats))
    expr = exp.expr.expr
    try:
        ok = evaluator.eval(expr, env)
    except SpecError as exc:
        return exc.diagnostic()
    if ok is True:
        return None
    if ok is not False:
        return Diagnostic(f"an expectation must be true or false, got {show(ok)}", expr.span,
                          "type")
    detail = ""
    if isinstance(expr, ast.Compare):
        left, right = (evaluator.eval(e, env) for e in expr.operands[:2])
        detail = f": got {_fmt(left)}, expected {expr.ops[0]} {_fmt(right)}"
        if isinstance(left, int) and isinstance(right, int) and right:
            detail += f" ({(left - right) / right:+.2%})"
    return Diagnostic(f"expectation failed{detail}", expr.span, "expect")


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return show(value)
