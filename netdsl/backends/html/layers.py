"""The per-layer table and the totals as HTML, shared by the notebook display and the report."""

from __future__ import annotations

from html import escape

from netdsl.analysis import Row, Stats
from netdsl.analysis.receptive_field import Field
from netdsl.backends.table import human, rf_text, totals_lines
from netdsl.notation import shape_text

COLUMNS = (("#", "order"), ("layer", "name"), ("op", "op"), ("output", "output"),
           ("params", "params"), ("MACs", "macs"), ("receptive field", "rf"))


def rf_size(row: Row) -> int:
    """The largest side of a row's receptive field, for sorting and charts (0: none, -1:
    global)."""
    if isinstance(row.rf, Field):
        return max(int(v) for v in row.rf.as_dict()["size"])  # type: ignore[union-attr]
    return -1 if row.rf == "global" else 0


def totals_html(stats: Stats) -> str:
    """The totals under `netdsl stats`'s table, as a definition list."""
    items = []
    for line in totals_lines(stats):
        key, _, value = line.strip().partition(":")
        items.append(f"<dt>{escape(key)}</dt><dd>{escape(value.strip())}</dd>")
    return f'<dl class="totals">{"".join(items)}</dl>'


def table_html(stats: Stats, table_id: str = "layers", depth: int | None = None) -> str:
    """Every layer and block (down to `depth`), indented by depth; each cell carries the value
    the report's script sorts by."""
    head = "".join(f'<th data-key="{key}" data-type="{_kind(key)}">{escape(text)}</th>'
                   for text, key in COLUMNS)
    body = [_row(i, row) for i, row in enumerate(stats.layers)
            if depth is None or row.depth <= depth]
    return (f'<table id="{table_id}" class="layers"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _kind(key: str) -> str:
    return "text" if key in ("name", "op", "output") else "number"


def _row(index: int, row: Row) -> str:
    cells = [
        (index, str(index)),
        (row.name, row.name),
        (row.summary or row.op, row.summary or row.op),
        (shape_text(row.output), shape_text(row.output)),
        (row.params, human(row.params) if row.params else ""),
        (row.macs, human(row.macs) if row.macs else ""),
        (rf_size(row), rf_text(row.rf)),
    ]
    tds = []
    for column, (value, text) in enumerate(cells):
        style = f' style="padding-left:{0.3 + 1.1 * (row.depth - 1):.1f}em"' if column == 1 else ""
        tds.append(f'<td data-value="{escape(str(value))}"{style}>{escape(text)}</td>')
    kind = "block" if row.is_block else "layer"
    return (f'<tr class="{kind}" data-name="{escape(row.name)}" data-depth="{row.depth}">'
            f'{"".join(tds)}</tr>')
