"""The per-operator totals (`stats --format json`'s `by_op`, the table's MACs by operator)
against torch: each operator's count is the calls torch makes of that module type (forward
hooks), its MACs FlopCounterMode's count of those calls, its params the module's own; a shared
module counts every application and its weights once."""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netdsl

SPEC = """block tower(features: tensors) {
    shared head: conv(4, 3, p=1)
    outs = [from f -> head -> relu for f in features]
    output outs
}
network n {
    input x: [3, 16, 16]
    p: maxpool(2)
    shared stem: conv(5, 1)
    s1 = from x -> stem
    s2 = from p -> stem
    t: tower([s1, s2, s1])
    from s2 -> conv(6, 3) -> bn -> relu
    output t, s2
}"""

TYPES = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d}


def _torch_by_op(model: nn.Module) -> dict[str, dict[str, int]]:
    seen: list[tuple[str, nn.Module, torch.Tensor]] = []  # each call of a counted module
    hooks = [module.register_forward_hook(lambda m, args, out, op=op: seen.append((op, m, args[0])))
             for op, kind in TYPES.items() for module in model.modules()
             if isinstance(module, kind)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 16, 16))
    for h in hooks:
        h.remove()
    calls: Counter[str] = Counter()
    macs: Counter[str] = Counter()
    for op, module, x in seen:
        calls[op] += 1
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(x)
        macs[op] += counter.get_total_flops() // 2
    params = {op: sum(p.numel() for m in model.modules() if isinstance(m, kind)
                      for p in m.parameters(recurse=False))
              for op, kind in TYPES.items()}
    return {op: {"count": calls[op], "macs": macs[op], "params": params[op]} for op in TYPES}


def test_each_operator_counts_its_calls_macs_and_weights_as_torch_does():
    net = netdsl.load(SPEC)
    by_op = net.stats().by_op
    model = netdsl.build(SPEC).eval()
    expected = _torch_by_op(model)
    assert expected["conv"]["count"] == 6  # stem twice, head three times, one plain conv
    for op, figures in expected.items():
        ours = by_op[op]
        assert {k: ours[k] for k in figures} == figures, op
