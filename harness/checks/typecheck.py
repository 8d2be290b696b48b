"""Type checking: mypy on many solutions per call, inside the sandbox."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig, wall_backstop
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
    reasons = ("type_error", "unverified")
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
        if reason == "unverified":
            return f"mypy gave no answer ({facts.get('status')}): {facts.get('detail', '')}"
        errors = facts.get("errors") or [{}]
        return f"solution.py:{errors[0].get('line')}: {errors[0].get('message', '')}"


def _outcome(facts: dict[str, Any]) -> Outcome:
    if facts.get("ok") is None:  # mypy gave no answer: fail closed, and try again next run
        return Outcome(("unverified",), TypeFacts(facts), cacheable=False)
    return Outcome(("type_error",) if facts.get("ok") is False else (), TypeFacts(facts))


def typecheck_batch(
    pool: Pool, samples: Sequence[Sample], mypy_args: Sequence[str], limits: Limits
) -> list[dict[str, Any]]:
    """One mypy call for the whole batch; each sample's facts, in order.

    A batch whose call fails (a timeout, a crash) or stops at a blocking error (one
    solution's module-level `break`, say, ends mypy's build for all) is checked again one
    solution per call: no solution's fault may change another's type facts.
    """
    if not samples:
        return []
    files = {f"m_{i:05d}.py": s.solution for i, s in enumerate(samples)}
    started = time.perf_counter()
    # mypy takes milliseconds per solution once warm: a batch far past that is stuck on one.
    cpu = (limits.cpu or limits.timeout) + 0.25 * len(samples)
    batch_limits = Limits(timeout=wall_backstop(cpu), cpu=cpu, memory_mb=1536,
                          output_bytes=limits.output_bytes)
    job = language_of(samples[0]).typecheck_job(list(files), mypy_args)
    result = pool.run(files, job, batch_limits, role="checker")
    per_sample = (time.perf_counter() - started) / len(samples)
    answered = result.status is Status.OK and isinstance(result.data, dict)
    if answered and result.data.get("bad_arguments"):
        raise ConfigError(f"mypy refused --mypy-args {' '.join(mypy_args)!r}: "
                          f"{result.data['bad_arguments']}")
    blocked = answered and result.data.get("exit_status") == 2
    if len(samples) > 1 and (not answered or blocked):
        return [fact for sample in samples
                for fact in typecheck_batch(pool, [sample], mypy_args, limits)]
    if not answered:
        return [{"ok": None, "status": result.status.value,
                 "detail": (result.detail + " " + result.stderr[-500:]).strip()}]
    by_file = result.data["by_file"]
    out = []
    for name in files:
        errors = [e for e in by_file.get(name, []) if e["severity"] == "error"]
        if blocked and not errors:  # mypy stopped with a message it gave no file or line
            errors = [{"line": None, "severity": "error",
                       "message": str(result.data.get("stdout") or "blocking error")[:500]}]
        out.append({"ok": not errors, "errors": errors[:20], "seconds": round(per_sample, 4)})
    return out
