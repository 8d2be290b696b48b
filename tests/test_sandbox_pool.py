"""The pool's own behaviour: retries, recycling, results, the doctor."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time

import pytest

from harness.sandbox.docker_io import client
from harness.sandbox.image import Recipe, image_tag, recipe_hash
from harness.sandbox.pool import LABEL_RUN, ContainerSpec, Pool
from harness.sandbox.result import CallJob, CommandJob, Limits, PytestJob, Status

SOLUTION = "def half(x: float) -> float:\n    return x / 2\n"
TESTS = """
import time
import pytest
from solution import half

def test_pass():
    assert half(4) == 2

def test_fail():
    assert half(3) == 1

@pytest.mark.skip(reason="not today")
def test_skip():
    pass

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert half(1) == 1

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_error(broken):
    pass
"""


def test_per_test_outcomes_are_reported(pool: Pool) -> None:
    result = pool.run({"solution.py": SOLUTION, "test_solution.py": TESTS}, PytestJob())
    assert result.status is Status.FAILED
    outcomes = {t.nodeid.split("::")[1]: t.outcome for t in result.tests}
    assert outcomes == {"test_pass": "passed", "test_fail": "failed", "test_skip": "skipped",
                        "test_xfail": "xfailed", "test_error": "error"}
    assert result.collected == 5
    failed = next(t for t in result.tests if t.outcome == "failed")
    assert "assert 1.5 == 1" in failed.message
    error = next(t for t in result.tests if t.outcome == "error")
    assert "fixture broke" in error.message
    assert result.wall_time > 0 and result.cpu_time > 0 and result.peak_memory_kb > 0


def test_a_failed_assert_is_explained_but_its_outcome_stands(pool: Pool) -> None:
    # Tests first run with plain asserts; a failed assert runs again, rewritten, for the
    # compared values. A test that passes only the second time still failed.
    tests = ("import sys\nfrom solution import half\n\n"
             "def test_values():\n    assert half(3) == 1\n\n"
             "def test_only_when_rewritten():\n"
             "    assert type(__loader__).__name__ == 'AssertionRewritingHook'\n")
    result = pool.run({"solution.py": SOLUTION, "test_solution.py": tests}, PytestJob())
    assert result.status is Status.FAILED
    outcomes = {t.nodeid.split("::")[1]: (t.outcome, t.message) for t in result.tests}
    assert outcomes["test_values"][0] == "failed"
    assert "assert 1.5 == 1" in outcomes["test_values"][1]
    assert "where 1.5 = half(3)" in outcomes["test_values"][1]
    assert outcomes["test_only_when_rewritten"][0] == "failed"
    assert outcomes["test_only_when_rewritten"][1].endswith("AssertionError")  # the plain run's


def test_collection_error_and_no_tests(pool: Pool) -> None:
    broken = pool.run({"solution.py": SOLUTION, "test_solution.py": "import nope\n"}, PytestJob())
    assert broken.status is Status.FAILED
    assert broken.collect_errors and "nope" in broken.collect_errors[0]
    empty = pool.run({"solution.py": SOLUTION, "test_solution.py": "x = 1\n"}, PytestJob())
    assert empty.status is Status.FAILED and empty.collected == 0


def test_command_and_binary_files(pool: Pool) -> None:
    files = {"data.bin": bytes(range(256)), "run.py": "import sys\nsys.exit(3)\n"}
    result = pool.run(files, CommandJob(("python", "-c",
                                         "print(len(open('data.bin','rb').read()))")))
    assert result.status is Status.OK and result.stdout.strip() == "256"
    failing = pool.run(files, CommandJob(("python", "run.py")))
    assert failing.status is Status.FAILED and failing.exit_code == 3


def test_file_names_cannot_escape(pool: Pool) -> None:
    result = pool.run({"../escape.py": "x = 1\n"}, CommandJob(("true",)))
    assert result.status is Status.CRASHED
    assert "leaves the work dir" in result.stderr


def test_unknown_handler_is_reported(pool: Pool) -> None:
    result = pool.run({}, CallJob("no_such_handler", {}))
    assert result.status is Status.CRASHED
    assert "no handler" in result.stderr


def test_infrastructure_failure_is_retried_on_a_fresh_container(sandbox_image: str) -> None:
    with Pool(size=1, image=sandbox_image, run_id="retry-test") as p:
        first = p._slots[0].container.id
        sleeper = {"test_solution.py": "import time\ndef test_x():\n    time.sleep(1.5)\n"}
        killer = threading.Timer(0.5, lambda: client().containers.get(first).kill())
        killer.start()
        result = p.run(sleeper, PytestJob(), Limits(timeout=10))
        killer.join()
        assert result.status is Status.OK and result.attempts == 2
        assert p._slots[0].container.id != first
        flt = {"label": f"{LABEL_RUN}=retry-test"}
        assert len(client().containers.list(filters=flt, ignore_removed=True)) == 1


def test_requests_queued_behind_a_tainting_run_go_to_a_fresh_container(
        sandbox_image: str) -> None:
    # Requests are pipelined: the ones already queued in a container that turns out
    # tainted are refused there and run elsewhere, without spending their retry.
    with Pool(size=1, image=sandbox_image, depth=3, run_id="taint-test") as p:
        first = p._slots[0].container.id
        slow = {"test_solution.py": "import time\ndef test_x():\n    time.sleep(1.0)\n"}
        mine = {"test_solution.py": "def test_x():\n    print('queued-behind')\n"}
        results: dict[str, object] = {}

        def go(name: str, files: dict[str, str], role: str = "sample") -> None:
            results[name] = p.run(files, PytestJob(), Limits(timeout=10), role=role)

        threads = [threading.Thread(target=go, args=("slow", slow)),
                   threading.Thread(target=go, args=("taint", mine, "no-such-role")),
                   threading.Thread(target=go, args=("behind", mine))]
        for t in threads:
            t.start()
            time.sleep(0.2)  # in this order, all three in the one container's channel
        for t in threads:
            t.join()
        slow_r, taint_r, behind_r = (results[k] for k in ("slow", "taint", "behind"))
        assert slow_r.status is Status.OK  # type: ignore[attr-defined]
        assert taint_r.status is Status.SANDBOX_ERROR  # type: ignore[attr-defined]
        assert behind_r.status is Status.OK  # type: ignore[attr-defined]
        assert "queued-behind" in behind_r.stdout  # type: ignore[attr-defined]
        assert behind_r.attempts == 1  # type: ignore[attr-defined]
        assert first not in [slot.container.id for slot in p._slots]


def test_warm_up_runs_in_the_fork_server_and_a_failed_one_is_not_fatal(
        sandbox_image: str, caplog: pytest.LogCaptureFixture) -> None:
    spec = ContainerSpec(image=sandbox_image, warm=("probe", "no_such_handler"))
    with caplog.at_level(logging.WARNING), Pool(size=1, image=sandbox_image, spec=spec) as p:
        result = p.run({"test_solution.py": "def test_x():\n    pass\n"}, PytestJob())
    assert result.status is Status.OK
    warnings = [r.getMessage() for r in caplog.records if "warm-up" in r.getMessage()]
    assert len(warnings) == 1 and "no_such_handler" in warnings[0]
    assert "'probe'" not in warnings[0]  # the probes' own warm-up ran


def test_large_requests_and_replies_pipelined_on_one_slot_arrive_whole(
        sandbox_image: str) -> None:
    # The second request is on the wire while the first run's reply comes back.
    with Pool(size=1, image=sandbox_image, depth=2) as p:
        loud = {"test_solution.py": "def test_x():\n    print('y' * 3_000_000)\n"}
        bulky = {"test_solution.py": "def test_x():\n    pass\n", "blob.txt": "z" * 8_000_000}
        results: dict[str, object] = {}
        started = time.monotonic()
        threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(
            k, p.run(f, PytestJob(), Limits(timeout=10, output_bytes=4 << 20)))) for k, f in
            (("loud", loud), ("bulky", bulky))]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert time.monotonic() - started < 15
        assert results["loud"].status is Status.OK  # type: ignore[attr-defined]
        assert len(results["loud"].stdout) > 2_900_000  # type: ignore[attr-defined]
        assert results["bulky"].status is Status.OK  # type: ignore[attr-defined]


HYPOTHESIS_TESTS = """
from hypothesis import given, settings, strategies as st
from solution import half

def test_profile():
    assert settings.default.derandomize and settings.default.database is None

@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_half(x):
    assert half(x) * 2 == x
"""


@pytest.mark.parametrize("warm", [(), ("probe",)])
def test_property_tests_run_deterministic_whoever_imported_hypothesis_first(
        sandbox_image: str, warm: tuple[str, ...]) -> None:
    # hypothesis is imported in the fork server on first need: by a sample's tests, or
    # by the probes' warm-up; either way a run gets the sandbox's profile.
    spec = ContainerSpec(image=sandbox_image, warm=warm)
    with Pool(size=1, image=sandbox_image, spec=spec) as p:
        for _ in range(2):
            result = p.run({"solution.py": SOLUTION, "test_solution.py": HYPOTHESIS_TESTS},
                           PytestJob())
            assert result.status is Status.OK, [t.message for t in result.tests]
            assert result.collected == 2


def test_parallel_runs_keep_their_results_apart(sandbox_image: str) -> None:
    with Pool(size=2, image=sandbox_image) as p:
        def job(i: int) -> tuple[int, str]:
            files = {"test_solution.py": f"def test_x():\n    print('sample-{i}')\n"
                                          f"    assert {i} % 5 != 0\n"}
            r = p.run(files, PytestJob())
            return i, f"{r.status.value}:{r.stdout.strip()}"
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(6) as ex:
            results = dict(ex.map(job, range(30)))
    for i, text in results.items():
        status = "failed" if i % 5 == 0 else "ok"
        assert text.startswith(f"{status}:") and f"sample-{i}" in text


def test_image_tag_follows_the_recipe(sandbox_image: str) -> None:
    assert sandbox_image == image_tag() == f"harness-sandbox:{recipe_hash()}"
    labels = client().images.get(sandbox_image).labels
    assert labels["harness.recipe"] == recipe_hash()


def test_caches_left_beside_the_runner_are_not_part_of_the_recipe() -> None:
    before = recipe_hash()
    package = Recipe.locate().package
    cache = package / ".hypothesis" / "examples"
    cache.mkdir(parents=True, exist_ok=True)
    try:
        (cache / "entry").write_text("left by a test run")
        assert recipe_hash() == before
    finally:
        shutil.rmtree(package / ".hypothesis")


def test_doctor_reports_a_working_sandbox(sandbox_image: str) -> None:
    out = subprocess.run([sys.executable, "-m", "harness", "sandbox", "doctor", "--json"],
                         capture_output=True, text=True, timeout=300)
    findings = {f["check"]: f for f in json.loads(out.stdout)}
    assert out.returncode == 0, out.stdout
    assert findings["engine"]["state"] == "ok"
    assert findings["image"]["detail"].startswith(sandbox_image)
    assert findings["live run"]["state"] == "ok" and "pytest" in findings["live run"]["detail"]
    assert "cgroup v" in findings["cgroup"]["detail"]


def test_build_is_skipped_when_up_to_date(sandbox_image: str) -> None:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "harness", "sandbox", "build"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0
    assert out.stdout.strip() == sandbox_image
    assert "up to date" in out.stderr
    assert time.monotonic() - started < 30
