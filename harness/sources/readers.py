"""Containers: the rows of a JSONL, JSON-array, Parquet file or saved dataset, streamed.

Each row comes out as (1-based line or row number, the decoded record or a `BadRecord`
saying what is wrong with it); `InputError` is for an input that cannot be read at all.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import InputError

Rows = Iterator[tuple[int, Any]]  # (1-based line or row number, decoded record or BadRecord)

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20  # long lines are read this much at a time
_BATCH_ROWS = 64  # rows can be megabytes each: keep Arrow batches small
_ID_IN_HEAD = re.compile(rb'"(id|task_id)"\s*:\s*("(?:[^"\\]|\\.){1,200}"|\d{1,20})')
_INPUTS = "a JSONL (.jsonl, .jsonl.gz), JSON array, Parquet file, a saved dataset directory"


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class BadRecord(ValueError):
    """What is wrong with one record; becomes an InvalidRecord."""

    def __init__(self, message: str, ident: str | None = None, raw: str = "") -> None:
        super().__init__(message)
        self.ident = ident
        self.raw = raw


def open_rows(path: str, cap: int) -> Rows:
    """Pick the reader for `path` from its content; raise InputError if none fits."""
    if path == "-":
        return _jsonl(sys.stdin.buffer, cap)
    p = Path(path)
    if not p.exists():
        raise InputError(f"input {path} does not exist: pass {_INPUTS}, or - for stdin")
    if p.is_dir():
        return _dataset_dir(p, cap)
    if not p.is_file():  # a pipe can be read only once: no sniffing, JSONL as on stdin
        return _guarded(_jsonl_file(p, cap, sniff=False), path)
    try:
        head = _head(p)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read {path}: {exc}; check the file and its permissions") from exc
    name = p.name.lower().removesuffix(".gz")
    if head.startswith(b"PAR1") or name.endswith(".parquet"):
        return _parquet(p, cap)
    if name.endswith((".jsonl", ".ndjson")) or head.startswith(b"{") or not head:
        return _guarded(_jsonl_file(p, cap), path)
    if head.startswith(b"["):
        return _json_array(p)
    if name.endswith(".json"):  # JSONL under a .json name: its bad lines get reported
        return _guarded(_jsonl_file(p, cap), path)
    raise InputError(f"cannot tell the format of {path}: pass {_INPUTS}")


def _head(p: Path) -> bytes:
    """The first significant bytes of a file, gunzipped if need be."""
    with _open_binary(p) as fh:
        head = fh.read(4096)
    return head.removeprefix(_BOM).lstrip()


def _guarded(rows: Rows, path: str, errors: tuple[type[BaseException], ...] = ()) -> Rows:
    """Turn a read failure in mid-stream into an InputError that says where it happened."""
    caught: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, *errors)
    line = 0
    try:
        for line, raw in rows:
            yield line, raw
    except caught as exc:
        raise InputError(f"cannot read {path} after record {line}: {exc}; the file is "
                         "truncated or corrupt, re-export or re-download it") from exc


def _open_binary(p: Path) -> gzip.GzipFile | io.BufferedReader:
    """`p` opened for reading, gunzipped on the fly when it is gzip (whatever its name)."""
    with open(p, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(p, "rb") if gzipped else open(p, "rb")


def _jsonl_file(p: Path, cap: int, sniff: bool = True) -> Rows:
    with _open_binary(p) if sniff else open(p, "rb") as stream:
        yield from _jsonl(stream, cap)


def _jsonl(fh: _Lines, cap: int) -> Rows:
    # Room for solution, tests and prompt at the field cap, plus JSON escaping.
    limit = 4 * cap + 65536
    for number, line in enumerate(_lines(fh, limit), start=1):
        if isinstance(line, _Oversize):
            yield number, BadRecord(
                f"line is {line.size} bytes, over the {limit}-byte line limit (4 x the "
                f"{cap}-byte max_field_bytes): shrink the record or raise the limit",
                ident=_id_in(line.head), raw=line.head[:1000].decode("utf-8", "replace"))
            continue
        if number == 1:
            line = line.removeprefix(_BOM)
        if not line.strip():
            continue
        # Stray bytes survive as surrogates so the field holding them can be named.
        text = line.decode("utf-8", "surrogateescape")
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, BadRecord(f"not valid JSON: {exc.msg} at column {exc.colno}",
                                    ident=_id_in(line[:4096]),
                                    raw=line[:1000].decode("utf-8", "replace"))
        except RecursionError:
            yield number, BadRecord("not valid JSON: nested too deeply")


@dataclass(frozen=True)
class _Oversize:
    size: int
    head: bytes


def _lines(fh: _Lines, limit: int) -> Iterator[bytes | _Oversize]:
    """Lines of a binary stream; a line over `limit` bytes is measured and skipped."""
    while chunk := fh.readline(_CHUNK):
        if chunk.endswith(b"\n") or len(chunk) < _CHUNK:
            yield chunk  # the common case: the whole line in one read
        else:
            yield _long_line(fh, chunk, limit)


def _long_line(fh: _Lines, first: bytes, limit: int) -> bytes | _Oversize:
    parts, size = [first], len(first)
    while not parts[-1].endswith(b"\n") and (chunk := fh.readline(_CHUNK)):
        size += len(chunk)
        parts.append(chunk)
        if size > limit:
            head = parts[0][:4096]
            parts.clear()  # never hold more than `limit` bytes of one line
            while not chunk.endswith(b"\n") and (chunk := fh.readline(_CHUNK)):
                size += len(chunk)
            return _Oversize(size, head)
    return b"".join(parts)


def _id_in(head: bytes) -> str | None:
    """Best guess at a record's id from the start of its raw line."""
    match = _ID_IN_HEAD.search(head)
    if match is None:
        return None
    try:
        value = json.loads(match.group(2).decode("utf-8", "replace"))
    except json.JSONDecodeError:
        return None
    return _id_of({"id": value})


def _json_array(p: Path) -> Rows:
    """A file holding one JSON array (like MBPP's release); parsed whole, so keep it small."""
    try:
        with _open_binary(p) as fh:
            data = json.loads(fh.read().removeprefix(_BOM))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError,
            RecursionError) as exc:
        raise InputError(f"{p} starts like a JSON array but does not parse ({exc}): "
                         "fix it or convert it to JSONL, one object a line") from exc
    if not isinstance(data, list):
        raise InputError(f"{p} is not a JSON array of records: convert it to JSONL")
    return iter(enumerate(data, start=1))


def _parquet(p: Path, cap: int) -> Rows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{p} is not a readable Parquet file ({exc}): re-export it") from exc
    batches = parquet.iter_batches(batch_size=_BATCH_ROWS)
    return _guarded(_arrow_rows(batches, cap), str(p), (pa.ArrowException,))


def _dataset_dir(p: Path, cap: int) -> Rows:
    """A directory written by `datasets`' save_to_disk, every split in order."""
    import pyarrow as pa

    batches = _datasets_batches(p)
    if batches is None:
        batches = _arrow_shard_batches(_arrow_shards(p))
    return _guarded(_arrow_rows(batches, cap), str(p), (pa.ArrowException,))


def _datasets_batches(p: Path) -> Iterator[Any] | None:
    """Record batches through `datasets` itself; None when it is missing or declines."""
    try:
        import datasets
    except ImportError:
        return None
    try:
        loaded = datasets.load_from_disk(str(p))
    except Exception:  # datasets raises assorted types for a directory it did not write
        return None
    splits = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
    return (batch for split in splits
            for table in split.with_format("arrow").iter(batch_size=_BATCH_ROWS)
            for batch in table.to_batches())


def _arrow_shards(p: Path) -> list[Path]:
    """The .arrow files of a saved dataset, in split and shard order, found without datasets."""
    splits = [p / name for name in _json_key(p / "dataset_dict.json", "splits")] or [p]
    shards: list[Path] = []
    for split in splits:
        files = _json_key(split / "state.json", "_data_files")
        shards += [split / f["filename"] for f in files] or sorted(split.glob("*.arrow"))
    if not shards:
        raise InputError(f"{p} is not a dataset saved with save_to_disk (no .arrow files): "
                         "pass such a directory or a JSONL, JSON or Parquet file; "
                         "`pip install datasets` reads every layout save_to_disk writes")
    return shards


def _json_key(path: Path, key: str) -> list[Any]:
    """A list kept under `key` in a small JSON file of a saved dataset; [] if absent."""
    if not path.is_file():
        return []
    try:
        value = json.loads(path.read_text()).get(key, [])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise InputError(f"{path} is unreadable ({exc}): re-save the dataset") from exc
    return value if isinstance(value, list) else []


def _arrow_shard_batches(shards: list[Path]) -> Iterator[Any]:
    import pyarrow as pa

    for shard in shards:
        with pa.memory_map(str(shard)) as source:
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid as exc:
                raise InputError(f"cannot read {shard} with pyarrow ({exc}): "
                                 "`pip install datasets` and retry") from exc
            yield from reader


def _arrow_rows(batches: Iterable[Any], cap: int) -> Rows:
    """Rows of Arrow record batches; an oversized text cell is measured, never converted."""
    number = 0
    for batch in batches:
        batch, oversize = _drop_oversize(batch, cap)
        for i, row in enumerate(batch.to_pylist()):
            number += 1
            if i in oversize:
                name, size = oversize[i]
                yield number, BadRecord(f"field {name!r} is {size} bytes, over the {cap}-byte "
                                        "limit (max_field_bytes)", ident=_id_of(row))
            else:
                yield number, row


def _drop_oversize(batch: Any, cap: int) -> tuple[Any, dict[int, tuple[str, int]]]:
    """The batch with over-`cap` text cells nulled, and which (row -> field, size) they were."""
    import pyarrow as pa
    import pyarrow.compute as pc

    oversize: dict[int, tuple[str, int]] = {}
    columns = list(batch.columns)
    for i, (name, column) in enumerate(zip(batch.schema.names, columns, strict=True)):
        kind = column.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            continue
        sizes = pc.binary_length(column)
        mask = pc.fill_null(pc.greater(sizes, cap), False)
        if not pc.any(mask).as_py():
            continue
        for row in pc.indices_nonzero(mask).to_pylist():
            oversize.setdefault(row, (name, sizes[row].as_py()))
        columns[i] = pc.if_else(mask, pa.scalar(None, kind), column)
    if oversize:
        batch = pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    return batch, oversize


def _id_of(row: dict[str, Any]) -> str | None:
    """A best guess at a bad row's id, for its error message (validated by the importer)."""
    for key in ("id", "task_id"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value)[:200]
    return None
