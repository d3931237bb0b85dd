"""`netdsl compile FILE -o OUT`: PyTorch source (.py) or a saved model (.pt, .pt2, .onnx)."""

from __future__ import annotations

import argparse

from netdsl.backends.pytorch.export import SUFFIXES
from netdsl.cli.command import Command, Exit
from netdsl.cli.loading import add_loading_options, load_network, positive, spec_files
from netdsl.cli.output import Format, add_output_options, choose_format, write_output
from netdsl.limits import BYTES_OPTION, MAX_BYTES

SOURCE = Format("py", ".py")
MODELS = [SOURCE, *(Format(name, suffix, binary=True) for name, suffix in SUFFIXES.items())]


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="spec file ('-': stdin)")
    add_output_options(parser, MODELS)
    add_loading_options(parser)
    parser.add_argument(BYTES_OPTION, type=positive, default=MAX_BYTES, metavar="N",
                        help=f"refuse to build a model whose weights (and, to export, its run on "
                             f"an example input) take more than N bytes "
                             f"(default {MAX_BYTES:,})")


def run(args: argparse.Namespace) -> int:
    fmt = choose_format(MODELS, args.output, args.format)
    network = load_network(args, args.file)
    if fmt is SOURCE:
        from netdsl.backends.pytorch.codegen import generate
        data: str | bytes = generate(network)
    else:
        from netdsl.backends.pytorch import build
        from netdsl.backends.pytorch.export import to_bytes
        data = to_bytes(build(network, max_bytes=args.max_bytes), network, fmt.name,
                        args.max_bytes)
    write_output(args.output, data, protect=spec_files(network))
    return Exit.OK


COMMAND = Command("compile", "lower a spec to PyTorch source or a saved model", arguments, run,
                  "Write the network as readable standalone PyTorch source (py: imports only "
                  "torch), a traced TorchScript module (torchscript), a torch.export program "
                  "(exported) or an ONNX model (onnx).")
