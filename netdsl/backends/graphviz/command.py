"""`netdsl render FILE -o out.svg|png|pdf|dot`: the command-line face of the diagrams."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netdsl.errors import Diagnostic, NetdslError


def depth_value(text: str) -> int:
    """`--depth N` (N >= 1) or `--depth all` (nothing collapsed)."""
    if text.lower() in ("all", "full"):
        return 1_000_000
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 1 or 'all', got '{text}'") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1 or 'all', got '{text}'")
    return value


def add_render(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = subparsers.add_parser("render", help="draw the architecture diagram (svg, png, pdf, dot)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file; its suffix picks the format: .svg .png .pdf .dot")
    common(p)
    p.add_argument("--input", action="append", metavar="[NAME=]CxHxW",
                   help="override an input's shape, e.g. --input 3x299x299")
    p.add_argument("--depth", type=depth_value, default=None, metavar="N",
                   help="collapse blocks nested deeper than N into one box each ('all' expands "
                        "everything; default: the deepest level that stays readable)")
    p.add_argument("--direction", choices=["TB", "LR"], default="TB",
                   help="top to bottom (default) or left to right")
    p.add_argument("--no-shapes", dest="shapes", action="store_false",
                   help="leave tensor shapes out of the boxes")
    p.set_defaults(run=run_render)


def output_format(path: str) -> str:
    from netdsl.backends.graphviz.render import FORMATS
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise NetdslError(Diagnostic(
            f"cannot tell the output format from '{path}'", None, "usage",
            help="end the output name in " + ", ".join("." + f for f in FORMATS)))
    return fmt


def run_render(args: argparse.Namespace) -> int:
    from cli import _load  # the shared loader of the command line (--set, --input, ...)
    from netdsl.backends.graphviz import dot_of, render_bytes
    from netdsl.files import write_atomic
    fmt = output_format(args.output)
    network = _load(args)
    text = dot_of(network, args.depth, args.direction, args.shapes)
    data: str | bytes = text if fmt == "dot" else render_bytes(text, fmt)
    write_atomic(args.output, data, protect=[args.file])
    return 0
