"""Writes docs/zoo.md: one row per spec in specs/, our figures beside the spec's own references.

Run as `python docs/make_zoo.py` (or `make zoo`). Every figure comes from netdsl itself
(`load(...).stats()`, `.check()`) and every reference from the spec's `expect` statements, so
the table cannot drift from what `netdsl check` proves; tests/docs/test_zoo_table.py fails when
the committed file is stale. torchvision is imported only to count the lines of its model files.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netdsl  # noqa: E402
from netdsl.analysis.receptive_field import GLOBAL, Field  # noqa: E402
from netdsl.bundled import citation  # noqa: E402
from netdsl.elaborate.values import Evaluator  # noqa: E402
from netdsl.syntax import ast  # noqa: E402

SPECS = ROOT / "specs"
OUT = ROOT / "docs" / "zoo.md"
FIGURES = ("params", "macs")


@dataclass
class Reference:
    """A published figure a spec checks itself against: `params == N` or `abs(macs - N)/N < t`."""

    figure: str
    value: int
    tolerance: float | None  # None: must be equal
    source: str  # the comment on the expect line


@dataclass
class Row:
    name: str
    params: int
    macs: int
    output: str
    field: str
    dense: bool  # spatial or several outputs: the segmentation and detection table
    refs: dict[str, Reference]
    failures: int
    expects: int
    spec_lines: int
    reference_lines: str
    citation: str


# ------------------------------------------------------------------ references from `expect`

def _plain(arg: ast.Arg) -> ast.Expr | None:
    """A call argument's expression, when it is a plain one-element chain."""
    elements = arg.value.elements
    return elements[0].value if len(elements) == 1 and elements[0].label is None else None


def _figure(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Name) and expr.id in FIGURES:
        return expr.id
    return None


def _relative(expr: ast.Expr) -> tuple[str, ast.Expr] | None:
    """`abs(figure - X) / Y` -> (figure, X)."""
    if not (isinstance(expr, ast.BinOp) and expr.op == "/" and isinstance(expr.left, ast.Call)):
        return None
    call = expr.left
    if call.func != "abs" or len(call.args) != 1:
        return None
    inner = _plain(call.args[0])
    if isinstance(inner, ast.BinOp) and inner.op == "-" and _figure(inner.left):
        return _figure(inner.left), inner.right
    return None


def _compares(expr: ast.Expr) -> list[ast.Compare]:
    """The comparisons of an expect, looking through `and`/`or` (e.g. `... or aux`)."""
    if isinstance(expr, ast.Compare):
        return [expr]
    if isinstance(expr, ast.BoolOp):
        return _compares(expr.left) + _compares(expr.right)
    return []


def _comment(path: str, line: int) -> str:
    text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1]
    return text.split("#", 1)[1].strip() if "#" in text else ""


def references(network: netdsl.network.Network) -> dict[str, Reference]:
    """The params/MACs references among the expects that the default parameters reach."""
    found: dict[str, Reference] = {}
    for exp in network.graph.expectations:
        evaluate = Evaluator().eval
        for cmp in _compares(exp.expr.expr):
            if len(cmp.ops) != 1:
                continue
            left, right = cmp.operands
            span = exp.expr.span
            if cmp.ops[0] == "==" and _figure(left):
                found[_figure(left)] = Reference(_figure(left), evaluate(right, exp.env), None,
                                                 _comment(span.path, span.line))
            elif cmp.ops[0] in ("<", "<=") and _relative(left):
                figure, value = _relative(left)
                found[figure] = Reference(figure, evaluate(value, exp.env),
                                          evaluate(right, exp.env),
                                          _comment(span.path, span.line))
    return found


# ------------------------------------------------------------------ figures and their wording

def human(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def rounding(value: int) -> int:
    """Half a unit in the last significant digit: 28_100_000 -> 50_000 (0 for odd figures)."""
    digits = str(value)
    zeros = len(digits) - len(digits.rstrip("0"))
    return 10**zeros // 2 if zeros else 0


def difference(ours: int, ref: Reference) -> str:
    if ours == ref.value:
        return "="
    pct = float(Fraction(ours - ref.value, ref.value) * 100)
    return f"{pct:+.2f}%" if abs(pct) >= 0.01 else f"{pct:+.1g}%"


def agrees(ours: int, ref: Reference) -> bool:
    """Equal, or within the rounding of a figure published rounded (10.2 M: +-50 k)."""
    return abs(ours - ref.value) <= rounding(ref.value)


def receptive_field(network: netdsl.network.Network) -> str:
    """Size and stride of the last layer with a spatial field.

    After a squeeze-excitation or global-context gate the field keeps its spatial geometry and
    is marked as also seeing global context.
    """
    last = None
    for row in network.stats().layers:
        if not row.is_block and isinstance(row.rf, Field):
            last = (f"{row.name}` ({row.op})", row.rf)
    if last is None:
        return "—"
    name, rf = last
    if rf == GLOBAL:
        return f"global at `{name}"
    d = rf.as_dict()
    if rf.causal:
        return f"causal ({d['size'][0]} tokens) at `{name}"
    size, stride = _axes(d["size"]), _axes(d["stride"])
    gate = " + global context" if rf.global_context else ""
    return f"{size} / {stride}{gate} at `{name}"


# ------------------------------------------------------------------ lines of code

def code_lines(path: Path) -> int:
    """Non-blank lines that are not only a comment (Python docstrings do count)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for t in (s.strip() for s in lines) if t and not t.startswith("#"))


def _axes(values: list) -> str:
    """`465x465`; a field after a resize by a fraction (LR-ASPP's 33 -> 65) to 2 decimals."""
    return "x".join(str(v) if float(v).is_integer() else f"{float(v):.2f}" for v in values)


def output_fields(network: netdsl.network.Network) -> str:
    """Size / stride of each output's receptive field, by output name."""
    cells = []
    for name, node in network.graph.outputs.items():
        rf = network.stats().row(node).rf
        if isinstance(rf, Field):
            d = rf.as_dict()
            text = f"{_axes(d['size'])} / {_axes(d['stride'])}"
            text += " + global context" if rf.global_context else ""
        else:
            text = "global" if rf == GLOBAL else "—"
        cells.append(f"`{name}` {text}" if len(network.graph.outputs) > 1 else text)
    return "; ".join(cells)


def torchvision_file(name: str) -> Path | None:
    import torchvision.models as models
    for module in (models, models.segmentation, models.detection):
        builder = getattr(module, name, None)
        if builder is not None and inspect.isfunction(builder):
            # builders are wrapped by registration decorators: name the module, not the wrapper
            return Path(inspect.getfile(sys.modules[builder.__module__]))
    return None


# ------------------------------------------------------------------ the table

def spec_row(path: Path) -> Row:
    network = netdsl.load(path)
    stats = network.stats()
    outputs = list(stats.outputs.values())
    output = ", ".join(str(list(shape)) for shape in outputs)
    failures = network.check()
    modules = [Path(m) for m in network.program.modules]
    tv = torchvision_file(network.name)
    dense = len(outputs) > 1 or any(len(shape) > 1 for shape in outputs)
    field = output_fields(network) if dense else receptive_field(network)
    return Row(network.name, stats.params, stats.macs, output, field, dense,
               references(network), len(failures), len(network.graph.expectations),
               sum(code_lines(m) for m in modules),
               f"{code_lines(tv)} ({tv.name})" if tv else "—", citation(path))


def natural(name: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def reference_cell(row: Row, figure: str) -> str:
    ref = row.refs.get(figure)
    if ref is None:
        return "—"
    within = "" if ref.tolerance is None else f" (±{ref.tolerance * 100:g}%)"
    return f"{ref.value:,}{within}"


def verdict(row: Row) -> str:
    notes = []
    for figure in FIGURES:
        ref = row.refs.get(figure)
        ours = getattr(row, figure)
        if ref is not None and not agrees(ours, ref):
            label = "params" if figure == "params" else "MACs"
            notes.append(f"**{label} {difference(ours, ref)} off the reference**")
    if row.failures:
        notes.insert(0, f"**check FAILS ({row.failures} of {row.expects} expects)**")
    if not notes:
        return "matches" if row.refs else "no params/MACs reference (other expects hold)"
    return "; ".join(notes)


INTRO = """\
# The zoo

Generated by `docs/make_zoo.py` (`make zoo`); do not edit by hand. A test
(`tests/docs/test_zoo_table.py`) fails when this file is stale.

One row per spec in `specs/`, loaded with its default parameters (e.g. GoogLeNet and
Inception-v3 without their auxiliary classifiers). **Params** and **MACs** are netdsl's analytic
figures (`netdsl stats`). MACs count one multiply-accumulate per weight use of a convolution or
linear layer (plus the few other operators with multiplies, such as the gates' products): the
convention torchvision publishes as "GFLOPS". **Reference** figures are the ones each spec checks
itself against in its own `expect` statements (`params == N`, or `abs(macs - N) / N < t` for a
figure published rounded, tolerance t shown); the source named in the spec's comment is under
"Ref. source". **Δ** is ours against the reference ("=": identical). A figure published
rounded (e.g. 28.1 M) counts as matching when ours rounds to it; any other difference is marked
in **Verdict**, even when the spec's tolerance lets `netdsl check` pass. **Check** is
`netdsl check`: whether every `expect` of the spec holds (shape and per-layer expects included).

**RF** is the theoretical receptive field (size / stride, in input pixels) of the last layer
with a spatial field; "+ global context" marks networks whose squeeze-excitation or
global-context gates also let every later output depend on the whole image. A transformer's
field is its patch's until the first attention over all tokens makes it global (Swin's
windows widen it layer by layer first); "causal" is GPT's, each token seeing every token
before it.
**Spec lines** counts the non-blank, non-comment lines of the spec file plus every file it
imports (a `specs/lib` file holds a whole family's blocks). **torchvision lines** counts the same
for the torchvision module that defines the model (docstrings included); that file too holds the
whole family (e.g. `resnet.py`: every ResNet, ResNeXt and Wide ResNet) and leans on shared
helpers in other files that are not counted; "—" when torchvision has no such model.
"""


DENSE = """\
## Segmentation and detection

The networks whose outputs keep space (segmentation maps, detection grids), or that have
several outputs, with the same columns; **RF** here is each output's receptive field (size /
stride), named by output. Detection specs end at their heads' raw outputs: box decoding and
non-maximum suppression are outside the network, as the papers draw them.
"""


def render(rows: list[Row]) -> str:
    import torchvision
    version = torchvision.__version__.split("+")[0]  # the same files in CPU and CUDA builds
    lines = [INTRO, f"torchvision version for the line counts: {version}.\n"]
    lines += table([r for r in rows if not r.dense])
    lines += ["", DENSE]
    lines += table([r for r in rows if r.dense], output="Outputs")
    lines += ["", "## Sources", "", "The first line of each spec's header comment.", ""]
    lines += [f"- `{r.name}`: {r.citation}" for r in rows]
    return "\n".join(lines) + "\n"


def table(rows: list[Row], output: str = "Output") -> list[str]:
    """The markdown lines of one table of the zoo."""
    head = ["Network", "Params", "Ref. params", "Δ", "MACs", "Ref. MACs", "Δ", "Ref. source",
            output, "RF", "Check", "Verdict", "Spec lines", "torchvision lines"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        sources = "; ".join(dict.fromkeys(ref.source for ref in r.refs.values() if ref.source))
        cells = [
            f"`{r.name}`",
            f"{human(r.params)} ({r.params:,})", reference_cell(r, "params"),
            difference(r.params, r.refs["params"]) if "params" in r.refs else "—",
            f"{human(r.macs)} ({r.macs:,})", reference_cell(r, "macs"),
            difference(r.macs, r.refs["macs"]) if "macs" in r.refs else "—",
            sources or "—", r.output, r.field,
            "pass" if not r.failures else "FAIL", verdict(r),
            str(r.spec_lines), r.reference_lines,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def build() -> str:
    """The whole text of docs/zoo.md, from the specs as they are now."""
    paths = sorted(SPECS.glob("*.net"), key=lambda p: natural(p.stem))
    return render([spec_row(p) for p in paths])


def main() -> None:
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
