"""Block definitions kept across elaborations of one program (a sweep's variants).

A definition depends only on its block, its arguments and its input shapes (and the program's
module-level values, the same for every elaboration of one program), so a later elaboration
may take it, with the analyses' figures kept in its `meta`, instead of building it again.
Definitions whose body holds an `expect` are not kept: the expectation belongs to the
elaboration that met it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from netdsl.ir import Definition
from netdsl.ops.base import Op, Shape

if TYPE_CHECKING:
    from netdsl.elaborate.blocks import Parameters


@dataclass
class DefinitionCache:
    """Definitions by `blocks._key`, output shapes by operator and input shapes, and each
    block's `Parameters` by the block's id."""

    definitions: dict[tuple, Definition] = field(default_factory=dict)
    shapes: dict[tuple[Op, tuple[Shape, ...]], Shape] = field(default_factory=dict)
    parameters: dict[int, Parameters] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.definitions)

    def get(self, key: Any) -> Definition | None:
        return self.definitions.get(key)
