"""Functions and tensor methods called in `forward`: which netdsl operator each is.

`function_<name>` handles `call_function` nodes (torch.flatten, F.relu, operator.add, ...) and
`method_<name>` handles `call_method` nodes (x.view, x.permute, ...); the torch function and the
tensor method of one name share a rule where they mean the same.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
from torch import fx

from netdsl.backends.pytorch.importer.mapping import (
    Alias,
    Context,
    Layers,
    Mapping,
    OpCall,
    Unmapped,
    Value,
    Word,
    axis,
)
from netdsl.backends.pytorch.importer.modules import _compact, _kwargs

_ACTIVATIONS = {"relu": "relu", "relu_": "relu", "relu6": "relu6", "silu": "silu",
                "hardswish": "hardswish", "hardsigmoid": "hardsigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "elu": "elu", "gelu": "gelu", "leaky_relu": "leaky_relu"}
_MERGES = {operator.add: "add", torch.add: "add", operator.iadd: "add", operator.mul: "mul",
           torch.mul: "mul", operator.imul: "mul", operator.sub: "sub", torch.sub: "sub",
           operator.isub: "sub", torch.rsub: "rsub", operator.truediv: "div", torch.div: "div",
           operator.itruediv: "div", torch.true_divide: "div", operator.matmul: "matmul",
           torch.matmul: "matmul", torch.bmm: "matmul"}
_METHOD_MERGES = frozenset({"add", "mul", "sub", "rsub", "div", "matmul"})
# The arguments of torch's arithmetic that change what it computes: `alpha` scales the second
# operand (`torch.sub(x, y, alpha=2)`), a `rounding_mode` makes a division a floor or truncation.
_NEUTRAL = {"alpha": 1, "rounding_mode": None}
# The number that leaves a tensor as it is under each operation, on either side of it, or
# only on its right (`x - 0`, `x / 1`).
_NEUTRAL_CONSTANTS = {"add": 0, "mul": 1}
_RIGHT_NEUTRAL = {"sub": 0, "div": 1}
_SPLITS = frozenset({"chunk", "split", "unbind"})
# What the items after the first of a leaf module's tuple are (the first is its output).
_MORE_RESULTS = {"MultiheadAttention": "its attention weights"} | {
    f"{kind}{n}d": "the indices of its maxima" for kind in ("MaxPool", "AdaptiveMaxPool")
    for n in (1, 2, 3)}


class Calls:
    """Maps a `call_function` or `call_method` node to operator calls."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.node = ctx.node

    def map(self) -> Mapping:
        target = self.node.target
        if self.node.op == "call_method" and target in _METHOD_MERGES:
            return self.merge(target)  # x.add(y), x.mul(y)
        if self.node.op == "call_method":
            name = f"method_{target}"
        elif target in _MERGES:
            return self.merge(_MERGES[target])
        else:
            name = f"function_{getattr(target, '__name__', '')}"
        rule = getattr(self, name, None)
        if rule is None:
            return Unmapped(f"netdsl has no operator for {self._described()}")
        return rule()

    def _described(self) -> str:
        target = self.node.target
        if self.node.op == "call_method":
            return f"the tensor method .{target}()"
        module = getattr(target, "__module__", None) or ""
        return f"{module + '.' if module else ''}{getattr(target, '__name__', target)}"

    def _tensor_args(self) -> list[fx.Node]:
        return [a for a in self.node.args if self.ctx.is_tensor(a)]

    def _on_first(self, *calls: OpCall) -> Layers:
        return Layers(list(calls), [self.node.args[0]])

    @property
    def _in_shape(self) -> tuple[int, ...]:
        return self.ctx.shape(self.node.args[0])

    @property
    def _out_shape(self) -> tuple[int, ...]:
        return tuple(self.ctx.values[self.node].shape)

    # ------------------------------------------------------------ merges and arithmetic

    def merge(self, name: str) -> Mapping:
        args = list(self.node.args[:2])
        if name == "rsub":  # torch.rsub(x, y) = y - x
            name, args = "sub", args[::-1]
        changed = {k: v for k, v in self.node.kwargs.items() if _NEUTRAL.get(k, v) != v}
        if changed:
            return Unmapped(f"{name} with {', '.join(f'{k}={v!r}' for k, v in changed.items())}")
        tensors = [a for a in args if self.ctx.is_tensor(a)]
        if len(tensors) == 1:
            other = self.ctx.value(args[1] if args[0] is tensors[0] else args[0])
            if isinstance(other, (int, float)) and not isinstance(other, bool):
                return self._with_constant(name, other, tensors[0], args[0] is tensors[0])
            return Unmapped(f"{name} of a tensor and {type(other).__name__} {other!r}")
        if len(tensors) != 2:
            return Unmapped(f"{name} of {len(tensors)} tensors")
        if name in ("add", "mul") and isinstance(tensors[0], fx.Node) \
                and tensors[0].op == "get_attr":
            tensors.reverse()  # `scale * x`: the chain goes on from x (both ops commute)
        shapes = [self.ctx.shape(t) for t in tensors]
        if name in ("add", "sub") and shapes[0] != shapes[1]:
            return Layers([OpCall(name, (), (("broadcast", True),))], tensors)
        return Layers([OpCall(name)], tensors)

    def _with_constant(self, name: str, c: float, tensor: fx.Node, first: bool) -> Mapping:
        """Arithmetic of a tensor and a number as `scale` (x c, / c) and `shift` (+ c); one that
        leaves the tensor as it is (`x + 0`, `1 * x`, `x / 1`) is no layer: Python's
        `sum(branches)` starts from 0."""
        if self._neutral(name, c, tensor, first):
            return Alias(tensor)
        if name == "add":
            calls = [OpCall("shift", (c,))]
        elif name == "mul":
            calls = [OpCall("scale", (c,))]
        elif name == "sub" and first:
            calls = [OpCall("shift", (-c,))]
        elif name == "sub":  # `1 - x`
            calls = [OpCall("scale", (-1,))] + ([OpCall("shift", (c,))] if c else [])
        elif name == "div" and first:
            calls = [_divided_by(c)]
        else:
            return Unmapped(f"{name} of {type(c).__name__} {c!r} by a tensor")
        return Layers(calls, [tensor])

    def _neutral(self, name: str, c: float, tensor: fx.Node, first: bool) -> bool:
        """Whether `tensor name c` (`c name tensor` where not `first`) is the tensor itself, of
        its own type (an integer tensor plus 0.0 is a float tensor)."""
        same = c == _NEUTRAL_CONSTANTS.get(name) or first and c == _RIGHT_NEUTRAL.get(name)
        return same and (isinstance(c, int) or self.ctx.value(tensor).is_floating_point())

    def function_neg(self) -> Mapping:
        return self._on_first(OpCall("scale", (-1,)))

    method_neg = function_neg

    def function_cat(self) -> Mapping:
        tensors = self.ctx.arg(0, "tensors")
        dim = self.ctx.value(self.ctx.arg(1, "dim", 0))
        if not isinstance(tensors, (list, tuple)):
            return Unmapped("a concatenation of a sequence of tensors that the forward does not "
                            "list one by one (take the items apart first: `a, b = x.chunk(2, "
                            "dim=1)`, then `torch.cat([b, a], dim=1)`)")
        if len(tensors) == 1:
            return Alias(tensors[0])
        concat_axis = axis(dim, len(self.ctx.shape(tensors[0])), "a concatenation along")
        inputs = list(tensors)
        earlier, size = self._earlier_concat(inputs, dim)
        if earlier is not None:  # cat([*a, *b]) after cat(a) = cat(cat(a), *b)
            inputs = [earlier] + inputs[size:]
        return Layers([OpCall("concat", (), _kwargs(axis=(concat_axis, 0)))], inputs)

    function_concat = function_cat

    def _earlier_concat(self, inputs: list[fx.Node], dim: int) -> tuple[fx.Node | None, int]:
        """The latest, longest concatenation along `dim` whose inputs begin `inputs`, and how
        many they are. A DenseNet layer concatenates every earlier map again; concatenation is
        associative, so the spec extends the previous concatenation by the new maps."""
        self.node.meta["netdsl_concat"] = (dim, list(inputs))
        best, size = None, 1
        for node in self.ctx.earlier:
            d, original = node.meta.get("netdsl_concat", (None, []))
            if d == dim and size < len(original) < len(inputs) \
                    and original == inputs[:len(original)]:
                best, size = node, len(original)
        return best, size

    # ------------------------------------------------------------ activations

    def _activation(self, name: str) -> Mapping:
        calls = {"gelu": lambda: _kwargs(approximate=(Word(self.ctx.value(
                     self.node.kwargs.get("approximate", "none"))), "none")),
                 "leaky_relu": lambda: _kwargs(slope=(self.ctx.value(self.ctx.arg(
                     1, "negative_slope", 0.01)), 0.01)),
                 "elu": lambda: _kwargs(alpha=(self.ctx.value(self.ctx.arg(1, "alpha", 1.0)),
                                               1.0))}
        kwargs = calls[name]() if name in calls else ()
        return self._on_first(OpCall(_ACTIVATIONS[name], (), kwargs))

    def __getattr__(self, name: str) -> Any:
        for prefix in ("function_", "method_"):
            if name.startswith(prefix) and name[len(prefix):] in _ACTIVATIONS:
                return lambda: self._activation(name[len(prefix):])
        raise AttributeError(name)

    def function_softmax(self) -> Mapping:
        dim = self.ctx.value(self.ctx.arg(1, "dim"))
        if dim is None:
            return Unmapped("softmax without dim")
        over = axis(dim, len(self._in_shape), "a softmax over")
        return self._on_first(OpCall("softmax", (), _kwargs(axis=(over, 0))))

    method_softmax = function_softmax

    def function_dropout(self) -> Mapping:
        p = self.ctx.value(self.ctx.arg(1, "p", 0.5))
        return self._on_first(OpCall("dropout", (), _kwargs(p=(p, 0.5))))

    def function_stochastic_depth(self) -> Mapping:
        p = self.ctx.value(self.ctx.arg(1, "p"))
        mode = self.ctx.value(self.ctx.arg(2, "mode"))
        return self._on_first(OpCall("stochastic_depth", (p,), _kwargs(mode=(Word(mode), "row"))))

    def function_group_norm(self) -> Mapping:
        """`F.group_norm(x, groups)`: `groupnorm(groups, affine=false)`. Weights the forward
        passes in are its module's (timm's GroupNorm1, mapped as the module it is) or
        tensors the operator, which holds its own, cannot take."""
        if self.ctx.arg(2, "weight") is not None or self.ctx.arg(3, "bias") is not None:
            return Unmapped("a group norm of weights the forward passes in (netdsl's "
                            "groupnorm holds its own weight and bias: use nn.GroupNorm)")
        groups = self.ctx.value(self.ctx.arg(1, "num_groups"))
        eps = self.ctx.value(self.ctx.arg(4, "eps", 1e-5))
        return self._on_first(OpCall("groupnorm", (groups,),
                                     _kwargs(eps=(eps, 1e-5), affine=(False, True))))

    # ------------------------------------------------------------ pooling and resizing

    def function_adaptive_avg_pool2d(self) -> Mapping:
        size = self.ctx.value(self.ctx.arg(1, "output_size"))
        return self._on_first(OpCall("adaptive_avgpool", (_compact(size),)))

    def function_adaptive_max_pool2d(self) -> Mapping:
        if self.ctx.value(self.ctx.arg(2, "return_indices", False)):
            return Unmapped("adaptive max pooling that returns indices")
        size = self.ctx.value(self.ctx.arg(1, "output_size"))
        return self._on_first(OpCall("adaptive_maxpool", (_compact(size),)))

    def _pool(self, name: str, names: tuple[str, ...], defaults: dict[str, Any]) -> Mapping:
        got = {n: self.ctx.value(self.ctx.arg(i + 1, n, defaults.get(n)))
               for i, n in enumerate(names)}
        kernel = _compact(got["kernel_size"])
        stride = _compact(got["stride"]) if got["stride"] not in (None, [], ()) else kernel
        kwargs = _kwargs(s=(stride, kernel), p=(got["padding"], 0),
                         ceil=(got["ceil_mode"], False))
        if name == "maxpool":
            kwargs += _kwargs(d=(got["dilation"], 1), indices=(got["return_indices"], False))
        else:
            if got.get("divisor_override") is not None:
                return Unmapped("average pooling with divisor_override")
            kwargs += _kwargs(count_include_pad=(got["count_include_pad"], True))
        return self._on_first(OpCall(name, (kernel,), kwargs))

    def function_max_pool2d(self) -> Mapping:
        return self._pool("maxpool", ("kernel_size", "stride", "padding", "dilation",
                                      "ceil_mode", "return_indices"),
                          {"padding": 0, "dilation": 1, "ceil_mode": False,
                           "return_indices": False})

    function_max_pool1d = function_max_pool3d = function_max_pool2d

    def function_avg_pool2d(self) -> Mapping:
        return self._pool("avgpool", ("kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad", "divisor_override"),
                          {"padding": 0, "ceil_mode": False, "count_include_pad": True})

    function_avg_pool1d = function_avg_pool3d = function_avg_pool2d

    def function_interpolate(self) -> Mapping:
        size_arg = self.ctx.arg(1, "size")
        scale = self.ctx.value(self.ctx.arg(2, "scale_factor"))
        mode = self.ctx.value(self.ctx.arg(3, "mode", "nearest"))
        corners = self.ctx.value(self.ctx.arg(4, "align_corners"))
        if self.ctx.value(self.ctx.arg(5, "recompute_scale_factor")):
            return Unmapped("interpolation with recompute_scale_factor")
        like = _size_of(size_arg)
        kwargs: dict[str, tuple[Any, Any]] = {}
        if like is not None and self.ctx.value(size_arg) == tuple(
                self.ctx.shape(like)[2:]):
            kwargs["to"] = (like, None)
        elif size_arg is not None:
            size = self.ctx.value(size_arg)  # one size for every axis, or one per axis
            kwargs["size"] = (_compact(list(size) if isinstance(size, (tuple, list)) else
                                       [size] * (len(self._in_shape) - 2)), None)
        else:
            kwargs["scale"] = (_compact(scale), None)
        kwargs.update(mode=(Word(mode), "nearest"), align_corners=(corners, None))
        return self._on_first(OpCall("upsample", (), _kwargs(**kwargs)))

    def method_mean(self) -> Mapping:
        dims = self.ctx.value(self.ctx.arg(0 + 1, "dim"))
        keep = self.ctx.value(self.ctx.arg(2, "keepdim", False))
        rank = len(self._in_shape)
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        spatial = sorted(d % rank for d in dims)
        if len(dims) == 1 and not (rank >= 3 and spatial == list(range(2, rank))):
            over = axis(dims[0], rank, "a mean over")
            return self._on_first(OpCall("mean", (over,), _kwargs(keep=(bool(keep), False))))
        if rank < 3 or spatial != list(range(2, rank)):
            return Unmapped("a mean over several axes other than all the spatial ones")
        calls = [OpCall("adaptive_avgpool", (1,))]
        if not keep:
            calls.append(OpCall("flatten"))
        return self._on_first(*calls)

    function_mean = method_mean

    # ------------------------------------------------------------ shapes and layout

    def function_flatten(self) -> Mapping:
        start = self.ctx.value(self.ctx.arg(1, "start_dim", 0))
        end = self.ctx.value(self.ctx.arg(2, "end_dim", -1))
        rank = len(self._in_shape)
        first = axis(start % rank, rank, "a flatten that merges")
        last = axis(end, rank, "a flatten that merges")
        return self._on_first(OpCall("flatten", (), _kwargs(start=(first, 0), end=(last, -1))))

    method_flatten = function_flatten

    def method_view(self) -> Mapping:
        src, out = self._in_shape, self._out_shape
        source = self.node.args[0]
        if isinstance(source, fx.Node) and source.op == "get_attr":
            return Unmapped(f"a reshape of the parameter '{source.target}' (a spec's parameter "
                            f"has the shape the state_dict stores)")
        if out[:1] != src[:1]:
            return Unmapped("a reshape that changes the batch axis")
        for start in range(1, len(src)):
            if out == src[:start] + (math.prod(src[start:]),):
                return self._on_first(OpCall("flatten", (), _kwargs(start=(start - 1, 0))))
        return self._on_first(OpCall("reshape", (list(out[1:]),)))

    method_reshape = function_reshape = method_unsqueeze = method_squeeze = method_view
    function_unsqueeze = function_squeeze = method_view

    def method_permute(self) -> Mapping:
        args = self.node.args[1:] or (self.node.kwargs.get("dims"),)
        dims = self.ctx.value(list(args[0]) if len(args) == 1 and isinstance(
            args[0], (list, tuple)) else list(args))
        return self._permute([d % len(self._in_shape) for d in dims])

    def function_permute(self) -> Mapping:
        dims = self.ctx.value(self.ctx.arg(1, "dims"))
        return self._permute([d % len(self._in_shape) for d in dims])

    def _permute(self, dims: list[int]) -> Mapping:
        if dims[0] != 0:
            return Unmapped("a permutation that moves the batch axis")
        return self._on_first(OpCall("permute", ([d - 1 for d in dims[1:]],)))

    def function_transpose(self) -> Mapping:
        rank = len(self._in_shape)
        a, b = (axis(self.ctx.value(self.ctx.arg(i, name)) % rank, rank, "a transpose of")
                for i, name in ((1, "dim0"), (2, "dim1")))
        return self._on_first(OpCall("transpose", (a, b)))

    method_transpose = function_transpose

    def method_contiguous(self) -> Mapping:
        return Alias(self.node.args[0])

    def method_expand(self) -> Mapping:
        source = self.node.args[0]
        if source.op == "get_attr" and self._out_shape[1:] == self.ctx.shape(source)[1:]:
            return Alias(source)  # a parameter stretched to the batch: parameter(batch=true)
        return Unmapped("expand of a tensor other than a parameter to the batch")

    def function_narrow(self) -> Mapping:
        dim = self.ctx.value(self.ctx.arg(1, "dim")) % len(self._in_shape)
        start = self.ctx.value(self.ctx.arg(2, "start"))
        length = self.ctx.value(self.ctx.arg(3, "length"))
        return self._slice(dim, start, start + length)

    method_narrow = function_narrow

    def _slice(self, dim: int, start: int, stop: int) -> Mapping:
        kwargs = _kwargs(axis=(axis(dim, len(self._in_shape), "a slice of"), 0))
        return Layers([OpCall("slice", (start, stop), kwargs)], [self.node.args[0]])

    def method_chunk(self) -> Mapping:
        return Value()  # its items are mapped where they are taken (`function_getitem`)

    method_split = method_unbind = function_split = function_chunk = function_unbind = \
        method_chunk

    def function_getitem(self) -> Mapping:
        source, index = self.node.args[0], self.node.args[1]
        if isinstance(self.ctx.values.get(source), torch.Tensor):
            return self._index(index)
        if not self.node.users:
            return Value()  # an item no one reads (`y, _ = pool(x)`): nothing to compute
        if isinstance(self.ctx.earlier.get(self._made_by(source)), Unmapped):
            return Alias(source)  # an item of a call reported itself (an LSTM's output)
        if isinstance(index, slice):
            return Value()  # some of x.chunk()'s tensors: their users take the items
        source, index = self._unsliced(source, self.ctx.value(index))
        if source.op == "call_module":
            return self._module_item(source, index)
        name = getattr(source.target, "__name__", source.target)
        if source.op in ("call_method", "call_function") and name in _SPLITS:
            return self._item(source, index)
        return Unmapped("an item of a value netdsl cannot follow")

    def _made_by(self, node: fx.Node) -> fx.Node:
        """The node whose value `node` is (through items of a call that stand for it)."""
        while isinstance(self.ctx.earlier.get(node), Alias):
            node = self.ctx.earlier[node].source  # type: ignore[union-attr]
        return node

    def _unsliced(self, source: fx.Node, index: int) -> tuple[fx.Node, int]:
        """An item of some of a tuple's items (`x.chunk(4)[1:][0]`) as the tuple's item."""
        while source.op == "call_function" and source.target is operator.getitem \
                and isinstance(source.args[1], slice):
            items, chosen = source.args
            bounds = slice(*(self.ctx.value(b) for b in (chosen.start, chosen.stop,
                                                         chosen.step)))
            index = range(len(self.ctx.values[items]))[bounds][index]
            source = items
        return source, index

    def _module_item(self, source: fx.Node, index: int) -> Mapping:
        """Item `index` of a leaf module's tuple: the first is its output, which its layer
        gives (attention's, a max pooling's that also returns indices); no operator gives the
        others."""
        if index == 0:
            return Alias(source)
        module = self.ctx.model.get_submodule(str(source.target))
        what = _MORE_RESULTS.get(type(module).__name__, "not its output")
        return Unmapped(f"item {index} of what {type(module).__qualname__} returns ({what}); "
                        f"a spec's layer gives only the module's output")

    def _item(self, source: fx.Node, index: int) -> Mapping:
        """Item `index` of x.chunk / x.split / x.unbind: a slice or a select of x."""
        name = getattr(source.target, "__name__", source.target)
        tensor = source.args[0]
        rank = len(self.ctx.shape(tensor))
        ctx = Context(source, self.ctx.values, self.ctx.model)
        dim = self.ctx.value(ctx.arg(2 if name != "unbind" else 1, "dim", 0)) % rank
        kwargs = _kwargs(axis=(axis(dim, rank, "a split of"), 0))
        if name == "unbind":
            return Layers([OpCall("select", (index,), kwargs)], [tensor])
        sizes = [t.shape[dim] for t in self.ctx.values[source]]
        start = sum(sizes[:index])
        return Layers([OpCall("slice", (start, start + sizes[index]), kwargs)], [tensor])

    def _index(self, index: Any) -> Mapping:
        """x[:, i] (select) or x[:, a:b] (slice) on one axis after the batch."""
        items = index if isinstance(index, tuple) else (index,)
        ellipsis = next((k for k, item in enumerate(items) if item is Ellipsis), None)
        if ellipsis is not None:  # `x[..., 0]`: every axis the other items do not index
            every = (slice(None),) * (len(self._in_shape) - len(items) + 1)
            items = items[:ellipsis] + every + items[ellipsis + 1:]
        if not items or items[0] != slice(None):
            return Unmapped("indexing of the batch axis")
        chosen = [(d, item) for d, item in enumerate(items) if item != slice(None)]
        if len(chosen) != 1:
            return Unmapped("indexing of several axes at once")
        dim, item = chosen[0]
        if isinstance(item, int):
            call = OpCall("select", (item,), _kwargs(axis=(dim - 1, 0)))
            return Layers([call], [self.node.args[0]])
        if isinstance(item, slice) and item.step in (None, 1):
            # bounds the model computed (PiT's `x[:, :token_length]`) are the traced values
            bounds = slice(self.ctx.value(item.start), self.ctx.value(item.stop))
            if not all(b is None or type(b) is int for b in (bounds.start, bounds.stop)):
                return Unmapped("a slice whose bounds are not whole numbers")
            start, stop, _ = bounds.indices(self._in_shape[dim])
            return self._slice(dim, start, stop)
        return Unmapped("indexing other than one integer or one slice")

    # ------------------------------------------------------------ wrapped library functions

    def function_channel_shuffle(self) -> Mapping:
        return self._on_first(OpCall("channel_shuffle", (self.ctx.value(
            self.ctx.arg(1, "groups")),)))

    def function__patch_merging_pad(self) -> Mapping:
        return self._on_first(OpCall("patch_merge", (2,)))

    def function__assert(self) -> Mapping:
        return Value()


def _size_of(arg: Any) -> fx.Node | None:
    """The tensor whose spatial size `arg` is, when it is `t.shape[-2:]` (or `t.shape[2:]`)."""
    if not isinstance(arg, fx.Node) or arg.target is not operator.getitem:
        return None
    source, index = arg.args
    if not isinstance(source, fx.Node) or not isinstance(index, slice):
        return None
    if source.op == "call_function" and source.target is getattr and source.args[1] == "shape":
        return source.args[0]
    if source.op == "call_method" and source.target == "size":
        return source.args[0]
    return None


def _divided_by(c: float) -> OpCall:
    """`x / c` as `scale(1 / c)` where the reciprocal is exact (c a power of two that float32
    holds), so that torch's product equals its quotient bit for bit; else as
    `scale(c, divide=true)`."""
    mantissa, exponent = math.frexp(c)
    if abs(mantissa) == 0.5 and -125 < exponent < 126:
        return OpCall("scale", (1 / c,))
    return OpCall("scale", (c,), (("divide", True),))
