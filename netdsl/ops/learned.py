"""Learned tensors that are not the weights of a layer: a parameter used as a tensor (ViT's class
token and position embedding, ConvNeXt's layer scale) and the embedding of integer tokens.

A `parameter` is a source: it reads nothing of its input (which only gives the batch size), so
its receptive field is "constant" and it adds nothing to a merge; it is stored, not computed, so
it is no activation. Its state-dict name is its label: `class_token: parameter(...)` on the
network is `class_token`, inside the block `encoder` it is `encoder.pos_embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass

from netdsl.errors import SpecError
from netdsl.ops import receptive as rf
from netdsl.ops.base import Op, attr, numel


@dataclass(frozen=True)
class Parameter(Op):
    """A learned tensor of `shape` (batch excluded), such as a class token or a layer scale."""

    name = "parameter"
    family = "learned"
    stored = True

    shape: tuple[int, ...] = attr(kind="shape")
    batch: bool = attr(False, kind="bool", doc="stored with a leading batch axis of 1 and "
                       "expanded to the batch (torchvision's class_token and pos_embedding); "
                       "without it the tensor broadcasts from the right (a layer scale)")
    value: float = attr(0.0, kind="float", doc="initial value (the mean, with std)")
    std: float = attr(0.0, kind="nonnegative", doc="standard deviation of a normal initialisation")

    def validate(self) -> None:
        if not self.shape or any(d < 1 for d in self.shape):
            raise SpecError(f"'parameter' shape must be a list of positive ints, got "
                            f"{list(self.shape)}", "value", help="e.g. parameter([1, 768])")

    def infer_shape(self, inputs):
        return self.shape

    def params(self, inputs, out):
        return numel(self.shape)

    def flops(self, inputs, out):
        return 0

    def receptive_field(self, inputs, out):
        return rf.CONSTANT

    def stored_shape(self) -> tuple[int, ...]:
        """The shape of the tensor in the state dict."""
        return (1, *self.shape) if self.batch else self.shape

    def summary(self, inputs):
        return f"parameter {'x'.join(map(str, self.shape))}"

    def saved(self, inputs, out):
        return ()  # a stored tensor, no activation


@dataclass(frozen=True)
class Embedding(Op):
    """A learned vector for each integer token id: [*positions] -> [*positions, dim]."""

    name = "embedding"
    family = "learned"

    vocab: int = attr(kind="size", doc="how many distinct token ids")
    dim: int = attr(kind="size", doc="the vector's width")

    def infer_shape(self, inputs):
        return inputs[0] + (self.dim,)

    def params(self, inputs, out):
        return self.vocab * self.dim

    def weight_shape(self, inputs):
        return (self.vocab, self.dim)

    def flops(self, inputs, out):
        return 0  # a lookup

    def id_count(self):
        return self.vocab

    def receptive_field(self, inputs, out):
        return rf.Embed(len(inputs[0]))

    def summary(self, inputs):
        return f"embedding {self.vocab} x {self.dim}"
