"""Type checking: mypy on many solutions per call, inside the sandbox."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig
from harness.errors import ConfigError
from harness.languages import language_of
from harness.records import Sample
from harness.sandbox.result import Limits, Status
from harness.stage import BatchCheck, Outcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool


@dataclass(frozen=True)
class TypeFacts:
    """mypy's errors for one solution (`ok` None: mypy could not give an answer)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


class TypeCheck(BatchCheck):
    """mypy on the solutions of a batch, one call; a failing call is split in halves so
    that one pathological solution does not cost the others their check."""

    name = "types"
    reasons = ("type_error",)
    sandboxed = True

    def __init__(self, config: VerifyConfig) -> None:
        super().__init__()
        self.args = config.mypy_args
        self.limits = config.limits

    def check_batch(self, samples: Sequence[Sample], pool: Pool | None) -> list[Outcome]:
        assert pool is not None
        return [_outcome(facts) for facts in typecheck_batch(pool, samples, self.args,
                                                             self.limits)]

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        errors = facts.get("errors") or [{}]
        return f"solution.py:{errors[0].get('line')}: {errors[0].get('message', '')}"


def _outcome(facts: dict[str, Any]) -> Outcome:
    return Outcome(("type_error",) if facts.get("ok") is False else (), TypeFacts(facts),
                   cacheable=facts.get("status") != Status.SANDBOX_ERROR.value)


def typecheck_batch(
    pool: Pool, samples: Sequence[Sample], mypy_args: Sequence[str], limits: Limits
) -> list[dict[str, Any]]:
    """One mypy call for the whole batch; each sample's facts, in order."""
    if not samples:
        return []
    files = {f"m_{i:05d}.py": s.solution for i, s in enumerate(samples)}
    started = time.perf_counter()
    batch_limits = Limits(timeout=limits.timeout + 2.0 * len(samples), memory_mb=1536,
                          output_bytes=limits.output_bytes)
    job = language_of(samples[0]).typecheck_job(list(files), mypy_args)
    result = pool.run(files, job, batch_limits, role="checker")
    per_sample = (time.perf_counter() - started) / len(samples)
    if result.status is not Status.OK or not isinstance(result.data, dict):
        if len(samples) > 1:  # one pathological solution must not cost the others their check
            half = len(samples) // 2
            return [*typecheck_batch(pool, samples[:half], mypy_args, limits),
                    *typecheck_batch(pool, samples[half:], mypy_args, limits)]
        return [{"ok": None, "status": result.status.value,
                 "detail": (result.detail + " " + result.stderr[-500:]).strip()}]
    if result.data.get("bad_arguments"):
        raise ConfigError(f"mypy refused --mypy-args {' '.join(mypy_args)!r}: "
                          f"{result.data['bad_arguments']}")
    by_file = result.data["by_file"]
    out = []
    for name in files:
        errors = [e for e in by_file.get(name, []) if e["severity"] == "error"]
        out.append({"ok": not errors, "errors": errors[:20], "seconds": round(per_sample, 4)})
    return out
