"""Does the sample parse? Checked in the harness process, before any sandbox time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.languages import language_of
from harness.records import Sample
from harness.stage import Check, Outcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool


@dataclass(frozen=True)
class SyntaxFacts:
    ok: bool
    error: dict[str, Any] | None = None  # file, line, offset, message, text

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **(self.error or {})}


class SyntaxCheck(Check):
    """Parse solution and tests; on failure, name the file, line and message."""

    name = "syntax"
    reasons = ("syntax_error", "invalid_sample")
    gate = True

    def check(self, sample: Sample, pool: Pool | None) -> Outcome:
        error = language_of(sample).syntax_error(sample)
        if error is None:
            return Outcome.passed(SyntaxFacts(True))
        reason = "invalid_sample" if error.get("too_large") else "syntax_error"
        return Outcome.rejected(reason, SyntaxFacts(False, error))

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        return f"{facts.get('file')}:{facts.get('line')}: {facts.get('message')}"


def check_syntax(sample: Sample) -> dict[str, Any]:
    """The syntax facts of one sample, as JSON (for callers outside a pipeline)."""
    outcome = SyntaxCheck().check(sample, None)
    assert outcome.facts is not None
    return outcome.facts.to_json()
