"""A sweep's variants as a text table, CSV or JSON (`netdsl sweep`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from netdsl.backends.table import human, human_bytes
from netdsl.notation import shape_text, value_text
from netdsl.sweep import Variant

FIGURES = ["params", "macs", "peak_activation_bytes", "output", "expect"]


def _output(v: Variant) -> str:
    return ", ".join(shape_text(s) for s in v.outputs.values())


def _expect(v: Variant) -> str:
    if v.error:
        return f"error: {v.error}"
    if not v.failed:
        return "ok"
    lines = [m.split(":")[0] for m in v.failed if m.startswith("line ")]
    where = f" ({', '.join(lines)})" if lines else ""
    return f"{len(v.failed)} failed{where}"


def format_table(variants: Sequence[Variant], names: Sequence[str]) -> str:
    header = [*names, "params", "MACs", "peak memory", "output", "expect"]
    rows = [[*(value_text(v.settings[n]) for n in names),
             human(v.params) if not v.error else "", human(v.macs) if not v.error else "",
             human_bytes(v.peak_activation_bytes) if not v.error else "", _output(v),
             _expect(v)] for v in variants]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    numeric = set(range(len(names), len(names) + 3))

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)]) + "\n"


def format_csv(variants: Sequence[Variant], names: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*names, "params", "macs", "flops", "peak_activation_bytes",
                     "param_bytes", "output", "failed", "error"])
    for v in variants:
        writer.writerow([*(value_text(v.settings[n]) for n in names), v.params, v.macs, v.flops,
                         v.peak_activation_bytes, v.param_bytes, _output(v),
                         " | ".join(v.failed), v.error or ""])
    return buf.getvalue()


def format_json(variants: Sequence[Variant], names: Sequence[str]) -> str:
    """One variant per line."""
    return "[\n" + ",\n".join(" " + json.dumps(v.as_dict()) for v in variants) + "\n]\n"


FORMATS = {"table": format_table, "csv": format_csv, "json": format_json}
SUFFIXES = {"table": ".txt", "csv": ".csv", "json": ".json"}
