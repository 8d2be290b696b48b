"""The canonical layout: `id`, `solution`, `tests`, optional `prompt`, `entry_point`,
`language`, `meta` (the harness's own; see the README's sample format)."""

from __future__ import annotations

from typing import Any

from harness.languages import LANGUAGES
from harness.records import Sample
from harness.sources.base import FULL, IMPORTERS, PARTIAL, Importer
from harness.sources.fields import (
    given_entry_point,
    infer_entry_point,
    meta_field,
    reference_fields,
    text_field,
)
from harness.sources.readers import BadRecord


class Canonical(Importer):
    name = "canonical"

    def detect(self, record: dict[str, Any]) -> int:
        if "solution" in record and "tests" in record:
            return FULL
        return PARTIAL if "solution" in record or "tests" in record else 0

    def load(self, raw: dict[str, Any], ident: str, cap: int) -> Sample:
        solution = text_field(raw, "solution", cap)
        tests = text_field(raw, "tests", cap)
        language = (text_field(raw, "language", cap, required=False) or "python").lower()
        if language not in LANGUAGES:
            raise BadRecord(f"field 'language' is {language[:40]!r}: supported are "
                            f"{', '.join(LANGUAGES.names())}")
        used = {"id", "prompt", "solution", "tests", "entry_point", "language", "reference",
                "alternatives"}
        reference, alternatives = reference_fields(raw, cap)
        return Sample(id=ident, solution=solution, tests=tests, reference=reference,
                      alternatives=alternatives,
                      prompt=text_field(raw, "prompt", cap, required=False),
                      entry_point=given_entry_point(raw, cap) or infer_entry_point(solution),
                      language=language, meta=meta_field(raw, "canonical", used, cap))


IMPORTERS.add("canonical", Canonical())
