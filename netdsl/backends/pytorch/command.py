"""`netdsl compile FILE -o OUT [--format py|torchscript|exported|onnx]`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

FORMATS = ("py", "torchscript", "exported", "onnx")


def add_compile(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = subparsers.add_parser("compile", help="lower a spec to PyTorch source or a saved model")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="file to write (model.py, model.pt, model.pt2, model.onnx)")
    p.add_argument("--format", choices=FORMATS, default="py",
                   help="py: readable standalone source (default); torchscript; exported "
                        "(torch.export .pt2); onnx")
    common(p)
    p.set_defaults(run=run_compile)


def run_compile(args: argparse.Namespace) -> int:
    from cli import _overrides
    from netdsl.files import write_atomic
    from netdsl.network import load_file
    net = load_file(args.file, args.network, max_nodes=args.max_nodes, **_overrides(args.set))
    if args.format == "py":
        from netdsl.backends.pytorch.codegen import generate
        data: str | bytes = generate(net)
    else:
        from netdsl.backends.pytorch import build
        from netdsl.backends.pytorch.export import to_bytes
        data = to_bytes(build(net), net, args.format)
    write_atomic(args.output, data, protect=_sources(net))
    return 0


def _sources(net: Any) -> list[str]:
    """Every spec file the network was read from (the file and its imports)."""
    return [net.source_path, *net.program.modules]
