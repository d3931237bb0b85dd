"""`netdsl import MODULE:FACTORY -o model.net`: the spec of a PyTorch model.

MODULE is a Python module (`torchvision.models`) or a file (`path/to/net.py`); FACTORY is a class
or function in it that returns an `nn.Module`. `--args` are its arguments, each a Python literal
(`10`, `0.5`, `False`, `"x"`) or `name=literal`; a bare word is a string. Importing runs the
model's own Python code: that is what the command is for (a spec never runs code).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

from netdsl.backends.table import human_bytes
from netdsl.cli.command import Command, Exit, argument_error
from netdsl.cli.output import Format, add_output_options, choose_format, write_output
from netdsl.errors import Diagnostic, NetdslError
from netdsl.limits import MAX_BYTES

SPEC = Format("net", ".net")
DEFAULT_INPUT = "3x224x224"
EXAMPLE_BYTES = 4  # float32, torch.randn's


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODULE:FACTORY",
                        help="where the model comes from: torchvision.models:resnet50, "
                             "path/to/file.py:MyNet")
    parser.add_argument("--args", nargs="*", default=[], metavar="ARG",
                        help="arguments of FACTORY: Python literals, or name=literal "
                             "(--args num_classes=10)")
    parser.add_argument("--input", action="append", type=input_shape, metavar="CxHxW",
                        help=f"the shape of one example input without the batch axis "
                             f"(default {DEFAULT_INPUT}); repeat for a model with several")
    parser.add_argument("--name", default=None, help="the network's name (default: FACTORY)")
    add_output_options(parser, [SPEC], required=False)


def run(args: argparse.Namespace) -> int:
    choose_format([SPEC], args.output, args.format)
    _check_name(args.name)
    shapes = args.input or [input_shape(DEFAULT_INPUT)]
    _check_example(shapes)
    factory = load_factory(args.model)
    positional, keywords = factory_arguments(args.args)
    import torch

    from netdsl.backends.pytorch.bounds import allocating
    from netdsl.backends.pytorch.importer import from_torch
    model = _call(factory, args.model, positional, keywords)
    torch.manual_seed(0)
    with allocating("for the example input"):
        example = tuple(torch.randn(1, *shape) for shape in shapes)
    name = args.name or _name(args.model, positional)
    try:
        text = from_torch(model, example, name=name, origin=args.model)
    except SystemExit as exc:  # the model's forward ending the process
        raise _usage(f"running '{args.model}' failed: SystemExit: {exc}", None) from None
    write_output(args.output, text)
    return Exit.OK


def _check_name(name: str | None) -> None:
    """`--name`, refused before any model code runs (an operator's name was refused only by
    the check of the written spec, as a misreading of the model)."""
    from netdsl.backends.pytorch.importer.entry import NAME_HELP, name_problem
    problem = name_problem(name) if name is not None else None
    if problem:
        raise argument_error("--name", name, problem, help=NAME_HELP)


def _check_example(shapes: list[tuple[int, ...]]) -> None:
    """The example inputs, as the batch of two samples the importer runs the model on, within
    the memory a built model may take (`netdsl.limits.MAX_BYTES`): 3x99999x99999 was torch's
    allocator failing."""
    for shape in shapes:
        size = 2 * math.prod(shape) * EXAMPLE_BYTES
        if size > MAX_BYTES:
            text = "x".join(map(str, shape))
            raise argument_error(
                "--input", text, f"an example input of {text} takes {human_bytes(size)} as the "
                f"batch of two samples the model is run on, more than the bound of "
                f"{MAX_BYTES:,} bytes", help="give the input size the model is meant for")


def input_shape(text: str) -> tuple[int, ...]:
    """`3x224x224` -> (3, 224, 224)."""
    try:
        shape = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"expected sizes joined by 'x' (3x224x224), got "
                                         f"'{text}'")
    return shape


def factory_arguments(items: list[str]) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments written on the command line."""
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if eq and key.isidentifier():
            keywords[key] = _literal(value)
        elif keywords:
            raise _usage(f"positional argument '{item}' after keyword arguments",
                         "write the positional arguments first")
        else:
            positional.append(_literal(item))
    return positional, keywords


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def load_factory(target: str) -> Any:
    """The object `MODULE:FACTORY` names, importing MODULE (a dotted name or a .py file)."""
    module_name, colon, attr = target.rpartition(":")
    if not colon or not module_name or not attr:
        raise _usage(f"expected MODULE:FACTORY, got '{target}'",
                     "for example torchvision.models:resnet50 or path/to/file.py:MyNet")
    module = _module(module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise _usage(f"'{module_name}' has no '{attr}'",
                         "name a class or function of the module that returns an nn.Module")
        obj = getattr(obj, part)
    if not callable(obj):
        raise _usage(f"'{target}' is not callable", "name a class or a function")
    return obj


def _module(name: str) -> Any:
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise _usage(f"no such file: '{name}'", None)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise _usage(f"cannot load '{name}' as Python", None)
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(path.stem, module)
        sys.path.insert(0, str(path.resolve().parent))  # its own sibling imports
        _run_user_code(lambda: spec.loader.exec_module(module), f"loading '{name}'")
        return module
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise _usage(f"no Python module named '{exc.name or name}'",
                     "install it, or give a file path ending in .py") from None


def _call(factory: Any, target: str, positional: list[Any], keywords: dict[str, Any]) -> Any:
    from torch import nn
    model = _run_user_code(lambda: factory(*positional, **keywords), f"calling '{target}'")
    if not isinstance(model, nn.Module):
        raise _usage(f"'{target}' returned {type(model).__name__}, not a torch.nn.Module",
                     "name a class or function that builds the model")
    return model


def _run_user_code(action: Any, what: str) -> Any:
    """Run the model's own code; whatever it raises is a problem of the input, reported:
    `sys.exit(3)` too (it ended netdsl silently, with the model's status)."""
    try:
        return action()
    except NetdslError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's code may raise anything
        raise _usage(f"{what} failed: {type(exc).__name__}: {exc}",
                     "check the factory's arguments (--args)") from None


def _name(target: str, positional: list[Any]) -> str:
    """FACTORY's name, or the model's name it is given (`timm:create_model dla34`)."""
    from netdsl.backends.pytorch.importer.spec import network_name
    if positional and isinstance(positional[0], str) and positional[0].isidentifier():
        return network_name(positional[0])
    return network_name(target.rpartition(":")[2].rpartition(".")[2])


def _usage(message: str, help: str | None) -> NetdslError:
    return NetdslError(Diagnostic(message, None, "usage", help=help))


COMMAND = Command("import", "write the spec of a PyTorch model", arguments, run,
                  "Trace a PyTorch model with torch.fx and write a spec of it: module classes "
                  "used more than once become blocks, runs of equal blocks repeats, module "
                  "names are kept (its state_dict loads into `netdsl build` of the spec), and "
                  "`expect` lines hold its parameter, buffer and MAC counts. Runs the model's "
                  "own Python code.")
