"""Inputs derived from the tests' own calls by type-aware mutation (EvalPlus's method).

The tests' calls are in the problem's domain; drawn values often are not (a negative
length, a string where digits are meant). Each argument of a call is mutated by its
type, recursively: ints ±1, doubled, negated, 0; floats likewise; strings with a
character dropped, repeated, replaced, grown and halved; lists grown, shrunk, reordered
and element-mutated; tuples element-mutated (their length is a record's); dicts with an
entry dropped or a value mutated; sets grown and shrunk. A second round mutates the
first round's inputs again. Everything is deterministic: the same calls give the same
inputs in the same order, simplest edits first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

Call = tuple[tuple[Any, ...], dict[str, Any]]
MAX_DERIVED = 400  # inputs derived from one sample's calls, both rounds together
PER_VALUE = 12  # mutations of one value, at most
MAX_DEPTH = 3  # nesting levels a mutation reaches into
MAX_LEN = 64  # longer containers and strings are not grown further


def mutations(value: Any, depth: int = 0) -> Iterator[Any]:
    """Type-aware edits of `value`, each of the same type (None for unknown types)."""
    kind = type(value)
    if kind is bool:
        yield not value
    elif kind is int:
        yield from (value + 1, value - 1, 0, -value, value * 2, value // 2)
    elif kind is float:
        yield from (value + 1.0, value - 1.0, 0.0, -value, value * 2, value / 2, value + 0.5)
        if value == value and abs(value) < 1e15 and round(value) != value:
            yield float(round(value))  # whole floats meet each other exactly (a == b)
    elif kind is str:
        yield from _text(value)
    elif kind is bytes:
        yield from (value[1:], value[:-1], value + value[:1], value[::-1], b"")
    elif depth < MAX_DEPTH and kind is list:
        yield from _sequence(value, depth)
    elif depth < MAX_DEPTH and kind is tuple:
        for i, item in enumerate(value[:4]):  # a tuple's length is part of its shape
            for changed in _take(mutations(item, depth + 1), 3):
                yield (*value[:i], changed, *value[i + 1:])
    elif depth < MAX_DEPTH and kind is dict:
        keys = list(value)[:4]
        for key in keys:
            yield {k: v for k, v in value.items() if k != key}
        for key in keys:
            for changed in _take(mutations(value[key], depth + 1), 2):
                yield {**value, key: changed}
        if keys and len(value) < MAX_LEN:
            for new in _take(mutations(keys[-1], depth + 1), 2):
                if new not in value:
                    yield {**value, new: value[keys[-1]]}
    elif depth < MAX_DEPTH and kind in (set, frozenset):
        items = sorted(value, key=repr)[:4]
        for item in items:
            yield kind(value - {item})
        for item in items:
            for new in _take(mutations(item, depth + 1), 2):
                yield kind(value | {new})


def _text(value: str) -> Iterator[str]:
    words = value.split(" ")
    if len(words) > 1:  # a sentence of tokens (number words, commands): edit it by word
        yield " ".join(words[::-1])
        yield " ".join(words[1:] + words[:1])
        yield " ".join(words[1:])
        yield " ".join(words + words[:1])
        yield " ".join([words[1], words[0], *words[2:]])
        yield " ".join(sorted(words))
    if value:
        yield value[1:]
        yield value[:-1]
        yield value[: len(value) // 2]
        yield value[::-1]
        mid = len(value) // 2
        yield value[:mid] + value[mid] + value[mid:]  # a character repeated
        yield value[:mid] + ("a" if value[mid] != "a" else "b") + value[mid + 1:]
        yield value.upper() if value != value.upper() else value.lower()
        if len(value) < MAX_LEN:
            yield value + value
            yield value + " " + value[:1]
    yield ""
    yield value + "a"
    yield value + "1"


def _sequence(value: list[Any], depth: int) -> Iterator[list[Any]]:
    yield []
    if value:
        yield value[1:]
        yield value[:-1]
        yield value[::-1]
        if len(value) > 1:
            yield value[1:] + value[:1]  # rotated
            yield [value[1], value[0], *value[2:]]  # two swapped
        if len(value) < MAX_LEN:
            yield value + value[:1]  # an element repeated
            yield value + value[-1:]
        for changed in _take(mutations(value[-1], depth + 1), 3):
            yield [*value[:-1], changed]
        for changed in _take(mutations(value[0], depth + 1), 3):
            if len(value) < MAX_LEN:
                yield [*value, changed]  # grown by a new element of the same kind
            yield [changed, *value[1:]]
        try:
            ordered = sorted(value)
        except Exception:  # mixed or unorderable elements
            ordered = value
        if ordered != value:
            yield ordered
        whole = [float(round(v)) if type(v) is float and v == v and abs(v) < 1e15 else v
                 for v in value]
        if whole != value:
            yield whole  # whole floats: differences that meet a threshold exactly


def _take(it: Iterator[Any], n: int) -> list[Any]:
    out = []
    for value in it:
        out.append(value)
        if len(out) >= n:
            break
    return out


def _constant_edits(arg: Any, constants: Sequence[Any]) -> Iterator[Any]:
    """`arg` (a number, or a list of them) set to one of the code's constants of its type:
    a boundary such as `gpa > 3.7` is met only there."""
    if type(arg) in (int, float):
        yield from (c for c in constants if type(c) is type(arg) and c != arg)
    elif type(arg) is str and " " in arg:  # a sentence: the code's own words, both ways
        tables = [list(c) for c in constants if type(c) is tuple]
        for words in [*tables, [c for c in constants if type(c) is str]]:
            if len(words) > 1:
                yield " ".join(words)
                yield " ".join(words[::-1])
    elif type(arg) is list and arg and type(arg[0]) in (int, float):
        for c in constants:
            if type(c) is type(arg[0]):
                yield [c, *arg[1:]]


def _mutated_calls(call: Call, constants: Sequence[Any] = ()) -> Iterator[Call]:
    args, kwargs = call
    for i, arg in enumerate(args):
        for edit in _constant_edits(arg, constants):
            yield (*args[:i], edit, *args[i + 1:]), kwargs
    for i in range(min(len(args), 4)):  # two arguments of one type trade places
        for j in range(i + 1, min(len(args), 4)):
            if type(args[i]) is type(args[j]) and args[i] is not args[j]:
                swapped = list(args)
                swapped[i], swapped[j] = args[j], args[i]
                yield tuple(swapped), kwargs
    for i, arg in enumerate(args):
        try:
            edits = _take(mutations(arg), PER_VALUE)
        except Exception:  # a hostile value the tests passed: it gets no edits
            continue
        for edit in edits:
            yield (*args[:i], edit, *args[i + 1:]), kwargs
    for key, arg in kwargs.items():
        try:
            edits = _take(mutations(arg), PER_VALUE // 2)
        except Exception:
            continue
        for edit in edits:
            yield args, {**kwargs, key: edit}


def code_constants(fn: Any) -> list[Any]:
    """The int, float and short word literals in a function's code (nested code too)."""
    found: set[Any] = set()
    stack = [getattr(fn, "__code__", None)]
    while stack and len(found) < 50:
        code = stack.pop()
        if code is None:
            continue
        for c in code.co_consts:
            if (type(c) in (int, float) and c == c) or _word(c):
                found.add(c)
            elif type(c) is tuple and len(c) >= 3 and all(map(_word, c)):
                found.add(c)  # a table's words (a dict literal's keys)
            elif hasattr(c, "co_consts"):
                stack.append(c)
    # Words in the order the code holds them (a table's order is often the answer's).
    words = [c for code in _codes(fn) for c in code.co_consts
             if type(c) in (str, tuple) and c in found]
    return sorted((c for c in found if type(c) in (int, float)),
                  key=lambda c: (type(c).__name__, c)) + list(dict.fromkeys(words))


def _word(c: Any) -> bool:
    return type(c) is str and 0 < len(c) <= 20 and c.isalpha()


def _codes(fn: Any) -> list[Any]:
    out: list[Any] = []
    stack = [getattr(fn, "__code__", None)]
    while stack and len(out) < 50:
        code = stack.pop()
        if code is not None:
            out.append(code)
            stack += [c for c in code.co_consts if hasattr(c, "co_consts")]
    return out


def derived_calls(observed: Sequence[Call], limit: int = MAX_DERIVED,
                  constants: Sequence[Any] = ()) -> list[Call]:
    """Mutations of the tests' calls (the calls themselves excluded), two rounds, deduplicated
    by repr, the first round's for every call before any second round's; `constants`
    (the code's literals) are tried in place of numbers of their type."""
    seen: set[str] = set()
    for call in observed:
        try:
            seen.add(repr(call))
        except Exception:
            pass
    out: list[Call] = []

    def add(call: Call) -> bool:
        try:
            key = repr(call)
        except Exception:
            return False
        if key in seen or len(key) > 4000:
            return False
        seen.add(key)
        out.append(call)
        return True

    # First round shared fairly across calls, so one long call does not take the quota.
    share = max(PER_VALUE, limit // (2 * max(1, len(observed))))
    for n, call in enumerate(observed):
        made = 0
        for edit in _mutated_calls(call, constants if n < 3 else ()):
            if len(out) >= limit // 2 or made >= share:
                break
            made += add(edit)
    # Second round: every first-round input edited again, a spread of its edits each (so
    # that two arguments changed together, e.g. a list and a threshold, are reached).
    first = list(out)
    quota = max(2, (limit - len(out)) // max(1, len(first)))
    for n, call in enumerate(first):
        edits = list(_mutated_calls(call))
        step = max(1, len(edits) // quota)
        for edit in edits[n % step::step][:quota]:
            if len(out) >= limit:
                return out
            add(edit)
    return out


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def orderings(observed: Sequence[Call]) -> list[tuple[int, int]]:
    """Pairs (i, j) of numeric arguments with args[i] <= args[j] in every one of the tests'
    calls (two at least): an implied precondition, such as clamp's lo <= hi."""
    calls = [args for args, _ in observed]
    if len(calls) < 2 or len({len(a) for a in calls}) != 1:
        return []
    width = len(calls[0])
    return [(i, j) for i in range(width) for j in range(width) if i != j
            and all(_number(a[i]) and _number(a[j]) and a[i] <= a[j] for a in calls)]


def keeps(call: Call, relations: Sequence[tuple[int, int]]) -> bool:
    """Whether `call` keeps the orderings the tests' calls all kept."""
    args = call[0]
    try:
        return all(not (_number(args[i]) and _number(args[j])) or args[i] <= args[j]
                   for i, j in relations if max(i, j) < len(args))
    except Exception:  # an unorderable value: nothing is known
        return True
