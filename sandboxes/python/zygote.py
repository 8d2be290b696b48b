"""The fork server that runs as PID 1 inside a sandbox container.

It imports pytest once (hypothesis and the in-sandbox handlers, mypy's among them, the
first time a run needs them), then serves requests read from stdin (4-byte big-endian
length + JSON) and answers on stdout the same way. Every request runs in a freshly forked
child that drops to an unprivileged uid, gets its own session, rlimits, work dir and
scrubbed environment. The child is never trusted: its stdout/stderr are capped, its
result travels over a private pipe, and when it ends every process of its uid is killed
and its files removed. A handler with `supervise` (the probes) runs its parent half here
instead, and each child it forks is confined the same way before any of the sample's code
runs (`run_supervised`).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
WORK_ROOT = "/work"
JOB_DIR = "/work/job"
ROLES = {"sample": 10000, "checker": 9999}
RESULT_CAP = 64 << 20
MAX_FRAME = 512 << 20

os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import pytest_job  # noqa: E402  (needs the environment above before pytest loads)
import sweep  # noqa: E402

HANDLERS: dict[str, Any] = {}
HANDLER_ERRORS: dict[str, str] = {}


def _handler_names() -> list[str]:
    folder = os.path.join(HERE, "handlers")
    return sorted(n[:-3] for n in os.listdir(folder) if n.endswith(".py") and n[0] != "_")


def _load_handler(name: str) -> None:
    """Import a handler here, in the fork server, the first time a run calls for it.

    Not at start: a container that never type-checks or probes should not pay for mypy's
    or the probes' imports (a fifth of a second each) before it serves its first sample.
    """
    if name in HANDLERS or name in HANDLER_ERRORS or name not in _handler_names():
        return
    import importlib

    try:
        module = importlib.import_module("handlers." + name)
    except Exception:  # a broken handler must not take the others down
        HANDLER_ERRORS[name] = traceback.format_exc()[-2000:]
        return
    HANDLERS[name] = module
    if "hypothesis" in sys.modules:  # the handler imported it: with the sandbox's profile
        pytest_job.use_hypothesis()
    if hasattr(module, "seed_cache"):  # the checker's scratch is the checker's to write
        _as_checker(module.seed_cache)
    gc.collect()
    gc.freeze()  # forked runs must not walk (and so copy) what the import made


# ---------------------------------------------------------------- framing


def read_frame(fd: int) -> dict[str, Any] | None:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">I", head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is too large")
    body = _read_exact(fd, size)
    if body is None:
        return None
    msg: dict[str, Any] = json.loads(body)
    return msg


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, msg: dict[str, Any]) -> None:
    body = json.dumps(msg, ensure_ascii=True).encode("ascii")
    data = struct.pack(">I", len(body)) + body
    while data:
        n = os.write(fd, data)
        data = data[n:]


# ---------------------------------------------------------------- the child


def _child_main(req: dict[str, Any], uid: int, workdir: str, fds: dict[str, int]) -> None:
    """Runs in the forked child; never returns."""
    code = 70
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds["out"], 1)
        os.dup2(fds["err"], 2)
        res = fds["res"]
        os.closerange(3, res)
        os.closerange(res + 1, 65536)
        env = _enter_sandbox(req, uid, workdir)
        job = req["job"]
        kind = job["kind"]
        if kind == "command":
            os.close(res)
            os.execvpe(job["argv"][0], job["argv"], env)
        if kind == "pytest":
            record = pytest_job.run(job.get("args") or [], workdir, bool(job.get("rewrite")))
        elif kind == "call":
            name = job["handler"]
            if name not in HANDLERS:
                raise LookupError(f"no handler {name!r}: {HANDLER_ERRORS.get(name, '')}")
            record = {"complete": True, "data": HANDLERS[name].run(job.get("payload") or {},
                                                                    workdir)}
        else:
            record = {"complete": False, "error": f"unknown job kind {kind!r}"}
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        body = json.dumps(record, default=repr).encode()
        _write_all(res, body)
        code = record.get("exit_code", 0)
    except MemoryError:
        _write_all(fds["res"], b'{"complete": false, "memory_error": true}')
        code = 71
    except BaseException as exc:
        try:
            os.write(2, traceback.format_exc().encode(errors="replace")[-8000:])
            error = {"complete": False, "error": f"{exc.__class__.__name__}: {exc}"[:2000]}
            _write_all(fds["res"], json.dumps(error).encode())
        except Exception:
            pass
    os._exit(code)


def _enter_sandbox(req: dict[str, Any], uid: int, workdir: str) -> dict[str, str]:
    """In a forked child whose descriptors are already its own: drop to `uid`, apply the
    rlimits, write the sample's files, and scrub the environment (returned)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    _apply_limits(req["limits"])
    home = os.path.join(workdir, ".home")
    tmp = os.path.join(workdir, ".tmp")
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    _write_files(workdir, req.get("files") or {})
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    env = {
        "PATH": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONHASHSEED": "0",
    }
    os.environ.clear()
    os.environ.update(env)
    import tempfile

    tempfile.tempdir = tmp
    sys.path.insert(0, workdir)
    return env


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _apply_limits(limits: dict[str, Any]) -> None:
    cpu = int(limits.get("cpu") or limits["timeout"]) + 1
    vsize = _vm_size()
    mem = vsize + int(limits["memory_mb"]) * (1 << 20)
    fsize = int(limits["file_size_mb"]) * (1 << 20)
    for res, value in (
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_AS, (mem, mem)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"])),
        (resource.RLIMIT_NPROC, (limits["processes"], limits["processes"])),
        (resource.RLIMIT_CORE, (0, 0)),
    ):
        resource.setrlimit(res, value)


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _write_files(workdir: str, files: dict[str, dict[str, str]]) -> None:
    import base64

    for name, content in files.items():
        norm = os.path.normpath(name)
        if norm.startswith(("/", "..")) or norm in (".", ""):
            raise ValueError(f"file name {name!r} leaves the work dir")
        path = os.path.join(workdir, norm)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = base64.b64decode(content["b64"]) if "b64" in content else content["text"].encode()
        with open(path, "wb") as fh:
            fh.write(data)


# ---------------------------------------------------------------- supervision


class Capture:
    """Reads one pipe with a byte cap; remembers whether the cap was hit."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd, self.cap = fd, cap
        self.buf = bytearray()
        self.overflow = False
        self.open = True
        os.set_blocking(fd, False)

    def pump(self) -> bool:
        """Read what is there; False when nothing was (would block, or end of file)."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            self.open = False
            return False
        room = self.cap - len(self.buf)
        if len(chunk) > room:
            self.overflow = True
        self.buf += chunk[: max(room, 0)]
        return True

    def drain(self) -> None:
        while self.open and self.pump():
            pass

    def close(self) -> None:
        os.close(self.fd)


def run_request(req: dict[str, Any]) -> dict[str, Any]:
    role = req.get("role", "sample")
    uid = ROLES[role]
    workdir = JOB_DIR if role == "sample" else "/cache/checker/job"
    limits = req["limits"]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    oom_before = _oom_kills()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        os.close(res_r)
        _child_main(req, uid, workdir, {"out": out_w, "err": err_w, "res": res_w})
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
            killed_for = "timeout"
            break
        for fd, _ in poller.poll(min(remaining, 1.0) * 1000):
            if fd == pidfd:
                exited = True
                continue
            cap_ = by_fd[fd]
            cap_.pump()
            if not cap_.open:
                poller.unregister(fd)
        if out.overflow or err.overflow:
            killed_for = "output"
            break
        if res.overflow:
            killed_for = "result"
            break
    if not exited:
        sweep.sweep(uid, workdir, clean=False)
    _, wstatus, rusage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    os.close(pidfd)
    full, leftovers, swept = _sweep_after(uid, workdir, keep_cache=role == "checker")
    for c in (out, err, res):
        c.drain()
        c.close()
    _reap_orphans()
    cpu = rusage.ru_utime + rusage.ru_stime
    cpu_limit = float(limits.get("cpu") or limits["timeout"])
    reply = _classify(
        wstatus, killed_for, res.buf, err, full, _oom_kills() > oom_before, cpu >= cpu_limit,
        req["job"],
    )
    reply.update(
        wall_time=wall,
        cpu_time=cpu,
        peak_memory_kb=rusage.ru_maxrss,
        stdout=out.buf.decode("utf-8", "replace"),
        stderr=err.buf.decode("utf-8", "replace"),
        stdout_truncated=out.overflow,
        stderr_truncated=err.overflow,
    )
    after = time.monotonic() - start - wall
    reply["overhead"] = {"sweep": round(swept, 4), "total": round(after, 4)}
    return _taint(reply, leftovers)


def _sweep_after(uid: int, workdir: str, keep_cache: bool = False) -> tuple[str | None,
                                                                           str | None, float]:
    """After a run: the scratch it filled (if any), what the sweep left, the sweep's time."""
    full = sweep.full_scratch()
    began = time.monotonic()
    leftovers = sweep.sweep(uid, workdir, clean=True, keep_cache=keep_cache)
    return full, leftovers, time.monotonic() - began


def _taint(reply: dict[str, Any], leftovers: str | None) -> dict[str, Any]:
    """Mark the reply's container unfit for more runs if the run left anything behind."""
    dirty = sweep.scratch_dirty()
    if leftovers or dirty:
        reply["tainted"] = leftovers or dirty
    return reply


def _supervises(req: dict[str, Any]) -> Any:
    """The handler of a call job that forks its own children (the probes), or None."""
    job = req.get("job") or {}
    handler = HANDLERS.get(str(job.get("handler"))) if job.get("kind") == "call" else None
    return handler if hasattr(handler, "supervise") else None


def run_supervised(req: dict[str, Any], handler: Any) -> dict[str, Any]:
    """A call job whose handler runs its parent half here and forks its own children.

    The handler reads only the request (the sample's files as text) here; every child it
    forks is confined by `_enter_sandbox` before any of the sample's code runs, and
    reports over a pipe of the handler's, which the handler does not trust. One fork per
    child instead of two: the probes' children are children of this server.
    """
    uid, workdir = ROLES["sample"], JOB_DIR
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    oom_before = _oom_kills()
    start = time.monotonic()
    reply: dict[str, Any] = {"exit_code": 0, "signal": None, "status": "ok", "detail": ""}
    try:
        files = {name: content["text"] for name, content in (req.get("files") or {}).items()
                 if "text" in content}
        reply["data"] = handler.supervise(
            req["job"].get("payload") or {}, workdir, files,
            lambda: _enter_sandbox(req, uid, workdir),
            lambda: (sweep.sweep(uid, workdir, clean=False), _reap_orphans()))
    except Exception as exc:  # the handler's fault or the sample's odd text: this job only
        reply.update(status="crashed", exit_code=1,
                     detail=f"{exc.__class__.__name__}: {exc}"[:2000])
    wall = time.monotonic() - start
    full, leftovers, swept = _sweep_after(uid, workdir)
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if full:
        reply.update(status="output_limit", detail=f"the run filled {full}")
    elif _oom_kills() > oom_before and reply["status"] != "ok":
        reply.update(status="memory_limit", detail="the run ran out of memory")
    reply.update(
        wall_time=wall,
        cpu_time=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        peak_memory_kb=0,  # the children's peak is this server's lifetime peak: not the job's
        stdout="", stderr="", stdout_truncated=False, stderr_truncated=False,
        overhead={"sweep": round(swept, 4), "total": round(time.monotonic() - start - wall, 4)},
    )
    return _taint(reply, leftovers)


def run_pytest(req: dict[str, Any]) -> dict[str, Any]:
    """Tests run with plain asserts; a run with failed asserts runs again, rewritten.

    pytest's assert rewriting is a third of a typical run, and only a failure shows what
    it buys (the compared values), so a failed run pays for it: outcomes stay the first
    run's, messages come from the second.
    """
    job = req["job"]
    reply = run_request(req if "rewrite" in job else {**req, "job": {**job, "rewrite": False}})
    failed = [t for t in reply.get("tests") or [] if t.get("outcome") in ("failed", "error")
              and "AssertionError" in (t.get("message") or "")]
    if "rewrite" in job or reply.get("status") != "failed" or not failed or \
            reply.get("tainted"):
        return reply
    detailed = run_request({**req, "job": {**job, "rewrite": True}})
    if detailed.get("tainted"):
        reply["tainted"] = detailed["tainted"]
    messages = {t.get("nodeid"): t.get("message") for t in detailed.get("tests") or []
                if t.get("outcome") in ("failed", "error")}
    for test in failed:
        test["message"] = messages.get(test.get("nodeid")) or test["message"]
    return reply


def _classify(
    wstatus: int,
    killed_for: str | None,
    raw: bytes,
    err: Capture,
    full: str | None,
    oom: bool,
    cpu_spent: bool,
    job: dict[str, Any],
) -> dict[str, Any]:
    exit_code = os.waitstatus_to_exitcode(wstatus)
    sig = -exit_code if exit_code < 0 else None
    reply: dict[str, Any] = {"exit_code": exit_code if sig is None else None, "signal": sig}
    record: dict[str, Any] = {}
    if raw:
        try:
            record = json.loads(raw)
        except ValueError:
            record = {}
    if not isinstance(record, dict):
        record = {}
    for key in ("collected", "tests", "collect_errors", "data"):
        if key in record:
            reply[key] = record[key]

    def done(status: str, detail: str) -> dict[str, Any]:
        reply["status"], reply["detail"] = status, detail
        return reply

    if killed_for == "timeout":
        return done("timeout", "wall-clock limit reached; the process group was killed")
    if killed_for == "output":
        return done("output_limit", "stdout or stderr went over the cap; the run was killed")
    if killed_for == "result":
        return done("crashed", "the result record went over its cap")
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_spent):
        return done("timeout", "CPU-time limit reached")
    if record.get("memory_error") or (sig == signal.SIGKILL and oom):
        return done("memory_limit", "the run ran out of memory")
    if full:
        return done("output_limit", f"the run filled {full}")
    if sig is not None:
        return done("crashed", f"killed by signal {signal.Signals(sig).name}")
    if job["kind"] == "command":
        if record.get("error"):  # the command never started
            return done("crashed", record["error"])
        if exit_code == 0:
            return done("ok", "")
        if b"MemoryError" in err.buf[-4096:]:
            return done("memory_limit", "MemoryError")
        return done("failed", f"exit code {exit_code}")
    if not record.get("complete"):
        why = record.get("error") or "the run exited before writing a complete result"
        return done("crashed", f"{why} (exit code {exit_code})")
    if job["kind"] == "call":
        return done("ok" if exit_code == 0 else "failed", record.get("error", ""))
    tests = record.get("tests") or []
    if any("MemoryError" in (t.get("message") or "") for t in tests if t["outcome"] != "passed"):
        return done("memory_limit", "a test raised MemoryError")
    collected = record.get("collected") or 0
    bad = [t for t in tests if t["outcome"] != "passed"]
    if record.get("collect_errors"):
        return done("failed", "collection failed")
    if collected == 0:
        return done("failed", "no test was collected")
    if len(tests) != collected:
        return done("failed", f"{collected} tests collected but {len(tests)} reported")
    if bad:
        return done("failed", f"{len(bad)} of {collected} tests did not pass")
    if exit_code != 0:
        return done("failed", f"exit code {exit_code}")
    return done("ok", "")


def _oom_kills() -> int:
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


def _reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------- main loop


def _warm(names: list[str]) -> dict[str, Any]:
    """Run the named handlers' `warm()` here, once, so every forked run starts warm."""
    errors = {}
    for name in names:
        _load_handler(name)
        try:
            getattr(HANDLERS[name], "warm", lambda: None)()
        except Exception:  # a cold handler is slower, not wrong
            errors[name] = traceback.format_exc()[-2000:]
    gc.collect()
    gc.freeze()
    return {"ok": not errors, "errors": errors}


def _prepare_for(req: dict[str, Any]) -> None:
    """Load, here and once, what the run will need: its handler; hypothesis if it uses it."""
    job = req.get("job") or {}
    if job.get("kind") == "call":
        _load_handler(str(job.get("handler")))
    if not pytest_job.hypothesis_ready() and any(
            "hypothesis" in (f.get("text") or "") for f in (req.get("files") or {}).values()):
        pytest_job.use_hypothesis()
        gc.collect()
        gc.freeze()


def _prepare_dirs() -> None:
    os.makedirs(JOB_DIR, exist_ok=True)
    os.chmod(JOB_DIR, 0o1777)


def _as_checker(task: Any) -> None:
    """Run `task` in a child with the checker's uid (its scratch is not ours to write)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(ROLES["checker"])
            os.setuid(ROLES["checker"])
            os.makedirs("/cache/checker", exist_ok=True)
            task()
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


def _set_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back to us
    except OSError:
        pass


def main() -> None:
    chan_in = os.dup(0)
    chan_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # keeps anything printed by imports off the channel
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # PID 1 gets only the signals it handles; the sweep runs as the sample's uid, whose
    # survivors could otherwise interrupt it through Python's SIGINT handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_subreaper()
    _prepare_dirs()
    pytest_job.prepare(JOB_DIR)
    gc.collect()
    gc.freeze()
    tainted = None  # once set, this container runs nothing more: the host replaces it
    warmed: list[str] = []
    idle: float | None = None  # parked: nobody attached; exit after this long unadopted
    while True:
        if idle is not None and not select.select([chan_in], [], [], idle)[0]:
            return  # the container stops, and Docker removes it
        req = read_frame(chan_in)
        if req is None:
            return
        op = req.get("op")
        idle = None
        try:
            if op == "run" and tainted:
                # The host pipelines requests; one queued behind a tainting run goes elsewhere.
                reply = {"status": "sandbox_error", "detail": f"refused: {tainted}",
                         "refused": True, "tainted": tainted}
            elif op == "ping":
                reply: dict[str, Any] = {"ok": True, "versions": pytest_job.versions(),
                                         "handlers": _handler_names(),
                                         "handler_errors": HANDLER_ERRORS, "warmed": warmed}
            elif op == "warm":
                reply = _warm(req.get("handlers") or [])
                warmed += [n for n in req.get("handlers") or [] if n not in reply["errors"]]
            elif op == "park":  # a tainted container is not kept: it ends at once
                reply = {"parked": not tainted}
                idle = 0.0 if tainted else max(0.0, float(req.get("idle") or 0))
            elif op == "run":
                _prepare_for(req)
                handler = _supervises(req)
                if handler is not None:
                    reply = run_supervised(req, handler)
                elif req["job"].get("kind") == "pytest":
                    reply = run_pytest(req)
                else:
                    reply = run_request(req)
            else:
                reply = {"status": "sandbox_error", "detail": f"unknown op {op!r}"}
        except Exception:
            reply = {"status": "sandbox_error", "detail": traceback.format_exc()[-4000:],
                     "tainted": "supervisor error"}
        tainted = tainted or reply.get("tainted")
        write_frame(chan_out, reply)


if __name__ == "__main__":
    main()
