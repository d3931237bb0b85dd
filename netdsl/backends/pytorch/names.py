"""Unique Python names within one namespace (a module, a constructor, a forward, a class's
attributes), as torch.fx's `_Namespace` hands them out: a spec name is kept when it is free and
valid, else it gets a suffix; keywords, builtins the code uses and the names of generated
definitions are never shadowed."""

from __future__ import annotations

import keyword
import re

from netdsl.names import MODULE_ATTRIBUTES as TORCH_MODULE_ATTRIBUTES

# attributes of torch.nn.Module (netdsl.names keeps the list equal to torch's) and of the
# nn.ModuleList a child may live in, which a child or a stored value must not shadow
MODULE_ATTRIBUTES = TORCH_MODULE_ATTRIBUTES | {"append", "extend", "insert", "pop",
                                               "smooth_l1_loss"}

# names generated code reads from Python and from its imports
BUILTIN_NAMES = frozenset("""abs all any bool dict enumerate float getattr int isinstance len list
max min range round str sum super tuple zip print type ValueError None True False
torch nn F Tensor math partial OrderedDict Callable""".split())

# the names every method may bind whatever the spec says: a module-level definition of the
# spec's (`def in_channels(a) = ...`) must take another, or the method would call its int
METHOD_NAMES = frozenset({"self", "in_channels", "in_features"})

AMBIGUOUS = frozenset({"l", "O", "I"})  # pycodestyle E741: read as 1 and 0
_INVALID = re.compile(r"[^0-9A-Za-z_]")


class Namespace:
    """Hands out unique identifiers; a name asked for again under the same `key` is the same."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()):
        self.taken: set[str] = set(taken) | set(BUILTIN_NAMES)
        self.keys: dict[tuple[str, str], str] = {}

    def reserve(self, stem: str, key: str | None = None) -> str:
        if key is not None and (stem, key) in self.keys:
            return self.keys[(stem, key)]
        base = _INVALID.sub("_", stem) or "x"
        if base[0].isdigit():
            base = "_" + base
        if keyword.iskeyword(base) or base in AMBIGUOUS:
            base += "_"
        name, i = base, 1
        while name in self.taken:
            i += 1
            name = f"{base}_" if i == 2 else f"{base}_{i - 1}"
        self.taken.add(name)
        if key is not None:
            self.keys[(stem, key)] = name
        return name

