"""Importers: a record in its own layout becomes a canonical `Sample`, or an
`InvalidRecord` naming the field that is wrong.

Each importer is one class in one module that registers itself in `IMPORTERS`, says by
`detect` how well a record's fields fit its layout, and converts with `load`. `--format
auto` picks, record by record, the best fit (ties go to the first registered).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from harness.records import InvalidRecord, Sample
from harness.registry import Registry
from harness.sources.fields import json_kind, preview, record_id
from harness.sources.readers import BadRecord

Record = Sample | InvalidRecord
# How well a record fits a layout: all of its telltale fields, or some of them. A partial
# fit still picks the layout, so that its importer can name the missing field.
FULL = 2
PARTIAL = 1


class Importer:
    """One layout: `detect` scores a record's fit, `load` converts it (raises BadRecord)."""

    name: ClassVar[str]
    # Among partial fits, the higher rank wins (a lone `code` field is MBPP's, not ours).
    partial_rank: ClassVar[int] = 0

    def detect(self, record: dict[str, Any]) -> int:
        """FULL, PARTIAL or 0."""
        raise NotImplementedError

    def load(self, raw: dict[str, Any], ident: str, cap: int) -> Sample:
        raise NotImplementedError


IMPORTERS: Registry[Importer] = Registry("format")


def detect_format(record: dict[str, Any]) -> str | None:
    """The layout a record is in, judged by its fields; None when none fits."""
    best: tuple[int, int] = (0, 0)
    found = None
    for name in IMPORTERS:
        importer = IMPORTERS.get(name)
        fit = importer.detect(record)
        score = (fit, importer.partial_rank if fit == PARTIAL else 0)
        if fit and score > best:
            best, found = score, name
    return found


def to_record(line: int, raw: Any, fmt: str, cap: int) -> Record:
    """Convert one row (line `line`) in format `fmt` (or "auto")."""
    guess = f"line-{line}"
    if isinstance(raw, BadRecord):
        return InvalidRecord(line, raw.ident or guess, str(raw), raw=raw.raw)
    if not isinstance(raw, dict):
        return InvalidRecord(line, guess, f"expected a JSON object, got {json_kind(raw)}",
                             raw=preview(raw))
    try:
        ident = record_id(raw, guess)
    except BadRecord as exc:
        return InvalidRecord(line, guess, str(exc), raw=preview(raw))
    kind = detect_format(raw) if fmt == "auto" else fmt
    try:
        if kind is None:
            raise BadRecord("no known layout: expected solution+tests (canonical), "
                            "prompt+canonical_solution+test (HumanEval), code+test_list "
                            "(MBPP) or solution+test (pytest-style)")
        sample = IMPORTERS.get(kind).load(raw, ident, cap)
    except BadRecord as exc:
        return InvalidRecord(line, ident, str(exc), raw=preview(raw))
    except RecursionError:  # a valid but absurdly nested extra field
        return InvalidRecord(line, ident, "a field is nested too deeply to carry through",
                             raw=preview(raw))
    return replace(sample, line=line)
