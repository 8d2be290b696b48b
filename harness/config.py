"""What a verify run is asked to do: `VerifyConfig`, every field of which can decide a
verdict (except the parallelism), and the defaults the CLI shows."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.sandbox.result import DEFAULT_MYPY_ARGS, Limits

ALL_PROBES = ("stubs", "mutants", "lint", "differential")


def default_workers() -> int:
    """One slot per core: each slot has its next request queued while a run ends, so it
    does not idle, and every further container costs a third of a second of CPU to start."""
    return os.cpu_count() or 1


@dataclass(frozen=True)
class VerifyConfig:
    """Everything that decides a verdict (plus how much parallelism to use)."""

    timeout: float = 10.0
    memory_mb: int = 512
    output_bytes: int = 1 << 20
    tasks: int = 128  # threads and processes of a run, together
    open_files: int = 256
    typecheck: bool = True
    mypy_args: tuple[str, ...] = DEFAULT_MYPY_ARGS
    probes: tuple[str, ...] = ALL_PROBES
    min_mutation_score: float = 0.5
    # Weak also when this many surviving mutants have an input that tells them apart (0:
    # the score alone decides). 1 is what HumanEval+ measured best (docs/calibration.md).
    min_distinguished: int = 1
    mutant_limit: int = 30
    probe_budget: float = 30.0
    # The differential probe: float tolerance and unordered results (a sample's meta wins).
    atol: float | None = None
    unordered: bool = False
    # --augment: strengthened tests for samples with a reference (or a trusted solution).
    augment: bool = False
    trust_solution: bool = False
    augment_max: int = 10
    # Fail closed: a sample whose probes could not run or decide is rejected `unverified`;
    # False keeps such samples (their probe facts still say what could not be checked).
    require_probes: bool = True
    workers: int = field(default_factory=lambda: default_workers())
    batch: int = 64

    @property
    def limits(self) -> Limits:
        """A run's limits: `timeout` seconds of CPU, so that a busy machine does not change
        verdicts, and a generous wall-clock backstop that stops a run that only sleeps."""
        return Limits(timeout=wall_backstop(self.timeout), cpu=self.timeout,
                      memory_mb=self.memory_mb, output_bytes=self.output_bytes,
                      processes=self.tasks, open_files=self.open_files)


    def identity(self) -> dict[str, Any]:
        """The fields that can change a verdict; they go into the cache key."""
        out = asdict(self)
        for key in ("workers", "batch"):
            out.pop(key)
        return out


def wall_backstop(cpu_seconds: float) -> float:
    """The wall-clock limit of a run allowed `cpu_seconds` of CPU: room for a machine
    loaded three times over (both cores busy elsewhere), and then some."""
    return 3.0 * cpu_seconds + 5.0
