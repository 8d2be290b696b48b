"""Importers: records in their own layouts (canonical, HumanEval, MBPP, pytest-style)
become canonical `Sample`s, or `BadRecord`s naming the field that is wrong."""

from __future__ import annotations

import ast
import json
import keyword
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

from harness.readers import BadRecord
from harness.records import InvalidRecord, Sample

Record = Sample | InvalidRecord


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


def to_record(line: int, raw: Any, fmt: str, cap: int) -> Record:
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
