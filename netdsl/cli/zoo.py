"""`netdsl zoo`: the bundled models, each with its parameters, MACs and reference.

Every model is loaded and analysed (about five seconds for the whole zoo), so the figures are
the ones `netdsl stats NAME` prints; the reference is the citation that opens its spec.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

from netdsl.cli.command import Command, Exit
from netdsl.cli.output import Format, add_output_options, choose_format, write_output

LISTS = [Format("table", ".txt"), Format("markdown", ".md"), Format("json", ".json")]


@dataclass(frozen=True)
class Entry:
    """One bundled model as the listing shows it."""

    name: str
    params: int
    macs: int
    reference: str


def arguments(parser: argparse.ArgumentParser) -> None:
    add_output_options(parser, LISTS, required=False)


def run(args: argparse.Namespace) -> int:
    fmt = choose_format(LISTS, args.output, args.format)
    text = {"table": format_table, "markdown": format_markdown, "json": format_json}[fmt.name]
    write_output(args.output, text(entries()))
    return Exit.OK


def entries() -> list[Entry]:
    """Every bundled model, analysed, in name order."""
    from netdsl.bundled import citation, model_names, model_path
    from netdsl.network import load_file
    found = []
    for name in model_names():
        path = model_path(name)
        stats = load_file(path).stats()
        found.append(Entry(name, stats.params, stats.macs, citation(path)))
    return found


def format_table(models: list[Entry]) -> str:
    from netdsl.backends.table import human
    rows = [["model", "params", "MACs", "reference"]]
    rows += [[m.name, human(m.params), human(m.macs), m.reference] for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip()
             for r in rows]
    return "\n".join(lines) + "\n"


def format_markdown(models: list[Entry]) -> str:
    lines = ["| model | params | MACs | reference |", "| --- | ---: | ---: | --- |"]
    lines += [f"| `{m.name}` | {m.params:,} | {m.macs:,} | {m.reference.replace('|', '/')} |"
              for m in models]
    return "\n".join(lines) + "\n"


def format_json(models: list[Entry]) -> str:
    return json.dumps({"models": [asdict(m) for m in models]}, indent=1) + "\n"


COMMAND = Command("zoo", "list the bundled models: params, MACs, reference", arguments, run,
                  "List the models that ship with netdsl, each with its parameters, MACs and "
                  "the paper it follows. Any command that loads a spec takes a model by its "
                  "name (netdsl stats resnet50), as does netdsl.load(\"resnet50\"); a file of "
                  "the same name wins. Specs import the bundled block library with "
                  "import \"std/NAME\".")
