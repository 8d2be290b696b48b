"""Confining a forked child: its uid, rlimits, work dir, files and environment.

Runs in the child, after fork and before any of the sample's code; nothing here may
touch the fork server's own state.
"""

from __future__ import annotations

import base64
import ctypes
import os
import resource
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping

from harness_sandbox.protocol import FileWire, LimitsWire, RunRequest

PATH = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"
# The address space rlimit counts reservations, not use: a thread's default stack (8 MiB)
# and malloc arena (64 MiB) made 64 threads in 512 MiB impossible. 64 threads in 128 MiB.
THREAD_STACK = 2 << 20
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter


def _find_mallopt() -> Callable[[int, int], int] | None:
    try:
        mallopt: Callable[[int, int], int] = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    return mallopt


_MALLOPT = _find_mallopt()  # looked up once, in the fork server: a lookup costs milliseconds


def enter_sandbox(req: RunRequest, uid: int, workdir: str) -> dict[str, str]:
    """In a forked child whose descriptors are already its own: drop to `uid`, apply the
    rlimits, write the sample's files, and scrub the environment (returned)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    drop_to(uid)
    apply_limits(req["limits"])
    thread_friendly()
    home = os.path.join(workdir, ".home")
    tmp = os.path.join(workdir, ".tmp")
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    write_files(workdir, req.get("files") or {})
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    env = {
        "PATH": PATH,
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONHASHSEED": "0",
    }
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = tmp
    sys.path.insert(0, workdir)  # the sample's tests `import solution` from here
    return env


def drop_to(uid: int) -> None:
    """Become `uid` for good (group too, no supplementary groups)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def apply_limits(limits: LimitsWire) -> None:
    """The run's rlimits; memory is added to what this process already maps."""
    cpu = int(limits.get("cpu") or limits["timeout"]) + 1
    mem = vm_size() + int(limits["memory_mb"]) * (1 << 20)
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


def thread_friendly() -> None:
    """Threads that fit the address-space limit: small stacks, few malloc arenas."""
    import threading

    threading.stack_size(THREAD_STACK)
    if _MALLOPT is not None:
        _MALLOPT(M_ARENA_MAX, MALLOC_ARENAS)


def vm_size() -> int:
    """This process's mapped address space, in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def write_files(workdir: str, files: Mapping[str, FileWire]) -> None:
    """Write the request's files under `workdir`; a name that leaves it is refused."""
    for name, content in files.items():
        norm = os.path.normpath(name)
        if norm.startswith(("/", "..")) or norm in (".", ""):
            raise ValueError(f"file name {name!r} leaves the work dir")
        path = os.path.join(workdir, norm)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = base64.b64decode(content["b64"]) if "b64" in content else \
            content["text"].encode()
        with open(path, "wb") as fh:
            fh.write(data)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd`."""
    while data:
        data = data[os.write(fd, data):]


def as_uid(uid: int, task: Callable[[], object]) -> None:
    """Run `task` in a child with `uid` (for the checker's scratch, not ours to write)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            drop_to(uid)
            os.makedirs("/cache/checker", exist_ok=True)
            task()
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)
