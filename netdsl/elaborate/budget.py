"""The work budget: one count of everything a spec makes netdsl do while it is loaded.

Layers are bounded by `--max-nodes`; everything else a spec can ask for costs steps of one
budget, bounded by `--max-steps`: a token parsed, an evaluation step (one expression node), a
pass of a `for` loop or a repeat, each item of a list and character of a string made or used by
name, a layer name or scope made, an `expect` recorded. Work that makes no layers
(`nop * 100_000_000`, `f(n - 1) + f(n - 1)`) therefore ends with a located error too, as does
memory: every object that stays alive was paid for by steps.

Values are bounded as they are made: a list holds at most `MAX_VALUE_ITEMS` values counting
those of nested lists (so `str`, `==` or hashing a list shared many times over cannot explode)
and nests at most `MAX_VALUE_DEPTH` deep (so no traversal of it can exhaust the stack).
"""

from __future__ import annotations

from typing import Any, NoReturn

from netdsl.errors import Span, SpecError
from netdsl.limits import MAX_STEPS, MAX_VALUE_DEPTH, MAX_VALUE_ITEMS, STEPS_HELP, TOKEN_STEPS
from netdsl.syntax.parser import TokenLimit

_NAME_CHARS_PER_STEP = 16  # a layer or scope name costs one step per this many characters
_BLOCK_STEPS = 16  # a block call: about as long as 16 evaluation steps
_SCOPE_STEPS = 16  # a scope: its record, a frame, a naming table, the call that made it


class Budget:
    """Steps left for one `netdsl.load` (parsing excepted), shared by every evaluator of it."""

    def __init__(self, max_steps: int = MAX_STEPS):
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        self.limit = max_steps
        self.left = max_steps  # Evaluator.eval decrements it directly: its hottest line
        self.loops: dict[int, tuple[str, Span, int]] = {}  # id(span) -> (kind, span, left
        # when its first pass began): a loop that spent half the budget is what ran away
        self.call: tuple[str, Span] | None = None  # the outermost `def` call in progress
        self._nested: dict[int, tuple[tuple, int, int]] = {}  # id -> (list, items, depth)

    # ------------------------------------------------------------ charging

    def charge(self, steps: int, span: Span | None) -> None:
        self.left -= steps
        if self.left < 0:
            self.exhausted(span)

    def iterate(self, span: Span, kind: str) -> None:
        """One pass of a `for` loop ("for") or a repeat ("repeat") at `span`."""
        if id(span) not in self.loops:
            self.loops[id(span)] = (kind, span, self.left)
        self.left -= 1
        if self.left < 0:
            self.exhausted(span)

    def tokens(self) -> TokenLimit:
        """The parser's share: as many tokens as the steps left pay for."""
        return TokenLimit(max(self.left, 0) // TOKEN_STEPS)

    def parsed(self, limit: TokenLimit) -> None:
        """Pay for the tokens a parse read."""
        self.left -= (limit.tokens - limit.left) * TOKEN_STEPS

    def layer(self, name: str, span: Span | None) -> None:
        """A layer (its name is kept for the life of the network)."""
        self.left -= 1 + len(name) // _NAME_CHARS_PER_STEP
        if self.left < 0:
            self.exhausted(span)

    def block(self, name: str, span: Span | None) -> None:
        """A block call: its arguments bound, a frame, its body walked (even an empty one)."""
        self.charge(_BLOCK_STEPS, span)

    def scope(self, name: str, span: Span | None) -> None:
        """A block instance, labeled group, merge or repeat."""
        self.charge(_SCOPE_STEPS + len(name) // _NAME_CHARS_PER_STEP, span)

    def expectation(self, tensors: int, span: Span) -> None:
        """An `expect` recorded with the `tensors` labels it may refer to."""
        self.charge(1 + tensors, span)

    def exhausted(self, span: Span | None) -> NoReturn:
        """Raise the located error: at the outermost `def` call in progress, else at the latest
        loop or repeat begun of those that spent half the budget or more, else where the budget
        ran out."""
        self.left = min(self.left, -1)
        what, where = "evaluating this", span
        runaway = [(kind, at) for kind, at, first in self.loops.values()
                   if first - self.left >= self.limit // 2]
        if self.call is not None:
            what, where = f"the call of '{self.call[0]}'", self.call[1]
        elif runaway:
            kind, where = runaway[-1]
            what = "this `for` loop" if kind == "for" else "this repeat"
        notes = [(span, f"the budget ran out at {span}")] \
            if span is not None and where is not None and span != where else []
        raise SpecError(f"{what} runs past the work budget of {self.limit:,} steps", "limit",
                        where, help=STEPS_HELP, notes=notes)

    # ------------------------------------------------------------ values

    def measure(self, value: tuple) -> tuple[int, int]:
        """The items of a list counting those of nested lists, and how deep it nests."""
        hit = self._nested.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1], hit[2]
        if tuple not in map(type, value):
            return len(value), 1
        items, depth = len(value), 1
        for item in value:
            if type(item) is tuple:
                inner_items, inner_depth = self.measure(item)
                items += inner_items
                depth = max(depth, inner_depth + 1)
        self._nested[id(value)] = (value, items, depth)  # kept alive, so the id stays its own
        return items, depth

    def new_list(self, value: tuple, span: Span | None) -> tuple:
        """Pay for a list just made from its items, and check its size and depth."""
        self.charge(len(value), span)
        items, depth = self.measure(value)
        self.check_list(items, depth, span)
        return value

    def check_list(self, items: int, depth: int, span: Span | None) -> None:
        """Refuse a list of `items` values (nested ones counted) nested `depth` deep."""
        if items > MAX_VALUE_ITEMS:
            counted = " counting those of nested lists" if depth > 1 else ""
            raise SpecError(f"the list would hold {_count(items)} values{counted}, more than "
                            f"the {MAX_VALUE_ITEMS:,} a list may hold", "limit", span)
        if depth > MAX_VALUE_DEPTH:
            raise SpecError(f"lists nested more than {MAX_VALUE_DEPTH} deep", "limit", span,
                            help="flatten the list")

    def combine(self, length: int, items: int, depth: int, span: Span | None) -> None:
        """Before making a list of `length` from others (`a + b`, `a * n`): its cost and size."""
        self.check_list(items, depth, span)
        self.charge(length, span)

    def remember(self, value: tuple, items: int, depth: int) -> tuple:
        """Record the measure of a list made by `combine`, so it is not measured again."""
        if depth > 1:
            self._nested[id(value)] = (value, items, depth)
        return value

    def new_string(self, length: int, span: Span | None) -> None:
        """Before making a string of `length` characters."""
        if length > MAX_VALUE_ITEMS:
            raise SpecError(f"the string would have {_count(length)} characters, more than the "
                            f"{MAX_VALUE_ITEMS:,} a string may have", "limit", span)
        self.charge(length, span)

    def use(self, value: Any, span: Span | None) -> None:
        """A list or string used by name: every use may copy, compare or hash all of it."""
        if type(value) is tuple:
            self.charge(self.measure(value)[0], span)
        elif type(value) is str:
            self.charge(len(value), span)


def _count(n: int) -> str:
    return f"{n:,}" if n < 10 ** 15 else f"about {float(n):.1e}"
