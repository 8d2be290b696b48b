"""Benchmark contamination (`contaminated`) by sentence-embedding similarity.

Catches paraphrased problem statements that share few n-grams with the benchmark's
words: the problem text of each sample and each benchmark item is embedded (with
all-MiniLM-L6-v2, see `embeddings`), and a cosine similarity at or over the threshold
names the item. Needs the `embeddings` extra; loads offline.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from harness.filters import FILTERS
from harness.filters.benchmarks import BenchmarkSet
from harness.records import Sample
from harness.stage import Filter, Outcome

# Measured on paraphrased HumanEval/MBPP prompts against the other benchmark and the
# project's examples (docs/hygiene.md).
THRESHOLD = 0.85


@dataclass(frozen=True)
class SemanticFacts:
    """The benchmark item whose problem text is closest, and the cosine similarity."""

    benchmark: str
    item: str
    method: str
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def problem_text(text: str) -> str:
    """The prose of a problem: a prompt that is code (HumanEval's signature and
    docstring) gives its docstrings, any other prompt is itself."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in the prompt are its affair
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return text.strip()
    docs = [ast.get_docstring(node) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef)]
    prose = "\n".join(d for d in docs if d)
    return prose.strip() or text.strip()


@FILTERS.register("decontam_embeddings")
class EmbeddingDecontaminate(Filter):
    """Rejects a sample whose problem text means what a benchmark item's does."""

    name: ClassVar[str] = "decontam_embeddings"
    reasons: ClassVar[tuple[str, ...]] = ("contaminated",)
    order_dependent: ClassVar[bool] = False

    def __init__(self, sets: Sequence[BenchmarkSet], threshold: float = THRESHOLD) -> None:
        super().__init__()
        from harness.filters.embeddings import Encoder  # needs the extra: only when asked

        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"a cosine threshold is in [-1, 1], not {threshold}")
        self.sets = tuple(sets)
        self.threshold = threshold
        self.encoder = Encoder()
        self._items = [(bench.name, item.id) for bench in self.sets for item in bench.items]
        texts = [problem_text(item.prompt) for bench in self.sets for item in bench.items]
        self._matrix = self.encoder.encode(texts)

    def config(self) -> dict[str, Any]:
        """What decides this filter's verdicts (for the run record and the cache key)."""
        from harness.filters.embeddings import MODEL_NAME

        return {"model": MODEL_NAME, "threshold": self.threshold,
                "sets": [s.to_json() for s in self.sets]}

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each text (rows) to each benchmark item (columns)."""
        vectors = self.encoder.encode([problem_text(t) for t in texts])
        return np.asarray(vectors @ self._matrix.T)

    def judge(self, sample: Sample) -> Outcome:
        if not sample.prompt.strip() or not self._items:
            return Outcome.passed()
        row = self.similarities([sample.prompt])[0]
        best = int(np.argmax(row))  # the earliest item on a tie
        similarity = float(row[best])
        if similarity < self.threshold:
            return Outcome.passed()
        bench, item = self._items[best]
        return Outcome.rejected("contaminated", SemanticFacts(
            benchmark=bench, item=item, method="embedding", similarity=round(similarity, 3)))

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        return (f"problem text means {facts.get('benchmark')} item {facts.get('item')!r} "
                f"(cosine {facts.get('similarity')})")
