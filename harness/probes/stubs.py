"""Stand-ins: the tests run against degenerate versions of the entry point (return None,
the zero value of its return type, its first argument, raise...). Tests that one of them
passes are `trivial_tests`. The work is `probelib.stubs` in the sandbox."""

from __future__ import annotations

from typing import Any

from harness.probes.base import PROBES, Probe
from harness.records import Sample


@PROBES.register("stubs")
class Stubs(Probe):
    name = "stubs"
    reasons = ("trivial_tests",)
    fact_key = "stubs"

    def judge(self, sample: Sample, data: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
        stubs = data.get("stubs") or []
        passing = [s["name"] for s in stubs if s.get("passed_all")]
        facts = {"tried": [s["name"] for s in stubs], "passed_by": passing}
        return ("trivial_tests",) if passing else (), facts

    def undecided(self, data: dict[str, Any]) -> str:
        skipped = [s for s in data.get("skipped") or [] if s.startswith("stub ")
                   or ": stub " in s]
        return f"{len(skipped)} stand-in(s) did not run within the time budget" if skipped \
            else ""

    def explain(self, facts: Any, reason: str) -> str:
        return "passes with stand-in: " + ", ".join(facts.get("passed_by", []))
