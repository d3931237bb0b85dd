"""The text inside boxes, as Graphviz HTML-like labels: name, operator, shape, params, MACs.

Every piece of spec-derived text goes through `escape`, so labels and block names can never
break the DOT syntax.
"""

from __future__ import annotations

from html import escape as _html_escape

from netdsl.backends.graphviz.diagram import Box
from netdsl.backends.graphviz.palette import TEXT_MUTED
from netdsl.backends.table import human

MERGE_SYMBOLS = {"add": "+", "mul": "\u00d7"}
SMALL = 8


_MAX_TEXT = 200  # characters of spec text shown in a box


def escape(text: str) -> str:
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT - 1] + "\u2026"
    return _html_escape(text, quote=True)


def shape_text(shape: tuple[int, ...]) -> str:
    return "\u00d7".join(str(d) for d in shape)


def _small(text: str, muted: bool = False) -> str:
    colour = f' color="{TEXT_MUTED}"' if muted else ""
    return f'<font point-size="{SMALL}"{colour}>{escape(text)}</font>'


def _figures(box: Box, shapes: bool) -> str:
    parts = [shape_text(box.shape)] if shapes and box.shape else []
    if box.params:
        parts.append(f"{human(box.params)} params")
    if box.kind == "block" and box.macs:
        parts.append(f"{human(box.macs)} MACs")
    return " \u00b7 ".join(parts)


def _table(rows: list[str]) -> str:
    cells = "".join(f"<tr><td>{r}</td></tr>" for r in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{cells}</table>>'


def label(box: Box, shapes: bool = True) -> str:
    """The HTML-like label of a box (with the outer < > of DOT)."""
    if box.kind == "merge":
        return merge_label(box, shapes)
    if box.kind == "input":
        rows = [f"<b>input {escape(box.name)}</b>"]
        if shapes:
            rows.append(_small(shape_text(box.shape)))
        return _table(rows)
    if box.compact:
        line = f"{_small(box.name, muted=True)} {escape(box.text)}"
        if box.params:
            line += " " + _small(f"\u00b7 {human(box.params)}", muted=True)
        return _table([line])
    head = f"<b>{escape(box.text)}</b>"
    if box.count > 1:
        head += f'  <font point-size="12"><b>\u00d7 {box.count}</b></font>'
    name = box.name if box.count == 1 else f"{box.name} \u2026 {_tail(box)}"
    if box.wraps:
        name += f" \u00b7 {box.wraps}"
    rows = [_small(name, muted=True), head]
    figures = _figures(box, shapes)
    if figures:
        rows.append(_small(figures))
    return _table(rows)


def _tail(box: Box) -> str:
    last = box.last or box.id
    prefix = box.id[: len(box.id) - len(box.name)]
    return last[len(prefix):] if last.startswith(prefix) else last


def merge_label(box: Box, shapes: bool) -> str:
    symbol = MERGE_SYMBOLS.get(box.op)
    if symbol:
        return f'<<font point-size="14"><b>{symbol}</b></font>>'
    rows = [f"<b>{escape(box.op or box.text)}</b>"]
    if shapes:
        rows.append(_small(shape_text(box.shape)))
    return _table(rows)


def tooltip(box: Box) -> str:
    """Plain text shown on hover in SVG: full name, operator, every figure."""
    parts = [box.id if box.count == 1 else f"{box.id} \u2026 {box.last}", box.text,
             shape_text(box.shape)]
    if box.params:
        parts.append(f"{box.params:,} params")
    if box.macs:
        parts.append(f"{box.macs:,} MACs")
    return " | ".join(parts)
