"""Shared fixtures: the real sandbox image and a warm pool on the real Docker engine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.sandbox.image import build
from harness.sandbox.pool import Pool
from harness.sandbox.result import Limits

# Set before any pool starts: a sandboxed run must never see it.
HOST_SECRET = "harness-host-secret-7f3a9c"
os.environ["HARNESS_TEST_SECRET"] = HOST_SECRET


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    return build(say=lambda _msg: None)


@pytest.fixture(scope="session")
def pool(sandbox_image: str) -> Iterator[Pool]:
    """One slot, so that a sample and the one after it share a container."""
    with Pool(size=1, image=sandbox_image, limits=Limits(timeout=5.0),
              run_id=f"pytest-hostile-{os.getpid()}") as p:
        # Per session: closing a pool removes every container of its run id, and other
        # sessions (a colleague's worktree) may run the suite meanwhile.
        yield p
