"""Typed requests to and results from the sandbox, built on its wire protocol
(`harness_sandbox.protocol`, shared with the fork server)."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from harness_sandbox.protocol import (
    DEFAULT_LIMITS,
    DEFAULT_MYPY_ARGS,
    SOLUTION_FILE,
    TESTS_FILE,
    FileWire,
    JobKind,
    JobWire,
    LimitsWire,
    RunReply,
    Status,
)

__all__ = [
    "DEFAULT_MYPY_ARGS", "SOLUTION_FILE", "TESTS_FILE", "CallJob", "CommandJob", "Job",
    "Limits", "PytestJob", "RunResult", "Status", "TestOutcome", "encode_files",
]


@dataclass(frozen=True)
class Limits:
    """Per-run limits, enforced inside the container."""

    timeout: float = DEFAULT_LIMITS["timeout"]  # wall-clock seconds, enforced from outside
    cpu: float | None = DEFAULT_LIMITS["cpu"]  # CPU seconds; defaults to the timeout
    memory_mb: int = DEFAULT_LIMITS["memory_mb"]  # address space on top of the runner's
    output_bytes: int = DEFAULT_LIMITS["output_bytes"]  # cap on stdout and stderr, each
    file_size_mb: int = DEFAULT_LIMITS["file_size_mb"]
    open_files: int = DEFAULT_LIMITS["open_files"]
    processes: int = DEFAULT_LIMITS["processes"]  # tasks of the sample's user

    def to_wire(self) -> LimitsWire:
        """The limits as the request's `limits`."""
        return LimitsWire(timeout=self.timeout, cpu=self.cpu, memory_mb=self.memory_mb,
                          output_bytes=self.output_bytes, file_size_mb=self.file_size_mb,
                          open_files=self.open_files, processes=self.processes)


@dataclass(frozen=True)
class PytestJob:
    """Run pytest on the sample's test files (the default: every test_*.py in the work dir)."""

    args: tuple[str, ...] = ()

    def to_wire(self) -> JobWire:
        """The job as the request's `job`."""
        return {"kind": JobKind.PYTEST.value, "args": list(self.args)}


@dataclass(frozen=True)
class CommandJob:
    """Run a plain command in the work dir (argv[0] is looked up on the sandbox's PATH)."""

    argv: tuple[str, ...]

    def to_wire(self) -> JobWire:
        """The job as the request's `job`."""
        return {"kind": JobKind.COMMAND.value, "argv": list(self.argv)}


@dataclass(frozen=True)
class CallJob:
    """Call an in-sandbox handler (`harness_sandbox/handlers/<name>.py`, function `run`)
    in the forked child; its JSON-able return value comes back as `RunResult.data`."""

    handler: str
    payload: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> JobWire:
        """The job as the request's `job`."""
        return {"kind": JobKind.CALL.value, "handler": self.handler, "payload": self.payload}


Job = PytestJob | CommandJob | CallJob


def encode_files(files: dict[str, str | bytes]) -> dict[str, FileWire]:
    """The request's `files`: text as is, bytes in base64."""
    out: dict[str, FileWire] = {}
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
    def from_wire(cls, msg: RunReply) -> RunResult:
        """The result of a run's reply (its fields: `harness_sandbox.protocol.RunReply`)."""
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
