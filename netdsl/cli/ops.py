"""`netdsl ops`: every operator with its signature and its whole description."""

from __future__ import annotations

import argparse
import inspect
import shutil
import sys
import textwrap

from netdsl.cli.command import Command, Exit

INDENT = "    "
MAX_WIDTH = 100


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    from netdsl.ops import REGISTRY
    width = min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH)
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        sys.stdout.write(f"{cls.signature()}\n{describe(cls.__doc__ or '', width)}\n")
    return Exit.OK


def describe(docstring: str, width: int = MAX_WIDTH) -> str:
    """A docstring's paragraphs, each wrapped to `width` and indented."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width, initial_indent=INDENT,
                                     subsequent_indent=INDENT, break_on_hyphens=False)
                       for p in paragraphs if p.strip())


COMMAND = Command("ops", "list the operators, their signatures and descriptions", arguments, run)
