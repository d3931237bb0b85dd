"""What every subcommand is: a name, a line of help, its arguments and the function that runs it;
the exit codes they share; and how a bad argument is reported.

A bad argument is located like a spec error: the argument's text is the "file", named after
its option (`--set:1:4: error: ...`, the argument quoted, a caret under the bad part), so that
every exit-2 message has a location."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span


class Exit(IntEnum):
    """The process's exit status. 1 is reserved for bugs in netdsl, so that a script can tell a
    problem in its input (2) or an unformatted file (3) from a crash."""

    OK = 0
    INTERNAL = 1  # a bug in netdsl: one line, the traceback with --debug
    USER = 2  # a problem in the spec or the command line: located diagnostics on stderr
    WOULD_REFORMAT = 3  # `fmt --check` / `fmt --diff`: some file is not in canonical layout
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


@dataclass(frozen=True)
class Command:
    """One subcommand. `arguments` adds its options to its parser; `run` does the work and returns
    the exit status (user errors are raised as `NetdslError`, which the entry point reports)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


def argument_error(option: str, text: str, message: str, columns: tuple[int, int] | None = None,
                   help: str | None = None) -> NetdslError:
    """A usage error in the argument `text` of `option`, at `columns` (1-based, end exclusive;
    default: the whole argument)."""
    SOURCES.add(option, text)
    start, end = columns or (1, len(text) + 1)
    return NetdslError(Diagnostic(message, Span(option, 1, start, 1, max(end, start + 1)),
                                  "usage", help=help))
