"""Running the tests against stand-ins and mutants, importing the tests only once.

One forked child imports the solution and collects the tests (`variants.Probe.enter`);
the unchanged solution, every stand-in and every mutant then run in it one after the
other, each installed in place (`swap`) and undone, with reruns of the unchanged
solution at secret places among them; when one of those fails, or the first run
changed state, every run is redone in a process forked from the collected state, where
nothing of the tests has run yet (`Probe.run_all`, `forks.fork_many` with `isolate`).
A mutant the tests do not kill is compared with the solution there (`equivalence`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from harness_sandbox.probelib.differential import Differential
from harness_sandbox.probelib.forks import PRCTL, fork_many
from harness_sandbox.probelib.mutants import Mutant, generate_mutants
from harness_sandbox.probelib.stubs import make_stubs
from harness_sandbox.probelib.variants import Probe

MIN_AGREED = 5  # inputs both must answer alike before a survivor is called equivalent
PR_SET_DUMPABLE = 4

Record = dict[str, Any]


def run_probes(workdir: str, entry_point: str, tests_files: list[str], probes: list[str],
               mutant_limit: int, time_budget: float,
               warm: tuple[Any, Any] | None = None, source: str | None = None,
               prepare: Callable[[], None] | None = None,
               reset: Callable[[], None] | None = None,
               differential: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stand-in, mutation and differential probes for the sample in `workdir`; a JSON-able
    report.

    `probes` selects from "stubs", "mutants" and "differential" (which needs
    `differential`: the reference or alternatives and how to compare, see
    `probelib.differential`). Variants not run within `time_budget`
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
           started + time_budget, warm, source, prepare, reset, differential)
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def _not_dumpable() -> None:
    """Children may not reopen this process's pipes through /proc/<pid>/fd (Linux)."""
    if PRCTL is not None:
        PRCTL(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _probe(out: dict[str, Any], workdir: str, entry_point: str, tests_files: list[str],
           probes: list[str], mutant_limit: int, deadline: float,
           warm: tuple[Any, Any] | None, source: str,
           prepare: Callable[[], None] | None, reset: Callable[[], None] | None,
           differential: dict[str, Any] | None = None) -> None:
    began = time.perf_counter()
    probe = Probe(workdir, entry_point, tests_files, source, deadline, warm, prepare,
                  lambda record, tests: _passed(record, tests))
    stubs = make_stubs(source, entry_point) if "stubs" in probes else []
    mutants = generate_mutants(source, mutant_limit) if "mutants" in probes else []
    generated = time.perf_counter()
    # One child imports the sample and collects the tests; each run (the unchanged
    # solution, then the stand-ins, then the mutants) is forked from it, copy-on-write.
    # All in one process first, with canaries; a process per run when that can't vouch.
    results, out["isolation"] = probe.run_all(stubs, mutants, reset)
    first_mutant = 1 + len(stubs)
    diff = Differential(probe, differential) if "differential" in probes and differential \
        else None
    if diff is not None:  # after the mutants, to answer their survivors' inputs too
        results.append(_run_differential(probe, diff, results, mutants, first_mutant, reset))
    # Where the time went: making the variants, the children (of which the child's
    # import and collection, and the test runs).
    out["phases"] = {name: round(seconds, 4) for name, seconds in (
        ("generate", generated - began), ("children", time.perf_counter() - generated),
        ("setup", float(results[0].get("setup_seconds") or 0)),
        ("runs", sum(float(r.get("seconds") or 0) for r in results)))}
    base = results[0]
    tampering = base.get("tampering") or []
    if tampering:
        out["tampering"] = [{"what": what, "how": how} for what, how in tampering]
    if base.get("setup_error"):
        out["errors"].append(str(base["setup_error"])[:500])
        if base.get("sample_fault"):
            out["baseline_failed"] = {"failed": "collection", "message": base["setup_error"]}
        return
    tests = int(base.get("collected") or 0)
    out["baseline"] = {"tests": tests, "passed": base.get("tests_passed"),
                       "skipped": base.get("tests_skipped"),
                       "seconds": round(float(base.get("seconds") or 0), 4)}
    if not _passed(base, tests):
        why = _failed_by(base) or "not every test ran"
        out["baseline_failed"] = {"failed": why, "message": str(base.get("message", ""))[:300]}
        out["errors"].append(f"the tests do not pass on the unchanged solution under the "
                             f"probe harness ({why}: {base.get('message', '')}); probes skipped")
        return
    if "stubs" in probes:
        _record_stubs(out, stubs, results[1:1 + len(stubs)], tests)
    if "mutants" in probes:
        _record_mutants(out, mutants, results[first_mutant:first_mutant + len(mutants)], tests)
    if diff is not None:
        out["differential"] = _differential(results[-1], out)


def _run_differential(probe: Probe, diff: Differential, results: list[Record],
                      mutants: list[Mutant], first_mutant: int,
                      reset: Callable[[], None] | None) -> Record:
    """The differential body, in a child forked from a fresh import and collection (as
    every forked variant), knowing the baseline and the survivors' inputs."""
    for k, mutant in enumerate(mutants):
        if first_mutant + k < len(results):
            diff.note(first_mutant + k, results[first_mutant + k], f"survivor {mutant.id}")
    if probe.baseline is None:
        probe.learn(results[0])
    probe.sharing, probe.unsafe, probe.abandoned = False, None, False
    return fork_many([diff.body], probe.timeout, prepare=probe.enter, reset=reset,
                     isolate=True)[0]


def _differential(result: Record, out: dict[str, Any]) -> dict[str, Any]:
    """The differential body's report, from its record (text values, as sent)."""
    if result.get("skipped"):
        out["skipped"].append("differential (out of time)")
        return {"verdict": "error", "error": "not run within the time budget"}
    search = result.get("search")
    if not isinstance(search, list) or not isinstance(search[0], dict):
        why = _failed_by(result) or "no report"
        return {"verdict": "error", "error": f"the differential comparison died: {why}"}
    report: dict[str, Any] = dict(search[0])
    report["compared"] = int(search[1])
    if result.get("cut"):  # its child died after the last progress line
        report = {"verdict": "error", "error": str(report.get("error") or "cut")}
    return report


def _record_stubs(out: dict[str, Any], stubs: list[Any], results: list[Record],
                  tests: int) -> None:
    for stub, result in zip(stubs, results, strict=True):
        if result.get("skipped"):
            out["skipped"].append(f"stub {stub.name}")
            continue
        if "error" in result:
            out["errors"].append(f"stub {stub.name!r}: {result['error']}")
        out["stubs"].append({"name": stub.name, "passed_all": _passed(result, tests),
                                  "failed_test": _failed_by(result)})


def _record_mutants(out: dict[str, Any], mutants: list[Mutant], results: list[Record],
                    tests: int) -> None:
    killed = counted = 0
    for mutant, result in zip(mutants, results, strict=True):
        if result.get("skipped"):
            out["skipped"].append(f"mutant {mutant.id} (out of time)")
            continue
        entry: dict[str, Any] = {
            "id": mutant.id, "operator": mutant.operator, "lineno": mutant.lineno,
            "diff": None, "killed": not _passed(result, tests), "equivalent": None,
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
        out["mutants"].append(entry)
    ran = len(out["mutants"])
    if ran * 2 < len(mutants):  # a slow suite: a score from a few mutants means little
        out["errors"].append(f"only {ran} of {len(mutants)} mutants ran within the "
                                  "time budget: no mutation score")
    elif counted:
        out["mutation_score"] = round(killed / counted, 4)


def _passed(result: Record, tests: int) -> bool:
    """A pass needs a complete record from the child that ran every collected test."""
    return result.get("passed") is True and result.get("ran") == tests > 0


def _failed_by(result: Record) -> str | None:
    if result.get("timeout"):
        return "timeout"
    if result.get("crashed"):
        return "crashed: " + str(result["crashed"])
    failed = result.get("failed")
    return None if failed is None else str(failed)
