"""The child side of the probes: import and collect once, then each variant in a fork.

`Probe.enter` runs first in fork_many's child: it imports the solution and collects the
tests, and nothing else. Each body (the unchanged solution, a stand-in, a mutant) then
runs in a process forked from that state (`fork_many(isolate=True)`), so every variant
sees the state the first run saw, and is installed in place (`swap`): the objects the
tests hold are the ones they held at import, now behaving as the variant.
"""

from __future__ import annotations

import collections
import functools
import os
import random
import sys
import tempfile
import time
import types
from collections.abc import Callable
from typing import Any

from harness_sandbox import pytest_job
from harness_sandbox.probelib import swap
from harness_sandbox.probelib import workdir as tree
from harness_sandbox.probelib.collected import Collected
from harness_sandbox.probelib.equivalence import (
    WALL_FACTOR,
    Inputs,
    call_with_timeout,
    find_difference,
    fresh,
)
from harness_sandbox.probelib.forks import earlier, fork_many, progress
from harness_sandbox.probelib.mutants import Mutant

# CPU seconds to tell one survivor apart; the bound is the number of inputs, this a cap
# that only slow entry points reach (most survivors take a few ms).
EQUIVALENCE_BUDGET = 0.25
# Wall seconds a child may spend telling one survivor apart before it is killed (drawing
# a rare kind's values with hypothesis included, on a busy machine).
SEARCH_WALL = WALL_FACTOR * EQUIVALENCE_BUDGET + 1.0
KILL_MARGIN = 0.25  # past its own alarm, a child stuck in C code is killed after this
MAX_OBSERVED = 20  # calls of the tests' own to replay first when telling mutants apart
MAX_EVENTS = 5000  # profiler events to watch for them, at most, in one run (cost)
# A variant that loops is cut after this much CPU (or 10x the baseline's): most of
# HumanEval's suites take under 1 ms of CPU, so 20 ms is 20 times theirs and more.
MIN_VARIANT_CPU = 0.02
MIN_VARIANT_TIME = 0.25  # wall clock, for variants that hang without using the CPU
# Reruns of the unchanged solution among the variants in the shared process, at places
# drawn with SystemRandom (and one after the last): a run that fails where the first
# passed sends the whole sample to a process per variant.
CANARIES = 3

Record = dict[str, Any]
Calls = list[tuple[tuple[Any, ...], dict[str, Any]]]


class Probe:
    """One sample's variants; the parent knows the source only."""

    collected: Collected
    solution: types.ModuleType
    original: Any
    defined: dict[str, Any]
    before: swap.Snapshot
    limit: tuple[float, float] = (MIN_VARIANT_CPU, MIN_VARIANT_TIME)  # CPU, wall seconds
    baseline: Record | None = None  # the unchanged solution's run, once known here
    search_hung = False  # a survivor's search was cut: the next ones would hang alike
    setup_seconds = 0.0  # what importing and collecting took the child
    tests = 0  # collected by the child
    is_function = False
    # The shared mode (every run in one process, each variant undone after it):
    sharing = False  # set for the shared child; it stops, with the reason, at `unsafe`
    unsafe: str | None = None
    abandoned = False  # (in the parent) the shared child died or hung: its next is idle
    saved: swap.Saved
    start: dict[str, Any]  # the solution's namespace after collection
    prints: dict[tuple[str, str], tuple[Any, ...]]
    basetemp: Any = None  # pytest's tmp_path root after collection

    def __init__(self, workdir: str, entry_point: str, tests_files: list[str], source: str,
                 deadline: float, warm: tuple[Any, Any] | None,
                 prepare: Callable[[], None] | None, passed: Callable[[Record, int], bool]
                 ) -> None:
        self.workdir, self.entry_point = workdir, entry_point
        self.tests_files, self.warm, self.prepare = tests_files, warm, prepare
        self.source, self.deadline, self.passed = source, deadline, passed
        self.constants = _int_constants(source)
        self.preloaded = frozenset(sys.modules) - {"solution"}  # none of these is the sample's
        self.setup_error: Record | None = None
        self.tampering: list[list[str]] = []
        self.files: tuple[tree.Files, set[str]] | None = None

    def enter(self) -> None:
        """First thing in each child: the caller's confinement, this run's settings, then
        the import and collection every variant is forked from."""
        if self.prepare is not None:
            self.prepare()
        os.chdir(self.workdir)
        os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        if self.abandoned:  # a shared child after one that died: nothing more to run
            return
        pytest_job.use_hypothesis()  # the sandbox's deterministic profile (once per server)
        self.setup_error = self._ready()
        if self.setup_error is None and self.sharing:
            self.start = dict(vars(self.solution))
            self.saved = swap.save([*self.defined.values(), *self.start.values()])
            self.prints = _fingerprint([self.solution, *self.collected.local_modules()])
            self.basetemp = getattr(getattr(self.collected.config, "_tmp_path_factory",
                                            None), "_basetemp", None)

    def _ready(self) -> Record | None:
        """Import the solution and collect the tests; the record to report instead of a
        run when that fails."""
        import importlib

        began = time.monotonic()
        if self.workdir not in sys.path:
            sys.path.insert(0, self.workdir)
        try:  # before the tests: what they import must be the real entry point
            self.solution = importlib.import_module("solution")
            self.original = getattr(self.solution, self.entry_point)
        except BaseException as exc:
            return {"ran": 0, "setup_error": f"entry point {self.entry_point!r} "
                    f"not found: {exc!r}"}
        self.defined = dict(vars(self.solution))  # before any test ran
        self.before = swap.snapshot(self.solution)
        self.is_function = isinstance(self.original, types.FunctionType)
        try:
            self.collected = Collected(self.workdir, self.tests_files, self.warm,
                                       self.preloaded)
        except BaseException as exc:  # a test module that fails to import, exits, or worse
            return {"ran": 0, "sample_fault": True,
                    "setup_error": f"collection failed: {exc!r}"}
        self.tampering = swap.tampered(self.before, self.solution)
        swap.restore_builtins(self.before)  # the harness's own code needs the real ones
        if self.collected.session.testsfailed or not self.collected.items:
            return {"ran": 0, "sample_fault": True, "setup_error":
                    f"collection failed or found no tests "
                    f"({self.collected.session.testsfailed} errors)"}
        self.collected.local_modules()  # judged once here, not for every variant
        self.files = tree.snapshot(self.workdir)  # put back after each variant
        self.tests = len(self.collected.items)
        self.setup_seconds = time.monotonic() - began
        return None

    def after(self, index: int, record: Record) -> None:
        """In the child, as each variant's record goes out: the first is the baseline's
        (and carries what the tests tampered with, even when its run died)."""
        if self.files is not None:
            tree.restore(self.workdir, self.files)
        if index == 0:
            later = record.get("tampering") or []
            record["tampering"] = self.tampering + [t for t in later
                                                    if t not in self.tampering]
            self.learn(record)
        self.search_hung = self.search_hung or bool(record.get("cut"))

    def learn(self, base: Record) -> None:
        """The variants' limits, from the unchanged solution's run (here or in a child)."""
        self.baseline = base
        self.tests = int(base.get("collected") or 0)
        self.setup_seconds = float(base.get("setup_seconds") or 0)
        self.limit = (max(MIN_VARIANT_CPU, 10 * float(base.get("cpu") or 0) + 0.02),
                      max(MIN_VARIANT_TIME, 10 * float(base.get("seconds") or 0) + 0.25))

    def timeout(self, index: int, results: list[Record], fresh: bool = False) -> float:
        """fork_many's wall limit for body `index` (in the parent); learns the baseline's
        limits first, so that a child forked after a hang starts with them."""
        if index == 0:
            return max(1.0, self.deadline - time.monotonic())
        if self.baseline is None:
            self.learn(results[0])
        setup = 2 * self.setup_seconds + MIN_VARIANT_TIME if fresh else 0.0
        return self.limit[1] + KILL_MARGIN + setup

    def _skip(self, extra: float = 0.0) -> bool:
        """A variant not to run: no baseline pass, no time left, or nothing collected.
        First, what the child learnt from the records that went out after this process
        was forked (it is forked while the variant before it runs)."""
        for record in earlier():
            if self.baseline is None:  # the first is the unchanged solution's
                self.learn(record)
            self.search_hung = self.search_hung or bool(record.get("cut"))
        return self.setup_error is not None or self.baseline is None or \
            not self.passed(self.baseline, self.tests) or \
            self.deadline - time.monotonic() < self.limit[1] + extra + 0.5

    def _run(self, observed: Calls | None = None) -> Record:
        """The collected tests, watched for the entry point's calls (in every run alike,
        so that a run can't tell what it is by the watching)."""
        code = getattr(self.original, "__code__", None) if self.is_function else None
        watch = _watcher(code, observed if observed is not None else [])
        previous = sys.getprofile()
        sys.setprofile(watch)
        try:
            return self.collected.run(self.limit if self.baseline is not None else None,
                                      explain=self.baseline is None)
        finally:
            sys.setprofile(previous)

    def baseline_body(self) -> Record:
        if self.setup_error is not None:
            return {**self.setup_error, "tampering": self.tampering}
        record = self._run()
        record["collected"] = self.tests
        record["setup_seconds"] = self.setup_seconds
        record["tampering"] = swap.tampered(self.before, self.solution)
        return record

    def stub_body(self, stub: Any) -> Callable[[], Record]:
        def body() -> Record:
            if self._skip():
                return {"skipped": True}
            try:
                stand_in = stub.build(self.defined)  # the real entry point's shape
            except Exception as exc:  # e.g. a class that can't be subclassed
                return {"passed": False, "ran": 0, "error": f"can't build: {exc!r}"[:300]}
            if not swap.install_stand_in(self.original, stand_in):
                if self.sharing:  # a rebind is not undone exactly
                    self.unsafe = "a stand-in could not be installed in place"
                    return {"skipped": True}
                self.collected.rebind({id(self.original): stand_in}, also=(self.solution,))
            return self._run()
        return body

    def mutant_body(self, mutant: Mutant) -> Callable[[], Record]:
        def body() -> Record:
            if self._skip(EQUIVALENCE_BUDGET):
                return {"skipped": True}
            return self._mutant(mutant)
        return body

    def _mutant(self, mutant: Mutant) -> Record:
        """Install the mutant as the solution itself, run the tests, then compare."""
        try:
            code = mutant.code or compile(mutant.source, "solution.py", "exec")
            left: dict[int, Any] = {}
            call_with_timeout(lambda: left.update(
                swap.install_mutant(self.solution, code, self.defined)), *self.limit)
            # The mutant's own entry point, even where the tests replaced it.
            replacement = left.get(id(self.original), self.original)
        except BaseException as exc:  # the mutant does not even import
            return {"passed": False, "ran": 0, "failed": f"import: {exc!r}"[:200]}
        if left and self.sharing:  # a rebind is not undone exactly
            self.unsafe = "a mutant could not be installed in place"
            return {"skipped": True}
        if left:  # what could not change in place moves wherever the tests hold it
            self.collected.rebind(left)
        observed: Calls = []
        record = self._run(observed)
        if record.get("passed") and self.is_function and self.search_hung:
            record["search_skipped"] = "an earlier survivor's search hung"
        elif record.get("passed") and self.is_function:
            progress(record, SEARCH_WALL)  # a survivor, whatever happens in the search
            try:
                original = self._pristine()
            except BaseException as exc:
                record["search_skipped"] = f"the solution does not import again: {exc!r}"
                return record
            search = find_difference(original, replacement, observed,
                                     total=EQUIVALENCE_BUDGET,
                                     inputs=Inputs(original, self.constants))
            record["search"] = [search.found, search.agreed]
        return record

    def _pristine(self) -> Any:
        """The real entry point again, from a fresh import of the source."""
        module = types.ModuleType("solution")
        module.__file__ = getattr(self.solution, "__file__", None)
        code = compile(self.source, module.__file__ or "solution.py", "exec")
        call_with_timeout(lambda: exec(code, module.__dict__), *self.limit)
        return getattr(module, self.entry_point)


    # ------------------------------------------------------------ the two modes

    def run_all(self, stubs: list[Any], mutants: list[Mutant],
                reset: Callable[[], None] | None) -> tuple[list[Record], dict[str, str]]:
        """The baseline's record, then each stand-in's and mutant's; and which mode ran
        them: "shared" (one process, canaries among the variants), or "forked" (a
        process per run) when the shared run could not vouch for itself (`why`)."""
        variants = [*map(self.stub_body, stubs), *map(self.mutant_body, mutants)]
        results, why = self._shared(variants, reset)
        if why is None:
            return results, {"mode": "shared", "why": "every rerun of the unchanged "
                             "solution passed as the first did; no state changed"}
        self.sharing, self.unsafe, self.abandoned = False, None, False
        self.baseline, self.search_hung = None, False
        results = fork_many([self.baseline_body, *variants], self.timeout,
                            prepare=self.enter, reset=reset, isolate=True, after=self.after)
        return results, {"mode": "forked", "why": why}

    def _shared(self, variants: list[Callable[[], Record]],
                reset: Callable[[], None] | None) -> tuple[list[Record], str | None]:
        count = len(variants)
        spots = set(random.SystemRandom().sample(range(1, count),
                                                 min(CANARIES, max(count - 1, 0))))
        bodies = [self._shared_body(self.baseline_body, "baseline")]
        where: list[int] = []
        canaries: list[int] = []
        for i, body in enumerate(variants, 1):
            where.append(len(bodies))
            bodies.append(self._shared_body(body, "variant"))
            if i in spots or i == count:
                canaries.append(len(bodies))
                bodies.append(self._shared_body(self._canary, "canary"))
        self.sharing = True

        def timeout(index: int, results: list[Record], fresh: bool) -> float:
            if fresh and index > 0:  # the shared child died or hung
                self.abandoned = True
            return self.timeout(index, results, fresh)

        results = fork_many(bodies, timeout, prepare=self.enter, reset=reset)
        why = next((str(r["shared_unsafe"]) for r in results if r.get("shared_unsafe")),
                   None)
        if why is None and any(r.get("crashed") or r.get("timeout") or r.get("cut")
                               for r in results):
            why = "a run crashed or hung the shared process"
        base = results[0]
        if why is None and any(not results[i].get("skipped") and _outcome(results[i]) !=
                               _outcome(base) for i in canaries):
            why = "a rerun of the unchanged solution among the variants did not pass " \
                "as the first run did"
        return [base, *(results[i] for i in where)], why

    def _canary(self) -> Record:
        if self._skip():
            return {"skipped": True}
        return self._run()

    def _shared_body(self, body: Callable[[], Record], kind: str) -> Callable[[], Record]:
        """`body` in the shared process, then everything it may have changed put back,
        and checked: the solution's and the tests' globals, the work dir."""
        def run() -> Record:
            if self.abandoned or self.unsafe is not None:
                return {"skipped": True}
            try:
                record = body()
            except BaseException as exc:
                self.unsafe = f"a run raised {exc!r}"[:300]
                record = {"skipped": True}
            if self.setup_error is None:
                try:
                    self._settle(kind, record)
                except BaseException as exc:
                    self.unsafe = f"undoing a run raised {exc!r}"[:300]
            if self.unsafe is not None:
                record["shared_unsafe"] = self.unsafe
            return record
        return run

    def _settle(self, kind: str, record: Record) -> None:
        # pytest's tmp_path dirs (put back below, like any file): the next run makes its
        # own, as a run forked from the collected state would.
        factory = getattr(self.collected.config, "_tmp_path_factory", None)
        if factory is not None:
            factory._basetemp = self.basetemp
        pytest_tmp = os.path.join(tempfile.gettempdir(), "pytest-of-")
        path = tree.changed(self.workdir, self.files, os.path.relpath(
            pytest_tmp, self.workdir)) if kind == "baseline" and self.files is not None \
            else None
        if path is not None:
            self.unsafe = f"the tests changed files in the work dir: {path}"[:300]
        self.after(0 if kind == "baseline" else 1, record)  # the files put back
        if kind != "variant":  # what the unchanged solution's run changed, before undoing
            self._changed(kind)
        swap.undo(self.saved)
        namespace = vars(self.solution)
        if namespace.keys() != self.start.keys() or any(
                namespace[k] is not v for k, v in self.start.items()):
            namespace.clear()
            namespace.update(self.start)
        swap.restore_builtins(self.before)
        self._changed(kind)  # what was not put back

    def _changed(self, kind: str) -> None:
        now = _fingerprint([self.solution, *self.collected.local_modules()])
        if now != self.prints and self.unsafe is None:
            names = sorted({*now.keys() ^ self.prints.keys(),
                            *(k for k in now.keys() & self.prints.keys()
                              if now[k] != self.prints[k])})
            what = ", ".join(".".join(n) for n in names[:3])
            self.unsafe = f"state changed by the {kind}'s run: {what}"[:300]


def _outcome(record: Record) -> tuple[Any, ...]:
    return tuple(record.get(k) for k in ("passed", "ran", "tests_passed", "tests_skipped",
                                         "failed"))


# Set by a library on the first run, read by no later one (the sandbox's hypothesis
# profile is derandomized).
_OWN_STATE = frozenset({"_hypothesis_internal_use_generated_seed"})
_CACHE = getattr(functools, "_lru_cache_wrapper", ())
_SIZED = (list, dict, set, bytearray, collections.deque)


def _fingerprint(modules: list[types.ModuleType]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Per global of `modules` (not dunders): its id and type, a builtin container's
    size, a functools cache's size, the ids of a plain object's attributes."""
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    for module in modules:
        for name, value in list(vars(module).items()):
            if name.startswith("__"):
                continue
            key: tuple[Any, ...] = (id(value), id(type(value)))
            try:
                if isinstance(value, _SIZED):
                    key += (len(value),)
                elif _CACHE and isinstance(value, _CACHE):
                    key += (value.cache_info().currsize,)
                elif not isinstance(value, types.ModuleType):
                    attributes = getattr(value, "__dict__", None)
                    if isinstance(attributes, dict) or isinstance(value, type):
                        key += tuple(id(v) for k, v in vars(value).items()
                                     if k not in _OWN_STATE)
            except Exception:
                key += (None,)
            out[(module.__name__, name)] = key
    return out


def _watcher(code: Any, calls: Calls) -> Callable[[Any, str, Any], None] | None:
    """A profiler that records the first calls of `code` (their arguments, copied before
    the call mutates them), then takes itself off."""
    if code is None:
        return None
    events = [0]
    flags = code.co_flags
    names = code.co_varnames

    def watch(frame: Any, event: str, _arg: Any) -> None:
        events[0] += 1
        if event == "call" and frame.f_code is code:
            try:
                _record(frame.f_locals)
            except Exception:
                pass
        if len(calls) >= MAX_OBSERVED or events[0] > MAX_EVENTS:
            sys.setprofile(None)

    def _record(local: dict[str, Any]) -> None:
        count = code.co_argcount
        args = [local[n] for n in names[:count]]
        i = count + code.co_kwonlyargcount
        kwargs = {n: local[n] for n in names[count:i]}
        if flags & 0x04:  # *args
            args += list(local[names[i]])
            i += 1
        if flags & 0x08:  # **kwargs
            kwargs.update(local[names[i]])
        calls.append(fresh((tuple(args), kwargs)))

    return watch


def _int_constants(source: str) -> list[int]:
    """The ints in the solution: inputs next to them tell boundary mutants apart."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # MemoryError: nesting
        return []
    return sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and type(n.value) is int})[:50]
