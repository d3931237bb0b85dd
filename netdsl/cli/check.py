"""`netdsl check FILE...`: load each spec and verify its `expect` statements."""

from __future__ import annotations

import argparse

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import STDIN, STDIN_NAME, add_loading_options, load_network
from netdsl.errors import Diagnostic, NetdslError, Span


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="spec files ('-': stdin)")
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.files.count(STDIN) > 1:
        raise NetdslError(Diagnostic("standard input ('-') can be checked only once",
                                     Span.file(STDIN_NAME), "usage"))
    failures: list[Diagnostic] = []
    for path in args.files:
        try:
            failures += load_network(args, path).check(args.dtype)
        except NetdslError as exc:
            failures += exc.diagnostics
    if failures:
        raise NetdslError(failures)
    return Exit.OK


COMMAND = Command("check", "validate specs and their `expect` figures", arguments, run,
                  "Load every FILE and verify the figures its `expect` statements state. Prints "
                  "nothing when all hold; exit 2 with located diagnostics otherwise.")
