"""What the generator knows of one generated class, for its callers and for writing it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.pyexpr import Py
from netdsl.backends.pytorch.values import Specialize
from netdsl.syntax import ast as syn

# what a class tells its callers of its outputs
OUTPUT_FIELDS = ("out_names", "outs", "outs_expr", "out_shape", "out", "out_expr", "out_list")


class BuiltSizes(NamedTuple):
    """The sizes of a network input its constructor was built for: the axes of the batched
    tensor from `first` on, its channels' axis left out (2 channels first, 1 channels last)."""

    first: int
    sizes: tuple[int, ...]


@dataclass
class Param:
    """A constructor parameter: the spec's name, the Python name, its default and hint."""

    spec: str
    py: str
    default: ast.expr | None
    hint: str | None


@dataclass
class ClassInfo:
    """One class: a block (or the network) translated once, or once per specialisation.

    `out` is the block's output channels as an expression of its parameters (and
    `in_channels`), which a caller substitutes its arguments into; None when only the built
    module knows them (`self.out_channels`, which `exports` then writes).
    """

    name: str
    bdef: syn.BlockDef
    binding: dict[str, Any]
    rank: int
    channel_axis: int = 0  # the input's channels: 0, or its last axis (channels last)
    out_axis: int = 0  # the same of its output
    channel_params: list[str] = field(default_factory=list)  # one per tensor input
    lists: set[str] = field(default_factory=set)  # inputs and channel params that are lists
    outs: list[Py | None] = field(default_factory=list)  # channels of each of several outputs
    out_names: list[str] = field(default_factory=list)
    outs_expr: list[ast.expr] | None = None  # `self.out_channels` of several outputs
    params: list[Param] = field(default_factory=list)
    channels: str = "in_channels"
    out: Py | None = None
    out_shape: tuple[Py | None, ...] = ()  # spatial sizes, of the input's (`SIZES`) and params
    exports: bool = False
    base: str = "nn.Module"
    ctor: list[ast.stmt] = field(default_factory=list)
    fwd: list[ast.stmt] | None = None
    inputs: list[str] = field(default_factory=list)
    why: str | None = None
    in_progress: bool = True
    built_for_size: bool = False  # its constructor read the sizes of the input it is made for
    out_expr: ast.expr | None = None  # what `self.out_channels` is set to
    size_check: dict[str, BuiltSizes] | None = None
    stores: list[tuple[str, ast.expr]] = field(default_factory=list)  # self.<attr> = value
    # outputs that hold a list of tensors (a TensorList among them, in its parameters' terms):
    # the forward returns one tuple, which a caller keeps whole
    out_list: list[tuple[str, Any]] = field(default_factory=list)
    returns: str | None = None  # the forward's return annotation, where the body decides it
    # where the constructor chooses which outputs the forward returns: each choice's test (of
    # the parameters) and its OUTPUT_FIELDS; a call's arguments pick one (`for_call`)
    cases: list[tuple[Py, dict[str, Any]]] = field(default_factory=list)
    origin: ClassInfo | None = None  # the class a case of it stands for
    # a specialisation whose class came out the same as an earlier one's: written once, as
    # `twin`, whose comment then names every binding it serves (`twin.also`)
    twin: ClassInfo | None = None
    also: list[dict[str, Any]] = field(default_factory=list)

    def for_call(self, mapping: dict[str, Py | None]) -> ClassInfo:
        """The class as a call with these arguments (Python names -> the caller's values)
        sees it: where its outputs depend on them, the case they choose."""
        if not self.cases:
            return self
        for test, fields in self.cases:
            chosen = P.substitute(test, {k: v for k, v in mapping.items() if v is not None})
            if chosen.const is True:
                return replace(self, **fields, cases=[], origin=self)
            if chosen.const is not False:
                raise Specialize(chosen.deps, "which outputs a block it calls returns "
                                              "depends on it")
        raise AssertionError("no case of the outputs holds")

    def export(self) -> None:
        """Its callers read the built module's `out_channels`: the class written for it (the
        one it is a case of, the one it came out the same as) sets them."""
        base = self.origin or self
        base.exports = True
        if base.twin is not None:
            base.twin.exports = True

    @property
    def is_network(self) -> bool:
        return self.bdef.is_network
