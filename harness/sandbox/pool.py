"""A pool of warm sandbox containers, one fork server each."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
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


class Slot:
    """One container and the channel to its fork server."""

    def __init__(self, spec: ContainerSpec, labels: dict[str, str], index: int) -> None:
        self.spec = spec
        self.index = index
        self.container: Any = None
        self.channel: Channel | None = None
        self.versions: dict[str, str] = {}
        self._start(labels)

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

    def run(self, request: dict[str, Any], limits: Limits) -> dict[str, Any]:
        assert self.channel is not None
        self.channel.send(request)
        # The fork server enforces the limit; this only catches a server that hangs.
        return self.channel.receive(time.monotonic() + limits.timeout * 2 + 30)

    def destroy(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except docker.errors.APIError as exc:
                log.debug("could not remove container: %s", exc)
            self.container = None


class Pool:
    """Warm sandbox containers; `run` is thread-safe and blocks until a slot is free.

    Use as a context manager: leaving it removes every container it started.
    """

    def __init__(
        self,
        size: int | None = None,
        image: str | None = None,
        limits: Limits | None = None,
        spec: ContainerSpec | None = None,
        run_id: str | None = None,
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
        self._free: queue.Queue[Slot] = queue.Queue()
        self._slots: list[Slot] = []
        self._lock = threading.Lock()
        self._closed = False
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
        try:
            slot = Slot(self.spec, self.labels, index)
        except SandboxUnavailable as exc:
            log.warning("sandbox slot %d did not start: %s", index, exc)
            raise
        with self._lock:
            if self._closed:
                slot.destroy()
                return
            self._slots.append(slot)
        self._free.put(slot)

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
        for attempt in (1, 2):  # an infrastructure failure is retried once on a fresh slot
            slot = self._acquire()
            try:
                reply = slot.run(request, limits)
            except (ChannelClosed, TimeoutError, ValueError) as exc:
                last = f"{exc.__class__.__name__}: {exc}"
                self._replace(slot)
                continue
            result = RunResult.from_wire(reply)
            result.attempts = attempt
            if reply.get("tainted") or result.status is Status.SANDBOX_ERROR:
                log.info("recycling slot %d: %s", slot.index, reply.get("tainted"))
                self._replace(slot)  # a slot that misbehaved is replaced, not trusted
            else:
                self._free.put(slot)
            if result.status is not Status.SANDBOX_ERROR:
                return result
            last = result.detail
        return RunResult(status=Status.SANDBOX_ERROR, detail=last, attempts=2)

    def _acquire(self) -> Slot:
        if self._closed:
            raise SandboxUnavailable("the sandbox pool is closed")
        return self._free.get()

    def _replace(self, slot: Slot) -> None:
        slot.destroy()
        with self._lock:
            if slot in self._slots:
                self._slots.remove(slot)
        if self._closed:
            return
        fresh = Slot(self.spec, self.labels, slot.index)
        with self._lock:
            self._slots.append(fresh)
        self._free.put(fresh)

    def close(self) -> None:
        """Remove every container of this pool."""
        with self._lock:
            self._closed = True
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
