"""Languages: what the harness needs to know to check a sample written in one.

A language is one module that registers an object satisfying `Language` in `LANGUAGES`,
plus an image recipe directory under `sandboxes/` (see docs/extending.md). Python is the
first; `Sample.language` picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from harness.records import Sample
from harness.registry import Registry
from harness.sandbox.result import Job


class Language(Protocol):
    """The per-language half of syntax, type and test checks."""

    name: str
    solution_file: str
    tests_file: str

    def recipe(self) -> Path:
        """The directory the sandbox image for this language is built from."""
        ...

    def files(self, sample: Sample) -> dict[str, str]:
        """The files a sample's run writes into the sandbox's work dir."""
        ...

    def syntax_error(self, sample: Sample) -> dict[str, Any] | None:
        """None when solution and tests parse; else the file, line and message."""
        ...

    def test_job(self) -> Job:
        """The job that runs the sample's tests."""
        ...

    def typecheck_job(self, names: Sequence[str], args: Sequence[str]) -> Job:
        """The job that type-checks the named solution files in one call."""
        ...


LANGUAGES: Registry[Language] = Registry("language")

from harness.languages import python  # noqa: E402,F401  (registers itself)


def language_of(sample: Sample) -> Language:
    return LANGUAGES.get(sample.language)
