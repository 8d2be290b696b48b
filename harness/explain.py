"""One line of evidence for a reason, read from a verdict's checks."""

from __future__ import annotations

from typing import Any

from harness.records import Verdict


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _error_line(text: str) -> str:
    """pytest's `E ` lines say what failed; the last line only says where."""
    errors = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    return " ".join(errors)[:300] if errors else _last_line(text)


def _changed_lines(diff: str) -> str:
    return " / ".join(ln for ln in diff.splitlines()
                      if ln[:1] in "+-" and not ln.startswith(("+++", "---")))


def explain(verdict: Verdict, reason: str) -> str:
    """The evidence a person needs to check `reason` on this verdict, in one line."""
    checks: dict[str, Any] = verdict.checks
    tests = checks.get("tests", {})
    probes = checks.get("probes", {})
    if reason == "invalid_sample":
        inp = checks.get("input", {})
        return f"line {inp.get('line')}: {inp.get('error', '')}"
    if reason == "syntax_error":
        syn = checks.get("syntax", {})
        return f"{syn.get('file')}:{syn.get('line')}: {syn.get('message')}"
    if reason == "type_error":
        errors = checks.get("types", {}).get("errors") or [{}]
        return f"solution.py:{errors[0].get('line')}: {errors[0].get('message', '')}"
    if reason == "test_failed":
        if tests.get("collect_errors"):
            return "collection: " + _last_line(tests["collect_errors"][0])
        bad = (tests.get("not_passed") or [{}])[0]
        message = _error_line(bad.get("message", ""))
        return f"{bad.get('nodeid', '?')} {bad.get('outcome', '')}: {message}"
    if reason == "trivial_tests":
        return "passes with stand-in: " + ", ".join(probes.get("stubs", {}).get("passed_by", []))
    if reason == "weak_tests":
        mutation = probes.get("mutation", {})
        text = f"mutation score {mutation.get('score')}"
        survivors = mutation.get("survivors") or []
        if survivors:
            text += f"; survives: {_changed_lines(survivors[0]['diff'])}"
            if survivors[0].get("distinguishing_input"):
                text += f" (differs on {survivors[0]['distinguishing_input'].get('args')})"
        return text
    return str(tests.get("detail", ""))
