"""`netdsl report FILE -o report.html`: one self-contained HTML page about a network (totals,
diagram, sortable and filterable layer table, charts), viewable with no network access."""

from __future__ import annotations

import argparse

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, write_output

PAGES = [Format("html", ".html")]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, PAGES)
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    choose_format(PAGES, args.output, args.format)
    from netdsl.backends.html import report_html
    network = load_network(args, args.file)
    write_output(args.output, report_html(network, args.dtype), protect=spec_files(network))
    return Exit.OK


COMMAND = Command("report", "a self-contained HTML report: diagram, layer table, charts",
                  arguments, run,
                  "Write one HTML page about the network, every script and style inline so "
                  "that it opens offline: the totals, the diagram (a click on a block expands "
                  "it), the per-layer table (sortable, filterable) and charts of params and "
                  "MACs per block, receptive field against depth and live activation memory "
                  "through the forward pass. The charts need the plotly package "
                  "(pip install 'netdsl[report]'); the diagram needs Graphviz's `dot`.")
