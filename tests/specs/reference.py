"""What a torch model says about itself: the reference the zoo's specs are checked against."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass
class Reference:
    """Counts of a torch model and one forward pass of it (MACs = FlopCounterMode FLOPs / 2)."""

    params: int
    buffers: int
    output: tuple[int, ...]
    macs: int
    holders: dict[str, tuple[int, int]]  # module name -> (params, buffers) it holds directly
    x: torch.Tensor | None = None
    y: torch.Tensor | None = None
    ours: torch.Tensor | None = None  # the netdsl-built module's output with these weights


def holders(model: nn.Module) -> dict[str, tuple[int, int]]:
    """The modules that hold parameters or buffers themselves, with how many of each."""
    out = {}
    for name, module in model.named_modules():
        p = sum(t.numel() for t in module.parameters(recurse=False))
        b = sum(t.numel() for t in module.buffers(recurse=False))
        if p or b:
            out[name] = (p, b)
    return out


def measure(model: nn.Module, side: int) -> Reference:
    """Run the model once in eval mode on a random 3 x side x side image, counting MACs."""
    model.eval()
    x = torch.randn(1, 3, side, side)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = model(x)
    return Reference(params=sum(p.numel() for p in model.parameters()),
                     buffers=sum(b.numel() for b in model.buffers()),
                     output=tuple(y.shape[1:]), macs=counter.get_total_flops() // 2,
                     holders=holders(model), x=x, y=y)
