"""Stats as a text table, markdown, csv or json.

The table is for the eye: params and MACs abbreviated (9.41 K). Markdown, csv and json are for
documents and programs: every figure an exact integer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netdsl.analysis import Row, Stats
from netdsl.analysis.receptive_field import Field
from netdsl.notation import shape_text

_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(value: int | float) -> str:
    """25557032 -> '25.6 M', 4089184256 -> '4.09 G', 0 -> '0'."""
    for scale, unit in _UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def human_bytes(value: int) -> str:
    for scale, unit in ((2 ** 40, "TiB"), (2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value} B"


def rf_text(rf: Any) -> str:
    if rf is None:
        return "-"
    if isinstance(rf, str):  # "global", or "constant" (a parameter's)
        return rf
    assert isinstance(rf, Field)
    if rf.causal:
        return "causal"
    d = rf.as_dict()
    text = f"{_per_axis(d['size'])} /{_per_axis(d['stride'])}"
    if not rf.aligned:
        text += " (misaligned)"
    if rf.global_context:
        text += " +global"
    return text


def _per_axis(values: list[int | float]) -> str:
    """One figure when every axis agrees, else one per axis ('3x7'); a fraction (after a resize
    by a non-integer factor) rounded to three significant digits, where JSON keeps it whole."""
    shown = [str(v) if isinstance(v, int) else f"{v:.3g}" for v in values]
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)


def visible(stats: Stats, depth: int | None) -> list[Row]:
    return [r for r in stats.layers if depth is None or r.depth <= depth]


_MAX_OP = 56


def _exact(value: int) -> str:
    return f"{value:,}"


def _cells(row: Row, figure: Callable[[int], str] = human) -> list[str]:
    """A row's cells; `figure` writes params and MACs (abbreviated for the eye, or exact)."""
    indent = "  " * (row.depth - 1)
    op = row.summary if len(row.summary) <= _MAX_OP else row.summary[:_MAX_OP - 3] + "..."
    return [indent + row.name, op, shape_text(row.output), figure(row.params) if row.params else
            "", figure(row.macs) if row.macs else "", rf_text(row.rf)]


HEADER = ["layer", "op", "output", "params", "MACs", "receptive field"]


def format_table(stats: Stats, depth: int | None = None) -> str:
    rows = [_cells(r) for r in visible(stats, depth)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(HEADER)]
    right = {3, 4}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [f"network {stats.network}", line(HEADER), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append(line(["-" * w for w in widths]))
    out += totals_lines(stats)
    return "\n".join(out) + "\n"


def totals_lines(stats: Stats) -> list[str]:
    """The lines under the table: inputs, outputs and the network's totals."""
    ins = ", ".join(f"{k} {shape_text(v)}" for k, v in stats.inputs.items())
    outs = ", ".join(f"{k} {shape_text(v)}" for k, v in stats.outputs.items())
    return [
        f"inputs:       {ins}",
        f"outputs:      {outs}",
        f"params:       {stats.params:,} ({human(stats.params)}), buffers {stats.buffers:,}",
        f"MACs:         {stats.macs:,} ({human(stats.macs)})",
        *_macs_by_op(stats),
        f"FLOPs:        {stats.flops:,} ({human(stats.flops)})  [2 x MACs + elementwise]",
        f"connections:  {stats.connections:,}",
        f"activations:  {stats.activation_elements:,} elements, "
        f"{human_bytes(stats.activation_bytes)} ({stats.dtype}{_batch(stats)}); peak live "
        f"{human_bytes(stats.peak_activation_bytes)}",
        f"weights:      {human_bytes(stats.param_bytes)}",
        *_training(stats),
        *(f"note:         {note}" for note in stats.notes),
    ]


def _batch(stats: Stats) -> str:
    return f", batch {stats.batch}" if stats.batch != 1 else ""


def _training(stats: Stats) -> list[str]:
    """One training step's memory, when asked for (`--train`)."""
    t = stats.training
    if t is None:
        return []
    return [f"training:     peak {human_bytes(t.peak_bytes)} in the {t.peak_phase} "
            f"({t.optimizer}, batch {t.batch}): weights {human_bytes(t.weight_bytes)}, "
            f"gradients {human_bytes(t.gradient_bytes)}, optimizer state "
            f"{human_bytes(t.optimizer_bytes)}, activations kept for backward "
            f"{human_bytes(t.saved_bytes)}"]


def _macs_by_op(stats: Stats) -> list[str]:
    """Each operator's share of the MACs, largest first (attention's in a transformer), when
    more than one operator has any."""
    shares = sorted(((acc["macs"], op) for op, acc in stats.by_op.items() if acc["macs"]),
                    reverse=True)
    if len(shares) < 2:
        return []
    parts = [f"{op} {human(macs)} ({100 * macs / stats.macs:.1f}%)" for macs, op in shares]
    return [f"  by op:      {', '.join(parts)}"]


def format_markdown(stats: Stats, depth: int | None = None) -> str:
    out = [f"### {stats.network}", "", "| " + " | ".join(HEADER) + " |",
           "|" + "|".join(["---", "---", "---", "---:", "---:", "---"]) + "|"]
    for r in visible(stats, depth):
        cells = _cells(r, _exact)
        cells[0] = "&nbsp;" * 2 * (r.depth - 1) + f"`{r.name}`"
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    out += [f"- {line}" for line in totals_lines(stats)]
    return "\n".join(out) + "\n"


def format_csv(stats: Stats, depth: int | None = None) -> str:
    import csv  # here, as json below: every command imports this module, few write these formats
    import io
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "op", "depth", "block", "output", "params", "buffers", "macs",
                     "flops", "connections", "rf_size", "rf_stride", "rf_padding"])
    for r in visible(stats, depth):
        rf = r.rf.as_dict() if isinstance(r.rf, Field) else None
        writer.writerow([r.name, r.op, r.depth, int(r.is_block), shape_text(r.output), r.params,
                         r.buffers, r.macs, r.flops, r.connections,
                         "x".join(map(str, rf["size"])) if rf else (r.rf or ""),
                         "x".join(map(str, rf["stride"])) if rf else "",
                         "x".join(map(str, rf["padding"])) if rf else ""])
    return buf.getvalue()


def format_json(stats: Stats, depth: int | None = None) -> str:
    """One total, operator or layer per line: easy to read and to diff, and each line is
    written by json's C encoder (the indenting encoder is pure Python, and took half the time of
    `netdsl stats` on a 3,000-layer network)."""
    import json
    data = stats.as_dict(visible(stats, depth))
    return "{\n" + ",\n".join(f" {json.dumps(key)}: {_json_block(value)}"
                               for key, value in data.items()) + "\n}\n"


def _json_block(value: object) -> str:
    """A list of objects or an object of objects one item per line; anything else inline."""
    import json
    if isinstance(value, list) and value and isinstance(value[0], dict):
        items = [json.dumps(v) for v in value]
    elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
    else:
        return json.dumps(value)
    open_, close = "[]" if isinstance(value, list) else "{}"
    return open_ + "\n" + ",\n".join("  " + item for item in items) + "\n " + close


FORMATS = {"table": format_table, "markdown": format_markdown, "csv": format_csv,
           "json": format_json}
SUFFIXES = {"table": ".txt", "markdown": ".md", "csv": ".csv", "json": ".json"}
