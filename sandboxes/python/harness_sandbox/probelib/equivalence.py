"""Telling a mutant that behaves differently from one that is (likely) equivalent.

A survivor is compared with the solution on a bounded set of inputs, in this order: the
calls the tests themselves made, those calls with each int argument (or list of ints)
set to an edge value or one of the solution's constants ±1, then values hypothesis
draws for the parameters' annotations or the shapes of the tests' inputs
(`strategies`); the first difference found on an input of ours (not the tests') is
shrunk (`shrink`). Two calls differ when their results differ by structure (`compare`:
type, then canonical value, never the results' own `__eq__`), when one raises and the
other does not, when they raise exceptions of different classes (by qualified name; the
solution's own exception classes also by arguments), when they leave the arguments
different, or when only the mutant runs out of time. A call whose results cannot be
compared by structure (a generator, a C object's hidden state, a cycle) is *unknown*:
it neither agrees nor tells the two apart, and a search that met one calls no mutant
equivalent (`Search.unknown`). `Inputs` keeps the
solution's answers, so each further survivor costs only its own calls; time (CPU) is a
cap, not the bound.
"""

from __future__ import annotations

import copy
import inspect
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from harness_sandbox.probelib.compare import (
    DIFFERENT,
    SAME,
    UNKNOWN,
    Form,
    Unknown,
    canonical,
    compare,
    same,
    why_unknown,
)
from harness_sandbox.probelib.derive import code_constants as literals
from harness_sandbox.probelib.derive import derived_calls, keeps, orderings
from harness_sandbox.probelib.shrink import shrink
from harness_sandbox.probelib.strategies import EXAMPLES, Call, boundary_calls, calls, families

Outcome = tuple[str, Any, Any]  # ("ok" | "raise" | "timeout", value or exception, args after)
CALL_BUDGET = 0.05  # CPU seconds one call of a mutant may take before it counts as a hang
# The solution gets less: an input it needs 20 ms for is skipped, and a mutant then has
# 2.5x the solution's time before its hang counts as a difference.
SOLUTION_BUDGET = 0.02
ANSWERS_CAP = 0.5  # CPU seconds the solution's answers may take in one process, all told
WALL_FACTOR, WALL_SLACK = 4, 0.1  # a call blocked off the CPU (sleeping) is cut by wall time
ALARM_REPEAT = 0.05  # a swallowed timeout comes back this often
MAX_KEY = 2000  # longest repr an answer is remembered under
MAX_FORMS = 5000  # the solution's answers whose canonical forms are kept
TESTS, DERIVED, DRAWN = "tests", "derived", "drawn"  # where a comparison input comes from
MAX_DERIVED = 150  # derived inputs per survivor search (the differential probe takes more)


_getsignal: Callable[[int], Any] = getattr(signal, "_signal", signal).getsignal  # the C module's


class CallTimeout(BaseException):
    """A single call ran past its budget (a BaseException: `except Exception` can't eat it)."""


def _on_alarm(_sig: int, _frame: Any) -> None:
    raise CallTimeout()


def call_with_timeout(fn: Callable[[], Any], seconds: float, wall: float | None = None) -> Any:
    """fn(), raising CallTimeout past `seconds` of CPU or `wall` seconds of wall clock.

    CPU time, not wall time, so that a busy machine does not make slow variants look
    hung; the wall clock (default: 4x + 0.1 s) still stops one that sleeps.
    """
    wall = seconds * WALL_FACTOR + WALL_SLACK if wall is None else wall
    for sig in (signal.SIGPROF, signal.SIGALRM):
        # Installed once and left: a disarmed timer never fires, and re-installing
        # around each of thousands of calls costs more than the calls.
        if _getsignal(sig) is not _on_alarm:  # signal's wrapper costs 10x more
            signal.signal(sig, _on_alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds, ALARM_REPEAT)
    signal.setitimer(signal.ITIMER_REAL, wall, ALARM_REPEAT)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)


def outcome(fn: Callable[..., Any], call: Call, budget: float = CALL_BUDGET) -> Outcome:
    """What one call does, on a private copy of its arguments."""
    try:
        args, kwargs = fresh(call)
    except Exception:  # not copyable: both sides see the same objects then
        args, kwargs = call
    try:
        return "ok", call_with_timeout(lambda: fn(*args, **kwargs), budget), (args, kwargs)
    except CallTimeout:
        return "timeout", None, None
    except Exception as exc:
        return "raise", exc, (args, kwargs)


_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_NOT_PLAIN = object()


def fresh(value: Any) -> Any:
    """A copy of `value` that a call may mutate without touching the original, as
    `copy.deepcopy` makes it: the plain values inputs are made of (atoms, and lists,
    tuples and dicts of them) are copied directly, at a fraction of its cost; anything
    else, or a list or dict that appears twice (a sharing the copy must keep), goes to it.
    """
    try:
        copied = _plain_copy(value, set())
    except RecursionError:
        copied = _NOT_PLAIN
    return copy.deepcopy(value) if copied is _NOT_PLAIN else copied


def _plain_copy(value: Any, seen: set[int]) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is tuple or kind is list:
        if kind is list:
            if id(value) in seen:
                return _NOT_PLAIN
            seen.add(id(value))
        if _ATOMS.issuperset(map(type, value)):
            return value[:] if kind is list else value
        items = [_plain_copy(x, seen) for x in value]
        if any(x is _NOT_PLAIN for x in items):
            return _NOT_PLAIN
        if kind is tuple and all(x is y for x, y in zip(items, value, strict=True)):
            return value  # nothing in it to mutate
        return items if kind is list else tuple(items)
    if kind is dict:
        if not value:
            return {}
        if id(value) in seen or not _ATOMS.issuperset(map(type, value)):
            return _NOT_PLAIN
        seen.add(id(value))
        out = {k: _plain_copy(x, seen) for k, x in value.items()}
        return _NOT_PLAIN if any(x is _NOT_PLAIN for x in out.values()) else out
    return _NOT_PLAIN


def judge(first: Outcome, second: Outcome, forms: tuple[Form, Form] | None = None) -> str:
    """SAME, DIFFERENT or UNKNOWN: whether two outcomes of the same call tell the two
    functions apart, by structure (`compare`). `forms`: the canonical forms of `first`'s
    value and arguments after, made once (`Inputs.forms`)."""
    if first[0] != second[0]:
        return DIFFERENT
    if first[0] == "timeout":
        return SAME
    # A result, or an exception by class (and args, for the solution's own classes).
    verdict = compare(first[1], second[1], forms and forms[0])
    if verdict != SAME:
        return verdict
    return compare(first[2], second[2], forms and forms[1])


def differs(first: Outcome, second: Outcome) -> bool:
    """Whether two outcomes of the same call are known to tell the two functions apart."""
    return judge(first, second) == DIFFERENT


class Inputs:
    """One sample's comparison inputs and the solution's outcomes on them, kept per process.

    Every survivor in a forked child shares them: the solution is called once per input,
    however many mutants survive.
    """

    def __init__(self, solution_fn: Callable[..., Any], near: Sequence[Any] = (),
                 max_examples: int = EXAMPLES, cap: float = ANSWERS_CAP,
                 budget: float = SOLUTION_BUDGET, derived: int = MAX_DERIVED,
                 implied: bool = True) -> None:
        self.solution_fn, self.max_examples = solution_fn, max_examples
        self.cap, self.budget, self.derived = cap, budget, derived
        self.implied = implied  # keep the orderings all the tests' calls kept
        self.near = [*near, *code_constants(solution_fn)]
        self._calls: dict[tuple[str, ...], list[Call]] = {}
        self._answers: dict[str, tuple[Call, Outcome]] = {}
        self._forms: dict[int, tuple[Outcome, tuple[Form, Form]]] = {}
        self.drawing = 0.0  # CPU seconds spent in hypothesis, kept off any survivor's cap
        self.answering = 0.0  # CPU seconds spent computing the solution's answers

    def answer(self, call: Call) -> Outcome:
        """The solution's outcome on `call`, remembered by repr (checked with ==)."""
        try:
            key = repr(call)
        except Exception:
            key = ""
        if 0 < len(key) <= MAX_KEY and key in self._answers:
            known, answer = self._answers[key]
            if same(known, call):
                return answer
        if self.answering > self.cap:  # a slow solution: the inputs left tell nothing
            return "timeout", None, None
        began = time.process_time()
        answer = outcome(self.solution_fn, call, self.budget)
        self.answering += time.process_time() - began
        if 0 < len(key) <= MAX_KEY:
            try:
                self._answers[key] = (fresh(call), answer)
            except Exception:  # not copyable: not remembered
                pass
        return answer

    def forms(self, answer: Outcome) -> tuple[Form, Form] | None:
        """The canonical forms of one of the solution's answers, made once per answer."""
        known = self._forms.get(id(answer))
        if known is not None and known[0] is answer:
            return known[1]
        if len(self._forms) >= MAX_FORMS or answer[0] == "timeout":
            return None
        forms = (Form(answer[1]), Form(answer[2]))
        self._forms[id(answer)] = (answer, forms)
        return forms

    def calls(self, observed: Sequence[Call]) -> Iterator[tuple[bool, Call]]:
        """Every input to compare on, in order, each with whether it is ours (worth
        shrinking) rather than the tests'; a family's values are drawn when first reached."""
        for origin, call in self.sourced(observed):
            yield origin != TESTS, call

    def sourced(self, observed: Sequence[Call]) -> Iterator[tuple[str, Call]]:
        """Every input to compare on, in order, each with where it comes from: the tests'
        own calls, inputs derived from them (type-aware edits, boundary values), then
        values drawn freely for the parameters' kinds."""
        for call in observed:
            yield TESTS, call
        # e.g. lo <= hi in every call: inputs of ours keep it (a reference needs no guess)
        kept = orderings(observed) if self.implied else []
        for call in derived_calls(observed, self.derived, literals(self.solution_fn)):
            if keeps(call, kept):
                yield DERIVED, call
        for call in boundary_calls(self.solution_fn, observed, self.near):
            if keeps(call, kept):
                yield DERIVED, call
        for _label, kinds in families(self.solution_fn, observed):
            key = tuple(name for name, _ in kinds)
            if key not in self._calls:
                began = time.process_time()
                self._calls[key] = calls(kinds, self.max_examples)
                self.drawing += time.process_time() - began
            for call in self._calls[key]:
                if keeps(call, kept):
                    yield DRAWN, call


@dataclass
class Search:
    """The result of a search: a distinguishing input, and how many inputs agreed."""

    found: dict[str, str] | None = None
    # Inputs on which both returned the same and the solution returned; 0 when `unknown`:
    # an answer that could not be compared leaves equivalence unknown, however many agreed.
    agreed: int = 0
    unknown: str | None = None  # why some input's answers could not be compared


def find_difference(solution_fn: Callable[..., Any], mutant_fn: Callable[..., Any],
                    observed: Sequence[Call] = (), near: Sequence[Any] = (),
                    max_examples: int = EXAMPLES, total: float = 2.0,
                    inputs: Inputs | None = None) -> Search:
    """Look for an input telling the two apart; stop at the first, or when all agree.

    `total`: CPU seconds this comparison may spend on calls (hypothesis' drawing does not
    count: it is shared). `inputs`: shared with other survivors of the same solution.
    """
    inputs = inputs or Inputs(solution_fn, near, max_examples)
    result = Search()
    began, drawn_before = time.process_time(), inputs.drawing

    def in_time() -> bool:
        return time.process_time() - began - (inputs.drawing - drawn_before) <= total

    unknown: list[Outcome] = []

    def tells_apart(call: Call) -> tuple[Outcome, Outcome] | None:
        first = inputs.answer(call)
        if first[0] == "timeout":
            return None  # the solution itself does not answer: no evidence either way
        second = outcome(mutant_fn, call)
        verdict = judge(first, second, inputs.forms(first))
        if verdict == UNKNOWN:
            unknown.append(first)
        return (first, second) if verdict == DIFFERENT else None

    kept = orderings(observed)
    for origin, call in inputs.sourced(observed):
        if not in_time():
            break  # what agreed so far stands
        ours = origin != TESTS
        if ours and inputs.answer(call)[0] == "raise":
            continue  # the solution refuses it: outside the problem's domain
        met = len(unknown)
        pair = tells_apart(call)
        if pair is None:
            result.agreed += inputs.answer(call)[0] == "ok" and len(unknown) == met
            continue
        if ours and pair[1][0] != "timeout":  # a hang costs the whole call budget a step
            kinds = (pair[0][0], pair[1][0])

            def alike(c: Call, kinds: tuple[str, str] = kinds) -> bool:
                # Differs the same way: no trading two answers for two exceptions.
                if not in_time() or not keeps(c, kept) or inputs.answer(c)[0] == "raise":
                    return False  # shrunk out of the domain
                found = tells_apart(c)
                return found is not None and (found[0][0], found[1][0]) == kinds

            call = shrink(call, alike)
            pair = tells_apart(call) or pair
        result.found = {**_report(call, *pair), "origin": origin}
        break
    if unknown and result.found is None:
        result.agreed = 0
        result.unknown = _why_unknown(unknown[0])
    return result


def _why_unknown(first: Outcome) -> str:
    why = why_unknown(first[1]) or why_unknown(first[2]) or "the answers could not be compared"
    return f"answers not comparable by structure: {why}"[:300]


def draw_distinguishing_input(solution_fn: Callable[..., Any], mutant_fn: Callable[..., Any],
                              max_examples: int = EXAMPLES, observed: Sequence[Call] = (),
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
    try:
        shown = repr(o[1])
    except Exception as exc:  # a hostile __repr__
        shown = f"<unprintable: {type(exc).__name__}>"
    if " at 0x" in shown:  # a default repr says nothing of the value
        try:
            shown = f"{shown[:120]} with structure {canonical(o[1])!r}"
        except Unknown:
            pass
    return ("raises " + shown if o[0] == "raise" else shown)[:300]


def _report(call: Call, first: Outcome, second: Outcome) -> dict[str, str]:
    args, kwargs = call
    shown = ", ".join([*(repr(a) for a in args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    report = {"args": f"({shown})"[:300], "solution": _show(first), "mutant": _show(second)}
    if first[0] == second[0] == "ok" and same(first[1], second[1]):
        after = [", ".join(repr(a) for a in o[2][0])[:140] for o in (first, second)]
        report["note"] = f"the arguments differ after the call: ({after[0]}) vs ({after[1]})"
    return report
