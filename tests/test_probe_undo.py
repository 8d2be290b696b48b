"""swap.save/undo: a variant installed in place is undone exactly (the shared mode)."""

from __future__ import annotations

import functools
import textwrap
import types
from typing import Any

from harness_sandbox.probelib import swap

SOURCE = textwrap.dedent("""\
    import functools

    def helper(x, k=1, *, scale=2):
        return (x + k) * scale

    def outer(n):
        def inner(y):
            return y + n
        return inner

    ADD3 = outer(3)

    class Box:
        size = 1

        def grow(self, by):
            return self.size + by

        @staticmethod
        def twice(x):
            return 2 * x

        @property
        def big(self):
            return self.size > 5

    @functools.lru_cache(maxsize=None)
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    square = functools.partial(helper, k=0)
    """)
MUTANT = SOURCE.replace("(x + k) * scale", "(x - k) * scale").replace(
    "y + n", "y - n").replace("self.size + by", "self.size - by").replace(
    "2 * x", "3 * x").replace("> 5", "< 5").replace("n if n < 2", "n if n < 3").replace(
    "k=0", "k=5").replace("size = 1", "size = 7\n    extra = 1")


def state(module: types.ModuleType) -> list[Any]:
    ns = vars(module)
    box = ns["Box"]
    return [ns["helper"].__code__, ns["helper"].__defaults__, ns["helper"].__kwdefaults__,
            ns["ADD3"].__code__, ns["ADD3"].__closure__[0].cell_contents,
            dict(vars(box)), ns["fib"].__wrapped__.__code__, ns["square"].__reduce__(),
            ns["helper"](1), ns["ADD3"](1), box().grow(1), box.twice(2), box().big,
            ns["fib"](10), ns["square"](2)]


def test_a_mutant_installed_in_place_is_undone_exactly() -> None:
    module = types.ModuleType("solution")
    module.__file__ = "solution.py"
    exec(compile(SOURCE, "solution.py", "exec"), module.__dict__)
    defined = dict(vars(module))
    held = (module.helper, module.Box, module.square, module.fib)  # what the tests hold
    before = state(module)
    saved = swap.save(list(defined.values()))
    left = swap.install_mutant(module, compile(MUTANT, "solution.py", "exec"), defined)
    assert left == {} and module.helper(1) == 0 and module.Box().grow(1) == 6
    assert module.square(2) == -6 and module.Box.twice(2) == 6
    swap.undo(saved)
    vars(module).clear()
    vars(module).update(defined)
    assert (module.helper, module.Box, module.square, module.fib) == held
    after = state(module)
    assert after[:6] == before[:6] and after[7:] == before[7:], (before, after)
    assert after[6] is before[6] and "extra" not in vars(module.Box)


def test_a_stand_in_installed_in_place_is_undone_exactly() -> None:
    module = types.ModuleType("solution")
    exec(compile(SOURCE, "solution.py", "exec"), module.__dict__)
    before = state(module)
    saved = swap.save(list(vars(module).values()))
    for target in (module.helper, module.square, module.fib):
        assert swap.install_stand_in(target, lambda *a, **k: None)
    assert module.helper(1) is None and module.square(1) is None
    swap.undo(saved)
    assert state(module) == before
    assert isinstance(module.square, functools.partial)
