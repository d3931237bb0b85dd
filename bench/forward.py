"""Eval-mode forward latency of netdsl-compiled modules against torchvision's, side by side in
one process: CPU, 2 threads, batch 8 at 224x224, runs interleaved (netdsl, torchvision,
netdsl, ...) so drifts in machine load hit both alike; medians. Also the time to construct each
model (netdsl.build from the spec file vs the torchvision constructor). Prints a markdown table.

    .venv/bin/python bench/forward.py [--runs 10] [--batch 8] [--models resnet50,...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torchvision

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netdsl  # noqa: E402

REFERENCES = {
    "resnet50": lambda: torchvision.models.resnet50(),
    "densenet121": lambda: torchvision.models.densenet121(),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, transform_input=False,
                                                      init_weights=False),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
}


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name: str, runs: int, batch: int) -> dict[str, float]:
    spec = ROOT / "specs" / f"{name}.net"
    build_times = [seconds(lambda: netdsl.build(spec)) for _ in range(3)]
    ctor_times = [seconds(REFERENCES[name]) for _ in range(3)]
    reference = REFERENCES[name]().eval()
    ours = netdsl.build(spec).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(batch, 3, 224, 224)
    mine, theirs = [], []
    with torch.inference_mode():
        ours(x), reference(x)  # warm-up
        for _ in range(runs):
            mine.append(seconds(lambda: ours(x)))
            theirs.append(seconds(lambda: reference(x)))
    return {"netdsl": statistics.median(mine), "torchvision": statistics.median(theirs),
            "build": statistics.median(build_times), "ctor": statistics.median(ctor_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--models", default=",".join(REFERENCES))
    args = parser.parse_args()
    torch.set_num_threads(2)
    names = [n for n in args.models.split(",") if (ROOT / "specs" / f"{n}.net").exists()]
    print(f"CPU, {torch.get_num_threads()} threads, batch {args.batch} at 224x224, eval, "
          f"median of {args.runs} interleaved runs; torch {torch.__version__}\n")
    print("| model | netdsl (ms) | torchvision (ms) | ratio | netdsl.build (ms) "
          "| torchvision ctor (ms) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        r = compare(name, args.runs, args.batch)
        print(f"| {name} | {r['netdsl'] * 1e3:.0f} | {r['torchvision'] * 1e3:.0f} "
              f"| {r['netdsl'] / r['torchvision']:.3f} | {r['build'] * 1e3:.0f} "
              f"| {r['ctor'] * 1e3:.0f} |", flush=True)


if __name__ == "__main__":
    main()
