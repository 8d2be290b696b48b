"""Filters: stages in the harness process, before the sandbox (no sandbox time spent).

    dedup                 near-duplicates (`duplicate`), order-dependent
    decontam              benchmark contamination by n-gram overlap (`contaminated`)
    decontam_embeddings   the same by sentence-embedding similarity (extra `embeddings`)

`default_filters` builds the list `verify` and `generate` run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.filters.benchmarks import DEFAULT_SETS, BenchmarkSet, load_benchmark, load_default
from harness.filters.decontam import THRESHOLD as NGRAM_THRESHOLD
from harness.filters.decontam import Decontaminate
from harness.filters.dedup import CODE_THRESHOLD, PROMPT_THRESHOLD, Dedup
from harness.filters.semantic import THRESHOLD as EMBEDDING_THRESHOLD
from harness.filters.semantic import EmbeddingDecontaminate
from harness.registry import Registry
from harness.stage import Filter

FILTERS: Registry[type[Filter]] = Registry("filter")
FILTERS.add(Dedup.name, Dedup)
FILTERS.add(Decontaminate.name, Decontaminate)
FILTERS.add(EmbeddingDecontaminate.name, EmbeddingDecontaminate)


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
    """The filters of a run, in the order they run: decontamination first (judged per
    sample, cacheable), then dedup (so a contaminated sample is never indexed).

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


__all__ = ["FILTERS", "BenchmarkSet", "Decontaminate", "Dedup", "EmbeddingDecontaminate",
           "benchmark_sets", "default_filters", "load_benchmark", "load_default"]
