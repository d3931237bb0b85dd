"""Checks a spec's `expect` statements against the analyses' figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netdsl.analysis.receptive_field import GLOBAL, Field
from netdsl.analysis.summary import Stats
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import (
    TENSOR_ATTRIBUTES,
    Evaluator,
    Resolver,
    TensorValue,
    Unavailable,
    show,
)
from netdsl.errors import Diagnostic, SpecError, did_you_mean
from netdsl.ir import Expectation
from netdsl.limits import MAX_ERRORS
from netdsl.syntax import ast


class LayerRecord:
    """A labeled layer or block seen from `expect`: `c3.params`, `c3.connections`, its output
    tensor's `c`, `h`, `w`, ... and its receptive field `c3.rf` (a `FieldRecord`)."""

    def __init__(self, label: str, row: Any):
        self.label = label
        self.row = row

    def attribute(self, attr: str) -> Any:
        values = {"params": self.row.params, "buffers": self.row.buffers, "macs": self.row.macs,
                  "flops": self.row.flops, "connections": self.row.connections,
                  "output": self.row.output}
        if attr == "rf":
            return FieldRecord(self.label, self.row.rf)
        if attr in TENSOR_ATTRIBUTES:
            return TensorValue(self.row.name, tuple(self.row.output), self.label).attribute(attr)
        if attr not in values:
            known = [*values, "rf", *TENSOR_ATTRIBUTES]
            raise SpecError(f"a layer has no figure '{attr}'", "name",
                            help=did_you_mean(attr, known) or f"figures: {', '.join(known)}")
        return values[attr]


@dataclass(frozen=True)
class FieldRecord:
    """A receptive field seen from `expect`: `conv5.rf.size`, `.stride`, `.padding` (one value
    per spatial axis, as `netdsl stats` reports them), `.min_size`, `.aligned`,
    `.global_context`, and `.global`, true when every output sees the whole input."""

    label: str
    field: Field | str | None

    def attribute(self, attr: str) -> Any:
        names = ("size", "stride", "padding", "min_size", "aligned", "global_context", "global")
        if attr not in names:
            raise SpecError(f"a receptive field has no figure '{attr}'", "name",
                            help=did_you_mean(attr, names) or f"figures: {', '.join(names)}")
        if attr == "global":
            return self.field == GLOBAL
        if not isinstance(self.field, Field):
            what = "global: every output sees the whole input" if self.field == GLOBAL else \
                "not spatial"
            raise SpecError(f"the receptive field of '{self.label}' is {what}", "value",
                            help=f"test it with {self.label}.rf.global")
        value = self.field.as_dict()[attr]
        return tuple(value) if isinstance(value, list) else value

    def __str__(self) -> str:
        if not isinstance(self.field, Field):
            return f"the receptive field {self.field}"
        d = self.field.as_dict()
        return (f"the receptive field size {show(tuple(d['size']))}, stride "
                f"{show(tuple(d['stride']))}, padding {show(tuple(d['padding']))}")


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


def check_expectations(expectations: list[Expectation], stats: Stats,
                       budget: Budget | None = None) -> list[Diagnostic]:
    """One diagnostic per `expect` that does not hold; evaluating them spends `budget` (the
    load's), and a spent budget ends the checking with its own error."""
    budget = budget or Budget()
    problems = []
    for exp in expectations:
        problem = _check(exp, stats, budget)
        if problem:
            problems.append(problem)
            if problem.code == "limit" or len(problems) >= MAX_ERRORS:
                break
    return problems


def _check(exp: Expectation, stats: Stats, budget: Budget) -> Diagnostic | None:
    evaluator = Evaluator(_ExpectResolver(stats, exp.labels), budget)
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
    detail, hint = _detail(expr, evaluator, env)
    return Diagnostic(f"expectation failed{detail}", expr.span, "expect", help=hint)


def _detail(expr: ast.Expr, evaluator: Evaluator, env: Any) -> tuple[str, str | None]:
    """': got X, expected == Y (+1.00%)' for a comparison that failed, and a hint when a
    whole receptive field was compared."""
    if not isinstance(expr, ast.Compare):
        return "", None
    try:
        left, right = (evaluator.eval(e, env) for e in expr.operands[:2])
    except (SpecError, RecursionError):  # a spent budget: the failure alone is reported
        return "", None
    detail = f": got {_fmt(left)}, expected {expr.ops[0]} {_fmt(right)}"
    if isinstance(left, int) and isinstance(right, int) and right:
        detail += f" ({(left - right) / right:+.2%})"
    hint = None
    if isinstance(left, FieldRecord) or isinstance(right, FieldRecord):
        record = left if isinstance(left, FieldRecord) else right
        hint = f"compare one figure of it: {record.label}.rf.size, .stride or .padding"
    return detail, hint


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return show(value)
