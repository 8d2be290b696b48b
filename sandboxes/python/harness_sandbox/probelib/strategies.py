"""What to call a function with: values hypothesis draws, per kind of parameter.

A parameter's kind comes from its annotation (with small sizes) or, unannotated, from
the value the tests passed there; where neither says, a few plain families follow in
turn: ints, lists of ints, printable strings. Values are drawn per kind, not per
sample: hypothesis costs ~0.5 ms an example, and the common kinds' values are drawn
once for all (`_pools`, made by `python -m harness_sandbox.probelib.pools`), so a sample
usually pays for none. The same strategy with derandomize draws the same values wherever it runs.
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

from harness_sandbox.probelib._pools import POOLS

Call = tuple[tuple[Any, ...], dict[str, Any]]
Kind = tuple[str, st.SearchStrategy[Any]]  # a stable name, and what draws its values
EDGE_INTS = (0, 1, -1, 2, 3, 10, 100, -1000, 1000)
SIZE = 10
EXAMPLES = 100  # values drawn per kind
RECORD = 3  # tuples this short are drawn with their own length and element types
# Parameter p takes its i-th value at (i * STEPS[p]) % n: independent-looking columns
# whose row 0 is the simplest value of each (steps are prime to the pool sizes).
STEPS = (1, 3, 7, 11, 13, 17, 19, 23, 29, 31)
SIMPLEST_ROWS = 20  # rows with one argument at its simplest, per argument
RELATED_ROWS = 30  # rows whose arguments are also tried meeting (`_meetings`)
_DRAWN: dict[str, list[Any]] = dict(POOLS)  # kind -> values, in hypothesis' order


def _ints() -> st.SearchStrategy[int]:
    # Edge values first in the list: hypothesis draws from the front more often.
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers(-1000, 1000))


SCALARS: dict[Any, Kind] = {
    int: ("int", _ints()), bool: ("bool", st.booleans()),
    str: ("str", st.text(max_size=SIZE)),
    float: ("float", st.one_of(st.sampled_from([0.0, 0.5, -1.0]),
                               st.floats(-1e6, 1e6, allow_nan=False))),
    bytes: ("bytes", st.binary(max_size=SIZE)), type(None): ("None", st.none()),
    None: ("None", st.none()),
}
FAMILIES: dict[str, Kind] = {
    "ints": SCALARS[int],
    "lists of ints": ("list[int]", st.lists(_ints(), max_size=SIZE)),
    "strings": ("printable", st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                     max_size=SIZE)),
}
SEQUENCES = ("Sequence", "MutableSequence", "Iterable", "Collection", "Set", "AbstractSet")


def kind_of(ann: Any, depth: int = 0) -> Kind:
    """The kind of an annotation; raises ValueError when it names nothing to draw."""
    if depth > 4:
        raise ValueError("annotation nested too deeply")
    origin = typing.get_origin(ann) or ann
    args = typing.get_args(ann)
    if origin in SCALARS:
        return SCALARS[origin]
    inner = [kind_of(a, depth + 1) for a in args if a is not Ellipsis]
    names = ",".join(k for k, _ in inner)
    if origin is typing.Union or origin is types.UnionType:
        return f"union[{names}]", st.one_of(*(s for _, s in inner))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{names},...]", st.lists(inner[0][1], max_size=SIZE).map(tuple)
        return f"tuple[{names}]", st.tuples(*(s for _, s in inner))
    name = getattr(origin, "__name__", "")
    element = inner[0] if inner else SCALARS[int]
    if origin in (list, set, frozenset) or name in SEQUENCES:
        made = st.lists(element[1], max_size=SIZE)
        if origin in (set, frozenset):
            return f"{origin.__name__}[{element[0]}]", made.map(origin)
        return f"list[{element[0]}]", made
    if origin is dict or name in ("Mapping", "MutableMapping"):
        key, value = (inner + [SCALARS[int], SCALARS[int]])[:2] if len(inner) != 1 else \
            (inner[0], SCALARS[int])
        return (f"dict[{key[0]},{value[0]}]",
                st.dictionaries(key[1], value[1], max_size=SIZE // 2))
    if ann is Any or ann is inspect.Parameter.empty:
        raise ValueError("no type to draw from")
    return f"type[{ann!r}]", st.from_type(ann)


def _shaped_like(value: Any) -> Kind | None:
    """The kind of a value the tests passed, for an unannotated parameter."""
    if type(value) in SCALARS:
        return SCALARS[type(value)]
    if type(value) is tuple and 0 < len(value) <= RECORD:  # a pair is a record, not a list
        parts = [_shaped_like(v) for v in value]
        if any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        return (f"tuple[{','.join(k for k, _ in known)}]",
                st.tuples(*(s for _, s in known)))
    if type(value) in (list, tuple, set) and value:
        inner = _shaped_like(next(iter(value)))
        if inner is None:
            return None
        made = st.lists(inner[1], max_size=SIZE)
        if type(value) is list:
            return f"list[{inner[0]}]", made
        return f"{type(value).__name__}[{inner[0]}{',...' * (type(value) is tuple)}]", \
            made.map(type(value))
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


def families(fn: Callable[..., Any], observed: Sequence[Call] = ()
             ) -> list[tuple[str, list[Kind]]]:
    """(label, a kind per parameter) to try in turn: annotated, shaped like the tests', plain."""
    params = required_params(fn)
    if params is None:
        return []
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # string annotations naming what isn't there
        hints = {}
    sample = tests_sample(fn, observed)
    typed: dict[str, Kind] = {}
    for p in params:
        try:
            typed[p.name] = kind_of(hints[p.name])
        except (KeyError, ValueError, TypeError):
            pass
    labels: list[tuple[str, dict[str, Kind]]] = []
    if sample is not None and len(typed) < len(params):
        shaped = {p.name: k for p, v in zip(params, sample, strict=True)
                  if (k := _shaped_like(v)) is not None}
        labels.append(("shaped like the tests' inputs", {**shaped, **typed}))
    if len(typed) == len(params):
        labels.append(("typed", typed))
    else:
        labels += [(family, {p.name: typed.get(p.name, kind) for p in params})
                   for family, kind in FAMILIES.items()]
    return [(label, [by_name[p.name] for p in params]) for label, by_name in labels
            if len(by_name) == len(params)]


def values(kind: Kind, count: int = EXAMPLES) -> list[Any]:
    """`count` values of a kind, in hypothesis' order: drawn once per process, or never."""
    name, strategy = kind
    if len(_DRAWN.get(name, ())) < count:
        _DRAWN[name] = draw(strategy, count)
    return _DRAWN[name][:count]


def calls(kinds: list[Kind], count: int = EXAMPLES) -> list[Call]:
    """Up to `count` distinct calls built from each parameter's values, shortest first."""
    if not kinds:
        return [((), {})]
    columns = [values(kind, count) for kind in kinds]
    if not all(columns):
        return []
    rows = [tuple(col[(i * STEPS[p % len(STEPS)]) % len(col)]
                  for p, col in enumerate(columns)) for i in range(max(map(len, columns)))]
    if len(columns) > 1:  # one argument at its simplest ([], 0, '') with the others drawn
        rows += [(*row[:p], columns[p][0], *row[p + 1:]) for p in range(len(columns))
                 for row in rows[1:1 + SIMPLEST_ROWS]]
        rows += [meeting for row in rows[:RELATED_ROWS] for meeting in _meetings(row)]
    made: dict[str, Call] = {}
    for i, args in enumerate(rows):
        try:
            made.setdefault(repr(args), ((args, {})))
        except Exception:  # a value whose repr fails is still worth calling with
            made[f"<unrepresentable {i}>"] = (args, {})
    # The simplest inputs first: the first difference found is the one reported.
    return [made[key] for key in sorted(made, key=lambda key: (len(key), key))]


def _meetings(row: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The row with an int argument set to another one, or to a list argument's first or
    last element: drawn apart, arguments seldom meet, and `>=` for `>` or a search
    differs only where they do."""
    ints = [i for i, v in enumerate(row) if type(v) is int]
    seqs = [i for i, v in enumerate(row) if type(v) in (list, tuple) and v
            and type(v[0]) is int and type(v[-1]) is int]
    out = [(*row[:p], row[q], *row[p + 1:]) for p in ints for q in ints if q < p]
    out += [(*row[:p], row[q][end], *row[p + 1:]) for p in ints for q in seqs
            for end in (0, -1)]
    return out


def draw(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Up to `count` values hypothesis generates for `strategy` (one run, no shrinking)."""
    drawn: list[Any] = []

    def keep(value: Any) -> bool:
        drawn.append(value)
        return False  # never "found": hypothesis goes on generating until `count`

    config = settings(max_examples=count, derandomize=True, database=None, deadline=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    try:
        find(strategy, keep, settings=config)
    except HypothesisException:  # NoSuchExample, by design; or nothing drawable
        pass
    return drawn


def boundary_calls(fn: Any, observed: Sequence[Call], near: Sequence[Any],
                   limit: int = 120) -> list[Call]:
    """The tests' first call with each int argument set to an edge value or a constant ±1,
    and each list of ints made one such value alone, or led by one.

    Drawn values rarely hit a given constant; a boundary mutant (`>=` for `>`, `7` for
    `6` in a table) differs on exactly one value, so those values are tried outright.
    """
    sample = tests_sample(fn, observed)
    if sample is None:
        return []
    values = list(dict.fromkeys([*EDGE_INTS, *(int(c) + d for c in near
                                                if type(c) is int and abs(c) < 10**9
                                                for d in (-1, 0, 1))]))
    swaps: list[list[Any]] = []  # per argument, what to put in its place
    for arg in sample:
        if type(arg) is int:
            swaps.append([v for v in values if v != arg])
        elif type(arg) in (list, tuple) and arg and all(type(v) is int for v in arg):
            swaps.append([*(type(arg)([v]) for v in values),
                          *(type(arg)([v, *arg[1:]]) for v in values if len(arg) > 1)])
        else:
            swaps.append([])
    each = limit // max(1, sum(1 for s in swaps if s))  # every argument gets its share
    return [((*sample[:i], v, *sample[i + 1:]), {}) for i, options in enumerate(swaps)
            for v in options[:each]]


def warm() -> None:
    """Draw once in the fork server: hypothesis' first run in a process costs ~25 ms more
    (lazy imports and caches), which a sample drawing a rare kind would pay again."""
    draw(st.tuples(st.integers(), st.text(), st.lists(st.floats())), 5)
