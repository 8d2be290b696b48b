"""The fork server that runs as PID 1 inside a sandbox container (`python -I -m
harness_sandbox`).

It imports pytest once (hypothesis and the in-sandbox handlers, mypy's among them, the
first time a run needs them), then serves requests read from stdin and answers on stdout
(`protocol`: 4-byte big-endian length + JSON). Every request runs in a freshly forked
child that drops to an unprivileged uid, gets its own session, rlimits, work dir and
scrubbed environment (`confine`, `child`). The child is never trusted: its stdout/stderr
are capped, its result travels over a private pipe, and when it ends every process of
its uid is killed and its files removed (`supervise`, `sweep`). A handler with
`supervise` (the probes) runs its parent half here instead, and each child it forks is
confined the same way before any of the sample's code runs.
"""

from __future__ import annotations

import ctypes
import gc
import os
import select
import signal
import sys
import traceback
from typing import Any, cast

os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
sys.dont_write_bytecode = True

# pytest_job imports pytest, which reads the environment above.
from harness_sandbox import pytest_job  # noqa: E402
from harness_sandbox.confine import as_uid  # noqa: E402
from harness_sandbox.handlers import Registry  # noqa: E402
from harness_sandbox.protocol import (  # noqa: E402
    HEADER_SIZE,
    JOB_DIR,
    PROTOCOL_VERSION,
    UIDS,
    JobKind,
    Op,
    Reply,
    Role,
    RunRequest,
    Status,
    decode_body,
    encode_frame,
    frame_size,
)
from harness_sandbox.supervise import (  # noqa: E402
    run_pytest,
    run_request,
    run_supervised,
    supervisor_of,
)


def read_frame(fd: int) -> dict[str, Any] | None:
    """The next request on `fd`; None at end of file."""
    head = _read_exact(fd, HEADER_SIZE)
    if head is None:
        return None
    body = _read_exact(fd, frame_size(head))
    return None if body is None else decode_body(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, msg: Any) -> None:
    """Send one reply on `fd`."""
    data = encode_frame(msg)
    while data:
        data = data[os.write(fd, data):]


def _settle() -> None:
    """Collect, then freeze what exists: forked runs must not walk (and so copy) it."""
    gc.collect()
    gc.freeze()


class Server:
    """The fork server's state between requests: its handlers, what it warmed, whether
    its container is still fit to run anything."""

    def __init__(self) -> None:
        self.handlers = Registry()
        self.warmed: list[str] = []
        self.tainted: str | None = None  # once set, nothing more runs: the host replaces us

    def load_handler(self, name: str) -> None:
        """Import a handler here, in the fork server, the first time a run calls for it.

        Not at start: a container that never type-checks or probes should not pay for
        mypy's or the probes' imports (a fifth of a second each) before its first sample.
        """
        module = self.handlers.load(name)
        if module is None:
            return
        if "hypothesis" in sys.modules:  # the handler imported it: with the sandbox's profile
            pytest_job.use_hypothesis()
        if hasattr(module, "seed_cache"):  # the checker's scratch is the checker's to write
            as_uid(UIDS[Role.CHECKER], module.seed_cache)
        _settle()

    def warm(self, names: list[str]) -> dict[str, Any]:
        """Run the named handlers' `warm()` here, once, so every forked run starts warm."""
        errors = {}
        for name in names:
            self.load_handler(name)
            try:
                module = self.handlers.get(name)
                if module is None:
                    raise LookupError(self.handlers.why_missing(name))
                getattr(module, "warm", lambda: None)()
            except Exception:  # a cold handler is slower, not wrong
                errors[name] = traceback.format_exc()[-2000:]
        _settle()
        self.warmed += [n for n in names if n not in errors]
        return {"ok": not errors, "errors": errors}

    def prepare_for(self, req: RunRequest) -> None:
        """Load, here and once, what the run will need: its handler; hypothesis if used."""
        job: dict[str, Any] = cast(dict[str, Any], req.get("job") or {})
        if job.get("kind") == JobKind.CALL:
            self.load_handler(str(job.get("handler")))
        if not pytest_job.hypothesis_ready() and any(
                "hypothesis" in (f.get("text") or "") for f in (req.get("files") or {}).values()):
            pytest_job.use_hypothesis()
            _settle()

    def ping(self) -> dict[str, Any]:
        """What this server runs."""
        return {"ok": True, "protocol": PROTOCOL_VERSION, "statuses": [s.value for s in Status],
                "versions": pytest_job.versions(), "handlers": self.handlers.available,
                "handler_errors": self.handlers.errors, "warmed": self.warmed}

    def run(self, req: RunRequest) -> Reply:
        """Serve one run request."""
        if self.tainted:
            # The host pipelines requests; one queued behind a tainting run goes elsewhere.
            return {"status": Status.SANDBOX_ERROR, "detail": f"refused: {self.tainted}",
                    "refused": True, "tainted": self.tainted}
        self.prepare_for(req)
        handler = supervisor_of(req, self.handlers)
        if handler is not None:
            return run_supervised(req, handler)
        if req["job"].get("kind") == JobKind.PYTEST:
            return run_pytest(req, self.handlers)
        return run_request(req, self.handlers)

    def serve(self, chan_in: int, chan_out: int) -> None:
        """Answer requests until the host closes the channel, or a park times out."""
        idle: float | None = None  # parked: nobody attached; exit after this long unadopted
        while True:
            if idle is not None and not select.select([chan_in], [], [], idle)[0]:
                return  # the container stops, and Docker removes it
            req = read_frame(chan_in)
            if req is None:
                return
            op = req.get("op")
            idle = None
            reply: Any
            try:
                if op == Op.RUN:
                    reply = self.run(cast(RunRequest, req))
                elif op == Op.PING:
                    reply = self.ping()
                elif op == Op.WARM:
                    reply = self.warm(list(req.get("handlers") or []))
                elif op == Op.PARK:  # a tainted container is not kept: it ends at once
                    reply = {"parked": not self.tainted}
                    idle = 0.0 if self.tainted else max(0.0, float(req.get("idle") or 0))
                else:
                    reply = {"status": Status.SANDBOX_ERROR, "detail": f"unknown op {op!r}"}
            except Exception:
                reply = {"status": Status.SANDBOX_ERROR,
                         "detail": traceback.format_exc()[-4000:],
                         "tainted": "supervisor error"}
            self.tainted = self.tainted or reply.get("tainted")
            write_frame(chan_out, reply)


def _set_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back to us
    except OSError:
        pass


def main() -> None:
    """Set the process up as the container's PID 1, then serve."""
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
    os.makedirs(JOB_DIR, exist_ok=True)
    os.chmod(JOB_DIR, 0o1777)
    pytest_job.prepare(JOB_DIR)
    server = Server()
    _settle()
    server.serve(chan_in, chan_out)
