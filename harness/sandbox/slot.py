"""One sandbox container: starting or adopting it, talking to its fork server, parking it.

Ownership is a lock file per container (flock, released by the kernel when its process
dies, however it dies): a container whose lock nobody holds belongs to nobody. It is then
either parked (left running, warm, for the next pool with the same spec to adopt, until
its fork server's idle timeout ends it) or an orphan, which the next pool start removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import docker.errors

from harness.errors import ImageMissing, SandboxUnavailable
from harness.sandbox.docker_io import Channel, ChannelClosed, client
from harness.sandbox.result import Limits
from harness_sandbox.protocol import Op

log = logging.getLogger(__name__)

LABEL_RUN = "harness.run"
LABEL_PID = "harness.owner-pid"
LABEL_HOST = "harness.owner-host"
LABEL_START = "harness.owner-start"
LABEL_SLOT = "harness.slot"  # names the container's lock file
LABEL_SPEC = "harness.spec"  # what a pool must ask for to adopt it when parked
PARKED = "harness-parked-"  # name prefix of a parked container
START_TIMEOUT = 90.0  # the fork server imports pytest before it answers (slow on a busy host)


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

    def key(self) -> str:
        """Identifies containers that are interchangeable: same spec, same image content."""
        image_id = client().images.get(self.image).id
        blob = json.dumps([asdict(self), image_id], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _process_start(pid: int) -> str:
    """The kernel's start time of a process: tells a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_labels(run_id: str) -> dict[str, str]:
    pid = os.getpid()
    return {LABEL_RUN: run_id, LABEL_PID: str(pid), LABEL_HOST: socket.gethostname(),
            LABEL_START: _process_start(pid)}


class SlotLock:
    """An exclusive flock on the container's lock file: whoever holds it owns the container."""

    def __init__(self, name: str) -> None:
        folder = Path(tempfile.gettempdir()) / f"harness-{os.getuid()}-slots"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = folder / f"{name}.lock"
        self.fd: int | None = None

    def take(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self, forget: bool = False) -> None:
        """Let go; `forget` also removes the file (its container is gone)."""
        if self.fd is None:
            return
        if forget:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self.fd)
        self.fd = None


def reap_orphans() -> int:
    """Remove this host's sandbox containers that nobody owns and that are not parked."""
    host = socket.gethostname()
    removed = 0
    # ignore_removed: containers that another run's close left to Docker vanish meanwhile
    listed = client().containers.list(all=True, filters={"label": LABEL_RUN}, ignore_removed=True)
    for container in listed:
        labels = container.labels
        if labels.get(LABEL_HOST) != host:
            continue
        lock = SlotLock(labels[LABEL_SLOT]) if labels.get(LABEL_SLOT) else None
        if lock is not None:
            if not lock.path.exists() or not lock.take():
                continue  # another user's (their lock dir is theirs), or owned by a live process
            if container.name.startswith(PARKED) and container.status == "running":
                lock.release()
                continue  # warm, waiting to be adopted
        else:  # made before slots had locks: the owner's pid tells
            pid = int(labels.get(LABEL_PID, "0") or 0)
            if pid and _process_start(pid) == labels.get(LABEL_START):
                continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.APIError as exc:
            log.debug("could not remove %s: %s", container.name, exc)
        if lock is not None:
            lock.release(forget=True)
    return removed


def remove_parked() -> int:
    """Remove this host's parked containers that no pool is adopting right now."""
    removed = 0
    for container in client().containers.list(ignore_removed=True, filters={
            "label": f"{LABEL_HOST}={socket.gethostname()}", "name": PARKED}):
        lock = SlotLock(container.labels.get(LABEL_SLOT) or "unlabelled")
        if not container.name.startswith(PARKED) or not lock.path.exists() or not lock.take():
            continue
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
            removed += 1
        lock.release(forget=True)
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

    def __init__(self, spec: ContainerSpec, index: int) -> None:
        self.spec = spec
        self.index = index
        self.container: Any = None
        self.channel: Channel | None = None
        self.versions: dict[str, str] = {}
        self.in_flight = 0  # guarded by the pool's lock
        self.retired = False  # guarded by the pool's lock
        self.lock = SlotLock(uuid.uuid4().hex)
        self._pending: deque[_Call] = deque()
        self._state_lock = threading.Lock()  # guards the channel and the queue of calls
        self._write_lock = threading.Lock()  # one request on the wire at a time
        self._horizon = 0.0  # when the last pending call may be given up

    @classmethod
    def start(cls, spec: ContainerSpec, labels: dict[str, str], index: int,
              key: str) -> Slot:
        """A new container, owned (locked) before it exists so no reaper takes it."""
        slot = cls(spec, index)
        if not slot.lock.take():
            raise SandboxUnavailable(f"could not lock {slot.lock.path}")
        slot._create({**labels, LABEL_SLOT: slot.lock.path.stem, LABEL_SPEC: key})
        slot._serve()
        return slot

    @classmethod
    def adopt_parked(cls, spec: ContainerSpec, key: str, index: int, run_id: str) -> Slot | None:
        """A parked container of this spec, if one is free; None otherwise."""
        found = client().containers.list(ignore_removed=True, filters={
            "label": [f"{LABEL_SPEC}={key}", f"{LABEL_HOST}={socket.gethostname()}"],
            "name": PARKED, "status": "running"})
        for container in found:
            slot = cls(spec, index)
            slot.lock = SlotLock(container.labels.get(LABEL_SLOT) or "unlabelled")
            if not container.name.startswith(PARKED) or not slot.lock.path.exists() or \
                    not slot.lock.take():
                continue  # not parked by this user, or taken by another pool
            slot.container = container
            try:  # not parked any more: a reaper now goes by the lock alone
                container.rename(f"harness-{run_id}-{slot.lock.path.stem[:12]}")
                sock = container.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
                slot.channel = Channel(sock)
                slot._handshake(5.0)
            except (docker.errors.APIError, SandboxUnavailable) as exc:
                log.info("parked container %s not adopted: %s", container.name, exc)
                slot.destroy()
                continue
            slot._serve()
            return slot
        return None

    def _create(self, labels: dict[str, str]) -> None:
        spec = self.spec
        docker_client = client()
        mb = 1 << 20
        try:
            self.container = docker_client.containers.create(
                spec.image,
                name=f"harness-{labels[LABEL_RUN]}-{self.lock.path.stem[:12]}",
                auto_remove=True,  # a parked container whose fork server timed out goes away
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
        self._handshake(START_TIMEOUT)

    def _handshake(self, timeout: float) -> None:
        """Ping the fork server (and warm it up); it then serves."""
        assert self.channel is not None
        try:
            self.channel.send({"op": Op.PING})
            reply = self.channel.receive(time.monotonic() + timeout)
            cold = [h for h in self.spec.warm if h not in (reply.get("warmed") or [])]
            if cold:
                self.channel.send({"op": Op.WARM, "handlers": cold})
                warmed = self.channel.receive(time.monotonic() + timeout)
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

    def _serve(self) -> None:
        threading.Thread(target=self._read_replies, name=f"slot-{self.index}-reader",
                         daemon=True).start()

    def park(self, idle: float, key: str) -> bool:
        """Leave the container running for another pool to adopt; False if it can't be."""
        try:
            reply = self.submit({"op": Op.PARK, "idle": idle}, Limits(timeout=5.0)).wait()
            if not reply.get("parked"):
                return False
            self.container.rename(f"{PARKED}{key}-{self.lock.path.stem[:12]}")
        except (ChannelClosed, TimeoutError, ValueError, docker.errors.APIError) as exc:
            log.debug("could not park %s: %s", self.index, exc)
            return False
        with self._state_lock:
            channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()
        self.container = None
        self.lock.release()
        return True

    def _logs(self) -> str:
        try:
            self.container.reload()
            return f"state={self.container.status}"
        except Exception:
            return "unavailable"

    def submit(self, request: Mapping[str, Any], limits: Limits) -> _Call:
        """Send a request; the call's deadline counts the runs queued before it.

        Sends are serialized by their own lock, apart from the one that guards the queue
        of calls: a send can block until the fork server reads, which it does only after
        writing its last reply, and the reader thread must be free to take that reply.
        """
        with self._write_lock:
            with self._state_lock:
                channel = self.channel
                if channel is None:
                    raise ChannelClosed("the sandbox slot was closed")
                # The fork server enforces the limit; this deadline catches one that hangs.
                start = max(time.monotonic(), self._horizon)
                call = _Call(start + limits.timeout * 2 + 30)
                self._horizon = call.deadline
                self._pending.append(call)
            try:
                channel.send(request)
            except ChannelClosed:
                with self._state_lock:
                    if call in self._pending:
                        self._pending.remove(call)
                raise
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
            with self._state_lock:
                call = self._pending.popleft() if self._pending else None
            if call is None:
                error = ValueError("the sandbox answered a request it was not sent")
                break
            call.reply = reply
            call.done.set()
        with self._state_lock:
            waiting, self._pending = list(self._pending), deque()
        for call in waiting:
            call.error = error
            call.done.set()

    def destroy(self) -> None:
        with self._state_lock:
            channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()  # the reader thread then fails whatever still waits
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except docker.errors.APIError as exc:
                log.debug("could not remove container: %s", exc)
            self.container = None
        self.lock.release(forget=True)
