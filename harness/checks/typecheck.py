"""Type checking: mypy on many solutions per call, inside the sandbox."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from harness.errors import ConfigError
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import CallJob, Limits, Status

# mypy's own defaults, less the errors about third-party packages the sandbox lacks.
# The image pre-builds mypy's stdlib cache with these (sandboxes/python/handlers/mypy.py).
DEFAULT_MYPY_ARGS = ("--ignore-missing-imports", "--follow-imports=silent")


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
    result = pool.run(files, CallJob("mypy", {"files": list(files), "args": list(mypy_args)}),
                      batch_limits, role="checker")
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
