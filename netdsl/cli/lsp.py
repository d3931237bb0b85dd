"""`netdsl lsp`: the language server for editors, on standard input and output.

It needs the `lsp` extra (pygls); without it the command says how to install it.
"""

from __future__ import annotations

import argparse

from netdsl.cli.command import Command, Exit
from netdsl.errors import Diagnostic, NetdslError


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true",
                        help="talk over standard input and output (the default and only way; "
                             "accepted because editors pass it)")


def run(args: argparse.Namespace) -> int:
    try:
        from netdsl.lsp.server import serve
    except ImportError as exc:
        raise NetdslError(Diagnostic(
            f"the language server needs pygls, which is not installed ({exc.name})", None,
            "usage", help="pip install 'netdsl[lsp]'")) from None
    serve()
    return Exit.OK


COMMAND = Command("lsp", "the language server for editors (LSP over stdio)", arguments, run,
                  "Run the Language Server Protocol server on standard input and output: "
                  "diagnostics, hover figures, go to definition, symbols, completion, "
                  "formatting and inlay hints for .net files. Editors start it themselves; "
                  "see the README for VS Code, Neovim and Jupyter.")
