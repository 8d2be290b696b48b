"""The probe contract: one probe is one class that registers itself in `PROBES`.

A probe either works in the harness process (`in_sandbox = False`: it reads the
sample's text, like the lint) or in the sandbox's probe job, which runs every chosen
in-sandbox probe in one fork server job per sample (`in_sandbox = True`: the job's
`probelib` has a module of the same name; see docs/extending.md). Either way `judge`
turns what it found into reasons and evidence; `ProbesStage` does the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.config import VerifyConfig
from harness.records import Sample
from harness.registry import Registry


class Probe:
    """One probe. `judge` returns its reasons and its facts (a JSON object that lands in
    `checks.probes[<fact_key>]`)."""

    name: ClassVar[str]
    reasons: ClassVar[tuple[str, ...]] = ()
    in_sandbox: ClassVar[bool] = True
    fact_key: ClassVar[str]

    def __init__(self, config: VerifyConfig) -> None:
        self.config = config

    def applies(self, sample: Sample) -> bool:
        """Whether this probe has anything to do for `sample` (else it is left out)."""
        return True

    def payload(self, sample: Sample) -> dict[str, Any]:
        """What this probe adds to the sandbox probe job's request."""
        return {}

    def judge(self, sample: Sample, data: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
        """Reasons and facts, from the probe job's reply `data` ({} for a local probe)."""
        raise NotImplementedError

    def undecided(self, data: dict[str, Any]) -> str:
        """Why this probe, though its job ran, could not decide (empty: it decided)."""
        return ""

    def explain(self, facts: Any, reason: str) -> str:
        """One line of evidence for `reason` from this probe's facts."""
        return ""


PROBES: Registry[type[Probe]] = Registry("probe")
