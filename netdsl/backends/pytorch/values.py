"""The values a block's body names while it is translated: parameters, locals, layers used as
values, and how each is read by the generated constructor and by the generated forward."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from netdsl.backends.pytorch.pyexpr import UNKNOWN, Py
from netdsl.elaborate.values import LayerRef
from netdsl.syntax import ast as syn

SIZES = "in.size"  # the key of a class made for one size of its input (no parameter's name)
IN_CHANNELS = "in.c"  # the key of a class made for one number of input channels


class Specialize(Exception):
    """The block cannot be one class over these parameters: translate it once per value."""

    def __init__(self, names: frozenset[str], why: str):
        super().__init__(why)
        self.names = frozenset(names)
        self.why = why


class NotChain(Exception):
    """The scope is not a plain chain of modules (it needs a forward of its own)."""


class Unsupported(Exception):
    """A construct the generator cannot write; the message says which, `span` where (the
    innermost statement being translated when it was raised)."""

    span: Any = None


class RuntimeOnly(Unsupported):
    """A value only the forward can compute (it reads a tensor's size)."""


@dataclass
class Value:
    """A spec value as the generated code reads it.

    `py` is its expression in the constructor (None when only the forward knows it, as a
    size read from a tensor); `runtime` is its expression in the forward when it is computed
    there. `store` is the attribute the forward reads a constructor value from (set on first
    use). `layers` lists the layers a layer-valued name may stand for.
    """

    py: Py | None
    runtime: Py | None = None
    store: str | None = None
    layers: tuple[LayerRef, ...] | None = None
    function: syn.Def | None = None
    closure: Any = None  # the Env a `def` of the body was made in, which its body reads
    tensors: tuple[Any, ...] | None = None  # a list of tensors (a forward's Tensors, in order)
    listed: Any = None  # a list of tensors of any length in one forward variable (TensorList)
    # Python's `str` of it is the language's: surely an int, a float or a string (a range
    # loop's variable, a parameter declared so, a value computed from them), never a bool,
    # a list or none, which Python writes `True`, `(1,)`, `None`
    exact_str: bool = False

    @property
    def const(self) -> Any:
        return self.py.const if self.py is not None else UNKNOWN


@dataclass
class Env:
    vars: dict[str, Value] = field(default_factory=dict)
    parent: Env | None = None

    def find(self, name: str) -> Value | None:
        env: Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        return None

    def child(self) -> Env:
        return Env({}, self)


# Dependencies a value may carry besides block parameters:
IN = "@in"  # the block's input channels
RT = "@rt"  # only the forward knows it (a size read from a tensor)
SPATIAL = "@sz"  # a block input's spatial size, a placeholder its callers fill in
SIZE = "@size"  # a size of the input the network was built with
ONE = "@one"  # channels of one item of a list standing for all its items (see lists.py)
RUNTIME = Py(ast.Name("RUNTIME", ast.Load()), UNKNOWN, frozenset({RT}))
