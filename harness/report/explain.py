"""One line of evidence for a reason, asked of the stage that gave it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from harness.records import Verdict
from harness.stage import Stage

# Terminal control sequences and other control characters, which a sample's output can
# carry into a message: they must not reach a person's terminal raw.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|"
                      r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control sequences and with lone surrogates escaped."""
    text = _CONTROL.sub("", text)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Explainer:
    """Finds, for a reason on a verdict, the stage that gave it and asks it why."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    def __call__(self, verdict: Verdict, reason: str) -> str:
        checks: dict[str, Any] = verdict.checks
        if reason == "invalid_sample" and "input" in checks:
            inp = checks["input"]
            return printable(f"line {inp.get('line')}: {inp.get('error', '')}")
        for stage in self.stages:
            facts = checks.get(stage.name)
            if reason in stage.reasons and isinstance(facts, dict):
                text = stage.explain(facts, reason)
                if text:
                    return printable(text)
        return ""
