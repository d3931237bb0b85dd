"""Per-node parameters, buffers, MACs, FLOPs and connections, from each operator's rules.

Conventions: one multiply-accumulate of conv/linear/conv_transpose = 1 MAC, bias additions not
included (torchvision's published "GFLOPS" and torch's FlopCounterMode / 2). FLOPs = 2 x MACs +
the elementwise work each operator declares (`Op.flops`: bias adds, norms, activations, pools,
merges). Buffers include BatchNorm's num_batches_tracked, as torch's state_dict does.
"""

from __future__ import annotations

from netdsl.ir import Graph
from netdsl.ops.base import Op, Shape, numel

COUNTS = ("params", "buffers", "macs", "flops", "connections")
_NO_COST = dict.fromkeys(COUNTS, 0)

Counts = tuple[int, int, int, int, int]


def annotate_costs(graph: Graph) -> None:
    """Fill `params`, `buffers`, `macs`, `flops`, `connections`, `elements` in every node's meta.

    A network repeats the same layer on the same shapes many times (every unit of a stage), so
    the rules run once per distinct operator and input shapes of this graph: operators are
    frozen and their rules depend on nothing else.
    """
    nodes = graph.nodes
    seen: dict[tuple[Op, tuple[Shape, ...]], Counts] = {}
    for node in nodes.values():
        meta = node.meta
        out = meta["shape"]
        meta["elements"] = numel(out)
        op = node.op
        if op is None:
            meta.update(_NO_COST)
            continue
        ins = tuple(nodes[i].meta["shape"] for i in node.inputs)
        key = (op, ins)
        counts = seen.get(key)
        if counts is None:
            counts = seen[key] = _counts(op, list(ins), out)
        meta.update(zip(COUNTS, counts, strict=True))


def _counts(op: Op, ins: list[Shape], out: Shape) -> Counts:
    macs = op.macs(ins, out)
    return (op.params(ins, out), op.buffers(ins, out), macs, 2 * macs + op.flops(ins, out),
            op.connections(ins, out))
