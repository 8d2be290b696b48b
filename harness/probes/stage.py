"""The probe stage: the chosen probes on a sample whose checks all passed.

Local probes (the lint) read the sample here; the in-sandbox ones share one probe job,
whose fork server makes the variants and forks the children that run them. Before any
variant, the job runs the tests again on the unchanged solution: a pass that does not
survive that rerun (flaky, dependent on pytest's reporting, or forged) rejects the
sample with the reason of how the rerun went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig
from harness.languages import language_of
from harness.probes.base import PROBES, Probe
from harness.records import Sample
from harness.sandbox.result import CallJob, Limits, Status
from harness.stage import JsonFacts, Outcome, ProbeStage

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool

# How the unchanged solution's rerun went wrong -> the reason it gives the sample.
BASELINE_REASONS = {"timeout": "timeout", "crashed": "crashed"}


class ProbesStage(ProbeStage):
    """Every chosen probe, local ones first, then one sandbox job for the others."""

    name = "probes"
    reasons = ("trivial_tests", "weak_tests", "test_failed", "crashed", "timeout")
    sandboxed = True

    def __init__(self, config: VerifyConfig) -> None:
        super().__init__()
        self.config = config
        # In the order asked for: the order of their reasons and facts.
        self.probes: list[Probe] = [PROBES.get(name)(config) for name in config.probes]

    def probe(self, sample: Sample, pool: Pool | None) -> Outcome:
        reasons: list[str] = []
        facts: dict[str, Any] = {}
        for probe in self.probes:
            if not probe.in_sandbox:
                found, facts[probe.fact_key] = probe.judge(sample, {})
                reasons += found
        remote = [p for p in self.probes if p.in_sandbox]
        if not remote:
            return Outcome(tuple(reasons), JsonFacts(facts))
        if not sample.entry_point:
            facts["skipped"] = "no entry point: give `entry_point` or define one public function"
            return Outcome(tuple(reasons), JsonFacts(facts))
        assert pool is not None
        data = self._job(sample, pool, remote, facts)
        if data is None:
            return Outcome(tuple(reasons), JsonFacts(facts))
        failed = data.get("baseline_failed")
        if isinstance(failed, dict):
            why = str(failed.get("failed") or "")
            facts["baseline_failed"] = {
                "failed": why, "message": str(failed.get("message") or "")[:1000],
                "explanation": "the tests passed under pytest but not when the probes ran "
                               "them again on the unchanged solution"}
            reasons.append(BASELINE_REASONS.get(why.split(":")[0], "test_failed"))
            return Outcome(tuple(reasons), JsonFacts(facts))
        if data.get("skipped"):
            facts["not_run"] = data["skipped"][:20]
        for probe in remote:
            found, facts[probe.fact_key] = probe.judge(sample, data)
            reasons += found
        return Outcome(tuple(reasons), JsonFacts(facts))

    def _job(self, sample: Sample, pool: Pool, remote: list[Probe],
             facts: dict[str, Any]) -> dict[str, Any] | None:
        """The sandbox probe job's reply data; None (with `facts["error"]`) if it failed."""
        config = self.config
        lang = language_of(sample)
        payload: dict[str, Any] = {"entry_point": sample.entry_point,
                                   "tests_files": [lang.tests_file],
                                   "probes": [p.name for p in remote],
                                   "time_budget": config.probe_budget}
        for probe in remote:
            payload.update(probe.payload())
        limits = Limits(timeout=config.probe_budget + config.timeout + 5,
                        memory_mb=config.memory_mb, output_bytes=config.output_bytes)
        result = pool.run(lang.files(sample), CallJob("probe", payload), limits)
        if result.status is not Status.OK or not isinstance(result.data, dict):
            facts["error"] = {"status": result.status.value, "detail": result.detail,
                              "stderr_tail": result.stderr[-1000:]}
            return None
        data: dict[str, Any] = result.data
        facts["seconds"] = round(result.wall_time, 3)
        if data.get("errors"):
            facts["errors"] = data["errors"][:5]
        return data

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        if "baseline_failed" in facts and reason in (*BASELINE_REASONS.values(), "test_failed"):
            failed = facts["baseline_failed"]
            return f"probes' rerun: {failed.get('failed')}: {failed.get('message', '')[:200]}"
        for probe in self.probes:
            if reason in probe.reasons and probe.fact_key in facts:
                return probe.explain(facts[probe.fact_key], reason)
        return ""


def probe_sample(pool: Pool, sample: Sample, config: VerifyConfig
                 ) -> tuple[list[str], dict[str, Any]]:
    """Probe one sample outside a pipeline: its reasons and facts."""
    outcome = ProbesStage(config).probe(sample, pool)
    return list(outcome.reasons), outcome.facts.to_json() if outcome.facts else {}
