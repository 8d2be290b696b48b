"""Running the sample's tests in the sandbox and naming what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.checks.diagnose import limit_hit, missing_module
from harness.config import VerifyConfig
from harness.languages import language_of
from harness.records import Sample
from harness.sandbox.result import Limits, RunResult, Status
from harness.stage import Check, Outcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool

STATUS_REASONS = {
    Status.TIMEOUT: "timeout",
    Status.MEMORY_LIMIT: "memory_limit",
    Status.OUTPUT_LIMIT: "output_limit",
    Status.CRASHED: "crashed",
    Status.SANDBOX_ERROR: "crashed",
}


@dataclass(frozen=True)
class TestFacts:
    """What the sandbox's pytest run showed."""

    __test__ = False  # not a pytest class
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


class TestsCheck(Check):
    """pytest in the sandbox: a pass needs at least one test and every one passed."""

    __test__ = False
    name = "tests"
    reasons = ("timeout", "memory_limit", "output_limit", "resource_limit", "crashed",
               "no_tests", "missing_dependency", "test_failed")
    sandboxed = True

    def __init__(self, config: VerifyConfig) -> None:
        super().__init__()
        self.limits = config.limits

    def check(self, sample: Sample, pool: Pool | None) -> Outcome:
        assert pool is not None
        lang = language_of(sample)
        result = pool.run(lang.files(sample), lang.test_job(), self.limits)
        stalled = _stalled(result, self.limits)
        if stalled:  # the machine's fault, or a test that sleeps: once more tells them apart
            result = pool.run(lang.files(sample), lang.test_job(), self.limits)
        facts = facts_for(result)
        if stalled:
            facts["retried"] = stalled
            if _stalled(result, self.limits):
                facts["detail"] = (f"the wall-clock backstop ({self.limits.timeout:g} s) ended "
                                   f"the run twice, after {result.cpu_time:.1f} s of CPU of "
                                   f"its {self.limits.cpu:g}: it waits or sleeps")
        reasons = reasons_for(result)
        missing = missing_module(result) if reasons == ["test_failed"] else None
        hit = limit_hit(result, self.limits) if reasons == ["test_failed"] else None
        if missing is not None:
            reasons = ["missing_dependency"]
            facts["missing"] = missing
        elif hit is not None:
            reasons = [hit.pop("reason")]
            facts["limit"] = hit
        return Outcome(tuple(reasons), TestFacts(facts),
                       cacheable=result.status is not Status.SANDBOX_ERROR)

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        if reason == "missing_dependency" and "missing" in facts:
            return str(facts["missing"]["message"])
        if "limit" in facts and reason in ("resource_limit", "memory_limit"):
            return str(facts["limit"]["message"])
        if reason != "test_failed":
            return str(facts.get("detail", ""))
        if facts.get("collect_errors"):
            return "collection: " + _last_line(facts["collect_errors"][0])
        if not facts.get("not_passed"):
            return str(facts.get("detail", "")) if facts.get("status") != "ok" else ""
        bad = facts["not_passed"][0]
        return f"{bad.get('nodeid', '?')} {bad.get('outcome', '')}: " \
               f"{_error_line(bad.get('message', ''))}"


def run_tests(pool: Pool, sample: Sample, limits: Limits) -> tuple[list[str], dict[str, Any]]:
    """Run pytest on one sample outside a pipeline: its reasons and facts."""
    check = TestsCheck(VerifyConfig(timeout=limits.cpu or limits.timeout,
                                    memory_mb=limits.memory_mb,
                                    output_bytes=limits.output_bytes))
    outcome = check.check(sample, pool)
    return list(outcome.reasons), outcome.facts.to_json() if outcome.facts else {}


def _stalled(result: RunResult, limits: Limits) -> str:
    """Why a run that hit the wall-clock backstop with CPU to spare looks stalled."""
    if result.status is not Status.TIMEOUT or "wall-clock" not in result.detail:
        return ""
    cap = limits.cpu or limits.timeout
    if result.cpu_time >= 0.9 * cap:
        return ""
    return f"wall-clock limit after {result.cpu_time:.2f} s of CPU (of {cap:g})"


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


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _error_line(text: str) -> str:
    """pytest's `E ` lines say what failed; the last line only says where."""
    errors = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    return " ".join(errors)[:300] if errors else _last_line(text)


__all__ = ["TestFacts", "TestsCheck", "facts_for", "reasons_for", "run_tests"]
