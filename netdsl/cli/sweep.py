"""`netdsl sweep FILE --set width=0.5,0.75,1.0 --set depth=1.0,1.2`: every combination of
the values, one row each (params, MACs, peak memory, output, failed `expect`s), as a table,
CSV or JSON; `--plot` draws params against MACs with the Pareto front."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from typing import Any

from netdsl.cli.command import Command, Exit, argument_error
from netdsl.cli.loading import (
    SET_SOURCE,
    STDIN,
    STDIN_NAME,
    add_loading_options,
    arguments_blamed,
    input_shapes,
    parse_setting,
    positive,
    read_stdin,
)
from netdsl.cli.output import STDOUT, Format, add_output_options, choose_format, write_output
from netdsl.errors import SOURCES, Diagnostic, NetdslError, Span

TABLES = [Format("table", ".txt"), Format("csv", ".csv"), Format("json", ".json")]
PLOT = Format("html", ".html")
PLOT_OPTION = "--plot"
PROGRESS_AFTER = 1.0  # seconds: a shorter sweep shows no progress bar
MAX_VARIANTS = 100_000


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, TABLES, required=False)
    parser.add_argument(PLOT_OPTION, metavar="OUT.html", default=None,
                        help="also write params against MACs, with the Pareto front, as a "
                             "self-contained HTML page (needs plotly)")
    parser.add_argument("--jobs", type=positive, default=None, metavar="N",
                        help="processes (default: one per core); the others start only "
                             "when the first variants show that the rest would take more "
                             "than 0.1 s in one process (netdsl.sweep.WORKERS_AFTER)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="never show the progress bar (shown on a terminal when the sweep "
                             "takes more than a second)")
    add_loading_options(parser)


def axes(pairs: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """`--set name=v1,v2,...` as swept axes; a single value is a fixed parameter. A problem is
    located in its argument, as `parse_setting` locates one in a single value."""
    from netdsl.sweep import Axis
    swept: list[Axis] = []
    fixed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise _setting_error(pair, f"--set needs name=value[,value...], got '{pair}'",
                                 (1, max(len(name), 1) + 1))
        start = len(name) + 1  # where the values begin in `pair`
        name = name.strip()
        values = []
        for value, offset in _values(text):
            if not value.strip():
                raise _setting_error(pair, f"--set {name} has an empty value: '{pair}'",
                                     (start + offset + 1, start + offset + len(value) + 1),
                                     help="values are separated by single commas: "
                                          "--set width=0.5,1.0")
            values.append(_value(name, value, pair, start + offset))
        if any(a.name == name for a in swept) or name in fixed:
            raise _setting_error(pair, f"--set {name} is given twice",
                                 (pair.index(name) + 1, pair.index(name) + len(name) + 1),
                                 help="give its values once, separated by commas")
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            swept.append(Axis(name, tuple(values)))
    return swept, fixed


def _values(text: str) -> list[tuple[str, int]]:
    """The values of one --set and where each starts in `text`."""
    out, at = [], 0
    for value in split_values(text):
        out.append((value, at))
        at += len(value) + 1
    return out


def _value(name: str, value: str, pair: str, offset: int) -> Any:
    """One value, evaluated as `--set name=value` is (bounded); a problem in it located in
    the whole argument `pair`, where the value starts at `offset`."""
    try:
        return parse_setting(f"{name}={value}")[1]
    except NetdslError as exc:
        shift = offset - len(name) - 1
        SOURCES.add(SET_SOURCE, pair)
        exc.diagnostics = [_shifted(d, shift) for d in exc.diagnostics]
        raise


def _shifted(diag: Diagnostic, columns: int) -> Diagnostic:
    span = diag.span
    if span is None or span.path != SET_SOURCE or span.line != 1 or span.end_line != 1:
        return diag
    return replace(diag, span=replace(span, col=span.col + columns,
                                      end_col=span.end_col + columns))


def _setting_error(pair: str, message: str, columns: tuple[int, int],
                   help: str = "--set NAME=V1,V2,...: --set width=0.5,0.75,1.0") -> NetdslError:
    return argument_error(SET_SOURCE, pair, message, columns, help=help)


def split_values(text: str) -> list[str]:
    """Split at the commas outside brackets and quotes: `1,[2,3],4` is three values."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def run(args: argparse.Namespace) -> int:
    from netdsl.backends.sweep_table import FORMATS
    from netdsl.elaborate import check_parameters, load_program, read_source
    from netdsl.network import _existing
    from netdsl.sweep import combinations, sweep
    fmt = choose_format(TABLES, args.output, args.format)
    if args.plot is not None:
        _check_plot(args.plot, args.output)
    swept, fixed = axes(args.set)
    count = len(combinations(swept)) if swept else 1
    if count > MAX_VARIANTS:
        raise NetdslError(Diagnostic(f"{count:,} combinations: more than {MAX_VARIANTS:,}",
                                     Span.file(SET_SOURCE), "limit",
                                     help="sweep fewer values at once"))
    if args.file == STDIN:
        program = load_program(read_stdin(), STDIN_NAME)
    else:
        program = load_program(read_source(_existing(args.file)), args.file)
    inputs = input_shapes(args.input)
    with arguments_blamed(args):  # a name the network does not take fails every variant
        check_parameters(program, args.network, [a.name for a in swept] + list(fixed),
                         list(inputs))
    variants = list(_progress(sweep(program, swept, args.network, fixed, args.dtype,
                                    args.max_nodes, inputs,
                                    args.jobs or os.cpu_count() or 1),
                              count, args.progress))
    names = [a.name for a in swept]
    for v in variants:
        if v.error:
            print(f"{v.where or _shown(args.file)}: error: variant {_label(v.settings)}: "
                  f"{v.error}  [{v.code}]", file=sys.stderr)
    if all(v.error for v in variants):  # nothing to tabulate: no file is written or replaced
        return Exit.USER
    protect = program.files
    write_output(args.output, FORMATS[fmt.name](variants, names), protect=protect)
    if args.plot is not None:
        write_output(args.plot, _plot(variants, names, args.file), protect=protect)
    return Exit.OK


def _check_plot(plot: str, table: str) -> None:
    """`--plot OUT.html`: an HTML name, and not where the table goes (standard output
    included), located at the argument."""
    choose_format([PLOT], plot, None, option=PLOT_OPTION)
    both = plot == table == STDOUT or STDOUT not in (plot, table) and \
        os.path.realpath(plot) == os.path.realpath(table)
    if both:
        where = "standard output" if plot == STDOUT else plot
        raise argument_error(PLOT_OPTION, plot,
                             f"the table and the plot would both be written to {where}",
                             help="give --plot another file, or the table one with -o")


def _progress(variants: Any, total: int, enabled: bool) -> Any:
    """The variants, with a progress bar on stderr once the sweep has taken a second."""
    if not enabled or not sys.stderr.isatty():
        yield from variants
        return
    start = time.perf_counter()
    bar = None
    try:
        for done, variant in enumerate(variants, 1):
            yield variant
            if bar is None and time.perf_counter() - start > PROGRESS_AFTER:
                from tqdm import tqdm
                bar = tqdm(total=total, initial=done, unit="variant", file=sys.stderr,
                           leave=False)
            elif bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _shown(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _label(settings: dict[str, Any]) -> str:
    from netdsl.notation import value_text
    return ", ".join(f"{k}={value_text(v)}" for k, v in settings.items()) or "(defaults)"


def _plot(variants: list[Any], names: list[str], path: str) -> str:
    from html import escape

    from netdsl.backends.html.charts import figure_json, plotly_js, sweep_figure
    done = [v for v in variants if not v.error]
    figure = sweep_figure([{"params": v.params, "macs": v.macs, "failed": v.failed}
                           for v in done], [_label(v.settings) for v in done])
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(path)}: netdsl sweep</title></head><body>"
            '<div id="sweep" style="height:90vh"></div>'
            f"<script>{plotly_js()}</script><script>const figure = {figure_json(figure)};\n"
            "Plotly.newPlot('sweep', figure.data, figure.layout, "
            "{responsive: true, displaylogo: false});</script></body></html>\n")


COMMAND = Command("sweep", "every combination of parameter values, one row each",
                  arguments, run,
                  "Load the spec once and elaborate it for every combination of the values "
                  "given with --set NAME=V1,V2,... (a single value fixes a parameter): one "
                  "row per variant with params, MACs, peak activation memory, output shape and "
                  "any `expect` that fails. --plot OUT.html draws params against MACs with "
                  "the Pareto front.")
