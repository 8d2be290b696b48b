"""Telling survivors apart: drawn inputs, boundaries, shrinking, shared answers, cut searches.

The equivalence search is bounded by a number of inputs (the tests' calls, boundary
values, values drawn once per kind of parameter) with CPU time only as a cap; these
tests pin what that must still find, and what it must still set aside.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

from harness_sandbox.probelib import strategies
from harness_sandbox.probelib._pools import POOLS
from harness_sandbox.probelib.equivalence import Inputs, find_difference
from harness_sandbox.probelib.mutants import generate_mutants
from harness_sandbox.probelib.shrink import shrink
from tests.test_probe_runner import probe, replay

COUNT_NEGATIVE = textwrap.dedent("""\
    def count_negative(xs: list[int]) -> int:
        n = 0
        for x in xs:
            if x < 0:
                n += 1
        return n
    """)
# No zero and no negative number: `x <= 0` for `x < 0` survives, and neither the tests'
# own calls nor boundary values (ints only) can tell it apart: only drawn lists can.
COUNT_NEGATIVE_TESTS = textwrap.dedent("""\
    from solution import count_negative

    def test_counts():
        assert count_negative([]) == 0
        assert count_negative([1, 2, 3]) == 0
    """)


def test_a_survivor_told_apart_only_by_a_drawn_input(tmp_path: Path) -> None:
    result = probe(tmp_path / "w", COUNT_NEGATIVE, COUNT_NEGATIVE_TESTS, "count_negative")
    survivor = next(m for m in result["mutants"] if m["operator"] == "Compare Lt->LtE")
    assert survivor["killed"] is False and survivor["equivalent"] is False
    found = survivor["distinguishing_input"]
    # Shrunk to the least; found among the edits of the tests' own calls.
    assert found == {"args": "([0])", "solution": "0", "mutant": "1", "origin": "derived"}
    assert replay(COUNT_NEGATIVE, "count_negative", survivor["id"], found["args"]) == \
        (found["solution"], found["mutant"])
    assert result["mutation_score"] is not None and result["mutation_score"] < 1.0


def test_a_constant_inside_a_list_is_tried_outright() -> None:
    # Drawn values are the same for every sample, so the solution's own constants reach
    # lists through the boundary values: [11] tells `n > 11` from `n > 10`.
    def count_big(nums: list[int]) -> int:
        return sum(1 for n in nums if n > 10)

    def mutant(nums: list[int]) -> int:
        return sum(1 for n in nums if n > 11)

    search = find_difference(count_big, mutant, observed=[(([1, 50, 3],), {})])
    assert search.found == {"args": "([11])", "solution": "1", "mutant": "0",
                            "origin": "derived"}


def test_arguments_that_must_meet_are_made_to() -> None:
    # Differs only where x is the list's last element: drawn apart, they seldom meet.
    def contains(xs: list[int], x: int) -> bool:
        return x in xs

    def all_but_last(xs: list[int], x: int) -> bool:
        return x in xs[:-1]

    found = find_difference(contains, all_but_last).found
    assert found is not None and found["solution"] == "True" and found["mutant"] == "False"
    xs, x = eval(found["args"])  # e.g. ([0], 0)
    assert contains(xs, x) and not all_but_last(xs, x)


def test_an_equivalent_survivor_needs_inputs_that_answered() -> None:
    def double(x: int) -> int:
        return x + x

    def times_two(x: int) -> int:
        return x * 2

    search = find_difference(double, times_two)
    assert search.found is None and search.agreed >= 50  # every drawn int, not a handful


def test_survivors_share_the_solutions_answers() -> None:
    calls: list[Any] = []

    def solution(xs: list[int]) -> int:
        calls.append(xs)
        return sum(xs)

    def same(xs: list[int]) -> int:
        return sum(reversed(xs))

    inputs = Inputs(solution)
    first = find_difference(solution, same, inputs=inputs)
    answered = len(calls)
    second = find_difference(solution, same, inputs=inputs)
    assert first.found is None and second.agreed == first.agreed > 0
    assert len(calls) == answered  # the second survivor called only the mutant


def test_a_slow_solution_caps_the_search_not_the_sample() -> None:
    def slow(n: int) -> int:
        total = 0
        for i in range(abs(n) * 20000):
            total += i
        return total

    began = time.process_time()
    inputs = Inputs(slow)
    for _ in range(3):  # three survivors: the solution's answers are computed once, capped
        find_difference(slow, slow, total=0.25, inputs=inputs)
    assert time.process_time() - began < 3 * 0.25 + 0.5 + 1.0


def test_shrinking_finds_simple_inputs_a_step_at_a_time_or_two() -> None:
    def differ(call: Any) -> bool:
        (xs,), _ = call
        return sorted(sorted(xs), key=lambda x: bin(x)[2:].count("1")) != \
            sorted(sorted(xs), key=lambda x: bin(x)[3:].count("1"))

    drawn = (([-55, 0, 175, 303, -1000, 100, 0, 0, 100, 2],), {})
    assert differ(drawn)
    assert shrink(drawn, differ) == (([1, -1],), {})
    # `x > y` for `x >= y` differs only where x == y: both are set at once.
    assert shrink(((7, 7), {}), lambda c: c[0][0] == c[0][1]) == ((0, 0), {})
    assert shrink((("hello", 10**30), {}), lambda c: True) == (("", 0), {})


def test_the_common_kinds_are_drawn_already_and_of_their_kind() -> None:
    checks = {"int": int, "bool": bool, "float": float, "str": str, "printable": str,
              "list[int]": list, "tuple[int,int]": tuple, "dict[str,int]": dict,
              "set[int]": set}
    for name, kind in checks.items():
        assert len(POOLS[name]) >= 2 and all(type(v) is kind for v in POOLS[name]), name
    assert all(32 <= ord(c) <= 126 for s in POOLS["printable"] for c in s)
    assert all(len(t) == 2 for t in POOLS["tuple[int,int]"])

    def draws(*_: Any) -> Any:
        raise AssertionError("hypothesis ran for a kind that was drawn already")

    real = strategies.draw
    strategies.draw = draws  # type: ignore[assignment]
    try:
        calls = strategies.calls([strategies.kind_of(list[int]), strategies.kind_of(int)])
    finally:
        strategies.draw = real  # type: ignore[assignment]
    assert len(calls) >= 50 and calls[0] == (([], 0), {})  # the simplest first


def test_tuples_the_tests_pass_as_records_are_drawn_as_records() -> None:
    def overlap(a, b):  # type: ignore[no-untyped-def]
        return max(0, min(a[1], b[1]) - max(a[0], b[0]))

    families = strategies.families(overlap, [(((1, 2), (2, 3)), {})])
    label, kinds = families[0]
    assert label == "shaped like the tests' inputs"
    assert [name for name, _ in kinds] == ["tuple[int,int]", "tuple[int,int]"]


HANGS_IN_C = textwrap.dedent("""\
    def f(n: int) -> int:
        if n > 999:
            return sum(range(10 ** 12))
        return n
    """)


def test_a_search_cut_short_leaves_a_survivor_not_a_kill(tmp_path: Path) -> None:
    # Above 999 the solution itself runs for hours in C code, where no alarm reaches:
    # the child telling its mutants apart is killed, and the tests' verdict stands.
    tests = "from solution import f\n\ndef test_f():\n    assert f(3) == 3\n"
    result = probe(tmp_path / "w", HANGS_IN_C, tests, "f")
    cut = [m for m in result["mutants"] if m.get("search_cut")]
    assert cut, result["mutants"]
    assert all(m["killed"] is False and m["equivalent"] is None for m in cut)


def test_no_score_from_the_few_mutants_a_slow_suite_leaves_time_for(tmp_path: Path) -> None:
    # One survivor out of one that ran would score 0.0 and flag the suite weak; a score
    # needs at least half of the mutants.
    solution = ("def sign(n: int) -> int:\n    if n > 0:\n        return 1\n"
                "    if n < 0:\n        return -1\n    return 0\n")
    tests = ("import time\nfrom solution import sign\n\ndef test_sign():\n"
             "    time.sleep(0.3)\n    assert sign(5) == 1\n")
    result = probe(tmp_path / "w", solution, tests, "sign", budget=4.0)
    assert len(result["mutants"]) * 2 < len(generate_mutants(solution, 40))
    assert result["mutation_score"] is None
    assert any("mutants ran within the time budget" in e for e in result["errors"])
