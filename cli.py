"""The `netdsl` command line: check, stats, compile, render, fmt, ops.

Exit codes: 0 success, 2 an error in the user's input (located diagnostics on stderr), 1 an
internal error (a short "this is a bug" line; the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from collections.abc import Callable
from typing import Any

from netdsl.errors import Diagnostic, NetdslError, render

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


def _parse_value(text: str) -> Any:
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


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise NetdslError(Diagnostic(f"--set needs name=value, got '{pair}'", None, "usage"))
        out[name.strip()] = _parse_value(value.strip())
    return out


def _inputs(pairs: list[str]) -> dict[str, tuple[int, ...]]:
    out = {}
    for pair in pairs or []:
        name, sep, dims = pair.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().replace(",", "x").split("x"))
        except ValueError:
            shape = ()
        if not shape or any(d <= 0 for d in shape):
            raise NetdslError(Diagnostic(f"--input needs [name=]CxHxW, got '{pair}'", None,
                                         "usage"))
        out[name if sep else ""] = shape
    return out


def _load(args: argparse.Namespace, path: str | None = None) -> Any:
    from netdsl.network import load_file
    return load_file(path or args.file, args.network, max_nodes=args.max_nodes,
                     inputs=_inputs(getattr(args, "input", None)), **_overrides(args.set))


def cmd_check(args: argparse.Namespace) -> int:
    failures: list[Diagnostic] = []
    for path in args.files:
        try:
            failures += _load(args, path).check()
        except NetdslError as exc:
            failures += exc.diagnostics
    if failures:
        raise NetdslError(failures)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from netdsl.backends.table import FORMATS
    from netdsl.gc_pause import paused_gc
    net = _load(args)
    with paused_gc():  # thousands of row dicts and lists, none of them garbage yet
        text = FORMATS[args.format](net.stats(args.dtype), args.depth)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_ops(args: argparse.Namespace) -> int:
    from netdsl.ops import REGISTRY
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{cls.signature()}\n    {doc}")
    return EXIT_OK


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", help="which network of the file (default: its only one)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="override a network parameter (repeatable)")
    p.add_argument("--max-nodes", type=int, default=1_000_000, metavar="N",
                   help="refuse specs that expand past N layers (default 1,000,000)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="netdsl", description=__doc__.splitlines()[0])
    top.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="validate specs and their `expect` figures")
    p.add_argument("files", nargs="+", metavar="FILE")
    _common(p)
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("stats", help="shapes, params, MACs, memory, receptive fields")
    p.add_argument("file", metavar="FILE")
    _common(p)
    p.add_argument("--input", action="append", metavar="[NAME=]CxHxW",
                   help="override an input's shape, e.g. --input 3x299x299")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="show blocks nested deeper than N collapsed into their subtotals")
    p.add_argument("--format", choices=["table", "json", "csv", "markdown"], default="table")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16", "float64", "int8"],
                   default="float32", help="element type for byte counts")
    p.set_defaults(run=cmd_stats)

    p = sub.add_parser("ops", help="list the operators and their signatures")
    p.set_defaults(run=cmd_ops)

    for extra in _EXTRA_COMMANDS:
        extra(sub, _common)
    return top


# Commands contributed by backends register here: each adds its own subparser.
_EXTRA_COMMANDS: list[Callable[[Any, Callable[[argparse.ArgumentParser], None]], None]] = []


def _register_backends() -> None:
    from netdsl.backends import commands
    _EXTRA_COMMANDS.extend(c for c in commands.ALL if c not in _EXTRA_COMMANDS)  # main() re-entrant


def main(argv: list[str] | None = None) -> int:
    _register_backends()
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except NetdslError as exc:
        for diag in exc.diagnostics:
            print(render(diag), file=sys.stderr)
        n = len(exc.diagnostics)
        if n > 1:
            print(f"{n} errors", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
        if args.debug:
            traceback.print_exc()
        print(f"netdsl: internal error: {type(exc).__name__}: {exc}\n"
              f"this is a bug in netdsl; rerun with --debug for the traceback and report it",
              file=sys.stderr)
        return EXIT_INTERNAL


def run() -> None:
    """The console entry point: `main`, then exit without the collector's final walk over every
    object the command built (15-30 ms after a 3,000-layer network; the process ends anyway)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
