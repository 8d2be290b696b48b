"""Hostile samples against the real sandbox, for the structural verdicts: answers whose
equality is forged, IPC left for the next sample, a solution too deep to mutate.

The pool has one slot, so a sample and the one after it share a container (unless the
first tainted it: the tests check they did share it).
"""

from __future__ import annotations

import textwrap

from harness.config import VerifyConfig
from harness.probes.stage import probe_sample
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import CallJob, CommandJob, Limits, PytestJob, Status

CONFIG = VerifyConfig(probes=("stubs", "mutants"), mutant_limit=12, probe_budget=20.0,
                      timeout=5.0)
# Stricter than the default: the forgers' own methods (__eq__, __ne__) make killed and
# likely-equivalent mutants of their own, so the one survivor that matters, `a - b`,
# weighs less in the score; with it called equivalent (as `==` used to) the score is 1.0.
STRICT = VerifyConfig(probes=("stubs", "mutants"), mutant_limit=12, probe_budget=20.0,
                      timeout=5.0, min_mutation_score=0.9)
FAST = Limits(timeout=5.0)
GOOD = {
    "solution.py": "def add(a, b):\n    return a + b\n",
    "test_solution.py": "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def sample(solution: str, tests: str, entry: str) -> Sample:
    return Sample(id="s", solution=textwrap.dedent(solution), tests=textwrap.dedent(tests),
                  entry_point=entry)


def assert_pool_healthy(pool: Pool) -> None:
    result = pool.run(GOOD, PytestJob(), FAST)
    assert result.status is Status.OK, result


def assert_weak_not_equivalent(pool: Pool, case: Sample) -> None:
    reasons, facts = probe_sample(pool, case, STRICT)
    mutation = facts["mutation"]
    # `a + b` -> `a - b` survives and is told apart, not "likely equivalent". (Mutants of
    # the forger's own __hash__ / __ne__ change no answer's structure: those may be.)
    swapped = [s for s in mutation["survivors"] if "+ " in s["diff"] and "a - b" in s["diff"]]
    assert swapped and swapped[0]["distinguishing_input"], mutation
    assert mutation["score"] is not None and mutation["score"] < STRICT.min_mutation_score, mutation
    assert "weak_tests" in reasons, (reasons, facts)
    assert_pool_healthy(pool)


# -- class 2: equality can be forged ------------------------------------------------------

def test_forged_eq_object_does_not_make_survivors_equivalent(pool: Pool) -> None:
    assert_weak_not_equivalent(pool, sample("""\
        class Answer:
            def __init__(self, value):
                self.value = value

            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            def __hash__(self):
                return 0

        def add(a: int, b: int):
            return Answer(a + b)
        """, """\
        from solution import Answer, add

        def test_add():
            assert add(2, 3) == Answer(5)
        """, "add"))


def test_int_subclass_with_forged_eq(pool: Pool) -> None:
    assert_weak_not_equivalent(pool, sample("""\
        class Num(int):
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = int.__hash__

        def add(a: int, b: int) -> int:
            return Num(a + b)
        """, """\
        from solution import add

        def test_add():
            assert add(2, 3) == 5
        """, "add"))


def test_forged_hash_in_a_set(pool: Pool) -> None:
    assert_weak_not_equivalent(pool, sample("""\
        class Item:
            def __init__(self, value):
                self.value = value

            def __hash__(self):
                return 0

            def __eq__(self, other):
                return True

        def add(a: int, b: int) -> set:
            return {Item(a + b)}
        """, """\
        from solution import Item, add

        def test_add():
            assert add(2, 3) == {Item(5)}
        """, "add"))


def test_same_dataclass_and_same_exception_are_equivalent(pool: Pool) -> None:
    # `n <= 100` -> `n < 100` is equivalent; the mutant's Box and Negative are its own
    # copies of the classes, so `==` and `type(...) is` used to call it "differs".
    reasons, facts = probe_sample(pool, sample("""\
        from dataclasses import dataclass

        class Negative(ValueError):
            pass

        @dataclass(frozen=True)
        class Box:
            value: int

        def clamp(n: int) -> Box:
            if n < 0:
                raise Negative("negative")
            return Box(n if n <= 100 else 100)
        """, """\
        import pytest
        from solution import Box, clamp

        def test_clamp():
            for n, want in [(0, 0), (5, 5), (99, 99), (100, 100), (101, 100), (200, 100)]:
                assert clamp(n).value == want

        def test_negative():
            for n in (-1, -2, -100):
                with pytest.raises(ValueError, match="negative"):
                    clamp(n)
        """, "clamp"), CONFIG)
    mutation = facts["mutation"]
    assert mutation["likely_equivalent"] >= 1, mutation
    assert not mutation["survivors"], mutation
    assert mutation["score"] == 1.0 and "weak_tests" not in reasons, (reasons, facts)
    assert_pool_healthy(pool)


# -- class 6: IPC left for the next sample -----------------------------------------------

LIBC = """\
import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
"""

WRITE_IPC = LIBC + """\
mounts = open("/proc/mounts").read()
assert " /dev/mqueue mqueue " in mounts, mounts
mqd = libc.mq_open(b"/leak", os.O_CREAT | os.O_WRONLY, 0o666, None)
assert mqd >= 0, os.strerror(ctypes.get_errno())
assert libc.mq_send(mqd, b"secret-mq", 9, 0) == 0, os.strerror(ctypes.get_errno())
shmid = libc.shmget(0x5EC2E7, 4096, IPC_CREAT | 0o666)
assert shmid >= 0, os.strerror(ctypes.get_errno())
libc.shmat.restype = ctypes.c_void_p
addr = libc.shmat(shmid, None, 0)
ctypes.memmove(addr, b"secret-shm", 10)
assert libc.semget(0x5EC2E8, 1, IPC_CREAT | 0o666) >= 0
assert libc.msgget(0x5EC2E9, IPC_CREAT | 0o666) >= 0
assert os.listdir("/dev/mqueue") == ["leak"]
for kind in ("shm", "sem", "msg"):
    assert len(open(f"/proc/sysvipc/{kind}").readlines()) == 2, kind
print("wrote", socket.gethostname())
"""

READ_IPC = LIBC + """\
found = []
if os.listdir("/dev/mqueue"):
    found.append(f"mqueue {os.listdir('/dev/mqueue')}")
if libc.mq_open(b"/leak", os.O_RDONLY, 0, None) >= 0:
    found.append("the queue opens")
for name, key in (("shmget", 0x5EC2E7), ("semget", 0x5EC2E8), ("msgget", 0x5EC2E9)):
    if getattr(libc, name)(*((key, 0, 0) if name != "msgget" else (key, 0))) >= 0:
        found.append(name)
for kind in ("shm", "sem", "msg"):
    rows = open(f"/proc/sysvipc/{kind}").readlines()[1:]
    if rows:
        found.append(f"{kind}: {rows}")
print("read", socket.gethostname(), found)
sys.exit(3 if found else 0)
"""


def hostname(stdout: str, word: str) -> str:
    line = next(ln for ln in stdout.splitlines() if ln.startswith(word))
    return line.split()[1]


def test_ipc_does_not_leak_to_the_next_sample(pool: Pool) -> None:
    # The reader sees what is there: written and read in the same run, it finds it all.
    both = pool.run({"w.py": WRITE_IPC, "r.py": READ_IPC},
                    CommandJob(("sh", "-c", "python3 w.py && python3 r.py")), FAST)
    assert both.status is Status.FAILED and both.exit_code == 3, both
    for found in ("mqueue", "the queue opens", "shmget", "semget", "msgget"):
        assert found in both.stdout, both
    wrote = pool.run({"w.py": WRITE_IPC}, CommandJob(("python3", "w.py")), FAST)
    assert wrote.status is Status.OK, wrote  # /dev/mqueue is there, and the uid may use IPC
    read = pool.run({"r.py": READ_IPC}, CommandJob(("python3", "r.py")), FAST)
    assert read.status is Status.OK, read
    # The same container: the sweep removed them, not a replaced container.
    assert hostname(wrote.stdout, "wrote") == hostname(read.stdout, "read"), (wrote, read)
    assert_pool_healthy(pool)


def test_ipc_made_by_the_probes_is_swept(pool: Pool) -> None:
    tests = "import ctypes, os\n" + textwrap.dedent("""\
        from solution import add
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmget(0x5EC2EA, 4096, 0o1666)
        libc.mq_open(b"/probe-leak", os.O_CREAT | os.O_WRONLY, 0o666, None)

        def test_add():
            assert add(2, 3) == 5 and add(-1, 1) == 0 and add(0, 0) == 0
        """)
    reasons, facts = probe_sample(pool, sample(GOOD["solution.py"], tests, "add"), CONFIG)
    assert facts["mutation"]["score"] is not None, facts
    read = pool.run({"r.py": READ_IPC.replace("0x5EC2E7", "0x5EC2EA")},
                    CommandJob(("python3", "r.py")), FAST)
    assert read.status is Status.OK, read
    assert_pool_healthy(pool)


# -- class 3/7: mutant generation that fails -----------------------------------------------

def test_too_deep_to_mutate_is_reported_not_scored(pool: Pool) -> None:
    # The tests raise the recursion limit, so the solution imports in the sandbox; the
    # fork server's parser, at its own limit, cannot even parse it.
    solution = "def add(a, b):\n    x = " + "+".join(["0"] * 5000) + "\n    return a + b + x\n"
    tests = textwrap.dedent("""\
        import sys
        sys.setrecursionlimit(100000)
        from solution import add

        def test_add():
            assert add(2, 3) == 5
        """)
    payload = {"entry_point": "add", "tests_files": ["test_solution.py"],
               "probes": ["stubs", "mutants"], "time_budget": 20.0, "mutant_limit": 10}
    result = pool.run({"solution.py": solution, "test_solution.py": tests},
                      CallJob("probe", payload), Limits(timeout=30.0))
    assert result.status is Status.OK, result
    data = result.data
    assert isinstance(data, dict)
    assert "RecursionError" in str(data.get("mutants_failed")), data
    assert data["mutation_score"] is None and data["mutants"] == [], data
    assert any("mutant generation failed" in e for e in data["errors"]), data
    # Through the host: rejected as unverified, not kept for want of mutants.
    reasons, facts = probe_sample(pool, Sample(id="s", solution=solution, tests=tests,
                                               entry_point="add"), CONFIG)
    assert "unverified" in reasons, (reasons, facts)
    assert_pool_healthy(pool)
