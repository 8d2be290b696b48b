"""Filters: stages in the harness process that decide before any sandbox time is spent.

Each filter is one class in one module, registered in `FILTERS`; the engine runs the
chosen ones in order, on every sample in input order.

    unique_id             ids unique within the input (`invalid_sample`), always first
    decontam              benchmark contamination by n-gram overlap (`contaminated`)
    decontam_embeddings   the same by sentence-embedding similarity (extra `embeddings`)
    dedup                 near-duplicates (`duplicate`), order-dependent

`default_filters` builds the list `verify` and `generate` add after `unique_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.registry import Registry
from harness.stage import Filter

FILTERS: Registry[type[Filter]] = Registry("filter")

# Each registers itself.
from harness.filters import unique_id  # noqa: E402,F401
from harness.filters.benchmarks import (  # noqa: E402
    DEFAULT_SETS,
    BenchmarkSet,
    load_benchmark,
    load_default,
)
from harness.filters.decontam import THRESHOLD as NGRAM_THRESHOLD  # noqa: E402
from harness.filters.decontam import Decontaminate  # noqa: E402
from harness.filters.dedup import CODE_THRESHOLD, PROMPT_THRESHOLD, Dedup  # noqa: E402
from harness.filters.semantic import THRESHOLD as EMBEDDING_THRESHOLD  # noqa: E402
from harness.filters.semantic import EmbeddingDecontaminate  # noqa: E402


def benchmark_sets(paths: Sequence[str | Path] = (),
                   defaults: Sequence[str] = DEFAULT_SETS) -> list[BenchmarkSet]:
    """The default sets by name, then one set per extra path, in that order."""
    return [*(load_default(name) for name in defaults), *(load_benchmark(p) for p in paths)]


def default_filters(*, dedup: bool = True, decontaminate: bool = False,
                    benchmarks: Sequence[str | Path] = (), embeddings: bool = False,
                    code_threshold: float | None = CODE_THRESHOLD,
                    prompt_threshold: float | None = PROMPT_THRESHOLD,
                    ngram_threshold: float = NGRAM_THRESHOLD,
                    embedding_threshold: float = EMBEDDING_THRESHOLD,
                    ) -> list[Filter]:
    """The hygiene filters of a run, in the order they run: decontamination first (each
    sample judged alone), then dedup (so a contaminated sample is never indexed).

    Extra `benchmarks` imply decontamination; `embeddings` adds the embedding pass to
    it (needs the `embeddings` extra). `verify` passes decontaminate=False by default,
    `generate` passes True.
    """
    filters: list[Filter] = []
    if decontaminate or benchmarks or embeddings:
        sets = benchmark_sets(benchmarks)
        filters.append(Decontaminate(sets, threshold=ngram_threshold))
        if embeddings:
            filters.append(EmbeddingDecontaminate(sets, threshold=embedding_threshold))
    if dedup:
        filters.append(Dedup(code_threshold=code_threshold, prompt_threshold=prompt_threshold))
    return filters


def run_record(filters: Sequence[Filter]) -> dict[str, Any]:
    """What the run record says of its filters: each one's settings, and the benchmark
    sets checked against (path, sha256, item count)."""
    settings: dict[str, Any] = {}
    sets: dict[str, dict[str, Any]] = {}
    for f in filters:
        config = getattr(f, "config", None)
        if callable(config):
            settings[f.name] = {k: v for k, v in config().items() if k != "sets"}
        for bench in getattr(f, "sets", ()):
            sets.setdefault(bench.path, bench.to_json())
    return {"filters": settings, "benchmarks": list(sets.values())}


__all__ = ["FILTERS", "BenchmarkSet", "Decontaminate", "Dedup", "EmbeddingDecontaminate",
           "benchmark_sets", "default_filters", "load_benchmark", "load_default",
           "run_record"]
