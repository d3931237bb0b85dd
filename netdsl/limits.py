"""Every bound netdsl puts on the work a spec can cause, in one place.

The adjustable ones are the work budget's defaults (`--max-steps`, `--max-nodes`; keyword
arguments of `netdsl.load`) and the memory a built module may take (`--max-bytes`, of
`netdsl.build`); the fixed ones are far beyond any real network and exist so that no
input can exhaust time, memory or the interpreter's stack. The README's promises section lists
them; `netdsl.elaborate.budget` does the accounting.
"""

from __future__ import annotations

# Adjustable: the defaults of the work budget.
MAX_STEPS = 1_000_000  # evaluation steps, calls, loop and repeat passes, list items, characters
MAX_NODES = 25_000  # layers of one network (the largest zoo network has about 3,000)
STEPS_OPTION = "--max-steps"
NODES_OPTION = "--max-nodes"
STEPS_HELP = (f"if the spec is meant to do this much work, raise the budget with {STEPS_OPTION} N "
              f"(netdsl.load(..., max_steps=N))")
# the memory `netdsl.build` and `netdsl compile` may ask torch for: the weights, and to export
# (which runs the network once) its example input and activations too
MAX_BYTES = 16 * 2 ** 30
BYTES_OPTION = "--max-bytes"
BYTES_HELP = (f"if the network is meant to be this large, raise the bound with {BYTES_OPTION} N "
              f"(netdsl.build(..., max_bytes=N))")
TOKEN_STEPS = 4  # a token parsed costs as much as a few evaluation steps

# Fixed: values.
MAX_INT_BITS = 256  # far beyond any real size; keeps `10 ** 10 ** 10` from exhausting memory
MAX_VALUE_ITEMS = 10_000_000  # values in one list, counting those of nested lists; characters
MAX_VALUE_DEPTH = 100  # lists nested in lists
MAX_CALL_DEPTH = 100  # nested calls of `def` functions
MAX_BLOCK_DEPTH = 64  # nested block calls
TORCH_INT_MAX = 2 ** 63 - 1  # operator attributes must fit torch's 64-bit integers
FLOAT32_MAX = 3.4028234663852886e38  # and their floats torch's float32 (its largest finite value)
# phases a receptive field keeps exactly (the product of the upsampling factors since the last
# strided layer); past it the field is their union alone, as for a resize by a fraction
MAX_FIELD_PHASES = 64

# Fixed: files and messages.
MAX_FILE_BYTES = 50_000_000  # one spec file
MAX_ERRORS = 20  # diagnostics a phase gathers, and a command shows ("N more errors not shown")
MAX_LAYOUT = 3_000  # boxes plus edge segments a diagram may hand to Graphviz's `dot`
DOT_SECONDS = 30  # Graphviz's `dot` is stopped after this long
MAX_IMPORT_DEPTH = 64  # files importing files
