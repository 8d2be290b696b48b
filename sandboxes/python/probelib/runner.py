"""Running the tests against stand-ins and mutants, importing the tests only once.

The tests are collected once, in this process; every variant then runs in a forked
child that swaps the entry point (or the whole solution module) wherever the tests see
it, runs the collected items, and reports over a pipe. A variant that hangs is killed.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import pickle
import select
import signal
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from probelib.equivalence import Call, CallTimeout, _on_alarm, draw_distinguishing_input
from probelib.mutants import generate_mutants
from probelib.stubs import make_stubs

MAX_OBSERVED = 20
EQUIVALENCE_BUDGET = 1.5  # seconds to look for an input that tells a survivor apart


def _within(seconds: float, run: Callable[[], bool]) -> bool | None:
    """run(), or None when it takes longer than `seconds`."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return run()
    except CallTimeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Collected:
    """The tests, collected once, and the solution objects they refer to."""

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
            try:
                import _hypothesis_pytestplugin  # noqa: F401

                args += ["-p", "_hypothesis_pytestplugin"]
            except ImportError:
                pass
            self.config = _prepareconfig([*args, *tests_files], plugins=[])
            self.session = Session.from_config(self.config)
            self.config._do_configure()
            self.config.hook.pytest_sessionstart(session=self.session)
        self.config.hook.pytest_collection(session=self.session)
        self.items = list(self.session.items)
        self.test_modules = list({id(m): m for m in (getattr(i, "module", None)
                                                       for i in self.items) if m}.values())

    def run_items(self) -> bool:
        """Run every collected item; True only if each setup, call and teardown passed.

        Items run without pytest's reports: building a failure report (traceback, source)
        costs more than the test, and a variant only needs to know whether all passed.
        """
        state = self.session._setupstate
        for i, item in enumerate(self.items):
            nextitem = self.items[i + 1] if i + 1 < len(self.items) else None
            try:
                state.setup(item)
                item.runtest()
                state.teardown_exact(nextitem)
            except CallTimeout:
                raise
            except BaseException:  # failures, errors, skips and xfails are all "not passed"
                return False
        return True

    def rebind(self, mapping: dict[int, Any]) -> None:
        """Point every test-module global that is a key (by id) at its new object."""
        for module in self.test_modules:
            for name, value in list(vars(module).items()):
                if id(value) in mapping:
                    setattr(module, name, mapping[id(value)])


def _fork_variant(body: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Run `body` in a child with its own process group; its dict comes back over a pipe."""
    read_fd, write_fd = os.pipe()
    gc.freeze()  # children must not walk (and so copy) the parent's whole heap
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            gc.disable()
            os.close(read_fd)
            os.setpgid(0, 0)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            os.dup2(null, 2)
            data = json.dumps(body(), default=repr).encode()
            while data:
                data = data[os.write(write_fd, data):]
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_fd)
    chunks, deadline, timed_out = [], time.monotonic() + timeout, False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
            timed_out = True
            break
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    os.waitpid(pid, 0)
    os.close(read_fd)
    if timed_out:
        return {"timeout": True}
    try:
        result: dict[str, Any] = json.loads(b"".join(chunks))
    except ValueError:
        return {"crashed": True}
    return result


def run_probes(workdir: str, entry_point: str, tests_files: list[str], probes: list[str],
               mutant_limit: int, time_budget: float,
               warm: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Stand-in and mutation probes for one sample; see the module docstring."""
    started = time.monotonic()
    out: dict[str, Any] = {"stubs": [], "mutants": [], "mutation_score": None, "skipped": [],
                           "errors": []}
    saved_stdout = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # pytest's reporter must not spend the sample's output cap
    try:
        _probe(out, workdir, entry_point, tests_files, probes, mutant_limit,
               started + time_budget, warm)
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def _probe(out: dict[str, Any], workdir: str, entry_point: str, tests_files: list[str],
           probes: list[str], mutant_limit: int, deadline: float,
           warm: tuple[Any, Any] | None) -> None:
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    try:
        collected = Collected(workdir, tests_files, warm)
    except BaseException as exc:  # collection errors end the session with Interrupted
        out["errors"].append(f"collection failed: {exc!r}"[:500])
        return
    import importlib

    try:
        solution = sys.modules.get("solution") or importlib.import_module("solution")
        original = getattr(solution, entry_point)
    except BaseException as exc:
        out["errors"].append(f"entry point {entry_point!r} not found: {exc!r}"[:500])
        return

    def baseline() -> dict[str, Any]:
        calls: list[Call] = []

        def recording(*args: Any, **kwargs: Any) -> Any:
            if len(calls) < MAX_OBSERVED:
                try:
                    pickle.dumps((args, kwargs))
                    calls.append(copy.deepcopy((args, kwargs)))  # before the call mutates them
                except Exception:
                    pass
            return original(*args, **kwargs)

        if isinstance(original, types.FunctionType):
            setattr(solution, entry_point, recording)
            collected.rebind({id(original): recording})
        began = time.monotonic()
        passed = collected.run_items()
        return {"passed": passed, "seconds": time.monotonic() - began,
                "calls": pickle.dumps(calls).hex()}

    base = _fork_variant(baseline, max(5.0, deadline - time.monotonic()))
    if not base.get("passed"):
        out["errors"].append("the tests do not pass against the unchanged solution when run "
                             "by the probe harness; probes skipped")
        return
    try:
        observed: list[Call] = pickle.loads(bytes.fromhex(base["calls"]))
    except Exception:
        observed = []
    per_variant = max(0.25, 20 * float(base["seconds"]) + 0.25)
    if "stubs" in probes:
        _stub_probe(out, collected, solution, entry_point, original, per_variant, deadline)
    if "mutants" in probes:
        _mutant_probe(out, collected, solution, entry_point, original, observed,
                      mutant_limit, per_variant, deadline)


def _stub_probe(out: dict[str, Any], collected: Collected, solution: Any, entry_point: str,
                original: Any, per_variant: float, deadline: float) -> None:
    namespace = vars(solution)
    for stub in make_stubs(namespace, entry_point):
        if time.monotonic() > deadline:
            out["skipped"].append(f"stub {stub.name}")
            continue

        def body(stub: Any = stub) -> dict[str, Any]:
            stand_in = stub.build(namespace, entry_point)
            setattr(solution, entry_point, stand_in)
            collected.rebind({id(original): stand_in})
            return {"passed": collected.run_items()}

        result = _fork_variant(body, per_variant)
        out["stubs"].append({"name": stub.name, "passed_all": bool(result.get("passed"))})


def _mutant_probe(out: dict[str, Any], collected: Collected, solution: Any, entry_point: str,
                  original: Any, observed: list[Call], mutant_limit: int,
                  per_variant: float, deadline: float) -> None:
    path = getattr(solution, "__file__", None) or "solution.py"
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    is_function = isinstance(original, types.FunctionType)
    constants = _constants(source)
    killed = survived = 0
    for mutant in generate_mutants(source, mutant_limit):
        if time.monotonic() > deadline:
            out["skipped"].append(f"mutant {mutant.id}")
            continue

        def body(mutant: Any = mutant) -> dict[str, Any]:
            module = types.ModuleType("solution")
            module.__file__ = path
            exec(compile(mutant.source, path, "exec"), module.__dict__)  # noqa: S102
            mapping: dict[int, Any] = {id(solution): module}
            for name, value in vars(solution).items():
                if (callable(value) or isinstance(value, type)) and hasattr(module, name) \
                        and not name.startswith("__"):
                    mapping[id(value)] = getattr(module, name)
            sys.modules["solution"] = module
            collected.rebind(mapping)
            passed = _within(per_variant, collected.run_items)  # a hang is noticed: killed
            result: dict[str, Any] = {"passed": bool(passed), "hung": passed is None}
            if passed and is_function:
                result["input"] = draw_distinguishing_input(
                    original, getattr(module, entry_point), observed, near=constants,
                    total=EQUIVALENCE_BUDGET)
            return result

        result = _fork_variant(body, per_variant + EQUIVALENCE_BUDGET + 1.0)
        survived_tests = bool(result.get("passed"))
        entry: dict[str, Any] = {"id": mutant.id, "operator": mutant.operator,
                                 "lineno": mutant.lineno, "diff": mutant.diff,
                                 "killed": not survived_tests, "equivalent": None,
                                 "distinguishing_input": None}
        if result.get("timeout") or result.get("hung"):
            entry["killed_by"] = "timeout"
        if survived_tests:
            if is_function:
                entry["distinguishing_input"] = result.get("input")
                entry["equivalent"] = result.get("input") is None
            if not entry["equivalent"]:
                survived += 1
        else:
            killed += 1
        out["mutants"].append(entry)
    if killed + survived:
        out["mutation_score"] = round(killed / (killed + survived), 4)


def _constants(source: str) -> list[Any]:
    """The numbers in the solution: inputs next to them tell boundary mutants apart."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    found = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and type(n.value) is int}
    return sorted(found)[:50]
