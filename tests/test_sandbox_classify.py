"""How a run ended, from what the supervisor saw: the pure classification, no Docker."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from harness.sandbox.result import Status
from harness_sandbox.classify import Killed, Observed, classify, parse_record


def record(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def passing(n: int = 2, **extra: Any) -> bytes:
    tests = [{"nodeid": f"t::{i}", "outcome": "passed", "duration": 0.0, "message": ""}
             for i in range(n)]
    return record(complete=True, collected=n, tests=tests, collect_errors=[], **extra)


def one_test(outcome: str, message: str = "") -> dict[str, Any]:
    return {"nodeid": "t::x", "outcome": outcome, "duration": 0.0, "message": message}


KILL = -signal.SIGKILL
CASES: list[tuple[str, Observed, Status, str]] = [
    ("timeout", Observed(KILL, "pytest", killed_for=Killed.TIMEOUT), Status.TIMEOUT,
     "wall-clock"),
    ("output cap", Observed(KILL, "pytest", killed_for=Killed.OUTPUT), Status.OUTPUT_LIMIT,
     "over the cap"),
    ("result cap", Observed(KILL, "pytest", killed_for=Killed.RESULT), Status.CRASHED,
     "result record"),
    ("SIGXCPU", Observed(-signal.SIGXCPU, "pytest"), Status.TIMEOUT, "CPU-time"),
    ("SIGKILL with the CPU spent", Observed(KILL, "pytest", cpu_spent=True), Status.TIMEOUT,
     "CPU-time"),
    ("MemoryError record", Observed(71, "pytest", record=record(complete=False,
                                                                memory_error=True)),
     Status.MEMORY_LIMIT, "out of memory"),
    ("OOM kill", Observed(KILL, "pytest", oom=True), Status.MEMORY_LIMIT, "out of memory"),
    ("full scratch", Observed(0, "pytest", record=passing(), full_scratch="/tmp"),
     Status.OUTPUT_LIMIT, "filled /tmp"),
    ("other signal", Observed(-signal.SIGSEGV, "pytest"), Status.CRASHED, "SIGSEGV"),
    ("plain SIGKILL", Observed(KILL, "pytest"), Status.CRASHED, "SIGKILL"),
    ("command ok", Observed(0, "command"), Status.OK, ""),
    ("command failed", Observed(3, "command"), Status.FAILED, "exit code 3"),
    ("command MemoryError", Observed(1, "command", stderr_tail=b"...\nMemoryError\n"),
     Status.MEMORY_LIMIT, "MemoryError"),
    ("command never started", Observed(70, "command", record=record(
        complete=False, error="FileNotFoundError: nope")), Status.CRASHED, "FileNotFoundError"),
    ("incomplete record", Observed(0, "pytest", record=record(collected=1)), Status.CRASHED,
     "exited before writing a complete result (exit code 0)"),
    ("no record", Observed(0, "pytest"), Status.CRASHED, "complete result"),
    ("garbage record", Observed(0, "pytest", record=b"\xff{not json"), Status.CRASHED,
     "complete result"),
    ("record not an object", Observed(0, "pytest", record=b"[1, 2]"), Status.CRASHED,
     "complete result"),
    ("error record", Observed(70, "pytest", record=record(complete=False, error="Boom: x")),
     Status.CRASHED, "Boom: x (exit code 70)"),
    ("call ok", Observed(0, "call", record=record(complete=True, data={"a": 1})), Status.OK,
     ""),
    ("call failed", Observed(1, "call", record=record(complete=True, error="bad")),
     Status.FAILED, "bad"),
    ("collected vs reported", Observed(0, "pytest", record=record(
        complete=True, collected=3, tests=[one_test("passed")], collect_errors=[])),
     Status.FAILED, "3 tests collected but 1 reported"),
    ("collection errors", Observed(1, "pytest", record=record(
        complete=True, collected=0, tests=[], collect_errors=["ImportError"])),
     Status.FAILED, "collection failed"),
    ("no tests", Observed(1, "pytest", record=record(complete=True, collected=0, tests=[],
                                                     collect_errors=[])),
     Status.FAILED, "no test was collected"),
    ("bad tests", Observed(1, "pytest", record=record(
        complete=True, collected=2, tests=[one_test("passed"), one_test("failed", "assert 1 == 2")],
        collect_errors=[])), Status.FAILED, "1 of 2 tests did not pass"),
    ("a test's MemoryError", Observed(1, "pytest", record=record(
        complete=True, collected=1, tests=[one_test("failed", "E   MemoryError")],
        collect_errors=[])), Status.MEMORY_LIMIT, "raised MemoryError"),
    # A test module too big to collect: the collection error is a MemoryError, not a
    # failure of the tests (nothing was collected, or only part).
    ("a collection MemoryError", Observed(1, "pytest", record=record(
        complete=True, collected=0, tests=[],
        collect_errors=["test_solution.py:1: in <module>\n    x = [\nE   MemoryError"])),
     Status.MEMORY_LIMIT, "collecting the tests ran out of memory"),
    ("a collection MemoryError, some tests collected", Observed(1, "pytest", record=record(
        complete=True, collected=3, tests=[one_test("passed")] * 3,
        collect_errors=["ok", "E   MemoryError"])),
     Status.MEMORY_LIMIT, "collecting the tests ran out of memory"),
    ("another collection error", Observed(1, "pytest", record=record(
        complete=True, collected=0, tests=[], collect_errors=["E   ImportError: nope"])),
     Status.FAILED, "collection failed"),
    ("nonzero exit", Observed(1, "pytest", record=passing()), Status.FAILED, "exit code 1"),
    ("pass", Observed(0, "pytest", record=passing()), Status.OK, ""),
]


@pytest.mark.parametrize(("seen", "status", "detail"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_classification(seen: Observed, status: Status, detail: str) -> None:
    reply = classify(seen)
    assert reply["status"] == status.value
    assert detail in reply["detail"]
    if not detail:
        assert reply["detail"] == ""


def test_limits_come_before_what_the_record_claims() -> None:
    # A run killed for its time that wrote a passing record first is still a timeout.
    seen = Observed(KILL, "pytest", record=passing(), killed_for=Killed.TIMEOUT)
    assert classify(seen)["status"] == Status.TIMEOUT


def test_exit_code_and_signal_are_reported_apart() -> None:
    assert (classify(Observed(-signal.SIGSEGV, "pytest"))["exit_code"],
            classify(Observed(-signal.SIGSEGV, "pytest"))["signal"]) == (None, signal.SIGSEGV)
    reply = classify(Observed(2, "command"))
    assert (reply["exit_code"], reply["signal"]) == (2, None)


def test_the_records_fields_reach_the_reply() -> None:
    reply = classify(Observed(0, "pytest", record=passing(1, data=[1])))
    assert reply["collected"] == 1 and len(reply["tests"]) == 1
    assert reply["collect_errors"] == [] and reply["data"] == [1]


def test_parse_record_tolerates_anything() -> None:
    assert parse_record(b"") == {} and parse_record(b"null") == {}
    assert parse_record(b'{"complete": true}') == {"complete": True}
