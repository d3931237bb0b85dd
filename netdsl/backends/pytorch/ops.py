"""THE lowering table: one row per operator of `netdsl.ops.REGISTRY`, saying which torch.nn
module and which function compute it, how its attributes map to torch's arguments, whether it
holds state, may run in place or lets the next layer overwrite its output, and which run-time
helpers (netdsl.backends.pytorch.runtime) its code names.

A row is plain data. `Arg`s map attributes (or the input's channels or features) to torch's
arguments, with torch's default, so that a constant equal to it is left out. Attribute values
are `Py` expressions, constants or not: `stride=s` stays `stride=s` in a class that takes `s`.
The few irregular operators add a `rule` (how the module is built) or an `apply` (how the
function is applied) beside their data. The generator reads rows through `construct`, `invoke`,
`factory` and the fields; it has no per-operator case of its own.

How the operators to come fit: one holding an nn.Parameter directly (a class token) has a
`rule` that returns `nn.Parameter(...)` and an `apply` that is given that attribute as `state`;
two outputs (max pooling with its indices) are an `apply` or module returning a tuple that the
generator unpacks; attention, permute or embedding are ordinary rows.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from netdsl.backends.pytorch import shapes
from netdsl.backends.pytorch.pyexpr import (
    UNKNOWN,
    Py,
    attr,
    binop,
    call,
    dotted,
    lit,
    literal_node,
    subscript,
    tuple_of,
)
from netdsl.backends.pytorch.values import Specialize
from netdsl.ops import REGISTRY, Op
from netdsl.ops.padding import resolve

REQUIRED: Any = object()


class Input:
    """What a lowering may ask of its (first) input: the number of spatial axes, whether it has
    a batch axis (a parameter without `batch=true` has none), and the size of an axis as an
    expression of the generated constructor (the channels are axis 0)."""

    rank: int = 2
    batched: bool = True

    def dim(self, axis: int) -> Py:
        raise NotImplementedError("the translator knows the input's sizes")

    def channels(self) -> Py:
        return self.dim(0)

    def features(self) -> Py:
        return self.dim(-1)

    def may_be_word(self, name: str) -> bool:
        """Whether the block parameter `name` may be given a word (`same`): it is declared
        without a type, and without a number or a list as default."""
        return False


@dataclass(frozen=True)
class Arg:
    """One torch argument: its name, the attribute (or `@channels`, `@features`) it comes from,
    torch's default (a constant equal to it is left out), how the value converts ("axis": an IR
    axis as a torch dim; "float"), and whether it is written positionally."""

    name: str
    source: str
    default: Any = REQUIRED
    positional: bool = False
    convert: str = ""


def pos(name: str, source: str | None = None, convert: str = "") -> Arg:
    return Arg(name, source or name, positional=True, convert=convert)


def kw(name: str, source: str | None = None, default: Any = REQUIRED, convert: str = "") -> Arg:
    return Arg(name, source or name, default, convert=convert)


Rule = Callable[[dict[str, Py], Input], Py | None]
Apply = Callable[..., Py]  # (attrs, inputs, input, state=None) -> the forward expression
# (attrs, input) -> None when torch's layer pads by itself, else (the attributes the module or
# function then takes, how the forward pads its first input)
Pad = Callable[[dict[str, Py], "Input"],
               "tuple[dict[str, Py], Callable[[Py], Py] | None] | None"]


@dataclass(frozen=True)
class Lowering:
    """How one operator becomes torch code.

    `module` / `function`: the torch module class and function ("{n}" is the number of
    spatial axes); `args` serve both (the function gets the input first). `state`: the layer
    holds parameters or buffers (True), never (False), or when the named attribute is true
    ("affine"); a layer with state is a module, one without is a function call in a forward.
    Whether a layer works in place is the operator's (`Op.in_place`, `Op.overwritable`: the
    memory analysis reckons with the same rule); both forms then take `inplace=True`.
    `training`: the function takes
    `training=self.training`. `identity_when`: (attribute, value) with which the layer does
    nothing (a drop rate of 0), so no call is written. `helpers`: the run-time definitions its
    code names. `shape`: its output's symbolic shape. `rule` / `apply`: irregular construction
    or application; with `applies_module`, the forward applies the module child through `apply`
    (given as `state`: attention's `self.attn(x, x, x, need_weights=False)[0]`, a parameter's
    `self.cls_token`), so the layer is never a member of an nn.Sequential. `moves`: where the
    channels go (permute, transpose). `results`: what a call gives besides its output
    ("indices", returned after it, and "size", its input's spatial size taken before it: a
    labeled max pooling with `indices=true`); `reads`: the tensor attribute whose layer's
    results (and attributes) the operator takes instead of the tensor (unpool's `pool`).
    `pad`: padding torch's layer cannot add itself (asymmetric pairs, TensorFlow's SAME at a
    stride > 1), done by the forward on the input first, with the layer's own padding 0 (its
    state dict is torch's).
    `unbatched`: its code also takes a tensor without a batch axis (a parameter's), counting
    its axes by `Input.batched`; any other layer is given a batch of one there. `batched`:
    whether its output has a batch axis, from its inputs' (a parameter's has one only when it
    is stored with it).
    """

    module: str | None = None
    function: str | None = None
    args: tuple[Arg, ...] = ()
    state: bool | str | Callable[[dict[str, Py]], bool] = False
    training: bool = False
    identity_when: tuple[str, Any] | None = None
    helpers: tuple[str, ...] = ()
    shape: shapes.Rule = shapes.same
    rule: Rule | None = None
    apply: Apply | None = None
    pad: Pad | None = None
    applies_module: bool = False
    results: Callable[[dict[str, Py]], tuple[str, ...]] = lambda attrs: ()
    reads: str | None = None
    moves: Callable[[dict[str, Py], int, int], int] | None = None
    unbatched: bool = False
    batched: Callable[[dict[str, Py], list[bool]], bool] = lambda attrs, inputs: any(inputs)

    def channel_axis(self, attrs: dict[str, Py], axis: int, rank: int) -> int:
        """The axis of the output that carries the channels the input carried at `axis`."""
        return axis if self.moves is None else self.moves(attrs, axis, rank)

    def has_module(self) -> bool:
        return self.module is not None or self.rule is not None

    def has_function(self) -> bool:
        return self.function is not None or self.apply is not None


# ---------------------------------------------------------------- argument values


def compact(value: Py) -> Py:
    """(3, 3) -> 3: a per-axis value written once when every axis has it."""
    c = value.const
    if isinstance(c, tuple) and c and len(set(c)) == 1 and not isinstance(c[0], tuple):
        return lit(c[0])
    return value


def dim(value: Py, x: Input | None = None) -> Py:
    """An IR axis (batch excluded) as torch's dim: one more where the tensor has a batch axis
    first, as is; a negative axis counts from the end either way."""
    lead = 1 if x is None or x.batched else 0
    if type(value.const) is int:
        return lit(value.const + lead if value.const >= 0 else value.const)
    return binop("+", value, lit(lead)) if lead else value


def convert(value: Py, how: str, x: Input | None = None) -> Py:
    """An attribute as torch's argument: "axis" a torch dim of input `x` (see `dim`), "float"
    a float, any other a per-axis value written once where it can be (`compact`)."""
    if how == "axis":
        return dim(value, x)
    if how == "float":
        c = value.const
        if isinstance(c, tuple):
            return Py(literal_node(tuple(float(v) for v in c)), tuple(float(v) for v in c))
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            return Py(literal_node(float(c)), float(c))
        return call("float", [value])
    return compact(value)


def is_default(value: Py, default: Any) -> bool:
    return default is not REQUIRED and value.known and type(value.const) is type(default) \
        and value.const == default


def arguments(args: tuple[Arg, ...], attrs: dict[str, Py], x: Input,
              keywords: bool = False) -> tuple[list[Py], dict[str, Py]]:
    """Positional and keyword torch arguments; with `keywords`, all by name (a partial)."""
    positional: list[Py] = []
    named: dict[str, Py] = {}
    for arg in args:
        if arg.source == "@channels":
            value = x.channels()
        elif arg.source == "@features":
            value = x.features()
        else:
            value = convert(attrs[arg.source], arg.convert, x)
        if arg.positional and not keywords:
            positional.append(value)
        elif not is_default(value, arg.default):
            named[arg.name] = value
    return positional, named


def target(text: str, x: Input) -> str:
    return text.replace("{n}", str(x.rank))


# ---------------------------------------------------------------- what the generator calls


def lowering(op: str | Op) -> Lowering:
    """The row of an operator; a missing row is an internal error (the coverage test)."""
    return LOWERINGS[op if isinstance(op, str) else op.name]


def holds_state(op: str, attrs: dict[str, Py]) -> bool:
    """Whether the layer has parameters or buffers (so must be a module)."""
    state = lowering(op).state
    if callable(state):
        return state(attrs)
    if isinstance(state, str):
        value = attrs[state]
        return not (value.known and value.const is False)
    return state


def does_nothing(op: str, attrs: dict[str, Py]) -> bool:
    """A layer that is an identity with these attributes (dropout with p = 0)."""
    when = lowering(op).identity_when
    if when is None:
        return False
    value = attrs[when[0]]
    return value.known and value.const == when[1]


def construct(op: str, attrs: dict[str, Py], x: Input, inplace: bool = False) -> Py | None:
    """The module that computes `op` on input `x` (None when it has no module form)."""
    row = lowering(op)
    if row.rule is not None:  # its answer is final: None when these attributes have no module
        made = row.rule(attrs, x)
        if made is None:
            return None
    elif row.module is None:
        return None
    else:
        positional, named = arguments(row.args, attrs, x)
        made = call(target(row.module, x), positional, named)
    return with_inplace(made) if inplace else made


def invoke(op: str, attrs: dict[str, Py], inputs: list[Py], x: Input, training: Py,
           inplace: bool = False, state: Py | None = None) -> Py:
    """The expression that applies `op`'s function form to the input tensors."""
    row = lowering(op)
    if row.apply is not None:
        return row.apply(attrs, inputs, x, state=state)
    assert row.function is not None, op
    positional, named = arguments(row.args, attrs, x)
    if row.training:
        named["training"] = training
    result = call(target(row.function, x), [inputs[0], *positional], named)
    return with_inplace(result) if inplace else result


def factory(op: str, attrs: dict[str, Py], given: set[str], x: Input) -> Py:
    """The module class, or a partial of it, for an operator used as a value (`act=relu6`,
    `act=leaky_relu(0.2)`): the attributes the spec gave bound by name; what comes from the
    input (the channels) left for the caller."""
    row = lowering(op)
    assert row.module is not None, op
    bound = {a.name: convert(attrs[a.source], a.convert) for a in row.args if a.source in given}
    cls = Py(dotted(target(row.module, x)))
    return call("partial", [cls], bound) if bound else cls


def needs_input(op: str) -> tuple[str, ...]:
    """The input facts an operator's module takes first (`@channels` for bn), in order."""
    return tuple(a.source for a in lowering(op).args if a.source.startswith("@"))


def with_inplace(value: Py) -> Py:
    node = value.node
    assert isinstance(node, ast.Call)
    node.keywords.append(ast.keyword("inplace", ast.Constant(True)))
    return value


# ---------------------------------------------------------------- irregular operators


def _conv_table(attrs: dict[str, Py], x: Input) -> Py | None:
    """A connection table (LeNet-5's C3) is a module of its own."""
    table = attrs["table"]
    if table.known and table.const is None:
        positional, named = arguments(CONV_ARGS, attrs, x)
        return call(target("nn.Conv{n}d", x), positional, named)
    positional, named = arguments(CONV_ARGS[2:], attrs, x)
    named.pop("groups", None)
    return call("TableConv", [table, *positional], named)


def _pool_stride(attrs: dict[str, Py]) -> dict[str, Py]:
    """torch's stride defaults to the kernel, as the spec's does: left out when it is."""
    stride = attrs["stride"]
    if stride.known and (stride.const is None or stride.const == attrs["kernel"].const):
        return {**attrs, "stride": lit(None)}
    return attrs


def _pool_module(kind: str) -> Rule:
    """`maxpool(global)` is an adaptive pooling to 1."""
    def rule(attrs: dict[str, Py], x: Input) -> Py | None:
        if attrs["kernel"].const == "global":
            return call(f"nn.Adaptive{kind.capitalize()}Pool{x.rank}d", [lit(1)])
        if kind == "avg" and _valid_average(attrs, x):
            return None
        positional, named = arguments(lowering(f"{kind}pool").args, _pool_stride(attrs), x)
        return call(f"nn.{kind.capitalize()}Pool{x.rank}d", positional, named)
    return rule


def _pool_apply(kind: str) -> Apply:
    def apply(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
        if attrs["kernel"].const == "global":
            return call(f"F.adaptive_{kind}_pool{x.rank}d", [inputs[0], lit(1)])
        if kind == "avg" and _valid_average(attrs, x):
            return _avg_pool_valid(attrs, inputs, x)
        positional, named = arguments(lowering(f"{kind}pool").args, _pool_stride(attrs), x)
        return call(f"F.{kind}_pool{x.rank}d", [inputs[0], *positional], named)
    return apply


def _batchnorm(attrs: dict[str, Py], x: Input) -> Py:
    positional, named = arguments(lowering("bn").args, attrs, x)
    return call(f"nn.BatchNorm{max(x.rank, 1)}d", positional, named)


def _dropout_nd(attrs: dict[str, Py], x: Input) -> Py:
    positional, named = arguments(DROPOUT_ARGS, attrs, x)
    return call(f"nn.Dropout{min(max(x.rank, 1), 3)}d", positional, named)


def _dropout_nd_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                      state: Py | None = None) -> Py:
    positional, named = arguments(DROPOUT_ARGS, attrs, x)
    named["training"] = Py(dotted("self.training"))
    return call(f"F.dropout{min(max(x.rank, 1), 3)}d", [inputs[0], *positional], named)


def _trailing(attrs: dict[str, Py], x: Input) -> Py:
    """A layer norm's normalised shape: the input's last `axes` axes."""
    rank = x.rank + 1
    dims = [x.dim(i) for i in range(rank - attrs["axes"].const, rank)]
    return dims[0] if len(dims) == 1 else tuple_of(dims)


def _layernorm(attrs: dict[str, Py], x: Input) -> Py:
    named = arguments(NORM_ARGS, attrs, x)[1]
    for name, torch_name in (("affine", "elementwise_affine"), ("bias", "bias")):
        value = attrs[name]
        if not (value.known and value.const is True):
            named[torch_name] = value
    return call("nn.LayerNorm", [_trailing(attrs, x)], named)


def _layernorm_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                     state: Py | None = None) -> Py:
    shape = subscript(attr(inputs[0], "shape"), Py(ast.Slice(literal_node(-attrs["axes"].const),
                                                             None)))
    return call("F.layer_norm", [inputs[0], shape], arguments(NORM_ARGS, attrs, x)[1])


def _groupnorm_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                     state: Py | None = None) -> Py:
    return call("F.group_norm", [inputs[0], attrs["groups"]], arguments(NORM_ARGS, attrs, x)[1])


def _instancenorm_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                        state: Py | None = None) -> Py:
    return call("F.instance_norm", [inputs[0]], arguments(NORM_ARGS, attrs, x)[1])


def _prelu(attrs: dict[str, Py], x: Input) -> Py:
    per_channel = attrs["channels"]
    named: dict[str, Py] = {}
    if not (per_channel.known and per_channel.const is False):
        count = x.channels()
        named["num_parameters"] = count if per_channel.known else \
            Py(ast.IfExp(per_channel.node, count.node, ast.Constant(1)))
    if not is_default(attrs["init"], 0.25):
        named["init"] = attrs["init"]
    return call("nn.PReLU", [], named)


def _resize(attrs: dict[str, Py], inputs: list[Py] = ()) -> dict[str, Py]:
    named: dict[str, Py] = {}
    size = attrs["size"]
    if len(inputs) > 1:  # upsample(to=t): t's spatial size, read at run time
        named["size"] = subscript(attr(inputs[1], "shape"), Py(ast.Slice(ast.Constant(2), None)))
    elif not (size.known and size.const is None):
        named["size"] = compact(size)
    else:
        named["scale_factor"] = convert(attrs["scale"], "float")
    if not is_default(attrs["mode"], "nearest"):
        named["mode"] = attrs["mode"]
    corners = attrs["align_corners"]
    if not (corners.known and corners.const is None):
        named["align_corners"] = corners
    return named


def _upsample(attrs: dict[str, Py], x: Input) -> Py | None:
    if attrs["to"].const is not None:
        return None  # the size of another tensor: only the function form takes it
    return call("nn.Upsample", [], _resize(attrs))


def _interpolate(attrs: dict[str, Py], inputs: list[Py], x: Input,
                 state: Py | None = None) -> Py:
    return call("F.interpolate", [inputs[0]], _resize(attrs, inputs))


def _crop(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
    """Centre crop to another tensor's spatial size (U-Net's skips) or to a given size."""
    if len(inputs) > 1:  # `[t.shape[2], t.shape[3]]`: axis by axis, which torch.fx traces
        size = Py(ast.List([subscript(attr(inputs[1], "shape"), lit(2 + axis)).node
                            for axis in range(x.rank)], ast.Load()))
    else:
        size = _per_axis_list(attrs["size"], x.rank)
    offset = attrs["offset"]
    if offset.known and offset.const is None:
        return call("center_crop", [inputs[0], size])
    return call("crop_at", [inputs[0], size, _per_axis_list(offset, x.rank)])


def _per_axis_list(value: Py, rank: int) -> Py:
    """A per-axis attribute as the list a helper takes: `5` -> `[5, 5]`."""
    if type(value.const) is int:
        return Py(literal_node((value.const,) * rank, lists=True), (value.const,) * rank)
    if isinstance(value.const, tuple):
        return Py(literal_node(value.const, lists=True), value.const)
    return call("list", [value])


def _reshape(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
    """`x.reshape(batch, *shape)`: the batch is the input's, the rest as the spec gives."""
    shape = attrs["shape"]
    batch = [subscript(attr(inputs[0], "shape"), lit(0))] if x.batched else []
    if isinstance(shape.const, tuple):
        dims = [lit(d) for d in shape.const]
    elif isinstance(shape.node, ast.Tuple):
        dims = [Py(e) for e in shape.node.elts]
    else:
        dims = [Py(ast.Starred(shape.node, ast.Load()))]
    return call(attr(inputs[0], "reshape"), [*batch, *dims])


def _unflatten(attrs: dict[str, Py], x: Input) -> Py | None:
    """A flat input's reshape as a module, `nn.Unflatten(1, shape)` (so a network ending in
    one stays an nn.Sequential, as YOLO's 7x7x30 head); any other rank's has none."""
    if x.rank != 0:
        return None
    return call("nn.Unflatten", [dim(lit(0), x), attrs["shape"]])


def _narrow(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
    """`slice(start, stop, axis)` as Python slicing, which takes a negative stop as it is."""
    start = attrs["start"]
    at = dim(attrs["axis"], x).const
    cut = ast.Slice(None if start.const == 0 else start.node, attrs["stop"].node)
    if at >= 0:
        index: list[ast.expr] = [ast.Slice(None, None)] * at + [cut]
    else:  # counted from the end: x[..., a:b] for the last axis
        index = [ast.Constant(...), cut] + [ast.Slice(None, None)] * (-at - 1)
    key = index[0] if len(index) == 1 else ast.Tuple(index, ast.Load())
    return Py(ast.Subscript(inputs[0].node, key, ast.Load()))


def _infix(symbol: str) -> Apply:
    def apply(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
        result = inputs[0]
        for other in inputs[1:]:
            result = binop(symbol, result, other)
        return result
    return apply


def _scale(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
    """`x * factor`, or `x / factor` with `divide=true`; a block whose parameter says which
    is translated once per value."""
    divide = attrs["divide"]
    if not divide.known:
        raise Specialize(frozenset(d for d in divide.deps if not d.startswith("@")),
                         "its divide decides the operator")
    return binop("/" if divide.const else "*", inputs[0], attrs["factor"])


def _concat(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
    if len(inputs) == 1 and isinstance(inputs[0].node, ast.Starred):  # a list: torch.cat(rows)
        items = Py(inputs[0].node.value)
    else:
        items = Py(ast.List([i.node for i in inputs], ast.Load()))
    return call("torch.cat", [items, dim(attrs["axis"], x)])


def _flatten_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                   state: Py | None = None) -> Py:
    end = dim(attrs["end"], x)
    args = [inputs[0], dim(attrs["start"], x)]
    return call("torch.flatten", args if is_default(end, -1) else [*args, end])



# ---------------------------------------------------------------- padding


def _ints(value: Py, n: int) -> tuple[int, ...] | None:
    c = value.const
    if type(c) is int:
        return (c,) * n
    if isinstance(c, tuple) and len(c) == n and all(type(v) is int for v in c):
        return c
    return None


def _padding(fill: float | None = None, native_words: bool = False) -> Pad:
    """Padding torch's layer cannot add: asymmetric [before, after] pairs (F.pad first) and
    TensorFlow's SAME at a stride > 1 (pad_same, from the input's own size); `fill` for max
    pooling (-inf). Constant attributes only; a symmetric or symbolic padding is torch's."""
    def rule(attrs: dict[str, Py], x: Input
             ) -> tuple[dict[str, Py], Callable[[Py], Py] | None] | None:
        value = attrs["padding"]
        if not value.known:  # a parameter: torch's own, unless it may be SAME at a stride
            loose = {d for d in value.deps if not d.startswith("@") and x.may_be_word(d)}
            unit = attrs["stride"].known and _ints(attrs["stride"], x.rank) == (1,) * x.rank
            if loose and not unit:
                raise Specialize(frozenset(loose), "its padding may be SAME at a stride")
            return None
        if _ints(value, x.rank) is not None:
            return None
        n = x.rank
        window = [attrs["kernel"], attrs["stride"], attrs.get("dilation", lit(1))]
        names = {d for w in window if not w.known for d in w.deps if not d.startswith("@")}
        if names:  # `conv(out, k, s=s, p=same)`: one class per window
            raise Specialize(frozenset(names), "its padding needs a constant window")
        stride = attrs["stride"] if attrs["stride"].const is not None else attrs["kernel"]
        kernel, step = _ints(attrs["kernel"], n), _ints(stride, n)
        dilation = _ints(attrs.get("dilation", lit(1)), n)
        if kernel is None or step is None or dilation is None:
            raise NotImplementedError("padding pairs or SAME need constant windows")
        pads = resolve(value.const, (0,) + (64,) * n, kernel, step, dilation)
        extra = {} if fill is None else {"value": Py(ast.Call(ast.Name("float", ast.Load()),
                                                              [ast.Constant(str(fill))], []))}
        if pads.dynamic:
            named = {} if set(dilation) == {1} else {"dilation": compact(lit(dilation))}
            return {**attrs, "padding": lit(0)}, lambda t: call(
                "pad_same", [t, compact(lit(kernel)), compact(lit(step))], {**named, **extra})
        if native_words and value.const in ("same", "valid"):
            return None
        if pads.symmetric:
            return {**attrs, "padding": compact(lit(pads.before))}, None
        flat = tuple(side for b, a in zip(reversed(pads.before), reversed(pads.after),
                                          strict=True) for side in (b, a))
        return {**attrs, "padding": lit(0)}, lambda t: call(
            "F.pad", [t, Py(literal_node(flat, lists=True), flat)], extra)
    return rule


def _average_padding(attrs: dict[str, Py], x: Input
                     ) -> tuple[dict[str, Py], Callable[[Py], Py] | None] | None:
    """An average pooling's padding; one that must not count it is `avg_pool_valid`'s."""
    if _valid_average(attrs, x):
        return None
    return _padding()(attrs, x)


def _valid_average(attrs: dict[str, Py], x: Input) -> bool:
    """An average that must not count padding which torch's own layer cannot add (TensorFlow's
    average pooling): no module form, `avg_pool_valid` in a forward."""
    if attrs["count_include_pad"].const is not False or attrs["kernel"].const == "global":
        return False
    padded = _padding()(attrs, x)
    return padded is not None and padded[1] is not None


def _avg_pool_valid(attrs: dict[str, Py], inputs: list[Py], x: Input) -> Py:
    n = x.rank
    stride = attrs["stride"] if attrs["stride"].const is not None else attrs["kernel"]
    kernel, step = _ints(attrs["kernel"], n), _ints(stride, n)
    pads = resolve(attrs["padding"].const, (0,) + (64,) * n, kernel, step, (1,) * n)
    flat = None if pads.dynamic else tuple(
        side for b, a in zip(reversed(pads.before), reversed(pads.after), strict=True)
        for side in (b, a))
    named = {} if attrs["ceil"].const is False else {"ceil_mode": attrs["ceil"]}
    return call("avg_pool_valid", [inputs[0], compact(lit(kernel)), compact(lit(step)),
                                   Py(literal_node(flat, lists=True), flat)], named)


# ---------------------------------------------------------------- tokens, layouts, parameters


def _dims(order: Py, x: Input) -> Py:
    """A permutation of the IR's axes as torch dims, the batch (where there is one) first."""
    if not isinstance(order.const, tuple):
        raise NotImplementedError("a permutation known only at run time")
    dims = (0, *(a + 1 for a in order.const)) if x.batched else order.const
    return Py(literal_node(dims, lists=True), dims)


def _permuted(attrs: dict[str, Py], axis: int, rank: int) -> int:
    order = attrs["order"].const
    return order.index(axis) if isinstance(order, tuple) and axis in order else 0


def _transposed(attrs: dict[str, Py], axis: int, rank: int) -> int:
    first, second = (attrs[k].const % rank for k in ("first", "second"))
    return second if axis == first else first if axis == second else axis


def _embedded(attrs: dict[str, Py], axis: int, rank: int) -> int:
    """An embedding's vectors are a new last axis: the features of a sequence."""
    return rank


def _last_axis(attrs: dict[str, Py], axis: int, rank: int) -> int:
    """A linear layer's features are its output's last axis, whatever the input carried."""
    return rank - 1


def _permute_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                   state: Py | None = None) -> Py:
    return call(attr(inputs[0], "permute"), [_dims(attrs["order"], x)])


def _transpose_order(attrs: dict[str, Py], x: Input) -> Py:
    rank = x.rank + 1
    first, second = (attrs[k].const % rank for k in ("first", "second"))
    order = list(range(rank))
    order[first], order[second] = second, first
    return call("Permute", [_dims(lit(tuple(order)), x)])


def _transpose_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                     state: Py | None = None) -> Py:
    return call(attr(inputs[0], "transpose"), [dim(attrs["first"], x), dim(attrs["second"], x)])


def _select_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                  state: Py | None = None) -> Py:
    return call(attr(inputs[0], "select"), [dim(attrs["axis"], x), attrs["index"]])


def _mean_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                state: Py | None = None) -> Py:
    keep = attrs["keep"]
    named = {} if keep.known and keep.const is False else {"keepdim": keep}
    return call(attr(inputs[0], "mean"), [dim(attrs["axis"], x)], named)


def _parameter(attrs: dict[str, Py], x: Input) -> Py:
    """nn.Parameter(initial tensor), made as torchvision makes class tokens (zeros), position
    embeddings (normal) and layer scales (a constant)."""
    dims = shapes.items(attrs["shape"])
    if attrs["batch"].const:
        dims = [lit(1), *dims]
    value, std = attrs["value"], attrs["std"]
    if not (std.known and std.const == 0):
        named = {} if is_default(value, 0.0) or value.const == 0 else {"mean": value}
        init = call("nn.init.normal_", [call("torch.empty", dims)], {**named, "std": std})
    elif value.known and value.const in (0, 1):
        init = call("torch.zeros" if value.const == 0 else "torch.ones", dims)
    else:
        init = call("nn.init.constant_", [call("torch.empty", dims), value])
    return call("nn.Parameter", [init])


def _parameter_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                     state: Py | None = None) -> Py:
    """A parameter with a batch axis is expanded to the input's batch (a view, no copy); an
    input without one gives it no batch to take (`self.token[0]`)."""
    assert state is not None
    if not attrs["batch"].const:
        return state
    if not x.batched:
        return subscript(state, lit(0))
    batch = subscript(attr(inputs[0], "shape"), lit(0))
    return call(attr(state, "expand"), [batch, *[lit(-1)] * len(shapes.items(attrs["shape"]))])


def _attention(attrs: dict[str, Py], x: Input) -> Py:
    positional, named = arguments(lowering("attention").args, attrs, x)
    return call("nn.MultiheadAttention", positional, {**named, "batch_first": lit(True)})


def _attention_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                     state: Py | None = None) -> Py:
    """Queries, keys and values are the input; the weights are not returned (the fused
    kernel), as torchvision's ViT calls it."""
    assert state is not None
    t = inputs[0]
    named: dict[str, Py] = {}
    if attrs["causal"].const:
        named = {"attn_mask": call("causal_mask", [t]), "is_causal": lit(True)}
    result = call(state, [t, t, t], {**named, "need_weights": lit(False)})
    return subscript(result, lit(0))


def _pair(value: Py) -> Py:
    """A per-axis pair as the list torchvision's window attention takes: `7` -> `[7, 7]`."""
    c = value.const
    if isinstance(c, tuple):
        return Py(literal_node(c, lists=True), c)
    if value.known:
        return Py(literal_node((c, c), lists=True), (c, c))
    if isinstance(value.node, ast.Tuple):
        return Py(ast.List(list(value.node.elts), ast.Load()), UNKNOWN, value.deps)
    return Py(ast.List([value.node, value.node], ast.Load()), UNKNOWN, value.deps)


def _window_attention(attrs: dict[str, Py], x: Input) -> Py:
    named = arguments((kw("bias", default=True), kw("dropout", default=0.0)), attrs, x)[1]
    return call("ShiftedWindowAttention", [x.features(), _pair(attrs["window"]),
                                           _pair(attrs["shift"]), attrs["heads"]], named)


def _l2norm(attrs: dict[str, Py], x: Input) -> Py | None:
    if attrs["scale"].const is None:
        return None  # no weights: the function
    return call("L2Norm", *arguments(lowering("l2norm").args, attrs, x))


def _l2norm_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                  state: Py | None = None) -> Py:
    named = {"dim": lit(1)}
    if not is_default(attrs["eps"], 1e-12):
        named["eps"] = attrs["eps"]
    return call("F.normalize", [inputs[0]], named)


def _roi(target: str) -> Apply:
    """boxes [batch, N, 4]: per-image boxes to torchvision.ops' `target` (`boxes.unbind()`,
    which torch.fx records, where `list(boxes)` would iterate its proxy), N maps per image;
    the module imports it and has torch.fx record it whole (render.WRAPPED)."""
    def apply(attrs: dict[str, Py], inputs: list[Py], x: Input, state: Py | None = None) -> Py:
        named = {"output_size": compact(attrs["size"]), "spatial_scale": attrs["scale"]}
        if "sampling" in attrs and not is_default(attrs["sampling"], -1):
            named["sampling_ratio"] = attrs["sampling"]
        if "aligned" in attrs and not is_default(attrs["aligned"], False):
            named["aligned"] = attrs["aligned"]
        pooled = call(target, [inputs[0], call(attr(inputs[1], "unbind"), [])], named)
        return call(attr(pooled, "unflatten"), [lit(0), subscript(
            attr(inputs[1], "shape"), Py(ast.Slice(None, ast.Constant(2))))])
    return apply


def _unpool_apply(attrs: dict[str, Py], inputs: list[Py], x: Input,
                  state: Py | None = None) -> Py:
    """Max unpooling by a pool's switches (`inputs`: the values, the pool's indices and its
    input's size); the pool's window (`attrs`) is not needed: the switches are positions in
    that size."""
    return call("max_unpool", inputs[:3])


CONV_ARGS = (pos("in_channels", "@channels"), pos("out_channels", "out"),
             pos("kernel_size", "kernel"), kw("stride", default=1), kw("padding", default=0),
             kw("dilation", default=1), kw("groups", default=1), kw("bias", default=True))
POOL_ARGS = (pos("kernel_size", "kernel"), kw("stride", default=None),
             kw("padding", default=0), kw("ceil_mode", "ceil", False))
NORM_ARGS = (kw("eps", default=1e-5),)
DROPOUT_ARGS = (kw("p", default=0.5),)
REGULARIZER = {"training": True, "identity_when": ("p", 0.0)}

LOWERINGS: dict[str, Lowering] = {
    "conv": Lowering("nn.Conv{n}d", args=CONV_ARGS, state=True,
                     rule=_conv_table, helpers=("TableConv", "pad_same"), shape=shapes.window,
                     pad=_padding(native_words=True)),
    "conv_transpose": Lowering(
        "nn.ConvTranspose{n}d", state=True, shape=shapes.resized,
        args=(pos("in_channels", "@channels"), pos("out_channels", "out"),
              pos("kernel_size", "kernel"), kw("stride", default=1), kw("padding", default=0),
              kw("output_padding", default=0), kw("groups", default=1),
              kw("bias", default=True), kw("dilation", default=1))),
    "subsample": Lowering("Subsample", state=True, shape=shapes.resized, helpers=("Subsample",),
                          args=(pos("channels", "@channels"), kw("kernel_size", "kernel", 2))),
    "linear": Lowering("nn.Linear", state=True, shape=shapes.linear,
                       args=(pos("in_features", "@features"), pos("out_features", "out"),
                             kw("bias", default=True)), moves=_last_axis, unbatched=True),
    "maxpool": Lowering("nn.MaxPool{n}d", "F.max_pool{n}d", shape=shapes.pool,
                        args=(*POOL_ARGS, kw("dilation", default=1),
                              kw("return_indices", "indices", False)),
                        rule=_pool_module("max"), apply=_pool_apply("max"),
                        pad=_padding(fill=float("-inf")), helpers=("pad_same",),
                        results=lambda attrs: ("indices", "size") if attrs["indices"].const
                        else ()),
    "avgpool": Lowering("nn.AvgPool{n}d", "F.avg_pool{n}d", shape=shapes.pool,
                        args=(*POOL_ARGS, kw("count_include_pad", default=True)),
                        rule=_pool_module("avg"), apply=_pool_apply("avg"), pad=_average_padding,
                        helpers=("pad_same", "avg_pool_valid")),
    "adaptive_avgpool": Lowering("nn.AdaptiveAvgPool{n}d", "F.adaptive_avg_pool{n}d",
                                 args=(pos("output_size", "size"),), shape=shapes.adaptive),
    "adaptive_maxpool": Lowering("nn.AdaptiveMaxPool{n}d", "F.adaptive_max_pool{n}d",
                                 args=(pos("output_size", "size"),), shape=shapes.adaptive),
    "bn": Lowering("nn.BatchNorm{n}d", state=True, rule=_batchnorm,
                   args=(pos("num_features", "@channels"), kw("eps", default=1e-5),
                         kw("momentum", default=0.1), kw("affine", default=True))),
    "layernorm": Lowering("nn.LayerNorm", "F.layer_norm", args=NORM_ARGS, state="affine",
                          rule=_layernorm, apply=_layernorm_apply, unbatched=True),
    "groupnorm": Lowering("nn.GroupNorm", "F.group_norm", state="affine",
                          args=(pos("num_groups", "groups"), pos("num_channels", "@channels"),
                                kw("eps", default=1e-5), kw("affine", default=True)),
                          apply=_groupnorm_apply),
    "instancenorm": Lowering("nn.InstanceNorm{n}d", "F.instance_norm", state="affine",
                             args=(pos("num_features", "@channels"), kw("eps", default=1e-5),
                                   kw("affine", default=False)),
                             apply=_instancenorm_apply),
    "lrn": Lowering("nn.LocalResponseNorm", "F.local_response_norm",
                    args=(pos("size"), kw("alpha", default=1e-4), kw("beta", default=0.75),
                          kw("k", default=1.0))),
    "dropout": Lowering("nn.Dropout", "F.dropout", args=DROPOUT_ARGS, **REGULARIZER,
                        unbatched=True),
    "dropout2d": Lowering("nn.Dropout{n}d", "F.dropout{n}d", args=DROPOUT_ARGS,
                          rule=_dropout_nd, apply=_dropout_nd_apply, **REGULARIZER),
    "stochastic_depth": Lowering("StochasticDepth", "stochastic_depth",
                                 args=(pos("p"), kw("mode", default="row")),
                                 helpers=("StochasticDepth", "stochastic_depth"),
                                 **REGULARIZER),
    "relu": Lowering("nn.ReLU", "F.relu", unbatched=True),
    "relu6": Lowering("nn.ReLU6", "F.relu6", unbatched=True),
    "leaky_relu": Lowering("nn.LeakyReLU", "F.leaky_relu",
                           args=(kw("negative_slope", "slope", 0.01),), unbatched=True),
    "prelu": Lowering("nn.PReLU", state=True, rule=_prelu),
    "elu": Lowering("nn.ELU", "F.elu", args=(kw("alpha", default=1.0),), unbatched=True),
    "gelu": Lowering("nn.GELU", "F.gelu", args=(kw("approximate", default="none"),),
                     unbatched=True),
    "silu": Lowering("nn.SiLU", "F.silu", unbatched=True),
    "hardswish": Lowering("nn.Hardswish", "F.hardswish", unbatched=True),
    "hardsigmoid": Lowering("nn.Hardsigmoid", "F.hardsigmoid", unbatched=True),
    "sigmoid": Lowering("nn.Sigmoid", "torch.sigmoid", unbatched=True),
    "tanh": Lowering("nn.Tanh", "torch.tanh", unbatched=True),
    "softmax": Lowering("nn.Softmax", "F.softmax", args=(kw("dim", "axis", convert="axis"),),
                        unbatched=True),
    "flatten": Lowering("nn.Flatten", "torch.flatten", shape=shapes.flatten,
                        args=(kw("start_dim", "start", 1, convert="axis"),
                              kw("end_dim", "end", -1, convert="axis")),
                        apply=_flatten_apply, unbatched=True),
    "reshape": Lowering(rule=_unflatten, apply=_reshape, shape=shapes.reshape, unbatched=True),
    "upsample": Lowering("nn.Upsample", "F.interpolate", rule=_upsample, apply=_interpolate,
                         shape=shapes.resized),
    "crop": Lowering(apply=_crop, helpers=("center_crop", "crop_at"), shape=shapes.resized),
    "l2norm": Lowering("L2Norm", "F.normalize", rule=_l2norm, apply=_l2norm_apply,
                       state=lambda attrs: attrs["scale"].const is not None,
                       args=(pos("channels", "@channels"), kw("scale", default=1.0),
                             kw("eps", default=1e-12)), helpers=("L2Norm",)),
    "scale": Lowering(apply=_scale, unbatched=True),
    "shift": Lowering(apply=lambda attrs, inputs, x, state=None: binop("+", inputs[0],
                                                                       attrs["value"]),
                      unbatched=True),
    "roi_align": Lowering(apply=_roi("roi_align"), shape=shapes.roi),
    "roi_pool": Lowering(apply=_roi("roi_pool"), shape=shapes.roi),
    "unpool": Lowering(apply=_unpool_apply, shape=shapes.unpooled, reads="pool",
                       helpers=("max_unpool",)),
    "layernorm2d": Lowering("LayerNorm2d", state="affine", helpers=("LayerNorm2d",),
                            args=(pos("num_channels", "@channels"), kw("eps", default=1e-5),
                                  kw("elementwise_affine", "affine", True))),
    "permute": Lowering(apply=_permute_apply, shape=shapes.permute, moves=_permuted,
                        rule=lambda attrs, x: call("Permute", [_dims(attrs["order"], x)]),
                        helpers=("Permute",), unbatched=True),
    "transpose": Lowering(apply=_transpose_apply, shape=shapes.transpose, moves=_transposed,
                          rule=_transpose_order, helpers=("Permute",), unbatched=True),
    "select": Lowering(apply=_select_apply, shape=shapes.select, unbatched=True),
    "mean": Lowering(apply=_mean_apply, shape=shapes.mean, unbatched=True),
    "patch_merge": Lowering(apply=lambda attrs, inputs, x, state=None: call(
        "patch_merge", [inputs[0], attrs["factor"]]), shape=shapes.patch_merge,
        helpers=("patch_merge",)),
    "parameter": Lowering(rule=_parameter, apply=_parameter_apply, state=True,
                          applies_module=True, shape=shapes.parameter, unbatched=True,
                          batched=lambda attrs, inputs: attrs["batch"].const is True and inputs[0]),
    "embedding": Lowering("nn.Embedding", state=True, shape=shapes.embedding,
                          args=(pos("num_embeddings", "vocab"), pos("embedding_dim", "dim")),
                          moves=_embedded, unbatched=True),
    "attention": Lowering(rule=_attention, apply=_attention_apply, state=True,
                          applies_module=True, helpers=("causal_mask",),
                          args=(pos("embed_dim", "@features"), pos("num_heads", "heads"),
                                kw("dropout", default=0.0), kw("bias", default=True))),
    "window_attention": Lowering(rule=_window_attention, state=True,
                                 helpers=("ShiftedWindowAttention",)),
    "channel_shuffle": Lowering("nn.ChannelShuffle", "channel_shuffle",
                                args=(pos("groups"),), helpers=("channel_shuffle",)),
    "slice": Lowering(apply=_narrow, shape=shapes.narrow, unbatched=True),
    "matmul": Lowering(apply=_infix("@"), shape=shapes.matmul, unbatched=True),
    "pixel_shuffle": Lowering("nn.PixelShuffle", "F.pixel_shuffle",
                              args=(pos("upscale_factor", "factor"),), shape=shapes.shuffle),
    "pixel_unshuffle": Lowering("nn.PixelUnshuffle", "F.pixel_unshuffle",
                                args=(pos("downscale_factor", "factor"),),
                                shape=shapes.unshuffle),
    "add": Lowering(apply=_infix("+"), shape=shapes.broadcast, unbatched=True),
    "mul": Lowering(apply=_infix("*"), shape=shapes.broadcast, unbatched=True),
    "sub": Lowering(apply=_infix("-"), shape=shapes.broadcast, unbatched=True),
    "div": Lowering(apply=_infix("/"), shape=shapes.broadcast, unbatched=True),
    "concat": Lowering(apply=_concat, shape=shapes.concat, unbatched=True),
}


def missing() -> list[str]:
    """Registered operators without a lowering."""
    return sorted(set(REGISTRY) - set(LOWERINGS))
