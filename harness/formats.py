"""Readers: corpora in their own layouts in, canonical `Sample`s (or `InvalidRecord`s) out.

Everything streams: a JSONL file is read line by line, Parquet by record batch, so a
corpus of any size is never held in memory. A bad record never stops the run; it comes
out as an `InvalidRecord` naming its line and what is wrong with it.
"""

from __future__ import annotations

import ast
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from harness.errors import InputError
from harness.records import InvalidRecord, Sample

FORMATS = ("auto", "canonical", "humaneval", "mbpp", "pytest")
MAX_FIELD_BYTES = 10 * 2**20
Record = Sample | InvalidRecord


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class BadRecord(ValueError):
    """What is wrong with one record; becomes an InvalidRecord."""


def read_samples(path: str, fmt: str = "auto",
                 max_field_bytes: int = MAX_FIELD_BYTES) -> Iterator[Record]:
    """Stream the records of `path` (a file, a saved dataset directory, or - for stdin)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    seen: dict[str, int] = {}
    for line, raw in _raw_records(path, max_field_bytes):
        record = _to_record(line, raw, fmt, max_field_bytes)
        if isinstance(record, Sample):
            if record.id in seen:
                record = InvalidRecord(line, record.id, f"duplicate id {record.id!r}, first "
                                       f"seen on line {seen[record.id]}")
            else:
                seen[record.id] = line
        yield record


# ---------------------------------------------------------------- containers


def _raw_records(path: str, cap: int) -> Iterator[tuple[int, Any]]:
    """(1-based line or row number, decoded object or a BadRecord) for each record."""
    if path == "-":
        yield from _jsonl(sys.stdin.buffer, cap)
        return
    p = Path(path)
    if p.is_dir():
        yield from _dataset_dir(p)
        return
    try:
        if p.suffix == ".parquet":
            yield from _parquet(p)
        elif p.suffix == ".json":
            yield from _json_file(p, cap)
        elif p.name.endswith(".gz"):
            with gzip.open(p, "rb") as fh:
                yield from _jsonl(fh, cap)
        else:
            with open(p, "rb") as fh:
                yield from _jsonl(fh, cap)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _jsonl(fh: _Lines, cap: int) -> Iterator[tuple[int, Any]]:
    limit = 4 * cap + 4096  # a field over the cap makes the line over this, escaped or not
    for number, line in enumerate(_lines(fh, limit), start=1):
        if isinstance(line, int):
            yield number, BadRecord(f"line of {line} bytes is over the {cap}-byte field limit")
            continue
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, BadRecord(f"not valid UTF-8 at byte {exc.start}")
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, BadRecord(f"not valid JSON: {exc.msg} at column {exc.colno}")


def _lines(fh: _Lines, limit: int) -> Iterator[bytes | int]:
    """Lines of a binary stream; a line longer than `limit` comes out as its length only."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            size = len(line)
            while chunk := fh.readline(1 << 20):  # skip the rest without keeping it
                size += len(chunk)
                if chunk.endswith(b"\n"):
                    break
            yield size
            continue
        yield line


def _json_file(p: Path, cap: int) -> Iterator[tuple[int, Any]]:
    with open(p, "rb") as fh:
        head = fh.read(1 << 16).lstrip()
    if not head.startswith(b"["):
        with open(p, "rb") as fh:
            yield from _jsonl(fh, cap)
        return
    try:
        data = json.loads(p.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{p} is not a valid JSON array: {exc}") from exc
    yield from enumerate(data, start=1)


def _parquet(p: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(p).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _dataset_dir(p: Path) -> Iterator[tuple[int, Any]]:
    """A directory written by `datasets`' save_to_disk: its Arrow shards, in order."""
    import pyarrow as pa

    shards = sorted(p.glob("*.arrow")) or sorted(p.glob("*/*.arrow"))
    if not shards:
        raise InputError(f"{p} holds no .arrow files: pass a directory written by "
                         "datasets' save_to_disk, or a JSONL/JSON/Parquet file")
    number = 0
    for shard in shards:
        with pa.memory_map(str(shard)) as source:
            try:
                reader: Any = pa.ipc.open_stream(source)
            except pa.ArrowInvalid:
                reader = pa.ipc.open_file(source)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches)) \
                if hasattr(reader, "num_record_batches") else reader
            for batch in batches:
                for row in batch.to_pylist():
                    number += 1
                    yield number, row


# ---------------------------------------------------------------- importers


def detect_format(record: dict[str, Any]) -> str | None:
    """Which layout a record is in, judged by its fields."""
    if "solution" in record and "tests" in record:
        return "canonical"
    if "test" in record and ("canonical_solution" in record or "completion" in record):
        return "humaneval"
    if "test_list" in record and "code" in record:
        return "mbpp"
    if "solution" in record and "test" in record:
        return "pytest"
    if "solution" in record or "tests" in record:
        return "canonical"  # a canonical record with a field missing: say which
    return None


def _to_record(line: int, raw: Any, fmt: str, cap: int) -> Record:
    guess = f"line-{line}"
    if isinstance(raw, BadRecord):
        return InvalidRecord(line, guess, str(raw))
    if not isinstance(raw, dict):
        return InvalidRecord(line, guess, f"expected a JSON object, got {type(raw).__name__}")
    rid = raw.get("id", raw.get("task_id"))
    ident = str(rid) if isinstance(rid, str | int) and str(rid) else guess
    kind = detect_format(raw) if fmt == "auto" else fmt
    try:
        if kind is None:
            raise BadRecord("no known layout: expected solution+tests (canonical), "
                            "prompt+canonical_solution+test (HumanEval), code+test_list "
                            "(MBPP) or solution+test (pytest-style)")
        sample = IMPORTERS[kind](raw, ident, cap)
    except BadRecord as exc:
        return InvalidRecord(line, ident, str(exc), raw=_preview(raw))
    return sample


def _preview(raw: dict[str, Any]) -> str:
    return json.dumps({k: (v[:80] if isinstance(v, str) else v) for k, v in raw.items()
                       if isinstance(v, str | int | float | bool | type(None))})[:1000]


def _text(raw: dict[str, Any], key: str, cap: int, required: bool = True) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise BadRecord(f"missing field {key!r}")
        return ""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRecord(f"field {key!r} is binary, not UTF-8 text") from exc
    if not isinstance(value, str):
        raise BadRecord(f"field {key!r} must be a string, got {type(value).__name__}")
    if len(value) > cap or len(value.encode("utf-8", "surrogatepass")) > cap:
        raise BadRecord(f"field {key!r} is over the {cap}-byte limit")
    if "\x00" in value:
        raise BadRecord(f"field {key!r} contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRecord(f"field {key!r} holds an unpaired surrogate") from exc
    return value


def infer_entry_point(solution: str) -> str | None:
    """The solution's one public top-level function or class, if it has exactly one."""
    try:
        tree = ast.parse(solution)
    except (SyntaxError, ValueError, RecursionError):
        return None
    names = [n.name for n in tree.body
             if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
             and not n.name.startswith("_")]
    return names[0] if len(names) == 1 else None


def _meta(raw: dict[str, Any], kind: str, used: set[str]) -> dict[str, Any]:
    meta = dict(raw.get("meta") or {}) if isinstance(raw.get("meta"), dict) else {}
    meta["source_format"] = kind
    for key, value in raw.items():
        if key not in used and key != "meta" and isinstance(value, str | int | float | bool):
            meta.setdefault(key, value)
    return meta


def _canonical(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    solution = _text(raw, "solution", cap)
    entry = _text(raw, "entry_point", cap, required=False) or infer_entry_point(solution)
    used = {"id", "prompt", "solution", "tests", "entry_point", "language"}
    language = _text(raw, "language", cap, required=False) or "python"
    if language != "python":
        raise BadRecord(f"language {language!r} is not supported (only python)")
    return Sample(id=ident, solution=solution, tests=_text(raw, "tests", cap),
                  prompt=_text(raw, "prompt", cap, required=False), entry_point=entry,
                  meta=_meta(raw, "canonical", used))


def _humaneval(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    prompt = _text(raw, "prompt", cap)
    body = _text(raw, "completion" if "completion" in raw else "canonical_solution", cap)
    entry = _text(raw, "entry_point", cap)
    test = _text(raw, "test", cap)
    tests = ("import solution\nfrom solution import *\n\n" + test +
             f"\n\ndef test_{entry}():\n    check({entry})\n")
    used = {"task_id", "prompt", "completion", "canonical_solution", "test", "entry_point"}
    return Sample(id=ident, solution=prompt + body, tests=tests, prompt=prompt,
                  entry_point=entry, meta=_meta(raw, "humaneval", used))


def _mbpp(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    code = _text(raw, "code", cap)
    asserts = raw.get("test_list")
    if not isinstance(asserts, list) or not asserts:
        raise BadRecord("field 'test_list' must be a non-empty list of assert statements")
    for item in asserts:
        if not isinstance(item, str):
            raise BadRecord("field 'test_list' must hold strings")
    setup = _text(raw, "test_setup_code", cap, required=False)
    imports = raw.get("test_imports") or []
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise BadRecord("field 'test_imports' must be a list of strings")
    head = "from solution import *\n" + "".join(f"{i}\n" for i in imports) + setup + "\n"
    cases = "".join(f"\n\ndef test_{n}():\n    {a.strip()}\n" for n, a in enumerate(asserts))
    prompt = _text(raw, "prompt" if "prompt" in raw else "text", cap, required=False)
    used = {"task_id", "text", "prompt", "code", "test_list", "test_setup_code", "test_imports"}
    return Sample(id=ident, solution=code, tests=head + cases, prompt=prompt,
                  entry_point=_called_in(asserts[0], code) or infer_entry_point(code),
                  meta=_meta(raw, "mbpp", used))


def _called_in(assertion: str, code: str) -> str | None:
    """The first function the assert calls that the solution defines."""
    try:
        calls = [n.func.id for n in ast.walk(ast.parse(assertion.strip()))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        defined = {n.name for n in ast.parse(code).body
                   if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    except (SyntaxError, ValueError, RecursionError):
        return None
    return next((c for c in calls if c in defined), None)


def _pytest_style(raw: dict[str, Any], ident: str, cap: int) -> Sample:
    solution = _text(raw, "solution", cap)
    prompt = _text(raw, "prompt" if "prompt" in raw else "question", cap, required=False)
    entry = _text(raw, "entry_point", cap, required=False) or infer_entry_point(solution)
    used = {"id", "task_id", "question", "prompt", "solution", "test", "entry_point"}
    return Sample(id=ident, solution=solution, tests=_text(raw, "test", cap), prompt=prompt,
                  entry_point=entry, meta=_meta(raw, "pytest", used))


IMPORTERS = {"canonical": _canonical, "humaneval": _humaneval, "mbpp": _mbpp,
             "pytest": _pytest_style}

__all__ = ["FORMATS", "detect_format", "infer_entry_point", "read_samples"]
