"""`netdsl render FILE -o OUT`: the architecture diagram as .svg, .png, .pdf or .dot."""

from __future__ import annotations

import argparse

from netdsl.backends.graphviz.render import BINARY_FORMATS, FORMATS
from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, depth, write_output

# dot first: the default on standard output, and the one format that needs no Graphviz
DIAGRAMS = [Format(name, f".{name}", binary=name in BINARY_FORMATS)
            for name in sorted(FORMATS, key=lambda name: name != "dot")]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, DIAGRAMS)
    parser.add_argument("--depth", type=depth, default=None, metavar="N|all",
                        help="show N levels of blocks, deeper ones collapsed into one box each "
                             "('all' expands everything; default: the deepest level that stays "
                             "readable)")
    parser.add_argument("--direction", choices=["TB", "LR"], default="TB",
                        help="top to bottom (default) or left to right")
    parser.add_argument("--no-shapes", dest="shapes", action="store_false",
                        help="leave tensor shapes out of the boxes")
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    from netdsl.backends.graphviz import dot_of, render_bytes
    fmt = choose_format(DIAGRAMS, args.output, args.format)
    network = load_network(args, args.file)
    text = dot_of(network, args.depth, args.direction, args.shapes)
    data: str | bytes = (text if fmt.name == "dot"
                         else render_bytes(text, fmt.name, network.source_path))
    write_output(args.output, data, protect=spec_files(network))
    return Exit.OK


COMMAND = Command("render", "draw the architecture diagram (svg, png, pdf, dot)", arguments, run,
                  "Draw the network with blocks as frames, collapsible by depth; runs of "
                  "identical blocks become one box marked x n. Every format but dot needs "
                  "Graphviz's `dot` program.")
