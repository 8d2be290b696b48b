"""Running the tests against stand-ins and mutants, importing the tests only once.

The tests are collected once, in this process (`collected`). The unchanged solution
then runs in a forked child, and the stand-ins and mutants back to back in another
(`forks`), each swapping the entry point (or the whole `solution` module) wherever the
tests hold it. A mutant the tests do not kill is compared with the solution there
(`equivalence`), on inputs shared by every survivor of the sample.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from harness_sandbox import pytest_job
from harness_sandbox.probelib.collected import Collected
from harness_sandbox.probelib.equivalence import (
    WALL_FACTOR,
    Inputs,
    call_with_timeout,
    find_difference,
    fresh,
)
from harness_sandbox.probelib.forks import fork_many, progress
from harness_sandbox.probelib.mutants import Mutant, generate_mutants
from harness_sandbox.probelib.stubs import make_stubs

# CPU seconds to tell one survivor apart; the bound is the number of inputs, this a cap
# that only slow entry points reach (most survivors take a few ms).
EQUIVALENCE_BUDGET = 0.25
# Wall seconds a child may spend telling one survivor apart before it is killed (drawing
# a rare kind's values with hypothesis included, on a busy machine).
SEARCH_WALL = WALL_FACTOR * EQUIVALENCE_BUDGET + 1.0
# Past its own alarm, a child stuck in C code (a huge int, say) is killed after this.
KILL_MARGIN = 0.25
MIN_AGREED = 5  # inputs both must answer alike before a survivor is called equivalent
MAX_OBSERVED = 20  # calls of the tests' own to replay first when telling mutants apart
# A variant that loops is cut after this much CPU (or 10x the baseline's): most of
# HumanEval's suites take under 1 ms of CPU, so 20 ms is 20 times theirs and more.
MIN_VARIANT_CPU = 0.02
MIN_VARIANT_TIME = 0.25  # wall clock, for variants that hang without using the CPU
PR_SET_DUMPABLE = 4

Record = dict[str, Any]


def run_probes(workdir: str, entry_point: str, tests_files: list[str], probes: list[str],
               mutant_limit: int, time_budget: float,
               warm: tuple[Any, Any] | None = None, source: str | None = None,
               prepare: Callable[[], None] | None = None,
               reset: Callable[[], None] | None = None) -> dict[str, Any]:
    """Stand-in and mutation probes for the sample in `workdir`; a JSON-able report.

    `probes` selects from "stubs" and "mutants". Variants not run within `time_budget`
    seconds are listed in "skipped"; faults of the sample (tests that do not collect or
    do not pass on the unchanged solution) are listed in "errors", and are also in
    "baseline_failed" when the tests fail here although the sandbox's pytest run passed
    them: a pass that does not survive a second run, with no channel back but the
    children's own, is not to be trusted.

    Nothing of the sample's runs in this process: it reads the solution's `source`
    (from `workdir` when not given), makes the variants, and forks the children that
    import, collect and run the sample. `prepare` is called first thing in each child,
    to confine it (the sandbox's fork server drops its privileges and writes the
    sample's files there); `reset` after a child that died or hung, before the next one
    (the fork server ends every process of the sample's there).
    """
    started = time.monotonic()
    out: dict[str, Any] = {"stubs": [], "mutants": [], "mutation_score": None, "skipped": [],
                           "errors": [], "phases": {}}
    _not_dumpable()
    if source is None:
        try:
            with open(os.path.join(workdir, "solution.py"), encoding="utf-8") as fh:
                source = fh.read()
        except (OSError, ValueError) as exc:
            out["errors"].append(f"solution.py unreadable: {exc!r}"[:500])
            return out
    _probe(out, workdir, entry_point, tests_files, probes, mutant_limit,
           started + time_budget, warm, source, prepare, reset)
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def _find_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _find_prctl()  # looked up once, in the fork server: it costs ~3 ms each time


def _not_dumpable() -> None:
    """Children may not reopen this process's pipes through /proc/<pid>/fd (Linux)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _probe(out: dict[str, Any], workdir: str, entry_point: str, tests_files: list[str],
           probes: list[str], mutant_limit: int, deadline: float,
           warm: tuple[Any, Any] | None, source: str,
           prepare: Callable[[], None] | None, reset: Callable[[], None] | None) -> None:
    began = time.perf_counter()
    probe = _Probe(out, workdir, entry_point, tests_files, source, deadline, warm, prepare)
    stubs = make_stubs(source, entry_point) if "stubs" in probes else []
    mutants = generate_mutants(source, mutant_limit) if "mutants" in probes else []
    generated = time.perf_counter()
    # One child imports the sample, runs the unchanged solution, then the stand-ins, then
    # the mutants: a fork costs ~5 ms, more than most suites take to run.
    bodies = [probe.baseline_body, *map(probe.stub_body, stubs),
              *map(probe.mutant_body, mutants)]
    results = fork_many(bodies, probe.timeout, prepare=probe.enter, reset=reset)
    # Where the time went: making the variants, the children (of which the first child's
    # import and collection, and the test runs).
    out["phases"] = {name: round(seconds, 4) for name, seconds in (
        ("generate", generated - began), ("children", time.perf_counter() - generated),
        ("setup", float(results[0].get("setup_seconds") or 0)),
        ("runs", sum(float(r.get("seconds") or 0) for r in results)))}
    base = results[0]
    if base.get("setup_error"):
        out["errors"].append(str(base["setup_error"])[:500])
        if base.get("sample_fault"):
            out["baseline_failed"] = {"failed": "collection", "message": base["setup_error"]}
        return
    probe.tests = int(base.get("collected") or 0)
    out["baseline"] = {"tests": probe.tests, "passed": base.get("tests_passed"),
                       "skipped": base.get("tests_skipped"),
                       "seconds": round(float(base.get("seconds") or 0), 4)}
    if not _passed(base, probe):
        why = _failed_by(base) or "not every test ran"
        out["baseline_failed"] = {"failed": why, "message": str(base.get("message", ""))[:300]}
        out["errors"].append(f"the tests do not pass on the unchanged solution under the "
                             f"probe harness ({why}: {base.get('message', '')}); probes skipped")
        return
    if "stubs" in probes:
        probe.record_stubs(stubs, results[1:1 + len(stubs)])
    if "mutants" in probes:
        probe.record_mutants(mutants, results[1 + len(stubs):])


class _Probe:
    """One sample's variants, run back to back in forked children within the deadline.

    The parent knows the source only; each child imports the solution and collects the
    tests itself (`_ready`), once.
    """

    collected: Collected
    solution: types.ModuleType
    original: Any
    defined: dict[str, Any]
    limit: tuple[float, float] = (MIN_VARIANT_CPU, MIN_VARIANT_TIME)  # CPU, wall seconds
    baseline: Record | None = None  # the unchanged solution's run, once known here
    search_hung = False  # a survivor's search was cut: the next ones would hang alike
    setup_seconds = 0.0  # what importing and collecting took the first child
    tests = 0  # collected by the first child
    is_function = False

    def __init__(self, out: dict[str, Any], workdir: str, entry_point: str,
                 tests_files: list[str], source: str, deadline: float,
                 warm: tuple[Any, Any] | None, prepare: Callable[[], None] | None) -> None:
        self.out, self.workdir, self.entry_point = out, workdir, entry_point
        self.tests_files, self.warm, self.prepare = tests_files, warm, prepare
        self.source, self.deadline = source, deadline
        self.constants = _int_constants(source)
        self.preloaded = frozenset(sys.modules) - {"solution"}  # none of these is the sample's
        self.inputs: Inputs | None = None  # made in the child, by its first survivor
        self.ready_in = 0  # the pid of the process that imported and collected
        self.setup_error: Record | None = None

    def enter(self) -> None:
        """First thing in each child: the caller's confinement, then this run's settings."""
        if self.prepare is not None:
            self.prepare()
        os.chdir(self.workdir)
        os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        pytest_job.use_hypothesis()  # the sandbox's deterministic profile (once per server)

    def _ready(self) -> Record | None:
        """In a child: import the solution and collect the tests, once per process; the
        record to report instead of a run when that fails."""
        if self.ready_in == os.getpid():
            return self.setup_error
        import importlib

        self.ready_in, began = os.getpid(), time.monotonic()
        if self.workdir not in sys.path:
            sys.path.insert(0, self.workdir)
        try:  # before the tests: what they import must be the real entry point
            self.solution = importlib.import_module("solution")
            self.original = getattr(self.solution, self.entry_point)
        except BaseException as exc:
            self.setup_error = {"ran": 0, "setup_error": f"entry point {self.entry_point!r} "
                                f"not found: {exc!r}"}
            return self.setup_error
        self.defined = dict(vars(self.solution))  # before any test ran
        self.is_function = isinstance(self.original, types.FunctionType)
        try:
            self.collected = Collected(self.workdir, self.tests_files, self.warm,
                                       self.preloaded)
        except BaseException as exc:  # a test module that fails to import, exits, or worse
            self.setup_error = {"ran": 0, "sample_fault": True,
                                "setup_error": f"collection failed: {exc!r}"}
            return self.setup_error
        if self.collected.session.testsfailed or not self.collected.items:
            self.setup_error = {"ran": 0, "sample_fault": True, "setup_error":
                                f"collection failed or found no tests "
                                f"({self.collected.session.testsfailed} errors)"}
            return self.setup_error
        self.collected.local_modules()  # judged once here, not for every variant
        self.setup_seconds = time.monotonic() - began
        return None

    def _in_time(self, extra: float = 0.0) -> bool:
        return self.deadline - time.monotonic() >= self.limit[1] + extra + 0.5

    def baseline_body(self) -> Record:
        failed = self._ready()
        if failed is not None:
            return failed
        record = self.collected.run(explain=True)
        record["collected"] = self.tests = len(self.collected.items)
        record["setup_seconds"] = self.setup_seconds
        self._learn(record)
        return record

    def _learn(self, base: Record) -> None:
        """The variants' limits, from the unchanged solution's run (here or in a child)."""
        self.baseline = base
        self.tests = int(base.get("collected") or 0)
        self.setup_seconds = float(base.get("setup_seconds") or 0)
        self.limit = (max(MIN_VARIANT_CPU, 10 * float(base.get("cpu") or 0) + 0.02),
                      max(MIN_VARIANT_TIME, 10 * float(base.get("seconds") or 0) + 0.25))

    def timeout(self, index: int, results: list[Record], fresh: bool = False) -> float:
        """fork_many's wall limit for body `index`; learns the baseline's limits first, so
        that a child forked after a crash starts with them (and the time to set up)."""
        if index == 0:
            return max(1.0, self.deadline - time.monotonic())
        if self.baseline is None:
            self._learn(results[0])
        self.search_hung = self.search_hung or bool(results[-1].get("cut"))
        setup = 2 * self.setup_seconds + MIN_VARIANT_TIME if fresh else 0.0
        return self.limit[1] + KILL_MARGIN + setup

    def _baseline_failed(self) -> bool:
        return self.baseline is None or not _passed(self.baseline, self)

    def stub_body(self, stub: Any) -> Callable[[], Record]:
        def body() -> Record:
            if self._baseline_failed() or not self._in_time() or self._ready() is not None:
                return {"skipped": True}
            namespace = self.defined  # the real entry point, even if the tests replaced it
            try:
                stand_in = stub.build(namespace)
            except Exception as exc:  # e.g. a class that can't be subclassed
                return {"passed": False, "ran": 0, "error": f"can't build: {exc!r}"[:300]}
            self.collected.rebind({id(self.original): stand_in}, also=(self.solution,))
            try:
                return self.collected.run(self.limit)
            finally:
                self.collected.rebind({id(stand_in): self.original}, also=(self.solution,))
        return body

    def record_stubs(self, stubs: list[Any], results: list[Record]) -> None:
        for stub, result in zip(stubs, results, strict=True):
            if result.get("skipped"):
                self.out["skipped"].append(f"stub {stub.name}")
                continue
            if "error" in result:
                self.out["errors"].append(f"stub {stub.name!r}: {result['error']}")
            self.out["stubs"].append({"name": stub.name, "passed_all": _passed(result, self),
                                      "failed_test": _failed_by(result)})

    def mutant_body(self, mutant: Mutant) -> Callable[[], Record]:
        def body() -> Record:
            if self._baseline_failed() or not self._in_time(EQUIVALENCE_BUDGET) or \
                    self._ready() is not None:
                return {"skipped": True}
            return self._mutant_child(mutant)
        return body

    def record_mutants(self, mutants: list[Mutant], results: list[Record]) -> None:
        killed = counted = 0
        for mutant, result in zip(mutants, results, strict=True):
            if result.get("skipped"):
                self.out["skipped"].append(f"mutant {mutant.id} (out of time)")
                continue
            entry: dict[str, Any] = {
                "id": mutant.id, "operator": mutant.operator, "lineno": mutant.lineno,
                "diff": None, "killed": not _passed(result, self), "equivalent": None,
                "distinguishing_input": None}
            if not entry["killed"]:  # the evidence a survivor needs; a killed one's goes unread
                entry["diff"] = mutant.diff
            if entry["killed"]:
                entry["killed_by"] = _failed_by(result)
            elif result.get("search"):  # a function's survivor, compared in the child
                found, agreed = result["search"]
                entry["distinguishing_input"] = found
                entry["equivalent"] = False if found else (True if agreed >= MIN_AGREED
                                                           else None)
            elif result.get("cut"):  # the comparison hung or crashed: nothing is known
                entry["search_cut"] = _failed_by(result["cut"])
            elif result.get("search_skipped"):
                entry["search_cut"] = result["search_skipped"]
            killed += entry["killed"]
            counted += entry["equivalent"] is not True
            self.out["mutants"].append(entry)
        ran = len(self.out["mutants"])
        if ran * 2 < len(mutants):  # a slow suite: a score from a few mutants means little
            self.out["errors"].append(f"only {ran} of {len(mutants)} mutants ran within the "
                                      "time budget: no mutation score")
        elif counted:
            self.out["mutation_score"] = round(killed / counted, 4)

    def _mutant_child(self, mutant: Mutant) -> Record:
        """In the child: load the mutant as `solution`, run the tests, then compare."""
        module = types.ModuleType("solution")
        module.__file__ = getattr(self.solution, "__file__", None)
        try:
            code = mutant.code or compile(mutant.source, "solution.py", "exec")
            call_with_timeout(lambda: exec(code, module.__dict__), *self.limit)
            replacement = getattr(module, self.entry_point)
        except BaseException as exc:  # the mutant does not even import
            return {"passed": False, "ran": 0, "failed": f"import: {exc!r}"[:200]}
        observed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        if self.is_function:  # record the tests' own calls: the first inputs to compare on
            module.__dict__[self.entry_point] = _recording(replacement, observed)
        mapping: dict[int, Any] = {id(self.solution): module}
        for name, value in vars(self.solution).items():
            if name.startswith("__"):
                continue
            if value is not self.defined.get(name, module):  # the tests changed it: keep that
                module.__dict__[name] = value
            elif isinstance(value, types.FunctionType | type) and hasattr(module, name):
                mapping[id(value)] = getattr(module, name)
        originals = {id(new): old for old in [self.solution, *vars(self.solution).values()]
                     for new in [mapping.get(id(old))] if new is not None}
        sys.modules["solution"] = module
        self.collected.rebind(mapping)
        try:
            record = self.collected.run(self.limit)
        finally:  # the next variant in this process sees the real solution again
            sys.modules["solution"] = self.solution
            self.collected.rebind(originals)
        if record.get("passed") and self.is_function and self.search_hung:
            record["search_skipped"] = "an earlier survivor's search hung"
        elif record.get("passed") and self.is_function:
            progress(record, SEARCH_WALL)  # a survivor, whatever happens in the search
            module.__dict__[self.entry_point] = replacement
            if self.inputs is None:
                self.inputs = Inputs(self.original, self.constants)
            search = find_difference(self.original, replacement, observed,
                                     total=EQUIVALENCE_BUDGET, inputs=self.inputs)
            record["search"] = [search.found, search.agreed]
        return record


def _recording(fn: Any, calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> Any:
    @functools.wraps(fn)
    def recording(*args: Any, **kwargs: Any) -> Any:
        if len(calls) < MAX_OBSERVED:
            with contextlib.suppress(Exception):  # before the call mutates them
                calls.append(fresh((args, kwargs)))
        return fn(*args, **kwargs)
    return recording


def _passed(result: Record, probe: _Probe) -> bool:
    """A pass needs a complete record from the child that ran every collected test."""
    return result.get("passed") is True and result.get("ran") == probe.tests > 0


def _failed_by(result: Record) -> str | None:
    if result.get("timeout"):
        return "timeout"
    if result.get("crashed"):
        return "crashed: " + str(result["crashed"])
    failed = result.get("failed")
    return None if failed is None else str(failed)


def _int_constants(source: str) -> list[int]:
    """The ints in the solution: inputs next to them tell boundary mutants apart."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # MemoryError: nesting
        return []
    return sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and type(n.value) is int})[:50]
