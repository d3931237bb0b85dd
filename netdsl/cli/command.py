"""What every subcommand is: a name, a line of help, its arguments and the function that runs it;
and the exit codes they share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


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
