"""Running pytest inside the sandbox, warm.

`prepare` builds the pytest config and session in the fork server, before any sample
is seen, so that a child only collects and runs; `run` is called in the child.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from _pytest.config import _prepareconfig
from _pytest.main import Session

_HYPOTHESIS: list[bool] = []  # set once hypothesis is imported with the sandbox's profile


def use_hypothesis() -> None:
    """Import hypothesis, deterministic and database-free: verdicts must not depend on the
    run. The fork server does it before a run whose files name hypothesis, not at start."""
    if _HYPOTHESIS:
        return
    from hypothesis import settings

    settings.register_profile(
        "sandbox", database=None, deadline=None, derandomize=True, print_blob=False
    )
    settings.load_profile("sandbox")
    _HYPOTHESIS.append(True)


def hypothesis_ready() -> bool:
    return bool(_HYPOTHESIS)


BASE_ARGS = ["-q", "-s", "-p", "no:cacheprovider", "-p", "_hypothesis_pytestplugin",
             "-c", os.devnull, "--rootdir"]
MESSAGE_CAP = 4000


class Recorder:
    """Collects per-test outcomes from pytest's reports."""

    def __init__(self) -> None:
        self.collected = 0
        self.tests: dict[str, dict[str, Any]] = {}
        self.collect_errors: list[str] = []

    def pytest_collection_finish(self, session: Session) -> None:
        self.collected = len(session.items)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collect_errors.append(_tail(report.longreprtext))

    def pytest_runtest_logreport(self, report: Any) -> None:
        entry = self.tests.setdefault(
            report.nodeid, {"nodeid": report.nodeid, "outcome": "passed", "duration": 0.0,
                            "message": ""}
        )
        entry["duration"] += report.duration
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            if report.passed:
                entry["outcome"] = "xpassed" if xfail else "passed"
            elif report.skipped:
                entry["outcome"] = "xfailed" if xfail else "skipped"
            else:
                entry["outcome"] = "failed"
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "xfailed" if xfail else "skipped"
        elif report.failed:
            entry["outcome"] = "error" if entry["outcome"] in ("passed", "skipped") else \
                entry["outcome"]
        if report.failed or report.skipped:
            text = report.longreprtext if report.failed else str(report.longrepr)
            entry["message"] = _tail(f"{entry['message']}\n{text}".strip())

    def record(self) -> dict[str, Any]:
        tests = list(self.tests.values())
        ok = self.collected > 0 and not self.collect_errors and \
            all(t["outcome"] == "passed" for t in tests) and len(tests) == self.collected
        return {"complete": True, "collected": self.collected, "tests": tests,
                "collect_errors": self.collect_errors, "exit_code": 0 if ok else 1}


def _tail(text: str) -> str:
    return text if len(text) <= MESSAGE_CAP else "..." + text[-MESSAGE_CAP:]


_RECORDER = Recorder()
_WARM: dict[str, Any] = {}


def prepare(job_dir: str) -> None:
    """Configure pytest once, with stdout pointed away from the channel."""
    # confcutdir: collection and conftest lookup stay inside the job dir, never its parents.
    config = _prepareconfig([*BASE_ARGS, job_dir, f"--confcutdir={job_dir}", job_dir],
                            plugins=[_RECORDER])
    session = Session.from_config(config)
    config._do_configure()
    config.hook.pytest_sessionstart(session=session)
    _WARM.update(config=config, session=session, job_dir=job_dir)


def warm_session(workdir: str) -> tuple[Any, Any] | None:
    """The prepared (config, session), when it was prepared for `workdir`."""
    if _WARM.get("job_dir") != workdir:
        return None
    return _WARM["config"], _WARM["session"]


def run(args: list[str], workdir: str, rewrite: bool = True) -> dict[str, Any]:
    """Collect and run the tests in `workdir`; called in the forked child.

    `rewrite=False` imports the tests with plain asserts: the same outcomes, at a third
    less cost, but failure messages without the compared values.
    """
    if not rewrite:
        from _pytest.assertion.rewrite import AssertionRewritingHook

        sys.meta_path[:] = [f for f in sys.meta_path
                            if not isinstance(f, AssertionRewritingHook)]
    if args or workdir != _WARM.get("job_dir"):
        return _run_cold([*args, *([] if rewrite else ["--assert=plain"])], workdir)
    config, session = _WARM["config"], _WARM["session"]
    try:
        config.hook.pytest_collection(session=session)
        config.hook.pytest_runtestloop(session=session)
    except pytest.UsageError as exc:
        _RECORDER.collect_errors.append(str(exc))
    except Session.Interrupted as exc:
        if not _RECORDER.collect_errors:  # only a failed collection ends a session this way
            return {"complete": False, "error": f"pytest was interrupted: {exc!r}"}
    except (KeyboardInterrupt, SystemExit, pytest.exit.Exception) as exc:
        return {"complete": False, "error": f"pytest was stopped: {exc!r}"}
    except MemoryError:
        return {"complete": False, "memory_error": True}
    return _RECORDER.record()


def _run_cold(args: list[str], workdir: str) -> dict[str, Any]:
    code = pytest.main([*BASE_ARGS, workdir, f"--confcutdir={workdir}", *args, workdir],
                       plugins=[_RECORDER])
    record = _RECORDER.record()
    if code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        return {"complete": False, "error": f"pytest ended with {code!r}"}
    return record


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"python": sys.version.split()[0], "pytest": pytest.__version__,
            "hypothesis": version("hypothesis"), "mypy": version("mypy")}
