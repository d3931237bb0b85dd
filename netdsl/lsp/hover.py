"""What the editor shows over a word: the figures of the layers and block calls written there
(output shape, params, MACs, receptive field; a block call's totals), an operator's signature
and description, a block's signature, an import's definitions. Markdown text, from an
analysis; the server wraps it in the protocol's types."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import replace

from netdsl.analysis import Row
from netdsl.backends.table import human, rf_text, shape_text
from netdsl.errors import Span
from netdsl.lsp.analysis import Analysis
from netdsl.lsp.figures import row
from netdsl.lsp.index import Made, Places
from netdsl.lsp.navigate import (
    Binding,
    Word,
    import_at,
    import_target,
    resolve,
    top_bindings,
    word_at,
)
from netdsl.lsp.sources import Sources, canonical
from netdsl.ops import REGISTRY
from netdsl.syntax import ast

MAX_ROWS = 8  # layers listed for one span; a bottleneck's conv2 is 50 layers of ResNet-152


def hover(analysis: Analysis, places: Places, sources: Sources, line: int,
          col: int) -> tuple[str, Span] | None:
    """Markdown for 1-based (line, col) of the analysed document, and the span it is about;
    `places` are the layers made in it (by its own networks, or by those of the documents
    that import it)."""
    imported = import_at(analysis.text, line)
    if imported is not None:
        return _import(analysis, sources, imported, line)
    word = word_at(analysis.text, analysis.path, line, col)
    binding = _binding(analysis, word) if word else None
    parts: list[str] = []
    span = word.span if word else None
    if word and binding is None and word.text in REGISTRY and not word.qualified:
        parts.append(operator_text(word.text))
    if binding is not None and binding.kind in ("block", "network"):
        parts.append(block_signature(binding.node))
    made: list[Made] = []
    if binding is not None and binding.kind == "label" \
            and canonical(binding.span.path) == analysis.path:
        made = places.made(analysis.path, binding.span)
    if binding is not None and binding.kind == "network" and word.span.line == binding.span.line:
        parts.append(_network_totals(analysis, binding.name))
    if not made and (binding is None or binding.kind not in ("network",)):
        around, made = places.at(analysis.path, line, col)
        span = span or around
    if made:
        parts.append(figures_text(made))
    return ("\n\n---\n\n".join(parts), span) if parts else None


def _binding(analysis: Analysis, word: Word) -> Binding | None:
    if analysis.module is None:
        return None
    modules = list(analysis.program.modules.values()) if analysis.program else []
    return resolve(word, analysis.module, modules)


def operator_text(name: str) -> str:
    """An operator's signature and description, as `netdsl ops` gives them."""
    cls = REGISTRY[name]
    doc = inspect.cleandoc(cls.__doc__ or "")
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    return "\n\n".join([f"```netdsl\n{cls.signature()}\n```", *paragraphs])


def block_signature(item: ast.BlockDef) -> str:
    """`block bottleneck(width: int, s: int = 1, ...)` as written (defaults shown)."""
    params = ", ".join(_param(p) for p in item.params)
    keyword = "network" if item.is_network else ("inline block" if item.inline else "block")
    return f"```netdsl\n{keyword} {item.name}({params})\n```"


def _param(p: ast.Param) -> str:
    text = p.name + (f": {p.type}" if p.type else "")
    return text + (" = ..." if p.default is not None else "")


def figures_text(made: list[Made]) -> str:
    """The figures of what a span made: one layer or call as a list, several as a table."""
    rows = [(m.network.name, m.name, r) for m, r in rows_of(made)]
    network, name, row = rows[0]
    where = f"network {', '.join(sorted({n for n, _, _ in rows}))}"
    if len(rows) == 1:
        label = name.rpartition(".")[2] or name
        head = f"**{label}** `{row.summary}`" + (" (block totals)" if row.is_block else "")
        lines = [head, "", f"- {'call' if row.is_block else 'layer'} `{name}` of {where}",
                 f"- output: {shape_text(row.output)}",
                 f"- params: {_exact(row.params)}" + (f", buffers {_exact(row.buffers)}"
                                                      if row.buffers else ""),
                 f"- MACs: {_exact(row.macs)}", f"- FLOPs: {_exact(row.flops)}",
                 f"- receptive field: {rf_text(row.rf)}"]
        return "\n".join(lines)
    kind = "calls" if row.is_block else "layers"
    head = f"**{len(rows)} {kind}** of {where} are made here"
    table = ["| layer | op | output | params | MACs | receptive field |",
             "| --- | --- | --- | ---: | ---: | --- |"]
    for _, name, r in rows[:MAX_ROWS]:
        table.append(f"| `{name}` | {r.summary} | {shape_text(r.output)} | {human(r.params)} | "
                     f"{human(r.macs)} | {rf_text(r.rf)} |")
    if len(rows) > MAX_ROWS:
        table.append(f"| ... {len(rows) - MAX_ROWS} more | | | | | |")
    return "\n".join([head, "", *table])


def rows_of(made: list[Made]) -> list[tuple[Made, Row]]:
    """Each layer's or call's row; the items an unlabeled inline call made, summed into one
    row per call (its output and field are its last item's)."""
    out: list[tuple[Made, Row]] = []
    calls: dict[tuple[int, str], list[Made]] = {}
    for m in made:
        if m.kind == "inline":
            calls.setdefault((id(m.network), m.where), []).append(m)
        else:
            out.append((m, row(m)))
    for items in calls.values():
        rows = [row(m, field=m is items[-1]) for m in items]  # one field is shown: the last's
        last, first = rows[-1], items[0]
        sums = [sum(c) for c in zip(*(r.counts() for r in rows), strict=True)]
        name = first.where.rstrip(".") or first.network.name
        summed = Row(name, first.block, last.depth, True, last.output, *sums, rf=last.rf,
                     summary=f"{first.block}(...)")
        out.append((replace(first, name=name), summed))
    return out


def _exact(value: int) -> str:
    return f"{value:,} ({human(value)})" if value >= 1000 else str(value)


def _network_totals(analysis: Analysis, name: str) -> str:
    for network in analysis.networks:
        if network.name == name:
            s = network.stats()
            outputs = ", ".join(f"{k} {shape_text(v)}" for k, v in s.outputs.items())
            return "\n".join([f"**{name}**", "", f"- outputs: {outputs}",
                              f"- params: {_exact(s.params)}, buffers {_exact(s.buffers)}",
                              f"- MACs: {_exact(s.macs)}", f"- FLOPs: {_exact(s.flops)}",
                              f"- layers: {network.top.meta.get('layers', len(network.graph))}"])
    return f"**{name}**: not analysed (see its diagnostics)"


def _import(analysis: Analysis, sources: Sources, imported: str,
            line: int) -> tuple[str, Span] | None:
    target = import_target(analysis.path, imported)
    text = sources.current(target)
    span = Span(analysis.path, line, 1, line, len(analysis.text.split("\n")[line - 1]) + 1)
    if text is None:
        return f"`{imported}`: cannot be read", span
    try:
        tree = sources.parse(text, canonical(target))
    except Exception:  # noqa: BLE001 - its diagnostics say why
        return f"`{canonical(target)}`: does not parse (see the diagnostics)", span
    return f"`{canonical(target)}`\n\n" + _defines(top_bindings(tree)), span


def _defines(bindings: Iterable[Binding]) -> str:
    groups: dict[str, list[str]] = {}
    for b in bindings:
        groups.setdefault(b.kind, []).append(f"`{b.name}`")
    return "\n".join(f"- {kind}s: {', '.join(names)}" for kind, names in groups.items())
