"""Receptive-field rules: what an operator does to the geometry of its inputs' receptive fields.

An operator returns one of these from `receptive_field`; `netdsl.analysis.receptive_field`
composes them along the graph.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """Base of the rules."""


@dataclass(frozen=True)
class Window(Rule):
    """A sliding window per spatial axis: convolution, pooling."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


@dataclass(frozen=True)
class Transposed(Rule):
    """A transposed convolution: stride divides the step between outputs."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]


@dataclass(frozen=True)
class Unpool(Transposed):
    """Max unpooling: output o receives the value of input q only if o lies in pooling window q,
    and whether it does depends on the switches, which the pooled map chose inside that window.
    So both the values (input 0) and the pooled map (input 1) reach o through the transposed
    window: the field is their union, then a transposed convolution's."""


@dataclass(frozen=True)
class Resample(Rule):
    """Upsampling by `scale` per axis; `extra` more input pixels seen (1 for bilinear), of which
    `before` lie before output 0's source pixel (bilinear without align_corners reads pixel -1,
    clamped, for output 0)."""

    scale: tuple[float, ...]
    extra: int = 0
    before: int = 0


@dataclass(frozen=True)
class Shift(Rule):
    """Cropping: output index 0 is input index `offset`."""

    offset: tuple[int, ...]


@dataclass(frozen=True)
class _Identity(Rule):
    """Elementwise along the spatial axes."""


@dataclass(frozen=True)
class _Global(Rule):
    """Every output sees the whole input (global pooling, flatten, linear)."""


@dataclass(frozen=True)
class _Merge(Rule):
    """Several inputs aligned elementwise (add, mul, concat): the union of their fields."""


# One instance each: operators return these, and the analysis tells them apart by identity.
IDENTITY = _Identity()
GLOBAL = _Global()
MERGE = _Merge()
