"""Running the sample's tests in the sandbox and naming what went wrong."""

from __future__ import annotations

from typing import Any

from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import Limits, PytestJob, RunResult, Status

SOLUTION_FILE = "solution.py"
TESTS_FILE = "test_solution.py"

STATUS_REASONS = {
    Status.TIMEOUT: "timeout",
    Status.MEMORY_LIMIT: "memory_limit",
    Status.OUTPUT_LIMIT: "output_limit",
    Status.CRASHED: "crashed",
    Status.SANDBOX_ERROR: "crashed",
}


def sample_files(sample: Sample) -> dict[str, str]:
    return {SOLUTION_FILE: sample.solution, TESTS_FILE: sample.tests}


def run_tests(pool: Pool, sample: Sample, limits: Limits) -> tuple[list[str], dict[str, Any]]:
    """Run pytest on the sample; a pass needs at least one test and every one passed."""
    result = pool.run(sample_files(sample), PytestJob(), limits)
    return reasons_for(result), facts_for(result)


def reasons_for(result: RunResult) -> list[str]:
    if result.status is Status.OK:
        return []
    if result.status in STATUS_REASONS:
        return [STATUS_REASONS[result.status]]
    if not result.collect_errors and not result.collected:
        return ["no_tests"]
    return ["test_failed"]


def facts_for(result: RunResult) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for t in result.tests:
        counts[t.outcome] = counts.get(t.outcome, 0) + 1
    facts: dict[str, Any] = {
        "status": result.status.value,
        "detail": result.detail,
        "collected": result.collected,
        "outcomes": counts,
        "seconds": round(result.wall_time, 4),
        "peak_memory_kb": result.peak_memory_kb,
    }
    bad = [t for t in result.tests if t.outcome != "passed"]
    if bad:
        facts["not_passed"] = [
            {"nodeid": t.nodeid, "outcome": t.outcome, "message": t.message[-1500:]}
            for t in bad[:5]
        ]
    if result.collect_errors:
        facts["collect_errors"] = [e[-1500:] for e in result.collect_errors[:3]]
    if result.status is not Status.OK:
        facts["stderr_tail"] = result.stderr[-1500:]
        if result.signal:
            facts["signal"] = result.signal
        if result.status is Status.SANDBOX_ERROR:
            facts["sandbox_error"] = True
    return facts
