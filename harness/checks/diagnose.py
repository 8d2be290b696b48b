"""Reading a failed test run for a cause that is not the sample's logic: a module the
image lacks, or one of the run's rlimits. Each comes with the flag or command that
removes it."""

from __future__ import annotations

import re
from typing import Any

from harness.sandbox.result import Limits, RunResult

_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
# Import names whose PyPI distribution is called otherwise.
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "cv2": "opencv-python-headless", "PIL": "pillow",
                  "yaml": "pyyaml", "bs4": "beautifulsoup4", "skimage": "scikit-image",
                  "dateutil": "python-dateutil", "Crypto": "pycryptodome"}


def missing_module(result: RunResult) -> dict[str, Any] | None:
    """The module a failed run could not import, with the command that adds it."""
    texts = [*result.collect_errors, *(t.message for t in result.tests
                                       if t.outcome != "passed")]
    for text in texts:
        found = _NO_MODULE.search(text)
        if found and found[1].split(".")[0] not in ("solution", "test_solution"):
            top = found[1].split(".")[0]
            package = _DISTRIBUTIONS.get(top, top)
            return {"module": found[1], "package": package,
                    "command": f"harness sandbox build --with {package}",
                    "message": f"no module named {found[1]!r} in the sandbox image: build one "
                               f"with it (`harness sandbox build --with {package}`) and pass "
                               "the tag it prints to `harness verify --image`"}
    return None


# What a test that ran into one of the run's rlimits raises, and which limit it was.
_LIMIT_SIGNS = (
    ("can't start new thread", "tasks"),
    ("Resource temporarily unavailable", "tasks"),
    ("Too many open files", "open_files"),
    ("Cannot allocate memory", "memory"),
)


def limit_hit(result: RunResult, limits: Limits) -> dict[str, Any] | None:
    """The rlimit a failed run ran into, named with the flag that raises it; None if the
    failure does not look like one."""
    texts = [t.message for t in result.tests if t.outcome != "passed"]
    texts += result.collect_errors
    found = next((kind for sign, kind in _LIMIT_SIGNS if any(sign in t for t in texts)), None)
    if found is None:
        return None
    if found == "open_files":
        return {"reason": "resource_limit", "limit": "open files", "value": limits.open_files,
                "message": f"the run opened more than its {limits.open_files} files: raise "
                           "it with --open-files"}
    if found == "memory":
        return {"reason": "memory_limit", "limit": "memory", "value": limits.memory_mb,
                "message": f"the run ran out of its {limits.memory_mb} MB of address space: "
                           "raise it with --memory"}
    return {"reason": "resource_limit", "limit": "tasks", "value": limits.processes,
            "message": f"the run could not start a thread or process: it hit its "
                       f"{limits.processes} tasks (raise with --tasks) or its "
                       f"{limits.memory_mb} MB of address space (raise with --memory)"}
