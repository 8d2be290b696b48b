"""Readers: corpora in their own layouts in, canonical `Sample`s (or `InvalidRecord`s) out.

Everything streams: JSONL is read line by line, Parquet and saved datasets by record
batch, so a corpus of any size is never held in memory (a JSON array file is the one
exception: it is parsed whole). A bad record never stops the run; it comes out as an
`InvalidRecord` naming its line and what is wrong with it. `InputError` is kept for an
input that cannot be read at all.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import keyword
import re
import sys
import textwrap
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.errors import InputError
from harness.records import InvalidRecord, Sample

FORMATS = ("auto", "canonical", "humaneval", "mbpp", "pytest")
MAX_FIELD_BYTES = 10 * 2**20
Record = Sample | InvalidRecord
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


def read_samples(path: str, fmt: str = "auto",
                 max_field_bytes: int = MAX_FIELD_BYTES) -> Iterator[Record]:
    """Stream the records of `path`: a file, a saved dataset directory, or "-" for stdin.

    Opening problems raise `InputError` at once; problems of single records come out
    later as `InvalidRecord`s, in input order.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return _samples(_open_rows(path, max_field_bytes), fmt, max_field_bytes)


def _samples(rows: Rows, fmt: str, cap: int) -> Iterator[Record]:
    seen: dict[str, int] = {}
    for line, raw in rows:
        record = _to_record(line, raw, fmt, cap)
        if isinstance(record, Sample):
            first = seen.setdefault(record.id, line)
            if first != line:
                record = InvalidRecord(line, record.id, f"duplicate id {record.id!r}, first "
                                       f"seen on line {first}: ids must be unique")
        yield record


# ---------------------------------------------------------------- containers


def _open_rows(path: str, cap: int) -> Rows:
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


# ---------------------------------------------------------------- importers


def detect_format(record: dict[str, Any]) -> str | None:
    """The layout a record is in, judged by its fields; None when none fits.

    A record with only part of a layout's fields still gets that layout, so that its
    importer can name the missing field.
    """
    if "solution" in record and "tests" in record:
        return "canonical"
    if "test" in record and ("canonical_solution" in record or "completion" in record):
        return "humaneval"
    if "test_list" in record and "code" in record:
        return "mbpp"
    if "solution" in record and "test" in record:
        return "pytest"
    if "canonical_solution" in record or "completion" in record:
        return "humaneval"
    if "test_list" in record or "code" in record:
        return "mbpp"
    if "solution" in record or "tests" in record:
        return "canonical"
    return None


def _to_record(line: int, raw: Any, fmt: str, cap: int) -> Record:
    guess = f"line-{line}"
    if isinstance(raw, BadRecord):
        return InvalidRecord(line, raw.ident or guess, str(raw), raw=raw.raw)
    if not isinstance(raw, dict):
        return InvalidRecord(line, guess, f"expected a JSON object, got {_json_kind(raw)}",
                             raw=_preview(raw))
    try:
        ident = _ident(raw, guess)
    except BadRecord as exc:
        return InvalidRecord(line, guess, str(exc), raw=_preview(raw))
    kind = detect_format(raw) if fmt == "auto" else fmt
    try:
        if kind is None:
            raise BadRecord("no known layout: expected solution+tests (canonical), "
                            "prompt+canonical_solution+test (HumanEval), code+test_list "
                            "(MBPP) or solution+test (pytest-style)")
        return IMPORTERS[kind](raw, ident, cap)
    except BadRecord as exc:
        return InvalidRecord(line, ident, str(exc), raw=_preview(raw))


def _ident(raw: dict[str, Any], guess: str) -> str:
    """The record's id (`id`, else `task_id`), or the line-based guess if it has none."""
    for key in ("id", "task_id"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadRecord(f"field {key!r} must be a string or an integer, "
                            f"got {_json_kind(value)}")
        text = str(value)
        if len(text) > 1000:
            raise BadRecord(f"field {key!r} is longer than 1000 characters")
        _check_text(key, text, 1000)
        if not text.strip():
            raise BadRecord(f"field {key!r} is empty")
        return text
    return guess


def _id_of(row: dict[str, Any]) -> str | None:
    try:
        ident = _ident(row, "")
    except BadRecord:
        return None
    return ident or None


def _json_kind(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "array",
             dict: "object", type(None): "null", bytes: "binary"}
    return names.get(type(value), type(value).__name__)


def _preview(raw: Any) -> str:
    """A short JSON excerpt of a rejected record, for the reject file."""
    if not isinstance(raw, dict):
        return json.dumps(raw[:10] if isinstance(raw, list) else raw, default=repr)[:1000]
    short = {k: (v[:80] if isinstance(v, str) else v) for k, v in raw.items()
             if isinstance(v, str | int | float | bool | type(None))}
    return json.dumps(short)[:1000]


def _text(raw: dict[str, Any], key: str, cap: int, required: bool = True) -> str:
    """Field `key` as checked text: a string (or UTF-8 bytes), at most `cap` bytes, no NUL."""
    value = raw.get(key)
    if value is None:
        if required:
            raise BadRecord(f"missing field {key!r}")
        return ""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRecord(f"field {key!r} is binary and not valid UTF-8 "
                            f"(bad byte at offset {exc.start})") from exc
    if not isinstance(value, str):
        raise BadRecord(f"field {key!r} must be a string, got {_json_kind(value)}")
    _check_text(key, value, cap)
    return value


def _check_text(key: str, value: str, cap: int) -> None:
    too_big = f"field {key!r} is over the {cap}-byte limit"
    if len(value) > cap:  # every character is at least one byte: skip the encoding
        raise BadRecord(too_big)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise BadRecord(f"field {key!r} is not valid UTF-8 text (invalid byte or unpaired "
                        f"surrogate at character {exc.start})") from exc
    if size > cap:
        raise BadRecord(too_big)
    if (nul := value.find("\x00")) >= 0:
        raise BadRecord(f"field {key!r} contains a NUL byte at character {nul}")


def _str_list(raw: dict[str, Any], key: str, cap: int) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"field {key!r} must be a list of strings, got {_json_kind(value)}")
    return [_text({key: item}, key, cap) for item in value]


def _given_entry_point(raw: dict[str, Any], cap: int, dotted: bool = True) -> str | None:
    """The record's `entry_point`, checked to be a (dotted, if allowed) Python name."""
    given = _text(raw, "entry_point", cap, required=False)
    if not given:
        return None
    parts = given.split(".") if dotted else [given]
    if not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        raise BadRecord(f"field 'entry_point' is {given[:80]!r}, not a Python name")
    return given


def infer_entry_point(solution: str) -> str | None:
    """The solution's one public top-level function or class, if it has exactly one."""
    public = [name for name in _defined_names(solution) if not name.startswith("_")]
    return public[0] if len(public) == 1 else None


def _meta(raw: dict[str, Any], kind: str, used: set[str], cap: int) -> dict[str, Any]:
    """The record's `meta` plus every field the importer did not use, and the format."""
    given = raw.get("meta")
    if given is not None and not isinstance(given, dict):
        raise BadRecord(f"field 'meta' must be an object, got {_json_kind(given)}")
    meta = dict(given or {})
    for key, value in raw.items():
        if key not in used and key != "meta":
            meta.setdefault(str(key), _plain(value))
    meta["source_format"] = kind
    total = 0
    for key, value in meta.items():
        try:
            total += len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise BadRecord(f"field {key!r} holds text that is not valid UTF-8") from exc
    if total > cap:
        raise BadRecord(f"meta and extra fields are {total} bytes, over the {cap}-byte limit")
    return meta


def _plain(value: Any) -> Any:
    """A JSON-ready copy of an extra field (Arrow rows can hold bytes, dates, decimals)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _canonical(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    solution = _text(raw, "solution", cap)
    tests = _text(raw, "tests", cap)
    language = (_text(raw, "language", cap, required=False) or "python").lower()
    if language != "python":
        raise BadRecord(f"field 'language' is {language[:40]!r}: only python is supported")
    used = {"id", "prompt", "solution", "tests", "entry_point", "language"}
    return Sample(id=ident, solution=solution, tests=tests,
                  prompt=_text(raw, "prompt", cap, required=False),
                  entry_point=_given_entry_point(raw, cap) or infer_entry_point(solution),
                  meta=_meta(raw, "canonical", used, cap))


def _humaneval(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    prompt = _text(raw, "prompt", cap)
    body_key = "completion" if raw.get("completion") is not None else "canonical_solution"
    body = _text(raw, body_key, cap)
    test = _text(raw, "test", cap)
    entry = _given_entry_point(raw, cap, dotted=False)
    if entry is None:
        raise BadRecord("missing field 'entry_point'")
    # The test source defines check(candidate); one pytest test hands it the entry point.
    tests = (f"import solution\nfrom solution import *\n\n"
             f"{test}\n\n\ndef test_{entry}():\n    check({entry})\n")
    used = {"prompt", body_key, "test", "entry_point"}
    return Sample(id=ident, solution=prompt + body, tests=tests, prompt=prompt,
                  entry_point=entry, meta=_meta(raw, "humaneval", used, cap))


def _mbpp(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    code = _text(raw, "code", cap)
    if "test_list" not in raw:
        raise BadRecord("missing field 'test_list'")
    asserts = _str_list(raw, "test_list", cap)
    if not asserts:
        raise BadRecord("field 'test_list' is empty: MBPP records need at least one assert")
    prompt_key = "prompt" if raw.get("prompt") is not None else "text"
    used = {prompt_key, "code", "test_list", "test_setup_code", "test_imports", "entry_point"}
    defined = _defined_names(code)
    entry = (_given_entry_point(raw, cap) or _called_in(asserts[0], defined)
             or infer_entry_point(code))
    return Sample(id=ident, solution=code, tests=_mbpp_tests(raw, asserts, defined, cap),
                  prompt=_text(raw, prompt_key, cap, required=False), entry_point=entry,
                  meta=_meta(raw, "mbpp", used, cap))


def _mbpp_tests(raw: dict[str, Any], asserts: list[str], defined: list[str], cap: int) -> str:
    """A pytest module with one test function per assert, so each counts on its own."""
    asserts = [textwrap.dedent(a).strip() for a in asserts]
    called = {n.id for a in asserts if (tree := _parse(a)) for n in ast.walk(tree)
              if isinstance(n, ast.Name)}
    # A star import skips _private names, so the ones the asserts use come in by name.
    lines = ["from solution import *"]
    lines += [f"from solution import {n}" for n in defined if n.startswith("_") and n in called]
    lines += [*_str_list(raw, "test_imports", cap), _text(raw, "test_setup_code", cap, False)]
    # pytest would collect a solution's own test_* functions as tests of their own.
    lines += [f"{n}.__test__ = False" for n in defined if n.lower().startswith("test")]
    cases = [f"\n\ndef test_{i}():\n{textwrap.indent(a, '    ')}\n" for i, a in enumerate(asserts)]
    return "".join(f"{line}\n" for line in lines if line) + "".join(cases)


def _called_in(assertion: str, defined: list[str]) -> str | None:
    """The first function the assert calls that the solution defines at top level."""
    tree = _parse(textwrap.dedent(assertion).strip())
    calls = [] if tree is None else [n.func.id for n in ast.walk(tree)
                                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return next((c for c in calls if c in defined), None)


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a sample's bad escapes are its own business
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defined_names(source: str) -> list[str]:
    """Top-level function and class names of `source`, in order; [] if it does not parse."""
    tree = _parse(source)
    return [] if tree is None else [
        n.name for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]


def _pytest_style(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    solution = _text(raw, "solution", cap)
    prompt_key = "prompt" if raw.get("prompt") is not None else "question"
    used = {"id", prompt_key, "solution", "test", "entry_point"}
    return Sample(id=ident, solution=solution, tests=_text(raw, "test", cap),
                  prompt=_text(raw, prompt_key, cap, required=False),
                  entry_point=_given_entry_point(raw, cap) or infer_entry_point(solution),
                  meta=_meta(raw, "pytest", used, cap))


IMPORTERS: dict[str, Callable[[dict[str, Any], str, int], Sample]] = {
    "canonical": _canonical, "humaneval": _humaneval, "mbpp": _mbpp, "pytest": _pytest_style,
}

__all__ = ["FORMATS", "MAX_FIELD_BYTES", "BadRecord", "detect_format", "infer_entry_point",
           "read_samples"]
