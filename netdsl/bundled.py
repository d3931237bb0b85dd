"""The specs that ship with netdsl: the zoo (one network per file) and its block library, where
they are, and models by name.

In a source checkout they are the repository's `specs/` and `specs/lib/`; in an installed wheel
the same files are package data, `netdsl/zoo/` and `netdsl/zoo/lib/` (setup.py maps the one
onto the other at build time). This module is the one place that knows which.

A spec imports the library by a name that does not depend on where netdsl is installed:
`import "std/resnet"` (see `netdsl.elaborate.imports`). A command or `netdsl.load` takes a zoo
model by its name (`resnet50`) when no file of that name exists.
"""

from __future__ import annotations

import re
from pathlib import Path

SUFFIX = ".net"
STD_PREFIX = "std/"  # imports of the bundled block library: `import "std/resnet"`

_HERE = Path(__file__).resolve().parent
_INSTALLED = _HERE / "zoo"  # a wheel: specs/ carried as package data
_CHECKOUT = _HERE.parent / "specs"  # a source tree (or an editable install of one)
ZOO = _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT
LIBRARY = ZOO / "lib"


def model_names() -> list[str]:
    """Every bundled model's name (its file's stem), sorted."""
    return sorted(path.stem for path in ZOO.glob(f"*{SUFFIX}"))


def model_path(name: str) -> Path | None:
    """The spec of the bundled model `name` (`resnet50` or `resnet50.net`), if there is one."""
    stem = name[:-len(SUFFIX)] if name.endswith(SUFFIX) else name
    if not stem or not re.fullmatch(r"[A-Za-z0-9_]+", stem):
        return None
    path = ZOO / f"{stem}{SUFFIX}"
    try:
        return path if path.is_file() else None
    except OSError:  # a name too long for the folder's file system: no model has it
        return None


def citation(path: Path) -> str:
    """A spec's reference: its header comment's first line, carried on until a quoted title
    closes (`ResNet-18 (He et al. 2015, "Deep Residual Learning for Image Recognition")`)."""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("# ").rstrip())
    text = header[0] if header else ""
    quoted = re.match(r'[^"]*"[^"]*"', " ".join(header)) if '"' in text else None
    if quoted:
        text = quoted.group(0)
        text += ")" * (text.count("(") - text.count(")"))
    return text.rstrip(",;: ")
