"""`netdsl stats FILE`: shapes, parameters, MACs, memory and receptive fields, per layer."""

from __future__ import annotations

import argparse

from netdsl.backends.table import FORMATS, SUFFIXES
from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, depth, write_output

TABLES = [Format(name, SUFFIXES[name]) for name in FORMATS]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    parser.add_argument("--depth", type=depth, default=None, metavar="N|all",
                        help="show N levels of blocks, deeper ones folded into their block's "
                             "subtotals (default: all)")
    add_output_options(parser, TABLES, required=False)
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    fmt = choose_format(TABLES, args.output, args.format)
    network = load_network(args, args.file)
    text = FORMATS[fmt.name](network.stats(args.dtype), args.depth)
    write_output(args.output, text, protect=spec_files(network))
    return Exit.OK


COMMAND = Command("stats", "shapes, params, MACs, memory, receptive fields", arguments, run,
                  "Print every layer's output shape, parameters, MACs and receptive field, "
                  "with block subtotals and the network's totals. The table abbreviates "
                  "figures (25.6 M); markdown, csv and json print exact integers.")
