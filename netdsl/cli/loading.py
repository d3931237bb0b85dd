"""The options every command that loads a network accepts (check, stats, compile, render), and
loading a network with them: `--network`, `--set`, `--input`, `--max-nodes`, `--dtype`.

A spec named `-` is read from standard input and called `<stdin>` in diagnostics.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from netdsl.analysis.memory import DTYPE_BYTES
from netdsl.errors import Diagnostic, NetdslError
from netdsl.limits import MAX_NODES

STDIN = "-"
STDIN_NAME = "<stdin>"
DEFAULT_MAX_NODES = MAX_NODES  # netdsl.limits: one home for every bound


def add_loading_options(parser: argparse.ArgumentParser) -> None:
    """The shared options, in one group of `--help`."""
    group = parser.add_argument_group("loading options (every command that loads a network)")
    group.add_argument("--network", metavar="NAME",
                       help="which network of the file (default: its only one)")
    group.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="override a network parameter, e.g. --set classes=10 (repeatable)")
    group.add_argument("--input", action="append", default=[], metavar="[NAME=]CxHxW",
                       help="override an input's shape, e.g. --input 3x299x299 (repeatable)")
    group.add_argument("--max-nodes", type=_positive, default=DEFAULT_MAX_NODES, metavar="N",
                       help=f"refuse specs that expand past N layers "
                            f"(default {DEFAULT_MAX_NODES:,})")
    group.add_argument("--dtype", choices=list(DTYPE_BYTES), default="float32",
                       help="element type of byte counts: memory in stats, `expect ..._bytes` "
                            "in check (default float32)")


def load_network(args: argparse.Namespace, path: str) -> Any:
    """The network of spec `path` (`-`: standard input) under the shared options."""
    from netdsl.network import load_file, load_source
    options = {"max_nodes": args.max_nodes, "inputs": input_shapes(args.input),
               **overrides(args.set)}
    if path == STDIN:
        return load_source(read_stdin(), args.network, source_name=STDIN_NAME, **options)
    return load_file(path, args.network, **options)


def spec_files(network: Any) -> list[str]:
    """Every spec file the network was read from (the file and its imports): never outputs."""
    return [network.source_path, *network.program.modules]


def read_stdin() -> str:
    from netdsl.files import read_stream
    return read_stream(sys.stdin.buffer, STDIN_NAME)


def overrides(pairs: list[str]) -> dict[str, Any]:
    """`--set name=value` pairs as network parameters."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise _usage(f"--set needs name=value, got '{pair}'")
        out[name.strip()] = parse_value(value.strip())
    return out


def parse_value(text: str) -> Any:
    """A --set value: any expression of the language (10, 0.5, true, [1, 2]), else a string."""
    from netdsl.elaborate.builtins import builtin_env
    from netdsl.elaborate.values import Evaluator
    from netdsl.syntax import ast
    from netdsl.syntax.parser import parse
    try:
        module = parse(f"__value = {text}\n", "<--set>")
        item = module.items[0]
        assert isinstance(item, ast.Assign)
        return Evaluator().eval(item.value, builtin_env())
    except Exception:  # noqa: BLE001 - anything that is not an expression is a string
        return text


def input_shapes(pairs: list[str]) -> dict[str, tuple[int, ...]]:
    """`--input [name=]CxHxW` pairs as input shapes by name ('' for the only input)."""
    out = {}
    for pair in pairs:
        name, sep, dims = pair.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().replace(",", "x").split("x"))
        except ValueError:
            shape = ()
        if not shape or any(d <= 0 for d in shape):
            raise _usage(f"--input needs [name=]CxHxW, got '{pair}'")
        out[name if sep else ""] = shape
    return out


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got '{text}'")
    return value


def _usage(message: str) -> NetdslError:
    return NetdslError(Diagnostic(message, None, "usage"))
