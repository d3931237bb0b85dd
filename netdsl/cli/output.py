"""What the commands write and where: `-o` with the format from its suffix unless `--format`
says otherwise, `-` for standard output, and `--depth` (a number >= 1, or `all`).

One rule for every command: a suffix and a `--format` that disagree, or a suffix that names no
format when `--format` is absent, are usage errors found before any work is done; `-o -` writes
to standard output, in the command's text format unless `--format` says otherwise, and never
writes a binary format to a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from netdsl.cli.command import argument_error
from netdsl.errors import NetdslError

STDOUT = "-"
EVERY_LEVEL = sys.maxsize  # `--depth all`: deeper than any spec nests


@dataclass(frozen=True)
class Format:
    """An output format: its `--format` name, the file suffix that selects it, and whether it
    is bytes that a terminal cannot show."""

    name: str
    suffix: str
    binary: bool = False


def depth(text: str) -> int:
    """`--depth N` (N >= 1: show N levels of blocks) or `--depth all` (expand everything)."""
    if text.lower() == "all":
        return EVERY_LEVEL
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1 or 'all', got '{text}'")
    return value


def add_output_options(parser: argparse.ArgumentParser, formats: Sequence[Format],
                       required: bool = True) -> None:
    """`-o OUT` and `--format NAME` for a command writing one of `formats`; the first one is
    the default for standard output (where an optional `-o` writes when it is absent)."""
    suffixes = ", ".join(f"{f.suffix} ({f.name})" for f in formats)
    parser.add_argument("-o", "--output", required=required, default=STDOUT, metavar="OUT",
                        help=f"file to write, '-' for standard output"
                             f"{'' if required else ' (the default)'}; its suffix picks the "
                             f"format: {suffixes}")
    parser.add_argument("--format", choices=[f.name for f in formats], default=None,
                        help=f"the format when the suffix of OUT does not say it (standard "
                             f"output: {formats[0].name}); it must agree with a suffix that does")


def choose_format(formats: Sequence[Format], output: str, requested: str | None,
                  option: str = "-o") -> Format:
    """The format to write `output` (the argument of `option`) in: `requested` (--format) or
    the one its suffix names."""
    by_name = {f.name: f for f in formats}
    if output == STDOUT:
        chosen = by_name[requested or formats[0].name]
        if chosen.binary and sys.stdout.isatty():
            raise _usage(option, output, f"refusing to write {chosen.name} (binary) to a terminal",
                         f"redirect it (> out{chosen.suffix}) or write a file "
                         f"(-o out{chosen.suffix})")
        return chosen
    suffix = Path(output).suffix.lower()
    by_suffix = {f.suffix: f for f in formats}
    if requested is None:
        if suffix not in by_suffix:
            raise _usage(option, output, f"cannot tell the output format from '{output}'",
                         f"end the output name in {_suffixes(formats)}"
                         f"{', or give --format' if option == '-o' else ''}")
        return by_suffix[suffix]
    chosen = by_name[requested]
    if suffix in by_suffix and by_suffix[suffix] is not chosen:
        raise _usage(option, output, f"--format {requested} disagrees with the suffix of "
                     f"'{output}', which means {by_suffix[suffix].name}",
                     f"name the file *{chosen.suffix}, or drop --format")
    return chosen


def write_output(output: str, data: str | bytes, protect: Iterable[str] = ()) -> None:
    """Write `data` to standard output (`-`) or atomically to the file `output`, never over a
    file in `protect` (the specs that were read)."""
    if output == STDOUT:
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
            sys.stdout.flush()
        return
    from netdsl.files import write_atomic
    write_atomic(output, data, protect=list(protect))


def _suffixes(formats: Sequence[Format]) -> str:
    return ", ".join(f.suffix for f in formats)


def _usage(option: str, output: str, message: str, help: str) -> NetdslError:
    """A usage error located at the suffix of `-o OUT` (all of it when it has none)."""
    suffix = len(Path(output).suffix)
    start = len(output) - suffix + 1 if suffix else 1
    return argument_error(option, output, message, (start, len(output) + 1), help)
