"""Leaf modules: which torch.nn (and torchvision) module is which netdsl operator, with which
arguments. Only these exact classes are leaves; a subclass may override `forward`, so torch.fx
traces through it instead.

One method per class, named as the class; each returns the operator call(s), or `Unmapped` with
the reason when the instance uses an option the operator does not have.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from netdsl.backends.pytorch.importer.mapping import (
    Alias,
    Context,
    Layers,
    Mapping,
    OpCall,
    Unmapped,
    Word,
    axis,
)

# The classes mapped here besides torch.nn's, by module and name (imported only if present).
OTHER_CLASSES = {
    "torchvision.ops.misc": ("Permute",),
    "torchvision.ops.stochastic_depth": ("StochasticDepth",),
    "torchvision.models.convnext": ("LayerNorm2d",),
    "torchvision.models.swin_transformer": ("ShiftedWindowAttention",),
    # nn.GroupNorm whose forward calls F.group_norm itself (or timm's fast kernel, off unless
    # asked for), with one group by default in GroupNorm1 (PoolFormer's)
    "timm.layers.norm": ("LayerNorm2d", "GroupNorm", "GroupNorm1"),
    "timm.layers.norm_act": ("BatchNormAct2d", "GroupNormAct"),
    "timm.layers.linear": ("Linear",),  # nn.Linear whose forward casts for TorchScript
    "timm.layers.conv2d_same": ("Conv2dSame",),
}


def _compact(value: Any) -> Any:
    """(3, 3) -> 3; other tuples to lists."""
    if isinstance(value, (tuple, list)):
        items = [_compact(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else items
    return value


def _kwargs(**pairs: tuple[Any, Any]) -> tuple[tuple[str, Any], ...]:
    """Keyword arguments whose value differs from netdsl's default: name=(value, default)."""
    return tuple((k, _compact(v)) for k, (v, d) in pairs.items()
                 if _compact(v) != _compact(d))


def _one(name: str, *args: Any, **kwargs: tuple[Any, Any]) -> list[OpCall]:
    return [OpCall(name, args, _kwargs(**kwargs))]


# A subclass of a described torch.nn class that overrides only these still runs as it does.
_CONSTRUCTION = frozenset({"__init__", "reset_parameters", "extra_repr", "__repr__"})


class Modules:
    """Maps a leaf module's call to operator calls."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def handles(module: nn.Module) -> bool:
        return Modules.described_as(module) is not None

    @staticmethod
    def described_as(module: nn.Module) -> type | None:
        """The class whose operator describes `module`: its own, or the one a subclass only
        builds differently (torchvision's Conv3DSimple, an nn.Conv3d: it overrides none of that
        class's methods but how it is made, so it runs as that class)."""
        mro = type(module).__mro__
        base = next((cls for cls in mro if Modules._mapped(cls)), None)
        if base is None:
            return None
        for cls in mro[:mro.index(base)]:
            if any(name not in _CONSTRUCTION and callable(getattr(base, name, None))
                   for name in vars(cls)):
                return None
        return base

    @staticmethod
    def _mapped(cls: type) -> bool:
        if not hasattr(Modules, cls.__name__) or cls.__name__.startswith("_"):
            return False
        return cls.__module__.startswith("torch.nn.") or cls.__name__ in OTHER_CLASSES.get(
            cls.__module__, ())

    def map(self, module: nn.Module) -> Mapping:
        described = self.described_as(module)
        if described is None:
            return Unmapped(f"netdsl has no operator for {type(module).__module__}."
                            f"{type(module).__qualname__}")
        tensors = [a for a in self.ctx.node.args if self.ctx.is_tensor(a)]
        result = getattr(self, described.__name__)(module)
        if isinstance(result, list):
            return self._tied(module, Layers(result, tensors[:1]))
        return result

    def _tied(self, module: nn.Module, layers: Layers) -> Mapping:
        """`layers`, where the module holds no parameter of a module called before it; a
        linear layer whose weight is that of a linear or embedding layer called before it (a
        tied autoencoder's decoder, GPT-2's output layer) takes it by `weight=`, the language's
        tie. Any other sharing is refused: the spec would count and load the tensor twice."""
        modules = {node: self.ctx.model.get_submodule(str(node.target))
                   for node, mapping in self.ctx.earlier.items()
                   if node.op == "call_module" and isinstance(mapping, Layers)}
        earlier = {id(p): node for node, other in modules.items() if other is not module
                   for p in other.parameters()}  # the module itself again: a shared module
        shared = [(name, earlier[id(p)]) for name, p in module.named_parameters()
                  if id(p) in earlier]
        if not shared:
            return layers
        (name, holder), *more = shared
        if isinstance(module, nn.Linear) and name == "weight" and not more and isinstance(
                self.ctx.model.get_submodule(str(holder.target)), (nn.Linear, nn.Embedding)):
            call = layers.calls[0]
            layers.calls[0] = OpCall(call.name, call.args, call.kwargs + (("weight", holder),))
            return layers
        return Unmapped(f"it shares its {name} with module '{holder.target}' (tied weights); a "
                        f"spec ties only a linear layer's weight, to that of a linear or "
                        f"embedding layer called before it (`linear(out, weight=label)`)")

    @property
    def _input(self) -> tuple[int, ...]:
        return self.ctx.shape(self.ctx.node.args[0])

    # ------------------------------------------------------------ convolution and linear

    def _conv(self, m: nn.Module, name: str, padding: Any = None) -> list[OpCall] | Unmapped:
        if m.padding_mode != "zeros":
            return Unmapped(f"padding_mode='{m.padding_mode}' (the language pads with zeros)")
        if padding is None:
            padding = Word(m.padding) if isinstance(m.padding, str) else m.padding
        extra = {"op": (m.output_padding, 0)} if name == "conv_transpose" else {}
        return _one(name, m.out_channels, _compact(m.kernel_size), s=(m.stride, 1),
                    p=(padding, 0), **extra, d=(m.dilation, 1), groups=(m.groups, 1),
                    bias=(m.bias is not None, True))

    def Conv1d(self, m: nn.Conv1d) -> Any:  # noqa: N802 - named as the class it maps
        return self._conv(m, "conv")

    Conv2d = Conv3d = Conv1d  # noqa: N815

    def Conv2dSame(self, m: nn.Conv2d) -> Any:  # noqa: N802 - timm's: TensorFlow's SAME
        return self._conv(m, "conv", Word("same"))

    def ConvTranspose2d(self, m: nn.ConvTranspose2d) -> Any:  # noqa: N802
        return self._conv(m, "conv_transpose")

    ConvTranspose1d = ConvTranspose3d = ConvTranspose2d  # noqa: N815

    def Linear(self, m: nn.Linear) -> Any:  # noqa: N802
        return _one("linear", m.out_features, bias=(m.bias is not None, True))

    def Embedding(self, m: nn.Embedding) -> Any:  # noqa: N802
        if m.padding_idx is not None or m.max_norm is not None:
            return Unmapped("an embedding with padding_idx or max_norm")
        return _one("embedding", m.num_embeddings, m.embedding_dim)

    # ------------------------------------------------------------ normalisation

    def BatchNorm2d(self, m: nn.BatchNorm2d) -> Any:  # noqa: N802
        if not m.track_running_stats or m.momentum is None:
            return Unmapped("batch norm without running statistics or with momentum=None")
        return _one("bn", eps=(m.eps, 1e-5), momentum=(m.momentum, 0.1), affine=(m.affine, True))

    BatchNorm1d = BatchNorm3d = BatchNorm2d  # noqa: N815

    def BatchNormAct2d(self, m: nn.Module) -> Any:  # noqa: N802 - timm's norm, then act
        norm = self.BatchNorm2d(m)
        return norm if isinstance(norm, Unmapped) else self._then(norm, m.drop, m.act)

    def GroupNormAct(self, m: nn.Module) -> Any:  # noqa: N802
        return self._then(self.GroupNorm(m), m.drop, m.act)

    def _then(self, calls: list[OpCall], *modules: nn.Module) -> list[OpCall] | Unmapped:
        """`calls` followed by the calls of the modules a norm layer applies after itself
        (timm's `drop` and `act`)."""
        for module in modules:
            if isinstance(module, nn.Identity):
                continue
            described = self.described_as(module)
            more = getattr(self, described.__name__)(module) if described is not None \
                else Unmapped(f"netdsl has no operator for {type(module).__qualname__}")
            if not isinstance(more, list):
                reason = more.reason if isinstance(more, Unmapped) else "not one operator"
                return Unmapped(f"a norm layer followed by {type(module).__qualname__}: {reason}")
            calls = calls + more
        return calls

    def LayerNorm(self, m: nn.LayerNorm) -> Any:  # noqa: N802
        axes = len(m.normalized_shape)
        if tuple(self._input[-axes:]) != tuple(m.normalized_shape):
            return Unmapped("a layer norm over axes that are not the input's last ones")
        return _one("layernorm", axes=(axes, 1), eps=(m.eps, 1e-5),
                    affine=(m.elementwise_affine, True),
                    bias=(not m.elementwise_affine or m.bias is not None, True))

    def LayerNorm2d(self, m: nn.LayerNorm) -> Any:  # noqa: N802
        return _one("layernorm2d", eps=(m.eps, 1e-5), affine=(m.elementwise_affine, True))

    def GroupNorm(self, m: nn.GroupNorm) -> Any:  # noqa: N802
        return _one("groupnorm", m.num_groups, eps=(m.eps, 1e-5), affine=(m.affine, True))

    GroupNorm1 = GroupNorm  # noqa: N815 - timm's: nn.GroupNorm made with one group

    def InstanceNorm2d(self, m: nn.InstanceNorm2d) -> Any:  # noqa: N802
        if m.track_running_stats:
            return Unmapped("instance norm with running statistics")
        return _one("instancenorm", eps=(m.eps, 1e-5), affine=(m.affine, False))

    InstanceNorm1d = InstanceNorm3d = InstanceNorm2d  # noqa: N815

    def LocalResponseNorm(self, m: nn.LocalResponseNorm) -> Any:  # noqa: N802
        return _one("lrn", size=(m.size, 5), alpha=(m.alpha, 1e-4), beta=(m.beta, 0.75),
                    k=(m.k, 1.0))

    # ------------------------------------------------------------ activations

    def ReLU(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("relu")

    def ReLU6(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("relu6")

    def SiLU(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("silu")

    def Hardswish(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("hardswish")

    def Hardsigmoid(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("hardsigmoid")

    def Sigmoid(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("sigmoid")

    def Tanh(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("tanh")

    def GELU(self, m: nn.GELU) -> Any:  # noqa: N802
        return _one("gelu", approximate=(Word(m.approximate), "none"))

    def LeakyReLU(self, m: nn.LeakyReLU) -> Any:  # noqa: N802
        return _one("leaky_relu", slope=(m.negative_slope, 0.01))

    def ELU(self, m: nn.ELU) -> Any:  # noqa: N802
        return _one("elu", alpha=(m.alpha, 1.0))

    def PReLU(self, m: nn.PReLU) -> Any:  # noqa: N802
        return _one("prelu", channels=(m.num_parameters > 1, False))

    def Softmax(self, m: nn.Softmax) -> Any:  # noqa: N802
        if m.dim is None:
            return Unmapped("softmax without dim")
        return _one("softmax", axis=(axis(m.dim, len(self._input), "a softmax over"), 0))

    # ------------------------------------------------------------ pooling

    def MaxPool2d(self, m: nn.MaxPool2d) -> Any:  # noqa: N802
        return _one("maxpool", _compact(m.kernel_size), s=(m.stride, m.kernel_size),
                    p=(m.padding, 0), d=(m.dilation, 1), ceil=(m.ceil_mode, False),
                    indices=(m.return_indices, False))

    MaxPool1d = MaxPool3d = MaxPool2d  # noqa: N815

    def AvgPool2d(self, m: nn.AvgPool2d) -> Any:  # noqa: N802
        if getattr(m, "divisor_override", None) is not None:  # nn.AvgPool1d has none
            return Unmapped("average pooling with divisor_override")
        return _one("avgpool", _compact(m.kernel_size), s=(m.stride, m.kernel_size),
                    p=(m.padding, 0), ceil=(m.ceil_mode, False),
                    count_include_pad=(m.count_include_pad, True))

    AvgPool1d = AvgPool3d = AvgPool2d  # noqa: N815

    def AdaptiveAvgPool2d(self, m: nn.Module) -> Any:  # noqa: N802
        if m.output_size is None or (isinstance(m.output_size, tuple) and None in m.output_size):
            return Unmapped("adaptive pooling that keeps an axis (output size None)")
        name = "adaptive_avgpool" if "Avg" in type(m).__name__ else "adaptive_maxpool"
        return _one(name, _compact(m.output_size))

    AdaptiveAvgPool1d = AdaptiveAvgPool3d = AdaptiveAvgPool2d  # noqa: N815
    AdaptiveMaxPool1d = AdaptiveMaxPool2d = AdaptiveMaxPool3d = AdaptiveAvgPool2d  # noqa: N815

    # ------------------------------------------------------------ regularisation, shapes

    def Dropout(self, m: nn.Dropout) -> Any:  # noqa: N802
        return _one("dropout", p=(m.p, 0.5))

    def Dropout2d(self, m: nn.Dropout2d) -> Any:  # noqa: N802
        return _one("dropout2d", p=(m.p, 0.5))

    Dropout1d = Dropout3d = Dropout2d  # noqa: N815

    def StochasticDepth(self, m: nn.Module) -> Any:  # noqa: N802
        return _one("stochastic_depth", m.p, mode=(Word(m.mode), "row"))

    def Identity(self, m: nn.Module) -> Any:  # noqa: N802
        return Alias(self.ctx.node.args[0])

    def Flatten(self, m: nn.Flatten) -> Any:  # noqa: N802
        rank = len(self._input)
        return _one("flatten", start=(axis(m.start_dim, rank, "a flatten that merges"), 0),
                    end=(axis(m.end_dim, rank, "a flatten that merges"), -1))

    def Permute(self, m: nn.Module) -> Any:  # noqa: N802
        dims = list(m.dims)
        if dims[0] != 0:
            return Unmapped("a permutation that moves the batch axis")
        return _one("permute", [d - 1 for d in dims[1:]])

    def ChannelShuffle(self, m: nn.ChannelShuffle) -> Any:  # noqa: N802
        return _one("channel_shuffle", m.groups)

    def PixelShuffle(self, m: nn.PixelShuffle) -> Any:  # noqa: N802
        return _one("pixel_shuffle", m.upscale_factor)

    def PixelUnshuffle(self, m: nn.PixelUnshuffle) -> Any:  # noqa: N802
        return _one("pixel_unshuffle", m.downscale_factor)

    def Upsample(self, m: nn.Upsample) -> Any:  # noqa: N802
        if m.recompute_scale_factor:
            return Unmapped("upsampling with recompute_scale_factor")
        return _one("upsample", scale=(_compact(m.scale_factor), None),
                    size=(_compact(m.size), None), mode=(Word(m.mode), "nearest"),
                    align_corners=(m.align_corners, None))

    # ------------------------------------------------------------ attention

    def MultiheadAttention(self, m: nn.MultiheadAttention) -> Any:  # noqa: N802
        args = self.ctx.node.args
        query = args[0] if args else self.ctx.node.kwargs.get("query")
        rest = list(args[1:3]) + [self.ctx.node.kwargs.get(k) for k in ("key", "value")
                                  if k in self.ctx.node.kwargs]
        if any(r is not query for r in rest):
            return Unmapped("attention whose keys or values are not its queries")
        if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None \
                or m.add_zero_attn:
            return Unmapped("attention that is not batch_first self-attention without extra "
                            "key/value biases")
        for key in ("key_padding_mask", "attn_mask"):
            if self.ctx.node.kwargs.get(key) is not None:
                return Unmapped(f"attention with {key}")
        causal = bool(self.ctx.node.kwargs.get("is_causal", False))
        return Layers([OpCall("attention", (m.num_heads,), _kwargs(
            causal=(causal, False), bias=(m.in_proj_bias is not None, True),
            dropout=(m.dropout, 0.0)))], [query])

    def ShiftedWindowAttention(self, m: nn.Module) -> Any:  # noqa: N802
        if (m.qkv.bias is None) != (m.proj.bias is None):
            return Unmapped("window attention with a bias on only one of qkv and proj")
        return _one("window_attention", m.num_heads, window=(_compact(m.window_size), 7),
                    shift=(_compact(m.shift_size), 0), bias=(m.qkv.bias is not None, True),
                    dropout=(m.attention_dropout, 0.0))
