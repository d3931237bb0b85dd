"""`netdsl fmt FILE...`: rewrite specs in their canonical layout (`--check`, `--diff`).

`-` formats standard input to standard output. Exit 3 (`Exit.WOULD_REFORMAT`) when `--check` or
`--diff` finds a file that would change: black and ruff use 1 for that, but netdsl's 1 means a
bug in netdsl.
"""

from __future__ import annotations

import argparse
import difflib
import sys

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import STDIN, STDIN_NAME, positive, read_stdin, stdin_once
from netdsl.errors import Diagnostic, NetdslError
from netdsl.limits import MAX_STEPS, STEPS_OPTION


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="spec files ('-': format stdin to stdout)")
    parser.add_argument("--check", action="store_true",
                        help=f"change nothing; exit {Exit.WOULD_REFORMAT} if a file is not "
                             f"formatted")
    parser.add_argument("--diff", action="store_true",
                        help=f"change nothing; print a unified diff (exit {Exit.WOULD_REFORMAT} "
                             f"if there is one)")
    parser.add_argument(STEPS_OPTION, type=positive, default=MAX_STEPS, metavar="N",
                        help=f"refuse specs longer than N steps of work pay for, as loading "
                             f"does (default {MAX_STEPS:,})")


def run(args: argparse.Namespace) -> int:
    stdin_once(args.files, "formatted")
    changed = False
    failures: list[Diagnostic] = []
    for path in args.files:
        try:
            changed |= _format(path, args)
        except NetdslError as exc:
            failures += exc.diagnostics
    if failures:
        raise NetdslError(failures)
    return Exit.WOULD_REFORMAT if changed and (args.check or args.diff) else Exit.OK


def _format(path: str, args: argparse.Namespace) -> bool:
    """Format one spec (or report it); whether it was not in canonical layout."""
    from netdsl.elaborate.loader import read_source
    from netdsl.syntax.formatter import format_source
    name = STDIN_NAME if path == STDIN else path
    text = read_stdin() if path == STDIN else read_source(path)
    formatted = format_source(text, name, args.max_steps)
    if path == STDIN and not (args.check or args.diff):
        sys.stdout.write(formatted)
    if formatted == text:
        return False
    if args.diff:
        sys.stdout.writelines(difflib.unified_diff(
            text.splitlines(keepends=True), formatted.splitlines(keepends=True),
            f"{name} (original)", f"{name} (formatted)"))
    if args.check:
        print(f"{name} would be reformatted", file=sys.stderr)
    elif not args.diff and path != STDIN:
        from netdsl.files import write_atomic
        write_atomic(path, formatted)
    return True


COMMAND = Command("fmt", "rewrite specs in the canonical layout", arguments, run,
                  f"Rewrite each FILE in the canonical layout. With --check or --diff nothing "
                  f"is written, and the exit status is {Exit.WOULD_REFORMAT} when some file "
                  f"would change (1 is kept for bugs in netdsl).")
