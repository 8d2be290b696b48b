"""`--reference-from`: a benchmark's solutions joined onto a file of model outputs, so the
outputs are judged against them by the differential probe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from harness.errors import InputError
from harness.records import InvalidRecord, Sample
from harness.sources import Record, read_samples


def _key_of(sample: Sample, key: str) -> str | None:
    """The join key of a sample: its id, or the `meta` field of that name."""
    value = sample.meta.get(key)
    if value is None:
        return sample.id if key in ("id", "task_id") else None
    return str(value)


def load_references(path: str, key: str, fmt: str = "auto") -> dict[str, str]:
    """key -> reference source, from any layout `read_samples` knows (a benchmark's own
    file: its solution, or its reference where it has one, is the reference)."""
    out: dict[str, str] = {}
    for record in read_samples(path, fmt):
        if isinstance(record, InvalidRecord):
            continue
        found = _key_of(record, key)
        if found is not None:
            out.setdefault(found, record.reference or record.solution)
    if not out:
        raise InputError(f"--reference-from {path}: no record has the key {key!r}")
    return out


def with_references(records: Iterator[Record], references: dict[str, str], key: str
                    ) -> Iterator[Record]:
    """The records, streamed, each sample given the reference its key names (a sample's
    own reference wins; one without a match keeps none)."""
    for record in records:
        if isinstance(record, Sample) and record.reference is None:
            found = _key_of(record, key)
            if found is not None and found in references:
                record = replace(record, reference=references[found])
        yield record
