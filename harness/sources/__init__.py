"""Sources: corpora in their own layouts in, canonical `Sample`s (or `InvalidRecord`s) out.

Everything streams: JSONL is read line by line, Parquet and saved datasets by record
batch, so a corpus of any size is never held in memory (a JSON array file is the one
exception: it is parsed whole). A bad record never stops the run; it comes out as an
`InvalidRecord` naming its line and what is wrong with it. `InputError` is kept for an
input that cannot be read at all. Reading is in `readers`, converting in one importer
module per layout (registered in `IMPORTERS`).
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.errors import InputError
from harness.records import InvalidRecord, Sample
from harness.sources import canonical, humaneval, mbpp, pytest_style  # noqa: F401 (register)
from harness.sources.base import IMPORTERS, detect_format, to_record
from harness.sources.fields import infer_entry_point
from harness.sources.readers import BadRecord, Rows, open_rows

MAX_FIELD_BYTES = 10 * 2**20
Record = Sample | InvalidRecord


def formats() -> tuple[str, ...]:
    """`auto` and every registered layout."""
    return ("auto", *IMPORTERS.names())


def read_samples(path: str, fmt: str = "auto",
                 max_field_bytes: int = MAX_FIELD_BYTES) -> Iterator[Record]:
    """Stream the records of `path`: a file, a saved dataset directory, or "-" for stdin.

    Opening problems raise `InputError` at once; problems of single records come out
    later as `InvalidRecord`s, in input order. Ids are not checked for uniqueness here:
    that is the first filter's job (`harness.filters.unique_id`).
    """
    if fmt not in formats():
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(formats())}")
    return _samples(open_rows(path, max_field_bytes), fmt, max_field_bytes)


def _samples(rows: Rows, fmt: str, cap: int) -> Iterator[Record]:
    for line, raw in rows:
        yield to_record(line, raw, fmt, cap)


__all__ = ["MAX_FIELD_BYTES", "BadRecord", "Record", "detect_format", "formats",
           "infer_entry_point", "read_samples"]
