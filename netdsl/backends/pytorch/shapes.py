"""Symbolic shapes for the code generator: each axis of a tensor (batch excluded) as the
expression the generated constructor can compute it with, or None when only the running
forward knows it (a spatial size after a convolution, which depends on the input's size).

A lowering row names one of these rules; the generator needs them for what a constructor takes
from its input (the channels of a conv, the features of a linear after a flatten, the trailing
axes of a layer norm).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from math import prod

from netdsl.backends.pytorch.pyexpr import Py, binop, lit, simplify
from netdsl.backends.pytorch.values import IN, SIZE, Specialize

Shape = tuple[Py | None, ...]
Rule = Callable[[dict[str, Py], list[Shape]], Shape]


def _const(value: Py | None) -> int | None:
    return value.const if value is not None and type(value.const) is int else None


def _per_axis(value: Py, n: int) -> list[int | None]:
    c = value.const
    if type(c) is int:
        return [c] * n
    if isinstance(c, tuple) and len(c) == n and all(type(v) is int for v in c):
        return list(c)
    return [None] * n


def same(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    return inputs[0]


def _channels(attrs: dict[str, Py], x: Shape) -> Py | None:
    return attrs["out"] if "out" in attrs else x[0]


def _axis_value(value: Py, axis: int, n: int) -> Py | None:
    """One axis of a per-axis attribute: a constant's own, or a scalar expression as is."""
    c = value.const
    if isinstance(c, tuple):
        return lit(c[axis]) if len(c) == n and type(c[axis]) is int else None
    if type(c) is int or not value.known:
        return value
    return None


def window(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """Convolutions and pooling: each spatial size by torch's formula, as an expression of the
    input's size and the attributes (a constant where they all are)."""
    x = inputs[0]
    n = len(x) - 1
    stride_value = attrs.get("stride")
    if stride_value is None or (stride_value.known and stride_value.const is None):
        stride_value = attrs["kernel"]
    padding_value = attrs.get("padding", lit(0))
    ceil = attrs.get("ceil", lit(False))
    out: list[Py | None] = [_channels(attrs, x)]
    for i in range(n):
        size = x[i + 1]
        if padding_value.const == "same":  # TensorFlow's SAME: ceil(size / stride) outputs
            stride = _axis_value(stride_value, i, n)
            if size is None or stride is None or stride.const == 1:
                out.append(size if stride is not None and stride.const == 1 else None)
            else:
                out.append(simplify(binop("//", binop("+", size, binop("-", stride, lit(1))),
                                          stride)))
            continue
        parts = [_axis_value(attrs["kernel"], i, n), _axis_value(stride_value, i, n),
                 _axis_value(padding_value, i, n), _axis_value(attrs.get("dilation", lit(1)), i, n)]
        if size is None or any(p is None for p in parts) or ceil.const is not False:
            out.append(None)
            continue
        k, s, p, d = parts
        extent = k if d.const == 1 else binop("+", binop("*", d, binop("-", k, lit(1))), lit(1))
        padded = size if p.const == 0 else binop("+", size, binop("*", lit(2), p))
        span = binop("-", padded, extent)  # (size + 2p - d(k - 1) - 1) // s + 1, as read
        out.append(simplify(binop("+", binop("//", span, s), lit(1))))
    return tuple(out)


def pool(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    if attrs["kernel"].const == "global":
        return (inputs[0][0],) + (lit(1),) * (len(inputs[0]) - 1)
    return window(attrs, inputs)


def resized(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """A new spatial size that only the forward knows; channels as the layer sets them."""
    x = inputs[0]
    return (_channels(attrs, x),) + (None,) * (len(x) - 1)


def unpooled(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """The size of the pool's input, which only the forward knows here."""
    x = inputs[0]
    return (x[0],) + (None,) * (len(x) - 1)


def linear(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    return inputs[0][:-1] + (attrs["out"],)


def adaptive(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x = inputs[0]
    sizes = _per_axis(attrs["size"], len(x) - 1)
    return (x[0],) + tuple(None if s is None else lit(s) for s in sizes)


def product(dims: Shape) -> Py | None:
    if any(d is None for d in dims):
        return None
    result: Py = lit(1)
    for d in dims:
        result = binop("*", result, d)  # type: ignore[arg-type]
    return result


def flatten(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x = inputs[0]
    start, end = attrs["start"].const, attrs["end"].const
    start = start % len(x)
    end = end % len(x) + 1
    return x[:start] + (product(x[start:end]),) + x[end:]


def permute(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    order = attrs["order"].const
    x = inputs[0]
    return tuple(x[i] for i in order) if isinstance(order, tuple) else (None,) * len(x)


def transpose(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x = list(inputs[0])
    a, b = attrs["first"].const % len(x), attrs["second"].const % len(x)
    x[a], x[b] = x[b], x[a]
    return tuple(x)


def select(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x = inputs[0]
    axis = attrs["axis"].const % len(x)
    return x[:axis] + x[axis + 1:]


def mean(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """The axis reduced: removed, or of size 1 with `keep`."""
    x = inputs[0]
    axis = attrs["axis"].const % len(x)
    return x[:axis] + ((lit(1),) if attrs["keep"].const is True else ()) + x[axis + 1:]


def patch_merge(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """A channels-last map [H, W, C]: each factor x factor patch into the channels."""
    x, r = inputs[0], attrs["factor"]
    c = None if x[-1] is None else simplify(binop("*", x[-1], binop("*", r, r)))
    return (None,) * (len(x) - 1) + (c,)


def items(value: Py) -> list[Py]:
    """The items of a list attribute, constant or written as a tuple of expressions."""
    if isinstance(value.const, tuple):
        return [lit(d) for d in value.const]
    if isinstance(value.node, ast.Tuple):
        return [lit(e.value) if isinstance(e, ast.Constant) else Py(e, deps=value.deps)
                for e in value.node.elts]  # a literal item depends on nothing
    raise Specialize(value.deps - {IN, SIZE}, "a list gives the rank of a tensor it makes")


def parameter(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    return tuple(items(attrs["shape"]))


def embedding(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    return tuple(inputs[0]) + (attrs["dim"],)


def roi(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """[boxes, C, size...]: one map per box of each image."""
    x = inputs[0]
    sizes = _per_axis(attrs["size"], len(x) - 1)
    return (None, x[0]) + tuple(None if s is None else lit(s) for s in sizes)


def reshape(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    value = attrs["shape"]
    shape = value.const
    if not isinstance(shape, tuple):
        node = value.node
        if isinstance(node, ast.Tuple):  # some sizes known only by the forward
            return tuple(_axis(e, value) for e in node.elts)
        return (None,)
    known = [d for d in shape if d != -1]
    if -1 not in shape:
        return tuple(lit(d) for d in shape)
    total = product(inputs[0])
    rest = _const(total)
    return tuple(lit(d) if d != -1 else (lit(rest // prod(known)) if rest is not None else None)
                 for d in shape)


def _axis(node: ast.expr, whole: Py) -> Py | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return lit(node.value)
    if isinstance(node, ast.Name) and node.id == "RUNTIME":
        return None
    return Py(node, deps=whole.deps - {"@rt"})


def narrow(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x = inputs[0]
    axis = attrs["axis"].const % len(x)
    start, stop = attrs["start"], attrs["stop"]
    if type(stop.const) is int and stop.const < 0:
        length = x[axis]
        size = None if length is None else binop("-", binop("+", length, stop), start)
    else:
        size = binop("-", stop, start)
    return x[:axis] + (size,) + x[axis + 1:]


def matmul(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    return inputs[0][:-1] + inputs[1][-1:]


def shuffle(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x, r = inputs[0], attrs["factor"]
    c = None if x[0] is None else binop("//", x[0], binop("*", r, r))
    return (c,) + (None,) * (len(x) - 1)


def unshuffle(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    x, r = inputs[0], attrs["factor"]
    c = None if x[0] is None else binop("*", x[0], binop("*", r, r))
    return (c,) + (None,) * (len(x) - 1)


def broadcast(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    """Per axis, a size other than a constant 1 where any input has one (SE's [C, 1, 1] gate
    on [C, H, W]); the first such input's expression."""
    rank = max(len(s) for s in inputs)
    padded = [(lit(1),) * (rank - len(s)) + tuple(s) for s in inputs]
    out: list[Py | None] = []
    for axis in range(rank):
        dims = [s[axis] for s in padded]
        wide = [d for d in dims if not (d is not None and d.const == 1)]
        out.append(wide[0] if wide else lit(1))
    return tuple(out)


def concat(attrs: dict[str, Py], inputs: list[Shape]) -> Shape:
    axis = attrs["axis"].const
    first = inputs[0]
    axis = axis + len(first) if axis < 0 else axis
    parts = [s[axis] for s in inputs]
    total = None
    if all(p is not None for p in parts):
        total = parts[0]
        for p in parts[1:]:
            total = binop("+", total, p)  # type: ignore[arg-type]
        total = simplify(total)  # type: ignore[arg-type]
    return first[:axis] + (total,) + first[axis + 1:]


def with_found_sizes(sizes: tuple[Py | None, ...], found: tuple[int, ...] | None
                     ) -> tuple[Py | None, ...]:
    """`sizes` with those the forward lost (None) taken from `found`, the analysis's: sizes
    of the input the network is built for, which its forward then checks."""
    if found is None or len(found) != len(sizes):
        return sizes
    return tuple(Py(ast.Constant(d), d, frozenset({SIZE})) if s is None else s
                 for s, d in zip(sizes, found, strict=True))
