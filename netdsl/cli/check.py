"""`netdsl check FILE...`: load each spec, verify its `expect` statements and warn of
computation no output depends on."""

from __future__ import annotations

import argparse
import sys

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, stdin_once
from netdsl.errors import Diagnostic, NetdslError, render_first


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="spec files ('-': stdin)")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 2) on warnings too, as a CI job wants")
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    stdin_once(args.files, "checked")
    failures: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    for path in args.files:
        try:
            network = load_network(args, path)
            failures += network.check(args.dtype)
        except NetdslError as exc:
            failures += exc.diagnostics
            continue
        warnings += network.warnings()
    _print_warnings(warnings)
    if failures:
        raise NetdslError(failures)
    return Exit.USER if warnings and args.strict else Exit.OK


def _print_warnings(warnings: list[Diagnostic]) -> None:
    if warnings:
        print("\n".join(render_first(warnings, "warning")), file=sys.stderr)


COMMAND = Command("check", "validate specs and their `expect` figures", arguments, run,
                  "Load every FILE and verify the figures its `expect` statements state, and "
                  "warn of layers whose result nothing uses. Prints nothing when all is well; "
                  "exit 2 with located diagnostics otherwise (warnings alone exit 0, or 2 with "
                  "--strict).")
