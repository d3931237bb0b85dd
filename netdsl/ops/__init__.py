"""Operator definitions: one class per operator, registered by name in `REGISTRY`."""

from netdsl.ops import (
    activation,
    attention,
    conv,
    layout,
    learned,
    linear,
    merge,
    norm,
    pool,
    reduce,
    regularize,
    roi,
    shape,
    tensor,
)
from netdsl.ops.base import REGISTRY, Op, Shape, ShapeError, Symbol, TensorArg, TiedWeight

__all__ = ["REGISTRY", "Op", "Shape", "ShapeError", "Symbol", "TensorArg", "TiedWeight",
           "activation", "attention", "conv", "layout", "learned", "linear", "merge", "norm",
           "pool", "reduce", "regularize", "roi", "shape", "tensor"]
