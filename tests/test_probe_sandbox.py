"""The probes in the real sandbox, against hostile samples.

The fork server runs the probes' parent half itself and forks the children that run the
sample: these tests check that those children are confined like any run, that what they
do can't hurt the server or the next sample, and that a pass forged in the sandbox's
pytest run is caught when the probes run the tests again.
"""

from __future__ import annotations

import textwrap

import pytest

from harness.checks.tests import run_tests
from harness.config import VerifyConfig
from harness.probes.stage import probe_sample
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import PytestJob, Status

ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
WRONG_ADD = "def add(a: int, b: int) -> int:\n    return a - b\n"
CONFIG = VerifyConfig(probes=("stubs", "mutants"), mutant_limit=10, probe_budget=20.0,
                      timeout=5.0)


def sample(tests: str, solution: str = ADD, entry: str = "add") -> Sample:
    return Sample(id="s", solution=solution, tests=textwrap.dedent(tests), entry_point=entry)


def assert_pool_healthy(pool: Pool) -> None:
    good = sample("from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    reasons, facts = probe_sample(pool, good, CONFIG)
    assert reasons == [] and facts["mutation"]["score"] is not None, facts
    result = pool.run({"solution.py": ADD, "test_solution.py": good.tests}, PytestJob(),
                      CONFIG.limits)
    assert result.status is Status.OK, result


def test_probe_children_are_confined_like_any_run(pool: Pool) -> None:
    # Each assertion fails (and so fails the unchanged solution's run: an error, no
    # score) if a probe child ran with the server's privileges or environment.
    reasons, facts = probe_sample(pool, sample("""\
        import os, resource, signal
        from solution import add

        def test_confined():
            assert os.getuid() == os.geteuid() == 10000 and os.getgid() == 10000
            assert os.getcwd() == "/work/job" and os.environ["HOME"] == "/work/job/.home"
            assert resource.getrlimit(resource.RLIMIT_NPROC)[0] > 0
            assert resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
            try:
                os.kill(1, 0)
            except PermissionError:
                pass
            else:
                raise AssertionError("the fork server can be signalled")
            for fd in range(3, 64):  # the server's channel to the host is not inherited
                try:
                    os.fstat(fd)
                except OSError:
                    continue
                assert os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"), fd
            assert add(2, 3) == 5 and add(-1, 1) == 0
        """), CONFIG)
    assert "baseline_failed" not in facts and "error" not in facts, facts
    assert reasons == [] and facts["mutation"]["score"] == 1.0, facts
    assert facts["stubs"]["passed_by"] == []


def test_pytests_features_pass_the_rerun(pool: Pool) -> None:
    # The rerun rejects what it can't pass: it must pass whatever pytest passes.
    suite = sample("""\
        import logging, os, unittest, warnings
        import pytest
        from hypothesis import given, strategies as st
        from solution import add

        @pytest.fixture
        def two():
            return 2

        @pytest.fixture(scope="module")
        def base():
            yield 10

        def test_tmp_path(tmp_path, two):
            (tmp_path / "x").write_text(str(add(two, 3)))
            assert (tmp_path / "x").read_text() == "5"

        def test_capsys(capsys):
            print(add(1, 1))
            assert capsys.readouterr().out == "2\\n"

        def test_caplog(caplog):
            with caplog.at_level(logging.INFO):
                logging.getLogger("x").info("sum %s", add(2, 2))
            assert "sum 4" in caplog.text

        def test_monkeypatch(monkeypatch, base):
            monkeypatch.setenv("X", str(add(base, 1)))
            assert os.environ["X"] == "11"

        def test_recwarn(recwarn):
            warnings.warn("w", UserWarning)
            assert len(recwarn) == 1 and add(1, 2) == 3

        @pytest.mark.parametrize(("a", "b", "c"), [(1, 2, 3), (0, 0, 0), (-1, 1, 0)])
        def test_param(a, b, c):
            assert add(a, b) == c

        @given(st.integers(), st.integers())
        def test_property(a, b):
            assert add(a, b) == add(b, a) and add(a, 0) == a

        class TestClass:
            def test_method(self):
                assert add(5, 5) == 10

        class TestUnit(unittest.TestCase):
            def test_unit(self):
                self.assertEqual(add(7, 1), 8)

        def test_raises():
            with pytest.raises(TypeError):
                add(1, None)

        @pytest.mark.filterwarnings("error")
        def test_warning_made_an_error():
            with pytest.raises(UserWarning):
                warnings.warn("w", UserWarning)
            assert add(2, 2) == 4
        """)
    reasons, facts = probe_sample(pool, suite, CONFIG)
    assert "baseline_failed" not in facts and not facts.get("errors"), facts
    assert reasons == [] and facts["mutation"]["score"] == 1.0, facts


@pytest.mark.parametrize(("name", "tests", "reason"), [
    ("a record forged on every descriptor, then exit 0", """\
        import json, os
        from solution import add

        def test_add():
            record = {"complete": True, "collected": 1, "collect_errors": [], "exit_code": 0,
                      "tests": [{"nodeid": "test_solution.py::test_add", "outcome": "passed",
                                 "duration": 0.0, "message": ""}]}
            for fd in range(3, 256):
                try:
                    os.write(fd, json.dumps(record).encode())
                except OSError:
                    pass
            os._exit(0)
        """, "crashed"),
    ("pytest's reports rewritten by a plugin the tests register", """\
        import sys
        import pytest
        from _pytest.config import Config
        from solution import add

        class Cheat:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(self, item, call):
                outcome = yield
                report = outcome.get_result()
                report.outcome, report.longrepr = "passed", None

        def running_config():
            frame = sys._getframe()
            while frame is not None:
                for value in frame.f_locals.values():
                    found = value if isinstance(value, Config) else getattr(value, "config", None)
                    if isinstance(found, Config):
                        return found
                frame = frame.f_back

        running_config().pluginmanager.register(Cheat(), "cheat")

        def test_add():
            assert add(2, 3) == 5
        """, "test_failed"),
])
def test_a_forged_pass_is_caught_by_the_probes(pool: Pool, name: str, tests: str,
                                               reason: str) -> None:
    cheat = sample(tests, solution=WRONG_ADD)
    # The sandbox's pytest run is fooled: the pass is forged inside the sample's process.
    reasons, _ = run_tests(pool, cheat, CONFIG.limits)
    assert reasons == [], name
    reasons, facts = probe_sample(pool, cheat, CONFIG)
    assert reasons == [reason], (name, facts)
    failed = facts["baseline_failed"]
    assert "unchanged solution" in failed["explanation"]
    if reason == "test_failed":
        assert failed["failed"] == "test_solution.py::test_add"
        assert "AssertionError" in failed["message"]
        assert "test_solution.py:" in failed["message"]  # the line that raised, quoted
        assert "assert add(2, 3) == 5" in failed["message"]
    else:
        assert failed["failed"].startswith("crashed")
    assert "mutation" not in facts and "stubs" not in facts  # nothing else is claimed
    assert_pool_healthy(pool)


@pytest.mark.parametrize(("name", "tests"), [
    ("kill the fork server, then everyone", """\
        import os, signal
        from solution import add

        def test_add():
            if add(2, 3) != 5:
                for pid in (1, -1):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            assert add(2, 3) == 5
        """),
    ("fork bomb from the stand-ins", """\
        import os
        from solution import add

        def test_add():
            if add(2, 3) != 5:
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            assert add(2, 3) == 5
        """),
    ("a daemon left behind by every variant", """\
        import subprocess
        from solution import add

        def test_add():
            subprocess.Popen(["sleep", "300"], start_new_session=True)
            assert add(2, 3) == 5 and add(1, 1) == 2
        """),
    ("memory bomb in the mutants", """\
        from solution import add

        def test_add():
            if add(2, 3) != 5:
                hoard = []
                while True:
                    hoard.append(bytearray(64 << 20))
            assert add(2, 3) == 5
        """),
])
def test_hostile_variants_do_not_hurt_the_server(pool: Pool, name: str, tests: str) -> None:
    reasons, facts = probe_sample(pool, sample(tests), CONFIG)
    assert "error" not in facts and "baseline_failed" not in facts, (name, facts)
    assert facts["mutation"]["mutants"] > 0, (name, facts)
    assert "trivial_tests" not in reasons, (name, facts)
    assert_pool_healthy(pool)


def test_records_forged_by_the_variants_count_against_the_sample(pool: Pool) -> None:
    # Garbage on the probes' own channel must neither crash the server's half (which
    # would leave the sample unjudged) nor help the sample: the stand-ins "passed".
    reasons, facts = probe_sample(pool, sample("""\
        import os
        from solution import add

        BAD = b'{"ran": 1, "passed": true, "seconds": "x", "search": 5, "cut": 3}\\n'

        def test_add():
            if add(2, 3) != 5:
                for fd in range(3, 64):
                    try:
                        os.write(fd, BAD * 3)
                    except OSError:
                        pass
                os._exit(0)
            assert add(2, 3) == 5
        """), CONFIG)
    assert "error" not in facts, facts
    assert "trivial_tests" in reasons and facts["stubs"]["passed_by"], facts
    assert_pool_healthy(pool)


@pytest.mark.parametrize("solution", [
    "def add(a, b):\n    return " + "-" * 100_000 + "a\n",  # the parser gives up: MemoryError
    "def add(a, b):\n    return " + "a+" * 100_000 + "b\n",
    "def add(a, b):\n" + "    a = a + 1\n" * 20_000 + "    return a + b\n",
    "\x00\xff not python",
])
def test_odd_solutions_do_not_hurt_the_server(pool: Pool, solution: str) -> None:
    # The variants are made from the source in the fork server itself.
    reasons, facts = probe_sample(
        pool, sample("from solution import add\n\ndef test_add():\n    add(1, 2)\n",
                     solution=solution), CONFIG)
    assert "error" not in facts or facts["error"]["status"] != "sandbox_error", facts
    assert_pool_healthy(pool)
