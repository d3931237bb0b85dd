"""`netdsl fmt FILE...`: rewrite specs in their canonical layout (`--check`, `--diff`)."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable

from netdsl.elaborate.loader import read_source
from netdsl.errors import Diagnostic, NetdslError

EXIT_WOULD_CHANGE = 1


def add_fmt(subparsers: argparse._SubParsersAction,
            common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the `fmt` subcommand (it takes no network options, so `common` is unused)."""
    p = subparsers.add_parser("fmt", help="rewrite specs in the canonical layout")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 if a file is not formatted")
    p.add_argument("--diff", action="store_true", help="change nothing; print a unified diff")
    p.set_defaults(run=run_fmt)


def run_fmt(args: argparse.Namespace) -> int:
    from netdsl.files import write_atomic
    from netdsl.syntax.formatter import format_source

    changed: list[str] = []
    failures: list[Diagnostic] = []
    for path in args.files:
        try:
            text = read_source(path)
            formatted = format_source(text, path)
        except NetdslError as exc:
            failures += exc.diagnostics
            continue
        if formatted == text:
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                f"{path} (original)", f"{path} (formatted)"))
        if args.check:
            print(f"{path} would be reformatted", file=sys.stderr)
        elif not args.diff:
            write_atomic(path, formatted)
    if failures:
        raise NetdslError(failures)
    return EXIT_WOULD_CHANGE if changed and (args.check or args.diff) else 0
