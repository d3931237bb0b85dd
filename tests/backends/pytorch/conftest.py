"""Fixtures for the PyTorch backend tests: generated model files imported as modules, and the
--update-goldens option (also NETDSL_UPDATE_GOLDENS=1) that rewrites golden files."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from netdsl.backends.pytorch.codegen import generate, network_class


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption("--update-goldens", action="store_true", default=False,
                         help="rewrite golden files from the current output")
    except ValueError:  # another conftest already added it
        pass


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    try:
        flag = request.config.getoption("--update-goldens")
    except ValueError:
        flag = False
    return bool(flag) or os.environ.get("NETDSL_UPDATE_GOLDENS") == "1"


def import_source(source: str, folder: Path, stem: str) -> ModuleType:
    """Write generated source to folder/stem.py and import it as a real module."""
    path = folder / f"{stem}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"generated_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def generated_model(network, folder: Path, stem: str):
    """An instance of the network class of the generated file for a loaded network."""
    source = generate(network)
    module = import_source(source, folder, stem)
    return getattr(module, network_class(source))()
