"""`%%netdsl`: a cell of IPython or Jupyter written in the .net language.

    %load_ext netdsl.jupyter

    %%netdsl --depth 1
    network tiny { input x: [3, 32, 32]; conv(8, 3) -> relu -> flatten -> linear(10) }

The cell shows its source coloured by netdsl's Pygments lexer, the stats table (`netdsl
stats`) and the diagram (`netdsl render`, when Graphviz's `dot` is installed); a mistake shows
the located messages of `netdsl check`, without a traceback. The loaded network is stored as
`_netdsl` in the user's namespace (`--name VAR` stores it under another name). Imports are
relative to the notebook's working directory.

This module imports IPython only inside `load_ipython_extension`, so the rest of netdsl (and
`render_cell`, which the extension calls) works without it.
"""

from __future__ import annotations

import argparse
import html
import shlex
from dataclasses import dataclass
from typing import Any

from netdsl.errors import NetdslError
from netdsl.errors import render as render_diagnostic


@dataclass
class Cell:
    """What a `%%netdsl` cell displays: rich HTML in a notebook, plain text in a terminal."""

    source: str
    table: str = ""
    svg: str = ""
    errors: str = ""
    network: Any = None

    def _repr_html_(self) -> str:
        parts = [_highlighted(self.source)]
        if self.errors:
            parts.append(f"<pre style='color:#b00020'>{html.escape(self.errors)}</pre>")
        if self.table:
            parts.append(f"<pre>{html.escape(self.table)}</pre>")
        if self.svg:
            parts.append(f"<div class='netdsl-diagram'>{self.svg}</div>")
        return "\n".join(parts)

    def __repr__(self) -> str:
        return self.errors or self.table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="%%netdsl", add_help=False)
    parser.add_argument("--network", metavar="NAME")
    parser.add_argument("--depth", type=int, default=None, metavar="N")
    parser.add_argument("--no-diagram", action="store_true")
    parser.add_argument("--name", default="_netdsl", metavar="VAR")
    return parser


def render_cell(line: str, cell: str) -> Cell:
    """Load the cell's spec with the options of its `%%netdsl` line and describe it."""
    from netdsl.backends.table import format_table
    from netdsl.network import load
    out = Cell(cell)
    try:
        options = _parser().parse_args(shlex.split(line))
    except SystemExit:
        out.errors = f"usage: %%netdsl {_parser().format_usage().partition(' ')[2]}"
        return out
    try:
        network = load(cell, options.network)
        failures = network.check()
        if failures:
            raise NetdslError(failures)
        out.network = network
        out.table = format_table(network.stats(), options.depth)
        if not options.no_diagram:
            out.svg = _diagram(network, options.depth)
    except NetdslError as exc:
        out.errors = "\n".join(render_diagnostic(d) for d in exc.diagnostics)
    return out


def _diagram(network: Any, depth: int | None) -> str:
    from netdsl.backends.graphviz import render_svg
    try:
        return render_svg(network, depth)
    except NetdslError:  # no `dot`: the table stands alone
        return ""


def _highlighted(source: str) -> str:
    """The source as HTML coloured by netdsl's lexer (inline styles: no stylesheet needed)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter

        from netdsl.highlight.lexer import NetdslLexer
    except ImportError:  # pygments is an extra
        return f"<pre>{html.escape(source)}</pre>"
    return highlight(source, NetdslLexer(), HtmlFormatter(noclasses=True, nobackground=True))


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext netdsl.jupyter`: registers the `%%netdsl` cell magic."""

    def netdsl(line: str, cell: str) -> Cell:
        shown = render_cell(line, cell)
        if shown.network is not None:
            name = _parser().parse_args(shlex.split(line)).name
            ipython.user_ns[name] = shown.network
        return shown

    ipython.register_magic_function(netdsl, magic_kind="cell", magic_name="netdsl")
