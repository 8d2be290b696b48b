"""The host <-> sandbox wire protocol: one definition, imported by both sides.

Stdlib only: the host imports it without pytest or mypy, and the fork server imports it
before anything else. Documented in docs/protocol.md.

A message is one frame: a 4-byte big-endian length, then that many bytes of JSON (an
object). The host sends requests on the container's stdin; the fork server answers each
in order on its stdout, one reply per request.
"""

from __future__ import annotations

import json
import struct
from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

PROTOCOL_VERSION = 1


class Op(StrEnum):
    """What a request asks of the fork server."""

    RUN = "run"  # run one job in a confined child
    PING = "ping"  # is it alive; what it runs (versions, handlers)
    WARM = "warm"  # load handlers and run their warm-up in the server, once
    PARK = "park"  # nobody attached from now on: exit after `idle` seconds unadopted


class Status(StrEnum):
    """How one run in the sandbox ended."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    CRASHED = "crashed"
    SANDBOX_ERROR = "sandbox_error"


class JobKind(StrEnum):
    """What a run's child does once confined."""

    PYTEST = "pytest"
    COMMAND = "command"
    CALL = "call"


class Role(StrEnum):
    """Whose code a run executes; each role has its own uid and work dir."""

    SAMPLE = "sample"  # the sample's code: tests, solution
    CHECKER = "checker"  # our own tools (mypy) over the sample's files


UIDS: dict[Role, int] = {Role.SAMPLE: 10000, Role.CHECKER: 9999}
WORK_ROOT = "/work"
JOB_DIR = "/work/job"  # the sample's work dir
CHECKER_DIR = "/cache/checker/job"  # the checker's: /cache survives its runs (mypy's cache)
WORK_DIRS: dict[Role, str] = {Role.SAMPLE: JOB_DIR, Role.CHECKER: CHECKER_DIR}

SOLUTION_FILE = "solution.py"
TESTS_FILE = "test_solution.py"

# mypy's flags when the user gives none (the image pre-builds typeshed's cache with them).
DEFAULT_MYPY_ARGS: tuple[str, ...] = ("--ignore-missing-imports", "--follow-imports=silent")

MAX_FRAME = 512 << 20  # a larger frame is a broken peer, not a big reply
RESULT_CAP = 64 << 20  # bytes of a child's result record
_HEADER = struct.Struct(">I")
HEADER_SIZE = _HEADER.size


# ---------------------------------------------------------------- requests


class LimitsWire(TypedDict):
    """Per-run limits (`harness.sandbox.result.Limits` on the host)."""

    timeout: float  # wall-clock seconds
    cpu: float | None  # CPU seconds; None: the timeout
    memory_mb: int  # address space on top of the server's own
    output_bytes: int  # cap on stdout and on stderr, each
    file_size_mb: int
    open_files: int
    processes: int


DEFAULT_LIMITS = LimitsWire(timeout=10.0, cpu=None, memory_mb=512, output_bytes=1 << 20,
                            file_size_mb=64, open_files=256, processes=128)


class FileWire(TypedDict, total=False):
    """One file of the work dir: exactly one of the two keys."""

    text: str
    b64: str


class JobWire(TypedDict):
    """What a run does: `kind` (a JobKind), then that kind's fields."""

    kind: str
    args: NotRequired[list[str]]  # pytest: extra arguments
    rewrite: NotRequired[bool]  # pytest: assert rewriting (set by the server itself)
    argv: NotRequired[list[str]]  # command: the command line
    handler: NotRequired[str]  # call: a module of harness_sandbox.handlers
    payload: NotRequired[dict[str, Any]]  # call: the handler's argument


class RunRequest(TypedDict):
    op: Literal["run"]
    files: dict[str, FileWire]
    job: JobWire
    limits: LimitsWire
    role: NotRequired[str]  # a Role; default sample


class PingRequest(TypedDict):
    op: Literal["ping"]


class WarmRequest(TypedDict):
    op: Literal["warm"]
    handlers: list[str]


class ParkRequest(TypedDict):
    op: Literal["park"]
    idle: float


Request = RunRequest | PingRequest | WarmRequest | ParkRequest


# ---------------------------------------------------------------- replies


class TestRecord(TypedDict):
    """One collected test and how it ended (`TestOutcome` on the host)."""

    nodeid: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    duration: float
    message: str


class Overhead(TypedDict):
    sweep: float  # seconds the supervisor spent sweeping after the run
    total: float  # seconds from the run's end to its reply


class RunReply(TypedDict, total=False):
    """The answer to a run; `status` and `detail` are always there."""

    status: str  # a Status
    detail: str
    exit_code: int | None
    signal: int | None
    wall_time: float
    cpu_time: float
    peak_memory_kb: int
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    collected: int
    tests: list[TestRecord]
    collect_errors: list[str]
    data: Any  # a call job's return value
    overhead: Overhead
    tainted: str  # why this container must run nothing more
    refused: bool  # not run: the container was tainted by an earlier run


class PingReply(TypedDict):
    ok: bool
    protocol: int
    statuses: list[str]  # the server's Status vocabulary
    versions: dict[str, str]
    handlers: list[str]
    handler_errors: dict[str, str]
    warmed: list[str]


class WarmReply(TypedDict):
    ok: bool
    errors: dict[str, str]


class ParkReply(TypedDict):
    parked: bool


class ErrorReply(TypedDict, total=False):
    """A request the server could not serve (unknown op, its own fault)."""

    status: str
    detail: str
    tainted: str


Reply = RunReply | PingReply | WarmReply | ParkReply | ErrorReply


# ---------------------------------------------------------------- in the sandbox


class ResultRecord(TypedDict, total=False):
    """What a run's child writes on its private result pipe (untrusted: the sample's
    code shares its process)."""

    complete: bool
    collected: int
    tests: list[TestRecord]
    collect_errors: list[str]
    exit_code: int
    data: Any
    error: str
    memory_error: bool


class DifferentialPayload(TypedDict, total=False):
    """The probe job's `differential` request field (`probelib.differential`)."""

    reference: str | None  # a trusted solution module's source
    alternatives: list[str]  # other candidates, clustered when there is no reference
    atol: float | None  # floats equal within this (None: exact)
    unordered: bool  # a top-level list or tuple answer compared as a multiset
    augment_max: int  # inputs (with the trusted answers) offered for augmentation


class DifferentialReport(TypedDict, total=False):
    """The probe job's reply field `differential` (values as the body sent them)."""

    verdict: str  # "differs" | "agrees" | "clustered" | "error"
    compared: int  # inputs on which both answered and were compared
    args: str  # the shrunk input, "(...)" of reprs ("differs")
    solution: str  # the solution's answer there (repr, "raises X(...)" or "timeout")
    reference: str  # the reference's answer there
    origin: str  # "tests" | "derived" | "drawn": where the input came from
    skipped: str  # inputs out of the reference's domain (it raised or ran past its cap)
    unknown: str  # inputs whose answers had no canonical form
    augment: str  # JSON [{"args", "expected", "why"}]: trusted answers for --augment
    clusters: str  # JSON [sizes], solution's cluster first met ("clustered")
    in_largest: str  # "true" | "false": the solution is in a largest cluster
    members: str  # JSON [[names]] of each cluster
    error: str  # why it could not decide ("error")
    cut: str  # the comparison ran out of time: what agreed so far stands
    target: str  # the target it came from, when several were probed


class ProbeRecord(TypedDict, total=False):
    """One variant's record, from a probe child (untrusted: read by `forks._sanitized`,
    which keeps exactly these fields with these types)."""

    ran: int
    collected: int
    tests_passed: int
    tests_skipped: int
    passed: bool
    skipped: bool
    timeout: bool
    sample_fault: bool
    seconds: float
    cpu: float
    setup_seconds: float
    extend: float
    failed: str
    message: str
    error: str
    crashed: str
    setup_error: str
    search_skipped: str
    # In the shared mode: why the child stopped (the runs are redone a process each).
    shared_unsafe: str
    cut: ProbeRecord
    progress: ProbeRecord
    search: list[Any]  # [input as {name: repr} or None, calls tried]
    # The differential body's record carries its report in `search` too: [report (every
    # value text: verdict, args, solution, reference, origin, skipped, unknown, augment,
    # clusters, in_largest, members, error, cut), inputs compared].
    # The baseline's only: [what, how] for each builtin or solution definition the tests
    # replaced, added or removed ("builtins.len", "replaced"), after collection or the run.
    tampering: list[list[str]]


# ---------------------------------------------------------------- framing


def encode_frame(msg: Any) -> bytes:
    """One message as a frame: length header, then ASCII JSON."""
    body = json.dumps(msg, ensure_ascii=True).encode("ascii")
    return _HEADER.pack(len(body)) + body


def frame_size(header: bytes | bytearray) -> int:
    """The body length a frame header announces; ValueError past MAX_FRAME."""
    (size,) = _HEADER.unpack(header[:HEADER_SIZE])
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is too large")
    return int(size)


def decode_body(body: bytes | bytearray) -> dict[str, Any]:
    """A frame's body as a message; ValueError when it is not a JSON object."""
    msg = json.loads(body)
    if not isinstance(msg, dict):
        raise ValueError("a frame must hold a JSON object")
    return msg


def pop_frame(buffer: bytearray) -> dict[str, Any] | None:
    """Take one complete frame off the front of `buffer`; None while it is incomplete."""
    if len(buffer) < HEADER_SIZE:
        return None
    size = frame_size(buffer)
    if len(buffer) < HEADER_SIZE + size:
        return None
    body = bytes(buffer[HEADER_SIZE:HEADER_SIZE + size])
    del buffer[:HEADER_SIZE + size]
    return decode_body(body)
