"""Differential: the solution against the sample's `reference` on the tests' own calls,
inputs derived from them by type-aware mutation, boundary values and drawn values; the
first in-domain input where they differ (shrunk) rejects the sample `wrong_solution`.
With `alternatives` and no reference, the candidates are clustered by their answers
(evidence only). A no-op for a sample with neither. The work is
`probelib.differential` in the sandbox."""

from __future__ import annotations

import json
from typing import Any

from harness.probes.base import PROBES, Probe
from harness.records import Sample


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


def _json(text: Any, default: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else default
    except ValueError:
        return default


@PROBES.register("differential")
class Differential(Probe):
    name = "differential"
    reasons = ("wrong_solution",)
    fact_key = "differential"

    def applies(self, sample: Sample) -> bool:
        return sample.reference is not None or bool(sample.alternatives)

    def options(self, sample: Sample) -> dict[str, Any]:
        """How to compare: the sample's `meta.atol` / `meta.unordered` beat the flags."""
        atol = sample.meta.get("atol", self.config.atol)
        return {"atol": float(atol) if isinstance(atol, int | float) and
                not isinstance(atol, bool) else None,
                "unordered": _flag(sample.meta.get("unordered", self.config.unordered))}

    def payload(self, sample: Sample) -> dict[str, Any]:
        return {"differential": {"reference": sample.reference,
                                 "alternatives": list(sample.alternatives),
                                 "augment_max": self.config.augment_max,
                                 **self.options(sample)}}

    def judge(self, sample: Sample, data: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
        report = data.get("differential")
        if not isinstance(report, dict):
            return (), {"error": "no differential report"}
        facts: dict[str, Any] = {"against": "reference" if sample.reference is not None
                                 else "alternatives",
                                 "compared": report.get("compared"),
                                 **self.options(sample)}
        verdict = report.get("verdict")
        if report.get("skipped") is not None:
            facts["out_of_domain"] = int(report["skipped"])
        if report.get("cut"):
            facts["cut"] = report["cut"]
        facts["augment"] = _json(report.get("augment"), [])
        if verdict == "differs":
            facts["differs"] = {"input": report.get("args"), "solution": report.get("solution"),
                                "reference": report.get("reference"),
                                "origin": report.get("origin")}
            return ("wrong_solution",), facts
        if verdict == "clustered":
            facts["clusters"] = _json(report.get("clusters"), [])
            facts["members"] = _json(report.get("members"), [])
            facts["in_largest"] = _flag(report.get("in_largest"))
        elif verdict == "error":
            facts["error"] = report.get("error")
        return (), facts

    def undecided(self, data: dict[str, Any]) -> str:
        report = data.get("differential")
        if not isinstance(report, dict):
            return "the differential probe gave no report"
        if report.get("verdict") == "error":
            return f"differential: {report.get('error')}"
        if report.get("verdict") == "agrees" and not report.get("compared"):
            return "differential: no input in the reference's domain was compared"
        return ""

    def explain(self, facts: Any, reason: str) -> str:
        found = facts.get("differs") or {}
        return (f"differs from the reference on {found.get('input')}: solution "
                f"{found.get('solution')}, reference {found.get('reference')} "
                f"({found.get('origin')} input)")
