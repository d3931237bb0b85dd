"""Operator definitions: one class per operator, registered by name in `REGISTRY`."""

from netdsl.ops import (
    activation,
    conv,
    layout,
    linear,
    merge,
    norm,
    pool,
    regularize,
    shape,
    tensor,
)
from netdsl.ops.base import REGISTRY, Op, Shape, ShapeError, Symbol, TensorArg

__all__ = ["REGISTRY", "Op", "Shape", "ShapeError", "Symbol", "TensorArg", "activation", "conv",
           "layout", "linear", "merge", "norm", "pool", "regularize", "shape", "tensor"]
