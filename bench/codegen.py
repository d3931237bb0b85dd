"""How the compiled files compare with the specs and with torchvision's own code: per zoo spec,
the classes and lines of `netdsl compile`'s output against the number of distinct blocks the
spec uses, and against the lines of torchvision's nn.Module classes for that network.

Goals (issue 13): classes = distinct blocks used + 1 (the network) for every spec; lines at most
torchvision's for every network torchvision has. Blocks used are counted from the spec's text
(the blocks its network names, directly or through other blocks, in every branch; inline blocks,
which open no scope, are not). A run-time helper class of an operator (LeNet's Subsample, the
stochastic depth module) is counted apart. Torchvision's lines are the source lines of the
classes of torchvision whose instances the model holds (inspect.getsource), without weight
enums, builder functions and config tables; ours are every line of the compiled file.

Writes bench/codegen.md and prints the same section for bench/run_all.py.
"""

from __future__ import annotations

import ast
import inspect
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import ROOT, table  # noqa: E402

import netdsl  # noqa: E402
from netdsl.backends.pytorch.codegen import generate  # noqa: E402
from netdsl.backends.pytorch.generator import RUNTIME, blocks_reached  # noqa: E402

# The torchvision constructor each spec follows (the arguments its header names; a function
# where they need torch, imported only when the table is made).
TORCHVISION = {
    "alexnet": ("alexnet", {}), "vgg11": ("vgg11", {}), "vgg13": ("vgg13", {}),
    "vgg16": ("vgg16", {}), "vgg16_bn": ("vgg16_bn", {}), "vgg19": ("vgg19", {}),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": False}),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False}),
    "resnet18": ("resnet18", {}), "resnet34": ("resnet34", {}), "resnet50": ("resnet50", {}),
    "resnet101": ("resnet101", {}), "resnet152": ("resnet152", {}),
    "resnext50_32x4d": ("resnext50_32x4d", {}), "wide_resnet50_2": ("wide_resnet50_2", {}),
    "densenet121": ("densenet121", {}), "densenet161": ("densenet161", {}),
    "densenet169": ("densenet169", {}), "densenet201": ("densenet201", {}),
    "mobilenet_v2": ("mobilenet_v2", {}), "mobilenet_v3_large": ("mobilenet_v3_large", {}),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}), "efficientnet_b0": ("efficientnet_b0", {}),
    "efficientnet_v2_s": ("efficientnet_v2_s", {}), "convnext_tiny": ("convnext_tiny", {}),
    "swin_t": ("swin_t", {}), "vit_b_16": ("vit_b_16", {}),
    "fcn_resnet50": ("segmentation.fcn_resnet50",
                     {"aux_loss": False, "weights": None, "weights_backbone": None}),
    "deeplabv3_resnet50": ("segmentation.deeplabv3_resnet50",
                           {"aux_loss": False, "weights": None, "weights_backbone": None}),
    # the spec's batch norm is nn.BatchNorm2d (the builder's default is FrozenBatchNorm2d)
    "fpn_resnet50": ("detection.backbone_utils.resnet_fpn_backbone",
                     lambda: {"backbone_name": "resnet50", "weights": None,
                              "norm_layer": __import__("torch").nn.BatchNorm2d}),
}


def torchvision_classes(name: str) -> tuple[int, int]:
    """Classes and source lines of torchvision's modules in the model."""
    import torchvision
    builder, kwargs = TORCHVISION[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        owner = torchvision.models
        for part in builder.split(".")[:-1]:
            owner = getattr(owner, part)
        model = getattr(owner, builder.split(".")[-1])(**(kwargs() if callable(kwargs)
                                                           else kwargs))
    classes = {type(m) for m in model.modules() if type(m).__module__.startswith("torchvision")}
    return len(classes), sum(len(inspect.getsource(c).splitlines()) for c in classes)


def measure(path: Path) -> dict[str, object]:
    network = netdsl.load(path)
    source = generate(network)
    helpers = {n.name for n in ast.parse(RUNTIME.read_text()).body
               if isinstance(n, ast.ClassDef)}
    defs = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    classes = [n.name for n in defs]
    blocks = blocks_reached(network.program, network.name)
    return {"spec": path.stem, "blocks": len(blocks),
            "classes": len([c for c in classes if c not in helpers]),
            "helpers": len([c for c in classes if c in helpers]),
            "lines": len(source.splitlines()),
            # counted as torchvision's are: the classes' own lines (header, imports and
            # module-level tables left out, as torchvision's `cfgs` and imports are)
            "class_lines": sum(n.end_lineno - n.lineno + 1 for n in defs)}


def main() -> int:
    rows = []
    met_classes = met_lines = met_class_lines = compared = 0
    for path in sorted((ROOT / "specs").glob("*.net")):
        m = measure(path)
        tv_classes, tv_lines = torchvision_classes(path.stem) if path.stem in TORCHVISION \
            else ("", "")
        classes_ok = m["classes"] == m["blocks"] + 1
        met_classes += classes_ok
        lines_ok = class_lines_ok = ""
        if tv_lines != "":
            compared += 1
            lines_ok = "yes" if m["lines"] <= tv_lines else "no"
            class_lines_ok = "yes" if m["class_lines"] <= tv_lines else "no"
            met_lines += lines_ok == "yes"
            met_class_lines += class_lines_ok == "yes"
        rows.append([m["spec"], m["blocks"], m["classes"], "yes" if classes_ok else "no",
                     m["helpers"] or "", m["lines"], tv_classes, tv_lines, lines_ok,
                     m["class_lines"], class_lines_ok])
    headers = ["spec", "blocks used", "classes", "= blocks + 1", "helper classes", "lines",
               "torchvision classes", "torchvision lines", "lines <= torchvision's",
               "lines in classes", "in classes <= torchvision's"]
    text = (f"Classes = blocks used + 1 for {met_classes} of {len(rows)} specs; lines at most "
            f"torchvision's for {met_lines} of the {compared} networks torchvision has "
            f"(the whole compiled file against torchvision's classes); counting classes on "
            f"both sides, {met_class_lines} of {compared}.\n\n"
            + table(headers, rows))
    (Path(__file__).resolve().parent / "codegen.md").write_text(
        "# Compiled code against the specs and torchvision\n\nGenerated by `bench/codegen.py` "
        "(part of `make bench`); do not edit by hand.\n\n" + text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
