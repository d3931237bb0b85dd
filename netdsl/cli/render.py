"""`netdsl render FILE -o OUT`: the architecture diagram as .svg, .png, .pdf or .dot."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from netdsl.backends.graphviz.render import BINARY_FORMATS, FORMATS
from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, depth, write_output

if TYPE_CHECKING:
    from netdsl.backends.graphviz import Diagram, Options
    from netdsl.network import Network

MAX_DPI = 1200

# dot first: the default on standard output, and the one format that needs no Graphviz
DIAGRAMS = [Format(name, f".{name}", binary=name in BINARY_FORMATS)
            for name in sorted(FORMATS, key=lambda name: name != "dot")]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, DIAGRAMS)
    parser.add_argument("--depth", type=depth, default=None, metavar="N|all",
                        help="draw N levels of blocks, deeper ones collapsed into one box each "
                             "('all' expands everything; default: the deepest level at which "
                             "the drawing fits a page)")
    parser.add_argument("--layout", choices=["column", "u"], default=None,
                        help="'u': encoder down the left, decoder up the right, skips across "
                             "(default for encoder-decoder networks such as U-Net); 'column': "
                             "one column")
    parser.add_argument("--direction", choices=["TB", "LR"], default="TB",
                        help="a column top to bottom (default) or left to right")
    parser.add_argument("--no-shapes", dest="shapes", action="store_false",
                        help="leave tensor shapes out of the boxes")
    parser.add_argument("--edge-shapes", action="store_true",
                        help="write the tensor shape on every edge (in SVG, shapes are also "
                             "the edges' tooltips)")
    parser.add_argument("--dpi", type=dpi, default=None, metavar="N",
                        help="resolution of a PNG, dots per inch (default 96)")
    add_loading_options(parser)


def dpi(text: str) -> int:
    """`--dpi N`: 10 to 1200 (Graphviz's bitmap grows with its square)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 10 <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"expected a number from 10 to {MAX_DPI}, got '{text}'")
    return value


def run(args: argparse.Namespace) -> int:
    from netdsl.backends.graphviz import Options, diagram_of, render_bytes, to_dot
    fmt = choose_format(DIAGRAMS, args.output, args.format)
    network = load_network(args, args.file)
    options = Options(args.depth, args.layout, args.direction, args.shapes, args.edge_shapes)
    diagram = diagram_of(network, **vars(options))
    text = to_dot(diagram, options)
    data: str | bytes = text if fmt.name == "dot" else render_bytes(
        text, fmt.name, network.source_path, dpi=args.dpi)
    write_output(args.output, data, protect=spec_files(network))
    _warn_if_too_large(network, diagram, options)
    return Exit.OK


def _warn_if_too_large(network: Network, diagram: Diagram, options: Options) -> None:
    """A warning, with the depth that fits, when an explicit --depth exceeds a page."""
    from netdsl.backends.graphviz import diagram_of
    from netdsl.backends.graphviz.fit import page_fits
    from netdsl.errors import Diagnostic, Span, render
    if options.depth is None or page_fits(diagram, diagram.size):
        return
    size = (f"{diagram.size[0]:.0f} x {diagram.size[1]:.0f} in" if diagram.size
            else f"{len(diagram.boxes):,} boxes")
    fitting = diagram_of(network, **{**vars(options), "depth": None}).depth
    print(render(Diagnostic(
        f"the diagram is larger than a page ({size} at depth "
        f"{min(diagram.depth, diagram.deepest)})", Span.file(network.source_path), "limit",
        severity="warning", help=f"--depth {fitting} fits a page (it is the default)")),
        file=sys.stderr)


COMMAND = Command("render", "draw the architecture diagram (svg, png, pdf, dot)", arguments, run,
                  "Draw the network with blocks as frames, collapsed below --depth (by "
                  "default the deepest level that fits a page); runs of identical blocks "
                  "become one box marked x n; encoder-decoders are drawn as a U. Every format "
                  "but dot needs Graphviz's `dot` program.")
