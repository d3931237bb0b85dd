"""Layer names within a definition: labels, and positions as nn.Sequential gives them.

Within a scope every statement element takes the next position; an unlabeled layer is named by
that position, a labeled one by its label. Block calls, labeled groups, labeled merges and
labeled repeats open a scope; unlabeled groups, merges, repeats, `if` and `for` are transparent
and name their contents in the enclosing scope, as is an unlabeled call of an `inline block`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netdsl.errors import Span, SpecError
from netdsl.ir import Scope


@dataclass
class Naming:
    """Gives names to the elements of one scope, by label or position. Names are local to the
    definition being built: the flat view prefixes them with the path of each call."""

    prefix: str
    scope: Scope | None
    scopes: tuple[str, ...] = ()
    counter: int = 0
    used: dict[str, Span | None] = field(default_factory=dict)
    path: str = ""  # the dotted name of the definition's first call, for messages

    def take(self, label: str | None, span: Span | None, position: bool = True) -> str:
        """The dotted name of the next element; `position=False` for what is not an element of
        the sequence (a network input, a shared module: nn.Sequential numbers layers only)."""
        local = label if label is not None else str(self.counter)
        self.counter += position
        if local in self.used:
            first = self.used[local]
            where = ".".join(p for p in (self.path, self.prefix) if p)
            raise SpecError(f"duplicate label '{local}'"
                            + (f" in '{where}'" if where else ""), "label", span,
                            help=f"'{local}' was first used at {first}" if first else None)
        self.used[local] = span
        return self.full(local)

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def inner(self, scope: Scope) -> Naming:
        return Naming(scope.name, scope, self.scopes + (scope.name,), path=self.path)
