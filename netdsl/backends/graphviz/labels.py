"""The text inside boxes, as Graphviz HTML-like labels: name, operator, shape, params, MACs.

Every piece of spec-derived text goes through `escape`, so labels and block names can never
break the DOT syntax.
"""

from __future__ import annotations

from html import escape as _html_escape

from netdsl.backends.graphviz.diagram import Box
from netdsl.backends.graphviz.palette import TEXT_MUTED
from netdsl.backends.table import human
from netdsl.notation import shape_text
from netdsl.ops import REGISTRY

SMALL = 8
LINE = 40  # characters: a longer chain of layers is broken into lines


_MAX_TEXT = 200  # characters of spec text shown in a box


def escape(text: str) -> str:
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT - 1] + "\u2026"
    return _html_escape(text, quote=True)


def _small(text: str, muted: bool = False) -> str:
    colour = f' color="{TEXT_MUTED}"' if muted else ""
    return f'<font point-size="{SMALL}"{colour}>{escape(text)}</font>'


def _figures(box: Box, shapes: bool) -> str:
    parts = [shape_text(box.shape, 'times')] if shapes and box.shape else []
    if box.params:
        parts.append(f"{human(box.params)} params")
    if box.kind == "block" and box.macs:
        parts.append(f"{human(box.macs)} MACs")
    return " \u00b7 ".join(parts)


def _table(rows: list[str]) -> str:
    cells = "".join(f"<tr><td>{r}</td></tr>" for r in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="0">{cells}</table>>'


def label(box: Box, shapes: bool = True) -> str:
    """The HTML-like label of a box (with the outer < > of DOT)."""
    if box.kind == "merge":
        return merge_label(box, shapes)
    if box.kind in ("input", "output"):
        name = box.name if box.count == 1 else f"{box.name} \u2026 {_tail(box)}"
        rows = [f"<b>{box.kind} {escape(name)}</b>"]
        if box.count > 1:
            rows[0] += f'  <font point-size="12"><b>\u00d7 {box.count}</b></font>'
        if shapes:
            rows.append(_small(shape_text(box.shape, 'times')))
        return _table(rows)
    if box.compact:
        shown = "" if box.text.split(" ")[0] == box.name else _small(box.name, muted=True) + " "
        line = f"{shown}{escape(box.text)}"
        if box.params:
            line += " " + _small(f"\u00b7 {human(box.params)}", muted=True)
        return _table([line])
    lines = _lines(box.text)
    heads = [f"<b>{escape(line)}</b>" for line in lines]
    if box.count > 1:
        heads[-1] += f'  <font point-size="12"><b>\u00d7 {box.count}</b></font>'
    name = box.name if box.count == 1 else f"{box.name} \u2026 {_tail(box)}"
    if box.wraps:
        name += f" \u00b7 {box.wraps}"
    rows = [_small(name, muted=True), *heads]
    if box.note:
        rows.append(_small(box.note))
    figures = _figures(box, shapes)
    if figures:
        rows.append(_small(figures))
    return _table(rows)


def _lines(text: str) -> list[str]:
    """A long chain of layers (`conv 1x1, 96 -> conv 3x3/2, 96, g=96 -> ...`) one per line,
    each line but the last ending in its arrow; anything else on one line."""
    parts = text.split(" \u2192 ")
    if len(text) <= LINE or len(parts) == 1:
        return [text]
    return [p + " \u2192" for p in parts[:-1]] + parts[-1:]


def _tail(box: Box) -> str:
    last = box.last or box.id
    prefix = box.id[: len(box.id) - len(box.name)]
    return last[len(prefix):] if last.startswith(prefix) else last


def merge_label(box: Box, shapes: bool) -> str:
    cls = REGISTRY.get(box.op)
    symbol = cls.symbol if cls is not None else None
    if symbol:
        return f'<<font point-size="14"><b>{symbol}</b></font>>'
    rows = [f"<b>{escape(box.op or box.text)}</b>"]
    if shapes:
        rows.append(_small(shape_text(box.shape, 'times')))
    return _table(rows)


def tooltip(box: Box) -> str:
    """Plain text shown on hover in SVG: full name, operator, every figure."""
    first, last = box.id, box.last
    if box.kind == "output":
        first, last = box.name, _tail(box)
    parts = [first if box.count == 1 else f"{first} \u2026 {last}", box.text,
             shape_text(box.shape, 'times')]
    if box.params:
        parts.append(f"{box.params:,} params")
    if box.macs:
        parts.append(f"{box.macs:,} MACs")
    return " | ".join(parts)
