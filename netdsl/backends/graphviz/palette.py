"""Colours of the operator families, shared by the boxes and the legend.

Pastel fills with one darker border per family, readable in print and in grey scale (the fills
differ in lightness as well as hue).
"""

from __future__ import annotations

# family -> (fill, border, legend text)
FAMILIES: dict[str, tuple[str, str, str]] = {
    "input": ("#ffffff", "#333333", "input"),
    "output": ("#ffffff", "#333333", "output"),
    "conv": ("#c6dbef", "#3b6fa0", "convolution"),
    "linear": ("#dadaeb", "#6a51a3", "linear"),
    "pool": ("#c7e9c0", "#41893f", "pooling"),
    "norm": ("#fff3b0", "#b59a1c", "normalisation"),
    "activation": ("#fdd9b5", "#c8742a", "activation"),
    "merge": ("#f8c9c4", "#b8453b", "merge"),
    "shape": ("#e5e5e5", "#777777", "reshape"),
    "regularize": ("#f0f0f0", "#999999", ""),  # named by its operators: dropout, stochastic_depth
    "block": ("#e3ecf7", "#2f4f7f", "block (collapsed)"),
    "other": ("#ffffff", "#777777", "other"),
}

CLUSTER_FILLS = ("#f7f9fc", "#eef2f8", "#f7f9fc", "#eef2f8")
CLUSTER_BORDER = "#8c9bb0"
EDGE = "#4d4d4d"
SKIP_EDGE = "#b8453b"
REF_EDGE = "#8c8c8c"
TEXT_MUTED = "#666666"


def colours(family: str) -> tuple[str, str]:
    fill, border, _ = FAMILIES.get(family, FAMILIES["other"])
    return fill, border


def legend_text(family: str, ops: list[str]) -> str:
    """The legend's words for a family; `ops`, the operators drawn in it, name a family that
    has no words of its own (dropout and stochastic depth share a colour, not a name)."""
    return FAMILIES.get(family, FAMILIES["other"])[2] or " / ".join(ops)
