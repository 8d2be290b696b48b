"""Telling a mutant that behaves differently from one that is (likely) equivalent.

Inputs come first from the calls the tests themselves made, then from hypothesis,
drawn from the entry point's annotations (with small sizes) or, for unannotated
parameters, from a few plain families in turn: ints, lists of ints, strings. Two calls
differ when their results differ by `==`, when one raises and the other does not, when
they raise different exception types, when they leave the arguments different, or
when only the mutant runs out of time.
"""

from __future__ import annotations

import copy
import inspect
import math
import signal
import time
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

Call = tuple[tuple[Any, ...], dict[str, Any]]
Outcome = tuple[str, Any, Any]  # ("ok" | "raise" | "timeout", value or exception, args after)
EDGE_INTS = (0, 1, -1, 2, 3, 10, 100, -1000, 1000)
SIZE = 10
FALLBACK_FAMILIES = ("ints", "lists of ints", "strings")
CALL_BUDGET = 0.05  # seconds one call may take before it counts as not finishing


class CallTimeout(BaseException):
    """A single call ran past its budget (a BaseException: `except Exception` can't eat it)."""


class _OutOfTime(Exception):
    """The whole search ran out of time."""


def _on_alarm(_sig: int, _frame: Any) -> None:
    raise CallTimeout()


def call_with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """fn(), raising CallTimeout after `seconds`; the alarm repeats, so a swallowed one recurs."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(fn: Callable[..., Any], call: Call, budget: float = CALL_BUDGET) -> Outcome:
    """What one call does, on a private copy of its arguments."""
    try:
        args, kwargs = copy.deepcopy(call)
    except Exception:  # not copyable: both sides see the same objects then
        args, kwargs = call
    try:
        return "ok", call_with_timeout(lambda: fn(*args, **kwargs), budget), (args, kwargs)
    except CallTimeout:
        return "timeout", None, None
    except Exception as exc:
        return "raise", exc, (args, kwargs)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return a is b or bool(a == b)
    except Exception:  # an __eq__ that fails tells nothing apart
        return False


def differs(first: Outcome, second: Outcome) -> bool:
    """Whether two outcomes of the same call tell the two functions apart."""
    if first[0] != second[0]:
        return True
    if first[0] == "raise":
        return type(first[1]) is not type(second[1])
    if first[0] == "timeout":
        return False
    return not _same(first[1], second[1]) or not _same(first[2], second[2])


def _ints(near: Sequence[Any]) -> st.SearchStrategy[int]:
    """Small ints, edge values, and the solution's own constants with their neighbours."""
    nearby = sorted({int(c) + d for c in near if type(c) is int and abs(c) < 10**9
                     for d in (-1, 0, 1)} - set(EDGE_INTS))
    # Simplest first: hypothesis shrinks towards the front of the list.
    return st.one_of(st.sampled_from([*EDGE_INTS, *nearby]), st.integers(-1000, 1000))


def strategy_for(ann: Any, near: Sequence[Any] = (), depth: int = 0) -> st.SearchStrategy[Any]:
    """Small values of an annotated type; raises ValueError when it can't make any."""
    if depth > 4:
        raise ValueError("annotation nested too deeply")
    origin = typing.get_origin(ann) or ann
    args = typing.get_args(ann)
    inner = [strategy_for(a, near, depth + 1) for a in args if a is not Ellipsis]
    simple: dict[Any, st.SearchStrategy[Any]] = {
        int: _ints(near), bool: st.booleans(), str: st.text(max_size=SIZE),
        float: st.one_of(st.sampled_from([0.0, 0.5, -1.0]), st.floats(-1e6, 1e6,
                                                                         allow_nan=False)),
        bytes: st.binary(max_size=SIZE), type(None): st.none(), None: st.none(),
    }
    if origin in simple:
        return simple[origin]
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(*inner)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(inner[0], max_size=SIZE).map(tuple)
        return st.tuples(*inner) if inner else st.just(())
    name = getattr(origin, "__name__", "")
    element = inner[0] if inner else _ints(near)
    if origin in (list, set, frozenset) or name in ("Sequence", "MutableSequence", "Iterable",
                                                     "Collection", "Set", "AbstractSet"):
        made = st.lists(element, max_size=SIZE)
        return made.map(origin) if origin in (set, frozenset) else made
    if origin is dict or name in ("Mapping", "MutableMapping"):
        key, value = (inner + [_ints(near), _ints(near)])[:2] if len(inner) != 1 else \
            (inner[0], _ints(near))
        return st.dictionaries(key, value, max_size=SIZE // 2)
    if ann is Any or ann is inspect.Parameter.empty:
        raise ValueError("no type to draw from")
    return st.from_type(ann)


def _family(name: str, near: Sequence[Any]) -> st.SearchStrategy[Any]:
    if name == "ints":
        return _ints(near)
    if name == "lists of ints":
        return st.lists(_ints(near), max_size=SIZE)
    return st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=SIZE)


def _shaped_like(value: Any, near: Sequence[Any]) -> st.SearchStrategy[Any] | None:
    """Values of the same type as one the tests passed, for unannotated parameters."""
    if type(value) in (bool, int, float, str, bytes):
        return strategy_for(type(value), near)
    if type(value) in (list, tuple, set) and value:
        inner = _shaped_like(next(iter(value)), near)
        return st.lists(inner, max_size=SIZE).map(type(value)) if inner else None
    return None


def argument_strategies(fn: Callable[..., Any], observed: Sequence[Call] = (),
                        near: Sequence[Any] = ()) -> list[tuple[str, st.SearchStrategy[Call]]]:
    """(label, strategy of calls) to try in turn: annotated, shaped like the tests', plain."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    except (TypeError, ValueError):
        return []
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # string annotations naming what isn't there
        hints = {}
    sample = next((c[0] for c in observed if len(c[0]) == len(params)), None)
    typed: dict[str, st.SearchStrategy[Any]] = {}
    for p in params:
        try:
            typed[p.name] = strategy_for(hints[p.name], near)
        except (KeyError, ValueError, TypeError):
            pass
    labels: list[tuple[str, dict[str, st.SearchStrategy[Any]]]] = []
    if sample is not None and len(typed) < len(params):
        shaped = {p.name: s for p, v in zip(params, sample, strict=True)
                  if (s := _shaped_like(v, near)) is not None}
        labels.append(("shaped like the tests' inputs", {**shaped, **typed}))
    labels += [(family, {p.name: typed.get(p.name, _family(family, near)) for p in params})
               for family in (FALLBACK_FAMILIES if len(typed) < len(params) else ("typed",))]
    out: list[tuple[str, st.SearchStrategy[Call]]] = []
    for label, by_name in labels:
        if len(by_name) == len(params):
            parts = [by_name[p.name] for p in params]
            out.append((label, st.tuples(*parts).map(lambda a: (tuple(a), {}))))
    return out


@dataclass
class Search:
    """The result of a search: a distinguishing input, and how many inputs agreed."""

    found: dict[str, str] | None = None
    agreed: int = 0  # inputs on which both returned the same and the solution returned


def find_difference(solution_fn: Callable[..., Any], mutant_fn: Callable[..., Any],
                    observed: Sequence[Call] = (), near: Sequence[Any] = (),
                    max_examples: int = 50, total: float = 2.0) -> Search:
    """Look for an input telling the two apart: the tests' own calls first, then hypothesis."""
    stop = time.monotonic() + total
    result = Search()
    near = [*near, *code_constants(solution_fn)]

    def check(call: Call) -> bool:
        if time.monotonic() > stop:
            raise _OutOfTime()
        first = outcome(solution_fn, call)
        if first[0] == "timeout":
            return False  # the solution itself does not answer: no evidence either way
        second = outcome(mutant_fn, call)
        if differs(first, second):
            result.found = _report(call, first, second)
            return True
        result.agreed += first[0] == "ok"
        return False

    try:
        if any(check(call) for call in observed):
            return result
        config = settings(max_examples=max_examples, derandomize=True, database=None,
                          deadline=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                          suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        for _label, strategy in argument_strategies(solution_fn, observed, near):
            try:
                call = find(strategy, check, settings=config)
            except HypothesisException:  # nothing found (or nothing drawable) in this family
                continue
            check(call)  # the shrunk call, so the report shows the simplest input
            return result
    except _OutOfTime:
        pass  # the best input found so far (if any) stands
    return result


def draw_distinguishing_input(solution_fn: Callable[..., Any], mutant_fn: Callable[..., Any],
                              max_examples: int = 50, observed: Sequence[Call] = (),
                              near: Sequence[Any] = (), total: float = 2.0
                              ) -> dict[str, str] | None:
    """{"args", "solution", "mutant"} for an input they differ on; None when all agreed."""
    return find_difference(solution_fn, mutant_fn, observed, near, max_examples, total).found


def code_constants(fn: Any) -> list[int]:
    """The int literals in a function's code (nested code too): boundaries worth trying."""
    found: set[int] = set()
    stack = [getattr(fn, "__code__", None)]
    while stack and len(found) < 50:
        code = stack.pop()
        if code is None:
            continue
        for c in code.co_consts:
            if type(c) is int:
                found.add(c)
            elif inspect.iscode(c):
                stack.append(c)
    return sorted(found)


def _show(o: Outcome) -> str:
    if o[0] == "timeout":
        return "timeout"
    return ("raises " + repr(o[1]) if o[0] == "raise" else repr(o[1]))[:300]


def _report(call: Call, first: Outcome, second: Outcome) -> dict[str, str]:
    args, kwargs = call
    shown = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    report = {"args": f"({shown})"[:300], "solution": _show(first), "mutant": _show(second)}
    if first[0] == second[0] == "ok" and _same(first[1], second[1]):
        after = [", ".join(repr(a) for a in o[2][0])[:140] for o in (first, second)]
        report["note"] = f"the arguments differ after the call: ({after[0]}) vs ({after[1]})"
    return report
