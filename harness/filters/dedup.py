"""Near-duplicate samples (`duplicate`): the same solution or problem seen earlier.

Two passes, cheapest first (the SelfCodeAlign method after an exact pass):

1. exact: a hash of the normalised solution (no comments, docstrings or layout,
   identifiers canonicalised), so a renamed or reformatted copy is caught at no cost;
2. near: MinHash with LSH over 5-grams of the normalised code tokens (every identifier
   one placeholder), and over 5-grams
   of the prompt's words; a Jaccard similarity at or over the threshold is a duplicate.

The first sample of a group is kept and indexed, the later ones name it. Only kept
samples are indexed, so memory grows with what is kept, not with what was read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from harness.filters import FILTERS
from harness.filters.minhash import NearIndex
from harness.filters.normalize import code_digest, code_token_forms, shingles, words
from harness.records import Sample
from harness.stage import Filter, Outcome

# Defaults measured on HumanEval + MBPP and renamed/edited copies of them (docs/hygiene.md).
CODE_THRESHOLD = 0.7
PROMPT_THRESHOLD = 0.7
NGRAM = 5
NUM_PERM = 128
# A shorter prompt is a title ("Add two integers."), not a problem statement to compare.
MIN_PROMPT_WORDS = 8


@dataclass(frozen=True)
class DuplicateFacts:
    """Which earlier sample this one repeats, how (exact, code, prompt) and how closely."""

    of: str
    method: str
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@FILTERS.register("dedup")
class Dedup(Filter):
    """Rejects a sample whose solution or prompt repeats one kept earlier."""

    name: ClassVar[str] = "dedup"
    reasons: ClassVar[tuple[str, ...]] = ("duplicate",)
    order_dependent: ClassVar[bool] = True

    def __init__(self, code_threshold: float | None = CODE_THRESHOLD,
                 prompt_threshold: float | None = PROMPT_THRESHOLD, ngram: int = NGRAM,
                 num_perm: int = NUM_PERM) -> None:
        """A threshold of None turns that near-duplicate pass off (exact stays on)."""
        super().__init__()
        if ngram < 1:
            raise ValueError(f"the n-gram size is at least 1, not {ngram}")
        self.ngram = ngram
        self.code_threshold = code_threshold
        self.prompt_threshold = prompt_threshold
        self._ids: list[str] = []
        self._exact: dict[bytes, int] = {}
        self._code = NearIndex(code_threshold, num_perm) if code_threshold else None
        self._prompt = NearIndex(prompt_threshold, num_perm) if prompt_threshold else None
        # Which kept sample each index entry is (prompts are indexed only when present).
        self._code_owner: list[int] = []
        self._prompt_owner: list[int] = []

    def config(self) -> dict[str, Any]:
        """What decides this filter's verdicts (for the run record)."""
        return {"code_threshold": self.code_threshold, "prompt_threshold":
                self.prompt_threshold, "ngram": self.ngram,
                "num_perm": self._code.num_perm if self._code else None}

    def judge(self, sample: Sample) -> Outcome:
        canonical, placeholder = code_token_forms(sample.solution)
        digest = bytes.fromhex(code_digest(canonical))[:16]
        if digest in self._exact:
            return self._duplicate(self._exact[digest], "exact", 1.0)
        code_sig = prompt_sig = None
        if self._code is not None:
            # One token for every name: renaming, or a name inserted, shifts nothing.
            code_sig = self._code.signature(shingles(placeholder, self.ngram))
            found = self._code.nearest(code_sig)
            if found is not None:
                return self._duplicate(self._code_owner[found[0]], "code", found[1])
        prompt_words = words(sample.prompt)
        if self._prompt is not None and len(prompt_words) >= MIN_PROMPT_WORDS:
            prompt_sig = self._prompt.signature(shingles(prompt_words, self.ngram))
            found = self._prompt.nearest(prompt_sig)
            if found is not None:
                return self._duplicate(self._prompt_owner[found[0]], "prompt", found[1])
        # Kept: indexed now, in input order, so the verdicts never depend on timing.
        owner = len(self._ids)
        self._ids.append(sample.id)
        self._exact[digest] = owner
        if self._code is not None and code_sig is not None:
            self._code.add(code_sig)
            self._code_owner.append(owner)
        if self._prompt is not None and prompt_sig is not None:
            self._prompt.add(prompt_sig)
            self._prompt_owner.append(owner)
        return Outcome.passed()

    def _duplicate(self, owner: int, method: str, similarity: float) -> Outcome:
        facts = DuplicateFacts(of=self._ids[owner], method=method,
                               similarity=round(similarity, 3))
        return Outcome.rejected("duplicate", facts)

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        return (f"repeats {facts.get('of')!r} ({facts.get('method')}, "
                f"similarity {facts.get('similarity')})")
