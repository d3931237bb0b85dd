"""The `netdsl` command line: check, stats, compile, render, fmt, ops.

One module per command; `loading` holds the options every command that loads a network shares,
`output` the rules for `-o`, `--format`, `-` and `--depth`, and `app` the list of commands and
the entry points. Exit status: 0 success, 1 a bug in netdsl, 2 a problem in the user's input
(located diagnostics on stderr), 3 `fmt --check` found a file to reformat.
"""

from __future__ import annotations

from netdsl.cli.app import main, run

__all__ = ["main", "run"]
