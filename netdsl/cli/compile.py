"""`netdsl compile FILE -o OUT`: PyTorch source (.py) or a saved model (.pt, .pt2, .onnx)."""

from __future__ import annotations

import argparse

from netdsl.backends.pytorch.export import SUFFIXES
from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, write_output

SOURCE = Format("py", ".py")
MODELS = [SOURCE, *(Format(name, suffix, binary=True) for name, suffix in SUFFIXES.items())]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, MODELS)
    add_loading_options(parser)


def run(args: argparse.Namespace) -> int:
    fmt = choose_format(MODELS, args.output, args.format)
    network = load_network(args, args.file)
    if fmt is SOURCE:
        from netdsl.backends.pytorch.codegen import generate
        data: str | bytes = generate(network)
    else:
        from netdsl.backends.pytorch import build
        from netdsl.backends.pytorch.export import to_bytes
        data = to_bytes(build(network), network, fmt.name)
    write_output(args.output, data, protect=spec_files(network))
    return Exit.OK


COMMAND = Command("compile", "lower a spec to PyTorch source or a saved model", arguments, run,
                  "Write the network as readable standalone PyTorch source (py: imports only "
                  "torch), a traced TorchScript module (torchscript), a torch.export program "
                  "(exported) or an ONNX model (onnx).")
