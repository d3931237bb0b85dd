"""`expect` names every layer the stats table prints: the calls of a shared module (`head`,
`head#2`, ...), positions (`features.0`), quoted labels (`"stage-1".conv`), relative to the body
the `expect` is in; a wrong name is a located error with a did-you-mean. Each figure an
expectation reads is checked against torch: a call's output shape by a forward hook on the
shared submodule, its MACs by FlopCounterMode on that call, the weights by counting them."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import netdsl

SPEC = """block tower(features: tensors) {
    shared head: conv(4, 3, p=1)
    outs = [from f -> head for f in features]
    expect head#2.output == HEAD_2_SHAPE
    expect head#2.macs == HEAD_2_MACS
    output outs
}
network n {
    input x: [3, 16, 16]
    p: maxpool(2)
    shared stem: conv(5, 1)
    s1 = from x -> stem
    s2 = from p -> stem
    t: tower([s1, s2])
    "stage-1": { from s2 -> conv(6, 3) -> relu }
    expect stem.params == STEM_PARAMS
    expect stem#2.params == 0
    expect stem.output == STEM_1_SHAPE
    expect stem#2.output == STEM_2_SHAPE
    expect stem.macs == STEM_1_MACS and stem#2.macs == STEM_2_MACS
    expect t.head.params == HEAD_PARAMS and t.head#2.params == 0
    expect t.head#2.shape == HEAD_2_SHAPE and t.head#2.c == 4 and t.head#2.h == 8
    expect t.head#2.macs == HEAD_2_MACS
    expect t."head#2".macs == HEAD_2_MACS and "t.head#2".macs == HEAD_2_MACS
    expect "stage-1".0.params == STAGE_PARAMS and "stage-1"."0".params == STAGE_PARAMS
    expect "stage-1".1.output == STAGE_SHAPE
    expect t.head#2.rf.size == [6, 6] and stem#2.rf.stride == [2, 2]
    output t
}"""


def _calls(module: torch.nn.Module, run) -> list[tuple[tuple[int, ...], int]]:
    """(output shape without the batch, MACs) of each call of `module` while `run` runs."""
    inputs: list[torch.Tensor] = []
    hook = module.register_forward_hook(lambda m, args, out: inputs.append(args[0]))
    run()
    hook.remove()
    calls = []
    for t in inputs:
        with FlopCounterMode(display=False) as counter:
            out = module(t)
        calls.append((tuple(out.shape[1:]), counter.get_total_flops() // 2))
    return calls


def _torch_figures() -> dict[str, str]:
    # (the PyTorch lowering takes identifiers only as scope labels, and outputs every group:
    # the same module, named so, with the stage an output)
    built = SPEC.replace("expect", "# expect").replace('"stage-1"', "stage1") \
        .replace("output t\n", "output t, stage1\n")
    model = netdsl.build(netdsl.load(built)).eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        stem = _calls(model.stem, lambda: model(x))
        head = _calls(model.t.head, lambda: model(x))
        stage = model.stage1
        staged = stage(model.stem(torch.nn.functional.max_pool2d(x, 2)))
    params = {name: sum(p.numel() for p in m.parameters())
              for name, m in (("stem", model.stem), ("head", model.t.head),
                              ("stage", stage[0]))}
    assert len(stem) == len(head) == 2 and stem[0][0] != stem[1][0]
    return {"STEM_PARAMS": params["stem"], "HEAD_PARAMS": params["head"],
            "STAGE_PARAMS": params["stage"], "STAGE_SHAPE": list(staged.shape[1:]),
            "STEM_1_SHAPE": list(stem[0][0]), "STEM_2_SHAPE": list(stem[1][0]),
            "STEM_1_MACS": stem[0][1], "STEM_2_MACS": stem[1][1],
            "HEAD_2_SHAPE": list(head[1][0]), "HEAD_2_MACS": head[1][1]}


def _spec(figures: dict) -> str:
    text = SPEC
    for name in sorted(figures, key=len, reverse=True):  # STEM_1_MACS before STEM_1
        text = text.replace(name, str(figures[name]))
    return text


def test_every_call_of_a_shared_module_is_named_as_the_table_names_it():
    figures = _torch_figures()
    net = netdsl.load(_spec(figures))
    assert net.check() == []
    names = [r.name for r in net.stats().layers]
    assert {"stem", "stem#2", "t.head", "t.head#2", "stage-1.0"} <= set(names)


def test_a_wrong_figure_of_a_later_call_fails_with_the_figures():
    figures = _torch_figures()
    wrong = dict(figures, HEAD_2_MACS=figures["HEAD_2_MACS"] + 1)
    messages = [d.message for d in netdsl.load(_spec(wrong)).check()]
    got = f"{figures['HEAD_2_MACS']:,}"
    assert f"expectation failed: got {got}, expected == {int(got.replace(',', '')) + 1:,}" \
        in " ".join(messages)


@pytest.mark.parametrize("expectation, message, hint", [
    ("stem#3.params == 0", "unknown name 'stem#3'", "did you mean 'stem#2'?"),
    ("t.head#3.params == 0", "'t' has no layer 'head#3'", "did you mean 'head#2'"),
    ("t.hed.params == 0", "'t' has no layer or figure 'hed'", "did you mean 'head'"),
    ('"stage-1".7.params == 0', "'stage-1' has no layer '7'", "its layers: 0, 1"),
    ('"stage-2".params == 0', 'no layer or tensor is named "stage-2"',
     "did you mean 'stage-1'"),
    ("stem#2.parms == 0", "'stem#2' has no figure 'parms'", "did you mean 'params'?"),
    ("stem == 1", "expectation failed: got the layer 'stem', expected == 1",
     "compare one figure of it: stem.params"),
])
def test_a_wrong_name_is_a_located_error(expectation, message, hint):
    text = _spec(dict.fromkeys(("STEM_PARAMS", "HEAD_PARAMS", "STAGE_PARAMS", "STEM_1_MACS",
                                "STEM_2_MACS", "HEAD_2_MACS"), 0)
                 | dict.fromkeys(("STEM_1_SHAPE", "STEM_2_SHAPE", "HEAD_2_SHAPE",
                                  "STAGE_SHAPE"), "[0]"))
    head, _, _ = text.rpartition("}")
    net = netdsl.load(head + f"    expect {expectation}\n}}")
    (problem,) = [d for d in net.check() if d.span.line == text.count("\n") + 1]
    assert problem.message == message and hint in (problem.help or "")
    assert problem.span.col == 12


def test_a_shared_modules_name_in_expect_is_its_first_call():
    """`head` in an `expect` is the first call's row (the module's weights), not the module
    value the body binds to the name."""
    net = netdsl.load("network n {\n    input x: [3, 8, 8]\n    shared head: conv(3, 3, p=1)\n"
                      "    head -> head\n    expect head.params == 84 and head.output == "
                      "[3, 8, 8]\n    expect head#2.params == 0\n}")
    assert net.check() == []
    assert net.stats().params == 84 == 3 * 3 * 9 + 3


@pytest.mark.slow  # torchvision's RetinaNet head at 800x800
def test_retinanets_shared_class_logits_by_call(tmp_path):
    """The reference's example: the zoo's RetinaNet names the class logits of its second level
    as `cls_logits#2`, with torchvision's RetinaNetHead's figures for that call (its head run
    on the five levels' sizes at 800 x 800: 100, 50, 25, 13, 7)."""
    from torchvision.models.detection.retinanet import RetinaNetHead

    from tests.conftest import SPECS

    head = RetinaNetHead(256, 9, 91).eval()
    logits = head.classification_head.cls_logits
    shapes: list[list[int]] = []
    hook = logits.register_forward_hook(lambda m, a, out: shapes.append(list(out.shape[1:])))
    with torch.no_grad():
        head([torch.randn(1, 256, n, n) for n in (100, 50, 25, 13, 7)])
    hook.remove()
    text = (SPECS / "retinanet_resnet50_fpn.net").read_text()
    body, _, _ = text.rpartition("}")
    weights = sum(p.numel() for p in logits.parameters())
    spec = tmp_path / "retinanet.net"
    spec.write_text(body + f"""
    expect head.classification_head.cls_logits.params == {weights}
    expect head.classification_head.cls_logits#2.params == 0
    expect head.classification_head.cls_logits#2.shape == {shapes[1]}
    expect head.classification_head.cls_logits#5.shape == {shapes[4]}
    expect head.classification_head.cls_logits#2.rf.size == [635, 635]
}}
""")
    assert netdsl.load(spec, include=[SPECS]).check() == []
