"""What to call a function with: hypothesis strategies from its annotations or its tests.

Strategies come from the entry point's annotations (with small sizes) or, for
unannotated parameters, from the shapes of the tests' own inputs and then a few plain
families in turn: ints, lists of ints, strings. `draw` runs hypothesis once for a
strategy and keeps what it generated, so many mutants can be compared on one draw.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

Call = tuple[tuple[Any, ...], dict[str, Any]]
EDGE_INTS = (0, 1, -1, 2, 3, 10, 100, -1000, 1000)
SIZE = 10
FALLBACK_FAMILIES = ("ints", "lists of ints", "strings")


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


def required_params(fn: Any) -> list[inspect.Parameter] | None:
    """The parameters a call must fill (positional, no default); None when not inspectable."""
    try:
        return [p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                and p.default is p.empty]
    except (TypeError, ValueError):
        return None


def tests_sample(fn: Any, observed: Sequence[Call]) -> tuple[Any, ...] | None:
    """The first of the tests' calls that fills every parameter, to shape inputs after."""
    params = required_params(fn)
    if params is None:
        return None
    return next((c[0] for c in observed if len(c[0]) == len(params)), None)


def shape(value: Any) -> str:
    """What `_shaped_like` draws for a value: its type, and its first element's shape."""
    if type(value) in (list, tuple, set) and value:
        return f"{type(value).__name__}[{shape(next(iter(value)))}]"
    return type(value).__name__


def argument_strategies(fn: Callable[..., Any], observed: Sequence[Call] = (),
                        near: Sequence[Any] = ()) -> list[tuple[str, st.SearchStrategy[Call]]]:
    """(label, strategy of calls) to try in turn: annotated, shaped like the tests', plain."""
    params = required_params(fn)
    if params is None:
        return []
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # string annotations naming what isn't there
        hints = {}
    sample = tests_sample(fn, observed)
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


def draw(strategy: st.SearchStrategy[Call], count: int) -> list[Call]:
    """Up to `count` distinct calls hypothesis generates, shortest first (one run, no shrinking).

    Generating once and replaying is what makes many survivors cheap: hypothesis'
    per-example overhead is paid once per sample instead of once per mutant.
    """
    drawn: dict[str, Call] = {}

    def keep(call: Call) -> bool:
        try:
            key = repr(call)
        except Exception:  # a value whose repr fails is still worth calling with
            key = f"<unrepresentable {len(drawn)}>"
        drawn.setdefault(key, call)
        return False  # never "found": hypothesis goes on generating until `count`

    config = settings(max_examples=count, derandomize=True, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    try:
        find(strategy, keep, settings=config)
    except HypothesisException:  # NoSuchExample, by design; or nothing drawable
        pass
    # The simplest inputs first: the first difference found is the one reported.
    return [drawn[key] for key in sorted(drawn, key=lambda key: (len(key), key))]


def boundary_calls(fn: Any, observed: Sequence[Call], near: Sequence[Any],
                   limit: int = 60) -> list[Call]:
    """The tests' first call with each int argument set to an edge value or a constant ±1.

    Hypothesis draws a given constant only now and then; a boundary mutant (`>=` for `>`)
    differs on exactly one value, so those values are tried outright.
    """
    sample = tests_sample(fn, observed)
    if sample is None:
        return []
    values = list(dict.fromkeys([*EDGE_INTS, *(int(c) + d for c in near
                                                if type(c) is int and abs(c) < 10**9
                                                for d in (-1, 0, 1))]))
    positions = [i for i, arg in enumerate(sample) if type(arg) is int]
    each = limit // max(1, len(positions))  # every int argument gets its share
    return [((*sample[:i], v, *sample[i + 1:]), {}) for i in positions
            for v in [v for v in values if v != sample[i]][:each]]


def warm() -> None:
    """Draw once in the fork server: hypothesis' first run in a process costs ~25 ms more
    (lazy imports and caches), which every probed sample would pay again otherwise."""
    def sample(a: int, b: str, c: list[float], d: dict[str, bool]) -> None:
        pass

    for _label, strategy in argument_strategies(sample, (), (1,)):
        draw(strategy, 5)
