"""The real seed problems a run starts from (canonical samples, e.g. problems/seeds.jsonl)."""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputError
from harness.records import Sample
from harness.sources import read_samples


def load_seeds(path: str) -> list[Sample]:
    """Every valid seed of `path`; InputError when it has none (or does not exist)."""
    if not Path(path).exists():
        raise InputError(f"seed file {path} does not exist: pass --seeds FILE (canonical "
                         "JSONL, e.g. problems/seeds.jsonl)")
    seeds = [r for r in read_samples(path, "canonical") if isinstance(r, Sample)]
    if not seeds:
        raise InputError(f"{path} holds no valid canonical sample: each line needs id, "
                         "prompt, solution, tests and entry_point")
    return seeds
