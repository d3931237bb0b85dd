"""The spec's global `def`s as module-level Python functions."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from netdsl.backends.pytorch import pyexpr as P
from netdsl.backends.pytorch.classinfo import ClassInfo
from netdsl.backends.pytorch.values import Env, Value
from netdsl.errors import Span
from netdsl.syntax import ast as syn

if TYPE_CHECKING:
    from netdsl.backends.pytorch.generator import Generator


def translate_global(gen: Generator, func: Any) -> ast.expr:
    """The body of `def f(a, b) = expr` as a Python expression of a and b."""
    from netdsl.backends.pytorch.translate import ClassTranslator
    span = Span("<def>", 1, 1, 1, 1)
    info = ClassInfo(func.name, syn.BlockDef(span, func.name, (), ()), {}, 2)
    translator = ClassTranslator(gen, info, "chain")
    env = Env()
    for p in func.params:
        env.vars[p] = Value(P.name(p))
    return translator.py(func.body, env, None, "ctor").node
