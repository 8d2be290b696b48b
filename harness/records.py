"""The records that flow through the harness: `Sample` in, `Verdict` out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# The fixed vocabulary of rejection reasons, documented in the README.
REASONS: dict[str, str] = {
    "invalid_sample": "the record is malformed (bad JSON, missing or non-text field, too big)",
    "syntax_error": "the solution or the tests do not parse",
    "type_error": "mypy reports an error in the solution",
    "no_tests": "no test was collected or run",
    "test_failed": "a test failed, errored, was skipped or xfailed",
    "timeout": "the run exceeded its wall-clock or CPU limit",
    "memory_limit": "the run exceeded its memory limit",
    "output_limit": "the run printed or wrote more than allowed",
    "resource_limit": "the run hit its limit on tasks (threads, processes) or open files",
    "crashed": "the run died (signal, early exit, no result record)",
    "missing_dependency": "the sample imports a module the sandbox image lacks",
    "tampering": "the tests patch builtins or the solution's own definitions: they verify nothing",
    "trivial_tests": "the tests pass against a degenerate stand-in of the solution",
    "weak_tests": "the tests let too many behaviour-changing mutants survive",
    "wrong_solution": "the solution differs from the sample's reference on an in-domain input",
    "unverified": "a check that was asked for could not run or could not decide (fail closed)",
    "duplicate": "the sample repeats an earlier one",
    "contaminated": "the sample overlaps a benchmark set",
}


@dataclass(frozen=True)
class Sample:
    """One problem, its solution and its tests (the canonical JSONL record)."""

    id: str
    solution: str
    tests: str
    prompt: str = ""
    entry_point: str | None = None
    language: str = "python"
    meta: dict[str, Any] = field(default_factory=dict)
    # A trusted solution module (a benchmark's canonical one) for the differential probe.
    reference: str | None = None
    # Other candidate solutions to the same problem (n model samples), to cluster with.
    alternatives: tuple[str, ...] = ()
    # Where the record was read (1-based line or row); not part of the sample itself.
    line: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "prompt": self.prompt,
            "solution": self.solution,
            "tests": self.tests,
            "entry_point": self.entry_point,
            "language": self.language,
            "meta": self.meta,
        }
        if self.reference is not None:
            out["reference"] = self.reference
        if self.alternatives:
            out["alternatives"] = list(self.alternatives)
        return out

    def digest(self) -> str:
        """A stable hash of everything that can change a verdict."""
        parts: list[Any] = [self.solution, self.tests, self.entry_point, self.language]
        if self.reference is not None or self.alternatives:  # old digests stay valid
            parts += [self.reference, list(self.alternatives), _judging_meta(self.meta)]
        blob = json.dumps(parts, ensure_ascii=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def _judging_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The `meta` keys the differential comparison reads (atol, unordered)."""
    return {k: meta[k] for k in ("atol", "unordered") if k in meta}


@dataclass(frozen=True)
class InvalidRecord:
    """An input record that could not be turned into a `Sample`."""

    line: int
    id: str
    error: str
    raw: str = ""


@dataclass
class Verdict:
    """What the harness concluded about one input record."""

    id: str
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "reject" if self.reasons else "keep"

    def reject(self, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        if reason not in self.reasons:
            self.reasons.append(reason)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "verdict": self.verdict, "reasons": self.reasons,
                "checks": self.checks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(id=data["id"], reasons=list(data["reasons"]), checks=dict(data["checks"]))
