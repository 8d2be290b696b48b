"""Python: parsed by `ast`, type-checked by mypy, tested by pytest, all in the sandbox
image built from `sandboxes/python/`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.languages import LANGUAGES
from harness.records import Sample
from harness.sandbox.result import SOLUTION_FILE, TESTS_FILE, CallJob, Job, PytestJob

# Parsing costs ~200 bytes of memory per byte of source: past this a source is refused.
MAX_SOURCE_BYTES = 1 << 20


class Python:
    """The Python language."""

    name = "python"
    solution_file = SOLUTION_FILE
    tests_file = TESTS_FILE

    def recipe(self) -> Path:
        from harness.sandbox.image import Recipe

        return Recipe.locate().dockerfile.parent

    def files(self, sample: Sample) -> dict[str, str]:
        return {SOLUTION_FILE: sample.solution, TESTS_FILE: sample.tests}

    def syntax_error(self, sample: Sample) -> dict[str, Any] | None:
        for name, source in ((SOLUTION_FILE, sample.solution), (TESTS_FILE, sample.tests)):
            if len(source) > MAX_SOURCE_BYTES:
                return {"file": name, "line": None, "too_large": len(source),
                        "message": f"{len(source)} characters of source, over the "
                                   f"{MAX_SOURCE_BYTES}-character limit of the checks"}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # invalid escapes etc. are not our verdict
                    # Compiled, not only parsed: the compiler's own checks (`break` outside
                    # a loop, say) refuse the import, and stop mypy's build for a batch.
                    compile(source, name, "exec", dont_inherit=True)
            except SyntaxError as exc:
                return {"file": name, "line": exc.lineno, "offset": exc.offset,
                        "message": exc.msg, "text": (exc.text or "").rstrip()[:200]}
            except (ValueError, RecursionError, MemoryError) as exc:
                return {"file": name, "line": None, "message": str(exc)[:200]}
        return None

    def test_job(self) -> Job:
        return PytestJob()

    def typecheck_job(self, names: Sequence[str], args: Sequence[str]) -> Job:
        return CallJob("mypy", {"files": list(names), "args": list(args)})


PYTHON = Python()
LANGUAGES.add("python", PYTHON)
