"""How a run ended, from what the supervisor observed: a pure function, no I/O."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from typing import Any

from harness_sandbox.protocol import JobKind, RunReply, Status


class Killed:
    """Why the supervisor killed a run before it ended (`Observed.killed_for`)."""

    TIMEOUT = "timeout"
    OUTPUT = "output"
    RESULT = "result"


@dataclass(frozen=True)
class Observed:
    """What the supervisor saw of one run's child."""

    exit_code: int  # as os.waitstatus_to_exitcode gives it: -N for signal N
    kind: str  # the job's kind (a JobKind)
    record: bytes = b""  # the raw result pipe, untrusted
    stderr_tail: bytes = b""  # the last bytes of stderr
    killed_for: str | None = None  # a Killed reason
    full_scratch: str | None = None  # the scratch file system the run filled
    oom: bool = False  # the cgroup's OOM killer struck during the run
    cpu_spent: bool = False  # the run used its whole CPU-time limit


def parse_record(raw: bytes) -> dict[str, Any]:
    """The child's result record, or {} when it is not a JSON object."""
    if not raw:
        return {}
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def classify(seen: Observed) -> RunReply:
    """The reply's exit_code, signal, status and detail, and the record's fields."""
    sig = -seen.exit_code if seen.exit_code < 0 else None
    reply: RunReply = {"exit_code": seen.exit_code if sig is None else None, "signal": sig}
    record = parse_record(seen.record)
    for key in ("collected", "tests", "collect_errors", "data"):
        if key in record:
            reply[key] = record[key]
    status, detail = _verdict(seen, sig, record)
    reply["status"], reply["detail"] = status.value, detail
    return reply


def _verdict(seen: Observed, sig: int | None, record: dict[str, Any]) -> tuple[Status, str]:
    exit_code = seen.exit_code
    if seen.killed_for == Killed.TIMEOUT:
        return Status.TIMEOUT, "wall-clock limit reached; the process group was killed"
    if seen.killed_for == Killed.OUTPUT:
        return Status.OUTPUT_LIMIT, "stdout or stderr went over the cap; the run was killed"
    if seen.killed_for == Killed.RESULT:
        return Status.CRASHED, "the result record went over its cap"
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and seen.cpu_spent):
        return Status.TIMEOUT, "CPU-time limit reached"
    if record.get("memory_error") or (sig == signal.SIGKILL and seen.oom):
        return Status.MEMORY_LIMIT, "the run ran out of memory"
    if seen.full_scratch:
        return Status.OUTPUT_LIMIT, f"the run filled {seen.full_scratch}"
    if sig is not None:
        return Status.CRASHED, f"killed by signal {signal.Signals(sig).name}"
    if seen.kind == JobKind.COMMAND:
        if record.get("error"):  # the command never started
            return Status.CRASHED, str(record["error"])
        if exit_code == 0:
            return Status.OK, ""
        if b"MemoryError" in seen.stderr_tail[-4096:]:
            return Status.MEMORY_LIMIT, "MemoryError"
        return Status.FAILED, f"exit code {exit_code}"
    if not record.get("complete"):
        why = record.get("error") or "the run exited before writing a complete result"
        return Status.CRASHED, f"{why} (exit code {exit_code})"
    if seen.kind == JobKind.CALL:
        return (Status.OK if exit_code == 0 else Status.FAILED), record.get("error", "")
    tests = record.get("tests") or []
    if any("MemoryError" in (t.get("message") or "") for t in tests if t["outcome"] != "passed"):
        return Status.MEMORY_LIMIT, "a test raised MemoryError"
    errors = record.get("collect_errors") or []
    if any("MemoryError" in str(e) for e in (errors if isinstance(errors, list) else [errors])):
        # A test module too big to import (or one that allocates at import): not a failure
        # of the tests, a run out of memory.
        return Status.MEMORY_LIMIT, "collecting the tests ran out of memory (MemoryError)"
    collected = record.get("collected") or 0
    bad = [t for t in tests if t["outcome"] != "passed"]
    if record.get("collect_errors"):
        return Status.FAILED, "collection failed"
    if collected == 0:
        return Status.FAILED, "no test was collected"
    if len(tests) != collected:
        return Status.FAILED, f"{collected} tests collected but {len(tests)} reported"
    if bad:
        return Status.FAILED, f"{len(bad)} of {collected} tests did not pass"
    if exit_code != 0:
        return Status.FAILED, f"exit code {exit_code}"
    return Status.OK, ""
