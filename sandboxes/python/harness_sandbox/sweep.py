"""Cleaning up after a run: killing every process of the run's uid, removing its files
and its IPC objects (POSIX message queues, System V shared memory, semaphores and message
queues), and telling whether the container's scratch space and IPC are clean again.

Runs in the fork server (PID 1), which takes the run's uid for the moment it needs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import stat
import time
from collections.abc import Callable
from typing import Any

SCRATCH = ("/work", "/tmp", "/dev/shm", "/cache")
MQUEUE = "/dev/mqueue"  # POSIX message queues (Docker mounts the IPC namespace's own here)
SYSVIPC = ("shm", "sem", "msg")  # /proc/sysvipc/<kind>: the IPC namespace's System V objects
IPC_RMID = 0
# The C module itself: signal's wrappers make an enum of each signal, twice per run.
_signal: Any = getattr(signal, "_signal", signal)
# As plain numbers, through the C module.
EVERY_SIGNAL = frozenset(int(s) for s in signal.valid_signals())


def full_scratch() -> str | None:
    for path in SCRATCH:
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        if st.f_blocks and st.f_bavail * 100 < st.f_blocks:
            return path
    return None


def _find_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _find_libc()  # looked up once, in the fork server


def ipc_objects(uid: int | None = None) -> list[tuple[str, int]]:
    """(kind, id) of the System V IPC objects owned or created by `uid` (None: all)."""
    found = []
    for kind in SYSVIPC:
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                header = fh.readline().split()
                rows = [line.split() for line in fh]
        except OSError:
            continue
        try:
            at_id, at_uid, at_cuid = (header.index(n) for n in (
                {"shm": "shmid", "sem": "semid", "msg": "msqid"}[kind], "uid", "cuid"))
        except ValueError:
            continue
        for row in rows:
            try:
                if uid is None or uid in (int(row[at_uid]), int(row[at_cuid])):
                    found.append((kind, int(row[at_id])))
            except (IndexError, ValueError):
                continue
    return found


def _remove_ipc(uid: int) -> str:
    """Remove `uid`'s IPC objects (we run as `uid`: its owner or creator may); what failed."""
    failed = []
    try:
        names = os.listdir(MQUEUE)
    except OSError:
        names = []
    for name in names:
        path = os.path.join(MQUEUE, name)
        try:
            if os.lstat(path).st_uid == uid:
                os.unlink(path)  # mq_unlink: the queue goes once no process holds it
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror}")
    for kind, ipc_id in ipc_objects(uid):
        if _LIBC is None:
            failed.append("no libc to remove System V IPC with")
            break
        remove: Callable[..., int] = {
            "shm": lambda i: _LIBC.shmctl(i, IPC_RMID, None),
            "sem": lambda i: _LIBC.semctl(i, 0, IPC_RMID),
            "msg": lambda i: _LIBC.msgctl(i, IPC_RMID, None),
        }[kind]
        if remove(ipc_id) != 0:
            errno = ctypes.get_errno()
            if errno not in (22, 43):  # EINVAL, EIDRM: gone already
                failed.append(f"System V {kind} {ipc_id}: {os.strerror(errno)}")
    return "; ".join(failed)


def ipc_dirty() -> str | None:
    """Any message queue or System V object left: nothing of ours makes one, so it is a
    sample's that the sweep could not remove (or that outlived it, still attached)."""
    try:
        queues = os.listdir(MQUEUE)
    except OSError:
        queues = []
    if queues:
        return f"{MQUEUE} still holds {len(queues)} message queue(s) after cleanup"
    left = ipc_objects()
    if left:
        return "System V IPC objects left after cleanup: " + \
            ", ".join(f"{kind} {ipc_id}" for kind, ipc_id in left[:10])
    return None


def scratch_dirty() -> str | None:
    """After cleanup the sample-owned scratch must be empty, and no IPC object may be left;
    anything else taints the slot."""
    dirty = ipc_dirty()
    if dirty:
        return dirty
    for path in SCRATCH:
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        if st.f_blocks and st.f_bavail * 10 < st.f_blocks * 9 and path != "/cache":
            return f"{path} still holds data after cleanup"
    return None


def sweep(uid: int, workdir: str, clean: bool, keep_cache: bool = False) -> str | None:
    """Kill every process of `uid` and remove its files, in this process, as that uid.

    Real and effective uid become the sample's (the saved uid stays 0, so we can return):
    kill(-1) then reaches only its processes, and its own files are ours to delete. A fork
    of this large process per run cost more than the rest of the sweep together.
    """
    left = failed = ""
    # With the sample's uid, its processes may signal us, and PID 1 takes the signals it
    # has handlers for (pytest's faulthandler installs some): held back, then discarded.
    mask = _signal.pthread_sigmask(signal.SIG_BLOCK, EVERY_SIGNAL)
    os.setresuid(uid, uid, 0)
    try:
        give_up = time.monotonic() + 2.0  # a killed process can take a while to exit under load
        pause = 0.001
        while True:
            try:
                os.kill(-1, signal.SIGKILL)  # never reaches PID 1 (us) nor other uids
            except ProcessLookupError:
                pass
            left = _processes_of(uid, 1)
            if not left or time.monotonic() > give_up:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        if clean:
            roots = [workdir, *(p for p in SCRATCH if not (keep_cache and p == "/cache"))]
            try:
                _remove_owned(uid, roots)
            except OSError as exc:  # what stays behind taints the slot (_scratch_dirty)
                failed = str(exc)
            failed = "; ".join(filter(None, [failed, _remove_ipc(uid)]))
    finally:
        os.setresuid(0, 0, 0)
        while _signal.sigtimedwait(EVERY_SIGNAL, 0) is not None:
            pass
        _signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    if left:
        return f"processes left behind: {left}"
    return f"cleanup failed: {failed}" if failed else None


def _processes_of(uid: int, me: int) -> str:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            state = _state(name)
                            if state != "Z":
                                found.append(name)
                        break
        except OSError:
            continue
    return ",".join(found)


def _state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _remove_owned(uid: int, roots: list[str]) -> None:
    for root in roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_uid != uid:
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path, onerror=_force_remove)
            else:
                os.unlink(path)


def _force_remove(func: Any, path: str, _exc: Any) -> None:
    try:
        os.chmod(os.path.dirname(path), 0o700)
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)
            shutil.rmtree(path, onerror=_ignore)
        else:
            os.unlink(path)
    except OSError:
        pass


def _ignore(*_: Any) -> None:
    pass
