"""THE lowering table: for every operator of `netdsl.ops.REGISTRY`, which torch.nn module and/or
which functional call computes it, with which arguments.

A row holds rules that turn the operator's attributes and input shapes (batch excluded) into a
`Call`: plain data (a target such as "nn.Conv2d", positional and keyword literal values). Codegen
renders Calls as source text, and `build` executes that same text, so the in-memory module and
the generated file cannot disagree. Parameter-free operators lower to the function (no
submodule) except inside an `nn.Sequential`, where the module form is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netdsl.ops import REGISTRY, Op

Shapes = list[tuple[int, ...]]


@dataclass(frozen=True)
class Call:
    """`target(*args, **kwargs)`; values are Python literals, rendered with repr."""

    target: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Any, Shapes], Call]


@dataclass(frozen=True)
class Lowering:
    """How one operator becomes torch code.

    `form` says how the function is applied to the input tensors: "call" fn(x, *args),
    "infix" x0 <target> x1 ..., "cat" fn([x0, x1, ...], ...), "like" fn(x0, x1.shape[2:], ...)
    (crop to another tensor's size), "reshape" x.reshape(batch, *args), "unpool" fn(x0,
    indices, ..., output_size=size), "roi" fn(x0, list(boxes), ...) with the boxes of each
    image unflattened from the batch axis.
    `training`: the function needs `training=self.training` (dropout and friends).
    `helpers`: run-time definitions (netdsl.backends.pytorch.runtime) the calls use.
    `inplace`: the function and the module accept `inplace=True`.
    `pad`: padding torch's layer cannot do itself (asymmetric, or TensorFlow's SAME at a stride
    > 1), as a call applied to the first input before the module or function: its Call's
    target takes the tensor first (`F.pad(x, [0, 1, 0, 1])`, `pad_same(x, 3, 2)`); None when
    the layer pads by itself. The module then has padding 0, so its state dict is unchanged.
    A module rule may return None for an instance that has no module form.
    `results`: the values a step yields besides its output, by name: "indices" (returned by
    the call after the output, as return_indices=True does) and "size" (the first input's
    spatial size, taken before the call); `reads`: what the step passes instead of its inputs,
    as (input position, result name or "" for the tensor itself) pairs. Max unpooling reads the
    pooled map's "indices" and "size" where its second input is the max pooling.
    `apply`: how forward uses the module child, as a template of `{module}` (the child, e.g.
    `self.class_token`) and `{x}` (the input's variable); None for `{module}({x})`. A child made
    by an `nn.Parameter` call is a parameter of the enclosing module, named by the label.
    """

    module: Rule | None = None
    function: Rule | None = None
    form: str = "call"
    training: bool = False
    helpers: tuple[str, ...] = ()
    inplace: bool = False
    pad: Callable[[Any, Shapes], Call | None] | None = None
    results: Callable[[Any], tuple[str, ...]] = lambda op: ()
    reads: tuple[tuple[int, str], ...] | None = None
    apply: Callable[[Any, Shapes], str] | None = None


# Operators whose backward does not need their output, so the layer after them may overwrite
# it in place, as torchvision's ReLU(inplace=True) does after a conv, a batch norm or an add.
OVERWRITABLE = frozenset({"conv", "conv_transpose", "linear", "bn", "add", "concat"})


def in_place(call: Call) -> Call:
    """The same call with `inplace=True`."""
    return Call(call.target, call.args, {**call.kwargs, "inplace": True})


# ---------------------------------------------------------------- argument helpers


def _n(shapes: Shapes) -> int:
    """Spatial rank of the first input."""
    return len(shapes[0]) - 1


def _compact(value: Any) -> Any:
    """(3, 3) -> 3; symbols and tuples to plain str and lists-as-tuples."""
    if isinstance(value, tuple):
        value = tuple(_compact(v) for v in value)
        return value[0] if value and len(set(value)) == 1 and not isinstance(value[0], tuple) \
            else value
    if isinstance(value, str):
        return str(value)
    return value


def _changed(**pairs: tuple[Any, Any]) -> dict[str, Any]:
    """Keyword arguments whose value differs from torch's default: name=(value, default)."""
    return {k: _compact(v) for k, (v, d) in pairs.items() if _compact(v) != d}


def _axis(axis: int) -> int:
    """An IR axis (batch excluded) as a torch dim."""
    return axis + 1 if axis >= 0 else axis


# ---------------------------------------------------------------- padding


def _native_padding(op: Any, s: Shapes) -> Any:
    """The `padding=` torch's own layer takes for this op, or None when the input must be
    padded first (asymmetric pads, or SAME at a stride > 1, which depends on the input size)."""
    pads = _pads(op, s)
    if pads.dynamic:
        return None
    if op.name == "conv" and op.padding in ("same", "valid"):
        return str(op.padding)  # torch's conv takes both words, even kernels included
    return pads.before if pads.symmetric else None


def _pads(op: Any, s: Shapes) -> Any:
    return op.geometry(s[0])[2]


def _pad_first(op: Any, s: Shapes) -> Call | None:
    """The call that pads the input before the layer, if torch's layer cannot."""
    if _native_padding(op, s) is not None:
        return None
    fill = {"value": float("-inf")} if op.name == "maxpool" else {}
    k, stride, pads, d = op.geometry(s[0])
    if pads.dynamic:
        return Call("pad_same", (_compact(k), _compact(stride)),
                    {**_changed(dilation=(d, 1)), **fill})
    flat = [side for b, a in zip(reversed(pads.before), reversed(pads.after), strict=True)
            for side in (b, a)]  # F.pad's order: the last axis first
    return Call("F.pad", (flat,), fill)


def _padding_arg(op: Any, s: Shapes) -> Any:
    """The module's `padding=`: torch's own, or 0 when `_pad_first` pads the input."""
    native = _native_padding(op, s)
    return 0 if native is None else native
def _dims(order: tuple[int, ...]) -> list[int]:
    """A permutation of the IR's axes as torch dims, the batch first."""
    return [0] + [a + 1 for a in order]


# ---------------------------------------------------------------- rules


def _conv(op: Any, s: Shapes) -> Call:
    padding = _padding_arg(op, s)
    if op.table is not None:
        table = [list(row) for row in op.table]
        return Call("TableConv", (table, _compact(op.kernel)),
                    _changed(stride=(op.stride, 1), padding=(padding, 0),
                             dilation=(op.dilation, 1), bias=(op.bias, True)))
    return Call(f"nn.Conv{_n(s)}d", (s[0][0], op.out),
                {"kernel_size": _compact(op.kernel),
                 **_changed(stride=(op.stride, 1), padding=(padding, 0),
                            dilation=(op.dilation, 1), groups=(op.groups, 1),
                            bias=(op.bias, True))})


def _conv_transpose(op: Any, s: Shapes) -> Call:
    return Call(f"nn.ConvTranspose{_n(s)}d", (s[0][0], op.out),
                {"kernel_size": _compact(op.kernel),
                 **_changed(stride=(op.stride, 1), padding=(op.padding, 0),
                            output_padding=(op.output_padding, 0), groups=(op.groups, 1),
                            bias=(op.bias, True), dilation=(op.dilation, 1))})


def _pool_kwargs(op: Any, s: Shapes, average: bool) -> dict[str, Any]:
    kwargs = {"kernel_size": _compact(op.kernel),
              **_changed(stride=(op.stride if op.stride is not None else op.kernel, op.kernel),
                         padding=(_padding_arg(op, s), 0), ceil_mode=(op.ceil, False))}
    if average:
        kwargs.update(_changed(count_include_pad=(op.count_include_pad, True)))
    else:
        kwargs.update(_changed(dilation=(op.dilation, 1), return_indices=(op.indices, False)))
    return kwargs


def _excludes_added_padding(op: Any, s: Shapes) -> bool:
    """An average that must not count padding which torch's own layer cannot add."""
    return op.name == "avgpool" and not op.count_include_pad and not op.is_global \
        and _native_padding(op, s) is None


def _pool(kind: str, functional: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call | None:
        n = _n(s)
        if op.is_global:
            indices = _changed(return_indices=(getattr(op, "indices", False), False))
            return Call(f"F.adaptive_{kind}_pool{n}d" if functional
                        else f"nn.Adaptive{kind.capitalize()}Pool{n}d", (1,), indices)
        if _excludes_added_padding(op, s):
            if not functional:
                return None
            k, stride, pads, _ = op.geometry(s[0])
            flat = None if pads.dynamic else [side for b, a in zip(
                reversed(pads.before), reversed(pads.after), strict=True) for side in (b, a)]
            return Call("avg_pool_valid", (_compact(k), _compact(stride), flat),
                        _changed(ceil_mode=(op.ceil, False)))
        kwargs = _pool_kwargs(op, s, kind == "avg")
        return Call(f"F.{kind}_pool{n}d" if functional else f"nn.{kind.capitalize()}Pool{n}d",
                    (), kwargs)
    return rule


def _pool_pad(op: Any, s: Shapes) -> Call | None:
    if op.is_global or _excludes_added_padding(op, s):
        return None
    return _pad_first(op, s)


def _unpool(functional: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        k, stride, padding, _ = op.window()
        return Call(f"F.max_unpool{_n(s)}d" if functional else f"nn.MaxUnpool{_n(s)}d", (),
                    {"kernel_size": _compact(k),
                     **_changed(stride=(stride, _compact(k)), padding=(padding, 0))})
    return rule


def _adaptive(kind: str, functional: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        n = _n(s)
        return Call(f"F.adaptive_{kind}_pool{n}d" if functional
                    else f"nn.Adaptive{kind.capitalize()}Pool{n}d", (_compact(op.size),))
    return rule


def _bn(op: Any, s: Shapes) -> Call:
    n = max(len(s[0]) - 1, 1)
    return Call(f"nn.BatchNorm{n}d", (s[0][0],),
                _changed(eps=(op.eps, 1e-5), momentum=(op.momentum, 0.1), affine=(op.affine, True)))


def _simple(target: str, **names: tuple[str, Any]) -> Rule:
    """A call whose keywords come straight from attributes: kw=(attribute, torch default)."""
    def rule(op: Any, s: Shapes) -> Call:
        return Call(target, (), _changed(**{k: (getattr(op, a), d) for k, (a, d) in names.items()}))
    return rule


def _softmax(module: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        return Call("nn.Softmax" if module else "F.softmax", (), {"dim": _axis(op.axis)})
    return rule


def _flatten(module: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        end = _axis(op.end)
        if module:
            return Call("nn.Flatten", (), _changed(start_dim=(op.start + 1, 1),
                                                   end_dim=(end, -1)))
        return Call("torch.flatten", (op.start + 1,) if end == -1 else (op.start + 1, end))
    return rule


def _upsample(module: bool) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        kwargs: dict[str, Any] = {}  # upsample(to=t): t's size, passed by the form "like"
        if op.size is not None:
            kwargs["size"] = _compact(op.size)
        elif op.scale is not None:
            scale = op.scale
            kwargs["scale_factor"] = tuple(float(v) for v in scale) if isinstance(scale, tuple) \
                else float(scale)
        kwargs.update(_changed(mode=(op.mode, "nearest"), align_corners=(op.align_corners, None)))
        return Call("nn.Upsample" if module else "F.interpolate", (), kwargs)
    return rule


def _norm_fn(target: str) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        if op.name == "layernorm":
            return Call(target, (list(s[0][-op.axes:]),), _changed(eps=(op.eps, 1e-5)))
        if op.name == "groupnorm":
            return Call(target, (op.groups,), _changed(eps=(op.eps, 1e-5)))
        return Call(target, (), _changed(eps=(op.eps, 1e-5)))
    return rule


def _dropout_module(op: Any, s: Shapes) -> Call:
    if op.name == "dropout2d":
        return Call(f"nn.Dropout{min(max(_n(s), 1), 3)}d", (), _changed(p=(op.p, 0.5)))
    return Call("nn.Dropout", (), _changed(p=(op.p, 0.5)))


def _dropout_fn(op: Any, s: Shapes) -> Call:
    if op.name == "dropout2d":
        return Call(f"F.dropout{min(max(_n(s), 1), 3)}d", (), _changed(p=(op.p, 0.5)))
    return Call("F.dropout", (), _changed(p=(op.p, 0.5)))


def _const(target: str) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        return Call(target)
    return rule


def _crop(op: Any, s: Shapes) -> Call:
    """center_crop(x, size), or crop_at(x, size, offset); the size is another tensor's when
    the crop is to a tensor (form "like")."""
    size = () if op.to is not None else (list(_n(s) * [op.size]) if isinstance(op.size, int)
                                          else list(op.size),)
    if op.offset is None:
        return Call("center_crop", size)
    offset = list(_n(s) * [op.offset]) if isinstance(op.offset, int) else list(op.offset)
    return Call("crop_at", (*size, offset))


def _roi(target: str) -> Rule:
    def rule(op: Any, s: Shapes) -> Call:
        kwargs = {"output_size": _compact(op.size), "spatial_scale": op.scale}
        if op.name == "roi_align":
            kwargs.update(_changed(sampling_ratio=(op.sampling, -1), aligned=(op.aligned, False)))
        return Call(target, (), kwargs)
    return rule


def _l2norm(op: Any, s: Shapes) -> Call | None:
    if op.scale is None:
        return None  # no weights: the function
    return Call("L2Norm", (s[0][0],), _changed(scale=(op.scale, 1.0), eps=(op.eps, 1e-12)))
def _parameter(op: Any, s: Shapes) -> Call:
    """nn.Parameter(initial tensor), the tensor made as torchvision makes class tokens (zeros),
    position embeddings (normal) and layer scales (a constant)."""
    dims = op.stored_shape()
    if op.std:
        init = Call("nn.init.normal_", (Call("torch.empty", dims),),
                    _changed(mean=(op.value, 0.0), std=(op.std, None)))
    elif op.value in (0.0, 1.0):
        init = Call("torch.zeros" if op.value == 0.0 else "torch.ones", dims)
    else:
        init = Call("nn.init.constant_", (Call("torch.empty", dims), op.value))
    return Call("nn.Parameter", (init,))


def _expanded(op: Any, s: Shapes) -> str:
    """A parameter with a batch axis is expanded to the input's batch (a view, no copy)."""
    if not op.batch:
        return "{module}"
    return "{module}.expand({x}.shape[0]" + ", -1" * len(op.shape) + ")"


def _attention(op: Any, s: Shapes) -> Call:
    return Call("nn.MultiheadAttention", (s[0][-1], op.heads),
                {**_changed(dropout=(op.dropout, 0.0), bias=(op.bias, True)), "batch_first": True})


def _self_attention(op: Any, s: Shapes) -> str:
    """Queries, keys and values are the input; the weights are not returned (the fused
    kernel), as torchvision's ViT calls it."""
    mask = "attn_mask=causal_mask({x}), is_causal=True, " if op.causal else ""
    return "{module}({x}, {x}, {x}, " + mask + "need_weights=False)[0]"


def _window_attention(op: Any, s: Shapes) -> Call:
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]  # noqa: E731
    return Call("ShiftedWindowAttention", (s[0][-1], pair(op.window), pair(op.shift), op.heads),
                _changed(bias=(op.bias, True), dropout=(op.dropout, 0.0)))


def _narrow(op: Any, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """torch.narrow's (dim, start, length) for `slice(start, stop, axis)`."""
    stop = op.stop + shape[op.axis] if op.stop < 0 else op.stop
    return (_axis(op.axis), op.start, stop - op.start)


LOWERINGS: dict[str, Lowering] = {
    "conv": Lowering(module=_conv, helpers=("TableConv", "pad_same"), pad=_pad_first),
    "conv_transpose": Lowering(module=_conv_transpose),
    "subsample": Lowering(module=lambda op, s: Call("Subsample", (s[0][0],),
                                                    _changed(kernel_size=(op.kernel, 2))),
                          helpers=("Subsample",)),
    "linear": Lowering(module=lambda op, s: Call("nn.Linear", (s[0][-1], op.out),
                                                 _changed(bias=(op.bias, True)))),
    "maxpool": Lowering(module=_pool("max", False), function=_pool("max", True), pad=_pool_pad,
                        helpers=("pad_same",),
                        results=lambda op: ("indices", "size") if op.indices else ()),
    "unpool": Lowering(module=_unpool(False), function=_unpool(True), form="unpool",
                       reads=((0, ""), (1, "indices"), (1, "size"))),
    "avgpool": Lowering(module=_pool("avg", False), function=_pool("avg", True), pad=_pool_pad,
                        helpers=("pad_same", "avg_pool_valid")),
    "adaptive_avgpool": Lowering(module=_adaptive("avg", False), function=_adaptive("avg", True)),
    "adaptive_maxpool": Lowering(module=_adaptive("max", False), function=_adaptive("max", True)),
    "bn": Lowering(module=_bn),
    "layernorm": Lowering(
        module=lambda op, s: Call("nn.LayerNorm", (list(s[0][-op.axes:]),),
                                  _changed(eps=(op.eps, 1e-5),
                                           elementwise_affine=(op.affine, True))),
        function=_norm_fn("F.layer_norm")),
    "layernorm2d": Lowering(
        module=lambda op, s: Call("LayerNorm2d", (s[0][0],),
                                  _changed(eps=(op.eps, 1e-5),
                                           elementwise_affine=(op.affine, True))),
        helpers=("LayerNorm2d",)),
    "groupnorm": Lowering(
        module=lambda op, s: Call("nn.GroupNorm", (op.groups, s[0][0]),
                                  _changed(eps=(op.eps, 1e-5), affine=(op.affine, True))),
        function=_norm_fn("F.group_norm")),
    "instancenorm": Lowering(
        module=lambda op, s: Call(f"nn.InstanceNorm{_n(s)}d", (s[0][0],),
                                  _changed(eps=(op.eps, 1e-5), affine=(op.affine, False))),
        function=_norm_fn("F.instance_norm")),
    "lrn": Lowering(module=_simple("nn.LocalResponseNorm", size=("size", None),
                                   alpha=("alpha", 1e-4), beta=("beta", 0.75), k=("k", 1.0)),
                    function=_simple("F.local_response_norm", size=("size", None),
                                     alpha=("alpha", 1e-4), beta=("beta", 0.75), k=("k", 1.0))),
    "dropout": Lowering(module=_dropout_module, function=_dropout_fn, training=True),
    "dropout2d": Lowering(module=_dropout_module, function=_dropout_fn, training=True),
    "stochastic_depth": Lowering(
        function=lambda op, s: Call("stochastic_depth", (op.p, str(op.mode))), training=True,
        helpers=("stochastic_depth",)),
    "relu": Lowering(module=_const("nn.ReLU"), function=_const("F.relu"), inplace=True),
    "relu6": Lowering(module=_const("nn.ReLU6"), function=_const("F.relu6"), inplace=True),
    "leaky_relu": Lowering(module=_simple("nn.LeakyReLU", negative_slope=("slope", 0.01)),
                           function=_simple("F.leaky_relu", negative_slope=("slope", 0.01)),
                           inplace=True),
    "prelu": Lowering(module=lambda op, s: Call(
        "nn.PReLU", (), _changed(num_parameters=(s[0][0] if op.channels else 1, 1),
                                 init=(op.init, 0.25)))),
    "elu": Lowering(module=_simple("nn.ELU", alpha=("alpha", 1.0)),
                    function=_simple("F.elu", alpha=("alpha", 1.0)), inplace=True),
    "gelu": Lowering(module=_simple("nn.GELU", approximate=("approximate", "none")),
                     function=_simple("F.gelu", approximate=("approximate", "none"))),
    "silu": Lowering(module=_const("nn.SiLU"), function=_const("F.silu"), inplace=True),
    "hardswish": Lowering(module=_const("nn.Hardswish"), function=_const("F.hardswish"),
                          inplace=True),
    "hardsigmoid": Lowering(module=_const("nn.Hardsigmoid"), function=_const("F.hardsigmoid"),
                            inplace=True),
    "sigmoid": Lowering(module=_const("nn.Sigmoid"), function=_const("torch.sigmoid")),
    "tanh": Lowering(module=_const("nn.Tanh"), function=_const("torch.tanh")),
    "softmax": Lowering(module=_softmax(True), function=_softmax(False)),
    "flatten": Lowering(module=_flatten(True), function=_flatten(False)),
    "reshape": Lowering(function=lambda op, s: Call("reshape", tuple(op.shape)), form="reshape"),
    "upsample": Lowering(module=_upsample(True), function=_upsample(False), form="like"),
    "crop": Lowering(function=_crop, form="like", helpers=("center_crop", "crop_at")),
    "l2norm": Lowering(module=_l2norm, function=lambda op, s: Call(
        "F.normalize", (), {"dim": 1, **_changed(eps=(op.eps, 1e-12))}), helpers=("L2Norm",)),
    "scale": Lowering(function=lambda op, s: Call("torch.mul", (op.factor,))),
    "roi_align": Lowering(function=_roi("torchvision.ops.roi_align"), form="roi"),
    "roi_pool": Lowering(function=_roi("torchvision.ops.roi_pool"), form="roi"),
    "channel_shuffle": Lowering(module=lambda op, s: Call("nn.ChannelShuffle", (op.groups,)),
                                function=lambda op, s: Call("channel_shuffle", (op.groups,)),
                                helpers=("channel_shuffle",)),
    "slice": Lowering(function=lambda op, s: Call("torch.narrow", _narrow(op, s[0]))),
    "permute": Lowering(module=lambda op, s: Call("Permute", (_dims(op.order),)),
                        function=lambda op, s: Call("torch.permute", (_dims(op.order),)),
                        helpers=("Permute",)),
    "transpose": Lowering(
        module=lambda op, s: Call("Permute", (_dims(op.order(len(s[0]))),)),
        function=lambda op, s: Call("torch.transpose", (_axis(op.first), _axis(op.second))),
        helpers=("Permute",)),
    "patch_merge": Lowering(function=lambda op, s: Call("patch_merge", (op.factor,)),
                            helpers=("patch_merge",)),
    "select": Lowering(function=lambda op, s: Call("torch.select", (_axis(op.axis), op.index))),
    "matmul": Lowering(function=_const("@"), form="infix"),
    "pixel_shuffle": Lowering(module=lambda op, s: Call("nn.PixelShuffle", (op.factor,)),
                              function=lambda op, s: Call("F.pixel_shuffle", (op.factor,))),
    "pixel_unshuffle": Lowering(module=lambda op, s: Call("nn.PixelUnshuffle", (op.factor,)),
                                function=lambda op, s: Call("F.pixel_unshuffle", (op.factor,))),
    "parameter": Lowering(module=_parameter, apply=_expanded),
    "embedding": Lowering(module=lambda op, s: Call("nn.Embedding", (op.vocab, op.dim))),
    "attention": Lowering(module=_attention, apply=_self_attention, helpers=("causal_mask",)),
    "window_attention": Lowering(module=_window_attention, helpers=("ShiftedWindowAttention",)),
    "add": Lowering(function=_const("+"), form="infix"),
    "mul": Lowering(function=_const("*"), form="infix"),
    "concat": Lowering(function=lambda op, s: Call("torch.cat", (),
                                                   {"dim": _axis(op.axis)}), form="cat"),
}


def lowering(op: Op) -> Lowering:
    """The row of an operator; a missing row is an internal error (the coverage test)."""
    return LOWERINGS[op.name]


def missing() -> list[str]:
    """Registered operators without a lowering."""
    return sorted(set(REGISTRY) - set(LOWERINGS))
