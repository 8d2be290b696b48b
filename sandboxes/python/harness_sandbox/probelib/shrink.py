"""Making a distinguishing input small enough to read, greedily.

Inputs are drawn in bulk (hypothesis runs once per sample), so the first one on which a
survivor differs is seldom the simplest. Hypothesis' own shrinker would cost ~1 ms a
step through its engine; this one tries plain simplifications of the arguments (drop
an element, halve a number, empty a string) and keeps each that still tells the two
apart, a few microseconds a step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, AnyStr

Call = tuple[tuple[Any, ...], dict[str, Any]]
MAX_STEPS = 300  # calls of `still_differs` one shrink may make
MAX_ITEMS = 20  # longer containers are only emptied or halved
SMALL_INTS = (0, 1, -1, 2, -2, 3, -3, 4, 5, 10)  # tried in place of any larger int
# Two ints set at once: `x > y` vs `x >= y` differs only where x == y, which no
# one-at-a-time step keeps.
SMALL_PAIRS = [(a, b) for a in (0, 1, -1) for b in (0, 1, -1)]
PAIRED = 5  # the first this many ints of a call or list are tried in pairs


def _size(value: Any) -> float:
    """A measure every accepted candidate must lower: shrinking always ends."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return abs(value) if math.isfinite(value) else math.inf
    if isinstance(value, str | bytes):
        return len(value) * 256 + sum(map(ord, value) if isinstance(value, str) else value)
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) * 1e9 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return len(value) * 1e9 + sum(_size(v) for v in value.values())
    return 0.0


def _simpler(value: Any) -> Iterator[Any]:
    """Candidates for `value`, the boldest first."""
    if isinstance(value, bool):
        if value:
            yield False
    elif isinstance(value, int):
        yield from SMALL_INTS
        half = value // 2 if value > 0 else -(-value // 2)  # towards 0, huge ints too
        yield from (half, value - (1 if value > 0 else -1))
    elif isinstance(value, float):
        if math.isfinite(value):
            yield from (0.0, 1.0, -1.0, float(math.trunc(value)), value / 2)
    elif isinstance(value, str):
        yield from _simpler_text(value, "a")
    elif isinstance(value, bytes):
        yield from _simpler_text(value, b"a")
    elif type(value) in (list, tuple):
        yield type(value)()
        yield value[:len(value) // 2]
        for i in range(min(len(value), MAX_ITEMS)):
            yield value[:i] + value[i + 1:]
        for i in range(min(len(value), MAX_ITEMS)):
            for smaller in _simpler(value[i]):
                yield value[:i] + type(value)([smaller]) + value[i + 1:]
        for pair in _pairs(value):
            yield type(value)(pair)
    elif type(value) in (set, frozenset):
        yield type(value)()
        for item in sorted(value, key=repr)[:MAX_ITEMS]:
            yield value - {item}
    elif type(value) is dict:
        yield {}
        for key in list(value)[:MAX_ITEMS]:
            yield {k: v for k, v in value.items() if k != key}
        for key in list(value)[:MAX_ITEMS]:
            for smaller in _simpler(value[key]):
                yield {**value, key: smaller}


def _simpler_text(value: AnyStr, simplest: AnyStr) -> Iterator[AnyStr]:
    yield value[:0]
    yield value[:len(value) // 2]
    for i in range(min(len(value), MAX_ITEMS)):
        yield value[:i] + value[i + 1:]
    for i in range(min(len(value), MAX_ITEMS)):
        yield value[:i] + simplest + value[i + 1:]


def _pairs(values: Any) -> Iterator[list[Any]]:
    """`values` with two of its ints (not bools) set to small values together."""
    ints = [i for i, v in enumerate(values) if type(v) is int][:PAIRED]
    for n, i in enumerate(ints):
        for j in ints[n + 1:]:
            for a, b in SMALL_PAIRS:
                changed = list(values)
                changed[i], changed[j] = a, b
                yield changed


def _candidates(args: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    for i, arg in enumerate(args):
        for smaller in _simpler(arg):
            if type(smaller) is type(arg):
                yield (*args[:i], smaller, *args[i + 1:])
    for pair in _pairs(args):
        yield tuple(pair)


def shrink(call: Call, still_differs: Callable[[Call], bool]) -> Call:
    """A call no larger than `call` on which `still_differs` holds (it held on `call`)."""
    steps = 0
    args, kwargs = call
    progressed = True
    while progressed and steps < MAX_STEPS:
        progressed = False
        size = _total(args)
        for candidate in _candidates(args):
            if steps >= MAX_STEPS:
                break
            try:
                if _total(candidate) >= size:
                    continue
            except (TypeError, ValueError, OverflowError):
                continue
            steps += 1
            if still_differs((candidate, kwargs)):
                args, progressed = candidate, True
                break
    return args, kwargs


def _total(args: tuple[Any, ...]) -> tuple[float, ...]:
    """Sizes compared argument by argument, so a step that grows none and shrinks one wins."""
    return (sum(map(_size, args)), *map(_size, args))
