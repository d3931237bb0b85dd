"""`netdsl sweep FILE --set width=0.5,0.75,1.0 --set depth=1.0,1.2`: every combination of
the values, one row each (params, MACs, peak memory, output, failed `expect`s), as a table,
CSV or JSON; `--plot` draws params against MACs with the Pareto front."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import (
    STDIN,
    STDIN_NAME,
    add_loading_options,
    arguments_blamed,
    input_shapes,
    parse_setting,
    positive,
    read_stdin,
)
from netdsl.cli.output import Format, add_output_options, choose_format, write_output
from netdsl.errors import Diagnostic, NetdslError

TABLES = [Format("table", ".txt"), Format("csv", ".csv"), Format("json", ".json")]
PROGRESS_AFTER = 1.0  # seconds: a shorter sweep shows no progress bar
MAX_VARIANTS = 100_000


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, TABLES, required=False)
    parser.add_argument("--plot", metavar="OUT.html", default=None,
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
    """`--set name=v1,v2,...` as swept axes; a single value is a fixed parameter."""
    from netdsl.sweep import Axis
    swept: list[Axis] = []
    fixed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise _usage(f"--set needs name=value[,value...], got '{pair}'")
        texts = [v.strip() for v in split_values(text)]
        if not texts or any(not v for v in texts):
            raise _usage(f"--set {name} has an empty value: '{pair}'")
        values = tuple(parse_setting(f"{name}={v}")[1] for v in texts)  # bounded, located
        if any(a.name == name for a in swept) or name in fixed:
            raise _usage(f"--set {name} is given twice", "give its values once, separated "
                                                        "by commas")
        if len(values) == 1:
            fixed[name] = values[0]
        else:
            swept.append(Axis(name, values))
    return swept, fixed


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
        choose_format([Format("html", ".html")], args.plot, None)
        if args.output not in (None, "-") and os.path.realpath(args.output) == \
                os.path.realpath(args.plot):
            raise _usage(f"the table and the plot would both be written to {args.plot}",
                         "give --plot another file")
    swept, fixed = axes(args.set)
    count = len(combinations(swept)) if swept else 1
    if count > MAX_VARIANTS:
        raise _usage(f"{count:,} combinations: more than {MAX_VARIANTS:,}",
                     "sweep fewer values at once")
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
            print(f"netdsl: variant {_label(v.settings)}: {v.error}", file=sys.stderr)
    if all(v.error for v in variants):  # nothing to tabulate: no file is written or replaced
        return Exit.USER
    protect = program.files
    write_output(args.output, FORMATS[fmt.name](variants, names), protect=protect)
    if args.plot is not None:
        write_output(args.plot, _plot(variants, names, args.file), protect=protect)
    return Exit.OK


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


def _usage(message: str, help: str | None = None) -> NetdslError:
    return NetdslError(Diagnostic(message, None, "usage", help=help))


COMMAND = Command("sweep", "every combination of parameter values, one row each",
                  arguments, run,
                  "Load the spec once and elaborate it for every combination of the values "
                  "given with --set NAME=V1,V2,... (a single value fixes a parameter): one "
                  "row per variant with params, MACs, peak activation memory, output shape and "
                  "any `expect` that fails. --plot OUT.html draws params against MACs with "
                  "the Pareto front.")
