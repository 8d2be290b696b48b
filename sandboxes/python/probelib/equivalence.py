"""Telling a mutant that behaves differently from one that is (likely) equivalent.

Inputs come first from the calls the tests themselves made, then from hypothesis,
drawn from the entry point's annotations or, without them, from the types of the
values the tests passed. A mutant that agrees with the solution on every input is set
aside as likely equivalent.
"""

from __future__ import annotations

import copy
import inspect
import math
import signal
import time
import typing
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

Call = tuple[tuple[Any, ...], dict[str, Any]]


class OutOfTime(Exception):
    """The whole search for a distinguishing input ran out of time."""


class CallTimeout(BaseException):
    """A single call ran past its budget (BaseException: the code under test can't eat it)."""


def _on_alarm(_sig: int, _frame: Any) -> None:
    raise CallTimeout()


def outcome(fn: Callable[..., Any], call: Call, budget: float) -> tuple[str, Any]:
    """("ok", value) | ("raise", type name) | ("timeout", None) for one call."""
    args, kwargs = copy.deepcopy(call)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        return "ok", fn(*args, **kwargs)
    except CallTimeout:
        return "timeout", None
    except Exception as exc:
        return "raise", type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def differs(orig: Callable[..., Any], mutant: Callable[..., Any], call: Call,
            budget: float) -> tuple[Any, Any] | None:
    """The two outcomes when they differ on `call`; None when they agree or can't be told."""
    first = outcome(orig, call, budget)
    if first[0] == "timeout":
        return None  # the solution itself does not answer: no evidence either way
    second = outcome(mutant, call, budget)
    if first[0] != second[0] or not _same(first[1], second[1]):
        return first, second
    return None


def _ints(near: Sequence[Any]) -> st.SearchStrategy[int]:
    """Small integers, and the solution's own constants and their neighbours (boundaries)."""
    picks = sorted({int(c) + d for c in near if isinstance(c, int) and not isinstance(c, bool)
                    and abs(c) < 10**9 for d in (-1, 0, 1)})
    ints = st.integers(-1000, 1000)
    return st.one_of(st.sampled_from(picks), ints) if picks else ints


def strategy_for_type(ann: Any, depth: int = 0,
                      near: Sequence[Any] = ()) -> st.SearchStrategy[Any] | None:
    """Small values of an annotated type; None when the type is not understood."""
    if depth > 3:
        return None
    origin = typing.get_origin(ann) or ann
    args = typing.get_args(ann)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        int: _ints(near), bool: st.booleans(), str: st.text(max_size=10),
        float: st.floats(-1e6, 1e6, allow_nan=False), bytes: st.binary(max_size=10),
        type(None): st.none(), None: st.none(),
    }
    if origin in simple:
        return simple[origin]
    if origin is typing.Union or str(origin) == "types.UnionType":
        parts = [strategy_for_type(a, depth + 1, near) for a in args]
        return st.one_of(*parts) if parts and all(parts) else None  # type: ignore[arg-type]
    if origin in (list, set, frozenset, typing.Sequence, typing.Iterable) or \
            str(origin).endswith(("Sequence", "Iterable")):
        inner = strategy_for_type(args[0], depth + 1, near) if args else st.integers(-100, 100)
        if inner is None:
            return None
        listed = st.lists(inner, max_size=8)
        return listed.map(set) if origin in (set, frozenset) else listed
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = strategy_for_type(args[0], depth + 1, near)
            return st.lists(inner, max_size=6).map(tuple) if inner else None
        parts = [strategy_for_type(a, depth + 1, near) for a in args]
        return st.tuples(*parts) if all(parts) else None  # type: ignore[arg-type]
    if origin in (dict, typing.Mapping) or str(origin).endswith("Mapping"):
        if len(args) != 2:
            return None
        key = strategy_for_type(args[0], depth + 1, near)
        value = strategy_for_type(args[1], depth + 1, near)
        return st.dictionaries(key, value, max_size=5) if key and value else None
    return None


def strategy_for_value(value: Any, depth: int = 0,
                       near: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """Values shaped like one the tests passed."""
    if depth > 3:
        return st.just(value)
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return _ints(near)
    if isinstance(value, float):
        return st.floats(-1e6, 1e6, allow_nan=False)
    if isinstance(value, str):
        alphabet = st.sampled_from(sorted(set(value))) if value and len(set(value)) < 4 else \
            st.characters(min_codepoint=32, max_codepoint=126)
        return st.text(alphabet, max_size=max(10, len(value)))
    if isinstance(value, list | tuple | set):
        inner = strategy_for_value(next(iter(value)), depth + 1, near) if value else \
            st.integers(-100, 100)
        made = st.lists(inner, max_size=max(8, min(len(value), 20)))
        return made.map(type(value)) if not isinstance(value, list) else made
    if isinstance(value, dict) and value:
        key, item = next(iter(value.items()))
        return st.dictionaries(strategy_for_value(key, depth + 1, near),
                               strategy_for_value(item, depth + 1, near), max_size=5)
    return st.just(value)


def _argument_strategy(fn: Callable[..., Any], observed: Sequence[Call],
                       near: Sequence[Any]) -> st.SearchStrategy[Call] | None:
    try:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
    except Exception:
        return None
    params = [p for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    sample_args = next((c[0] for c in observed if len(c[0]) == len(params)), None)
    parts = []
    for i, p in enumerate(params):
        strat = strategy_for_type(hints[p.name], 0, near) if p.name in hints else None
        if strat is None and sample_args is not None:
            strat = strategy_for_value(sample_args[i], 0, near)
        if strat is None:
            if p.default is not p.empty:
                strat = st.just(p.default)
            else:
                return None
        parts.append(strat)
    return st.tuples(*parts).map(lambda args: (tuple(args), {}))


def draw_distinguishing_input(orig: Callable[..., Any], mutant: Callable[..., Any],
                              observed: Sequence[Call] = (), max_examples: int = 60,
                              budget: float = 0.25, near: Sequence[Any] = (),
                              total: float = 2.0) -> dict[str, str] | None:
    """An input on which `orig` and `mutant` behave differently, or None if none is found.

    `near` holds the solution's literal constants: inputs next to them find boundaries.
    The search stops after `total` seconds; not finding one then counts as agreeing.
    """
    stop = time.monotonic() + total
    for call in observed:
        if time.monotonic() > stop:
            return None
        found = differs(orig, mutant, call, budget)
        if found:
            return _report(call, found, "from the tests")
    strategy = _argument_strategy(orig, observed, near)
    if strategy is None:
        return None
    config = settings(max_examples=max_examples, derandomize=True, database=None,
                      deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))

    def condition(c: Call) -> bool:
        if time.monotonic() > stop:
            raise OutOfTime()
        return differs(orig, mutant, c, budget) is not None

    try:
        call = find(strategy, condition, settings=config)
    except (NoSuchExample, Unsatisfiable, OutOfTime):
        return None
    found = differs(orig, mutant, call, budget)
    return _report(call, found, "drawn by hypothesis") if found else None


def _report(call: Call, found: tuple[Any, Any], source: str) -> dict[str, str]:
    args, kwargs = call
    shown = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])

    def show(o: tuple[str, Any]) -> str:
        return repr(o[1])[:200] if o[0] == "ok" else ("raises " + str(o[1]) if o[0] == "raise"
                                                     else "does not finish")
    return {"args": f"({shown})"[:300], "solution": show(found[0]), "mutant": show(found[1]),
            "source": source}
