"""The sandbox's evidence about a rejected pair, read from `Verdict.checks`, as text a
model can act on: the failing test, the mypy message, the stand-in that passed, the
surviving mutant with its distinguishing input."""

from __future__ import annotations

from typing import Any

from harness.records import Verdict

_MAX = 1500  # characters per piece: enough for a traceback, not a flood


def _cut(text: str, limit: int = _MAX) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]"


def weak_tests(verdict: Verdict) -> bool:
    """The tests are what is wrong: they pass but are trivial or weak."""
    return bool(verdict.reasons) and set(verdict.reasons) <= {"weak_tests", "trivial_tests"}


def describe(verdict: Verdict) -> str:
    """Everything the checks of `verdict` say against it, most telling first."""
    checks: dict[str, Any] = verdict.checks
    out: list[str] = []
    syntax = checks.get("syntax", {})
    if syntax.get("ok") is False:
        out.append(f"{syntax.get('file')} does not parse, line {syntax.get('line')}: "
                   f"{syntax.get('message')}")
    for error in checks.get("types", {}).get("errors", [])[:5]:
        out.append(f"mypy, line {error.get('line')}: {error.get('message')}")
    tests = checks.get("tests", {})
    if tests.get("status") not in (None, "ok"):
        out.append(f"pytest: {tests.get('status')}: {tests.get('detail')}")
    for failed in tests.get("not_passed", [])[:2]:
        out.append(f"test {failed.get('nodeid')} {failed.get('outcome')}:\n"
                   f"{_cut(str(failed.get('message', '')))}")
    if tests.get("stderr_tail"):
        out.append("stderr:\n" + _cut(str(tests["stderr_tail"]), 600))
    probes = checks.get("probes", {})
    baseline = probes.get("baseline_failed")
    if baseline:
        out.append(f"the tests failed when run again: {baseline.get('failed')}: "
                   f"{_cut(str(baseline.get('message', '')), 600)}")
    stubs = probes.get("stubs", {}).get("passed_by", [])
    if stubs:
        out.append("the tests also pass when the function body is replaced by: "
                   + "; ".join(stubs) + " -- they check too little")
    mutation = probes.get("mutation") or {}
    if "weak_tests" in verdict.reasons and mutation:
        out.append(f"mutation score {mutation.get('score')}: {mutation.get('killed')} of "
                   f"{mutation.get('mutants')} changed versions of the solution fail the "
                   "tests; these pass them too:")
        for survivor in mutation.get("survivors", [])[:2]:
            out.append(_cut(str(survivor.get("diff", "")), 800))
            shown = survivor.get("distinguishing_input")
            if shown:
                out.append(f"on input {shown.get('args')} the solution returns "
                           f"{shown.get('solution')} but that changed version returns "
                           f"{shown.get('mutant')}: add a test for it")
    for finding in probes.get("lint", [])[:3]:
        out.append(f"lint, line {finding.get('line')}: {finding.get('message')}")
    if not out:
        out.append("rejected for: " + ", ".join(verdict.reasons))
    return "\n".join(f"- {item}" for item in out)
