"""Do the tools agree? Params and MACs of every zoo spec that torchvision has, from netdsl, from
each peer, and torchvision's published figures (the weights' `num_params` and `_ops` metadata,
which ships inside the torchvision package).

netdsl counts one MAC per multiply-accumulate of conv/linear/matmul, without bias adds: the
convention of torchvision's published GFLOPS and of torch's FlopCounterMode (FLOPs / 2). The
other tools add some of the cheap operators; the notes below say which, tool by tool.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import peers  # noqa: E402
from timing import ROOT, table  # noqa: E402

# What each tool counts beyond conv/linear multiply-accumulates, read from the tools' sources
# (torchinfo 1.8, fvcore 0.1.5, thop 0.1.1, ptflops 0.7.5 pytorch backend, torchscan 0.2).
TOOL_RULES = {
    "netdsl": "conv/linear/matmul MACs only, and attention's projections and its two "
              "products (q k^T and the weighted sum of v); bias adds, norms, pools, "
              "activations and merges are in `flops`, not `macs`.",
    "torchinfo": "per module: conv = weight elements x output positions, plus the bias once per "
                 "output position; linear = weight + bias elements; batch norm adds its 2C "
                 "parameters once (not per element).",
    "fvcore": "one per MAC of conv/linear/matmul, plus batch norm (1 per input element in eval), "
              "adaptive average pooling and upsampling; ReLU, add, max pooling, concat are free.",
    "thop": "conv/linear MACs (bias not counted), plus batch norm (2 per element), ReLU-family "
            "zero, pooling and adaptive pooling (1 per output element x kernel, varying by "
            "version).",
    "ptflops": "conv/linear MACs with bias adds, plus batch norm, ReLU-family, pooling and "
               "upsampling elements (one per element, two for affine norms).",
    "torchscan": "module formulas: conv/linear MACs with bias adds, batch norm, pooling and "
                 "activations each counted per element.",
    "FlopCounterMode": "torch's own aten-level counter: conv, mm, addmm, bmm only (FLOPs / 2 "
                       "= MACs); bias adds, norms, pools, activations are free. Run as here "
                       "(inference, no autograd), it does not see inside torch's fused "
                       "attention: nn.MultiheadAttention's inference path is uncounted, "
                       "projections included (ViT-B/16: 11.27 G of 17.56 G); with autograd on "
                       "and torch's math attention kernel it counts 17.56 G, as netdsl does.",
}
# torchvision publishes GFLOPS with 3 decimals: a count agrees if it rounds to the same.
PUBLISHED_DECIMALS = 3


def zoo_models() -> list[str]:
    """The zoo specs torchvision has: classification, then segmentation models."""
    import torchvision
    found = []
    for module in (torchvision.models, torchvision.models.segmentation):
        known = set(torchvision.models.list_models(module=module))
        found += sorted(p.stem for p in (ROOT / "specs").glob("*.net") if p.stem in known)
    return found


def published(model: str) -> tuple[float | None, int | None]:
    """(MACs, params) from torchvision's weights metadata: `_ops` is in GFLOPS (= G MACs)."""
    import torchvision
    meta = torchvision.models.get_model_weights(model).DEFAULT.meta
    ops = meta.get("_ops")
    return (ops * 1e9 if ops is not None else None), meta.get("num_params")


def measure(model: str, names: list[str]) -> dict[str, tuple[int, int]]:
    import netdsl
    stats = netdsl.load(ROOT / "specs" / f"{model}.net",
                        inputs={"": peers.input_size(model)}).stats()
    counts = {"netdsl": (stats.macs, stats.params)}
    net = peers.build_model(model)
    for peer in names:
        try:
            counts[peer] = peers.COUNTERS[peer](model, net)
        except Exception as exc:  # noqa: BLE001 - a tool that fails is a finding, not a crash
            print(f"agreement: {peer} failed on {model}: {exc}", file=sys.stderr)
    return counts


def _g(macs: float) -> str:
    return f"{macs / 1e9:.4f}"


def _agrees(macs: float, published_macs: float) -> bool:
    step = 10.0 ** -PUBLISHED_DECIMALS
    return abs(macs / 1e9 - published_macs / 1e9) <= step / 2 + 1e-12


def _dev(value: float, ref: float | None) -> str:
    if not ref or _agrees(value, ref):
        return ""
    return f" ({(value - ref) / ref:+.2%})"


def report() -> str:
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(2)
    names = peers.available()
    tools = ["netdsl", *names]
    mac_rows, param_rows, notes = [], [], []
    for model in zoo_models():
        print(f"agreement: {model}", file=sys.stderr)
        pub_macs, pub_params = published(model)
        counts = measure(model, names)
        mac_rows.append([model, _g(pub_macs) if pub_macs else "-"] +
                        [_g(counts[t][0]) + _dev(counts[t][0], pub_macs)
                         if t in counts else "failed" for t in tools])
        param_rows.append([model, f"{pub_params:,}" if pub_params else "-"] +
                          [f"{counts[t][1]:,}" if t in counts else "failed" for t in tools])
        notes += _notes(model, counts, pub_macs, pub_params)
    rules = "\n".join(f"- **{tool}**: {rule}" for tool, rule in TOOL_RULES.items()
                      if tool in tools)
    return "\n\n".join([
        "MACs in G (10^9) as each tool reports them; in brackets the difference from "
        f"torchvision's published figure where the count does not round to it (torchvision "
        f"publishes {PUBLISHED_DECIMALS} decimals).",
        table(["model", "published", *tools], mac_rows),
        "Parameters (trainable):",
        table(["model", "published", *tools], param_rows),
        "What each tool counts:\n\n" + rules,
        "Every disagreement with the published figures, model by model (extra MACs against "
        "netdsl's conv/linear count; what each tool adds is listed above):\n\n"
        + ("\n".join(notes) or "none"),
    ])


def _notes(model: str, counts: dict[str, tuple[int, int]], pub_macs: float | None,
           pub_params: int | None) -> list[str]:
    """One line per model for MACs and one for params, naming every tool that disagrees."""
    out = []
    netdsl_macs, netdsl_params = counts["netdsl"]
    off = [(tool, macs) for tool, (macs, _) in counts.items()
           if pub_macs and not _agrees(macs, pub_macs)]
    if off:
        parts = [f"{tool} {_g(macs)} G ({(macs - netdsl_macs) / 1e6:+,.1f} M)"
                 if tool != "netdsl" else f"netdsl {_g(macs)} G (the spec and torchvision's "
                 "model differ)" for tool, macs in off]
        out.append(f"- {model} MACs, published {_g(pub_macs)} G: {'; '.join(parts)}"
                   f"{_aux(model)}.")
    wrong = sorted({tool for tool, (_, params) in counts.items()
                    if params != netdsl_params or (pub_params and params != pub_params)})
    if wrong:
        agreed = {params for _, params in counts.values()}
        text = (f"every tool counts {netdsl_params:,}" if agreed == {netdsl_params}
                else ", ".join(f"{t} {counts[t][1]:,}" for t in wrong))
        out.append(f"- {model} params, published {pub_params:,}: {text}{_aux(model)}.")
    return out


def _aux(model: str) -> str:
    """Why a published figure is larger, for the models measured without auxiliary heads."""
    kwargs = peers.TORCHVISION_KWARGS.get(model, {})
    if kwargs.get("aux_logits") is False or kwargs.get("aux_loss") is False:
        return (": torchvision's published figure includes the auxiliary classifier heads, which "
                "the spec and the measured model leave off")
    return ""


if __name__ == "__main__":
    print(report())
