"""HumanEval's layout: `prompt` + `canonical_solution` (or a model's `completion`) +
`test` (which defines `check(candidate)`) + `entry_point`."""

from __future__ import annotations

from typing import Any

from harness.records import Sample
from harness.sources.base import FULL, IMPORTERS, PARTIAL, Importer
from harness.sources.fields import given_entry_point, meta_field, text_field
from harness.sources.readers import BadRecord


class HumanEval(Importer):
    name = "humaneval"
    partial_rank = 2

    def detect(self, record: dict[str, Any]) -> int:
        body = "canonical_solution" in record or "completion" in record
        if "test" in record and body:
            return FULL
        return PARTIAL if body else 0

    def load(self, raw: dict[str, Any], ident: str, cap: int) -> Sample:
        prompt = text_field(raw, "prompt", cap)
        body_key = "completion" if raw.get("completion") is not None else "canonical_solution"
        body = text_field(raw, body_key, cap)
        test = text_field(raw, "test", cap)
        entry = given_entry_point(raw, cap, dotted=False)
        if entry is None:
            raise BadRecord("missing field 'entry_point'")
        # The test source defines check(candidate); one pytest test hands it the entry point.
        tests = (f"import solution\nfrom solution import *\n\n"
                 f"{test}\n\n\ndef test_{entry}():\n    check({entry})\n")
        used = {"prompt", body_key, "test", "entry_point"}
        reference = None
        if body_key == "completion" and raw.get("canonical_solution") is not None:
            # A model's completion, judged against the benchmark's own solution.
            reference = prompt + text_field(raw, "canonical_solution", cap)
        return Sample(id=ident, solution=prompt + body, tests=tests, prompt=prompt,
                      reference=reference,
                      entry_point=entry, meta=meta_field(raw, "humaneval", used, cap))


IMPORTERS.add("humaneval", HumanEval())
