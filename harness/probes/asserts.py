"""Asserts that would strengthen weak tests: one per surviving mutant whose distinguishing
input is known, `assert f(<input>) == <the solution's answer>`, each checked in the
sandbox to pass on the solution and to fail on its mutant. A dataset builder pastes them
into the tests instead of throwing the sample away.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from harness.languages import language_of
from harness.records import Sample
from harness.sandbox.result import PytestJob, Status, TestOutcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool
    from harness.sandbox.result import Limits

_RAISES = re.compile(r"^raises ([A-Za-z_][\w.]*)\(")


def candidate(entry: str, found: dict[str, Any]) -> str | None:
    """The assert for one distinguishing input, or None when its reprs are no Python."""
    args, answer = str(found.get("args") or ""), str(found.get("solution") or "")
    if not args or not answer or found.get("note") or answer == "timeout":
        return None
    raised = _RAISES.match(answer)
    if raised:
        text = f"with pytest.raises({raised[1]}):\n        {entry}{args}"
    else:
        text = f"assert {entry}{args} == {answer}"
    # Only literals: a truncated or default repr is no Python, and a person pastes these
    # into tests run outside any sandbox, so nothing the sample printed may be code.
    try:
        ast.literal_eval(f"({args[1:-1]},)" if args.strip("()").strip() else "()")
        if not raised:
            ast.literal_eval(answer)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    return text


def _module(entry: str, asserts: list[str]) -> str:
    head = f"import pytest\nfrom solution import *\nfrom solution import {entry}\n"
    body = "".join(f"\n\ndef test_suggested_{i}():\n    {text}\n"
                   for i, text in enumerate(asserts))
    return head + body


def _passed(tests: list[TestOutcome]) -> set[int]:
    out = set()
    for t in tests:
        name = t.nodeid.rsplit("::", 1)[-1]
        if t.outcome == "passed" and name.startswith("test_suggested_"):
            out.add(int(name.rsplit("_", 1)[1]))
    return out


def suggest(pool: Pool, sample: Sample, entry: str, survivors: list[dict[str, Any]],
            limit: int, limits: Limits) -> list[dict[str, Any]]:
    """Checked asserts for the survivors (each {"mutant", "assert"}); [] when none hold."""
    from harness_sandbox.probelib.mutants import generate_mutants

    offered = [(s, text) for s in survivors
               if (text := candidate(entry, s.get("distinguishing_input") or {}))]
    if not offered or "." in entry:
        return []
    lang = language_of(sample)
    texts = [text for _, text in offered]
    files = {**lang.files(sample), lang.tests_file: _module(entry, texts)}
    on_solution = pool.run(files, PytestJob(), limits)
    holds = _passed(on_solution.tests) if on_solution.status in (Status.OK, Status.FAILED) \
        else set()
    by_id = {m.id: m for m in generate_mutants(sample.solution, limit)}
    out = []
    for i, (survivor, text) in enumerate(offered):
        mutant = by_id.get(str(survivor.get("id")))
        if i not in holds or mutant is None:
            continue
        files = {lang.solution_file: mutant.source, lang.tests_file: _module(entry, [text])}
        on_mutant = pool.run(files, PytestJob(), limits)
        if on_mutant.status in (Status.OK, Status.FAILED) and 0 not in _passed(on_mutant.tests):
            out.append({"mutant": survivor.get("id"), "assert": text})
    return out
