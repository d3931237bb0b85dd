"""The language's own layer constructs, which are not operators: `identity` passes its input on
(no layer, no position: torchvision's `downsample=None`), `residual(when = c) { body }` adds the
body's result to its input when `c` holds (MobileNetV2's `use_res_connect`).

Each construct is one class registered by name in `CONSTRUCTS`; the elaborator applies it as it
applies an operator or a block, and did-you-mean hints and `netdsl ops` list it with them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from netdsl.elaborate.values import LayerRef
from netdsl.errors import SpecError
from netdsl.notation import value_text
from netdsl.ops import REGISTRY
from netdsl.syntax import ast

if TYPE_CHECKING:
    from netdsl.elaborate.elaborator import Elaborator
    from netdsl.elaborate.frame import Current, Site


class Construct:
    """Base of the constructs: `apply` for a use as a layer, `apply_body` for a use with a
    body (`name(args) { ... }`)."""

    name: ClassVar[str] = ""
    takes_body: ClassVar[bool] = False
    signature: ClassVar[str] = ""
    # a use makes no layer and passes its input on; as a value (`downsample = identity`) it
    # is a layer that is not there, which backends lower to nothing (torchvision's None)
    passes_input: ClassVar[bool] = False

    def apply(self, el: Elaborator, arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
              site: Site) -> Current:
        raise SpecError(f"'{self.name}' takes a body: {self.signature}", "arg", site.span)

    def apply_body(self, el: Elaborator, merge: ast.Merge, site: Site) -> Current:
        raise SpecError(f"'{self.name}' does not take a body of paths", "arg", merge.func_span)


class Identity(Construct):
    """Passes its input on unchanged: no layer, and no position in the sequence."""

    name = "identity"
    signature = "identity"
    passes_input = True

    def apply(self, el: Elaborator, arg_asts: tuple[ast.Arg, ...], preset: LayerRef,
              site: Site) -> Current:
        if arg_asts or preset.args or preset.kwargs:
            raise SpecError("'identity' takes no arguments", "arg", site.span)
        if site.current is None:
            return el.layers.need_input(site)
        return site.current


class Residual(Construct):
    """The body's result plus the body's input when `when` holds, else the body's result."""

    name = "residual"
    takes_body = True
    signature = "residual(when = ...) { ... }"

    def apply_body(self, el: Elaborator, merge: ast.Merge, site: Site) -> Current:
        current = el.layers.need_input(site)
        args, kwargs = el.evaluator.arguments(merge.args, el.frame.env)
        if args or set(kwargs) - {"when"}:
            raise SpecError("'residual' takes one argument, when = <condition>", "arg", site.span)
        when = kwargs.get("when", True)
        if not isinstance(when, bool):
            raise SpecError(f"'residual' when must be true or false, got {value_text(when)}",
                            "type", site.span)
        scope, inner = el.builder.scoped(site.label, site.span, site.naming, "merge")
        out = el.layers.need_input(site.with_current(
            el.statements.body(merge.body, current, inner)))
        if when:
            add = el.layers.build_op(REGISTRY["add"], [], {}, site)
            out = el.builder.node(inner.take(None, site.span), add, [current, out], site.span,
                                  inner)
        if scope is not None:
            scope.output = out
        return out


CONSTRUCTS: dict[str, Construct] = {c.name: c for c in (Identity(), Residual())}


def layer_construct(name: str) -> Construct | None:
    """The construct `name` names when it can stand where a layer can (`identity`), not one
    that takes a body (`residual`)."""
    construct = CONSTRUCTS.get(name)
    return construct if construct is not None and not construct.takes_body else None


def passes_input(name: str) -> bool:
    """Whether `name` is a construct that makes no layer (`identity`)."""
    construct = CONSTRUCTS.get(name)
    return construct is not None and construct.passes_input


def body_construct(name: str) -> Construct | None:
    """The construct `name` names when it takes a body of paths (`residual`)."""
    construct = CONSTRUCTS.get(name)
    return construct if construct is not None and construct.takes_body else None


def describe(name: str) -> str:
    """The one-line description of a construct, for `netdsl ops`."""
    return (type(CONSTRUCTS[name]).__doc__ or "").strip()
