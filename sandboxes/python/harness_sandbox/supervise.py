"""Supervising runs from the fork server: fork, watch, kill, sweep, classify, reply."""

from __future__ import annotations

import os
import resource
import select
import time
from types import ModuleType

from harness_sandbox import sweep
from harness_sandbox.capture import Capture
from harness_sandbox.child import child_main
from harness_sandbox.classify import Killed, Observed, classify
from harness_sandbox.confine import enter_sandbox
from harness_sandbox.handlers import Registry
from harness_sandbox.protocol import (
    JOB_DIR,
    RESULT_CAP,
    UIDS,
    WORK_DIRS,
    JobKind,
    Role,
    RunReply,
    RunRequest,
    Status,
)


def run_request(req: RunRequest, handlers: Registry) -> RunReply:
    """Run the request's job in a confined, forked child and report how it ended."""
    role = Role(req.get("role", Role.SAMPLE))
    uid, workdir = UIDS[role], WORK_DIRS[role]
    limits = req["limits"]
    job = req["job"]
    name = str(job.get("handler")) if job["kind"] == JobKind.CALL else ""
    handler = handlers.get(name) if name else None
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    oom_before = oom_kills()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        os.close(res_r)
        child_main(req, uid, workdir, {"out": out_w, "err": err_w, "res": res_w}, handler,
                   handlers.why_missing(name))
    for fd in (out_w, err_w, res_w):
        os.close(fd)
    cap = int(limits["output_bytes"])
    out, err, res = Capture(out_r, cap), Capture(err_r, cap), Capture(res_r, RESULT_CAP)
    pidfd = os.pidfd_open(pid)
    deadline = start + float(limits["timeout"])
    killed_for = None
    poller = select.poll()
    by_fd = {c.fd: c for c in (out, err, res)}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    exited = False
    while not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed_for = Killed.TIMEOUT
            break
        for fd, _ in poller.poll(min(remaining, 1.0) * 1000):
            if fd == pidfd:
                exited = True
                continue
            pipe = by_fd[fd]
            pipe.pump()
            if not pipe.open:
                poller.unregister(fd)
        if out.overflow or err.overflow:
            killed_for = Killed.OUTPUT
            break
        if res.overflow:
            killed_for = Killed.RESULT
            break
    if not exited:
        sweep.sweep(uid, workdir, clean=False)
    _, wstatus, rusage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(pidfd)
    full, leftovers, swept = sweep_after(uid, workdir, keep_cache=role == Role.CHECKER)
    for c in (out, err, res):
        c.drain()
        c.close()
    reap_orphans()
    cpu = rusage.ru_utime + rusage.ru_stime
    cpu_limit = float(limits.get("cpu") or limits["timeout"])
    reply = classify(Observed(
        exit_code=os.waitstatus_to_exitcode(wstatus), kind=job["kind"], record=bytes(res.buf),
        stderr_tail=bytes(err.buf[-4096:]), killed_for=killed_for, full_scratch=full,
        oom=oom_kills() > oom_before, cpu_spent=cpu >= cpu_limit))
    reply.update({
        "wall_time": wall,
        "cpu_time": cpu,
        "peak_memory_kb": rusage.ru_maxrss,
        "stdout": out.text(),
        "stderr": err.text(),
        "stdout_truncated": out.overflow,
        "stderr_truncated": err.overflow,
    })
    after = time.monotonic() - start - wall
    reply["overhead"] = {"sweep": round(swept, 4), "total": round(after, 4)}
    return taint(reply, leftovers)


def run_pytest(req: RunRequest, handlers: Registry) -> RunReply:
    """Tests run with plain asserts; a run with failed asserts runs again, rewritten.

    pytest's assert rewriting is a third of a typical run, and only a failure shows what
    it buys (the compared values), so a failed run pays for it: outcomes stay the first
    run's, messages come from the second.
    """
    job = req["job"]
    assert job["kind"] == JobKind.PYTEST
    plain: RunRequest = req if "rewrite" in job else \
        {**req, "job": {**job, "rewrite": False}}
    reply = run_request(plain, handlers)
    failed = [t for t in reply.get("tests") or [] if t.get("outcome") in ("failed", "error")
              and "AssertionError" in (t.get("message") or "")]
    if "rewrite" in job or reply.get("status") != Status.FAILED or not failed or \
            reply.get("tainted"):
        return reply
    detailed = run_request({**req, "job": {**job, "rewrite": True}}, handlers)
    if detailed.get("tainted"):
        reply["tainted"] = detailed["tainted"]
    messages = {t.get("nodeid"): t.get("message") for t in detailed.get("tests") or []
                if t.get("outcome") in ("failed", "error")}
    for test in failed:
        test["message"] = messages.get(test.get("nodeid")) or test["message"]
    return reply


def supervisor_of(req: RunRequest, handlers: Registry) -> ModuleType | None:
    """The handler of a call job that forks its own children (the probes), or None."""
    job = req["job"]
    if job.get("kind") != JobKind.CALL:
        return None
    handler = handlers.get(str(job.get("handler")))
    return handler if hasattr(handler, "supervise") else None


def run_supervised(req: RunRequest, handler: ModuleType) -> RunReply:
    """A call job whose handler runs its parent half here and forks its own children.

    The handler reads only the request (the sample's files as text) here; every child it
    forks is confined by `enter_sandbox` before any of the sample's code runs, and
    reports over a pipe of the handler's, which the handler does not trust. One fork per
    child instead of two: the probes' children are children of this server.
    """
    uid, workdir = UIDS[Role.SAMPLE], JOB_DIR
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    oom_before = oom_kills()
    start = time.monotonic()
    reply: RunReply = {"exit_code": 0, "signal": None, "status": Status.OK, "detail": ""}
    job = req["job"]
    try:
        files = {name: content["text"] for name, content in (req.get("files") or {}).items()
                 if "text" in content}
        reply["data"] = handler.supervise(
            job.get("payload") or {}, workdir, files,
            lambda: enter_sandbox(req, uid, workdir), lambda: _reset(uid, workdir))
    except Exception as exc:  # the handler's fault or the sample's odd text: this job only
        reply.update({"status": Status.CRASHED, "exit_code": 1,
                      "detail": f"{exc.__class__.__name__}: {exc}"[:2000]})
    wall = time.monotonic() - start
    full, leftovers, swept = sweep_after(uid, workdir)
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if full:
        reply.update({"status": Status.OUTPUT_LIMIT, "detail": f"the run filled {full}"})
    elif oom_kills() > oom_before and reply["status"] != Status.OK:
        reply.update({"status": Status.MEMORY_LIMIT, "detail": "the run ran out of memory"})
    reply.update({
        "wall_time": wall,
        "cpu_time": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "peak_memory_kb": 0,  # the children's peak is this server's lifetime peak, not the job's
        "stdout": "", "stderr": "", "stdout_truncated": False, "stderr_truncated": False,
        "overhead": {"sweep": round(swept, 4),
                     "total": round(time.monotonic() - start - wall, 4)},
    })
    return taint(reply, leftovers)


def _reset(uid: int, workdir: str) -> None:
    """End whatever a probe child of the sample left running."""
    sweep.sweep(uid, workdir, clean=False)
    reap_orphans()


def sweep_after(uid: int, workdir: str,
                keep_cache: bool = False) -> tuple[str | None, str | None, float]:
    """After a run: the scratch it filled (if any), what the sweep left, the sweep's time."""
    full = sweep.full_scratch()
    began = time.monotonic()
    leftovers = sweep.sweep(uid, workdir, clean=True, keep_cache=keep_cache)
    return full, leftovers, time.monotonic() - began


def taint(reply: RunReply, leftovers: str | None) -> RunReply:
    """Mark the reply's container unfit for more runs if the run left anything behind."""
    dirty = sweep.scratch_dirty()
    if leftovers or dirty:
        reply["tainted"] = leftovers or dirty or ""
    return reply


def oom_kills() -> int:
    """The container's count of OOM kills so far (cgroup v2 or v1)."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as fh:
                for line in fh:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except OSError:
            continue
    return 0


def reap_orphans() -> None:
    """Wait for every child that has ended (orphans are ours: we are their subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
