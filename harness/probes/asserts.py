"""Asserts that would strengthen weak tests: one per surviving mutant whose distinguishing
input is known, `assert f(<input>) == <the solution's answer>`, each checked to pass on
the solution (in the sandbox) and to fail on its mutant (by the mutant's answer there). A
dataset builder pastes them into the tests instead of throwing the sample away.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from harness.config import wall_backstop
from harness.languages import language_of
from harness.records import Sample
from harness.sandbox.result import Limits, PytestJob, Status, TestOutcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool

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


def _fails_on_mutant(found: dict[str, Any]) -> bool:
    """Whether the mutant's answer on the input, as the probes observed it in the sandbox,
    makes the assert fail: it raised, ran out of time, or is unequal to the solution's."""
    mutant, answer = str(found.get("mutant") or ""), str(found.get("solution") or "")
    if mutant == "timeout" or (mutant.startswith("raises ") and not _RAISES.match(answer)):
        return True
    if _RAISES.match(answer):  # the assert expects a raise: an answer of any value fails it
        return not mutant.startswith("raises ")
    try:
        return bool(ast.literal_eval(mutant) != ast.literal_eval(answer))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return False  # not a literal: the assert might compare equal after all


def suggest(pool: Pool, sample: Sample, entry: str, survivors: list[dict[str, Any]],
            limits: Limits) -> list[dict[str, Any]]:
    """Checked asserts for the survivors (each {"assert", "kills": [mutant ids]}).

    One sandbox run checks that every assert passes on the solution, with a tight CPU
    limit (the probes saw the solution answer each input within milliseconds); that it
    fails on its mutant is read from what the probes observed the mutant answer."""
    if "." in entry:
        return []
    kills: dict[str, list[str]] = {}
    for survivor in survivors:
        found = survivor.get("distinguishing_input") or {}
        text = candidate(entry, found)
        if text and _fails_on_mutant(found):
            kills.setdefault(text, []).append(str(survivor.get("id")))
    if not kills:
        return []
    lang = language_of(sample)
    texts = list(kills)
    files = {**lang.files(sample), lang.tests_file: _module(entry, texts)}
    quick = Limits(timeout=wall_backstop(1.0), cpu=1.0, memory_mb=limits.memory_mb,
                   output_bytes=limits.output_bytes)
    on_solution = pool.run(files, PytestJob(), quick)
    holds = _passed(on_solution.tests) if on_solution.status in (Status.OK, Status.FAILED) \
        else set()
    return [{"assert": text, "kills": kills[text]} for i, text in enumerate(texts)
            if i in holds]
