"""Structural comparison of answers (`probelib.compare`) and its use by the equivalence
search: no Docker. An answer's own `__eq__`, `__ne__` or `__hash__` must decide nothing."""

from __future__ import annotations

import collections
import dataclasses
import decimal
import enum
import fractions
from typing import Any

import pytest

from harness_sandbox.probelib import mutants as mutants_module
from harness_sandbox.probelib.compare import (
    DIFFERENT,
    MAX_DEPTH,
    SAME,
    UNKNOWN,
    Unknown,
    canonical,
    compare,
    why_unknown,
)
from harness_sandbox.probelib.equivalence import find_difference, judge
from harness_sandbox.probelib.mutants import generate_mutants


class AlwaysEqual:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


class ForgedInt(int):
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = int.__hash__


class ForgedStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class ForgedList(list):  # type: ignore[type-arg]
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


class EqualMeta(type):
    def __eq__(cls, other: object) -> bool:
        return True

    def __hash__(cls) -> int:
        return hash(int)


class MetaForged(metaclass=EqualMeta):
    pass


def copies() -> tuple[Any, ...]:
    """Two calls give two class objects of the same name: a solution's and a mutant's."""
    @dataclasses.dataclass(frozen=True)
    class Pair:
        lo: int
        hi: list[int]

    class Negative(ValueError):
        pass

    class Slotted:
        __slots__ = ("a", "__b")

        def __init__(self, a: Any, b: Any) -> None:
            self.a = a
            self.__b = b

    return Pair, Negative, Slotted


def test_forged_equality_decides_nothing() -> None:
    assert AlwaysEqual(1) == AlwaysEqual(2)  # what the forger relies on
    assert compare(AlwaysEqual(1), AlwaysEqual(2)) == DIFFERENT
    assert compare(AlwaysEqual(1), AlwaysEqual(1)) == SAME
    assert compare(AlwaysEqual(1), 1) == DIFFERENT
    assert compare(ForgedInt(3), ForgedInt(4)) == DIFFERENT
    assert compare(ForgedInt(3), ForgedInt(3)) == SAME
    assert compare(ForgedInt(3), 3) == DIFFERENT  # type first
    assert compare(ForgedStr("a"), ForgedStr("b")) == DIFFERENT
    assert compare(ForgedList([1]), ForgedList([2])) == DIFFERENT
    assert compare([AlwaysEqual(1)], [AlwaysEqual(2)]) == DIFFERENT
    assert compare({"k": ForgedInt(1)}, {"k": ForgedInt(2)}) == DIFFERENT
    assert compare(MetaForged(), 5) == DIFFERENT  # a metaclass' __eq__ fools no type check


def test_lists_of_atoms_take_the_fast_path_exactly() -> None:
    assert compare([1, "a", None], [1, "a", None]) == SAME
    assert compare([1], [True]) == DIFFERENT and compare((1, 2), (1, 3)) == DIFFERENT
    assert compare([1, 2], [1, 2, 3]) == DIFFERENT and compare([1], (1,)) == DIFFERENT
    assert compare([ForgedInt(1)], [ForgedInt(2)]) == DIFFERENT  # not atoms: walked
    assert compare([MetaForged()], [5]) == DIFFERENT


def test_forged_hash_in_a_set() -> None:
    assert {AlwaysEqual(5)} == {AlwaysEqual(-1)}
    assert compare({AlwaysEqual(5)}, {AlwaysEqual(-1)}) == DIFFERENT
    assert compare(frozenset({AlwaysEqual(5)}), frozenset({AlwaysEqual(5)})) == SAME
    assert compare({ForgedInt(1): "a"}, {ForgedInt(2): "a"}) == DIFFERENT


def test_builtins_by_type_then_value() -> None:
    assert compare(1, True) == DIFFERENT and compare(1, 1.0) == DIFFERENT
    assert compare(float("nan"), float("nan")) == SAME
    assert compare(0.0, -0.0) == DIFFERENT  # by bits
    assert compare([1, (2, "x")], [1, (2, "x")]) == SAME
    assert compare([1, 2], (1, 2)) == DIFFERENT
    assert compare({1, 2, 3}, {3, 2, 1}) == SAME
    assert compare({"a": 1, "b": 2}, {"b": 2, "a": 1}) == SAME  # dicts: by sorted items
    assert compare(collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1)) \
        == DIFFERENT  # an OrderedDict's order is its value
    assert compare(collections.Counter("aab"), collections.Counter("aba")) == SAME
    assert compare(collections.Counter("aab"), {"a": 2, "b": 1}) == DIFFERENT
    assert compare(decimal.Decimal("1.10"), decimal.Decimal("1.10")) == SAME
    assert compare(fractions.Fraction(1, 3), fractions.Fraction(2, 6)) == SAME
    assert compare(range(3), range(0, 3)) == SAME
    assert compare(1 + 2j, 1 + 2j) == SAME


def test_copies_of_a_class_compare_by_name_and_state() -> None:
    (pair1, neg1, slot1), (pair2, neg2, slot2) = copies(), copies()
    assert pair1 is not pair2 and pair1(1, [2]) != pair2(1, [2])  # what `==` said
    assert compare(pair1(1, [2]), pair2(1, [2])) == SAME
    assert compare(pair1(1, [2]), pair2(1, [3])) == DIFFERENT
    assert compare(slot1(1, 2), slot2(1, 2)) == SAME
    assert compare(slot1(1, 2), slot2(1, 3)) == DIFFERENT  # a private slot counts too
    assert compare(neg1("x"), neg2("x")) == SAME
    assert compare(neg1("x"), neg2("y")) == DIFFERENT
    assert compare(neg1("x"), ValueError("x")) == DIFFERENT
    assert compare(TypeError("not iterable"), TypeError("not subscriptable")) == SAME
    assert compare(TypeError("x"), ValueError("x")) == DIFFERENT
    assert compare(pair1, pair2) == SAME  # a class by its qualified name
    color = enum.Enum("Color", "RED GREEN")
    assert compare(color.RED, color.RED) == SAME and compare(color.RED, color.GREEN) == DIFFERENT
    point = collections.namedtuple("point", "x y")
    assert compare(point(1, 2), point(1, 2)) == SAME and compare(point(1, 2), (1, 2)) == DIFFERENT


def test_what_cannot_be_canonicalised_is_unknown() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    assert compare(cycle, cycle) == UNKNOWN and "itself" in (why_unknown(cycle) or "")
    deep: list[Any] = [0]
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    assert compare(deep, deep) == UNKNOWN
    assert compare(list(range(100_000)), list(range(100_000))) == UNKNOWN  # over the size cap
    assert compare(lambda: 1, lambda: 1) == UNKNOWN
    assert compare(iter([1]), iter([1])) == UNKNOWN

    class HidesState:
        @property  # type: ignore[misc]
        def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
            return {}

    assert compare(HidesState(), HidesState()) == UNKNOWN

    class Raises:
        def __init__(self) -> None:
            self.x = 1

        def __getattribute__(self, name: str) -> Any:
            raise RuntimeError("no")

    assert compare(Raises(), Raises()) == SAME  # its methods never ran
    with pytest.raises(Unknown, match="hides"):
        canonical(HidesState())


def test_outcomes_by_structure() -> None:
    pair1, neg1, _ = copies()
    pair2, neg2, _ = copies()
    ok = ((), {})
    assert judge(("raise", neg1("negative"), ok), ("raise", neg2("negative"), ok)) == SAME
    assert judge(("raise", neg1("a"), ok), ("raise", neg2("b"), ok)) == DIFFERENT
    assert judge(("ok", pair1(1, []), ok), ("ok", pair2(1, []), ok)) == SAME
    assert judge(("ok", AlwaysEqual(1), ok), ("ok", AlwaysEqual(2), ok)) == DIFFERENT
    assert judge(("ok", iter(()), ok), ("ok", iter(()), ok)) == UNKNOWN


def test_search_is_not_fooled_by_forged_equality() -> None:
    def solution(a: int, b: int) -> Any:
        return AlwaysEqual(a + b)

    def mutant(a: int, b: int) -> Any:
        return AlwaysEqual(a - b)

    search = find_difference(solution, mutant, observed=[((2, 3), {})], total=1.0)
    assert search.found is not None and search.agreed == 0

    def int_solution(a: int, b: int) -> int:
        return ForgedInt(a + b)

    def int_mutant(a: int, b: int) -> int:
        return ForgedInt(a - b)

    assert find_difference(int_solution, int_mutant, observed=[((2, 3), {})],
                           total=1.0).found is not None


def test_search_finds_equivalent_dataclasses_and_exceptions() -> None:
    pair1, neg1, _ = copies()
    pair2, neg2, _ = copies()

    def solution(n: int) -> Any:
        if n < 0:
            raise neg1("negative")
        return pair1(n, [n if n <= 100 else 100])

    def mutant(n: int) -> Any:
        if n < 0:
            raise neg2("negative")
        return pair2(n, [n if n < 100 else 100])

    search = find_difference(solution, mutant, observed=[((5,), {}), ((-1,), {})], total=1.0)
    assert search.found is None and search.agreed >= 5, search


def test_unknown_answers_leave_equivalence_unknown() -> None:
    def solution(n: int) -> Any:
        return iter([n])

    search = find_difference(solution, solution, observed=[((1,), {})], total=0.5)
    assert search.found is None and search.agreed == 0 and search.unknown


@pytest.mark.parametrize("expression", [
    "+".join(["1"] * 5000),
    "-" * 3000 + "1",
    "(" * 1000 + "1" + ")" * 1000,
])
def test_deep_expressions_fail_generation_with_a_reason(expression: str) -> None:
    source = f"def f(a):\n    x = {expression}\n    return x + a\n"
    assert generate_mutants(source) == []
    assert mutants_module.last_failure, "a failed generation must say why"
    generate_mutants("def f(a):\n    return a + 1\n")
    assert mutants_module.last_failure is None  # only the last call's failure is kept


def test_generation_has_a_time_budget() -> None:
    source = "def f(a):\n" + "".join(f"    a = a + {i}\n" for i in range(2000)) + \
        "    return a\n"
    assert generate_mutants(source, budget=0.0) == []
    assert "budget" in (mutants_module.last_failure or "")
    assert len(generate_mutants(source)) == 40 and mutants_module.last_failure is None
