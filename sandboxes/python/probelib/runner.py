"""Running the tests against stand-ins and mutants, importing the tests only once.

The tests are collected once, in this process. Every variant (the unchanged solution,
each stand-in, each mutant) then runs in a forked child that swaps the entry point (or
the whole `solution` module) wherever the tests hold it, runs the collected items with
pytest's own protocol (so skip and xfail marks mean what they mean in a real run),
and sends one JSON record back over a private pipe; its stdout goes nowhere. A child
that runs past its wall-clock limit is killed with its process group.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import gc
import json
import os
import select
import signal
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from _pytest.outcomes import Skipped

from probelib.equivalence import CallTimeout, call_with_timeout, find_difference
from probelib.mutants import Mutant, generate_mutants
from probelib.stubs import make_stubs

EQUIVALENCE_BUDGET = 0.75  # seconds to look for an input that tells a survivor apart
# Past its own alarm, a child stuck in C code (a huge int, say) is killed after this.
KILL_MARGIN = 0.25
MIN_AGREED = 5  # inputs both must answer alike before a survivor is called equivalent
MAX_OBSERVED = 20  # calls of the tests' own to replay first when telling mutants apart
MIN_VARIANT_TIME = 0.25  # a variant that hangs is killed after this (or 10x the baseline)
RECORD_CAP = 1 << 20
MAX_FD = 65536
PR_SET_DUMPABLE = 4

Record = dict[str, Any]


class Collected:
    """The tests, collected once, and the modules that may hold the solution's objects."""

    def __init__(self, workdir: str, tests_files: list[str],
                 warm: tuple[Any, Any] | None = None) -> None:
        """`warm`: a configured (config, session) for `workdir`, to skip configuring pytest."""
        from _pytest.config import _prepareconfig
        from _pytest.main import Session

        if warm is not None:
            self.config, self.session = warm
        else:
            args = ["-q", "-s", "-p", "no:cacheprovider", "--rootdir", workdir, "-c",
                    os.devnull, f"--confcutdir={workdir}"]
            paths = [os.path.join(workdir, f) for f in tests_files] or [workdir]
            self.config = _prepareconfig([*args, *paths], plugins=[])
            self.session = Session.from_config(self.config)
            self.config._do_configure()
            self.config.hook.pytest_sessionstart(session=self.session)
        self.config.hook.pytest_collection(session=self.session)
        self.items = list(self.session.items)
        self.workdir = os.path.realpath(workdir)
        # Items with skip or xfail marks go through pytest's protocol, which honours them.
        self._plain = [not any(True for name in ("skip", "skipif", "xfail")
                               for _ in item.iter_markers(name)) for item in self.items]
        self._seen, self._local = -1, []

    def run(self, limit: float | None = None) -> Record:
        """Run every item in this (forked) process: {"passed", "ran", "failed", ...}."""
        from _pytest.runner import runtestprotocol

        for kind in {type(item) for item in self.items}:
            # A variant only needs pass/fail: skip building tracebacks (10x the cost).
            kind.repr_failure = lambda self, excinfo, style=None: excinfo.exconly()[:300]
        outcomes = {"tests_passed": 0, "tests_skipped": 0}
        began = time.monotonic()

        state = self.session._setupstate

        def loop() -> Record:
            for i, item in enumerate(self.items):
                nextitem = self.items[i + 1] if i + 1 < len(self.items) else None
                if self._plain[i]:
                    try:  # no marks to honour: run it without pytest's reports (5x faster)
                        state.setup(item)
                        item.runtest()
                        state.teardown_exact(nextitem)
                    except CallTimeout:
                        raise
                    except Skipped:
                        outcomes["tests_skipped"] += 1
                        continue
                    except BaseException as exc:
                        return {"passed": False, "ran": i + 1, "failed": item.nodeid,
                                "message": f"{type(exc).__name__}: {exc}"[:300]}
                    outcomes["tests_passed"] += 1
                    continue
                reports = runtestprotocol(item, log=False, nextitem=nextitem)
                failed = next((r for r in reports if r.failed), None)
                if failed is not None:
                    message = str(failed.longrepr)[:300]
                    return {"passed": False, "ran": i + 1, "message": message,
                            "failed": "timeout" if "CallTimeout" in message else item.nodeid}
                outcomes["tests_skipped" if any(r.skipped for r in reports)
                         else "tests_passed"] += 1
            return {"passed": True, "ran": len(self.items), **outcomes}

        try:
            record = loop() if limit is None else call_with_timeout(loop, limit)
        except CallTimeout:
            record = {"passed": False, "ran": 0, "failed": "timeout"}
        finally:
            with contextlib.suppress(BaseException):  # the next variant starts with no fixture
                self.session._setupstate.teardown_exact(None)
        record["seconds"] = time.monotonic() - began
        return record

    def _local_modules(self) -> list[Any]:
        """The loaded modules whose files are in the work dir (cached until one is added)."""
        if self._seen != len(sys.modules):
            self._seen = len(sys.modules)
            self._local = []
            for module in list(sys.modules.values()):
                path = getattr(module, "__file__", None) or ""
                if path and os.path.realpath(path).startswith(self.workdir + os.sep):
                    self._local.append(module)
        return self._local

    def rebind(self, mapping: dict[int, Any], also: tuple[Any, ...] = ()) -> None:
        """Point every name the tests hold for a key (by id) at the new object.

        Only names still bound to the key move: what the tests replaced stays replaced.
        `also`: more modules to treat so (the solution module itself, for stand-ins).
        """
        for module in [*self._local_modules(), *also]:
            if module.__name__ == "solution" and module not in also:
                continue
            holders: list[Any] = [module]
            holders += [v for v in vars(module).values()
                        if isinstance(v, type) and v.__module__ == module.__name__]
            for holder in holders:  # module globals and test classes' attributes
                for name, value in list(vars(holder).items()):
                    if id(value) in mapping:
                        setattr(holder, name, mapping[id(value)])
                    elif id(type(value)) in mapping and isinstance(mapping[id(type(value))],
                                                                   type):
                        _swap_class(value, mapping[id(type(value))])
                    elif isinstance(value, staticmethod | classmethod) and \
                            id(value.__func__) in mapping:
                        setattr(holder, name, type(value)(mapping[id(value.__func__)]))
        for item in self.items:  # objects passed through @pytest.mark.parametrize
            params = getattr(getattr(item, "callspec", None), "params", {})
            for name, value in list(params.items()):
                if id(value) in mapping:
                    params[name] = mapping[id(value)]


def _swap_class(instance: Any, cls: type) -> None:
    """An instance the tests made at import time behaves as the variant's class."""
    with contextlib.suppress(TypeError):  # incompatible layout: it keeps the real behaviour
        instance.__class__ = cls


def fork_many(bodies: list[Callable[[], Record]], timeout: float) -> list[Record]:
    """Each body() in turn in forked children, as many per child as it survives.

    A fork costs more than most test suites take to run, so one child runs variant after
    variant (each body restores what it swapped). A body that kills its child, or runs
    past `timeout`, gets {"crashed"} or {"timeout"}; a fresh child goes on after it.
    """
    results: list[Record] = []
    while len(results) < len(bodies):
        start = len(results)
        read_fd, write_fd = os.pipe()
        gc.freeze()  # children must not walk (and so copy) the parent's whole heap
        pid = os.fork()
        if pid == 0:  # the child: never returns
            me = os.getpid()
            try:
                os.setpgid(0, 0)
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                # Inherited channels (the sandbox's own result pipe) must not be writable here.
                os.closerange(3, write_fd)
                os.closerange(write_fd + 1, MAX_FD)
                gc.disable()
                for body in bodies[start:]:
                    line = json.dumps(body(), default=repr).encode() + b"\n"
                    if os.getpid() != me:  # a process the tests forked must not report
                        os._exit(1)
                    while line:
                        line = line[os.write(write_fd, line):]
                os._exit(0)
            except BaseException:
                pass
            os._exit(1)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # no window in which the child is outside its group
            os.setpgid(pid, pid)
        fate: Record | None = None
        buffer, deadline = b"", time.monotonic() + timeout
        while len(results) < len(bodies):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                fate = {"timeout": True}
                break
            chunk = os.read(read_fd, 1 << 16)
            if not chunk or len(buffer) > RECORD_CAP:
                fate = {"crashed": "no complete record"}
                break
            buffer += chunk
            while b"\n" in buffer and len(results) < len(bodies):
                line, buffer = buffer.split(b"\n", 1)
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                ok = isinstance(record, dict) and (isinstance(record.get("ran"), int)
                                                   or record.get("skipped"))
                results.append(record if ok else {"crashed": "no complete record"})
                deadline = time.monotonic() + timeout
        for target in (-pid, pid):  # the child, and whatever it left behind in its group
            with contextlib.suppress(OSError):
                os.kill(target, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        if fate is not None and len(results) < len(bodies):
            results.append(fate)  # the body that was running when its child died or hung
    return results


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


def _not_dumpable() -> None:
    """Children may not reopen this process's pipes through /proc/<pid>/fd (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _deterministic_hypothesis() -> None:
    from hypothesis import settings

    settings.register_profile("probelib", database=None, deadline=None, derandomize=True,
                              print_blob=False)
    settings.load_profile("probelib")


def _probe(out: dict[str, Any], workdir: str, entry_point: str, tests_files: list[str],
           probes: list[str], mutant_limit: int, deadline: float,
           warm: tuple[Any, Any] | None) -> None:
    import importlib

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
        probe.collected = collected = Collected(workdir, tests_files, warm)
    except BaseException as exc:  # a test module that fails to import, exits, or worse
        out["errors"].append(f"collection failed: {exc!r}"[:500])
        return
    if collected.session.testsfailed or not collected.items:
        out["errors"].append(f"collection failed or found no tests "
                             f"({collected.session.testsfailed} errors)")
        return
    base = fork_many([collected.run], max(1.0, deadline - time.monotonic()))[0]
    out["baseline"] = {"tests": len(collected.items), "passed": base.get("tests_passed"),
                       "skipped": base.get("tests_skipped"),
                       "seconds": round(float(base.get("seconds") or 0), 4)}
    if not base.get("passed") or base.get("ran") != len(collected.items):
        why = base.get("failed") or ("timeout" if base.get("timeout") else base.get("crashed"))
        out["errors"].append(f"the tests do not pass on the unchanged solution under the "
                             f"probe harness ({why}: {base.get('message', '')}); probes skipped")
        return
    probe.limit = max(MIN_VARIANT_TIME, 10 * float(base.get("seconds") or 0) + 0.25)
    if "stubs" in probes:
        probe.stubs()
    if "mutants" in probes:
        probe.mutants(mutant_limit)


class _Probe:
    """One sample's variants, run back to back in forked children within the deadline."""

    collected: Collected
    limit: float = MIN_VARIANT_TIME

    def __init__(self, out: dict[str, Any], solution: types.ModuleType, entry_point: str,
                 source: str, deadline: float) -> None:
        self.out, self.solution, self.entry_point = out, solution, entry_point
        self.original = getattr(solution, entry_point)
        self.defined = dict(vars(solution))  # what the solution defines, before any test ran
        self.source, self.deadline = source, deadline

    def _in_time(self, extra: float = 0.0) -> bool:
        return self.deadline - time.monotonic() >= self.limit + extra + 0.5

    def stubs(self) -> None:
        namespace = self.defined  # the real entry point, even if the tests replaced it
        stubs = make_stubs(self.source, self.entry_point, namespace)

        def body_for(stub: Any) -> Callable[[], Record]:
            def body() -> Record:
                if not self._in_time():
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

        results = fork_many([body_for(stub) for stub in stubs], self.limit + KILL_MARGIN)
        for stub, result in zip(stubs, results, strict=True):
            if result.get("skipped"):
                self.out["skipped"].append(f"stub {stub.name}")
                continue
            if "error" in result:
                self.out["errors"].append(f"stub {stub.name!r}: {result['error']}")
            self.out["stubs"].append({"name": stub.name, "passed_all": _passed(result, self),
                                      "failed_test": _failed_by(result)})

    def mutants(self, limit: int) -> None:
        constants = _int_constants(self.source)
        is_function = isinstance(self.original, types.FunctionType)
        mutants = generate_mutants(self.source, limit)

        def body_for(mutant: Mutant) -> Callable[[], Record]:
            def body() -> Record:
                if not self._in_time(EQUIVALENCE_BUDGET):
                    return {"skipped": True}
                return self._mutant_child(mutant, is_function, constants)
            return body

        results = fork_many([body_for(m) for m in mutants],
                            self.limit + EQUIVALENCE_BUDGET + KILL_MARGIN)
        killed = counted = 0
        for mutant, result in zip(mutants, results, strict=True):
            if result.get("skipped"):
                self.out["skipped"].append(f"mutant {mutant.id} (out of time)")
                continue
            entry: dict[str, Any] = {
                "id": mutant.id, "operator": mutant.operator, "lineno": mutant.lineno,
                "diff": mutant.diff, "killed": not _passed(result, self), "equivalent": None,
                "distinguishing_input": None}
            if entry["killed"]:
                entry["killed_by"] = _failed_by(result)
            elif is_function and "search" in result:
                found, agreed = result["search"]
                entry["distinguishing_input"] = found
                entry["equivalent"] = False if found else (True if agreed >= MIN_AGREED
                                                           else None)
            killed += entry["killed"]
            counted += entry["equivalent"] is not True
            self.out["mutants"].append(entry)
        if counted:
            self.out["mutation_score"] = round(killed / counted, 4)

    def _mutant_child(self, mutant: Mutant, is_function: bool, constants: list[int]) -> Record:
        """In the child: load the mutant as `solution`, run the tests, then compare."""
        module = types.ModuleType("solution")
        module.__file__ = getattr(self.solution, "__file__", None)
        try:
            code = compile(mutant.source, module.__file__ or "solution.py", "exec")
            call_with_timeout(lambda: exec(code, module.__dict__), self.limit)
            replacement = getattr(module, self.entry_point)
        except BaseException as exc:  # the mutant does not even import
            return {"passed": False, "ran": 0, "failed": f"import: {exc!r}"[:200]}
        observed: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        if is_function:  # record the tests' own calls: the first inputs to compare on
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
        if record.get("passed") and is_function:
            module.__dict__[self.entry_point] = replacement
            search = find_difference(self.original, replacement, observed, constants,
                                     total=EQUIVALENCE_BUDGET)
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
