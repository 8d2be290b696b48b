"""MBPP's layout: `text` (or `prompt`) + `code` + `test_list` of asserts, with optional
`test_setup_code` and `test_imports`."""

from __future__ import annotations

import ast
import textwrap
from typing import Any

from harness.records import Sample
from harness.sources.base import FULL, IMPORTERS, PARTIAL, Importer
from harness.sources.fields import (
    defined_names,
    given_entry_point,
    infer_entry_point,
    meta_field,
    parse_quietly,
    str_list,
    text_field,
)
from harness.sources.readers import BadRecord


class Mbpp(Importer):
    name = "mbpp"
    partial_rank = 1

    def detect(self, record: dict[str, Any]) -> int:
        if "test_list" in record and "code" in record:
            return FULL
        return PARTIAL if "test_list" in record or "code" in record else 0

    def load(self, raw: dict[str, Any], ident: str, cap: int) -> Sample:
        code = text_field(raw, "code", cap)
        reference = None
        if raw.get("solution") is not None:  # a model's solution, with MBPP's as reference
            code, reference = text_field(raw, "solution", cap), code
        if "test_list" not in raw:
            raise BadRecord("missing field 'test_list'")
        asserts = str_list(raw, "test_list", cap)
        if not asserts:
            raise BadRecord("field 'test_list' is empty: MBPP records need at least one assert")
        prompt_key = "prompt" if raw.get("prompt") is not None else "text"
        used = {prompt_key, "code", "test_list", "test_setup_code", "test_imports", "entry_point",
                "solution"}
        defined = defined_names(code)
        entry = (given_entry_point(raw, cap) or _called_in(asserts[0], defined)
                 or infer_entry_point(code))
        if reference is not None:  # the reference names the function the asserts call
            entry = (given_entry_point(raw, cap) or _called_in(asserts[0], defined_names(reference))
                     or entry)
        return Sample(id=ident, solution=code, tests=_mbpp_tests(raw, asserts, defined, cap),
                      reference=reference,
                      prompt=text_field(raw, prompt_key, cap, required=False), entry_point=entry,
                      meta=meta_field(raw, "mbpp", used, cap))


IMPORTERS.add("mbpp", Mbpp())



def _mbpp_tests(raw: dict[str, Any], asserts: list[str], defined: list[str], cap: int) -> str:
    """A pytest module with one test function per assert, so each counts on its own."""
    asserts = [textwrap.dedent(a).strip() for a in asserts]
    called = {n.id for a in asserts if (tree := parse_quietly(a)) for n in ast.walk(tree)
              if isinstance(n, ast.Name)}
    # A star import skips _private names, so the ones the asserts use come in by name.
    lines = ["from solution import *"]
    lines += [f"from solution import {n}" for n in defined if n.startswith("_") and n in called]
    lines += [*str_list(raw, "test_imports", cap), text_field(raw, "test_setup_code", cap, False)]
    # pytest would collect a solution's own test_* functions as tests of their own.
    lines += [f"{n}.__test__ = False" for n in defined if n.lower().startswith("test")]
    cases = [f"\n\ndef test_{i}():\n{textwrap.indent(a, '    ')}\n" for i, a in enumerate(asserts)]
    return "".join(f"{line}\n" for line in lines if line) + "".join(cases)


def _called_in(assertion: str, defined: list[str]) -> str | None:
    """The first function the assert calls that the solution defines at top level."""
    tree = parse_quietly(textwrap.dedent(assertion).strip())
    calls = [] if tree is None else [n.func.id for n in ast.walk(tree)
                                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return next((c for c in calls if c in defined), None)
