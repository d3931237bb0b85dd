"""Two networks side by side (`netdsl diff`): the layers one has and the other has not, the
layers whose figures differ, and the totals' deltas. Layers are matched by their dotted
names, in the order of the forward pass."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from netdsl.analysis.summary import Row, Stats

FIGURES = ("op", "output", "params", "macs", "rf")  # what makes a matched layer "changed"
TOTALS = ("params", "buffers", "macs", "flops", "activation_bytes", "peak_activation_bytes",
          "param_bytes")


@dataclass(frozen=True)
class LayerChange:
    """One layer or block that is not the same in both: `status` is "added" (only in b),
    "removed" (only in a) or "changed" (`differs` names the figures)."""

    name: str
    status: str
    a: Row | None
    b: Row | None
    differs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    a: Stats
    b: Stats
    changes: list[LayerChange]

    def totals(self) -> list[tuple[str, int, int]]:
        """(figure, a's, b's) for each total of `TOTALS`."""
        return [(k, getattr(self.a, k), getattr(self.b, k)) for k in TOTALS]

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)


def compare(a: Stats, b: Stats, depth: int | None = None) -> Comparison:
    """The layers (down to `depth` levels of blocks; None: all) that differ between a and b."""
    rows_a = [r for r in a.layers if depth is None or r.depth <= depth]
    rows_b = [r for r in b.layers if depth is None or r.depth <= depth]
    by_a = {r.name: r for r in rows_a}
    by_b = {r.name: r for r in rows_b}
    names_a, names_b = list(by_a), list(by_b)
    changes: list[LayerChange] = []
    seen: set[str] = set()
    matcher = SequenceMatcher(None, names_a, names_b, autojunk=False)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for name in names_a[i1:i2] + names_b[j1:j2]:  # a's run, then b's, in order
            if name in seen:
                continue
            seen.add(name)
            change = _change(name, by_a.get(name), by_b.get(name))
            if change is not None:
                changes.append(change)
    return Comparison(a, b, changes)


def _change(name: str, a: Row | None, b: Row | None) -> LayerChange | None:
    if a is None:
        return LayerChange(name, "added", None, b)
    if b is None:
        return LayerChange(name, "removed", a, None)
    differs = tuple(f for f in FIGURES if _figure(a, f) != _figure(b, f))
    return LayerChange(name, "changed", a, b, differs) if differs else None


def _figure(row: Row, figure: str) -> object:
    if figure == "op":
        return row.summary or row.op
    if figure == "output":
        return tuple(row.output)
    if figure == "rf":
        return row.rf.as_dict() if hasattr(row.rf, "as_dict") else row.rf
    return getattr(row, figure)
