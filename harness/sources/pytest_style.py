"""Pytest-style corpora (KodCode and the like): `solution` + `test` (a pytest module),
optional `question`/`prompt` and `entry_point`."""

from __future__ import annotations

from typing import Any

from harness.records import Sample
from harness.sources.base import FULL, IMPORTERS, Importer
from harness.sources.fields import given_entry_point, infer_entry_point, meta_field, text_field


class PytestStyle(Importer):
    name = "pytest"

    def detect(self, record: dict[str, Any]) -> int:
        return FULL if "solution" in record and "test" in record else 0

    def load(self, raw: dict[str, Any], ident: str, cap: int) -> Sample:
        solution = text_field(raw, "solution", cap)
        prompt_key = "prompt" if raw.get("prompt") is not None else "question"
        used = {"id", prompt_key, "solution", "test", "entry_point"}
        return Sample(id=ident, solution=solution, tests=text_field(raw, "test", cap),
                      prompt=text_field(raw, prompt_key, cap, required=False),
                      entry_point=given_entry_point(raw, cap) or infer_entry_point(solution),
                      meta=meta_field(raw, "pytest", used, cap))


IMPORTERS.add("pytest", PytestStyle())
