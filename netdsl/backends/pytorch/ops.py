"""THE lowering table: one row per operator of `netdsl.ops.REGISTRY`, saying which torch.nn
module and which function compute it, how its attributes map to torch's arguments, whether it
may run in place, whether the layer after it may overwrite its output, and which run-time
helpers (netdsl.backends.pytorch.runtime) it uses.

A row is plain data: `Arg`s map attributes (or the input's channels and features) to torch's
arguments, with torch's default so that a constant equal to it is left out. Attribute values
are `Py` expressions, constants or not: `stride=s` stays `stride=s` in a class that takes `s`.
The few irregular operators add a `rule` (module construction) or an `apply` (function
application) beside their data. Codegen reads rows through `construct`, `invoke` and
`factory`, and has no per-operator case of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netdsl.backends.pytorch import shapes
from netdsl.backends.pytorch.pyexpr import (
    Py,
    attr,
    binop,
    call,
    lit,
    literal_node,
    subscript,
)
from netdsl.ops import REGISTRY, Op

REQUIRED: Any = object()


class Input:
    """What a lowering may ask of its (first) input: the number of spatial axes, and the size
    of an axis as an expression of the generated constructor (channels are axis 0)."""

    rank: int = 2

    def dim(self, axis: int) -> Py:  # pragma: no cover - implemented by the translator
        raise NotImplementedError

    def channels(self) -> Py:
        return self.dim(0)

    def features(self) -> Py:
        return self.dim(-1)


@dataclass(frozen=True)
class Arg:
    """One torch argument: its name, the attribute (or `@channels`, `@features`) it comes from,
    torch's default (a constant equal to it is left out), how the value converts, and whether it
    is written positionally."""

    name: str
    source: str
    default: Any = REQUIRED
    positional: bool = False
    convert: str = ""  # "axis": an IR axis (batch excluded) as a torch dim; "float"


def pos(name: str, source: str | None = None, convert: str = "") -> Arg:
    return Arg(name, source or name, positional=True, convert=convert)


def kw(name: str, source: str | None = None, default: Any = REQUIRED, convert: str = "") -> Arg:
    return Arg(name, source or name, default, convert=convert)


Rule = Callable[[dict[str, Py], Input], Py | None]
Apply = Callable[[dict[str, Py], list[Py], Input], Py]


@dataclass(frozen=True)
class Lowering:
    """How one operator becomes torch code.

    `module`/`function` name the torch module class and function ("{n}" is the number of
    spatial axes); `args` serve both (the function gets the input first). `inplace`: both take
    `inplace=True`. `overwritable`: the output is fresh and its backward does not need it, so
    the layer after may work in place (torchvision's ReLU(inplace=True) after a conv or an
    add). `training`: the function takes `training=self.training`. `helpers`: the run-time
    definitions its code may name. `shape`: the output's symbolic shape. `rule`/`apply`:
    irregular construction or application, given the same attributes.
    """

    module: str | None = None
    function: str | None = None
    args: tuple[Arg, ...] = ()
    inplace: bool = False
    overwritable: bool = False
    training: bool = False
    helpers: tuple[str, ...] = ()
    shape: shapes.Rule = shapes.same
    rule: Rule | None = None
    apply: Apply | None = None


# ---------------------------------------------------------------- values of arguments


def compact(value: Py) -> Py:
    """(3, 3) -> 3: a per-axis value written once when every axis has it."""
    c = value.const
    if isinstance(c, tuple) and c and len(set(c)) == 1 and not isinstance(c[0], tuple):
        return lit(c[0])
    return value


def _convert(value: Py, how: str) -> Py:
    if how == "axis":
        if type(value.const) is int:
            return lit(value.const + 1 if value.const >= 0 else value.const)
        return binop("+", value, lit(1))
    if how == "float":
        c = value.const
        if isinstance(c, tuple):
            return Py(literal_node(tuple(float(v) for v in c)), tuple(float(v) for v in c))
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            return Py(literal_node(float(c)), float(c))
        return call("float", [value])
    return compact(value)


def _value(arg: Arg, attrs: dict[str, Py], x: Input) -> Py:
    if arg.source == "@channels":
        return x.channels()
    if arg.source == "@features":
        return x.features()
    return _convert(attrs[arg.source], arg.convert)


def _is_default(value: Py, default: Any) -> bool:
    return default is not REQUIRED and value.known and type(value.const) is type(default) \
        and value.const == default


def arguments(args: tuple[Arg, ...], attrs: dict[str, Py], x: Input,
              keywords: bool = False) -> tuple[list[Py], dict[str, Py]]:
    """Positional and keyword torch arguments; with `keywords`, all by name (for a partial)."""
    positional: list[Py] = []
    named: dict[str, Py] = {}
    for arg in args:
        value = _value(arg, attrs, x)
        if arg.positional and not keywords:
            positional.append(value)
        elif not _is_default(value, arg.default):
            named[arg.name] = value
    return positional, named


def target(text: str, x: Input) -> str:
    return text.replace("{n}", str(x.rank))


# ---------------------------------------------------------------- what codegen calls


def lowering(op: str | Op) -> Lowering:
    """The row of an operator; a missing row is an internal error (the coverage test)."""
    return LOWERINGS[op if isinstance(op, str) else op.name]


def construct(op: str, attrs: dict[str, Py], x: Input, inplace: bool = False) -> Py | None:
    """The module that computes `op` on input `x` (None when it has no module form)."""
    row = lowering(op)
    if row.rule is not None:
        made = row.rule(attrs, x)
        if made is not None:
            return _inplace(made, inplace)
    if row.module is None:
        return None
    positional, named = arguments(row.args, attrs, x)
    return _inplace(call(target(row.module, x), positional, named), inplace)


def invoke(op: str, attrs: dict[str, Py], inputs: list[Py], x: Input, training: Py,
           inplace: bool = False) -> Py:
    """The expression that applies `op`'s function form to the input tensors."""
    row = lowering(op)
    if row.apply is not None:
        return row.apply(attrs, inputs, x)
    assert row.function is not None, op
    positional, named = arguments(row.args, attrs, x)
    if row.training:
        named["training"] = training
    result = call(target(row.function, x), [inputs[0], *positional], named)
    return _inplace(result, inplace)


def factory(op: str, attrs: dict[str, Py], given: set[str], x: Input) -> Py:
    """The module class, or a partial of it, for an operator used as a value (`act=relu6`,
    `act=leaky_relu(0.2)`): the attributes the spec gave are bound by name; what comes from
    the input (channels) is left for the caller."""
    row = lowering(op)
    assert row.module is not None, op
    bound = {a.name: _convert(attrs[a.source], a.convert) for a in row.args
             if a.source in given}
    cls = target(row.module, x)
    return call("partial", [Py(_dotted(cls))], bound) if bound else Py(_dotted(cls))


def needs_input(op: str) -> tuple[str, ...]:
    """The input facts an operator's module takes first (`@channels` for bn), in order."""
    return tuple(a.source for a in lowering(op).args if a.source.startswith("@"))


def _dotted(text: str) -> Any:
    from netdsl.backends.pytorch.pyexpr import dotted
    return dotted(text)


def _inplace(value: Py, inplace: bool) -> Py:
    if not inplace:
        return value
    node = value.node
    import ast
    assert isinstance(node, ast.Call)
    node.keywords.append(ast.keyword("inplace", ast.Constant(True)))
    return value


# ---------------------------------------------------------------- irregular operators


def _conv_table(attrs: dict[str, Py], x: Input) -> Py | None:
    """A connection table (LeNet-5's C3) is its own module."""
    table = attrs["table"]
    if table.known and table.const is None:
        return None
    positional, named = arguments(CONV_ARGS[2:], attrs, x)
    named.pop("groups", None)
    return call("TableConv", [table, *positional], named)


def _global(kind: str, module: bool) -> Rule:
    """`maxpool(global)` is an adaptive pooling to 1."""
    def rule(attrs: dict[str, Py], x: Input) -> Py | None:
        if attrs["kernel"].const != "global":
            return None
        if module:
            return call(f"nn.Adaptive{kind.capitalize()}Pool{x.rank}d", [lit(1)])
        return None
    return rule


def _pool_apply(kind: str) -> Apply:
    def apply(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
        if attrs["kernel"].const == "global":
            return call(f"F.adaptive_{kind}_pool{x.rank}d", [inputs[0], lit(1)])
        row = lowering(f"{kind}pool")
        positional, named = arguments(row.args, _pool_stride(attrs), x)
        return call(f"F.{kind}_pool{x.rank}d", [inputs[0], *positional], named)
    return apply


def _pool_stride(attrs: dict[str, Py]) -> dict[str, Py]:
    """torch's stride defaults to the kernel, as the spec's does: left out when it is."""
    stride = attrs["stride"]
    if stride.known and (stride.const is None or stride.const == attrs["kernel"].const):
        return {**attrs, "stride": lit(None)}
    return attrs


def _pool_module(kind: str) -> Rule:
    glob = _global(kind, True)

    def rule(attrs: dict[str, Py], x: Input) -> Py | None:
        made = glob(attrs, x)
        if made is not None:
            return made
        row = lowering(f"{kind}pool")
        positional, named = arguments(row.args, _pool_stride(attrs), x)
        return call(f"nn.{kind.capitalize()}Pool{x.rank}d", positional, named)
    return rule


def _batchnorm_rank(attrs: dict[str, Py], x: Input) -> Py:
    positional, named = arguments(lowering("bn").args, attrs, x)
    return call(f"nn.BatchNorm{max(x.rank, 1)}d", positional, named)


def _dropout_nd(module: bool) -> Any:
    def make(attrs: dict[str, Py], *rest: Any) -> Py:
        x: Input = rest[-1]
        n = min(max(x.rank, 1), 3)
        positional, named = arguments(DROPOUT_ARGS, attrs, x)
        if module:
            return call(f"nn.Dropout{n}d", positional, named)
        inputs = rest[0]
        return call(f"F.dropout{n}d", [inputs[0], *positional],
                    {**named, "training": Py(_dotted("self.training"))})
    return make


def _trailing(attrs: dict[str, Py], x: Input) -> Py:
    """The normalised shape of a layer norm: the last `axes` axes of the input."""
    axes = attrs["axes"].const
    rank = x.rank + 1
    dims = [x.dim(i) for i in range(rank - axes, rank)]
    from netdsl.backends.pytorch.pyexpr import tuple_of
    return dims[0] if len(dims) == 1 else tuple_of(dims)


def _layernorm(attrs: dict[str, Py], x: Input) -> Py:
    named = arguments(NORM_ARGS, attrs, x)[1]
    affine = attrs["affine"]
    if not (affine.known and affine.const is True):
        named["elementwise_affine"] = affine
    return call("nn.LayerNorm", [_trailing(attrs, x)], named)


def _layernorm_apply(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    axes = attrs["axes"].const
    shape = subscript(attr(inputs[0], "shape"), Py(_slice(-axes)))
    return call("F.layer_norm", [inputs[0], shape], arguments(NORM_ARGS, attrs, x)[1])


def _slice(start: int | None, stop: int | None = None) -> Any:
    import ast
    return ast.Slice(None if start is None else literal_node(start),
                     None if stop is None else literal_node(stop))


def _prelu(attrs: dict[str, Py], x: Input) -> Py:
    channels = attrs["channels"]
    named: dict[str, Py] = {}
    if not (channels.known and channels.const is False):
        count = x.channels()
        named["num_parameters"] = count if channels.known else \
            Py(_ifexp(channels, count, lit(1)))
    init = attrs["init"]
    if not (init.known and init.const == 0.25):
        named["init"] = init
    return call("nn.PReLU", [], named)


def _ifexp(test: Py, then: Py, otherwise: Py) -> Any:
    import ast
    return ast.IfExp(test.node, then.node, otherwise.node)


def _upsample(module: bool) -> Any:
    def make(attrs: dict[str, Py], *rest: Any) -> Py:
        x: Input = rest[-1]
        named: dict[str, Py] = {}
        size = attrs["size"]
        if not (size.known and size.const is None):
            named["size"] = compact(size)
        else:
            named["scale_factor"] = _convert(attrs["scale"], "float")
        mode, corners = attrs["mode"], attrs["align_corners"]
        if not _is_default(mode, "nearest"):
            named["mode"] = mode
        if not (corners.known and corners.const is None):
            named["align_corners"] = corners
        if module:
            return call("nn.Upsample", [], named)
        return call("F.interpolate", [rest[0][0]], named)
    return make


def _upsample_apply(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    return _upsample(False)(attrs, inputs, x)


def _crop(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    """Centre crop to another tensor's spatial size (U-Net's skips) or to a given size."""
    if len(inputs) > 1:
        size = subscript(attr(inputs[1], "shape"), Py(_slice(2)))
    else:
        given = attrs["size"]
        size = lit(tuple([given.const] * x.rank)) if type(given.const) is int else given
    return call("center_crop", [inputs[0], size])


def _reshape(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    """`x.reshape(batch, *shape)`: the batch is the input's, the rest as the spec gives."""
    shape = attrs["shape"]
    batch = subscript(attr(inputs[0], "shape"), lit(0))
    if isinstance(shape.const, tuple):
        dims = [lit(d) for d in shape.const]
    elif isinstance(shape.node, ast.Tuple):
        dims = [Py(e) for e in shape.node.elts]
    else:
        dims = [Py(ast.Starred(shape.node, ast.Load()))]
    return call(attr(inputs[0], "reshape"), [batch, *dims])


def _narrow(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    """`slice(start, stop, axis)` as Python slicing, which takes a negative stop as it is."""
    import ast
    axis = attrs["axis"].const
    index = [ast.Slice(None, None)] * (axis + 1)
    index.append(ast.Slice(_node(attrs["start"], 0), attrs["stop"].node))
    return Py(ast.Subscript(inputs[0].node, ast.Tuple(index, ast.Load()), ast.Load()))


def _node(value: Py, omit: Any) -> Any:
    return None if value.known and value.const == omit else value.node


def _infix(symbol: str) -> Apply:
    def apply(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
        result = inputs[0]
        for other in inputs[1:]:
            result = binop(symbol, result, other)
        return result
    return apply


def _concat(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    import ast
    items = Py(ast.List([i.node for i in inputs], ast.Load()))
    return call("torch.cat", [items, _convert(attrs["axis"], "axis")])


def _flatten_apply(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    return call("torch.flatten", [inputs[0], _convert(attrs["start"], "axis")])


def _const_args(*args: Arg) -> tuple[Arg, ...]:
    return args


CONV_ARGS = (pos("in_channels", "@channels"), pos("out_channels", "out"),
             pos("kernel_size", "kernel"), kw("stride", default=1), kw("padding", default=0),
             kw("dilation", default=1), kw("groups", default=1), kw("bias", default=True))
POOL_ARGS = (pos("kernel_size", "kernel"), kw("stride", default=None),
             kw("padding", default=0), kw("ceil_mode", "ceil", False))
NORM_ARGS = (kw("eps", default=1e-5),)
DROPOUT_ARGS = (kw("p", default=0.5),)
ACTIVATION = dict(inplace=True)

LOWERINGS: dict[str, Lowering] = {
    "conv": Lowering("nn.Conv{n}d", args=CONV_ARGS, rule=_conv_table, overwritable=True,
                     helpers=("TableConv",), shape=shapes.window),
    "conv_transpose": Lowering(
        "nn.ConvTranspose{n}d", overwritable=True, shape=shapes.resized,
        args=(pos("in_channels", "@channels"), pos("out_channels", "out"),
              pos("kernel_size", "kernel"), kw("stride", default=1), kw("padding", default=0),
              kw("output_padding", default=0), kw("groups", default=1),
              kw("bias", default=True), kw("dilation", default=1))),
    "subsample": Lowering("Subsample", args=(pos("channels", "@channels"),
                                             kw("kernel_size", "kernel", 2)),
                          helpers=("Subsample",), shape=shapes.resized),
    "linear": Lowering("nn.Linear", overwritable=True, shape=shapes.linear,
                       args=(pos("in_features", "@features"), pos("out_features", "out"),
                             kw("bias", default=True))),
    "maxpool": Lowering("nn.MaxPool{n}d", "F.max_pool{n}d", shape=shapes.pool,
                        args=(*POOL_ARGS, kw("dilation", default=1),
                              kw("return_indices", "indices", False)),
                        rule=_pool_module("max"), apply=_pool_apply("max")),
    "avgpool": Lowering("nn.AvgPool{n}d", "F.avg_pool{n}d", shape=shapes.pool,
                        args=(*POOL_ARGS, kw("count_include_pad", default=True)),
                        rule=_pool_module("avg"), apply=_pool_apply("avg")),
    "adaptive_avgpool": Lowering("nn.AdaptiveAvgPool{n}d", "F.adaptive_avg_pool{n}d",
                                 args=(pos("output_size", "size"),), shape=shapes.adaptive),
    "adaptive_maxpool": Lowering("nn.AdaptiveMaxPool{n}d", "F.adaptive_max_pool{n}d",
                                 args=(pos("output_size", "size"),), shape=shapes.adaptive),
    "bn": Lowering("nn.BatchNorm{n}d", overwritable=True, rule=_batchnorm_rank,
                   args=(pos("num_features", "@channels"), kw("eps", default=1e-5),
                         kw("momentum", default=0.1), kw("affine", default=True))),
    "layernorm": Lowering("nn.LayerNorm", "F.layer_norm", args=NORM_ARGS, rule=_layernorm,
                          apply=_layernorm_apply),
    "groupnorm": Lowering("nn.GroupNorm", "F.group_norm",
                          args=(pos("num_groups", "groups"), pos("num_channels", "@channels"),
                                kw("eps", default=1e-5), kw("affine", default=True)),
                          apply=lambda a, i, x: call("F.group_norm", [i[0], a["groups"]],
                                                     arguments(NORM_ARGS, a, x)[1])),
    "instancenorm": Lowering("nn.InstanceNorm{n}d", "F.instance_norm",
                             args=(pos("num_features", "@channels"), kw("eps", default=1e-5),
                                   kw("affine", default=False)),
                             apply=lambda a, i, x: call("F.instance_norm", [i[0]],
                                                        arguments(NORM_ARGS, a, x)[1])),
    "lrn": Lowering("nn.LocalResponseNorm", "F.local_response_norm",
                    args=(pos("size"), kw("alpha", default=1e-4), kw("beta", default=0.75),
                          kw("k", default=1.0))),
    "dropout": Lowering("nn.Dropout", "F.dropout", args=DROPOUT_ARGS, training=True),
    "dropout2d": Lowering("nn.Dropout{n}d", "F.dropout{n}d", args=DROPOUT_ARGS, training=True,
                          rule=_dropout_nd(True), apply=_dropout_nd(False)),
    "stochastic_depth": Lowering("StochasticDepth", "stochastic_depth", training=True,
                                 args=(pos("p"), kw("mode", default="row")),
                                 helpers=("StochasticDepth", "stochastic_depth")),
    "relu": Lowering("nn.ReLU", "F.relu", **ACTIVATION),
    "relu6": Lowering("nn.ReLU6", "F.relu6", **ACTIVATION),
    "leaky_relu": Lowering("nn.LeakyReLU", "F.leaky_relu",
                           args=(kw("negative_slope", "slope", 0.01),), **ACTIVATION),
    "prelu": Lowering("nn.PReLU", rule=_prelu),
    "elu": Lowering("nn.ELU", "F.elu", args=(kw("alpha", default=1.0),), **ACTIVATION),
    "gelu": Lowering("nn.GELU", "F.gelu", args=(kw("approximate", default="none"),)),
    "silu": Lowering("nn.SiLU", "F.silu", **ACTIVATION),
    "hardswish": Lowering("nn.Hardswish", "F.hardswish", **ACTIVATION),
    "hardsigmoid": Lowering("nn.Hardsigmoid", "F.hardsigmoid", **ACTIVATION),
    "sigmoid": Lowering("nn.Sigmoid", "torch.sigmoid"),
    "tanh": Lowering("nn.Tanh", "torch.tanh"),
    "softmax": Lowering("nn.Softmax", "F.softmax", args=(kw("dim", "axis", convert="axis"),)),
    "flatten": Lowering("nn.Flatten", "torch.flatten", shape=shapes.flatten,
                        args=(kw("start_dim", "start", 1, convert="axis"),),
                        apply=_flatten_apply),
    "reshape": Lowering(apply=_reshape, shape=shapes.reshape),
    "upsample": Lowering("nn.Upsample", "F.interpolate", rule=_upsample(True),
                         apply=_upsample_apply, shape=shapes.resized),
    "crop": Lowering(apply=_crop, helpers=("center_crop",), shape=shapes.resized),
    "channel_shuffle": Lowering("nn.ChannelShuffle", "channel_shuffle",
                                args=(pos("groups"),), helpers=("channel_shuffle",)),
    "slice": Lowering(apply=_narrow, shape=shapes.narrow),
    "matmul": Lowering(apply=_infix("@"), shape=shapes.matmul),
    "pixel_shuffle": Lowering("nn.PixelShuffle", "F.pixel_shuffle",
                              args=(pos("upscale_factor", "factor"),), shape=shapes.shuffle),
    "pixel_unshuffle": Lowering("nn.PixelUnshuffle", "F.pixel_unshuffle",
                                args=(pos("downscale_factor", "factor"),),
                                shape=shapes.unshuffle),
    "add": Lowering(apply=_infix("+"), overwritable=True, shape=shapes.broadcast),
    "mul": Lowering(apply=_infix("*"), shape=shapes.broadcast),
    "concat": Lowering(apply=_concat, overwritable=True, shape=shapes.concat),
}


def missing() -> list[str]:
    """Registered operators without a lowering."""
    return sorted(set(REGISTRY) - set(LOWERINGS))
