"""Per-round diversity of the pool: is accumulation keeping the data varied?

Replacing real data with synthetic data is how model collapse starts (Gerstgrasser et
al. 2024); the symptoms are fewer distinct n-grams, rising similarity to the pool, and
falling entropy of what the problems are about. Each round reports them, and a fall is
flagged.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.generate.parsing import imports_of
from harness.generate.similarity import mean_pairwise, tokens

# A metric moving by more than this share of its last value counts as a fall.
WARN_DROP = 0.05


@dataclass(frozen=True)
class PoolEntry:
    prompt: str
    origin: str  # "real" or "synthetic"
    entry_point: str
    solution: str
    difficulty: float | None = None
    round: int = 0


def entropy(counts: Counter[str]) -> float:
    """Shannon entropy in bits."""
    total = sum(counts.values())
    if not total:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in counts.values() if c)


def distinct_ngrams(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of the texts (distinct-n, Li et al. 2016)."""
    grams: list[tuple[str, ...]] = []
    for text in texts:
        toks = tokens(text)
        grams += [tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _name_parts(name: str) -> list[str]:
    return [p.lower() for p in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def difficulty_bins(values: Sequence[float]) -> dict[str, int]:
    """Easy (most candidates pass), medium, hard (few pass): KodCode-style pass-rate bins."""
    bins = {"easy (>= 2/3)": 0, "medium": 0, "hard (< 1/3)": 0}
    for v in values:
        key = "easy (>= 2/3)" if v >= 2 / 3 else "hard (< 1/3)" if v < 1 / 3 else "medium"
        bins[key] += 1
    return bins


def measure(pool: Sequence[PoolEntry], new: Sequence[PoolEntry]) -> dict[str, Any]:
    """The round's figures: over the whole pool, and for the samples kept this round."""
    prompts = [p.prompt for p in pool]
    seeds = [p.prompt for p in pool if p.origin == "real"]
    synthetic = [p for p in pool if p.origin == "synthetic"]
    names: Counter[str] = Counter(part for p in pool for part in _name_parts(p.entry_point))
    imports: Counter[str] = Counter(m for p in pool for m in imports_of(p.solution))
    new_prompts = [p.prompt for p in new]
    return {
        "pool": len(pool),
        "synthetic_share": round(len(synthetic) / len(pool), 4) if pool else 0.0,
        "distinct_1": round(distinct_ngrams(prompts, 1), 4),
        "distinct_2": round(distinct_ngrams(prompts, 2), 4),
        "distinct_3": round(distinct_ngrams(prompts, 3), 4),
        "mean_similarity_pool": round(mean_pairwise(prompts), 4),
        "new_mean_similarity_to_pool": round(mean_pairwise(new_prompts, prompts), 4)
        if new else None,
        "new_mean_similarity_to_seeds": round(mean_pairwise(new_prompts, seeds), 4)
        if new and seeds else None,
        "entropy_function_names": round(entropy(names), 4),
        "entropy_imports": round(entropy(imports), 4),
        "difficulty": difficulty_bins([p.difficulty for p in synthetic
                                       if p.difficulty is not None]),
        "new_difficulty": difficulty_bins([p.difficulty for p in new
                                           if p.difficulty is not None]),
    }


def warnings(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """What fell (or, for similarity, rose) by more than WARN_DROP since the last round."""
    if previous is None:
        return []
    out = []
    for key in ("distinct_2", "distinct_3", "entropy_function_names", "entropy_imports"):
        before, now = previous.get(key) or 0.0, current.get(key) or 0.0
        if before and now < before * (1 - WARN_DROP):
            out.append(f"{key} fell from {before} to {now}")
    before, now = previous.get("mean_similarity_pool") or 0.0, current["mean_similarity_pool"]
    if before and now > before * (1 + WARN_DROP):
        out.append(f"mean_similarity_pool rose from {before} to {now}")
    return out
