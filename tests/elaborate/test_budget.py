"""The work budget: everything a spec can make netdsl do ends in a located `limit` error naming
what ran away and the option that raises the limit, whether or not it makes layers.

The tests use small budgets (`max_steps`), so they are quick; one test runs each runaway under
the default budget in a child process with a memory limit, as the command line would.
"""

from __future__ import annotations

import pytest

import netdsl
from netdsl.elaborate.budget import Budget
from netdsl.elaborate.values import show
from netdsl.errors import NetdslError
from netdsl.limits import MAX_STEPS, MAX_VALUE_DEPTH, MAX_VALUE_ITEMS

NET = "network n {{\n    input x: [3, 8, 8]\n{body}\n}}\n"


def spec(body: str, head: str = "") -> str:
    return head + NET.format(body="\n".join("    " + line for line in body.splitlines()))


def limit_error(text: str, **options) -> netdsl.Diagnostic:
    with pytest.raises(NetdslError) as info:
        net = netdsl.load(text, **options)
        problems = net.check()
        if problems:
            raise NetdslError(problems)
    diag = info.value.diagnostics[0]
    assert diag.code == "limit", diag.message
    assert diag.span is not None and diag.span.line >= 1
    return diag


RUNAWAYS = {
    # name: (spec, what the message names, the line it points at)
    "identity_repeat": (spec("identity * 100_000_000"), "this repeat", 3),
    "loop_without_layers": (spec("for i in range(1_000_000) { y = i }"), "evaluating this", 3),
    "nested_loops": (spec("for i in range(1000) {\n    for j in range(1000) { y = j }\n}"),
                     "this `for` loop", 4),
    "branching_recursion": (spec("conv(f(60) + 1, 1)",
                                 "def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\n"),
                            "the call of 'f'", 4),
    "recursion_in_a_global": ("def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\nX = f(60)\n"
                              + spec("relu"), "the call of 'f'", 2),
    "string_doubling": (spec('s = "ab"\nfor i in range(40) { s = s + s }\nrelu'),
                        "this `for` loop", 4),
    "big_lists": (spec("\n".join(f"l{i} = range(100_000)" for i in range(30)) + "\nrelu"),
                  "evaluating this", 3),
    "expect_in_a_loop": (spec("relu\nfor i in range(1_000_000) { expect params == 0 }"),
                         "evaluating this", 4),
    "heavy_expectation": (spec("relu\nexpect f(40) == 0",
                               "def f(n) = 0 if n == 0 else f(n - 1) + f(n - 1)\n"),
                          "the call of 'f'", 5),
    # using a list by name costs its values, nested ones counted: the loop that doubles it
    "doubling_a_shared_list": (spec("a = [1]\nfor i in range(20) { a = [a, a] }\n"
                                    "for i in range(100) { y = str(a) }\nrelu"),
                               "this `for` loop", 4),
    "str_of_a_shared_list": (spec("a = [1]\nfor i in range(12) { a = [a, a] }\n"
                                  "for i in range(100) { y = str(a) }\nrelu"),
                             "this `for` loop", 5),
}


@pytest.mark.parametrize("name", RUNAWAYS)
def test_runaway_work_is_a_located_limit_error(name: str):
    text, what, line = RUNAWAYS[name]
    diag = limit_error(text, max_steps=50_000)
    assert diag.message.startswith(what) and "work budget of 50,000 steps" in diag.message
    assert diag.span.line == line
    assert "--max-steps" in diag.help and "max_steps=" in diag.help


@pytest.mark.parametrize("text", [
    spec("nop * 100_000_000", "block nop { identity }\n"),
    spec("h(60)", "block h(n: int) {\n    if n > 0 { h(n - 1) * 2 } else { identity }\n}\n"),
])
def test_calls_without_layers_are_bounded_by_the_layer_limit(text: str):
    """A run of calls of one block costs the work of one call, but every call is a row of the
    network: the limit on layers and block calls stops it, at once."""
    diag = limit_error(text, max_steps=50_000)
    assert diag.message.startswith("the network would expand to more than 25,000 layers")
    assert "--max-nodes" in diag.help


def test_raising_the_budget_lets_a_big_spec_through():
    text = spec("for i in range(20_000) { y = i * 2 }\nrelu")
    limit_error(text, max_steps=20_000)
    assert len(netdsl.load(text, max_steps=200_000).graph) == 2


def test_the_budget_spans_the_whole_load_not_each_list():
    """Each list is small; together they pass the budget (the cap was per list before)."""
    text = spec("\n".join(f"l{i} = range(10_000)" for i in range(10)) + "\nrelu")
    assert "evaluating this" in limit_error(text, max_steps=60_000).message
    netdsl.load(text, max_steps=200_000)


def test_the_default_budget_fits_the_zoo_many_times_over():
    net = netdsl.load("specs/preact_resnet1001.net")
    used = net.program.budget.limit - net.program.budget.left
    assert net.program.budget.limit == MAX_STEPS and used * 20 < MAX_STEPS


def test_round_to_absurd_places_is_immediate():
    net = netdsl.load(spec("conv(round(5, -100_000_000) + 1, 1)\nrelu"), max_steps=1_000)
    assert net.graph["0"].op.out == 1
    values = netdsl.load("A = round(5.5, 100_000_000)\nB = round(1234, -2)\n" + spec("relu"))
    assert values.program.env.vars["A"] == 5.5 and values.program.env.vars["B"] == 1200


def test_lists_nest_at_most_so_deep():
    text = spec("a = [1]\nfor i in range(1000) { a = [a] }\nrelu")
    diag = limit_error(text)
    assert f"nested more than {MAX_VALUE_DEPTH} deep" in diag.message
    assert diag.span.line == 4


def test_a_list_shared_many_times_counts_all_its_values():
    """`a = [a, a]` doubles the values a traversal (`str`, `==`, a hash) visits, not memory."""
    text = spec("a = [1]\nfor i in range(40) { a = [a, a] }\nrelu")
    diag = limit_error(text, max_steps=10 ** 12)  # so that the size, not the budget, stops it
    assert "counting those of nested lists" in diag.message
    assert f"{MAX_VALUE_ITEMS:,}" in diag.message


def test_a_huge_list_in_a_message_is_cut_short():
    text = spec("a = range(100_000)\nconv(a, 1)")
    with pytest.raises(NetdslError) as info:
        netdsl.load(text)
    assert len(info.value.diagnostics[0].message) < 400


def test_show_stops_at_its_limit_even_for_shared_lists():
    a: tuple = (1,)
    for _ in range(60):  # 2 ** 60 values if spelt out
        a = (a, a)
    text = show(a)
    assert text.endswith("...") and len(text) <= 210
    assert show((1, "x", 2.5, True)) == '[1, "x", 2.5, true]'


def test_budget_is_positive():
    with pytest.raises(ValueError):
        Budget(0)


def test_layers_and_scopes_spend_the_budget():
    text = spec("relu * 5_000")  # 5,000 layers and passes, a step each
    diag = limit_error(text, max_steps=8_000)
    assert diag.message.startswith("this repeat")
    assert len(netdsl.load(text, max_steps=200_000).graph) == 5_001


def test_a_run_of_one_block_costs_one_call():
    """A repeat whose calls are one definition on one shape is elaborated once (a run)."""
    text = spec("one * 5_000", "block one { relu }\n")
    net = netdsl.load(text, max_steps=2_000)
    assert net.top.meta["layers"] == len(net.graph) == 5_001  # and the input
