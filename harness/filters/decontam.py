"""Benchmark contamination (`contaminated`) by n-gram overlap.

A sample is contaminated when it contains a large share of one benchmark item's word
n-grams (of the problem text) or token n-grams (of the normalised code: no comments,
docstrings or layout, every identifier one placeholder, so a renamed or lightly edited
copy still matches). Each
sample is judged alone (not order-dependent): its verdict may be cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from harness.filters import FILTERS
from harness.filters.benchmarks import BenchmarkSet
from harness.filters.ngrams import Match, NgramIndex
from harness.filters.normalize import code_tokens, words
from harness.records import Sample
from harness.stage import Filter, Outcome

# Defaults measured on HumanEval against MBPP and back, and on paraphrased copies
# (docs/hygiene.md): 13-grams as in GPT-3's and Llama's decontamination.
TEXT_NGRAM = 13
CODE_NGRAM = 13
THRESHOLD = 0.5
# One token for every name: an inserted or renamed variable breaks no n-gram.
CODE_NAMES = "placeholder"


@dataclass(frozen=True)
class ContaminationFacts:
    """The benchmark item a sample overlaps, by which method, and how much."""

    benchmark: str
    item: str
    method: str
    overlap: float
    shared: int
    total: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@FILTERS.register("decontam")
class Decontaminate(Filter):
    """Rejects a sample that contains much of a benchmark item's text or code."""

    name: ClassVar[str] = "decontam"
    reasons: ClassVar[tuple[str, ...]] = ("contaminated",)
    order_dependent: ClassVar[bool] = False

    def __init__(self, sets: Sequence[BenchmarkSet], text_ngram: int = TEXT_NGRAM,
                 code_ngram: int = CODE_NGRAM, threshold: float = THRESHOLD,
                 code_names: str = CODE_NAMES) -> None:
        super().__init__()
        self.code_names = code_names
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"an overlap threshold is in (0, 1], not {threshold}")
        self.sets = tuple(sets)
        self.threshold = threshold
        self._text = NgramIndex(text_ngram)
        self._code = NgramIndex(code_ngram)
        self._items: list[tuple[str, str]] = []  # (set name, item id) by index
        for bench in self.sets:
            for item in bench.items:
                self._text.add(words(item.prompt))
                self._code.add(code_tokens(item.solution, code_names))
                self._items.append((bench.name, item.id))

    def config(self) -> dict[str, Any]:
        """What decides this filter's verdicts (for the run record and the cache key)."""
        return {"text_ngram": self._text.n, "code_ngram": self._code.n,
                "threshold": self.threshold, "code_names": self.code_names,
                "sets": [s.to_json() for s in self.sets]}

    def judge(self, sample: Sample) -> Outcome:
        best: tuple[str, Match] | None = None
        for method, index, tokens in (("text", self._text, words(sample.prompt)),
                                      ("code", self._code,
                                       code_tokens(sample.solution, self.code_names))):
            match = index.best(tokens) if tokens else None
            if match is not None and (best is None or match.overlap > best[1].overlap):
                best = (method, match)
        if best is None or best[1].overlap < self.threshold:
            return Outcome.passed()
        method, match = best
        bench, item = self._items[match.item]
        return Outcome.rejected("contaminated", ContaminationFacts(
            benchmark=bench, item=item, method=method, overlap=round(match.overlap, 3),
            shared=match.shared, total=match.total))

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        return (f"{facts.get('method')} overlaps {facts.get('benchmark')} item "
                f"{facts.get('item')!r}: {facts.get('shared')}/{facts.get('total')} n-grams")
