"""Mutants: AST mutations of the solution that the tests should kill. Survivors are
compared with the solution on bounded inputs; too few killed is `weak_tests`, with each
survivor's diff and the input that tells it apart. The work is `probelib.mutants` and
`probelib.equivalence` in the sandbox."""

from __future__ import annotations

from typing import Any

from harness.probes.base import PROBES, Probe
from harness.records import Sample

MAX_SURVIVORS = 5


@PROBES.register("mutants")
class Mutants(Probe):
    name = "mutants"
    reasons = ("weak_tests",)
    fact_key = "mutation"

    def payload(self, sample: Sample) -> dict[str, Any]:
        return {"mutant_limit": self.config.mutant_limit}

    def judge(self, sample: Sample, data: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
        mutants = data.get("mutants") or []
        facts = mutation_facts(mutants, data.get("mutation_score"))
        score = facts["score"]
        # A survivor with an input on which it differs from the solution is a bug the tests
        # let through; on HumanEval+ that rule finds weak suites far better than a score cut.
        distinguished = sum(1 for m in mutants if not m.get("killed")
                            and m.get("distinguishing_input"))
        facts["distinguished"] = distinguished
        need = self.config.min_distinguished
        weak = (score is not None and score < self.config.min_mutation_score) or \
            (need > 0 and distinguished >= need)
        return ("weak_tests",) if weak else (), facts

    def undecided(self, data: dict[str, Any]) -> str:
        """No score although there were mutants to judge: too few of them ran."""
        if data.get("mutants_failed"):
            return f"mutant generation failed: {str(data['mutants_failed'])[:300]}"
        if data.get("mutation_score") is not None:
            return ""
        judged = [m for m in data.get("mutants") or [] if m.get("equivalent") is not True]
        ran_out = [s for s in data.get("skipped") or [] if "mutant " in s]
        if not judged and not ran_out:
            return ""  # no mutant, or only likely-equivalent ones: nothing to kill
        return (f"no mutation score: {len(ran_out)} mutant(s) did not run within the time "
                "budget")

    def explain(self, facts: Any, reason: str) -> str:
        text = f"mutation score {facts.get('score')}, {facts.get('distinguished', 0)} " \
               "survivor(s) told apart"
        survivors = facts.get("survivors") or []
        if survivors:
            changed = " / ".join(ln for ln in survivors[0]["diff"].splitlines()
                                 if ln[:1] in "+-" and not ln.startswith(("+++", "---")))
            text += f"; survives: {changed}"
            if survivors[0].get("distinguishing_input"):
                text += f" (differs on {survivors[0]['distinguishing_input'].get('args')})"
        return text


def mutation_facts(mutants: list[dict[str, Any]], score: float | None) -> dict[str, Any]:
    """The mutation score and the first survivors, from the probe job's mutant records."""
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
