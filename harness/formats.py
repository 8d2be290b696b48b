"""Corpora in their own layouts in, canonical `Sample`s (or `InvalidRecord`s) out.

Everything streams: JSONL is read line by line, Parquet and saved datasets by record
batch, so a corpus of any size is never held in memory (a JSON array file is the one
exception: it is parsed whole). A bad record never stops the run; it comes out as an
`InvalidRecord` naming its line and what is wrong with it. `InputError` is kept for an
input that cannot be read at all. Reading is in `readers`, converting in `importers`.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.errors import InputError
from harness.importers import detect_format, infer_entry_point, to_record
from harness.readers import BadRecord, Rows, open_rows
from harness.records import InvalidRecord, Sample

FORMATS = ("auto", "canonical", "humaneval", "mbpp", "pytest")
MAX_FIELD_BYTES = 10 * 2**20
Record = Sample | InvalidRecord


def read_samples(path: str, fmt: str = "auto",
                 max_field_bytes: int = MAX_FIELD_BYTES) -> Iterator[Record]:
    """Stream the records of `path`: a file, a saved dataset directory, or "-" for stdin.

    Opening problems raise `InputError` at once; problems of single records come out
    later as `InvalidRecord`s, in input order.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return _samples(open_rows(path, max_field_bytes), fmt, max_field_bytes)


def _samples(rows: Rows, fmt: str, cap: int) -> Iterator[Record]:
    seen: dict[str, int] = {}
    for line, raw in rows:
        record = to_record(line, raw, fmt, cap)
        if isinstance(record, Sample):
            first = seen.setdefault(record.id, line)
            if first != line:
                record = InvalidRecord(line, record.id, f"duplicate id {record.id!r}, first "
                                       f"seen on line {first}: ids must be unique")
        yield record


__all__ = ["FORMATS", "MAX_FIELD_BYTES", "BadRecord", "detect_format", "infer_entry_point",
           "read_samples"]
