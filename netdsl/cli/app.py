"""The `netdsl` program: the list of commands, argument parsing, and how errors end a run."""

from __future__ import annotations

import argparse
import gc
import sys
import traceback

from netdsl import __version__
from netdsl.cli import check, diff, fmt, import_, lsp, ops, render, report, stats, sweep, zoo
from netdsl.cli import compile as compile_  # the module, not the builtin
from netdsl.cli.command import Command, Exit
from netdsl.errors import NetdslError, render_all

COMMANDS: tuple[Command, ...] = (check.COMMAND, stats.COMMAND, compile_.COMMAND,
                                 render.COMMAND, report.COMMAND, diff.COMMAND, sweep.COMMAND,
                                 import_.COMMAND, fmt.COMMAND, ops.COMMAND, lsp.COMMAND,
                                 zoo.COMMAND)

EPILOG = f"""\
exit status:
  {Exit.OK}    success
  {Exit.INTERNAL}    an internal error: a bug in netdsl (rerun with --debug for the traceback)
  {Exit.USER}    a problem in a spec or the command line, reported with its location
  {Exit.WOULD_REFORMAT}    fmt --check / --diff: some file is not in canonical layout
  {Exit.INTERRUPTED}  interrupted (Ctrl-C)

'-' as a spec reads standard input; '-o -' writes standard output.
"""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="netdsl", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A declarative language and compiler for neural-network architectures.")
    top.add_argument("--version", action="version", version=f"netdsl {__version__}")
    top.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help,
                           description=command.description or command.help)
        command.arguments(p)
        # also after the command (`netdsl stats x.net --debug`); unset here, the top's value
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks of internal errors")
        p.set_defaults(run=command.run)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command line; return the exit status (see `Exit`)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else Exit.USER
    try:
        code = args.run(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        return code
    except NetdslError as exc:
        report(exc)
        return Exit.USER
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:  # `netdsl stats x.net | head`
        return Exit.OK
    except OSError as exc:  # the system's refusal (`> /dev/full`), not a bug of netdsl's
        sys.stdout = None  # type: ignore[assignment]  # nothing more is written there
        where = f"{exc.filename}: " if exc.filename else "the output: "
        print(f"netdsl: error: cannot write {where}{exc.strerror or exc}", file=sys.stderr)
        return Exit.USER
    except Exception as exc:  # noqa: BLE001 - the one place internal errors are caught
        if args.debug:
            traceback.print_exc()
        print(f"netdsl: internal error: {type(exc).__name__}: {exc}\n"
              f"this is a bug in netdsl; rerun with --debug for the traceback and report it",
              file=sys.stderr)
        return Exit.INTERNAL


def report(exc: NetdslError) -> None:
    """The diagnostics on stderr, as many as `render_all` shows, then how many there were."""
    sys.stderr.write(render_all(exc.diagnostics))


def run() -> None:
    """The console entry point: `main`, then exit without the collector's final walk over every
    object the command built (15-30 ms after a 3,000-layer network; the process ends anyway)."""
    code = main()
    gc.freeze()
    sys.exit(code)
