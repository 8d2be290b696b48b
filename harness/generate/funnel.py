"""The survival funnel: what each generation stage saw, passed and dropped, and why.

Generation stages follow the contract of `harness.stage` (a name, a fixed set of
reasons, counting done once in the base) but their items are model replies and problems,
not samples, so their reason codes are their own (`GEN_REASONS`), beside the verdict
reasons of `harness.records.REASONS` that the verify stage reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.generate.parsing import PARSE_REASONS
from harness.records import REASONS

GEN_REASONS: dict[str, str] = {
    **PARSE_REASONS,
    "request_failed": "the request failed after the client's retries (timeout, 5xx, 429)",
    "truncated": "the reply was cut off (finish_reason length)",
    "too_short": "the problem statement is under the minimum length",
    "too_long": "the problem statement is over the maximum length",
    "too_similar": "ROUGE-L to a pool problem (or one already proposed) is at or over the "
                   "threshold",
    "refusal": "the model refused",
    "copied_prompt": "the evolved problem copies the instruction's words",
    "no_information_gain": "the evolved problem adds nothing to its parent",
    "no_candidates": "no candidate solution or no test module survived parsing",
    "no_passing_cluster": "no cluster of candidates passed a test module with strong tests",
}

STAGES = ("problems", "solutions", "tests", "verify", "select", "repair", "evolve")


@dataclass
class StageCount:
    """One stage in one round: items in, items out, drops by reason."""

    seen: int = 0
    passed: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"in": self.seen, "out": self.passed, "dropped": dict(self.dropped)}


class Funnel:
    """Counts per round per stage; the manifest's `funnel` and the summary table."""

    known: ClassVar[set[str]] = set(GEN_REASONS) | set(REASONS)

    def __init__(self) -> None:
        self.rounds: dict[int, dict[str, StageCount]] = {}

    def stage(self, round_no: int, name: str) -> StageCount:
        per = self.rounds.setdefault(round_no, {})
        return per.setdefault(name, StageCount())

    def passed(self, round_no: int, name: str, n: int = 1) -> None:
        count = self.stage(round_no, name)
        count.seen += n
        count.passed += n

    def dropped(self, round_no: int, name: str, reason: str) -> None:
        if reason not in self.known:
            raise ValueError(f"stage {name!r} gave unknown reason {reason!r}")
        count = self.stage(round_no, name)
        count.seen += 1
        count.dropped[reason] += 1

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {str(r): {name: c.to_json() for name, c in stages.items()}
                for r, stages in sorted(self.rounds.items())}
