"""Right verdicts on ordinary Python: threads, process pools, asyncio, the run's limits hit
on purpose, and verdicts that do not change when the machine is busy.

Every sample runs through the real engine and the real pool (Docker), probes on.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from harness.config import VerifyConfig
from harness.records import Sample, Verdict
from harness.session import Session


@pytest.fixture(scope="module")
def session(sandbox_image: str) -> Iterator[Session]:
    # Strength is judged by the score alone: these samples are about running at all.
    with Session(VerifyConfig(workers=1, min_distinguished=0), image=sandbox_image) as s:
        yield s


def verify(session: Session, *samples: Sample) -> dict[str, Verdict]:
    return {sample.id: verdict for sample, verdict in session.verify(samples)}


THREADS_64 = Sample("threads-64", """\
import threading


def total(n: int) -> int:
    out = [0] * n
    barrier = threading.Barrier(n)  # every thread alive at once

    def work(i: int) -> None:
        barrier.wait()
        data = [str(j) * 10 for j in range(20000)]
        out[i] = len(data) + i

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out)
""", """\
from solution import total


def test_total():
    assert total(64) == 64 * 20000 + sum(range(64))
    assert total(2) == 40001
    assert total(1) == 20000
""", entry_point="total")

EXECUTOR = Sample("executor-8", """\
from concurrent.futures import ThreadPoolExecutor


def squares(values: list[int]) -> list[int]:
    with ThreadPoolExecutor(max_workers=8) as ex:
        return list(ex.map(lambda v: v * v, values))
""", """\
from solution import squares


def test_squares():
    assert squares(list(range(40))) == [i * i for i in range(40)]
    assert squares([-3, 5]) == [9, 25]
    assert squares([]) == []
""", entry_point="squares")

PROCESS_POOL = Sample("process-pool", """\
import multiprocessing


def _cube(x: int) -> int:
    return x * x * x


def cubes(n: int) -> list[int]:
    with multiprocessing.Pool(4) as pool:
        return pool.map(_cube, range(n))
""", """\
from solution import cubes


def test_cubes():
    assert cubes(10) == [i ** 3 for i in range(10)]
    assert cubes(2) == [0, 1]
    assert cubes(0) == []
""", entry_point="cubes")

ASYNCIO = Sample("asyncio", """\
import asyncio


def _double(x: int) -> int:
    return 2 * x


async def _gather(values: list[int]) -> list[int]:
    loop = asyncio.get_running_loop()
    return list(await asyncio.gather(*(loop.run_in_executor(None, _double, v)
                                       for v in values)))


def doubled(values: list[int]) -> list[int]:
    return asyncio.run(_gather(values))
""", """\
from solution import doubled


def test_doubled():
    assert doubled([1, 2, 3]) == [2, 4, 6]
    assert doubled([-5, 0]) == [-10, 0]
    assert doubled([]) == []
""", entry_point="doubled")


def test_ordinary_concurrency_is_kept(session: Session) -> None:
    got = verify(session, THREADS_64, EXECUTOR, PROCESS_POOL, ASYNCIO)
    for ident, verdict in got.items():
        assert verdict.reasons == [], (ident, verdict.checks.get("tests"),
                                       verdict.checks.get("probes"))


def _limit_sample(ident: str, body: str) -> Sample:
    return Sample(ident, "def f() -> int:\n    return 1\n",
                  f"from solution import f\n\ndef test_limit():\n{body}    assert f() == 1\n",
                  entry_point="f")


def test_each_limit_hit_on_purpose_is_named_with_its_flag(session: Session) -> None:
    got = verify(
        session,
        _limit_sample("tasks", "    import threading, time\n    ev = threading.Event()\n"
                      "    ts = [threading.Thread(target=ev.wait) for _ in range(400)]\n"
                      "    try:\n        [t.start() for t in ts]\n    finally:\n"
                      "        ev.set()\n"),
        _limit_sample("files", "    import os\n    fds = [os.open('/dev/null', os.O_RDONLY) "
                      "for _ in range(1000)]\n"),
        _limit_sample("memory", "    import mmap\n    maps = [mmap.mmap(-1, 256 << 20) "
                      "for _ in range(8)]\n"),
    )
    assert got["tasks"].reasons == ["resource_limit"], got["tasks"].checks["tests"]
    assert "--tasks" in got["tasks"].checks["tests"]["limit"]["message"]
    assert got["files"].reasons == ["resource_limit"], got["files"].checks["tests"]
    assert "--open-files" in got["files"].checks["tests"]["limit"]["message"]
    assert got["memory"].reasons == ["memory_limit"], got["memory"].checks["tests"]
    assert "--memory" in got["memory"].checks["tests"]["limit"]["message"]


def test_raising_a_limit_keeps_the_sample(sandbox_image: str) -> None:
    roomy = VerifyConfig(workers=1, open_files=2048)
    sample = _limit_sample("files", "    import os\n    fds = [os.open('/dev/null', "
                           "os.O_RDONLY) for _ in range(1000)]\n    [os.close(x) for x in fds]\n")
    with Session(roomy, image=sandbox_image) as s:
        [(_, verdict)] = list(s.verify([sample]))
    assert "resource_limit" not in verdict.reasons, verdict.checks["tests"]


SLOW_BUT_CORRECT = Sample("slow", """\
def collatz_max(limit: int) -> int:
    best = 0
    for start in range(1, limit):
        n, steps = start, 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        best = max(best, steps)
    return best
""", """\
from solution import collatz_max


def test_collatz():
    assert collatz_max(100_000) == 350
    assert collatz_max(10) == 19
    assert collatz_max(2) == 0
""", entry_point="collatz_max")


def test_a_busy_machine_does_not_change_the_verdict(sandbox_image: str) -> None:
    # About 1 s of CPU per run: under two CPU burners its wall time is a multiple of that.
    # 1.5 s of CPU for ~1 s of work: more wall time than that under the burners (where
    # the old wall-clock limit would have ended it).
    config = VerifyConfig(workers=1, timeout=1.5, probes=())
    with Session(config, image=sandbox_image) as s:
        [(_, idle)] = list(s.verify([SLOW_BUT_CORRECT]))
        burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                   for _ in range(6)]
        try:
            [(_, busy)] = list(s.verify([SLOW_BUT_CORRECT]))
        finally:
            for b in burners:
                b.kill()
                b.wait()
    assert idle.reasons == [] and busy.reasons == [], (idle.checks, busy.checks)


def test_wall_time_past_the_cpu_limit_is_no_timeout(sandbox_image: str) -> None:
    # What a busy machine does to a run, made certain: 2.5 s of wall time, little CPU.
    waits = Sample("waits", "def f() -> int:\n    return 1\n",
                   "import time\nfrom solution import f\n\ndef test_f():\n"
                   "    time.sleep(2.5)\n    assert f() == 1\n", entry_point="f")
    config = VerifyConfig(workers=1, timeout=1.5, probes=())
    with Session(config, image=sandbox_image) as s:
        [(_, verdict)] = list(s.verify([waits]))
    assert verdict.reasons == [], verdict.checks
    assert verdict.checks["tests"]["seconds"] > 1.5
