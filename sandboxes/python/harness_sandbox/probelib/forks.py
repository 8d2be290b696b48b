"""Forked children that run many variants each and report one JSON record per variant.

A child that runs past its wall-clock limit is killed with its process group; its
stdout goes nowhere and its records travel over a private pipe.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import time
from collections.abc import Callable
from typing import Any

MAX_EXTEND = 30.0  # the most a child's progress line may push its deadline out
RECORD_CAP = 1 << 20
MAX_FD = 65536

Record = dict[str, Any]


_CHANNEL: dict[str, int] = {}  # in a child of fork_many: the pipe its records go to


def _send(fd: int, record: Record) -> None:
    line = json.dumps(record, default=repr).encode() + b"\n"
    while line:
        line = line[os.write(fd, line):]


def progress(record: Record, seconds: float) -> None:
    """From a body, in a child: `record` stands if the body dies from now on; allow it
    `seconds` more (a survivor's search takes longer than a test run)."""
    if "fd" in _CHANNEL:
        _send(_CHANNEL["fd"], {"progress": record, "extend": seconds})


Timeout = float | Callable[[int, list[Record], bool], float]


def fork_many(bodies: list[Callable[[], Record]], timeout: Timeout,
              prepare: Callable[[], None] | None = None,
              reset: Callable[[], None] | None = None,
              isolate: bool = False,
              after: Callable[[int, Record], None] | None = None) -> list[Record]:
    """Each body() in turn in forked children, as many per child as it survives.

    A fork costs more than most test suites take to run, so one child runs variant after
    variant (each body restores what it swapped). A body that kills its child, or runs
    past its timeout (or what its `progress` allowed), gets {"crashed"} or {"timeout"},
    or the record it last sent with `progress`; a fresh child goes on after it.
    `timeout`: wall seconds per body, or timeout(index, results so far, fresh), called in
    this process before body `index` starts; `fresh` when a new child is forked for it.
    `prepare()` runs first in each child; if it fails, the bodies left are reported
    {"skipped", "setup_error"}. `reset()` runs here when a child died or hung, before
    it is waited for: it must end the child and whatever it left running (where this
    process may not signal them itself).

    `isolate`: each body runs in a process of its own, forked by the child after
    `prepare()` (so from the state `prepare` left, where nothing of the bodies ran):
    no body sees what another did. The child relays the records, and learns each with
    `after(index, record)` (which may add to it) before it goes out and the next body is
    forked; a body that dies is reported by the child, which goes on with the next.
    """
    limit = timeout if callable(timeout) else (lambda _index, _results, _fresh: timeout)
    results: list[Record] = []
    while len(results) < len(bodies):
        start = len(results)
        span = limit(start, results, True)
        read_fd, write_fd = os.pipe()
        # Children run with no cyclic collector: it would walk (and so copy) the parent's
        # heap. Not gc.freeze(): in a long-lived parent, frozen garbage is never freed.
        collecting = gc.isenabled()
        gc.disable()
        pid = os.fork()
        if pid != 0 and collecting:
            gc.enable()
        if pid == 0:  # the child: never returns
            me = os.getpid()
            try:
                os.setpgid(0, 0)
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                # Inherited channels (the sandbox's own result pipe) must not be writable here.
                os.closerange(3, write_fd)
                os.closerange(write_fd + 1, MAX_FD)
                _CHANNEL["fd"] = write_fd
                try:
                    if prepare is not None:
                        prepare()
                except BaseException as exc:
                    why = f"the child could not be set up: {exc!r}"[:300]
                    for _ in bodies[start:]:
                        _send(write_fd, {"ran": 0, "skipped": True, "setup_error": why})
                    os._exit(1)
                if isolate:
                    _isolated_all(bodies, start, write_fd, after)
                    os._exit(0)
                for body in bodies[start:]:
                    done = body()
                    if os.getpid() != me:  # a process the tests forked must not report
                        os._exit(1)
                    _send(write_fd, done)
                os._exit(0)
            except BaseException:
                pass
            os._exit(1)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # no window in which the child is outside its group
            os.setpgid(pid, pid)
        fate: Record | None = None
        interim: Record | None = None  # what the running body said with `progress`
        buffer, deadline = b"", time.monotonic() + span
        while len(results) < len(bodies):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                fate = {"timeout": True}
                break
            chunk = os.read(read_fd, 1 << 16)
            if not chunk or len(buffer) > RECORD_CAP:
                fate = {"crashed": "no complete record"}
                break
            buffer += chunk
            while b"\n" in buffer and len(results) < len(bodies):
                line, buffer = buffer.split(b"\n", 1)
                record: Record | None
                try:  # the child's lines are not trusted: only known fields, well typed
                    record = _sanitized(json.loads(line))
                except (ValueError, RecursionError):
                    record = None
                if isinstance(record, dict) and isinstance(record.get("progress"), dict):
                    interim = record["progress"]
                    extend = record.get("extend")
                    extend = min(float(extend), MAX_EXTEND) if isinstance(
                        extend, int | float) else span
                    deadline = time.monotonic() + extend
                    continue
                results.append(record if record is not None and _complete(record) else
                               {"crashed": "no complete record"})
                if len(results) < len(bodies):
                    span = limit(len(results), results, False)
                interim, deadline = None, time.monotonic() + span
        for target in (-pid, pid):  # the child, and whatever it left behind in its group
            with contextlib.suppress(OSError):
                os.kill(target, signal.SIGKILL)
        if reset is not None and (fate is not None or len(results) < len(bodies)):
            reset()  # where this process may not signal the child (another uid), it can
        with contextlib.suppress(ChildProcessError):  # reset may have reaped it
            os.waitpid(pid, 0)
        os.close(read_fd)
        if fate is not None and len(results) < len(bodies):
            # The body that was running when its child died or hung.
            results.append({**interim, "cut": fate} if interim is not None and
                           _complete(interim) else fate)
    return results


PR_SET_PDEATHSIG = 1


def _find_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


PRCTL = _find_prctl()  # looked up once, in the fork server: it costs ~3 ms each time


_EARLIER: list[Record] = []  # in an isolated body's process: records it was forked before


def earlier() -> list[Record]:
    """In an isolated body's process: the records of the bodies before it that went out
    after it was forked (it is forked ahead, while the body before it runs), in order.
    What the child learns from them (`after`), this process must learn from these."""
    return _EARLIER


class _Spare:
    """A process forked from the child's state, waiting to be told which body to run."""

    def __init__(self, pid: int, go_fd: int, read_fd: int, seen: int) -> None:
        self.pid, self.go_fd, self.read_fd, self.seen = pid, go_fd, read_fd, seen


def _isolated_all(bodies: list[Callable[[], Record]], start: int, out_fd: int,
                  after: Callable[[int, Record], None] | None) -> None:
    """In fork_many's child: each body from `start` in a process forked for it, one at
    a time, relaying its lines to `out_fd`; exactly one final record goes out for each.

    The process for the next body is forked while the current one runs (the fork and
    its first page faults overlap that run), and waits on a pipe until the current one
    has been ended and `after` has run; a process that is done is killed, and reaped
    later (its memory is torn down meanwhile, not while this one waits)."""
    pending: list[int] = []  # killed, not yet reaped
    sent: list[Record] = []
    spare: _Spare | None = None
    for index in range(start, len(bodies)):
        current = spare if spare is not None else _spare(bodies, pending, len(sent))
        spare = None
        if current is None:
            final: Record = {"crashed": "could not fork"}
        else:
            order = json.dumps({"index": index, "earlier": sent[current.seen:]},
                               default=repr).encode() + b"\n"
            try:
                _write_all(current.go_fd, order)
            except OSError:
                pass  # it died waiting: its pipe reports that below
            os.close(current.go_fd)
            if index + 1 < len(bodies):
                spare = _spare(bodies, pending, len(sent))
            final = _relay(current, out_fd)
            pending.append(current.pid)
        _reap(pending, block=False)
        if after is not None:
            after(index, final)
        _send(out_fd, final)
        sent.append(final)
    _reap(pending, block=True)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _reap(pending: list[int], block: bool) -> None:
    for pid in list(pending):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            pending.remove(pid)


def _spare(bodies: list[Callable[[], Record]], pending: list[int], seen: int
           ) -> _Spare | None:
    """A process forked now, that runs the body it is told to, once told."""
    go_read, go_write = os.pipe()
    read_fd, write_fd = os.pipe()
    pid = -1
    for wait in (0.0, 0.01, 0.05, 0.1, 0.2, 0.5, None):  # the processes of the bodies
        try:                                             # before may still count against
            pid = os.fork()                              # RLIMIT_NPROC
            break
        except BlockingIOError:
            if wait is None:
                for fd in (go_read, go_write, read_fd, write_fd):
                    os.close(fd)
                return None
            _reap(pending, block=True)
            time.sleep(wait)
    if pid == 0:
        _spare_child(bodies, go_read, write_fd)
    os.close(go_read)
    os.close(write_fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    return _Spare(pid, go_write, read_fd, seen)


def _spare_child(bodies: list[Callable[[], Record]], go_fd: int, write_fd: int) -> None:
    """The spare process: never returns."""
    try:
        os.setpgid(0, 0)  # its own group: ended with whatever it starts
        if PRCTL is not None:  # and with the child, if that is killed first
            PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # Nothing but its own two pipes: not the child's channel, nor another's pipes.
        low, high = sorted((go_fd, write_fd))
        os.closerange(3, low)
        os.closerange(low + 1, high)
        os.closerange(high + 1, MAX_FD)
        me = os.getpid()
        line = b""
        while not line.endswith(b"\n"):
            chunk = os.read(go_fd, 1 << 16)
            if not chunk:  # the child is gone, or has no body for it
                os._exit(1)
            line += chunk
        os.close(go_fd)
        order = json.loads(line)
        _EARLIER[:] = order["earlier"]
        _CHANNEL["fd"] = write_fd
        done = bodies[order["index"]]()
        if os.getpid() == me:  # a process the tests forked must not report
            _send(write_fd, done)
            # Wait to be killed: in a container, a process that exits by itself
            # can take ~50 ms to be reaped, one killed ~1 ms.
            while True:
                signal.pause()
    except BaseException:
        pass
    os._exit(1)


def _relay(current: _Spare, out_fd: int) -> Record:
    """The body's final record; its `progress` lines go on to `out_fd` at once (they
    move the deadline). The process is killed, not waited for."""
    buffer = b""
    interim: Record | None = None
    final: Record | None = None
    read_fd = current.read_fd
    while final is None:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk or len(buffer) > RECORD_CAP:
            break
        buffer += chunk
        while b"\n" in buffer and final is None:
            line, buffer = buffer.split(b"\n", 1)
            record: Record | None
            try:
                record = _sanitized(json.loads(line))
            except (ValueError, RecursionError):
                record = None
            if isinstance(record, dict) and isinstance(record.get("progress"), dict):
                interim = record["progress"]
                _send(out_fd, record)
            else:
                final = record if record is not None and _complete(record) else \
                    {"crashed": "no complete record"}
    for target in (-current.pid, current.pid):
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)
    os.close(read_fd)
    if final is None:  # it died (or sent too much) before its record
        cut: Record = {"crashed": "no complete record"}
        final = {**interim, "cut": cut} if interim is not None and _complete(interim) \
            else cut
    return final


# The fields a child's record may carry, and their types (anything else is dropped).
_FIELDS: dict[str, type] = {
    "ran": int, "collected": int, "tests_passed": int, "tests_skipped": int,
    "passed": bool, "skipped": bool, "timeout": bool, "sample_fault": bool,
    "seconds": float, "cpu": float, "setup_seconds": float, "extend": float,
    "failed": str, "message": str, "error": str, "crashed": str, "setup_error": str,
    "search_skipped": str, "shared_unsafe": str, "cut": dict, "progress": dict,
    "search": list, "tampering": list,
}
_FIELD_CAP = 4000  # characters of a text field


def _sanitized(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """`value` reduced to the known fields of a record with their types, or None."""
    if not isinstance(value, dict) or depth > 2:
        return None
    out: dict[str, Any] = {}
    for key, kind in _FIELDS.items():
        field = value.get(key)
        if kind is float and isinstance(field, int | float) and \
                type(field) in (int, float) and 0 <= field < 1e9:
            out[key] = float(field)  # also rules out NaN and infinities
        elif kind in (int, bool) and type(field) is kind:
            out[key] = field
        elif kind is str and isinstance(field, str):
            out[key] = field[:_FIELD_CAP]
        elif kind is dict and isinstance(field, dict):
            nested = _sanitized(field, depth + 1)
            if nested is not None:
                out[key] = nested
        elif key == "tampering" and isinstance(field, list):
            out[key] = [[str(what)[:200], str(how)[:20]] for what, how in (
                pair for pair in field[:20] if isinstance(pair, list) and len(pair) == 2
                and all(isinstance(v, str) for v in pair))]
        elif key == "search" and isinstance(field, list) and len(field) == 2 and \
                type(field[1]) is int and (field[0] is None or (
                    isinstance(field[0], dict) and all(
                        isinstance(v, str) for v in field[0].values()))):
            out[key] = [field[0] and {str(k): v[:_FIELD_CAP] for k, v in field[0].items()},
                        field[1]]
    return out


def _complete(record: Any) -> bool:
    return isinstance(record, dict) and (isinstance(record.get("ran"), int)
                                         or bool(record.get("skipped")))


