"""Loaded network -> readable, standalone Python source that imports only torch.

The work is in `generator` (which blocks become which classes), `translate` (one block's syntax
tree -> one class) and `render` (the module's text). Every value from a spec is written through
`ast` literals, so no spec text can become code.
"""

from __future__ import annotations

import ast
from typing import Any

from netdsl.backends.pytorch.generator import Generator


def generate(network: Any) -> str:
    """The standalone Python source of a loaded netdsl Network. A network the analysis
    rejects (a shared module whose later call needs other weights) is rejected here with the
    analysis's message, as `netdsl stats` gives it, before any code is written for it."""
    network.stats()
    return Generator(network).run()


def network_class(source: str) -> str:
    """The name of the network class: the last class of a generated file."""
    tree = ast.parse(source)
    return [i.name for i in tree.body if isinstance(i, ast.ClassDef)][-1]
