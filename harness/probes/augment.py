"""`--augment`: a strengthened test module for a sample with a reference (or a solution
the user trusts): the original tests plus one assert per input that told a surviving
mutant, the solution or an alternative apart, with the trusted code's answer there, as
EvalPlus does. Each assert is checked in the sandbox to pass on the trusted code; the
module is then run against the previously surviving mutants, to count those it kills.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig
from harness.languages import language_of
from harness.probes.asserts import candidate
from harness.records import Sample
from harness.sandbox.result import PytestJob, Status, TestOutcome

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool

PREFIX = "test_augmented_"
MAX_MUTANT_RUNS = 20  # survivors the augmented suite is run against, at most


def _offered(sample: Sample, entry: str, data: dict[str, Any], facts: dict[str, Any],
             trust_solution: bool) -> list[str]:
    """Candidate asserts, deduplicated, the differential's (the reference's answers) first."""
    texts: list[str] = []
    found = (facts.get("differential") or {}).get("augment") or []
    if sample.reference is not None or trust_solution:  # else: nobody vouches for answers
        for item in found:
            if isinstance(item, dict):
                texts.append(candidate(entry, {"args": item.get("args"),
                                               "solution": item.get("expected")}) or "")
    if sample.reference is None and trust_solution:  # the solution's own answers
        for m in data.get("mutants") or []:
            texts.append(candidate(entry, m.get("distinguishing_input") or {}) or "")
    return list(dict.fromkeys(t for t in texts if t))


def _module(tests: str, entry: str, asserts: list[str]) -> str:
    head = ("\n\n# Added by `harness verify --augment`: the trusted solution's answers on "
            f"inputs that told its variants apart.\nimport pytest\nfrom solution import {entry}\n")
    body = "".join(f"\n\ndef {PREFIX}{i}():\n    {text}\n" for i, text in enumerate(asserts))
    return tests.rstrip("\n") + "\n" + head + body


def _outcomes(tests: list[TestOutcome]) -> tuple[set[int], bool]:
    """The added tests that passed, and whether every original test passed."""
    added, originals = set(), True
    for t in tests:
        name = t.nodeid.rsplit("::", 1)[-1]
        if name.startswith(PREFIX) and name[len(PREFIX):].isdigit():
            if t.outcome == "passed":
                added.add(int(name[len(PREFIX):]))
        elif t.outcome != "passed":
            originals = False
    return added, originals


def augment(pool: Pool, sample: Sample, entry: str, data: dict[str, Any],
            facts: dict[str, Any], config: VerifyConfig) -> dict[str, Any] | None:
    """{"tests", "asserts", "survivors", "killed", "checked_on"}; None when nothing to add."""
    from harness_sandbox.probelib.mutants import generate_mutants

    trusted = sample.reference if sample.reference is not None else (
        sample.solution if config.trust_solution else None)
    if trusted is None or "." in entry:
        return None
    offered = _offered(sample, entry, data, facts, config.trust_solution)[:4 * config.augment_max]
    if not offered:
        return None
    lang = language_of(sample)
    files = {**lang.files(sample), lang.solution_file: trusted}
    first = pool.run({**files, lang.tests_file: _module(sample.tests, entry, offered)},
                     PytestJob(), config.limits)
    if first.status not in (Status.OK, Status.FAILED):
        return None
    holds, _ = _outcomes(first.tests)
    kept = [text for i, text in enumerate(offered) if i in holds][:config.augment_max]
    if not kept:
        return None
    module = _module(sample.tests, entry, kept)
    check = pool.run({**files, lang.tests_file: module}, PytestJob(), config.limits)
    holds, originals = _outcomes(check.tests)
    if len(holds) != len(kept):  # an assert that does not hold twice is not kept at all
        return None
    survivors = [m for m in data.get("mutants") or []
                 if not m.get("killed") and m.get("equivalent") is not True]
    by_id = {m.id: m for m in generate_mutants(sample.solution, config.mutant_limit)}
    killed = 0
    for survivor in survivors[:MAX_MUTANT_RUNS]:
        mutant = by_id.get(str(survivor.get("id")))
        if mutant is None:
            continue
        run = pool.run({**lang.files(sample), lang.solution_file: mutant.source,
                        lang.tests_file: module}, PytestJob(), config.limits)
        killed += run.status is not Status.OK
    return {"tests": module, "asserts": len(kept), "survivors": len(survivors),
            "killed": killed, "checked_on": "reference" if sample.reference is not None
            else "solution", "original_tests_pass_on_trusted": originals}
