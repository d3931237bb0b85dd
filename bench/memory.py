"""Memory: netdsl's inference peak (`netdsl stats --batch N`) and training-step estimate
(`--train sgd|adam`) against the peak PyTorch allocates running the same network.

How torch is measured: a TorchDispatchMode (tests/analysis/test_memory.py's `LiveStorage`)
sees every tensor torch's operators make, including the ones autograd's backward makes, and
counts each storage from the operator that creates it until the last tensor on it is freed
(CPython frees at once): the peak of that sum is the peak of live storage, the accounting
torch's allocator would see on the CPU. The modules are the ones `netdsl.build` makes (the
code `netdsl compile` writes; its parameter count is checked against the spec's), on the
CPU, in float32.

- Inference: `out = model(x)` under `torch.no_grad()` at batch 1 and 8, parameters and
  buffers left out (netdsl's peak is of activations), the input counted.
- Training: a steady step (the optimizer's state made by a first step) of forward, a
  cross-entropy loss, backward, `optimizer.step()` and `zero_grad(set_to_none=True)`; the
  weights, buffers, batch and optimizer state that exist before the step are added once to
  the peak of what the step allocates. SGD with momentum 0.9 and Adam.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table  # noqa: E402

import netdsl  # noqa: E402
from tests.analysis.test_memory import LiveStorage  # noqa: E402

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "densenet121", "unet", "vit_b_16", "swin_t"]
ATTENTION = """\
Attention in a training step: `attention` (ViT-B/16) keeps what nn.MultiheadAttention's fused
path keeps (a copy of its input, q, k and v, its output and the kernel's log-sum-exp), and its
backward's busiest moment (the gradients of q, k and v put back and summed) is counted;
`window_attention` (Swin-T) keeps what the compiled module's steps keep (the windows, the
scaled q, k and v, the softmax of the scores, the heads' output); both checked tensor by tensor
against autograd's saved-tensor hooks in tests/analysis/test_training.py. GPT-2 is not in the
table: its loss over 50,257 words (a log-softmax and its gradient, the size of the logits),
which netdsl does not count, is a large part of its step, and on the CPU torch runs attention
with dropout through its unfused kernel."""
TRAIN_BATCH = {"unet": 2}
TRAIN_BATCH_WHY = """\
U-Net's training step is measured at batch 2, not 8: its maps are 64 x 568 x 568 at the
spec's 572 x 572 tile, and at batch 8 netdsl puts the step at 6.5 GB, more than a shared
machine should give one benchmark (batch 2: 1.9 GB, and eight minutes under load)."""
DEFAULT_TRAIN_BATCH = 8
MIB = 2 ** 20
NOTES = """\
netdsl's peak follows the compiled module (docs/language.md, "peak live activation bytes"):
the caller holds the network's input through the forward pass, and a block's caller holds
its inputs until the block returns (the argument of its `forward`, the loop variable of an
`nn.Sequential`); an activation the compiled module runs in place (`ReLU(inplace=True)`
after a convolution, a batch norm, an add) adds no tensor; a crop or a slice is a view, which
keeps its whole input alive. Earlier figures, which freed every tensor after its last reader
and counted an in-place ReLU and a crop as new tensors, were 13% under torch for ResNet-50
and MobileNetV2 (the input, 0.57 MiB a sample, and the first block's input, 0.77 MiB, both
held by Python frames at the peak) and 17% under for U-Net, whose peak, at the last
concatenation, holds the input and the whole first encoder map that the cropped skip keeps
alive (79 MiB a sample, where netdsl had counted a 38 MiB crop). Holding the inputs without
counting in-place activations would have put DenseNet-121 19% over (a transition's ReLU).
Each of these was traced tensor by tensor under the same dispatch mode.

ResNet-50 and MobileNetV2 have equal inference peaks by coincidence, at different layers:
2 x 96 x 112 x 112 = 3 x 256 x 56 x 56 elements (MobileNetV2's first expansion, its
convolution and batch norm; ResNet-50's first bottleneck, its third batch norm and the two
layers of its downsampling shortcut), with the network's input and a 16 x 112 x 112 or
64 x 56 x 56 block input (the same 200,704 elements) held beside them.
"""


def storage_bytes(tensors) -> int:
    seen = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(seen.values())


def inference_peak(model: torch.nn.Module, shape: tuple[int, ...], batch: int) -> int:
    ignore = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    mode = LiveStorage(ignore)
    with torch.no_grad(), mode:
        x = torch.zeros(batch, *shape)
        out = model(x)
        del out, x
    return mode.peak


def loss_of(out: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against class 0 (per pixel for a segmentation map)."""
    target = torch.zeros(out.shape[0], *out.shape[2:], dtype=torch.long)
    return torch.nn.functional.cross_entropy(out, target)


def training_peak(model: torch.nn.Module, shape: tuple[int, ...], batch: int,
                  optimizer_name: str) -> int:
    optimizer = (torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
                 if optimizer_name == "sgd" else torch.optim.Adam(model.parameters(), lr=1e-4))
    x = torch.randn(batch, *shape)
    for _ in range(2):  # the first step makes the optimizer's state; the second is measured
        held = [*model.parameters(), *model.buffers(), x,
                *(t for s in optimizer.state.values() for t in s.values() if t.dim() > 0)]
        mode = LiveStorage({t.untyped_storage().data_ptr() for t in held})
        with mode:
            loss = loss_of(model(x))
            loss.backward()
            del loss
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return storage_bytes(held) + mode.peak


def ratio(ours: int, theirs: int) -> str:
    r = ours / theirs
    return f"{r:.3f}" + ("" if abs(r - 1) <= 0.10 else " (outside 10%)")


def built(path: Path, net: netdsl.Network) -> torch.nn.Module:
    """The compiled module of the spec, checked to be that network (its parameter count)."""
    model = netdsl.build(path)
    count = sum(p.numel() for p in model.parameters())
    if count != net.stats().params:
        raise SystemExit(f"{path.name}: the built module has {count:,} parameters, the spec "
                         f"{net.stats().params:,}")
    return model


def peak_layer(net: netdsl.Network) -> str:
    """The layer during which netdsl's inference peak falls (the first, if several), and its
    operator."""
    curve = net.memory_curve()
    name = max(curve, key=lambda point: point[1])[0]
    return f"{name} ({net.stats().row(name).op})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--train", nargs="*", default=MODELS, metavar="MODEL",
                        help="the models whose training step is measured (default: all)")
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS,
                        metavar="MODEL",
                        help="the models measured (default: all)")
    args = parser.parse_args()
    train_models = set(args.train)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    inference_rows, training_rows = [], []
    training_gaps: list[float] = []
    for name in args.models:
        path = ROOT / "specs" / f"{name}.net"
        net = netdsl.load(path)
        shape = next(iter(net.stats().inputs.values()))
        model = built(path, net)
        model.eval()
        for batch in (1, 8):
            ours = net.stats(batch=batch).peak_activation_bytes
            theirs = inference_peak(model, shape, batch)
            inference_rows.append([name, f"{net.stats().params:,}", batch, peak_layer(net),
                                   f"{ours / MIB:,.2f}", f"{theirs / MIB:,.2f}",
                                   ratio(ours, theirs)])
            print("memory:", *inference_rows[-1], file=sys.stderr)
        if name not in train_models:
            continue
        model.train()
        batch = TRAIN_BATCH.get(name, DEFAULT_TRAIN_BATCH)
        for optimizer in ("sgd", "adam"):
            t = net.stats(batch=batch, train=optimizer).training
            theirs = training_peak(model, shape, batch, optimizer)
            training_gaps.append(abs(t.peak_bytes / theirs - 1))
            training_rows.append([name, batch, optimizer, f"{t.saved_bytes / MIB:,.1f}",
                                  t.peak_phase, f"{t.peak_bytes / MIB:,.1f}",
                                  f"{theirs / MIB:,.1f}", ratio(t.peak_bytes, theirs)])
            print("memory:", *training_rows[-1], file=sys.stderr)
        print(f"memory: {name} done", file=sys.stderr)
    load_after = os.getloadavg()[0]
    print(__doc__.split("\n\n", 1)[1].strip())
    print(f"\nLoad average (2 cores, a shared machine) {load_before:.1f} at the start and "
          f"{load_after:.1f} at the end:\nload slows the measurement, it does not change "
          "what is allocated.")
    print("\nInference peak (activations, MiB; netdsl's peak layer):\n")
    print(table(["model", "params", "batch", "netdsl's peak during", "netdsl", "torch",
                 "netdsl / torch"], inference_rows))
    print("\nOne training step (MiB; netdsl's activations kept for backward, and the phase "
          "where its peak falls):\n")
    print(table(["model", "batch", "optimizer", "kept for backward", "peak in", "netdsl peak",
                 "torch peak", "netdsl / torch"], training_rows))
    left_out = sorted(set(args.models) - train_models)
    if left_out:
        print(f"\nTraining step not measured in this run: {', '.join(left_out)}.")
    if train_models & {"vit_b_16", "swin_t"}:
        print("\n" + ATTENTION)
    if any(name in train_models for name in TRAIN_BATCH):
        print("\n" + TRAIN_BATCH_WHY)
    if training_gaps:
        print(f"\nThe training step's remaining differences ({max(training_gaps):.1%} at most) "
              "were not traced.")
    print("\n" + NOTES.strip())


if __name__ == "__main__":
    main()
