"""The host and the sandbox speak one protocol: the same statuses, the fields declared."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import harness.sandbox
from harness.sandbox import result
from harness.sandbox.pool import Pool
from harness.sandbox.result import CallJob, CommandJob, Limits, PytestJob, RunResult
from harness_sandbox import protocol

HOST = Path(harness.sandbox.__file__).parent
REPLY_TYPES = (protocol.RunReply, protocol.PingReply, protocol.WarmReply,
               protocol.ParkReply, protocol.ErrorReply)


def test_host_and_sandbox_share_the_status_vocabulary() -> None:
    assert {s.value for s in result.Status} == {s.value for s in protocol.Status}


def test_the_running_sandbox_reports_the_same_statuses(pool: Pool) -> None:
    slot = pool._slots[0]
    reply = slot.submit({"op": protocol.Op.PING}, Limits(timeout=5.0)).wait()
    assert set(reply["statuses"]) == {s.value for s in result.Status}
    assert reply["protocol"] == protocol.PROTOCOL_VERSION


def _fields_read(tree: ast.AST, names: set[str]) -> set[str]:
    """Keys read as name["key"] or name.get("key") for the given variable names."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                node.value.id in names and isinstance(node.slice, ast.Constant):
            found.add(node.slice.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "get" and isinstance(node.func.value, ast.Name) and \
                node.func.value.id in names and node.args and \
                isinstance(node.args[0], ast.Constant):
            found.add(node.args[0].value)
    return found


def test_every_reply_field_the_host_reads_is_declared() -> None:
    declared = set().union(*(typing.get_type_hints(t) for t in REPLY_TYPES))
    read: set[str] = set()
    for path in HOST.glob("*.py"):
        read |= _fields_read(ast.parse(path.read_text()), {"reply", "msg", "warmed"})
    assert read, "the scan found no reply field at all"
    assert read <= declared, read - declared


def test_run_result_reads_only_declared_fields() -> None:
    declared = set(typing.get_type_hints(protocol.RunReply))
    source = ast.parse(Path(result.__file__).read_text())
    assert _fields_read(source, {"msg"}) <= declared


def test_host_requests_match_the_declared_request_fields() -> None:
    for job in (PytestJob(), CommandJob(("true",)), CallJob("mypy", {"files": []})):
        assert set(job.to_wire()) <= set(typing.get_type_hints(protocol.JobWire))
        assert job.to_wire()["kind"] in {k.value for k in protocol.JobKind}
    assert set(Limits().to_wire()) == set(typing.get_type_hints(protocol.LimitsWire))
    assert Limits().to_wire() == protocol.DEFAULT_LIMITS


def test_shared_names_are_reexported_for_the_host() -> None:
    assert result.SOLUTION_FILE == protocol.SOLUTION_FILE == "solution.py"
    assert result.TESTS_FILE == protocol.TESTS_FILE == "test_solution.py"
    assert result.DEFAULT_MYPY_ARGS == protocol.DEFAULT_MYPY_ARGS


def test_frames_round_trip_and_cut_anywhere() -> None:
    msgs = [{"op": "ping"}, {"status": "ok", "detail": "é\u2028", "tests": []}]
    stream = b"".join(protocol.encode_frame(m) for m in msgs)
    buffer, got = bytearray(), []
    for byte in stream:  # one byte at a time: a frame may arrive in any pieces
        buffer.append(byte)
        msg = protocol.pop_frame(buffer)
        if msg is not None:
            got.append(msg)
    assert got == msgs and not buffer


def test_oversized_or_non_object_frames_are_refused() -> None:
    with pytest.raises(ValueError):
        protocol.frame_size((protocol.MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(ValueError):
        protocol.pop_frame(bytearray(protocol.encode_frame([1, 2])))


def test_probe_record_fields_are_the_sanitizers() -> None:
    from harness_sandbox.probelib import forks

    assert set(forks._FIELDS) == set(typing.get_type_hints(protocol.ProbeRecord))


def test_a_run_reply_becomes_a_result() -> None:
    reply: protocol.RunReply = {"status": "failed", "detail": "1 of 1 tests did not pass",
                                "exit_code": 1, "collected": 1, "tests": [
                                    {"nodeid": "t::a", "outcome": "failed", "duration": 0.1,
                                     "message": "assert"}]}
    got = RunResult.from_wire(reply)
    assert got.status is result.Status.FAILED and got.tests[0].outcome == "failed"
