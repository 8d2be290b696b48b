"""Hostile programs against the real sandbox: each gets its exact status, and the pool
serves a normal sample right after."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from harness.sandbox.docker_io import client
from harness.sandbox.pool import LABEL_RUN, Pool
from harness.sandbox.result import CommandJob, Limits, PytestJob, RunResult, Status
from tests.conftest import HOST_SECRET

GOOD = {
    "solution.py": "def add(a, b):\n    return a + b\n",
    "test_solution.py": "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
FAST = Limits(timeout=3.0)


def run_tests(pool: Pool, test_source: str, limits: Limits = FAST, **extra: str) -> RunResult:
    files = {"solution.py": GOOD["solution.py"], "test_solution.py": textwrap.dedent(test_source)}
    files.update(extra)
    return pool.run(files, PytestJob(), limits)


def assert_pool_healthy(pool: Pool) -> None:
    result = pool.run(GOOD, PytestJob(), FAST)
    assert result.status is Status.OK, result
    assert [t.outcome for t in result.tests] == ["passed"]


@pytest.mark.parametrize(
    ("name", "source", "status"),
    [
        ("infinite loop", "def test_x():\n    while True:\n        pass\n", Status.TIMEOUT),
        ("signals ignored", """
            import signal, time
            def test_x():
                for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(s, signal.SIG_IGN)
                while True:
                    time.sleep(0.01)
            """, Status.TIMEOUT),
        ("sleep past the limit", "import time\ndef test_x():\n    time.sleep(60)\n",
         Status.TIMEOUT),
        ("memory bomb at once", "def test_x():\n    b = bytearray(8 * 1024**3)\n",
         Status.MEMORY_LIMIT),
        ("memory bomb growing", """
            def test_x():
                hoard = []
                while True:
                    hoard.append(bytearray(16 * 1024**2))
            """, Status.MEMORY_LIMIT),
        ("fork bomb", """
            import os
            def test_x():
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            """, Status.TIMEOUT),
        ("32 spinning threads", """
            import threading
            def spin():
                while True:
                    pass
            def test_x():
                for _ in range(32):
                    threading.Thread(target=spin, daemon=True).start()
                spin()
            """, Status.TIMEOUT),
        ("2 GB to stdout", """
            import sys
            def test_x():
                block = "x" * (1 << 20)
                for _ in range(2048):
                    sys.stdout.write(block)
            """, Status.OUTPUT_LIMIT),
        ("2 GB to stderr through the fd", """
            import os
            def test_x():
                block = b"y" * (1 << 20)
                for _ in range(2048):
                    os.write(2, block)
            """, Status.OUTPUT_LIMIT),
        ("segfault", "import ctypes\ndef test_x():\n    ctypes.string_at(0)\n", Status.CRASHED),
        ("killpg(0)", "import os, signal\ndef test_x():\n    os.killpg(0, signal.SIGKILL)\n",
         Status.CRASHED),
        ("abort", "import os\ndef test_x():\n    os.abort()\n", Status.CRASHED),
        ("exit 0 before any test", "import os\nos._exit(0)\ndef test_x():\n    pass\n",
         Status.CRASHED),
        ("exit 0 inside a test", "import os\ndef test_x():\n    os._exit(0)\n", Status.CRASHED),
        ("pytest.exit with code 0",
         "import pytest\ndef test_x():\n    pytest.exit('done', returncode=0)\n", Status.CRASHED),
        ("forged summary on stdout", """
            import sys
            def test_x():
                print("=" * 20 + " 1 passed in 0.01s " + "=" * 20)
                sys.stdout.flush()
                assert False
            """, Status.FAILED),
    ],
)
def test_hostile_status(pool: Pool, name: str, source: str, status: Status) -> None:
    result = run_tests(pool, source)
    assert result.status is status, (name, result.detail, result.stderr[-2000:])
    assert result.wall_time < FAST.timeout + 5
    assert_pool_healthy(pool)


def test_output_is_capped_and_decoded(pool: Pool) -> None:
    result = run_tests(pool, """
        import os
        def test_x():
            os.write(1, b"ok \\xff\\xfe\\x00 binary \\xc3\\x28 end\\n")
        """)
    assert result.status is Status.OK
    assert "ok \ufffd\ufffd\x00 binary \ufffd( end" in result.stdout
    big = run_tests(pool, "def test_x():\n    print('z' * 5000)\n",
                    Limits(timeout=3.0, output_bytes=1000))
    assert big.status is Status.OUTPUT_LIMIT and big.stdout_truncated
    assert len(big.stdout) <= 1000


@pytest.mark.parametrize("target", ["/work/job", "/tmp", "/dev/shm", "HOME"])
def test_filling_a_disk(pool: Pool, target: str) -> None:
    where = "os.environ['HOME']" if target == "HOME" else repr(target)
    result = run_tests(pool, f"""
        import os
        def test_fill():
            base = {where}
            block = b"\\0" * (1 << 20)
            for i in range(10_000):
                try:
                    with open(os.path.join(base, f"fill{{i}}"), "wb") as fh:
                        for _ in range(32):
                            fh.write(block)
                except OSError:
                    break
        """, Limits(timeout=20.0))
    assert result.status is Status.OUTPUT_LIMIT, (result.detail, result.stderr[-1000:])
    assert "filled" in result.detail
    assert_pool_healthy(pool)


def test_file_size_limit(pool: Pool) -> None:
    result = run_tests(pool, """
        import pytest
        def test_big_file():
            with pytest.raises(OSError):
                with open("big.bin", "wb") as fh:
                    fh.write(b"0" * (80 * 1024**2))
        """, Limits(timeout=10.0, file_size_mb=64))
    assert result.status is Status.OK, result.detail


def test_killing_the_parent_and_everyone(pool: Pool) -> None:
    result = run_tests(pool, """
        import os, signal
        import pytest
        def test_parent():
            with pytest.raises(PermissionError):
                os.kill(os.getppid(), signal.SIGKILL)
            with pytest.raises(PermissionError):
                os.kill(1, signal.SIGKILL)
        def test_everyone():
            # reaches only this run's own processes: here, none but itself, which it spares
            with pytest.raises(ProcessLookupError):
                os.kill(-1, signal.SIGKILL)
        """)
    assert result.status is Status.OK, (result.detail, result.tests)
    assert result.collected == 2
    assert_pool_healthy(pool)


def test_stdin_is_empty(pool: Pool) -> None:
    result = run_tests(pool, """
        import sys
        def test_stdin():
            assert sys.stdin.read() == ""
        """)
    assert result.status is Status.OK


def test_no_network(pool: Pool) -> None:
    result = run_tests(pool, """
        import os, socket
        import pytest
        def test_only_loopback():
            assert os.listdir("/sys/class/net") == ["lo"]
        def test_no_name_resolution():
            with pytest.raises(OSError):
                socket.getaddrinfo("pypi.org", 443)
        def test_no_route():
            with open("/proc/net/route") as fh:
                assert len(fh.read().splitlines()) <= 1
        """)
    assert result.status is Status.OK, [t.message for t in result.tests]


def test_host_secrets_stay_out(pool: Pool, tmp_path: object) -> None:
    secret_file = os.path.join(str(tmp_path), "secret.txt")
    file_secret = "file-secret-" + uuid.uuid4().hex
    with open(secret_file, "w") as fh:
        fh.write(file_secret)
    result = run_tests(pool, f"""
        import os
        def test_look():
            seen = [repr(dict(os.environ))]
            for path in ({secret_file!r}, "/proc/1/environ", "/proc/1/cmdline"):
                try:
                    with open(path, "rb") as fh:
                        seen.append(repr(fh.read()))
                except OSError as exc:
                    seen.append(repr(exc))
            for root, dirs, files in os.walk("/"):
                if root.startswith(("/proc", "/sys")):
                    dirs[:] = []
                    continue
                seen.extend(files)
            print("\\n".join(seen))
        """, Limits(timeout=20.0, output_bytes=16 << 20))
    assert result.status is Status.OK, result.detail
    assert "PermissionError" in result.stdout  # the fork server's environment is not readable
    assert HOST_SECRET not in result.stdout
    assert file_secret not in result.stdout
    assert "secret.txt" not in result.stdout


def test_writes_outside_the_work_dir_fail(pool: Pool) -> None:
    marker = "/tmp/harness-escape-" + uuid.uuid4().hex
    result = run_tests(pool, f"""
        import os, sys, sysconfig
        import pytest
        @pytest.mark.parametrize("path", [
            "/etc/evil", "/opt/runner/evil.py", "/usr/evil",
            sysconfig.get_paths()["purelib"] + "/evil.pth",
            "/opt/venv/lib/python3.11/site-packages/sitecustomize.py",
        ])
        def test_write(path):
            with pytest.raises(OSError):
                open(path, "w").write("x")
        def test_tmp_is_private():
            open({marker!r}, "w").write("x")
        """)
    assert result.status is Status.OK, [t.message for t in result.tests if t.message]
    assert not os.path.exists(marker)


def test_secret_environment_of_the_harness_is_absent(pool: Pool) -> None:
    assert os.environ["HARNESS_TEST_SECRET"] == HOST_SECRET
    result = pool.run({}, CommandJob(("sh", "-c", "env; cat /proc/1/environ")), FAST)
    assert HOST_SECRET not in result.stdout + result.stderr
    assert "PATH=" in result.stdout


def test_process_that_outlives_its_sample(pool: Pool) -> None:
    spawn = run_tests(pool, """
        import os, subprocess, time
        def test_spawn():
            subprocess.Popen(["sleep", "1000"], start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    while True:
                        with open("/tmp/beacon", "a") as fh:
                            fh.write("x")
                        time.sleep(0.05)
                os._exit(0)
            time.sleep(0.2)
        """)
    assert spawn.status is Status.OK
    check = run_tests(pool, """
        import os, time
        def test_nobody_left():
            time.sleep(0.3)
            mine = {os.getpid(), os.getppid()}
            others = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read()
                except OSError:
                    continue
                if int(pid) not in mine and (b"sleep" in cmd or b"pytest" in cmd):
                    others.append(cmd)
            assert others == []
            assert not os.path.exists("/tmp/beacon")
        """)
    assert check.status is Status.OK, [t.message for t in check.tests]


def test_survivors_signalling_the_supervisor_during_its_sweep(
        pool: Pool, caplog: pytest.LogCaptureFixture) -> None:
    # The sweep runs in the fork server with the sample's uid: survivors that signal it
    # then must neither stop it nor get the container replaced.
    caplog.set_level(logging.INFO, logger="harness.sandbox.pool")
    before = [slot.container.id for slot in pool._slots]
    result = run_tests(pool, """
        import os, signal, time
        def test_spawn():
            for _ in range(4):
                if os.fork() == 0:
                    os.setsid()
                    sigs = [s for s in signal.Signals
                            if s not in (signal.SIGKILL, signal.SIGSTOP)]
                    while True:
                        for s in sigs:
                            try:
                                os.kill(1, s)
                            except OSError:
                                pass
            time.sleep(0.1)
        """)
    assert result.status is Status.OK, result.detail
    for _ in range(3):
        assert_pool_healthy(pool)
    assert [slot.container.id for slot in pool._slots] == before, caplog.text


def test_poisoning_the_next_sample(pool: Pool) -> None:
    poison = run_tests(pool, """
        import os, sys
        def test_poison():
            for path in ("/tmp/sitecustomize.py", "/tmp/usercustomize.py", "/dev/shm/x.py",
                         "/work/evil.py", "/cache/evil.py", os.path.expanduser("~/.pth")):
                try:
                    with open(path, "w") as fh:
                        fh.write("raise SystemExit('poisoned')\\n")
                except PermissionError:
                    assert path == "/work/evil.py"  # only the job dir of /work is writable
            with open("conftest.py", "w") as fh:
                fh.write("import pytest\\n@pytest.fixture(autouse=True)\\ndef boom():\\n"
                         "    raise RuntimeError('poisoned')\\n")
            os.makedirs("/work/job/pkg", exist_ok=True)
            import solution
            solution.add = lambda a, b: 0
        """)
    assert poison.status is Status.OK, [t.message for t in poison.tests]
    victim = run_tests(pool, """
        import os
        from solution import add
        def test_clean():
            assert add(2, 3) == 5
            assert not os.path.exists("/tmp/sitecustomize.py")
            assert not os.path.exists("/work/evil.py")
            assert not os.path.exists("/cache/evil.py")
            assert os.listdir("/dev/shm") == []
            assert sorted(n for n in os.listdir(".") if not n.startswith(".")) == [
                "solution.py", "test_solution.py"]
        """)
    assert victim.status is Status.OK, [t.message for t in victim.tests]


def test_runs_as_unprivileged_user_without_capabilities(pool: Pool) -> None:
    result = pool.run({}, CommandJob(("sh", "-c", "id -u; grep Cap /proc/self/status")), FAST)
    lines = result.stdout.split()
    assert lines[0] == "10000"
    caps = dict(zip(lines[1::2], lines[2::2], strict=False))
    assert caps["CapEff:"] == caps["CapPrm:"] == "0000000000000000"


def test_leftovers_of_a_killed_harness_are_reaped(sandbox_image: str) -> None:
    run_id = "killed-" + uuid.uuid4().hex[:8]
    code = (
        "import sys, time\n"
        "from harness.sandbox.pool import Pool\n"
        f"p = Pool(size=1, image={sandbox_image!r}, run_id={run_id!r})\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait()
    flt = {"label": f"{LABEL_RUN}={run_id}"}
    assert len(client().containers.list(ignore_removed=True, all=True, filters=flt)) == 1
    with Pool(size=1, image=sandbox_image) as fresh:
        assert client().containers.list(ignore_removed=True, all=True, filters=flt) == []
        assert fresh.run(GOOD, PytestJob(), FAST).status is Status.OK


def test_closing_the_pool_leaves_nothing(sandbox_image: str) -> None:
    run_id = "closing-" + uuid.uuid4().hex[:8]
    with Pool(size=2, image=sandbox_image, run_id=run_id) as p:
        p.run(GOOD, PytestJob(), FAST)
        p.run({"test_solution.py": "import subprocess\ndef test_x():\n"
               "    subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"},
              PytestJob(), FAST)
    flt = {"label": f"{LABEL_RUN}={run_id}"}
    assert client().containers.list(ignore_removed=True, all=True, filters=flt) == []
    deadline = time.monotonic() + 10
    while _host_processes_of(10000) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _host_processes_of(10000) == [] or _other_pools_running()


def _host_processes_of(uid: int) -> list[str]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("Uid:") and int(line.split()[1]) == uid:
                        out.append(pid)
        except OSError:
            continue
    return out


def _other_pools_running() -> bool:
    return bool(client().containers.list(ignore_removed=True, filters={"label": LABEL_RUN}))
