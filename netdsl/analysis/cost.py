"""Per-node parameters, buffers, MACs, FLOPs and connections, from each operator's rules.

Conventions: one multiply-accumulate of conv/linear/conv_transpose = 1 MAC, bias additions not
included (torchvision's published "GFLOPS" and torch's FlopCounterMode / 2). FLOPs = 2 x MACs +
the elementwise work each operator declares (`Op.flops`: bias adds, norms, activations, pools,
merges). Buffers include BatchNorm's num_batches_tracked, as torch's state_dict does.
"""

from __future__ import annotations

from netdsl.ir import Graph
from netdsl.ops.base import numel

COUNTS = ("params", "buffers", "macs", "flops", "connections")


def annotate_costs(graph: Graph) -> None:
    """Fill `params`, `buffers`, `macs`, `flops`, `connections`, `elements` in every node's meta."""
    for node in graph:
        meta = node.meta
        meta["elements"] = numel(node.shape)
        if node.op is None:
            meta.update(params=0, buffers=0, macs=0, flops=0, connections=0)
            continue
        ins = [graph[i].shape for i in node.inputs]
        out = node.shape
        op = node.op
        macs = op.macs(ins, out)
        meta.update(params=op.params(ins, out), buffers=op.buffers(ins, out), macs=macs,
                    flops=2 * macs + op.flops(ins, out), connections=op.connections(ins, out))
