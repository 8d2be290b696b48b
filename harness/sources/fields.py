"""Checked fields of an input record: what every importer reads and how it fails.

Each helper raises `BadRecord` naming the field that is wrong; the importer's caller turns
that into an `InvalidRecord`, so a bad record never stops a run.
"""

from __future__ import annotations

import ast
import json
import keyword
import warnings
from typing import Any

from harness.sources.readers import BadRecord


def record_id(raw: dict[str, Any], guess: str) -> str:
    """The record's id (`id`, else `task_id`), or the line-based guess if it has none."""
    for key in ("id", "task_id"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadRecord(f"field {key!r} must be a string or an integer, "
                            f"got {json_kind(value)}")
        text = str(value)
        if len(text) > 1000:
            raise BadRecord(f"field {key!r} is longer than 1000 characters")
        check_text(key, text, 1000)
        if not text.strip():
            raise BadRecord(f"field {key!r} is empty")
        return text
    return guess


def json_kind(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "array",
             dict: "object", type(None): "null", bytes: "binary"}
    return names.get(type(value), type(value).__name__)


def preview(raw: Any) -> str:
    """A short JSON excerpt of a rejected record, for the reject file."""
    if not isinstance(raw, dict):
        return json.dumps(raw[:10] if isinstance(raw, list) else raw, default=repr)[:1000]
    short = {k: (v[:80] if isinstance(v, str) else v) for k, v in raw.items()
             if isinstance(v, str | int | float | bool | type(None))}
    return json.dumps(short)[:1000]


def text_field(raw: dict[str, Any], key: str, cap: int, required: bool = True) -> str:
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
        raise BadRecord(f"field {key!r} must be a string, got {json_kind(value)}")
    check_text(key, value, cap)
    return value


def check_text(key: str, value: str, cap: int) -> None:
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


def str_list(raw: dict[str, Any], key: str, cap: int) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"field {key!r} must be a list of strings, got {json_kind(value)}")
    return [text_field({key: item}, key, cap) for item in value]


def given_entry_point(raw: dict[str, Any], cap: int, dotted: bool = True) -> str | None:
    """The record's `entry_point`, checked to be a (dotted, if allowed) Python name."""
    given = text_field(raw, "entry_point", cap, required=False)
    if not given:
        return None
    parts = given.split(".") if dotted else [given]
    if not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
        raise BadRecord(f"field 'entry_point' is {given[:80]!r}, not a Python name")
    return given


def infer_entry_point(solution: str) -> str | None:
    """The solution's one public top-level function or class, if it has exactly one."""
    public = [name for name in defined_names(solution) if not name.startswith("_")]
    return public[0] if len(public) == 1 else None


def meta_field(raw: dict[str, Any], kind: str, used: set[str], cap: int) -> dict[str, Any]:
    """The record's `meta` plus every field the importer did not use, and the format."""
    given = raw.get("meta")
    if given is not None and not isinstance(given, dict):
        raise BadRecord(f"field 'meta' must be an object, got {json_kind(given)}")
    meta = dict(given or {})
    for key, value in raw.items():
        if key not in used and key != "meta":
            meta.setdefault(str(key), plain(value))
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


def plain(value: Any) -> Any:
    """A JSON-ready copy of an extra field (Arrow rows can hold bytes, dates, decimals)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def parse_quietly(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a sample's bad escapes are its own business
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def defined_names(source: str) -> list[str]:
    """Top-level function and class names of `source`, in order; [] if it does not parse."""
    tree = parse_quietly(source)
    return [] if tree is None else [
        n.name for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]




def reference_fields(raw: dict[str, Any], cap: int) -> tuple[str | None, tuple[str, ...]]:
    """The record's `reference` (a trusted solution) and `alternatives` (other candidates)."""
    reference = text_field(raw, "reference", cap, required=False) or None
    return reference, tuple(str_list(raw, "alternatives", cap))
