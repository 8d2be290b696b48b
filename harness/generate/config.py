"""What a generate run is asked to do (`GenerateConfig`) and how it is paid for."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.config import VerifyConfig
from harness.generate.similarity import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Sampling:
    """Temperature per stage: problems and evolutions vary, tests stay close to the text."""

    problem: float = 0.8
    solution: float = 0.7  # SelfCodeAlign's value for its n responses per instruction
    tests: float = 0.4
    repair: float = 0.4
    top_p: float = 0.95


@dataclass(frozen=True)
class GenerateConfig:
    """Everything a `harness generate` run does; its JSON goes into the manifest."""

    model: str
    base_url: str
    seeds_path: str = "problems/seeds.jsonl"
    problems: int = 10  # proposals asked for per round
    rounds: int = 1
    solutions: int = 3
    tests: int = 2  # independent test modules per problem, each from the statement alone
    max_repairs: int = 1
    evolve: bool = False
    concurrency: int = 8
    examples: int = 4  # pool problems shown in a problem prompt
    min_real: int = 2  # of which at least this many are real seeds
    similarity: float = DEFAULT_THRESHOLD
    min_words: int = 8
    max_words: int = 400
    seed: int = 0
    timeout: float = 120.0
    max_retries: int = 4
    max_tokens: int = 1024
    price_in: float | None = None  # dollars per million prompt tokens
    price_out: float | None = None
    decontaminate: bool = True
    sampling: Sampling = field(default_factory=Sampling)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    verify_samples: bool = True  # False only in the throughput bench: no sandbox at all

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verify"] = self.verify.identity() | {"workers": self.verify.workers}
        return out

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Dollars for these tokens, when both prices were given."""
        if self.price_in is None or self.price_out is None:
            return None
        return (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1e6
