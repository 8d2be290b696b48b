"""Test-strength probes for one sample: stand-ins and mutants, in forked children.

The fork server calls `supervise` itself (it is the children's parent), instead of
forking a child to call `run` as for other handlers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from harness_sandbox import pytest_job
from harness_sandbox.probelib import mutants
from harness_sandbox.probelib.runner import run_probes
from harness_sandbox.probelib.strategies import warm as _warm_strategies
from harness_sandbox.protocol import SOLUTION_FILE


def warm() -> None:
    """Called once in the fork server when the run has probes (the pool's `warm`)."""
    with contextlib.suppress(Exception):  # a cold hypothesis is slower, not wrong
        _warm_strategies()


def supervise(payload: dict[str, Any], workdir: str, files: dict[str, str],
              confine: Callable[[], None], reset: Callable[[], None]) -> dict[str, Any]:
    """payload: entry_point, tests_files, probes, mutant_limit, time_budget, and for the
    differential probe `differential` (reference, alternatives, atol, unordered,
    augment_max).

    `files`: the sample's files as text; `confine()` makes a forked child the sample's;
    `reset()` ends whatever the sample left running.
    """
    source = files.get(SOLUTION_FILE)
    if source is None:
        return {"stubs": [], "mutants": [], "mutation_score": None, "skipped": [],
                "errors": [f"{SOLUTION_FILE} is missing or not text"]}
    mutants.last_failure = None
    report = run_probes(
        workdir,
        payload["entry_point"],
        list(payload["tests_files"]),
        list(payload["probes"]),
        int(payload.get("mutant_limit", 0)),
        float(payload["time_budget"]),
        pytest_job.warm_session(workdir),
        source=source,
        prepare=confine,
        reset=reset,
        differential=payload.get("differential"),
    )
    failed = mutants.last_failure
    if failed and "mutants" in payload["probes"]:
        # No mutants, hence no score: the host must not read the absence as a pass.
        report["mutants_failed"] = failed
        report["mutation_score"] = None
        report["mutants"] = []
        report.setdefault("errors", []).append(f"mutant generation failed: {failed}")
        # Also listed as not run: today's host takes "no score, a mutant not run" as a
        # probe that could not decide (unverified), where no mutant at all would pass.
        report.setdefault("skipped", []).append(f"mutant generation failed: {failed}")
    return report
