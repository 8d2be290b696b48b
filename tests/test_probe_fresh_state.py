"""Every variant sees pristine state, can't tell it is a variant, and no verdict of the
probes' comes from what the sample can hook or patch (issue 10, classes 1, 4 and 5).

Real hostile (and honest) samples, through the real pool and the real sandbox.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from harness.checks.tests import run_tests
from harness.config import VerifyConfig
from harness.languages import language_of
from harness.probes.stage import probe_sample
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness.sandbox.result import CallJob, Limits, Status
from tests.test_probe_sandbox import assert_pool_healthy

ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
WRONG_ADD = "def add(a: int, b: int) -> int:\n    return a - b\n"
CONFIG = VerifyConfig(probes=("stubs", "mutants"), mutant_limit=20, probe_budget=30.0,
                      timeout=5.0)


def sample(tests: str, solution: str = ADD, entry: str = "add") -> Sample:
    return Sample(id="s", solution=textwrap.dedent(solution), tests=textwrap.dedent(tests),
                  entry_point=entry)


def reply(pool: Pool, s: Sample) -> dict[str, Any]:
    """The probe job's own reply (fields the host does not read yet included)."""
    lang = language_of(s)
    payload = {"entry_point": s.entry_point, "tests_files": [lang.tests_file],
               "probes": ["stubs", "mutants"], "mutant_limit": 10, "time_budget": 20.0}
    result = pool.run(lang.files(s), CallJob("probe", payload),
                      Limits(timeout=30.0, memory_mb=CONFIG.memory_mb,
                             output_bytes=CONFIG.output_bytes))
    assert result.status is Status.OK and isinstance(result.data, dict), result
    data: dict[str, Any] = result.data
    return data


# ------------------------------------------------------------ 1. pristine, undetectable

FIRST_RUN_ONLY = {
    "a module-level counter": """\
        from solution import add
        RUNS = []

        def test_add():
            RUNS.append(1)
            assert len(RUNS) == 1, "only the first run passes"
            assert add(0, 0) == 0
        """,
    "a cached flag on the function": """\
        import solution
        from solution import add

        def test_add():
            if getattr(solution, "seen", False):
                raise AssertionError("run before")
            solution.seen = True
            assert add(0, 0) == 0
        """,
    "a file left behind": """\
        import os
        from solution import add

        def test_add():
            assert not os.path.exists("ran"), "run before"
            open("ran", "w").close()
            assert add(0, 0) == 0
        """,
}


@pytest.mark.parametrize("name", list(FIRST_RUN_ONLY))
def test_tests_that_pass_only_on_their_first_run_are_caught(pool: Pool, name: str) -> None:
    reasons, facts = probe_sample(pool, sample(FIRST_RUN_ONLY[name]), CONFIG)
    # Shared state made every variant fail: no stand-in passed, every mutant was killed.
    assert "trivial_tests" in reasons, (name, facts)
    assert "return 0" in facts["stubs"]["passed_by"], facts
    assert facts["mutation"]["score"] < 1.0, facts


DETECTORS = {
    "identity with a reference kept at import": """\
        import solution
        from solution import add
        REAL, CODE = add, add.__code__.co_filename
        HELD = {"add": add}

        def test_add():
            assert add is REAL and solution.add is REAL and HELD["add"] is add
            assert add(0, 0) == 0
        """,
    "the code object's file": """\
        from solution import add
        import solution

        def test_add():
            assert add.__code__.co_filename == solution.__file__
            assert add.__module__ == "solution" and add.__qualname__ == "add"
            assert add(0, 0) == 0
        """,
    "the traceback's frames": """\
        import traceback
        from solution import add

        def test_add():
            try:
                add(1, None)
            except TypeError as exc:
                files = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
                assert all(f.endswith(("solution.py", "test_solution.py")) for f in files)
            assert add(0, 0) == 0
        """,
}


@pytest.mark.parametrize("name", list(DETECTORS))
def test_a_test_cannot_tell_a_mutant_from_the_solution(pool: Pool, name: str) -> None:
    # Each detector fails on anything it can tell from the real solution: if it could
    # tell, every mutant would be killed and the weak `add(0, 0) == 0` would score 1.0.
    reasons, facts = probe_sample(pool, sample(DETECTORS[name]), CONFIG)
    assert "trivial_tests" in reasons, (name, facts)  # `return 0` passes: not detected
    assert facts["mutation"]["score"] < 1.0, facts  # `a - b` survives: not detected


def test_probelib_on_the_stack_rejects_the_sample(pool: Pool) -> None:
    # The probes' own frames can be seen, but alike in the rerun of the unchanged
    # solution and in the variants: a test that fails on them fails the rerun.
    reasons, facts = probe_sample(pool, sample("""\
        import inspect
        from solution import add

        def test_add():
            assert not any("probelib" in f.filename for f in inspect.stack())
            assert add(0, 0) == 0
        """), CONFIG)
    assert reasons == ["test_failed"] and "baseline_failed" in facts, facts


HONEST = {
    "lru_cache": ("""\
        import functools

        @functools.lru_cache(maxsize=None)
        def fib(n: int) -> int:
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """, "fib", """\
        from solution import fib

        def test_fib():
            assert [fib(i) for i in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
        """),
    "functools.cache, warmed at import": ("""\
        import functools

        @functools.cache
        def fib(n: int) -> int:
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)

        TABLE = [fib(i) for i in range(5)]
        """, "fib", """\
        from solution import fib

        def test_fib():
            assert [fib(i) for i in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
        """),
    "a partial entry point": ("""\
        import functools

        def power(base: int, exp: int) -> int:
            result = 1
            for _ in range(exp):
                result *= base
            return result

        square = functools.partial(power, exp=2)
        """, "square", """\
        from solution import square

        def test_square():
            assert [square(i) for i in (-2, 0, 1, 3)] == [4, 0, 1, 9]
        """),
    "held in a default argument": (ADD, "add", """\
        from solution import add

        def check(f=add):
            assert f(2, 3) == 5 and f(-1, 1) == 0 and f(0, 7) == 7 and f(3, 3) == 6

        def test_add():
            check()
        """),
    "held in a dispatch dict": (ADD, "add", """\
        from solution import add

        OPS = {"add": add}

        def test_add():
            op = OPS["add"]
            assert op(2, 3) == 5 and op(-1, 1) == 0 and op(0, 7) == 7 and op(3, 3) == 6
        """),
    "a class, instance made at import": ("""\
        class Counter:
            def __init__(self) -> None:
                self.n = 0

            def bump(self, by: int) -> int:
                self.n += by
                return self.n
        """, "Counter", """\
        from solution import Counter

        SHARED = Counter()

        def test_bump():
            assert SHARED.bump(2) == 2 and SHARED.bump(3) == 5
            c = Counter()
            assert c.bump(1) == 1 and c.bump(1) == 2
        """),
}


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_samples_keep_a_high_score(pool: Pool, name: str) -> None:
    solution, entry, tests = HONEST[name]
    reasons, facts = probe_sample(pool, sample(tests, solution, entry), CONFIG)
    assert "trivial_tests" not in reasons and facts["stubs"]["passed_by"] == [], facts
    assert reasons == [], (name, facts)
    assert facts["mutation"]["score"] >= 0.75, facts


# ------------------------------------------------------------ 4. an unforgeable rerun

# Registered from the test module, on the running config the tests find on the stack.
REGISTER = """\
import sys
import pytest
from _pytest.config import Config
from solution import add


def running_config():
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            found = value if isinstance(value, Config) else getattr(value, "config", None)
            if isinstance(found, Config):
                return found
        frame = frame.f_back


running_config().pluginmanager.register(Cheat(), "cheat")
"""

HOOKS = {
    "makereport hookwrapper, item with a fixture": """\
        class Cheat:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(self, item, call):
                outcome = yield
                report = outcome.get_result()
                report.outcome, report.longrepr = "passed", None

        @pytest.fixture
        def three():
            return 3

        def test_add(three):
            assert add(2, three) == 5
        """,
    "makereport hookwrapper, item with a mark": """\
        class Cheat:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(self, item, call):
                outcome = yield
                outcome.get_result().outcome = "passed"

        @pytest.mark.parametrize("b", [3])
        def test_add(b):
            assert add(2, b) == 5
        """,
    "pyfunc_call answered without calling the test": """\
        class Cheat:
            @pytest.hookimpl(tryfirst=True)
            def pytest_pyfunc_call(self, pyfuncitem):
                return True

        def test_add():
            assert add(2, 3) == 5
        """,
    "a failure's report rewritten to skipped": """\
        class Cheat:
            @pytest.hookimpl(hookwrapper=True)
            def pytest_runtest_makereport(self, item, call):
                outcome = yield
                report = outcome.get_result()
                if report.failed:
                    report.outcome, report.longrepr = "skipped", ("x", 1, "skip")

        @pytest.mark.filterwarnings("ignore")
        def test_add():
            assert add(2, 3) == 5
        """,
    "runtest_call swallowed by a wrapper": """\
        class Cheat:
            @pytest.hookimpl(wrapper=True)
            def pytest_runtest_call(self, item):
                try:
                    yield
                except BaseException:
                    return None

        @pytest.mark.parametrize("b", [3])
        def test_add(b):
            assert add(2, b) == 5
        """,
}


def hooked(name: str) -> str:
    """The sample's tests: the cheat's class and tests, then its registration."""
    cheat = textwrap.dedent(HOOKS[name])
    head, _, tail = REGISTER.partition("running_config().pluginmanager")
    return head + cheat + "\n\nrunning_config().pluginmanager" + tail


@pytest.mark.parametrize("name", list(HOOKS))
def test_hooks_of_the_tests_cannot_forge_the_rerun(pool: Pool, name: str) -> None:
    cheat = Sample(id="s", solution=WRONG_ADD, tests=hooked(name), entry_point="add")
    # The sandbox's pytest run is fooled: the pass is forged inside the sample's process.
    if "skipped" not in name:
        assert run_tests(pool, cheat, CONFIG.limits)[0] == [], name
    reasons, facts = probe_sample(pool, cheat, CONFIG)
    assert reasons == ["test_failed"], (name, facts)
    assert facts["baseline_failed"]["failed"].startswith("test_solution.py::test_add"), facts


def test_marks_and_fixtures_are_honoured_without_pytests_protocol(pool: Pool) -> None:
    reasons, facts = probe_sample(pool, sample("""\
        import sys, warnings
        import pytest
        from solution import add

        @pytest.mark.skip(reason="never")
        def test_skipped():
            raise AssertionError

        @pytest.mark.skipif(sys.version_info > (2,), reason="py3")
        def test_skipif():
            raise AssertionError

        @pytest.mark.xfail(raises=ZeroDivisionError, strict=True)
        def test_xfail():
            1 / 0

        @pytest.fixture
        def pair(request):
            yield (2, 3)

        def test_yield_fixture(pair, tmp_path, monkeypatch, capsys, caplog):
            monkeypatch.setattr(sys, "argv", ["x"])
            print(add(*pair))
            assert capsys.readouterr().out == "5\\n" and add(-1, 1) == 0 and add(4, 4) == 8

        @pytest.mark.filterwarnings("error::DeprecationWarning")
        def test_warning_error():
            with pytest.raises(DeprecationWarning):
                warnings.warn("d", DeprecationWarning)
            assert add(1, 2) == 3
        """), CONFIG)
    assert "baseline_failed" not in facts and reasons == [], facts


# ------------------------------------------------------------ 5. tampering tests

TAMPERING = {
    "builtins.len replaced": ("""\
        def count(xs: list) -> int:
            return 3
        """, "count", """\
        import builtins
        from solution import count
        builtins.len = lambda x: 3

        def test_count():
            assert count([1, 2]) == len([1, 2])
        """, ["builtins.len", "replaced"]),
    "builtins.sorted replaced during the run": ("""\
        def first(xs: list) -> int:
            return xs[0]
        """, "first", """\
        import builtins
        from solution import first

        def test_first():
            builtins.sorted = lambda xs: xs
            assert first([3, 1, 2]) == sorted([3, 1, 2])[0]
        """, ["builtins.sorted", "replaced"]),
    "the solution's helper replaced": ("""\
        def helper(x: int) -> int:
            return x - 1

        def inc(x: int) -> int:
            return helper(x)
        """, "inc", """\
        import solution
        solution.helper = lambda x: x + 1
        from solution import inc

        def test_inc():
            assert inc(1) == 2 and inc(5) == 6
        """, ["solution.helper", "replaced"]),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_is_reported(pool: Pool, name: str) -> None:
    solution, entry, tests, expected = TAMPERING[name]
    data = reply(pool, sample(tests, solution, entry))
    assert {"what": expected[0], "how": expected[1]} in data.get("tampering", []), data


def test_honest_suites_report_no_tampering(pool: Pool) -> None:
    data = reply(pool, sample("""\
        import builtins, functools
        import pytest
        from hypothesis import given, strategies as st
        import solution
        from solution import add

        def test_monkeypatched(monkeypatch):
            monkeypatch.setattr(builtins, "input", lambda *a: "1")
            monkeypatch.setattr(solution, "add", lambda a, b: a + b)
            assert add(int(input()), 1) == 2

        @given(st.integers(), st.integers())
        def test_property(a, b):
            assert add(a, b) == add(b, a)
        """))
    assert "tampering" not in data and "baseline_failed" not in data, data


def test_pool_is_healthy_after(pool: Pool) -> None:
    assert_pool_healthy(pool)


# ------------------------------------------------------------ shared or forked runs

def isolation(data: dict[str, Any]) -> tuple[str, str]:
    mode = data["isolation"]
    return mode["mode"], mode["why"]


HUMANEVAL_LIKE = ("""\
    from typing import List

    def has_close_elements(numbers: List[float], threshold: float) -> bool:
        for i, a in enumerate(numbers):
            for j, b in enumerate(numbers):
                if i != j and abs(a - b) < threshold:
                    return True
        return False
    """, "has_close_elements", """\
    from solution import has_close_elements

    def check(candidate):
        assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True
        assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False
        assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True
        assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 0.5) == False

    def test_check():
        check(has_close_elements)
    """)


FIXTURES_AND_HYPOTHESIS = """\
    from hypothesis import given, strategies as st
    import pytest
    from solution import add

    @given(st.integers(), st.integers())
    def test_property(a, b):
        assert add(a, b) == b + a

    @pytest.mark.parametrize("a,b,c", [(1, 2, 3), (0, 0, 0)])
    def test_param(a, b, c):
        assert add(a, b) == c

    @pytest.fixture
    def pair():
        return (2, 3)

    def test_fixtures(pair, tmp_path, monkeypatch, capsys):
        (tmp_path / "x").write_text("1")
        print(add(*pair))
        assert capsys.readouterr().out == "5\\n"
    """


@pytest.mark.parametrize("name", ["humaneval-like", "fixtures and hypothesis",
                                  "a partial entry point",
                                  "held in a default argument", "held in a dispatch dict",
                                  *DETECTORS])
def test_stateless_samples_run_in_one_shared_process(pool: Pool, name: str) -> None:
    if name in DETECTORS or name == "fixtures and hypothesis":
        solution, entry = ADD, "add"
        tests = DETECTORS.get(name, FIXTURES_AND_HYPOTHESIS)
    else:
        solution, entry, tests = HUMANEVAL_LIKE if name == "humaneval-like" else HONEST[name]
    data = reply(pool, sample(tests, solution, entry))
    assert isolation(data)[0] == "shared", data
    if name not in DETECTORS:
        assert data["mutation_score"] >= 0.75 and not any(
            s["passed_all"] for s in data["stubs"]), data
    else:  # still undetected: `return 0` passes, `a - b` survives
        assert any(s["passed_all"] for s in data["stubs"]), data
        assert data["mutation_score"] < 1.0, data


STATEFUL = {
    "a counter in the tests": (ADD, "add", FIRST_RUN_ONLY["a module-level counter"],
                               "test_solution.RUNS"),
    "a flag set on the solution": (ADD, "add", FIRST_RUN_ONLY["a cached flag on the function"],
                                   "solution.seen"),
    "a file left behind": (ADD, "add", FIRST_RUN_ONLY["a file left behind"], "files"),
    "a memo dict in the solution": ("""\
        MEMO: dict[int, int] = {}

        def fib(n: int) -> int:
            if n not in MEMO:
                MEMO[n] = n if n < 2 else fib(n - 1) + fib(n - 2)
            return MEMO[n]
        """, "fib", HONEST["lru_cache"][2], "solution.MEMO"),
    "an lru_cache filled": (*HONEST["lru_cache"], "solution.fib"),
}


@pytest.mark.parametrize("name", list(STATEFUL))
def test_state_changed_by_the_first_run_forks_every_run(pool: Pool, name: str) -> None:
    solution, entry, tests, what = STATEFUL[name]
    data = reply(pool, sample(tests, solution, entry))
    mode, why = isolation(data)
    assert mode == "forked" and what in why, data
    if name.startswith(("a memo", "an lru")):  # honest: forked, it keeps its score
        assert data["mutation_score"] >= 0.75, data


def test_a_rerun_that_fails_among_the_variants_forks_every_run(pool: Pool) -> None:
    plain = reply(pool, sample(FIRST_RUN_ONLY["a module-level counter"].replace(
        "RUNS.append(1)\n", "").replace(
        'assert len(RUNS) == 1, "only the first run passes"\n', "")))
    assert isolation(plain)[0] == "shared", plain
    variants = len(plain["stubs"]) + len(plain["mutants"]) + len(plain["skipped"])
    runs = 1 + variants + min(3, variants - 1) + 1  # the baseline, variants, canaries
    # The count is kept where no fingerprint looks (the environment): the first two runs
    # and the last pass, the ones between (every canary but the last) fail.
    hostile = reply(pool, sample(f"""\
        import os
        from solution import add

        def test_add():
            run = int(os.environ.get("RUNS", "0")) + 1
            os.environ["RUNS"] = str(run)
            assert run in (1, 2, {runs}), run
            assert add(0, 0) == 0
        """))
    mode, why = isolation(hostile)
    assert mode == "forked" and "rerun" in why, hostile
    # The verdict of a process per run: each sees the first run's state, so all pass as
    # the plain suite's do.
    assert hostile["stubs"] == plain["stubs"], hostile
    assert [m["killed"] for m in hostile["mutants"]] == \
        [m["killed"] for m in plain["mutants"]], hostile
