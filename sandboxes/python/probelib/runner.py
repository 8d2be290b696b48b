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
import copy
import functools
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from probelib.collected import Collected
from probelib.equivalence import WALL_FACTOR, Inputs, call_with_timeout, find_difference
from probelib.forks import fork_many, progress
from probelib.mutants import Mutant, generate_mutants
from probelib.stubs import make_stubs

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
               warm: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Stand-in and mutation probes for the sample in `workdir`; a JSON-able report.

    `probes` selects from "stubs" and "mutants". Variants not run within `time_budget`
    seconds are listed in "skipped"; faults of the sample (tests that do not collect or
    do not pass on the unchanged solution) are listed in "errors".
    """
    started = time.monotonic()
    out: dict[str, Any] = {"stubs": [], "mutants": [], "mutation_score": None, "skipped": [],
                           "errors": []}
    os.environ.setdefault("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    _deterministic_hypothesis()
    _not_dumpable()
    sys.stdout.flush()  # what the caller printed before must not go to /dev/null below
    saved_fd, saved_cwd = os.dup(1), os.getcwd()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # pytest's reporter must not spend the sample's output cap
    try:
        os.chdir(workdir)
        _probe(out, workdir, entry_point, tests_files, probes, mutant_limit,
               started + time_budget, warm)
    finally:
        sys.stdout.flush()
        os.dup2(saved_fd, 1)
        for fd in (saved_fd, null):
            os.close(fd)
        os.chdir(saved_cwd)
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


def _deterministic_hypothesis() -> None:
    from hypothesis import settings

    settings.register_profile("probelib", database=None, deadline=None, derandomize=True,
                              print_blob=False)
    settings.load_profile("probelib")


def _probe(out: dict[str, Any], workdir: str, entry_point: str, tests_files: list[str],
           probes: list[str], mutant_limit: int, deadline: float,
           warm: tuple[Any, Any] | None) -> None:
    import importlib

    preloaded = frozenset(sys.modules) - {"solution"}  # none of these is the sample's
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    try:  # before the tests: what they import must be the real entry point
        solution = sys.modules.get("solution") or importlib.import_module("solution")
        path = getattr(solution, "__file__", None) or os.path.join(workdir, "solution.py")
        with open(path, encoding="utf-8") as fh:
            probe = _Probe(out, solution, entry_point, fh.read(), deadline)
    except BaseException as exc:
        out["errors"].append(f"entry point {entry_point!r} not found: {exc!r}"[:500])
        return
    try:
        probe.collected = collected = Collected(workdir, tests_files, warm, preloaded)
    except BaseException as exc:  # a test module that fails to import, exits, or worse
        out["errors"].append(f"collection failed: {exc!r}"[:500])
        return
    if collected.session.testsfailed or not collected.items:
        out["errors"].append(f"collection failed or found no tests "
                             f"({collected.session.testsfailed} errors)")
        return
    collected.local_modules()  # judge the loaded modules here, once, not in every child
    stubs = make_stubs(probe.source, entry_point, probe.defined) if "stubs" in probes else []
    mutants = generate_mutants(probe.source, mutant_limit) if "mutants" in probes else []
    # One child runs the unchanged solution, then the stand-ins, then the mutants: a fork
    # costs ~5 ms, more than most suites take to run.
    bodies = [probe.baseline_body, *map(probe.stub_body, stubs),
              *map(probe.mutant_body, mutants)]
    results = fork_many(bodies, probe.timeout)
    base = results[0]
    out["baseline"] = {"tests": len(collected.items), "passed": base.get("tests_passed"),
                       "skipped": base.get("tests_skipped"),
                       "seconds": round(float(base.get("seconds") or 0), 4)}
    if not _passed(base, probe):
        why = base.get("failed") or ("timeout" if base.get("timeout") else base.get("crashed"))
        out["errors"].append(f"the tests do not pass on the unchanged solution under the "
                             f"probe harness ({why}: {base.get('message', '')}); probes skipped")
        return
    if "stubs" in probes:
        probe.record_stubs(stubs, results[1:1 + len(stubs)])
    if "mutants" in probes:
        probe.record_mutants(mutants, results[1 + len(stubs):])


class _Probe:
    """One sample's variants, run back to back in forked children within the deadline."""

    collected: Collected
    limit: tuple[float, float] = (MIN_VARIANT_CPU, MIN_VARIANT_TIME)  # CPU, wall seconds
    baseline: Record | None = None  # the unchanged solution's run, once known here
    search_hung = False  # a survivor's search was cut: the next ones would hang alike

    def __init__(self, out: dict[str, Any], solution: types.ModuleType, entry_point: str,
                 source: str, deadline: float) -> None:
        self.out, self.solution, self.entry_point = out, solution, entry_point
        self.original = getattr(solution, entry_point)
        self.defined = dict(vars(solution))  # what the solution defines, before any test ran
        self.source, self.deadline = source, deadline
        self.is_function = isinstance(self.original, types.FunctionType)
        self.constants = _int_constants(source)
        self.inputs: Inputs | None = None  # made in the child, by its first survivor

    def _in_time(self, extra: float = 0.0) -> bool:
        return self.deadline - time.monotonic() >= self.limit[1] + extra + 0.5

    def baseline_body(self) -> Record:
        record = self.collected.run()
        self._learn(record)
        return record

    def _learn(self, base: Record) -> None:
        """The variants' limits, from the unchanged solution's run (here or in a child)."""
        self.baseline = base
        self.limit = (max(MIN_VARIANT_CPU, 10 * float(base.get("cpu") or 0) + 0.02),
                      max(MIN_VARIANT_TIME, 10 * float(base.get("seconds") or 0) + 0.25))

    def timeout(self, index: int, results: list[Record]) -> float:
        """fork_many's wall limit for body `index`; learns the baseline's limits first, so
        that a child forked after a crash starts with them."""
        if index == 0:
            return max(1.0, self.deadline - time.monotonic())
        if self.baseline is None:
            self._learn(results[0])
        self.search_hung = self.search_hung or bool(results[-1].get("cut"))
        return self.limit[1] + KILL_MARGIN

    def _baseline_failed(self) -> bool:
        return self.baseline is None or not _passed(self.baseline, self)

    def stub_body(self, stub: Any) -> Callable[[], Record]:
        namespace = self.defined  # the real entry point, even if the tests replaced it

        def body() -> Record:
            if self._baseline_failed() or not self._in_time():
                return {"skipped": True}
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
            if self._baseline_failed() or not self._in_time(EQUIVALENCE_BUDGET):
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
            elif self.is_function and result.get("search"):
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
                calls.append(copy.deepcopy((args, kwargs)))
        return fn(*args, **kwargs)
    return recording


def _passed(result: Record, probe: _Probe) -> bool:
    """A pass needs a complete record from the child that ran every collected test."""
    return result.get("passed") is True and result.get("ran") == len(probe.collected.items)


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
    except (SyntaxError, ValueError, RecursionError):
        return []
    return sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and type(n.value) is int})[:50]
