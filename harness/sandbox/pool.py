"""A pool of warm sandbox containers, one fork server each."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import cast

import docker.errors

from harness.errors import ImageMissing, SandboxUnavailable
from harness.sandbox.docker_io import ChannelClosed, client
from harness.sandbox.result import Job, Limits, RunResult, Status, encode_files
from harness.sandbox.slot import (
    LABEL_RUN,
    PARKED,
    ContainerSpec,
    Slot,
    owner_labels,
    reap_orphans,
)
from harness_sandbox.protocol import Op, RunReply, RunRequest

__all__ = ["LABEL_RUN", "ContainerSpec", "Pool", "reap_orphans"]

log = logging.getLogger(__name__)


class Pool:
    """Warm sandbox containers; `run` is thread-safe and blocks until a slot can take it.

    Each slot holds up to `depth` requests at once (one running, the next queued in its
    channel), so a slot's CPU does not idle while a reply travels back and the next
    request comes in. Use as a context manager: leaving it removes every container it
    started, or, with `keep_warm` seconds, parks them for the next pool of the same spec
    to adopt (a container costs most of a second to start; adopting one, milliseconds).
    `adopt` (default: whether `keep_warm` is set) takes parked containers before starting
    new ones.
    """

    def __init__(
        self,
        size: int | None = None,
        image: str | None = None,
        limits: Limits | None = None,
        spec: ContainerSpec | None = None,
        run_id: str | None = None,
        depth: int = 2,
        keep_warm: float = 0.0,
        adopt: bool | None = None,
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
        self.labels = owner_labels(self.run_id)
        self.depth = max(1, depth)
        self.keep_warm = keep_warm
        self.adopted = 0
        self._slots: list[Slot] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a slot has room, or the pool closed
        self._closed = False
        self._starting = 0  # slots being started; guarded by the lock
        try:
            self.key = self.spec.key()
        except docker.errors.ImageNotFound as exc:
            raise ImageMissing(f"sandbox image {self.spec.image} not found: run "
                               "`harness sandbox build`") from exc
        reap_orphans()
        try:
            if keep_warm > 0 if adopt is None else adopt:
                self._adopt_parked()
            self._start_slots()
        except BaseException:
            self.close(park=False)
            raise

    def _adopt_parked(self) -> None:
        while len(self._slots) < self.size:
            slot = Slot.adopt_parked(self.spec, self.key, len(self._slots), self.run_id)
            if slot is None:
                return
            self._slots.append(slot)
            self.adopted += 1

    def _start_slots(self) -> None:
        """Start the slots; return when one serves, the rest join as they become ready.

        A container's start is mostly its fork server importing pytest, hypothesis and
        mypy, on one core: as many start at once as there are cores, the others once one
        serves (more at once would share the CPU and all come late). A short run need not
        wait for all of them; a slot that fails to start later is logged and the pool runs
        smaller.
        """
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        self._starter = ThreadPoolExecutor(self.size, thread_name_prefix="slot-start")
        have = len(self._slots)
        self._starting = self.size - have
        if have:  # adopted slots serve already: the others join as they start
            for i in range(have, self.size):
                self._starter.submit(self._add_slot, i)
            return
        wave = min(self.size, os.cpu_count() or 1)
        pending: set[Future[None]] = {self._starter.submit(self._add_slot, i)
                                      for i in range(wave)}
        later = range(wave, self.size)
        errors: list[BaseException] = []
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                error = fut.exception()
                if error is None:
                    for i in later:
                        self._starter.submit(self._add_slot, i)
                    return
                errors.append(error)
            if not pending and later:  # the first wave failed: the rest may still start
                pending = {self._starter.submit(self._add_slot, i) for i in later}
                later = range(0)
        raise errors[0]

    def _add_slot(self, index: int) -> None:
        """Start a slot counted in `_starting` by the caller, and add it to the pool."""
        slot = None
        try:
            slot = Slot.start(self.spec, self.labels, index, self.key)
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
        request: RunRequest = {
            "op": Op.RUN.value,
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
            result = RunResult.from_wire(cast(RunReply, reply))
            if reply.get("refused"):
                self._release(slot, replace=True)
                continue
            attempts += 1
            result.attempts = attempts
            if reply.get("tainted"):
                log.info("replacing sandbox slot %d: %s", slot.index, reply["tainted"])
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

    def close(self, park: bool = True) -> None:
        """Remove every container of this pool, or park the idle ones when `keep_warm`."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        starter = getattr(self, "_starter", None)
        if starter is not None:
            # A slot still starting is destroyed as it arrives; one not begun never starts.
            starter.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            slots, self._slots = self._slots, []

        def finish(slot: Slot) -> None:
            parkable = park and self.keep_warm > 0 and not slot.retired and slot.in_flight == 0
            if not (parkable and slot.park(self.keep_warm, self.key)):
                slot.destroy()

        if slots:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(slots)) as ex:
                list(ex.map(finish, slots))
        for container in client().containers.list(
            all=True, filters={"label": f"{LABEL_RUN}={self.run_id}"}, ignore_removed=True
        ):
            if container.name.startswith(PARKED):
                continue
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
        self.close(park=exc_type is None)
