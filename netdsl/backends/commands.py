"""Command-line subcommands contributed by backends (compile, render, fmt). Each entry adds a
subparser; the modules behind them are imported only when the command runs."""

from __future__ import annotations

ALL: list = []


def _render(subparsers, common) -> None:
    from netdsl.backends.graphviz.command import add_render
    add_render(subparsers, common)


ALL.append(_render)


def _compile(subparsers, common) -> None:
    from netdsl.backends.pytorch.command import add_compile
    add_compile(subparsers, common)


ALL.append(_compile)


def _fmt(subparsers, common) -> None:
    from netdsl.syntax.fmt_command import add_fmt
    add_fmt(subparsers, common)


ALL.append(_fmt)
