"""The operator base class: a signature from dataclass fields, and the rules every operator has.

An operator class is a frozen dataclass whose fields are its attributes, in positional order,
each declared with `attr(...)` (type, default, alias, doc). Subclasses register themselves by
`name`. Rules take the input shapes (batch excluded) and the output shape:
`infer_shape`, `params`, `buffers`, `macs`, `flops` (elementwise, non-MAC), `connections`,
`workspace` (temporaries the operator materialises while it runs, such as an attention
matrix), `saved` (what autograd keeps for the backward pass) and `receptive_field` (a rule
value from `netdsl.ops.receptive`); `memory_note` says
what the memory figures leave out for the operator. A rule that does not fit raises a
plain `ShapeError`; the caller adds the node's name and position.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from netdsl.errors import OTHER_NAMES, SpecError, did_you_mean
from netdsl.limits import FLOAT32_MAX, TORCH_INT_MAX
from netdsl.notation import described, shape_text, value_text
from netdsl.ops import receptive as rf

Shape = tuple[int, ...]
REQUIRED: Any = dataclasses.MISSING

REGISTRY: dict[str, type[Op]] = {}


class ShapeError(Exception):
    """A shape rule does not fit its inputs; the message says why, without position.
    `attribute`: the attribute at fault (an axis out of range), where the caller locates it."""

    def __init__(self, message: str, attribute: str | None = None):
        super().__init__(message)
        self.attribute = attribute


class Symbol(str):
    """A bare word used as a value, such as `global` in `avgpool(global)` or `same`."""

    kind: ClassVar[str] = "name"

    def notation(self) -> str:
        return str(self)


@dataclass(frozen=True)
class TensorArg:
    """An attribute that names another tensor; the tensor itself becomes an extra input.

    `source` is the operator that made the tensor (None for a network input) and
    `source_input` the shape of that operator's first input: `unpool(pool1)` takes its window
    and its output size from the max pooling it undoes."""

    label: str
    source: Op | None = None
    source_input: Shape | None = None
    kind: ClassVar[str] = "tensor"

    def notation(self) -> str:
        return self.label


@dataclass(frozen=True)
class TiedWeight:
    """An attribute that shares another layer's weight (GPT-2's output layer uses the token
    embedding's): `label` names that layer in the same body, `shape` is its weight's shape.
    The layer's own weight is then not a parameter of its own."""

    label: str
    shape: Shape
    kind: ClassVar[str] = "weight"

    def notation(self) -> str:
        return self.label


def attr(default: Any = REQUIRED, *, kind: str = "int", alias: str | None = None,
         choices: Sequence[str] = (), doc: str = "", keyword_only: bool = False,
         size_only: bool = False) -> Any:
    """Declare an operator attribute.

    kinds: size (int >= 1), count (int >= 0), int, float, positive (float > 0: an eps),
    nonnegative (float >= 0: a standard deviation), prob (0 <= p <= 1), bool, ints (an int
    or one per spatial axis), counts (the same, >= 0), padding (see `netdsl.ops.padding`),
    choice (one of `choices`), table (list of lists of ints), shape (list of ints; an int is a
    one-entry list, as torch's `x.reshape(n, 192)` takes it), tensor
    (another tensor), weight (another layer's weight, shared), any. `size_only`: a tensor
    attribute whose values are not read, only its size (crop's and upsample's `to`), which
    diagrams draw as a reference, not as data.
    """
    meta = {"kind": kind, "alias": alias, "choices": tuple(choices), "doc": doc,
            "keyword_only": keyword_only, "size_only": size_only}
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Parameters:
    """An operator's attributes in signature order, the positional ones, and every attribute by
    name and by alias."""

    fields: tuple[dataclasses.Field, ...]
    positional: tuple[dataclasses.Field, ...]
    by_name: dict[str, dataclasses.Field]
    tensors: frozenset[str]  # the attributes that name another tensor (kind "tensor")
    weights: frozenset[str]  # the attributes that share another layer's weight (kind "weight")
    required: frozenset[str]  # the attributes without a default

    @staticmethod
    def of(op_class: type) -> Parameters:
        fields = tuple(f for f in dataclasses.fields(op_class) if f.init)
        by_name = {f.name: f for f in fields}
        for f in fields:
            if f.metadata.get("alias"):
                by_name[f.metadata["alias"]] = f
        positional = tuple(f for f in fields if not f.metadata.get("keyword_only"))
        tensors = frozenset(f.name for f in fields if f.metadata.get("kind") == "tensor")
        weights = frozenset(f.name for f in fields if f.metadata.get("kind") == "weight")
        required = frozenset(f.name for f in fields if f.default is REQUIRED)
        return Parameters(fields, positional, by_name, tensors, weights, required)


@dataclass(frozen=True)
class Op:
    """Base of all operators. Subclasses set `name`, `family` and a docstring."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = "other"  # conv, linear, pool, norm, activation, merge, shape, ...
    variadic: ClassVar[bool] = False  # positional arguments are extra input tensors (merges)
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None  # a difference or a quotient takes exactly two
    is_view: ClassVar[bool] = False  # output aliases the input's memory (flatten, reshape)
    # at inference the output is the input tensor itself (dropout in eval mode)
    inference_identity: ClassVar[bool] = False
    # backward hands its inputs the output's gradient itself, or views of it (add, concat,
    # views): no new gradient tensor is made
    passes_gradient: ClassVar[bool] = False
    # may overwrite its input instead of making a new tensor, where the input is `overwritable`
    # and nothing else reads it (the compiled module's ReLU(inplace=True), as torchvision's)
    in_place: ClassVar[bool] = False
    # its output is a new tensor its own backward does not read, so a following `in_place`
    # layer may overwrite it (a convolution, batch norm, a sum)
    overwritable: ClassVar[bool] = False
    # Other tools' names for this operator (torch's, other libraries', the papers'), never
    # accepted: an unknown name equal to one gets "did you mean '<name>'?"
    known_as: ClassVar[tuple[str, ...]] = ()
    stored: ClassVar[bool] = False  # output is a stored parameter, no activation
    # the axis of its (first) input whose size its construction takes as the channels: 0
    # (channels first: convolutions, batch norm), or -1 for an operator on the last axis
    # (linear, layer norm, attention), which tells that a network input it reads is laid out
    # channels last ([H, W, C], [tokens, dim]); None for one indifferent to the layout (an
    # activation, a dropout, a sum), whose readers tell instead
    channel_axis: ClassVar[int | None] = 0
    memory_note: ClassVar[str | None] = None  # what the memory figures leave out for it
    symbol: ClassVar[str | None] = None  # drawn in place of the name in diagrams ("+")
    _parameters: ClassVar[Parameters | None] = None  # per class, see `parameters()`

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            REGISTRY[cls.name] = cls
            OTHER_NAMES.update(dict.fromkeys(cls.known_as, cls.name))

    # ------------------------------------------------------------ rules (overridden)

    def infer_shape(self, inputs: list[Shape]) -> Shape:
        return inputs[0]

    def params(self, inputs: list[Shape], out: Shape) -> int:
        return 0

    def buffers(self, inputs: list[Shape], out: Shape) -> int:
        return 0

    def macs(self, inputs: list[Shape], out: Shape) -> int:
        return 0

    def flops(self, inputs: list[Shape], out: Shape) -> int:
        """Elementwise floating-point work besides the MACs; one per output element by default."""
        return numel(out)

    def workspace(self, inputs: list[Shape], out: Shape) -> int:
        """Elements of the temporaries the operator materialises while it runs (alive with its
        inputs and output, freed when it returns); 0 for most."""
        return 0

    def view_strides(self, inputs: list[Shape], strides: Strides, out: Shape) -> Strides | None:
        """For a view (`is_view`): the output's strides over an input with `strides`; None
        where torch copies instead (reshaping axes that a crop or a permute left apart)."""
        if strides != contiguous_strides(inputs[0]):
            return None
        return contiguous_strides(out)

    def saved(self, inputs: list[Shape], out: Shape) -> tuple[str, ...]:
        """What autograd keeps of one application for the backward pass, as torch's
        derivative formulas do: "inputs" (conv, linear, norms, most activations), "output"
        (relu, sigmoid, tanh, softmax), "indices" (max pooling's int64 switches, one per output
        element), "noise" (dropout's: on the CPU a tensor like its output that it multiplies
        by); () for none (add, concat, views, resampling, which need only sizes)."""
        return () if self.is_view else ("inputs",)

    def saved_inside(self, inputs: list[Shape], out: Shape) -> int:
        """Elements autograd keeps for the backward pass in tensors the operator makes inside
        itself (attention's q, k and v), besides what `saved` names; 0 for most."""
        return 0

    def backward_peak(self, inputs: list[Shape], out: Shape) -> tuple[int, int]:
        """For an operator whose backward is several steps (attention): its busiest moment, as
        (elements of a sample above what was alive when the backward started, its output's
        gradient and what it kept included; elements of the weight gradients made by then).
        The output's gradient is freed before then when no other layer reads it. (0, 0): the
        backward holds its inputs' and weights' gradients and no more, the rule for most."""
        return 0, 0

    def connections(self, inputs: list[Shape], out: Shape) -> int:
        """LeNet's measure: output elements x (fan-in + 1 if there is a bias); 0 if no weights."""
        return 0

    def weight_shape(self, inputs: list[Shape]) -> Shape | None:
        """The shape of the layer's `weight`, which another layer may share; None: none."""
        return None

    def id_count(self) -> int | None:
        """How many distinct integer ids its input holds, for an operator that reads ids
        rather than values (an embedding: its vocabulary); None for one that reads values.
        An example input for it must be such ids, the lookup takes no floats."""
        return None

    def receptive_field(self, inputs: list[Shape], out: Shape) -> rf.Rule:
        return rf.IDENTITY

    def summary(self, inputs: list[Shape]) -> str:
        """A short description in the notation of papers for inputs of these shapes, e.g.
        'conv 3x3/2, 64' (the rank of the input decides how many sizes a kernel shows)."""
        return self.name

    # ------------------------------------------------------------ signature

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(cls.parameters().fields)

    @classmethod
    def parameters(cls) -> Parameters:
        """The signature as lookup tables; built on first use, as the class is complete only
        after the dataclass decorator has run (and asking `dataclasses.fields` per layer costs
        more than the rest of building the layer)."""
        table = cls.__dict__.get("_parameters")
        if table is None:
            table = Parameters.of(cls)
            cls._parameters = table
        return table

    @classmethod
    def signature(cls) -> str:
        parts = []
        for f in cls.fields():
            if f.default is REQUIRED:
                parts.append(f.name)
            else:
                parts.append(f"{f.name}={_shown(f.default)}")
            if f.metadata.get("alias"):
                parts[-1] += f" (or {f.metadata['alias']}=)"
        if cls.variadic:  # the paths merged with the current tensor (`sub`: the one)
            parts.insert(0, "tensors..." if cls.max_inputs is None else "tensor")
        return f"{cls.name}({', '.join(parts)})"

    @classmethod
    def from_args(cls, args: list[Any], kwargs: dict[str, Any]) -> Op:
        """Build the operator from evaluated arguments, checking names, counts and types."""
        table = cls.parameters()
        if not args and not kwargs and not table.required:  # bare `relu`, `bn`: all defaults
            op = cls()
            op.validate()
            return op
        fields, by_name, positional = table.fields, table.by_name, table.positional
        if len(args) > len(positional):
            raise SpecError(f"'{cls.name}' takes at most {len(positional)} positional "
                            f"argument{'s' if len(positional) != 1 else ''}, got {len(args)}",
                            "arg", help=f"signature: {cls.signature()}")
        values: dict[str, Any] = {f.name: value for f, value in zip(positional, args, strict=False)}
        for key, value in kwargs.items():
            f = by_name.get(key)
            if f is None:
                hint = did_you_mean(key, by_name)
                raise SpecError(f"'{cls.name}' has no parameter '{key}'", "arg",
                                help=hint or f"signature: {cls.signature()}")
            if f.name in values:
                raise SpecError(f"'{cls.name}' got parameter '{f.name}' twice", "arg",
                                help=f"signature: {cls.signature()}")
            values[f.name] = value
        for f in fields:  # in signature order, so the first attribute at fault is reported
            value = values.get(f.name, REQUIRED)
            if value is not REQUIRED:
                values[f.name] = coerce(cls.name, f, value)
            elif f.name in table.required:
                raise SpecError(f"'{cls.name}' needs parameter '{f.name}'", "arg",
                                help=f"signature: {cls.signature()}")
        op = cls(**values)
        op.validate()
        return op

    @classmethod
    def whole_floats(cls, args: list[Any], kwargs: dict[str, Any]) -> list[str]:
        """The whole-number attributes given a float (64.0 for `out`), which `coerce` reads
        as ints."""
        if not any(type(v) is float for v in (*args, *kwargs.values())):
            return []
        table = cls.parameters()
        given = [*zip(table.positional, args, strict=False),
                 *((table.by_name.get(k), v) for k, v in kwargs.items())]
        return [f.name for f, v in given if f is not None and type(v) is float
                and f.metadata.get("kind") in WHOLE_KINDS]

    def validate(self) -> None:
        """Check relations between attributes; raise SpecError."""

    def attributes(self) -> dict[str, Any]:
        """The attribute values that differ from their defaults, in signature order."""
        out = {}
        for f in self.fields():
            value = getattr(self, f.name)
            if f.default is REQUIRED or value != f.default:
                out[f.name] = value
        return out




# The least plain int each integer kind takes as it is (None: any int): `coerce`'s fast path for
# the most common attribute value; every other value, and an int out of range, takes the full path.
_INT_FLOOR = {"size": 1, "count": 0, "int": None, "ints": 1, "counts": 0, "padding": 0}


def coerce(op: str, f: dataclasses.Field, value: Any) -> Any:
    """Check one attribute value against its declared kind; return the normalised value."""
    kind = f.metadata.get("kind", "any")
    if type(value) is int and kind in _INT_FLOOR and -TORCH_INT_MAX <= value <= TORCH_INT_MAX:
        floor = _INT_FLOOR[kind]
        if floor is None or value >= floor:
            return value
    if value is None and f.default is None:
        return None

    def bad(expected: str) -> SpecError:
        where = f"'{op}' parameter '{f.name}'"
        return SpecError(f"{where} must be {expected}, got {described(value, limit=80)}", "type",
                         attribute=f.name)

    if kind == "any":
        ints = [v for v in (value if isinstance(value, tuple) else (value,)) if type(v) is int]
        if any(not -TORCH_INT_MAX <= v <= TORCH_INT_MAX for v in ints):
            raise bad("made of ints that fit in 64 bits, as torch's")
        return value
    if kind == "tensor":
        if not isinstance(value, TensorArg):
            raise bad("a tensor")
        return value
    if kind == "weight":
        if not isinstance(value, TiedWeight):
            raise bad("the label of an earlier layer with a weight")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in FLOAT_KINDS:
        return _float(value, kind, bad)
    if kind in INT_KINDS:
        return _int(value, kind, bad)
    if kind == "padding":
        return _padding(value, bad)
    if kind in ("ints", "counts"):
        each = "size" if kind == "ints" else "count"
        if isinstance(value, tuple):
            if not value:
                raise bad("an int or a list of ints")
            return tuple(_int(v, each, bad) for v in value)
        return _int(value, each, bad)
    if kind == "choice":
        if _bare_layer_name(value) in f.metadata["choices"]:  # gelu(approximate=tanh)
            value = _bare_layer_name(value)
        if not isinstance(value, str) or value not in f.metadata["choices"]:
            options = ", ".join(f.metadata["choices"])
            raise bad(f"one of {options}")
        return Symbol(value)
    if kind == "table":
        if not isinstance(value, tuple) or not all(isinstance(r, tuple) and r for r in value):
            raise bad("a list of non-empty lists of channel indices")
        return tuple(tuple(_int(i, "count", bad) for i in row) for row in value)
    if kind == "shape":
        if one_entry(f, value):
            value = (whole(value),)
        if not isinstance(value, tuple):
            raise bad("a list of ints")
        return tuple(_int(v, "int", bad) for v in value)
    raise AssertionError(kind)


# The kinds of attribute that hold a real number: the values each takes, and how a message says
# them. torch rejects an eps <= 0 (batch norm while training; layer and group norm and
# F.normalize divide by sqrt(0) or by the root of a negative and give NaN; instance norm's
# kernel takes 0) and a negative standard deviation.
FLOAT_KINDS: dict[str, tuple[Callable[[float], bool], str]] = {
    "float": (lambda v: True, "a number"),
    "positive": (lambda v: v > 0, "a number > 0"),
    "nonnegative": (lambda v: v >= 0, "a number >= 0"),
    "prob": (lambda v: 0 <= v <= 1, "a probability between 0 and 1"),
}


def _float(value: Any, kind: str, bad: Any) -> float:
    """A number of a float kind. Past float32's largest finite value it is refused: torch
    computes in float32 (the default dtype), and makes PReLU's init, a parameter's value or a
    leaky slope a float32 it cannot hold ("value cannot be converted to type float without
    overflow")."""
    fits, expected = FLOAT_KINDS[kind]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not fits(value):
        raise bad(expected)
    if not -FLOAT32_MAX <= value <= FLOAT32_MAX:
        raise bad(f"{expected} that float32 holds (at most {FLOAT32_MAX:.8g} in magnitude)")
    return float(value)


def _padding(value: Any, bad: Any) -> Any:
    """An int, `same`, `valid`, or one entry per axis: an int or a [before, after] pair."""
    expected = "an int, same, valid, or per axis an int or a [before, after] pair"
    if isinstance(value, str) and value in ("same", "valid"):
        return Symbol(value)
    if not isinstance(value, tuple):
        return _int(value, "count", bad)
    if not value:
        raise bad(expected)
    sides = []
    for side in value:
        if isinstance(side, tuple):
            if len(side) != 2:
                raise bad(expected)
            sides.append(tuple(_int(v, "count", bad) for v in side))
        else:
            sides.append(_int(side, "count", bad))
    return tuple(sides)


def _bare_layer_name(value: Any) -> str | None:
    """The name of an operator used as a bare word without arguments (`tanh`), which is also
    the spelling of a choice; None for anything else."""
    if isinstance(value, str) or getattr(value, "args", True) or getattr(value, "kwargs", True):
        return None
    return getattr(value, "name", None)


def one_entry(f: dataclasses.Field, value: Any) -> bool:
    """A single number given for a list of ints (`reshape(192)`), which `coerce` reads as a
    one-entry list, as torch's `x.reshape(n, 192)` takes it."""
    return f.metadata.get("kind") == "shape" and type(whole(value)) is int


# the kinds of attribute that hold whole numbers, which `coerce` takes 2.0 for as 2
WHOLE_KINDS = frozenset({"size", "count", "int", "ints", "counts", "shape", "table", "padding"})
INT_KINDS = frozenset({"size", "count", "int"})  # of them, those that hold one int


def whole(value: Any) -> Any:
    """`value` with each float that is a whole number an int (2.0 -> 2), lists item by item,
    as the whole-number kinds read it; the same object where there is none."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        items = tuple(whole(v) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _int(value: Any, kind: str, bad: Any) -> int:
    if isinstance(value, float):
        value = whole(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad({"size": "a positive int", "count": "an int >= 0"}.get(kind, "an int"))
    if kind == "size" and value < 1:
        raise bad("a positive int")
    if kind == "count" and value < 0:
        raise bad("an int >= 0")
    if not -TORCH_INT_MAX <= value <= TORCH_INT_MAX:
        raise bad("an int that fits in 64 bits, as torch's")
    return value


# ---------------------------------------------------------------- helpers for rules


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


Strides = tuple[int, ...]  # elements between neighbours along each axis (batch left out)


def contiguous_strides(shape: Sequence[int]) -> Strides:
    """The strides of a tensor stored row-major with no gaps."""
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return tuple(reversed(out))


def merged_stride(shape: Sequence[int], strides: Strides) -> int | None:
    """The stride of `shape`'s axes merged into one, when a view can do it (each axis steps
    over the next one whole; size-1 axes do not count); None when torch must copy."""
    kept = [(d, s) for d, s in zip(shape, strides, strict=True) if d != 1]
    for (_, outer), (size, inner) in zip(kept, kept[1:], strict=False):
        if outer != size * inner:
            return None
    return kept[-1][1] if kept else 1


def axis_index(op: Op, attribute: str, rank: int) -> int:
    """The axis an attribute names (negative counts from the end, the batch is not counted) as
    an index of a rank-`rank` input; a ShapeError at the attribute if it has no such axis, as
    torch's "Dimension out of range"."""
    axis = getattr(op, attribute)
    if not -rank <= axis < rank:
        raise ShapeError(f"{attribute} {axis} is out of range for a tensor of rank {rank} "
                         f"(axes {-rank} to {rank - 1}; the batch is not counted)", attribute)
    return axis + rank if axis < 0 else axis


def per_axis(value: int | tuple[int, ...], n: int, what: str) -> tuple[int, ...]:
    """Broadcast an int to one value per spatial axis; check a tuple's length. `what` is the
    attribute's name, where the error is located."""
    if isinstance(value, tuple):
        if len(value) != n:
            raise ShapeError(f"{what} has {len(value)} values for {n} spatial "
                             f"ax{'is' if n == 1 else 'es'}", what)
        return value
    return (value,) * n


def spatial(shape: Shape, op: str, ranks: tuple[int, ...] = (2, 3, 4)) -> int:
    """The number of spatial axes of a (C, *spatial) input; raise if the rank does not fit."""
    if len(shape) not in ranks:
        wanted = " or ".join(f"{r - 1}" for r in ranks)
        raise ShapeError(f"{op} needs an input with channels and {wanted} spatial "
                         f"ax{'es' if ranks != (2,) else 'is'}, got shape "
                         f"{shape_text(shape, 'list')}")
    return len(shape) - 1


def window_out(length: int, kernel: int, stride: int, pad: int, dilation: int = 1,
               ceil: bool = False) -> int:
    """Output length of a sliding window, as torch computes it (including ceil_mode's rule)."""
    span = length + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= length + pad:
        out -= 1
    if out < 1:  # with ceil_mode, a kernel a little larger than the input still fits once
        raise ShapeError(f"kernel {kernel}"
                         f"{f' (dilated to {dilation * (kernel - 1) + 1})' if dilation > 1 else ''}"
                         f" is larger than the padded input {length + 2 * pad}")
    return out


def kxk(values: tuple[int, ...]) -> str:
    """'3x3' for a kernel of 3 on two axes, '1x7' for a rectangular one."""
    return "x".join(str(v) for v in values)


def _shown(value: Any) -> str:
    """A value in an operator's signature or message, short."""
    return value_text(value, limit=80)
