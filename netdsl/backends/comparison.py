"""A `Comparison` of two networks as a text table or JSON (`netdsl diff`)."""

from __future__ import annotations

import json
from typing import Any

from netdsl.analysis.compare import Comparison, LayerChange
from netdsl.analysis.summary import Row
from netdsl.backends.table import human, human_bytes, rf_text
from netdsl.notation import shape_text

MARK = {"added": "+", "removed": "-", "changed": "~"}
HEADER = ["", "layer", "op", "output", "params", "MACs", "receptive field"]
BYTES = {"activation_bytes", "peak_activation_bytes", "param_bytes"}


def _side_by_side(a: str, b: str) -> str:
    """'a -> b' when they differ; one value when they agree (or one side is missing)."""
    if not a or not b or a == b:
        return a or b
    return f"{a} -> {b}"


def _cells(change: LayerChange) -> list[str]:
    def text(row: Row | None, figure: str) -> str:
        if row is None:
            return ""
        return {"op": lambda: row.summary or row.op,
                "output": lambda: shape_text(row.output),
                "params": lambda: human(row.params),
                "macs": lambda: human(row.macs),
                "rf": lambda: rf_text(row.rf)}[figure]()
    indent = "  " * ((change.a or change.b).depth - 1)  # type: ignore[union-attr]
    return [MARK[change.status], indent + change.name,
            *(_side_by_side(text(change.a, f), text(change.b, f))
              for f in ("op", "output", "params", "macs", "rf"))]


def format_diff(comparison: Comparison, names: tuple[str, str]) -> str:
    rows = [_cells(c) for c in comparison.changes]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    counts = ", ".join(f"{comparison.count(s)} {s}" for s in MARK)
    out = [f"a: {names[0]}", f"b: {names[1]}", f"layers: {counts}", ""]
    if rows:
        out += [line(HEADER), line(["-" * w for w in widths]), *map(line, rows), ""]
    out.append(f"{'total':<22}  {'a':>15}  {'b':>15}  {'b - a':>16}")
    for figure, a, b in comparison.totals():
        show = human_bytes if figure in BYTES else (lambda v: f"{v:,}")
        delta = b - a
        sign = "+" if delta > 0 else "-" if delta < 0 else " "
        percent = f" ({delta / a:+.1%})" if a else ""
        out.append(f"{figure:<22}  {show(a):>15}  {show(b):>15}  "
                   f"{sign + show(abs(delta)):>16}{percent}")
    return "\n".join(out) + "\n"


def diff_json(comparison: Comparison, names: tuple[str, str]) -> str:
    def side(row: Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        d = row.as_dict()
        return {k: d[k] for k in ("op", "output", "params", "macs", "rf")} | {
            "summary": row.summary}
    data = {
        "a": names[0], "b": names[1],
        "totals": {f: {"a": a, "b": b, "delta": b - a} for f, a, b in comparison.totals()},
        "layers": [{"name": c.name, "status": c.status, "differs": list(c.differs),
                    "a": side(c.a), "b": side(c.b)} for c in comparison.changes],
    }
    return json.dumps(data, indent=1) + "\n"


FORMATS = {"table": format_diff, "json": diff_json}
