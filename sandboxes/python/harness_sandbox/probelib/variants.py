"""The child side of the probes: import and collect once, then each variant in a fork.

`Probe.enter` runs first in fork_many's child: it imports the solution and collects the
tests, and nothing else. Each body (the unchanged solution, a stand-in, a mutant) then
runs in a process forked from that state (`fork_many(isolate=True)`), so every variant
sees the state the first run saw, and is installed in place (`swap`): the objects the
tests hold are the ones they held at import, now behaving as the variant.
"""

from __future__ import annotations

import os
import sys
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
from harness_sandbox.probelib.forks import earlier, progress
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
        pytest_job.use_hypothesis()  # the sandbox's deterministic profile (once per server)
        self.setup_error = self._ready()

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
