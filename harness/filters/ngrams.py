"""An inverted index of n-grams: which indexed texts a query contains, and how much.

Containment, not Jaccard: the share of an indexed item's n-grams found in the query, so
a benchmark problem pasted inside a longer sample still counts in full. An item shorter
than n tokens is indexed as one gram of its whole length, and found in a query that
contains it word for word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    """The indexed item a query overlaps most: its index, shared and total n-grams."""

    item: int
    shared: int
    total: int

    @property
    def overlap(self) -> float:
        return self.shared / self.total


class NgramIndex:
    """n-grams of items (by index) and the items that hold each."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"the n-gram size is at least 1, not {n}")
        self.n = n
        self._postings: dict[tuple[int, int], list[int]] = {}  # (size, gram hash) -> items
        self._totals: list[int] = []
        self._sizes: set[int] = set()

    def __len__(self) -> int:
        return len(self._totals)

    def add(self, tokens: Sequence[str]) -> int:
        """Index one item's tokens; returns its index (0, 1, ...)."""
        index = len(self._totals)
        size = min(self.n, len(tokens))
        grams = _grams(tokens, size) if size else set()
        for gram in grams:
            self._postings.setdefault((size, gram), []).append(index)
        self._totals.append(len(grams))
        if grams:
            self._sizes.add(size)
        return index

    def best(self, tokens: Sequence[str]) -> Match | None:
        """The item with the largest share of its n-grams in `tokens` (the earliest one on
        a tie; more shared n-grams first); None when nothing is shared."""
        counts: Counter[int] = Counter()
        for size in self._sizes:
            if size > len(tokens):
                continue
            for gram in _grams(tokens, size):
                for item in self._postings.get((size, gram), ()):
                    counts[item] += 1
        if not counts:
            return None
        item = min(counts, key=lambda i: (-counts[i] / self._totals[i], -counts[i], i))
        return Match(item, counts[item], self._totals[item])


def _grams(tokens: Sequence[str], size: int) -> set[int]:
    # Hashes, not strings: the index holds 8 bytes a gram (equal within one process).
    return {hash(tuple(tokens[i:i + size])) for i in range(len(tokens) - size + 1)}
