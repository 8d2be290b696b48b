"""Turning probe results into reasons and evidence for a verdict."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from harness.checks.tests import TESTS_FILE, sample_files
from harness.probes.lint import lint_tests
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import CallJob, Limits, Status

if TYPE_CHECKING:
    from harness.config import VerifyConfig

EXECUTED = ("stubs", "mutants")
# How the unchanged solution's rerun went wrong -> the reason it gives the sample.
BASELINE_REASONS = {"timeout": "timeout", "crashed": "crashed"}
MAX_SURVIVORS = 5


def probe_sample(
    pool: Pool, sample: Sample, config: VerifyConfig
) -> tuple[list[str], dict[str, Any]]:
    """Run the selected probes on a sample whose tests passed."""
    reasons: list[str] = []
    facts: dict[str, Any] = {}
    if "lint" in config.probes:
        facts["lint"] = [asdict(f) for f in lint_tests(sample.tests, sample.entry_point)]
    chosen = [p for p in config.probes if p in EXECUTED]
    if not chosen:
        return reasons, facts
    if not sample.entry_point:
        facts["skipped"] = "no entry point: give `entry_point` or define one public function"
        return reasons, facts
    payload = {"entry_point": sample.entry_point, "tests_files": [TESTS_FILE], "probes": chosen,
               "mutant_limit": config.mutant_limit, "time_budget": config.probe_budget}
    limits = Limits(timeout=config.probe_budget + config.timeout + 5, memory_mb=config.memory_mb,
                    output_bytes=config.output_bytes)
    result = pool.run(sample_files(sample), CallJob("probe", payload), limits)
    if result.status is not Status.OK or not isinstance(result.data, dict):
        facts["error"] = {"status": result.status.value, "detail": result.detail,
                          "stderr_tail": result.stderr[-1000:]}
        return reasons, facts
    data: dict[str, Any] = result.data
    facts["seconds"] = round(result.wall_time, 3)
    if data.get("errors"):
        facts["errors"] = data["errors"][:5]
    failed = data.get("baseline_failed")
    if isinstance(failed, dict):
        # The tests passed under pytest, but not when run again where no report can be
        # forged: flaky, dependent on pytest's reporting, or a forged pass.
        why = str(failed.get("failed") or "")
        facts["baseline_failed"] = {
            "failed": why, "message": str(failed.get("message") or "")[:1000],
            "explanation": "the tests passed under pytest but not when the probes ran them "
                           "again on the unchanged solution"}
        reasons.append(BASELINE_REASONS.get(why.split(":")[0], "test_failed"))
        return reasons, facts
    if data.get("skipped"):
        facts["not_run"] = data["skipped"][:20]
    if "stubs" in chosen:
        stubs = data.get("stubs") or []
        passing = [s["name"] for s in stubs if s.get("passed_all")]
        facts["stubs"] = {"tried": [s["name"] for s in stubs], "passed_by": passing}
        if passing:
            reasons.append("trivial_tests")
    if "mutants" in chosen:
        mutation = _mutation_facts(data.get("mutants") or [], data.get("mutation_score"))
        facts["mutation"] = mutation
        score = mutation["score"]
        if score is not None and score < config.min_mutation_score:
            reasons.append("weak_tests")
    return reasons, facts


def _mutation_facts(mutants: list[dict[str, Any]], score: float | None) -> dict[str, Any]:
    equivalent = [m for m in mutants if m.get("equivalent")]
    survivors = [m for m in mutants if not m.get("killed") and not m.get("equivalent")]
    return {
        "score": score,
        "mutants": len(mutants),
        "killed": sum(1 for m in mutants if m.get("killed")),
        "likely_equivalent": len(equivalent),
        "survivors": [
            {"id": m["id"], "operator": m["operator"], "line": m.get("lineno"),
             "diff": m["diff"], "distinguishing_input": m.get("distinguishing_input")}
            for m in survivors[:MAX_SURVIVORS]
        ],
    }
