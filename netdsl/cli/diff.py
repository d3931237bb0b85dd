"""`netdsl diff A [B]`: what differs between two specs, or one spec under two sets of
parameters (`--set-a`, `--set-b`): layers added, removed and changed side by side, and the
totals' deltas."""

from __future__ import annotations

import argparse

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import (
    STDIN,
    add_loading_options,
    load_network,
    read_stdin,
    spec_files,
    stdin_once,
)
from netdsl.cli.output import Format, add_output_options, choose_format, depth, write_output

DIFFS = [Format("table", ".txt"), Format("json", ".json")]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="spec file ('-': stdin)")
    parser.add_argument("b", metavar="B", nargs="?", default=None,
                        help="the other spec file (default: A again, with --set-b)")
    parser.add_argument("--set-a", action="append", default=[], metavar="NAME=VALUE",
                        help="a network parameter of A only (repeatable)")
    parser.add_argument("--set-b", action="append", default=[], metavar="NAME=VALUE",
                        help="a network parameter of B only (repeatable)")
    parser.add_argument("--depth", type=depth, default=None, metavar="N|all",
                        help="compare N levels of blocks (default: every layer)")
    add_output_options(parser, DIFFS, required=False)
    add_loading_options(parser)


def _side(args: argparse.Namespace, path: str, sets: list[str],
          text: str | None) -> tuple[object, str]:
    """One side's network under the shared options and its own --set-a/--set-b, and how the
    output names it."""
    side = argparse.Namespace(**vars(args))
    side.set = [*args.set, *sets]
    label = " ".join([path, *(f"--set {s}" for s in side.set)])
    return load_network(side, path, text), label


def run(args: argparse.Namespace) -> int:
    from netdsl.analysis.compare import compare
    from netdsl.backends.comparison import FORMATS
    fmt = choose_format(DIFFS, args.output, args.format)
    stdin_once([args.a, args.b], "compared")
    # one spec under two sets of parameters: standard input is read once, for both
    text = read_stdin() if args.a == STDIN and args.b is None else None
    a, label_a = _side(args, args.a, args.set_a, text)
    b, label_b = _side(args, args.b or args.a, args.set_b, text)
    comparison = compare(a.stats(args.dtype), b.stats(args.dtype), args.depth)  # type: ignore[attr-defined]
    text = FORMATS[fmt.name](comparison, (label_a, label_b))
    write_output(args.output, text, protect=[*spec_files(a), *spec_files(b)])
    return Exit.OK


COMMAND = Command("diff", "compare two specs, or one spec under two sets of parameters",
                  arguments, run,
                  "Layers added (+), removed (-) and changed (~), matched by name, with their "
                  "operator, output shape, params, MACs and receptive field side by side "
                  "(a -> b), then the totals of both and their difference. Compare one spec "
                  "with itself under other parameters with --set-a/--set-b: "
                  "netdsl diff specs/mobilenet_v2.net --set-b width=0.5")
