"""Checks a spec's `expect` statements against the analyses' figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from netdsl.analysis.receptive_field import GLOBAL, Field
from netdsl.analysis.summary import Stats
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import (
    TENSOR_ATTRIBUTES,
    Evaluator,
    Resolver,
    TensorValue,
    Unavailable,
)
from netdsl.errors import Diagnostic, SpecError, did_you_mean
from netdsl.ir import Expectation
from netdsl.limits import MAX_ERRORS
from netdsl.notation import described, value_text
from netdsl.syntax import ast

FIGURES = ("params", "buffers", "macs", "flops", "connections", "output")


class LayerRecord:
    """A layer or block of the stats table seen from `expect`: `c3.params`, `c3.connections`,
    its output tensor's `c`, `h`, `w`, ... and its receptive field `c3.rf` (a `FieldRecord`).
    A further name reaches a layer inside it: `layer1.0.conv1`, `head.cls_logits#2`."""

    kind: ClassVar[str] = "layer"

    def __init__(self, label: str, row: Any, resolver: _ExpectResolver):
        self.label = label
        self.row = row
        self.resolver = resolver

    def notation(self) -> str:
        return self.label

    def attribute(self, attr: str) -> Any:
        row = self.row
        if attr == "rf":
            return FieldRecord(self.label, row.rf)
        if attr in TENSOR_ATTRIBUTES:
            return TensorValue(row.name, tuple(row.output), self.label).attribute(attr)
        if attr in FIGURES:
            return getattr(row, attr)
        inner = self.resolver.row(f"{row.name}.{attr}")  # a layer inside: `head.0`
        if inner is None:
            raise self.resolver.missing(self, attr)
        return LayerRecord(f"{self.label}.{attr}", inner, self.resolver)


@dataclass(frozen=True)
class FieldRecord:
    """A receptive field seen from `expect`: `conv5.rf.size`, `.stride`, `.padding` (one value
    per spatial axis, as `netdsl stats` reports them), `.min_size`, `.aligned`,
    `.global_context`, and `.global`, true when every output sees the whole input."""

    label: str
    field: Field | str | None
    kind: ClassVar[str] = "receptive field"
    named: ClassVar[bool] = False  # shown by its figures, not by a name

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

    def notation(self) -> str:
        if not isinstance(self.field, Field):
            return str(self.field)
        d = self.field.as_dict()
        return (f"size {value_text(tuple(d['size']))}, stride {value_text(tuple(d['stride']))}, "
                f"padding {value_text(tuple(d['padding']))}")


class _ExpectResolver(Resolver):
    """Names in an `expect`: the labels of its body, and every layer by the name the stats
    table prints, relative to the body (`features.12`, `cls_logits#2`) or from the network."""

    def __init__(self, stats: Stats, exp: Expectation):
        self.stats = stats
        self.labels = exp.labels
        self.scope = f"{exp.scope}." if exp.scope else ""

    def tensor(self, name: str) -> Any:
        row = self.row(self.scope + name) or self.row(self.labels.get(name)) or self.row(name)
        return LayerRecord(name, row, self) if row else None

    def tensor_names(self) -> set[str]:
        """The first names of the layers the body can reach, for a did-you-mean."""
        return set(self.labels) | {name.split(".", 1)[0] for name in self._names(self.scope)}

    def missing(self, record: LayerRecord, attr: str) -> SpecError:
        """The error for `record.attr` when `attr` is neither a figure nor a layer in it."""
        inner = sorted({n.split(".", 1)[0] for n in self._names(record.row.name + ".")})
        figures = [*FIGURES, "rf", *TENSOR_ATTRIBUTES]
        if attr.isdigit() or "#" in attr:  # a position or a call: only a layer is meant
            what, known = "layer", inner
        else:
            what, known = ("layer or figure", [*inner, *figures]) if inner else ("figure", figures)
        shown = ", ".join(inner[:8]) + (", ..." if len(inner) > 8 else "")
        fallback = f"its layers: {shown}" if inner else \
            "it holds no layers" if what == "layer" else f"figures: {', '.join(figures)}"
        return SpecError(f"'{record.label}' has no {what} '{attr}'", "name",
                         help=did_you_mean(attr, known) or fallback)

    def _names(self, prefix: str) -> list[str]:
        """The table's names under `prefix`, without it."""
        n = len(prefix)
        return [r.name[n:] for r in self.stats.layers if r.name.startswith(prefix)]

    def row(self, name: str | None) -> Any:
        """The table's row of that dotted name, or None."""
        if name is None:
            return None
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
    resolver = _ExpectResolver(stats, exp)
    evaluator = Evaluator(resolver, budget)
    shared = {name: resolver.tensor(path) for name, path in exp.shared.items()}
    env = exp.env.child(**{k: v for k, v in shared.items() if v}, **_totals(stats))
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
        return Diagnostic(f"an expectation must be true or false, got {value_text(ok)}", expr.span,
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
    elif isinstance(left, LayerRecord) or isinstance(right, LayerRecord):
        layer = left if isinstance(left, LayerRecord) else right
        hint = f"compare one figure of it: {layer.label}.params, .macs, .output or .rf.size"
    return detail, hint


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return described(value) if hasattr(type(value), "kind") else value_text(value)
