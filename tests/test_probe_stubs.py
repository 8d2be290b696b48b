"""Degenerate stand-ins: which ones, from the annotations, and what they do once built."""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from typing import Any

import pytest

from harness_sandbox.probelib.stubs import StubError, make_stubs

# (return annotation, the stand-ins tried between "return None" and "return first argument")
BY_ANNOTATION = [
    ("int", ["return 0"]),
    ("float", ["return 0.0"]),
    ("str", ["return ''"]),
    ("bool", ["return False", "return True"]),
    ("list[int]", ["return []"]),
    ("List[str]", ["return []"]),
    ("dict[str, list[int]]", ["return {}"]),
    ("Dict[str, int]", ["return {}"]),
    ("tuple", ["return ()"]),
    ("tuple[int, ...]", ["return ()"]),
    ("tuple[int, str]", ["return (0, '')"]),
    ("set[int]", ["return set()"]),
    ("Optional[int]", ["return 0"]),
    ("int | None", ["return 0"]),
    ("Union[int, str]", ["return 0", "return ''"]),
    ("Sequence[int]", ["return []"]),
    ("Iterator[int]", ["return iter(())"]),
    ("None", []),
    ("'Node'", ["return 0", "return ''", "return []", "return False"]),
    ("Any", ["return 0", "return ''", "return []", "return False"]),
]


def module(returns: str, future: bool) -> tuple[str, dict[str, Any]]:
    source = ("from __future__ import annotations\n" if future else "") + textwrap.dedent(f"""\
        from typing import Any, Dict, Iterator, List, Optional, Sequence, Union
        class Node:
            pass
        def f(xs: list[int], k: int = 0) -> {returns}:
            return xs
        """)
    namespace: dict[str, Any] = {}
    exec(compile(source, "solution.py", "exec"), namespace)
    return source, namespace


@pytest.mark.parametrize("future", [False, True], ids=["plain", "future-annotations"])
@pytest.mark.parametrize(("returns", "middle"), BY_ANNOTATION)
def test_stand_ins_follow_the_return_annotation(returns: str, middle: list[str],
                                                future: bool) -> None:
    source, namespace = module(returns, future)
    expected = ["return None", *middle, "return first argument", "raise"]
    assert [s.name for s in make_stubs(source, "f", namespace)] == expected
    assert [s.name for s in make_stubs(source, "f")] == expected  # from the source alone


def test_unannotated_functions_get_the_reasonable_set() -> None:
    source = "def f(a, b):\n    return a\n\ndef g():\n    return 1\n"
    assert [s.name for s in make_stubs(source, "f")] == [
        "return None", "return 0", "return ''", "return []", "return False",
        "return first argument", "raise"]
    assert "return first argument" not in [s.name for s in make_stubs(source, "g")]
    assert [s.name for s in make_stubs(source, "missing")][0] == "return None"


def test_a_built_function_stand_in_keeps_the_signature_and_misbehaves() -> None:
    source, namespace = module("Optional[int]", future=True)
    stubs = {s.name: s for s in make_stubs(source, "f", namespace)}
    real = namespace["f"]
    for stub in stubs.values():
        stand_in = stub.build(namespace)
        assert inspect.signature(stand_in) == inspect.signature(real)
        assert stand_in.__name__ == "f" and stand_in is not real
        with pytest.raises(TypeError):
            stand_in(1, 2, 3)  # a wrong call fails as it does on the real function
    assert stubs["return None"].build(namespace)([1]) is None
    assert stubs["return 0"].build(namespace)([1], k=2) == 0
    first = stubs["return first argument"].build(namespace)
    assert first([4, 5], 1) == [4, 5] and first(k=1, xs=[9]) == [9]
    with pytest.raises(StubError, match="stand-in for f"):
        stubs["raise"].build(namespace)([1])


def test_mutable_zero_values_are_fresh_on_every_call() -> None:
    source, namespace = module("list[int]", future=False)
    stand_in = next(s for s in make_stubs(source, "f") if s.name == "return []").build(namespace)
    stand_in([1]).append(3)
    assert stand_in([1]) == []


def test_async_entry_points_get_async_stand_ins() -> None:
    source = "async def f(x: int) -> int:\n    return x\n"
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    stub = next(s for s in make_stubs(source, "f", namespace) if s.name == "return 0")
    stand_in = stub.build(namespace)
    assert inspect.iscoroutinefunction(stand_in)
    assert asyncio.run(stand_in(5)) == 0


STACK = textwrap.dedent("""\
    from __future__ import annotations

    class Base:
        def peek(self) -> int | None:
            return self.items[-1] if self.items else None

    class Stack(Base):
        def __init__(self) -> None:
            self.items: list[int] = []
        def push(self, x: int) -> None:
            self.items.append(x)
        def pop(self) -> int:
            return self.items.pop()
        def size(self) -> int:
            return len(self.items)
        @staticmethod
        def kind() -> str:
            return "lifo"
        @property
        def empty(self) -> bool:
            return not self.items
        def __len__(self) -> int:
            return len(self.items)
        def _helper(self) -> int:
            return 7

    class Plain:
        x: int = 1
    """)


def test_class_entry_points_get_a_subclass_whose_methods_all_misbehave() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(STACK, "solution.py", "exec"), namespace)
    stubs = {s.name: s for s in make_stubs(STACK, "Stack", namespace)}
    assert list(stubs) == ["return None", "return zero values", "return first argument",
                           "raise"]
    zero = stubs["return zero values"].build(namespace)()
    assert isinstance(zero, namespace["Stack"]) and type(zero).__name__ == "Stack"
    zero.push(3)
    assert zero.items == []  # push did nothing; __init__ is the real one
    assert (zero.pop(), zero.size(), zero.kind(), zero.empty, len(zero)) == (0, 0, "", False, 0)
    assert zero.peek() == 0 and zero._helper() == 7  # inherited from the module: stubbed
    first = stubs["return first argument"].build(namespace)()
    assert first.push(4) == 4 and first.pop() is None
    with pytest.raises(StubError):
        stubs["raise"].build(namespace)().size()
    assert make_stubs(STACK, "Plain", namespace) == []  # nothing of its own to replace
