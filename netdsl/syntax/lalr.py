"""The parse loop: lark's LALR tables and tree-building callbacks, driven by one tight loop.

lark compiles the grammar, its parse table and the callbacks that build the syntax tree (our
transformer's methods behind lark's child filters); this module only walks the table. lark's
own loop re-reads its state through attributes at every token and checks an assertion that
compares rules with states at every reduction, a fifth of a parse's time on a spec of a few
hundred lines. Here each state's actions are flattened once into plain tuples.

The loop has no error handling of its own: on a token the table does not accept it returns
None, and the caller parses the same text with lark's parser, which raises lark's exception
with its full state, so syntax errors read exactly as lark reports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

import lark
from lark.lexer import Token
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift

# One action: (shift to, None, None, None) or (None, children popped, callback, rule's name);
# the callback is None where the rule's value is its one child.
Action = tuple[Any, Any, Any, Any]


class Driver:
    """The table of one lark LALR parser, flattened for `run`."""

    def __init__(self, parser: lark.Lark, start: str):
        conf = parser.parse_interactive("", start=start).parser_state.parse_conf
        rules = conf.callbacks
        self.start, self.end = conf.start_state, conf.end_state
        self.terminal_callbacks = {name: f for name, f in rules.items() if isinstance(name, str)}
        self.states: dict[Any, dict[str, Action]] = {
            state: {symbol: _action(kind, arg, rules) for symbol, (kind, arg) in actions.items()}
            for state, actions in conf.states.items()}

    def run(self, tokens: Iterable[Token]) -> Any:
        """The value of the start rule, or None where a token is not accepted."""
        states, terminal_callbacks, end = self.states, self.terminal_callbacks, self.end
        state_stack: list[Any] = [self.start]
        values: list[Any] = []
        for tok in chain(tokens, (_END,)):
            kind = tok.type
            actions = states[state_stack[-1]]
            while True:
                action = actions.get(kind)
                if action is None:
                    return None
                target, size, build, origin = action
                if target is not None:
                    state_stack.append(target)
                    values.append(tok if kind not in terminal_callbacks
                                  else terminal_callbacks[kind](tok))
                    break
                if build is None:  # a `?rule` of one child: the child is its value
                    state_stack[-1] = states[state_stack[-2]][origin][0]
                else:
                    if size:
                        children = values[-size:]
                        del state_stack[-size:]
                        del values[-size:]
                    else:
                        children = []
                    values.append(build(children))
                    state_stack.append(states[state_stack[-1]][origin][0])
                if tok is _END and state_stack[-1] == end:
                    return values[-1]
                actions = states[state_stack[-1]]
        return None


_END = Token("$END", "")  # after the last token: the reductions that complete the start rule


def _action(kind: Any, arg: Any, callbacks: dict[Any, Any]) -> Action:
    if kind is Shift:
        return arg, None, None, None
    size, build = len(arg.expansion), callbacks[arg]
    if size == 1 and isinstance(build, ExpandSingleChild):
        build = None  # its value is its one child's: a third of a spec's reductions
    return None, size, build, arg.origin.name
