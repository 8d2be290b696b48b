"""A pool of warm sandbox containers, one fork server each."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import docker.errors

from harness.errors import ImageMissing, SandboxUnavailable
from harness.sandbox.docker_io import Channel, ChannelClosed, client
from harness.sandbox.result import Job, Limits, RunResult, Status, encode_files

log = logging.getLogger(__name__)

LABEL_RUN = "harness.run"
LABEL_PID = "harness.owner-pid"
LABEL_HOST = "harness.owner-host"
LABEL_START = "harness.owner-start"
START_TIMEOUT = 90.0  # the fork server imports pytest, hypothesis and mypy before it answers


@dataclass(frozen=True)
class ContainerSpec:
    """How each sandbox container is started."""

    image: str
    memory_mb: int = 2048  # the whole container; memory == memory+swap
    cpus: float = 1.0
    pids: int = 512
    work_mb: int = 512
    tmp_mb: int = 64
    shm_mb: int = 64
    cache_mb: int = 256
    runtime: str | None = None  # e.g. "runsc" where gVisor is installed
    # In-sandbox handlers whose warm-up runs in the fork server before the slot serves
    # (the probes' costs a second of CPU: a run without probes should not pay it).
    warm: tuple[str, ...] = ()


def _process_start(pid: int) -> str:
    """The kernel's start time of a process: tells a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def reap_orphans() -> int:
    """Remove sandbox containers whose owning harness process on this host is gone."""
    host = socket.gethostname()
    removed = 0
    for container in client().containers.list(all=True, filters={"label": LABEL_RUN}):
        labels = container.labels
        if labels.get(LABEL_HOST) != host:
            continue
        pid = int(labels.get(LABEL_PID, "0") or 0)
        if pid and _process_start(pid) == labels.get(LABEL_START):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.APIError as exc:
            log.debug("could not remove %s: %s", container.name, exc)
    return removed


class _Call:
    """One request sent to a slot, waiting for its reply."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.done = threading.Event()
        self.reply: dict[str, Any] | None = None
        self.error: Exception | None = None

    def wait(self) -> dict[str, Any]:
        if not self.done.wait(max(0.0, self.deadline - time.monotonic())):
            raise TimeoutError("the sandbox did not answer in time")
        if self.error is not None:
            raise self.error
        assert self.reply is not None
        return self.reply


class Slot:
    """One container and the channel to its fork server.

    Requests are pipelined: the fork server answers them in order, so a reader thread
    hands each reply to the oldest waiting call, and the next request is already in the
    channel when a run ends.
    """

    def __init__(self, spec: ContainerSpec, labels: dict[str, str], index: int) -> None:
        self.spec = spec
        self.index = index
        self.container: Any = None
        self.channel: Channel | None = None
        self.versions: dict[str, str] = {}
        self.in_flight = 0  # guarded by the pool's lock
        self.retired = False  # guarded by the pool's lock
        self._pending: deque[_Call] = deque()
        self._send_lock = threading.Lock()
        self._horizon = 0.0  # when the last pending call may be given up
        self._start(labels)
        threading.Thread(target=self._read_replies, name=f"slot-{index}-reader",
                         daemon=True).start()

    def _start(self, labels: dict[str, str]) -> None:
        spec = self.spec
        docker_client = client()
        mb = 1 << 20
        try:
            self.container = docker_client.containers.create(
                spec.image,
                stdin_open=True,
                detach=True,
                network_mode="none",
                read_only=True,
                tmpfs={
                    "/work": f"size={spec.work_mb}m,mode=1777,nosuid,nodev",
                    "/tmp": f"size={spec.tmp_mb}m,mode=1777,nosuid,nodev",
                    "/cache": f"size={spec.cache_mb}m,mode=1777,nosuid,nodev",
                },
                shm_size=spec.shm_mb * mb,
                cap_drop=["ALL"],
                cap_add=["SETUID", "SETGID"],  # the fork server drops each run to its own uid
                security_opt=["no-new-privileges"],
                pids_limit=spec.pids,
                mem_limit=spec.memory_mb * mb,
                memswap_limit=spec.memory_mb * mb,
                nano_cpus=int(spec.cpus * 1e9),
                user="0:0",
                environment={},
                hostname="sandbox",
                labels=labels,
                runtime=spec.runtime,
                log_config={"type": "none", "config": {}},
            )
            sock = self.container.attach_socket(
                params={"stdin": 1, "stdout": 1, "stream": 1}
            )
            self.container.start()
        except docker.errors.ImageNotFound as exc:
            self.destroy()
            raise ImageMissing(
                f"sandbox image {spec.image} not found: run `harness sandbox build`"
            ) from exc
        except docker.errors.APIError as exc:
            self.destroy()
            raise SandboxUnavailable(f"could not start a sandbox container: {exc}") from exc
        self.channel = Channel(sock)
        try:
            self.channel.send({"op": "ping"})
            reply = self.channel.receive(time.monotonic() + START_TIMEOUT)
            if spec.warm:
                self.channel.send({"op": "warm", "handlers": list(spec.warm)})
                warmed = self.channel.receive(time.monotonic() + START_TIMEOUT)
                if warmed.get("errors"):
                    log.warning("sandbox warm-up failed: %s", warmed["errors"])
        except (ChannelClosed, TimeoutError, ValueError) as exc:
            logs = self._logs()
            self.destroy()
            raise SandboxUnavailable(
                f"the sandbox fork server did not start ({exc}). Its log: {logs}\n"
                "Rebuild the image with `harness sandbox build --force`."
            ) from exc
        self.versions = dict(reply.get("versions", {}))

    def _logs(self) -> str:
        try:
            self.container.reload()
            return f"state={self.container.status}"
        except Exception:
            return "unavailable"

    def submit(self, request: dict[str, Any], limits: Limits) -> _Call:
        """Send a request; the call's deadline counts the runs queued before it."""
        with self._send_lock:
            channel = self.channel
            if channel is None:
                raise ChannelClosed("the sandbox slot was closed")
            # The fork server enforces the limit; the deadline only catches one that hangs.
            start = max(time.monotonic(), self._horizon)
            call = _Call(start + limits.timeout * 2 + 30)
            self._horizon = call.deadline
            self._pending.append(call)
            try:
                channel.send(request)
            except ChannelClosed as exc:
                self._pending.remove(call)
                raise exc
        return call

    def _read_replies(self) -> None:
        channel = self.channel
        error: Exception = ChannelClosed("the sandbox slot was closed")
        while channel is not None:
            try:
                reply = channel.receive(None)
            except (ChannelClosed, TimeoutError, ValueError, OSError) as exc:
                error = exc if isinstance(exc, ChannelClosed | ValueError) else \
                    ChannelClosed(str(exc))
                break
            with self._send_lock:
                call = self._pending.popleft() if self._pending else None
            if call is None:
                error = ValueError("the sandbox answered a request it was not sent")
                break
            call.reply = reply
            call.done.set()
        with self._send_lock:
            waiting, self._pending = list(self._pending), deque()
        for call in waiting:
            call.error = error
            call.done.set()

    def destroy(self) -> None:
        with self._send_lock:
            channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()  # the reader thread then fails whatever still waits
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except docker.errors.APIError as exc:
                log.debug("could not remove container: %s", exc)
            self.container = None


class Pool:
    """Warm sandbox containers; `run` is thread-safe and blocks until a slot can take it.

    Each slot holds up to `depth` requests at once (one running, the next queued in its
    channel), so a slot's CPU does not idle while a reply travels back and the next
    request comes in. Use as a context manager: leaving it removes every container it
    started.
    """

    def __init__(
        self,
        size: int | None = None,
        image: str | None = None,
        limits: Limits | None = None,
        spec: ContainerSpec | None = None,
        run_id: str | None = None,
        depth: int = 2,
    ) -> None:
        if image is None:
            from harness.sandbox.image import require_image

            image = require_image()
        self.spec = spec or ContainerSpec(image=image)
        if spec is not None and image is not None:
            self.spec = ContainerSpec(**{**spec.__dict__, "image": image})
        self.limits = limits or Limits()
        self.size = size or os.cpu_count() or 1
        self.run_id = run_id or uuid.uuid4().hex[:12]
        pid = os.getpid()
        self.labels = {
            LABEL_RUN: self.run_id,
            LABEL_PID: str(pid),
            LABEL_HOST: socket.gethostname(),
            LABEL_START: _process_start(pid),
        }
        self.depth = max(1, depth)
        self._slots: list[Slot] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a slot has room, or the pool closed
        self._closed = False
        self._starting = 0  # slots being started; guarded by the lock
        reap_orphans()
        try:
            self._start_slots()
        except BaseException:
            self.close()
            raise

    def _start_slots(self) -> None:
        """Start every slot at once; return when the first serves, the rest join as ready.

        Starting a container costs most of a second, so a short run should not wait for
        all of them; a slot that fails to start later is logged and the pool runs smaller.
        """
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        self._starter = ThreadPoolExecutor(self.size, thread_name_prefix="slot-start")
        self._starting = self.size
        first = self._starter.submit(self._add_slot, 0)
        # The first slot starts alone: started together, they share the CPU and all come late.
        wait([first])
        rest = [self._starter.submit(self._add_slot, i) for i in range(1, self.size)]
        if first.exception() is None:
            return
        pending = set(rest)
        errors: list[BaseException] = [first.exception()]  # type: ignore[list-item]
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut.exception() is None:
                    return
                errors.append(fut.exception())  # type: ignore[arg-type]
        raise errors[0]

    def _add_slot(self, index: int) -> None:
        """Start a slot counted in `_starting` by the caller, and add it to the pool."""
        slot = None
        try:
            slot = Slot(self.spec, self.labels, index)
        except SandboxUnavailable as exc:
            log.warning("sandbox slot %d did not start: %s", index, exc)
            raise
        finally:
            with self._ready:
                self._starting -= 1
                if slot is not None and not self._closed:
                    self._slots.append(slot)
                    slot = None
                self._ready.notify_all()
            if slot is not None:
                slot.destroy()

    @property
    def versions(self) -> dict[str, str]:
        return self._slots[0].versions if self._slots else {}

    def run(
        self,
        files: Mapping[str, str | bytes],
        job: Job,
        limits: Limits | None = None,
        role: str = "sample",
    ) -> RunResult:
        """Run `job` on `files` in a fresh child of a warm container."""
        limits = limits or self.limits
        request = {
            "op": "run",
            "files": encode_files(dict(files)),
            "job": job.to_wire(),
            "limits": limits.to_wire(),
            "role": role,
        }
        last = ""
        attempts = 0
        # A run refused or cut off because its slot went bad for another run is not its
        # failure: it goes again without spending its one retry (boundedly).
        for _ in range(2 + 2 * self.depth):
            slot = self._acquire()
            try:
                reply = slot.submit(request, limits).wait()
            except (ChannelClosed, TimeoutError, ValueError) as exc:
                last = f"{exc.__class__.__name__}: {exc}"
                attempts += self._release(slot, replace=True)
                if attempts >= 2:
                    break
                continue
            result = RunResult.from_wire(reply)
            if reply.get("refused"):
                self._release(slot, replace=True)
                continue
            attempts += 1
            result.attempts = attempts
            # A slot that misbehaved is replaced, not trusted.
            self._release(slot, replace=bool(reply.get("tainted"))
                          or result.status is Status.SANDBOX_ERROR)
            if result.status is not Status.SANDBOX_ERROR:
                return result
            last = result.detail
            if attempts >= 2:
                break
        return RunResult(status=Status.SANDBOX_ERROR, detail=last, attempts=max(attempts, 1))

    def _acquire(self) -> Slot:
        """The live slot with the fewest requests in flight, once one has room."""
        with self._ready:
            while True:
                if self._closed:
                    raise SandboxUnavailable("the sandbox pool is closed")
                open_ = [s for s in self._slots if s.in_flight < self.depth]
                if open_:
                    slot = min(open_, key=lambda s: s.in_flight)
                    slot.in_flight += 1
                    return slot
                if not self._slots and not self._starting:
                    raise SandboxUnavailable("no sandbox container is running: see "
                                             "`harness sandbox doctor`")
                self._ready.wait()

    def _release(self, slot: Slot, replace: bool = False) -> int:
        """Give the request's place back; with `replace`, swap the slot for a fresh one.

        Returns 1 when this call retired the slot, 0 when another run had already done so.
        """
        with self._ready:
            slot.in_flight -= 1
            first = replace and not slot.retired
            if first:
                slot.retired = True
                if slot in self._slots:
                    self._slots.remove(slot)
                # Counted now, so that no run finds the pool empty in the meantime.
                self._starting += 1
            self._ready.notify_all()
        if not first:
            return 0
        slot.destroy()
        if self._closed:
            with self._ready:
                self._starting -= 1
                self._ready.notify_all()
            return 1
        self._add_slot(slot.index)
        return 1

    def close(self) -> None:
        """Remove every container of this pool."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        starter = getattr(self, "_starter", None)
        if starter is not None:
            starter.shutdown(wait=True)  # a slot still starting is destroyed as it arrives
        with self._lock:
            slots, self._slots = self._slots, []
        if slots:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(slots)) as ex:
                list(ex.map(Slot.destroy, slots))
        for container in client().containers.list(
            all=True, filters={"label": f"{LABEL_RUN}={self.run_id}"}
        ):
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
