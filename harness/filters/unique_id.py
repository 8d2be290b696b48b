"""The first filter: ids must be unique within the input (a verdict file is keyed by id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.filters import FILTERS
from harness.records import Sample
from harness.stage import Filter, Outcome


@dataclass(frozen=True)
class DuplicateId:
    line: int
    first_line: int
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "first_line": self.first_line, "error": self.error}


@FILTERS.register("unique_id")
class UniqueId(Filter):
    """Rejects a sample whose id an earlier sample of the input already had."""

    name = "unique_id"
    reasons = ("invalid_sample",)
    order_dependent = True

    def __init__(self) -> None:
        super().__init__()
        self._first: dict[str, tuple[int, int]] = {}  # id -> (its place, its line)

    def begin(self) -> None:
        self._first.clear()  # ids are unique within one stream, not across a session

    def judge(self, sample: Sample) -> Outcome:
        place = len(self._first)
        seen, first = self._first.setdefault(sample.id, (place, sample.line))
        if seen == place:
            return Outcome.passed()
        return Outcome.rejected("invalid_sample", DuplicateId(
            sample.line, first, f"duplicate id {sample.id!r}, first seen on line {first}: "
                                "ids must be unique"))

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        return f"line {facts.get('line')}: {facts.get('error', '')}"
