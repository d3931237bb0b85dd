"""Memory: netdsl's inference peak (`netdsl stats --batch N`) and training-step estimate
(`--train sgd|adam`) against the peak PyTorch allocates running the same network.

How torch is measured: a TorchDispatchMode (tests/analysis/test_memory.py's `LiveStorage`)
sees every tensor torch's operators make, including the ones autograd's backward makes, and
counts each storage from the operator that creates it until the last tensor on it is freed
(CPython frees at once): the peak of that sum is the peak of live storage, the accounting
torch's allocator would see on the CPU. The modules are the ones `netdsl.build` makes (the
code `netdsl compile` writes), on the CPU, in float32.

- Inference: `model(x)` under `torch.no_grad()` at batch 1 and 8, parameters and buffers left
  out (netdsl's peak is of activations), the input counted.
- Training: a steady step (the optimizer's state made by a first step) of forward, a loss,
  backward, `optimizer.step()` and `zero_grad(set_to_none=True)`; the weights, buffers, batch
  and optimizer state that exist before the step are added once to the peak of what the step
  allocates. SGD with momentum 0.9 and Adam.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table  # noqa: E402

import netdsl  # noqa: E402
from tests.analysis.test_memory import LiveStorage  # noqa: E402

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "densenet121", "unet"]
TRAIN_BATCH = {"unet": 2}  # U-Net's 572 x 572 maps: batch 2 keeps the step to a minute
DEFAULT_TRAIN_BATCH = 8
MIB = 2 ** 20


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--train", nargs="*", default=MODELS, metavar="MODEL",
                        help="the models whose training step is measured (default: all)")
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS, metavar="MODEL",
                        help="the models measured (default: all)")
    args = parser.parse_args()
    train_models = set(args.train)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    inference_rows, training_rows = [], []
    for name in args.models:
        path = ROOT / "specs" / f"{name}.net"
        net = netdsl.load(path)
        shape = next(iter(net.stats().inputs.values()))
        model = netdsl.build(path)
        model.eval()
        for batch in (1, 8):
            ours = net.stats(batch=batch).peak_activation_bytes
            theirs = inference_peak(model, shape, batch)
            inference_rows.append([name, batch, f"{ours / MIB:,.1f}", f"{theirs / MIB:,.1f}",
                                   ratio(ours, theirs)])
            print("memory:", *inference_rows[-1], file=sys.stderr)
        if name not in train_models:
            continue
        model.train()
        batch = TRAIN_BATCH.get(name, DEFAULT_TRAIN_BATCH)
        for optimizer in ("sgd", "adam"):
            t = net.stats(batch=batch, train=optimizer).training
            theirs = training_peak(model, shape, batch, optimizer)
            training_rows.append([name, batch, optimizer, f"{t.saved_bytes / MIB:,.1f}",
                                  t.peak_phase, f"{t.peak_bytes / MIB:,.1f}",
                                  f"{theirs / MIB:,.1f}", ratio(t.peak_bytes, theirs)])
            print("memory:", *training_rows[-1], file=sys.stderr)
        print(f"memory: {name} done", file=sys.stderr)
    print(__doc__.split("\n\n", 1)[1].strip())
    print("\nInference peak (activations, MiB):\n")
    print(table(["model", "batch", "netdsl", "torch", "netdsl / torch"], inference_rows))
    print("\nOne training step (MiB; netdsl's activations kept for backward, and the phase "
          "where its peak falls):\n")
    print(table(["model", "batch", "optimizer", "kept for backward", "peak in", "netdsl peak",
                 "torch peak", "netdsl / torch"], training_rows))


if __name__ == "__main__":
    main()
