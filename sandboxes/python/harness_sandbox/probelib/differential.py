"""The differential probe: the solution against a trusted reference, or among alternatives.

It runs as one more body of the probe job, in a child forked from the collected tests
like every variant (same confinement, CPU caps and wall limits). The child runs the tests
once more on the unchanged solution, watched for the entry point's calls; those calls,
inputs derived from them by type-aware mutation, boundary values and the drawn pools
(`equivalence.Inputs.sourced`) are then given to the reference and to a fresh
import of the solution. An input on which the reference raises or runs past its cap is out of
domain and skipped; so is a drawn input (not derived from the tests) on which the
solution raises, or that holds non-ASCII text where the tests' text is all ASCII.
Answers are compared by structure (`compare`), exactly unless the sample asks for a
float tolerance or unordered results; the first difference is shrunk and reported with
both answers.

With alternatives and no reference, the solution and the alternatives are clustered by
their answers on the same inputs, as evidence only.

The record goes back in the `search` field every variant record may carry:
[report (text values only), inputs compared].
"""

from __future__ import annotations

import ast
import json
import time
import types
from collections.abc import Callable
from typing import Any

from harness_sandbox.probelib.compare import DIFFERENT, SAME, UNKNOWN, compare, compare_loosely
from harness_sandbox.probelib.derive import keeps
from harness_sandbox.probelib.equivalence import (
    DRAWN,
    TESTS,
    WALL_FACTOR,
    Inputs,
    Outcome,
    _report,
    _show,
    call_with_timeout,
    code_constants,
    outcome,
)
from harness_sandbox.probelib.forks import progress
from harness_sandbox.probelib.shrink import shrink
from harness_sandbox.probelib.strategies import Call

DIFF_BUDGET = 1.0  # CPU seconds of calls the comparison may spend, all candidates together
REFERENCE_CALL = 0.05  # CPU seconds one reference call may take before it is out of domain
REFERENCE_CAP = 1.0  # CPU seconds of reference answers in all
# The solution gets 5x the reference's time a call: a timeout is then a hang, not noise.
SOLUTION_CALL = 5 * REFERENCE_CALL
DIFF_WALL = WALL_FACTOR * (DIFF_BUDGET + REFERENCE_CAP) + 2.0  # wall seconds for the body
DERIVED_INPUTS = 400  # inputs derived from the tests' calls (EvalPlus tries ~750 in all)
MAX_CANDIDATES = 16  # alternatives clustered, at most
MAX_NOTED = 20  # survivors' inputs kept for augmentation
CUT = "the differential comparison was cut: it hung or crashed its child"

Record = dict[str, Any]


def load(source: str, entry: str, limit: tuple[float, float], name: str) -> Any:
    """`entry` of `source` run as a fresh module named `solution` (so its classes compare
    by name with the solution's), under the variants' CPU and wall limits."""
    module = types.ModuleType("solution")
    module.__file__ = f"{name}.py"
    code = compile(source, module.__file__, "exec")
    call_with_timeout(lambda: exec(code, module.__dict__), *limit)
    return getattr(module, entry)


def parse_args(shown: str) -> Call | None:
    """A reported input "(1, [2])" back as a call; None unless it is plain literals."""
    inner = shown.strip()[1:-1].strip() if shown.strip().startswith("(") else None
    if inner is None:
        return None
    try:
        args = ast.literal_eval(f"({inner},)") if inner else ()
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    return (tuple(args), {}) if type(args) is tuple else None


class Differential:
    """The differential body for one probe job; `note` collects survivors' inputs."""

    def __init__(self, probe: Any, options: dict[str, Any]) -> None:
        self.probe = probe
        self.reference: str | None = options.get("reference")
        self.alternatives = [str(a) for a in options.get("alternatives") or []]
        atol = options.get("atol")
        self.atol = float(atol) if isinstance(atol, int | float) else None
        self.unordered = bool(options.get("unordered"))
        self.augment_max = int(options.get("augment_max") or 10)
        self.noted: list[tuple[str, Call]] = []  # (why, input) that told survivors apart

    def note(self, index: int, record: Record, why: str) -> None:
        """In the setup child, as a mutant's record goes out: its distinguishing input."""
        search = record.get("search")
        found = search[0] if isinstance(search, list) and search else None
        if isinstance(found, dict) and len(self.noted) < MAX_NOTED:
            call = parse_args(str(found.get("args") or ""))
            if call is not None:
                self.noted.append((why, call))

    def body(self) -> Record:
        probe = self.probe
        if probe._skip():
            return {"skipped": True}
        if not probe.is_function:
            return _done({"verdict": "error", "error": "the entry point is not a function: "
                          "the differential probe compares functions only"}, 0)
        progress(_done({"verdict": "error", "error": CUT}, 0), DIFF_WALL)
        observed: list[Call] = []
        probe._run(observed)  # the tests once more, watched for their calls
        try:
            solution = probe._pristine()
        except BaseException as exc:
            return _done({"verdict": "error",
                          "error": f"the solution does not import again: {exc!r}"[:300]}, 0)
        if self.reference is not None:
            return self._against_reference(solution, observed)
        return self._clustered(solution, observed)

    def judge(self, first: Outcome, second: Outcome) -> str:
        """SAME, DIFFERENT or UNKNOWN for two outcomes of one call, with the sample's
        tolerance; the arguments after the call count only for an answer of None."""
        if first[0] != second[0]:
            return DIFFERENT
        if first[0] == "timeout":
            return SAME
        if first[0] == "raise":
            return compare(first[1], second[1])
        verdict = compare_loosely(first[1], second[1], self.atol, self.unordered)
        if verdict == SAME and first[1] is None:
            return compare(first[2], second[2])  # a function that works in place
        return verdict

    def _against_reference(self, solution: Callable[..., Any], observed: list[Call]) -> Record:
        try:
            reference = load(self.reference or "", self.probe.entry_point, self.probe.limit,
                             "reference")
        except BaseException as exc:
            return _done({"verdict": "error",
                          "error": f"the reference does not define the entry point: {exc!r}"
                          [:300]}, 0)
        inputs = Inputs(reference, [*self.probe.constants, *code_constants(solution)],
                        cap=REFERENCE_CAP, budget=REFERENCE_CALL, derived=DERIVED_INPUTS,
                        implied=False)
        began = time.process_time()
        compared = skipped = unknown = 0
        report: Record = {"verdict": "agrees"}

        def spent() -> float:
            return time.process_time() - began - inputs.answering - inputs.drawing

        def differs(call: Call, drawn: bool) -> tuple[Outcome, Outcome] | None:
            if not keeps(call, kept):
                return None  # shrunk past an ordering every test call kept
            first = inputs.answer(call)
            if first[0] != "ok":
                return None  # shrunk out of the reference's domain
            second = outcome(solution, call, SOLUTION_CALL)
            if drawn and second[0] == "raise":
                return None
            return (first, second) if self.judge(first, second) == DIFFERENT else None

        ascii_only = _ascii_only(observed)
        kept: list[tuple[int, int]] = []  # the reference's domain decides, not a guess
        for origin, call in inputs.sourced(observed):
            if spent() > DIFF_BUDGET or inputs.answering > REFERENCE_CAP:
                report["cut"] = "out of time"
                break
            ours = origin != TESTS
            first = inputs.answer(call)
            if first[0] != "ok" or (origin == DRAWN and ascii_only and not _ascii_only([call])):
                skipped += 1  # out of the reference's domain (or far from the tests' text)
                continue
            second = outcome(solution, call, SOLUTION_CALL)
            if origin == DRAWN and second[0] == "raise":
                skipped += 1  # drawn freely: only a different value counts, not a refusal
                continue
            verdict = self.judge(first, second)
            if verdict == UNKNOWN:
                unknown += 1
                continue
            if verdict == SAME:
                compared += 1
                continue
            if ours:
                drawn = origin == DRAWN

                def alike(c: Call, drawn: bool = drawn) -> bool:
                    return spent() <= DIFF_BUDGET + 0.5 and differs(c, drawn) is not None

                call = shrink(call, alike)
                first, second = differs(call, drawn) or (first, second)
            found = _report(call, first, second)
            report = {"verdict": "differs", "args": found["args"], "solution": _show(second),
                      "reference": _show(first), "origin": origin}
            self.noted.insert(0, ("wrong_solution", call))
            compared += 1
            break
        report.update(skipped=str(skipped), unknown=str(unknown),
                      augment=self._augment(inputs))
        return _done(report, compared)

    def _augment(self, inputs: Inputs) -> str:
        """JSON of [{"args", "expected", "why"}]: the reference's answers on the inputs that
        told something apart (the solution, survivors), for asserts the host checks."""
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for why, call in self.noted:
            answer = inputs.answer(call)
            if answer[0] != "ok" or len(out) >= self.augment_max:
                continue
            shown = _report(call, answer, answer)
            if shown["args"] in seen:
                continue
            seen.add(shown["args"])
            out.append({"args": shown["args"], "expected": _show(answer), "why": why})
        return json.dumps(out)[:3900]

    def _clustered(self, solution: Callable[..., Any], observed: list[Call]) -> Record:
        names = ["solution"]
        candidates: list[Callable[..., Any] | None] = [solution]
        for i, source in enumerate(self.alternatives[:MAX_CANDIDATES]):
            try:
                candidates.append(load(source, self.probe.entry_point, self.probe.limit,
                                       f"alternative_{i}"))
            except BaseException:  # an alternative that does not import is a cluster alone
                candidates.append(None)
            names.append(f"alternative {i}")
        inputs = Inputs(solution, self.probe.constants, cap=REFERENCE_CAP,
                        derived=DERIVED_INPUTS)
        rows: list[tuple[Call, list[Outcome | None]]] = []
        began = time.process_time()
        for origin, call in inputs.sourced(observed):
            if time.process_time() - began > DIFF_BUDGET + REFERENCE_CAP:
                break
            answers = [inputs.answer(call)] + [None if c is None else outcome(c, call)
                                               for c in candidates[1:]]
            failing = sum(1 for a in answers if a is None or a[0] != "ok")
            if origin != TESTS and failing * 2 > len(answers):
                continue  # most candidates refuse it: out of domain
            rows.append((call, answers))
        clusters: list[list[int]] = []
        for i in range(len(candidates)):
            home = next((c for c in clusters if self._alike(rows, c[0], i)), None)
            if home is None:
                clusters.append([i])
            else:
                home.append(i)
        sizes = [len(c) for c in clusters]
        mine = next(c for c in clusters if 0 in c)
        for call, answers in rows:  # inputs on which the solution's cluster is outvoted
            if any(self._split(answers, 0, c[0]) for c in clusters if c is not mine):
                self.noted.append(("alternatives", call))
        report = {"verdict": "clustered", "clusters": json.dumps(sizes),
                  "in_largest": str(len(mine) == max(sizes)).lower(),
                  "members": json.dumps([[names[i] for i in c] for c in clusters])[:1000],
                  "augment": self._augment(inputs)}
        return _done(report, len(rows))

    def _split(self, answers: list[Outcome | None], i: int, j: int) -> bool:
        a, b = answers[i], answers[j]
        if a is None or b is None:
            return a is not b
        return self.judge(a, b) == DIFFERENT

    def _alike(self, rows: list[tuple[Call, list[Outcome | None]]], i: int, j: int) -> bool:
        return not any(self._split(answers, i, j) for _, answers in rows)


def _ascii_only(calls: list[Call]) -> bool:
    """Every string in the calls' arguments (one level into containers) is ASCII."""
    def texts(value: Any) -> list[str]:
        if type(value) is str:
            return [value]
        if type(value) in (list, tuple):
            return [v for v in value if type(v) is str]
        return []
    return all(t.isascii() for args, kwargs in calls
               for arg in (*args, *kwargs.values()) for t in texts(arg))


def _done(report: Record, compared: int) -> Record:
    return {"ran": 0, "search": [{k: str(v) for k, v in report.items()}, compared]}
