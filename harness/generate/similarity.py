"""ROUGE-L between problem statements, and an index that finds a pool's nearest one fast.

ROUGE-L (the F-measure of the longest common subsequence of word tokens) is what
Self-Instruct filtered with, at 0.7: a new instruction that shares an ordered 70% of its
words with one already in the pool is a rewording, not a new task. Problem statements
here are longer than Self-Instruct's one-line instructions, which makes a chance LCS
share smaller, so 0.7 is if anything lenient toward near-copies; the bench and the tests
use the same value. The LCS is computed bit-parallel (Hyyrö 2004) over Python integers,
and only against pool members that share the most word bigrams with the candidate (the
exact score is taken for the best `shortlist` of them, counting only bigrams that are
not common to hundreds of problems), so a pool of 10,000 costs about what one of 50 does.
A near-copy (ROUGE-L >= 0.7) shares most of its bigrams, rare ones among them, so the
shortlist finds it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

DEFAULT_THRESHOLD = 0.7
_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (ROUGE's default tokenisation, without stemming)."""
    return _WORD.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists, bit-parallel."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[str, int] = defaultdict(int)
    for i, tok in enumerate(b):
        masks[tok] |= 1 << i
    full = (1 << len(b)) - 1
    v = full
    for tok in a:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(b) - bin(v).count("1")


def rouge_l(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-L F1 of two token lists (0.0 when either is empty)."""
    if not a or not b:
        return 0.0
    lcs = lcs_length(a, b)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def bigrams(toks: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(toks, toks[1:], strict=False))


class SimilarityIndex:
    """Problem statements seen so far; `nearest` gives the highest ROUGE-L to any."""

    def __init__(self, shortlist: int = 50, common: int = 200) -> None:
        self.shortlist = shortlist
        # A bigram in more than `common` problems ("of the", "a list") says nothing about
        # which one is nearest and would make each lookup scan the whole pool.
        self.common = common
        self._tokens: list[list[str]] = []
        self._ids: list[str] = []
        self._postings: dict[tuple[str, str], list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._tokens)

    def add(self, sample_id: str, text: str) -> None:
        toks = tokens(text)
        index = len(self._tokens)
        self._tokens.append(toks)
        self._ids.append(sample_id)
        for gram in bigrams(toks):
            self._postings[gram].append(index)

    def nearest(self, text: str) -> tuple[float, str | None]:
        """(best ROUGE-L, id of that pool member) for `text`; (0.0, None) on an empty pool."""
        toks = tokens(text)
        if not self._tokens or not toks:
            return 0.0, None
        shared: Counter[int] = Counter()
        for gram in bigrams(toks):
            posting = self._postings.get(gram, ())
            if len(posting) <= self.common:
                shared.update(posting)
        candidates = [i for i, _ in shared.most_common(self.shortlist)]
        if len(self._tokens) <= self.shortlist:
            candidates = list(range(len(self._tokens)))
        best, best_id = 0.0, None
        for i in candidates:
            score = rouge_l(toks, self._tokens[i])
            if score > best:
                best, best_id = score, self._ids[i]
        return best, best_id


def mean_pairwise(texts: Iterable[str], others: Sequence[str] | None = None,
                  limit: int = 2000) -> float:
    """Mean ROUGE-L over pairs (within `texts`, or each text against each of `others`),
    over at most `limit` pairs taken in a fixed order (stable from run to run)."""
    left = [tokens(t) for t in texts]
    right = [tokens(t) for t in others] if others is not None else None
    scores: list[float] = []
    for i, a in enumerate(left):
        pool = right if right is not None else left[i + 1:]
        for b in pool:
            scores.append(rouge_l(a, b))
            if len(scores) >= limit:
                return sum(scores) / len(scores)
    return sum(scores) / len(scores) if scores else 0.0
