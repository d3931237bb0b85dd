"""What a name may be: the one home of identifier rules, for the elaborator and the backends.

A label names a layer in `netdsl stats`, a submodule of the compiled `nn.Module` and the prefix
of its state-dict keys, so every label the language accepts must be one torch can hold under
that very name. Refused (by `netdsl check`, at the label):
- an empty label, or one with a '.' (dots separate the levels of a layer name) or a control
  character;
- a label starting with '_': torch.nn.Module keeps its own state in such attributes
  (`_parameters`, `_modules`), Python's object model uses dunders (`__init__`, `__class__`),
  and Python renames `__w` written in a class body (so its weights would load as `_Net__w`);
- the public attributes of torch.nn.Module (`forward`, `training`, `to`, ...): a submodule of
  that name would hide them. `MODULE_ATTRIBUTES` is a static list (netdsl imports torch only in
  its backends); a test compares it with `dir(torch.nn.Module())` so it cannot go stale.

Any other label works: one that is not a Python identifier (a keyword such as `class`, a
string label such as "block1-0") is registered with `add_module` and read with `getattr`.

A label or a name is written bare in a spec when it is one of the grammar's names (`is_spec_name`:
ASCII letters, digits and '_', not starting with a digit, and no reserved word); any other is
written as a string ("block1-0", "0", "in").
"""

from __future__ import annotations

import keyword
import re
from functools import lru_cache
from typing import Any

from netdsl.errors import SpecError
from netdsl.syntax.keywords import KEYWORDS

# Public attributes of a torch.nn.Module instance (torch 2.14); see the test that keeps it so.
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda
double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
get_submodule half ipu load_state_dict modules mtia named_buffers named_children
named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train training type xpu zero_grad
""".split())

# A name of the language (grammar.lark's NAME, a test holds it) and of Python's ASCII identifiers.
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"
_IDENTIFIER = re.compile(NAME_PATTERN + r"\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARKS = frozenset("#$")  # characters netdsl's own layer names use


def is_word(text: str) -> bool:
    """Letters, digits and '_', not starting with a digit: a name, keywords included."""
    return bool(_IDENTIFIER.match(text))


def is_identifier(name: str) -> bool:
    """A Python identifier that is not a keyword (so `self.name` is valid source)."""
    return bool(_IDENTIFIER.match(name)) and not keyword.iskeyword(name)


def is_spec_name(text: str) -> bool:
    """Whether `text` can be written bare as a name of the language; else it is a string."""
    return bool(_IDENTIFIER.match(text)) and text not in KEYWORDS


def spec_name(text: str, fallback: str = "net") -> str:
    """`text` (a Python name, say) made a name of the language: a character a name cannot hold
    becomes '_', a reserved word takes a trailing '_' (`input_`), a leading digit a prefix."""
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in text)
    if not name.strip("_"):
        return fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    return f"{name}_" if name in KEYWORDS else name


@lru_cache(maxsize=4096)  # a network repeats its labels (conv1, bn1) in every block instance
def label_error(label: str) -> tuple[str, str] | None:
    """Why `label` cannot name a layer (message, help), or None if it can."""
    if not label:
        return "a label cannot be empty", "give the layer a name, or no label"
    if "." in label:
        return (f"the label '{label}' contains '.'",
                "dots separate the levels of a layer name (layer1.0.conv1); use '_' or '-'")
    marks = sorted(set(label) & _MARKS)
    if marks:
        return (f"the label '{label}' contains '{marks[0]}'",
                "'#' marks the later calls of a shared module (head#2) and '$' a block's inputs "
                "in netdsl's own names; use letters, digits, '_' or '-'")
    if _CONTROL.search(label):
        return ("a label cannot contain control characters or line breaks",
                "use letters, digits, '_' or '-'")
    if label.startswith("_"):
        return (f"the label '{label}' starts with '_', which is reserved",
                "torch.nn.Module keeps its own state in names starting with '_' (and Python "
                "renames '__x' inside a class): start the label with a letter")
    if label in MODULE_ATTRIBUTES:
        return (f"the label '{label}' is the name of a torch.nn.Module attribute",
                f"a submodule named '{label}' would hide Module.{label}; rename the label")
    return None


def checked_label(label: str | None, span: Any) -> str | None:
    """`label` if it may name a layer (or no label); else a located `SpecError`."""
    if label is None:
        return None
    problem = label_error(label)
    if problem is not None:
        raise SpecError(problem[0], "label", span, help=problem[1])
    return label

