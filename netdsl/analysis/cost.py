"""Per-node parameters, buffers, MACs, FLOPs and connections, from each operator's rules.

Conventions: one multiply-accumulate of conv/linear/conv_transpose = 1 MAC, bias additions not
included (torchvision's published "GFLOPS" and torch's FlopCounterMode / 2). FLOPs = 2 x MACs +
the elementwise work each operator declares (`Op.flops`: bias adds, norms, activations, pools,
merges). Buffers include BatchNorm's num_batches_tracked, as torch's state_dict does.
"""

from __future__ import annotations

from typing import Any

from netdsl.ops.base import Op, Shape

COUNTS = ("params", "buffers", "macs", "flops", "connections")
NO_COUNTS = (0, 0, 0, 0, 0)  # a network input's

Counts = tuple[int, int, int, int, int]


def set_counts(meta: dict[str, Any], counts: Counts) -> None:
    """Store `counts` in a node's meta under the names of `COUNTS`, in that order."""
    meta["params"], meta["buffers"], meta["macs"], meta["flops"], meta["connections"] = counts


def operator_counts(op: Op, ins: list[Shape], out: Shape) -> Counts:
    """One application's figures, in the order of `COUNTS`."""
    macs = op.macs(ins, out)
    return (op.params(ins, out), op.buffers(ins, out), macs, 2 * macs + op.flops(ins, out),
            op.connections(ins, out))
