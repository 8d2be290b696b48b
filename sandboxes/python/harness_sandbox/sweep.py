"""Cleaning up after a run: killing every process of the run's uid, removing its files,
and telling whether the container's scratch space is clean again.

Runs in the fork server (PID 1), which takes the run's uid for the moment it needs.
"""

from __future__ import annotations

import _signal
import os
import shutil
import signal
import stat
import time
from typing import Any

SCRATCH = ("/work", "/tmp", "/dev/shm", "/cache")
# As plain numbers, through the C module: signal's wrappers make an enum of each signal,
# twice per run.
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


def scratch_dirty() -> str | None:
    """After cleanup the sample-owned scratch must be empty; anything else taints the slot."""
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
