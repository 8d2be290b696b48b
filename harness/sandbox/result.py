"""Typed requests to and results from the sandbox."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """How one run in the sandbox ended."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CRASHED = "crashed"
    SANDBOX_ERROR = "sandbox_error"


@dataclass(frozen=True)
class Limits:
    """Per-run limits, enforced inside the container."""

    timeout: float = 10.0  # wall-clock seconds, enforced from outside the run
    cpu: float | None = None  # CPU seconds; defaults to the timeout
    memory_mb: int = 512  # address space the run may add to the runner's own
    output_bytes: int = 1 << 20  # cap on stdout and on stderr, each
    file_size_mb: int = 64
    open_files: int = 256
    processes: int = 128  # tasks (processes and threads) of the sample's user

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PytestJob:
    """Run pytest on the sample's test files (the default: every test_*.py in the work dir)."""

    args: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"kind": "pytest", "args": list(self.args)}


@dataclass(frozen=True)
class CommandJob:
    """Run a plain command in the work dir (argv[0] is looked up on the sandbox's PATH)."""

    argv: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"kind": "command", "argv": list(self.argv)}


@dataclass(frozen=True)
class CallJob:
    """Call an in-sandbox handler (`sandboxes/python/handlers/<name>.py`, function `run`)
    in the forked child; its JSON-able return value comes back as `RunResult.data`."""

    handler: str
    payload: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"kind": "call", "handler": self.handler, "payload": self.payload}


Job = PytestJob | CommandJob | CallJob


def encode_files(files: dict[str, str | bytes]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, content in files.items():
        if isinstance(content, bytes):
            out[name] = {"b64": base64.b64encode(content).decode("ascii")}
        else:
            out[name] = {"text": content}
    return out


@dataclass
class TestOutcome:
    """One collected test and how it ended."""

    nodeid: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    duration: float = 0.0
    message: str = ""


@dataclass
class RunResult:
    """Everything the sandbox observed about one run."""

    status: Status
    exit_code: int | None = None
    signal: int | None = None
    wall_time: float = 0.0
    cpu_time: float = 0.0
    peak_memory_kb: int = 0
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    collected: int | None = None
    tests: list[TestOutcome] = field(default_factory=list)
    collect_errors: list[str] = field(default_factory=list)
    data: Any = None
    detail: str = ""
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return self.status is Status.OK

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out

    @classmethod
    def from_wire(cls, msg: dict[str, Any]) -> RunResult:
        tests = [TestOutcome(**t) for t in msg.get("tests") or []]
        return cls(
            status=Status(msg["status"]),
            exit_code=msg.get("exit_code"),
            signal=msg.get("signal"),
            wall_time=float(msg.get("wall_time", 0.0)),
            cpu_time=float(msg.get("cpu_time", 0.0)),
            peak_memory_kb=int(msg.get("peak_memory_kb", 0)),
            stdout=msg.get("stdout", ""),
            stderr=msg.get("stderr", ""),
            stdout_truncated=bool(msg.get("stdout_truncated")),
            stderr_truncated=bool(msg.get("stderr_truncated")),
            collected=msg.get("collected"),
            tests=tests,
            collect_errors=list(msg.get("collect_errors") or []),
            data=msg.get("data"),
            detail=msg.get("detail", ""),
        )
