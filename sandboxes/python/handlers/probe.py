"""Test-strength probes for one sample: stand-ins and mutants, in one warm child."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest_job
from probelib.runner import run_probes
from probelib.strategies import warm as _warm_strategies


def warm() -> None:
    """Called once in the fork server when the run has probes (the pool's `warm`)."""
    with contextlib.suppress(Exception):  # a cold hypothesis is slower, not wrong
        _warm_strategies()


def run(payload: dict[str, Any], workdir: str) -> dict[str, Any]:
    """payload: entry_point, tests_files, probes, mutant_limit, time_budget."""
    return run_probes(
        workdir,
        payload["entry_point"],
        list(payload["tests_files"]),
        list(payload["probes"]),
        int(payload["mutant_limit"]),
        float(payload["time_budget"]),
        pytest_job.warm_session(workdir),
    )
