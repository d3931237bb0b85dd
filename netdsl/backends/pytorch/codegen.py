"""Plans -> readable, standalone Python source that imports only torch.

Names in the output come only from validated labels (see lower.py) and generated names; every
value from a spec is written with repr. One class per distinct block instantiation (classes with
identical bodies are shared; variants of one block are numbered Bottleneck, Bottleneck2, ...),
then the network class. Several outputs are returned as a tuple in `output` order.
"""

from __future__ import annotations

import ast
import keyword
import math
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from netdsl.backends.pytorch.lower import (
    Child,
    ClassPlan,
    SequentialPlan,
    Step,
    is_identifier,
    plan,
    show_value,
)
from netdsl.backends.pytorch.ops import OVERWRITABLE, Call, lowering
from netdsl.names import is_free_name

INDENT = "    "
RUNTIME = Path(__file__).with_name("runtime.py")
HELPERS = ("TableConv", "Subsample", "center_crop", "channel_shuffle", "stochastic_depth",
           "pad_same", "avg_pool_valid", "crop_at", "L2Norm",
           "Permute", "causal_mask", "ShiftedWindowAttention", "LayerNorm2d", "patch_merge")
_RESERVED = {"self", "torch", "torchvision", "nn", "F", "OrderedDict", "super", *HELPERS}


def literal(value: Any) -> str:
    """A Python literal for a value of the table (ints, floats, bools, str, None, lists)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and math.isinf(value):
        return f'float("{value}")'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (list, tuple)):
        items = ", ".join(literal(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    raise TypeError(f"no literal for {type(value).__name__}")


def render_call(call: Call, lead: list[str] = (), lit: Callable[[Any], str] = literal) -> str:
    args = list(lead) + [argument(a, lit) for a in call.args]
    args += [f"{k}={argument(v, lit)}" for k, v in call.kwargs.items()]
    return f"{call.target}({', '.join(args)})"


def argument(value: Any, lit: Callable[[Any], str]) -> str:
    """An argument: a literal, or a nested call (`nn.Parameter(torch.zeros(1, 1, 768))`)."""
    return render_call(value, lit=lit) if isinstance(value, Call) else lit(value)


def wrapped_call(call: Call, depth: int, lit: Callable[[Any], str] = literal) -> str:
    """A long constructor call with one argument per line (and long lists one item per line)."""
    pad = INDENT * (depth + 1)
    items = []
    for value in call.args:
        text = argument(value, lit)
        if isinstance(value, list) and len(text) > 60:
            inner = "".join(f"{pad}{INDENT}{literal(v)},\n" for v in value)
            text = f"[\n{inner}{pad}]"
        items.append(f"{pad}{text},")
    items += [f"{pad}{k}={argument(v, lit)}," for k, v in call.kwargs.items()]
    return f"{call.target}(\n" + "\n".join(items) + f"\n{INDENT * depth})"


def docstring(text: str, indent: str = INDENT) -> str:
    """A docstring that no text can break out of, wrapped to fit 88 columns."""
    if text.isprintable() and '"' not in text and "\\" not in text and text.isascii():
        lines = textwrap.wrap(text, 80 - len(indent), break_long_words=False,
                              break_on_hyphens=False)
        return f'"""{f"{chr(10)}{indent}".join(lines)}"""'
    if len(repr(text)) <= 80 - len(indent):
        return repr(text)
    chunks = [repr(text[i:i + 50]) for i in range(0, len(text), 50)]
    return "(\n" + "".join(f"{indent}{INDENT}{c}\n" for c in chunks) + f"{indent})"


class Names:
    """Unique Python variable names within one forward."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self.suffix: dict[str, int] = {}  # stem -> the last number tried (5,000 `out`s: linear)

    def fresh(self, stem: str) -> str:
        if not is_free_name(stem) or stem in _RESERVED:  # `list = ...` would break `list(...)`
            stem = stem + "_" if is_free_name(stem + "_") else "x"
        name, i = stem, self.suffix.get(stem, 1)
        if i > 1:
            name = f"{stem}_{i}"
        while name in self.taken:
            i += 1
            name = f"{stem}_{i}"
        self.suffix[stem] = i
        self.taken.add(name)
        return name


class Writer:
    """Collects the classes and the helpers they use.

    Instantiations of one block whose classes differ only in integer constructor arguments
    share one class; each argument that varies becomes a constructor parameter, named after the
    input channels or the block's parameter it equals (`in_channels`, `planes`, `planes * 4`), as
    torchvision writes `Bottleneck(inplanes, planes)`. Variation that no name explains keeps the
    instantiations apart, as numbered classes (Bottleneck, Bottleneck2, ...).
    """

    def __init__(self) -> None:
        self.classes: dict[str, str] = {}  # class name -> source
        self.targets: set[str] = set()
        self.made: dict[int, tuple[str, list[int]]] = {}  # id(plan) -> its class, arguments
        self.lit: Callable[[Any], str] = literal  # writes constructor arguments
        self.cursor = 0  # position of the next integer constructor argument in a class

    # ------------------------------------------------------------ constructors

    def construct(self, build: Call | SequentialPlan | ClassPlan, depth: int) -> str:
        if isinstance(build, Call):
            self.targets.add(build.target)
            return render_call(build, lit=self.lit)
        if isinstance(build, SequentialPlan):
            return self.sequential(build, depth)
        name, args = self.made[id(build)]
        return f"{name}({', '.join(self.lit(a) for a in args)})"

    def sequential(self, seq: SequentialPlan, depth: int) -> str:
        pad = INDENT * (depth + 1)
        positional = [c.name for c in seq.children] == [str(i) for i in range(len(seq.children))]
        if positional:
            items = [f"{pad}{self.item(c, depth + 1, pad)}," for c in seq.children]
            return "nn.Sequential(\n" + "\n".join(items) + f"\n{INDENT * depth})"
        self.targets.add("OrderedDict")
        items = [f"{pad}({c.name!r}, {self.item(c, depth + 1, f'{pad}({c.name!r}, ')}),"
                 for c in seq.children]
        return "nn.Sequential(OrderedDict([\n" + "\n".join(items) + f"\n{INDENT * depth}]))"

    def item(self, child: Child, depth: int, lead: str) -> str:
        """A member of an nn.Sequential, wrapped when its line would pass 88 columns."""
        start = self.cursor
        value = self.construct(child.build, depth)
        if isinstance(child.build, Call) and len(lead) + len(value) + 3 > 88:
            self.cursor = start  # the same arguments again, one a line
            return wrapped_call(child.build, depth, self.lit)
        return value

    # ------------------------------------------------------------ classes

    def define_all(self, top: ClassPlan) -> str:
        """Define the classes of every plan, inner classes first; the top class's name."""
        plans = list(_class_plans(top))
        height: dict[int, int] = {}
        for p in plans:  # post-order: inner plans come first
            height[id(p)] = 1 + max((height[id(c)] for c in _inner_plans(p)), default=-1)
        for level in sorted(set(height.values())):
            groups: dict[tuple[str, str], list[tuple[ClassPlan, list[int]]]] = {}
            for p in (p for p in plans if height[id(p)] == level):
                template, constants = self.template(p)
                groups.setdefault((p.base_name, template), []).append((p, constants))
            for members in groups.values():
                self.share(members)
        return self.made[id(top)][0]

    def template(self, p: ClassPlan) -> tuple[str, list[int]]:
        """The class body with its integer constructor arguments blanked, and those integers."""
        constants: list[int] = []

        def blank(value: Any) -> str:
            if type(value) is int:
                if self.cursor == len(constants):
                    constants.append(value)
                self.cursor += 1
                return "\x00"
            return literal(value)

        return self.class_body(p, {}, lit=blank), constants

    def share(self, members: list[tuple[ClassPlan, list[int]]]) -> None:
        """One class for instantiations with the same template, if their differences have
        names; else one class per distinct set of constants."""
        columns = list(zip(*(c for _, c in members), strict=True))
        varying = [i for i, column in enumerate(columns) if len(set(column)) > 1]
        names = _parameters([p for p, _ in members], [columns[i] for i in varying])
        if names is None:
            distinct: dict[tuple[int, ...], list[tuple[ClassPlan, list[int]]]] = {}
            for p, constants in members:
                distinct.setdefault(tuple(constants), []).append((p, constants))
            for same in distinct.values():
                self.emit(same, {})
            return
        self.emit(members, dict(zip(varying, names, strict=True)))

    def emit(self, members: list[tuple[ClassPlan, list[int]]], exprs: dict[int, str]) -> None:
        """Write one class for `members`; `exprs` gives the parameter expression of each varying
        constant, by position."""
        first, constants = members[0]
        params = list(dict.fromkeys(n for e in exprs.values() for n in _names_in(e)))
        name, i = first.base_name, 1
        while name in self.classes or name in _RESERVED or not is_free_name(name):
            i += 1
            name = f"{first.base_name}{i}"
        self.classes[name] = f"class {name}(nn.Module):\n" + self.class_body(
            first, exprs, params, doc=_doc(first, params))
        for p, values in members:
            args = [_parameter_value(p, param, exprs, values) for param in params]
            self.made[id(p)] = (name, args)

    def class_body(self, p: ClassPlan, exprs: dict[int, str], params: list[str] = (),
                   lit: Callable[[Any], str] | None = None, doc: str | None = None) -> str:
        """The class's source below its `class` line; the constant at position i of the
        constructor arguments is written as `exprs[i]` when given."""
        def constant(value: Any) -> str:
            if type(value) is int:
                self.cursor += 1
                return exprs.get(self.cursor - 1, literal(value))
            return literal(value)

        self.lit, self.cursor = lit or constant, 0
        try:
            lines = [f"{INDENT}{docstring(doc if doc is not None else '')}", "",
                     *_init_signature(params), f"{INDENT * 2}super().__init__()"]
            for child in p.children:
                lines += self.member(child)
        finally:
            self.lit = literal
        lines.append("")
        lines += self.forward(p)
        return "\n".join(lines) + "\n"

    def member(self, child: Child) -> list[str]:
        if is_identifier(child.name):
            lead, close = f"{INDENT * 2}self.{child.name} = ", ""
        elif isinstance(child.build, Call) and child.build.target == "nn.Parameter":
            lead, close = f"{INDENT * 2}self.register_parameter({child.name!r}, ", ")"
        else:
            lead, close = f"{INDENT * 2}self.add_module({child.name!r}, ", ")"
        start = self.cursor
        value = self.construct(child.build, 2)
        if isinstance(child.build, Call) and len(lead + value + close) > 88:
            self.cursor = start  # the same arguments again, one a line
            value = wrapped_call(child.build, 2, self.lit)
        return [lead + value + close]

    def forward(self, p: ClassPlan) -> list[str]:
        names = Names(set())
        var: dict[str, str] = {}
        params = []
        for value, stem in zip(p.inputs, p.input_names, strict=True):
            var[value] = names.fresh(stem)
            kind = "torch.Size" if value.endswith(":size") else "torch.Tensor"
            params.append(f"{var[value]}: {kind}")
        last_use: dict[str, int] = {}
        reads: dict[str, int] = {}
        for i, step in enumerate(p.steps):
            for src in step.inputs:
                last_use[src] = i
                reads[src] = reads.get(src, 0) + 1
        for out in p.outputs:
            last_use[out] = len(p.steps)
        producer = {out: step for step in p.steps for out in step.outputs}
        result = "torch.Tensor" if len(p.outputs) == 1 else "tuple[torch.Tensor, ...]"
        lines = [f"{INDENT}def forward(self, {', '.join(params)}) -> {result}:"]
        if len(lines[0]) > 88:
            lines = [f"{INDENT}def forward(", f"{INDENT * 2}self,",
                     *(f"{INDENT * 2}{param}," for param in params), f"{INDENT}) -> {result}:"]
        for i, step in enumerate(p.steps):
            dying = [v for v in dict.fromkeys(step.inputs) if last_use.get(v) == i]
            expr = self.expression(step, [var[v] for v in step.inputs],
                                   self.may_overwrite(step, dying, reads, producer))
            targets = self.targets_of(step, dying, var, names)
            returned = targets
            if step.node is not None and step.outputs[-1].endswith(":size"):
                # the pooled input's size, kept for max unpooling, before the pool replaces it
                lines.append(f"{INDENT * 2}{targets[-1]} = {var[step.inputs[0]]}.shape[2:]")
                returned = targets[:-1]
            lines.append(_statement(f"{INDENT * 2}{', '.join(returned)} = ", expr))
            for out, target in zip(step.outputs, targets, strict=True):
                var[out] = target
            gone = [var[v] for v in dying if var[v] not in targets]
            unused = [t for out, t in zip(step.outputs, targets, strict=True)
                      if out not in last_use]
            if gone or unused:
                lines.append(f"{INDENT * 2}del {', '.join(gone + unused)}")
        outs = [var[o] for o in p.outputs]
        result = outs[0] if len(outs) == 1 else f"({', '.join(outs)})"
        lines.append(f"{INDENT * 2}return {result}")
        return lines

    def targets_of(self, step: Step, dying: list[str], var: dict[str, str],
                   names: Names) -> list[str]:
        """Reuse a dying input's variable for a one-output step (the idiom `x = f(x)`); a
        layer on a tensor that lives on starts `out`, as torchvision writes it; merges and
        submodules get a name of their own (`add`, `concat`, `branch1`)."""
        merge = step.node is not None and step.node.op.variadic
        if step.node is not None and len(step.outputs) > 1:  # `x, pool1_indices = ...`
            first = self.targets_of(Step(step.node, step.child, step.function, step.inputs,
                                         step.outputs[:1]), dying, var, names)
            local = step.node.name.rsplit(".", 1)[-1]
            stem = local if is_identifier(local) else step.node.op_name
            return first + [names.fresh(f"{stem}_{out.rsplit(':', 1)[1]}")
                            for out in step.outputs[1:]]
        if len(step.outputs) == 1 and dying and not merge:
            return [var[dying[0]]]
        if step.node is not None:
            if step.apply is not None and is_identifier(step.child):  # `class_token = ...`
                return [names.fresh(step.child)]
            if not merge:  # a layer branching off a live tensor starts a path: `out = ...`
                return [names.fresh("out")]
            local = step.node.name.rsplit(".", 1)[-1]
            stem = local if is_identifier(local) else step.node.op_name
            return [names.fresh(stem)]
        stem = step.child if is_identifier(step.child) else "block"
        return [names.fresh(stem) for _ in step.outputs]

    @staticmethod
    def may_overwrite(step: Step, dying: list[str], reads: dict[str, int],
                      producer: dict[str, Step]) -> bool:
        """Whether an activation may work in place: its one input is read by nothing else (so
        no view of it lives on), was made in this forward (never the caller's tensor), by an
        operator whose backward does not need its output."""
        if step.node is None or step.child is not None or len(step.inputs) != 1:
            return False
        (src,) = step.inputs
        made_by = producer.get(src)
        return (lowering(step.node.op).inplace and dying == [src] and reads[src] == 1
                and made_by is not None and made_by.node is not None
                and made_by.node.op.name in OVERWRITABLE)

    def expression(self, step: Step, args: list[str], inplace: bool = False) -> str:
        if step.pad is not None:
            self.targets.add(step.pad.target)
            args = [render_call(step.pad, args[:1]), *args[1:]]
        if step.child is not None:
            target = f"self.{step.child}" if is_identifier(step.child) \
                else f"getattr(self, {step.child!r})"
            if step.apply is not None:
                text = step.apply.format(module=target, x=args[0])
                self.targets.update(h for h in lowering(step.node.op).helpers if h in text)
                return text
            return f"{target}({', '.join(args)})"
        rule = lowering(step.node.op)
        call = step.function
        self.targets.add(call.target)
        extra = ["training=self.training"] if rule.training else []
        if inplace:
            extra.append("inplace=True")
        if rule.form == "infix":
            return f" {call.target} ".join(args)
        if rule.form == "cat":
            return render_call(call, [f"[{', '.join(args)}]"])
        if rule.form == "reshape":
            dims = ", ".join(literal(d) for d in call.args)
            return f"{args[0]}.reshape({args[0]}.shape[0], {dims})"
        if rule.form == "like" and len(args) == 2:
            return render_call(call, [args[0], f"list({args[1]}.shape[2:])"])
        if rule.form == "roi":  # boxes [batch, N, 4]: a list of per-image boxes, N maps each
            text = render_call(call, [args[0], f"list({args[1]})"])
            return f"{text}.unflatten(0, {args[1]}.shape[:2])"
        if rule.form == "unpool":  # the values, the pool's indices, its input's size
            text = render_call(call, args[:2])
            return f"{text[:-1]}, output_size={args[2]})"
        text = render_call(call, args[:1])
        return text[:-1] + ", " + ", ".join(extra) + ")" if extra else text


def _init_signature(params: list[str]) -> list[str]:
    """`def __init__(self, a: int, ...) -> None:`, one parameter a line if it is long."""
    line = f"{INDENT}def __init__(self{''.join(f', {n}: int' for n in params)}) -> None:"
    if len(line) <= 88:
        return [line]
    return [f"{INDENT}def __init__(", f"{INDENT * 2}self,",
            *(f"{INDENT * 2}{n}: int," for n in params), f"{INDENT}) -> None:"]


def _statement(lead: str, expr: str) -> str:
    """`lead + expr`, with a long call's arguments moved to the next line, or one a line
    when they do not fit there either (`self.attn(...)[0]` keeps its index after them)."""
    line = lead + expr
    if len(line) <= 88:
        return line
    head, paren, rest = expr.partition("(")
    call = _call_of(expr) if paren and _is_dotted(head) else None
    if call is None:
        return line
    args, tail = call
    if len(INDENT * 3) + len(rest) <= 88:
        return f"{lead}{head}(\n{INDENT * 3}{rest}"
    inner = "".join(f"{INDENT * 3}{arg},\n" for arg in args)
    return f"{lead}{head}(\n{inner}{INDENT * 2}){tail}"


def _call_of(expr: str) -> tuple[list[str], str] | None:
    """The source of each argument of a call expression, and what follows the call (an
    index such as `[0]`); None if `expr` is not a call."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    tail = ""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        tail = expr[node.value.end_col_offset:]
        node = node.value
    if not isinstance(node, ast.Call) or \
            ast.get_source_segment(expr, node.func) != expr.partition("(")[0]:
        return None  # not a call of a plain name (a method of a call's result)
    args = [ast.get_source_segment(expr, a) for a in [*node.args, *node.keywords]]
    return [a for a in args if a is not None], tail


def _is_dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _class_plans(p: ClassPlan) -> Iterator[ClassPlan]:
    """Every class plan under and including `p`, inner ones first."""
    for inner in _inner_plans(p):
        yield from _class_plans(inner)
    yield p


def _inner_plans(p: ClassPlan | SequentialPlan) -> Iterator[ClassPlan]:
    """The class plans directly among `p`'s children (through nn.Sequentials)."""
    for child in p.children:
        if isinstance(child.build, ClassPlan):
            yield child.build
        elif isinstance(child.build, SequentialPlan):
            yield from _inner_plans(child.build)


def _candidates(p: ClassPlan) -> dict[str, int]:
    """What a constructor argument may be named after: the input's channels (or features) and
    the block's integer parameters."""
    found = {}
    if len(p.in_shape) > 1:
        found["in_channels"] = p.in_shape[0]
    elif len(p.in_shape) == 1:
        found["in_features"] = p.in_shape[0]
    for key, value in p.args.items():
        if type(value) is int and valid_name(key) and key not in _RESERVED:
            found[key] = value
    return found


def _parameters(plans: list[ClassPlan], columns: list[tuple[int, ...]]) -> list[str] | None:
    """An expression of named values for each varying column (`planes`, `planes * 4`,
    `in_channels * t`), or None if some column has none."""
    if not columns:
        return []
    if any(p.block is None for p in plans):
        return None
    candidates = [_candidates(p) for p in plans]
    keys = [k for k in candidates[0] if all(k in c for c in candidates)]
    named = {k: tuple(c[k] for c in candidates) for k in keys}
    out = []
    for column in columns:
        expr = _explain(column, named)
        if expr is None:
            return None
        out.append(expr)
    return out


def _explain(column: tuple[int, ...], named: dict[str, tuple[int, ...]]) -> str | None:
    for key, values in named.items():
        if values == column:
            return key
    for key, values in named.items():
        if all(v and c % v == 0 for c, v in zip(column, values, strict=True)):
            factors = {c // v for c, v in zip(column, values, strict=True)}
            if len(factors) == 1 and factors != {1}:
                return f"{key} * {factors.pop()}"
    for a, av in named.items():
        for b, bv in named.items():
            if a < b and all(x * y == c for x, y, c in zip(av, bv, column, strict=True)):
                return f"{a} * {b}"
    return None


def _names_in(expr: str) -> list[str]:
    """The parameters in an expression (`planes * 4` -> planes; `in_channels * t` -> both)."""
    return [part for part in expr.split(" * ") if valid_name(part)]


def _parameter_value(p: ClassPlan, param: str, exprs: dict[int, str], values: list[int]) -> int:
    """The value `p` passes for `param`: found from a constant written as exactly `param`."""
    for position, expr in exprs.items():
        if expr == param:
            return values[position]
    return _candidates(p)[param]


def _doc(p: ClassPlan, params: list[str]) -> str:
    """The docstring: the block call it stands for, by parameter where one varies."""
    if p.block is None:
        return p.doc
    args = ", ".join(k if k in params else f"{k}={show_value(v)}" for k, v in p.args.items())
    text = f"{p.block}({args})"
    if "in_channels" in params or "in_features" in params or not p.in_shape:
        return text + "."
    return p.doc


def helper_sources(targets: set[str]) -> list[str]:
    """The source of the run-time helpers used, and of the helpers they call, cut from
    runtime.py without importing it."""
    text = RUNTIME.read_text(encoding="utf-8")
    sources = {item.name: ast.get_source_segment(text, item) for item in ast.parse(text).body
               if isinstance(item, (ast.ClassDef, ast.FunctionDef))}
    wanted = {name for name in sources if name in targets}
    pending = list(wanted)
    while pending:
        called = {n.id for n in ast.walk(ast.parse(sources[pending.pop()]))
                  if isinstance(n, ast.Name)}
        for name in called & sources.keys() - wanted:
            wanted.add(name)
            pending.append(name)
    return [src for name, src in sources.items() if name in wanted]


def generate(network: Any) -> str:
    """The standalone Python source of a loaded netdsl Network."""
    top = plan(network.graph, Path(network.source_path).name)
    writer = Writer()
    top_name = writer.define_all(top)
    imports = ["import torch", "from torch import nn"]
    used = writer.targets
    if any(t.startswith("F.") for t in used) or used & {"Subsample", "L2Norm", "pad_same",
                                                            "avg_pool_valid"}:
        imports.append("from torch.nn import functional as F")
    if any(t.startswith("torchvision.") for t in used):
        imports.insert(1, "import torchvision")
    if "OrderedDict" in used:
        imports.insert(0, "from collections import OrderedDict\n")
    if "Subsample" in used:
        imports.insert(0, "import math\n")
    header = docstring(indent="", text=f"{network.graph.name}: generated by netdsl from "
                       f"{Path(network.source_path).name}; edit the spec, not this file.")
    parts = [header, "\n".join(imports)]
    parts += helper_sources(used)
    parts += [src for name, src in writer.classes.items()]
    text = "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    assert top_name in writer.classes
    return text


def network_class(source: str) -> str:
    """The name of the network class: the last class of a generated file."""
    tree = ast.parse(source)
    return [i.name for i in tree.body if isinstance(i, ast.ClassDef)][-1]


def valid_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)
