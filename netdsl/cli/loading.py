"""The options every command that loads a network accepts (check, stats, compile, render), and
loading a network with them: `--network`, `--set`, `--input`, `--max-nodes`, `--max-steps`,
`--include`, `--dtype`.

A spec named `-` is read from standard input and called `<stdin>` in diagnostics. A `--set`
value is an expression of the language, evaluated under its own work budget; a problem in it is
reported against the `--set` argument itself (shown as the file `--set`), never swallowed; so
is a `--set` or `--input` that names a parameter or input the network does not have.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from netdsl.analysis.memory import DTYPE_BYTES
from netdsl.cli.command import argument_error
from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span, SpecError
from netdsl.limits import MAX_NODES, MAX_STEPS, NODES_OPTION, STEPS_OPTION
from netdsl.notation import described

STDIN = "-"
STDIN_NAME = "<stdin>"
DEFAULT_MAX_NODES = MAX_NODES  # netdsl.limits: one home for every bound
PATH_VARIABLE = "NETDSL_PATH"  # include folders, separated by os.pathsep, after --include's
SET_SOURCE = "--set"  # the names a --set or --input argument goes by in diagnostics
INPUT_SOURCE = "--input"


def add_loading_options(parser: argparse.ArgumentParser) -> None:
    """The shared options, in one group of `--help`."""
    group = parser.add_argument_group("loading options (every command that loads a network)")
    group.add_argument("--network", metavar="NAME",
                       help="which network of the file (default: its only one)")
    group.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="override a network parameter, e.g. --set classes=10 (repeatable)")
    group.add_argument("--input", action="append", default=[], metavar="[NAME=]CxHxW",
                       help="override an input's shape, e.g. --input 3x299x299 (repeatable)")
    group.add_argument(NODES_OPTION, type=positive, default=DEFAULT_MAX_NODES, metavar="N",
                       help=f"refuse specs that expand past N layers "
                            f"(default {DEFAULT_MAX_NODES:,})")
    group.add_argument(STEPS_OPTION, type=positive, default=MAX_STEPS, metavar="N",
                       help=f"refuse specs whose evaluation takes more than N steps: loop passes, "
                            f"calls, list items... (default {MAX_STEPS:,})")
    group.add_argument("--include", action="append", default=[], metavar="DIR",
                       help=f"another folder imports may read and are looked for in, after the "
                            f"importing file's (repeatable; then the folders of ${PATH_VARIABLE})")
    group.add_argument("--dtype", choices=list(DTYPE_BYTES), default="float32",
                       help="element type of byte counts: memory in stats, `expect ..._bytes` "
                            "in check (default float32)")


def stdin_once(paths: list[str], verb: str) -> None:
    """Standard input read for two specs would give the second nothing: an error."""
    if paths.count(STDIN) > 1:
        raise NetdslError(Diagnostic(f"standard input ('-') can be {verb} only once",
                                     Span.file(STDIN_NAME), "usage"))


def load_network(args: argparse.Namespace, path: str, text: str | None = None) -> Any:
    """The network of spec `path` (`-`: standard input, or `text` when it has been read
    already) under the shared options."""
    from netdsl.network import load_file, load_source
    options = {"max_nodes": args.max_nodes, "max_steps": args.max_steps,
               "include": include_path(args.include), "inputs": input_shapes(args.input),
               **overrides(args.set, args.max_steps)}
    with arguments_blamed(args):
        if path == STDIN:
            text = read_stdin() if text is None else text
            return load_source(text, args.network, source_name=STDIN_NAME, **options)
        return load_file(path, args.network, **options)


@contextmanager
def arguments_blamed(args: argparse.Namespace) -> Iterator[None]:
    """Errors raised inside, with those about a name the caller passed located at its
    argument (see `at_argument`)."""
    try:
        yield
    except NetdslError as exc:
        exc.diagnostics = [at_argument(d, args) for d in exc.diagnostics]
        raise


def at_argument(diag: Diagnostic, args: argparse.Namespace) -> Diagnostic:
    """A diagnostic that blames a name the caller passed (a parameter the network does not
    take, an input it does not have), moved from the network's line to the `--set` or
    `--input` argument that gave the name, as the other errors in those arguments are. Each
    argument of the option is a line of its own (`--input:2:1` is the second --input)."""
    if diag.argument is None:
        return diag
    option, texts, name_of = ((SET_SOURCE, args.set, _set_name) if diag.argument.kind ==
                              "parameter" else (INPUT_SOURCE, args.input, _input_name))
    lines = [1]  # the line each argument starts on (a --set value may hold a newline)
    for text in texts:
        lines.append(lines[-1] + text.count("\n") + 1)
    named = [i for i, text in enumerate(texts) if name_of(text) == diag.argument.name]
    if not named:
        return diag
    index = named[-1]  # the last one given is the one that counts
    text, name = texts[index], diag.argument.name
    col = text.find(name) + 1 if name else 1
    SOURCES.add(option, "\n".join(texts))
    help_ = diag.help
    if diag.argument.quote:
        value = text.partition("=")[2].strip()
        help_ = f"to pass it as text, quote it: --set {name}='\"{value}\"'"
    return Diagnostic(diag.message, Span(option, lines[index], col, lines[index],
                                         col + max(len(name), 1)),
                      "usage", help=help_)


def _set_name(text: str) -> str:
    return text.partition("=")[0].strip()


def _input_name(text: str) -> str:
    return text.rpartition("=")[0]


def spec_files(network: Any) -> list[str]:
    """Every spec file the network was read from (the file and its imports): never outputs."""
    return list(network.files)


def include_path(folders: list[str]) -> list[str]:
    """The include folders: `--include`'s in order, then those of NETDSL_PATH. An `--include`
    that is no folder is an error (imports would silently never be found there)."""
    for folder in folders:
        if not os.path.isdir(folder):
            what = "no such folder" if not os.path.exists(folder) else "not a folder"
            raise argument_error("--include", folder, f"--include {folder}: {what}",
                                 help="--include DIR names a folder imports are looked for in")
    from_env = os.environ.get(PATH_VARIABLE, "").split(os.pathsep)
    return [*folders, *(folder for folder in from_env if folder)]


def read_stdin() -> str:
    from netdsl.files import read_stream
    return read_stream(sys.stdin.buffer, STDIN_NAME)


def overrides(pairs: list[str], max_steps: int = MAX_STEPS) -> dict[str, Any]:
    """`--set name=value` pairs as network parameters."""
    out = {}
    for pair in pairs:
        name, value = parse_setting(pair, max_steps)
        if name in out:  # as sweep refuses it: which value was meant?
            raise _setting_error(pair, f"--set {name} is given twice", (1, len(name) + 1))
        out[name] = value
    return out


def parse_setting(pair: str, max_steps: int = MAX_STEPS) -> tuple[str, Any]:
    """One `--set name=value`: the name and the value of the expression after `=`. A bare word
    that names nothing is a string (`--set mode=fast`); anything else that is not one
    expression is a located error in the argument, shown as the file `--set`."""
    from netdsl.elaborate.budget import Budget
    from netdsl.elaborate.builtins import builtin_env
    from netdsl.elaborate.values import Evaluator, language_value
    from netdsl.syntax import ast
    from netdsl.syntax.parser import parse
    name, sep, _ = pair.partition("=")
    if not sep or not name.strip().isidentifier():
        raise _setting_error(pair, f"--set needs name=value, got '{pair}'",
                             (1, max(len(name), 1) + 1))
    SOURCES.add(SET_SOURCE, pair)  # errors in the value quote it
    budget = Budget(max_steps)
    module = parse(pair, SET_SOURCE, budget.tokens())
    items = module.items
    if len(items) != 1 or not isinstance(items[0], ast.Assign):
        span = items[1].span if len(items) > 1 else Span(SET_SOURCE, 1, 1, 1, 2)
        raise _setting_error(pair, "--set takes one name=value and nothing after it",
                             (span.col, span.end_col if span.end_line == span.line else 0))
    item = items[0]
    try:
        value = Evaluator(budget=budget).eval(item.value, builtin_env())
    except SpecError as exc:
        if isinstance(item.value, ast.Name) and exc.code == "name":
            return item.name, item.value.id  # a bare word: a string
        raise NetdslError(Diagnostic(exc.message, exc.span or Span.file(SET_SOURCE), exc.code,
                                     help=exc.help)) from None
    try:
        return item.name, language_value(value)
    except SpecError:  # a builtin named, `--set c=len`: not something a parameter can hold
        word = item.value.id if isinstance(item.value, ast.Name) else None
        raise NetdslError(Diagnostic(
            f"--set {item.name} must be a number, bool, string or list, not {described(value)}",
            item.value.span, "type",
            help=word and f"to pass the word, quote it: --set {item.name}='\"{word}\"'")) \
            from None


def _setting_error(pair: str, message: str, columns: tuple[int, int]) -> NetdslError:
    return argument_error(SET_SOURCE, pair, message, columns,
                          help="--set NAME=VALUE, VALUE an expression: --set classes=10, "
                               "--set widths=[64, 128], --set aux=true")


def input_shapes(pairs: list[str]) -> dict[str, tuple[int, ...]]:
    """`--input [name=]CxHxW` pairs as input shapes by name ('' for the only input)."""
    out = {}
    for pair in pairs:
        name, sep, dims = pair.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split(_separator(dims)))
        except ValueError:
            shape = ()
        if not shape or any(d <= 0 for d in shape):
            raise argument_error(
                INPUT_SOURCE, pair, f"--input needs [name=]CxHxW, got '{pair}'",
                (len(name) + len(sep) + 1, len(pair) + 1),
                help="whole numbers >= 1 separated by x: --input 3x224x224, --input x=3x32x32")
        out[name if sep else ""] = shape
    return out


def _separator(dims: str) -> str:
    """Sizes are separated by x (3x224x224), or by commas when there is no x (3,224,224): never
    both, so that two shapes in one argument (3x8x8,3x8x8) are no shape of six sizes."""
    return "," if "," in dims and "x" not in dims.lower() else "x"


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got '{text}'")
    return value
