"""The probe stage: the chosen probes on a sample whose checks all passed.

Local probes (the lint) read the sample here; the in-sandbox ones share one probe job,
whose fork server makes the variants and forks the children that run them. Before any
variant, the job runs the tests again on the unchanged solution: a pass that does not
survive that rerun (flaky, dependent on pytest's reporting, or forged) rejects the
sample with the reason of how the rerun went wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig, wall_backstop
from harness.languages import language_of
from harness.probes.asserts import suggest
from harness.probes.augment import augment
from harness.probes.base import PROBES, Probe
from harness.probes.targets import merge, targets
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
    reasons = ("tampering", "trivial_tests", "weak_tests", "wrong_solution", "test_failed",
               "crashed", "timeout", "unverified")
    sandboxed = True

    def __init__(self, config: VerifyConfig) -> None:
        super().__init__()
        self.config = config
        # In the order asked for: the order of their reasons and facts.
        self.probes: list[Probe] = [PROBES.get(name)(config) for name in config.probes]

    def probe(self, sample: Sample, pool: Pool | None) -> Outcome:
        reasons: list[str] = []
        facts: dict[str, Any] = {}
        active = [p for p in self.probes if p.applies(sample)]  # differential: a reference
        for probe in active:
            if not probe.in_sandbox:
                found, facts[probe.fact_key] = probe.judge(sample, {})
                reasons += found
        remote = [p for p in active if p.in_sandbox]
        if remote:
            assert pool is not None
            reasons += self._remote(sample, pool, remote, facts)
        return Outcome(tuple(reasons), JsonFacts(facts))

    def _remote(self, sample: Sample, pool: Pool, remote: list[Probe],
                facts: dict[str, Any]) -> list[str]:
        """The in-sandbox probes, one job per target; the reasons they give."""
        names, why_not = targets(sample.solution, sample.tests, sample.entry_point)
        if not names:
            return self._unverified(facts, why_not)
        if not sample.entry_point:
            facts["targets"] = names
        replies = []
        for name in names:
            data = self._job(sample, name, pool, remote, facts)
            if data is None:
                return self._unverified(facts, "the probe job did not complete: "
                                        f"{facts['error']['status']} {facts['error']['detail']}")
            replies.append((name, data))
        data = merge(replies)
        if data.get("errors"):
            facts["errors"] = data["errors"][:5]
        reasons: list[str] = []
        tampered = data.get("tampering")
        if isinstance(tampered, list) and tampered:  # checked whatever else went wrong
            facts["tampering"] = tampered[:20]
            reasons.append("tampering")
        failed = data.get("baseline_failed")
        if isinstance(failed, dict):
            # The tests passed under pytest, but not when run again where no report can
            # be forged: flaky, dependent on pytest's reporting, or a forged pass.
            why = str(failed.get("failed") or "")
            facts["baseline_failed"] = {
                "failed": why, "message": str(failed.get("message") or "")[:1000],
                "explanation": "the tests passed under pytest but not when the probes ran "
                               "them again on the unchanged solution"}
            return [*reasons, BASELINE_REASONS.get(why.split(":")[0], "test_failed")]
        if data.get("skipped"):
            facts["not_run"] = data["skipped"][:20]
        for probe in remote:
            found, facts[probe.fact_key] = probe.judge(sample, data)
            reasons += found
        undecided = [p.undecided(data) for p in remote]
        why = "; ".join(u for u in undecided if u)
        survivors = (facts.get("mutation") or {}).get("survivors") or []
        if reasons and survivors and len(names) == 1:
            # Evidence a person can act on: the asserts that would kill the survivors.
            suggested = suggest(pool, sample, names[0], survivors, self.config.limits)
            if suggested:
                facts["suggested_asserts"] = suggested
        if self.config.augment and len(names) == 1:
            augmented = augment(pool, sample, names[0], data, facts, self.config)
            if augmented:
                facts["augmented"] = augmented
        return reasons + (self._unverified(facts, why) if why else [])

    def _unverified(self, facts: dict[str, Any], why: str) -> list[str]:
        """Fail closed: a probe that was asked for and could not run or decide rejects
        the sample, unless the run accepts unprobed samples."""
        facts["unverified"] = why
        return ["unverified"] if self.config.require_probes else []

    def _job(self, sample: Sample, target: str, pool: Pool, remote: list[Probe],
             facts: dict[str, Any]) -> dict[str, Any] | None:
        """The sandbox probe job's reply data; None (with `facts["error"]`) if it failed."""
        config = self.config
        lang = language_of(sample)
        payload: dict[str, Any] = {"entry_point": target,
                                   "tests_files": [lang.tests_file],
                                   "probes": [p.name for p in remote],
                                   "time_budget": config.probe_budget}
        for probe in remote:
            payload.update(probe.payload(sample))
        limits = Limits(timeout=config.probe_budget + wall_backstop(config.timeout),
                        cpu=config.probe_budget + config.timeout,
                        memory_mb=config.memory_mb, output_bytes=config.output_bytes)
        result = pool.run(lang.files(sample), CallJob("probe", payload), limits)
        if result.status is not Status.OK or not isinstance(result.data, dict):
            facts["error"] = {"status": result.status.value, "detail": result.detail,
                              "stderr_tail": result.stderr[-1000:]}
            return None
        facts["seconds"] = round(facts.get("seconds", 0.0) + result.wall_time, 3)
        data: dict[str, Any] = result.data
        return data

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        if reason == "unverified":
            return f"not probed: {facts.get('unverified', '')}"
        if reason == "tampering":
            return "the tests change " + ", ".join(
                f"{t.get('what')} ({t.get('how')})" if isinstance(t, dict) else str(t)
                for t in facts.get("tampering", [])[:5])
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
