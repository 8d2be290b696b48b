"""Stage (f): a rejected case goes back to the model with the sandbox's evidence.

What is repaired follows from the evidence: when the best pair passes but its tests are
weak or trivial, only the tests are regenerated (the solution is fine; the tests are
what failed the probes); otherwise the candidate of the largest cluster that came
closest is repaired with its failing test, mypy message or crash. A case with no
parsable candidate or test module is asked again, with the parse failure as evidence.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.generate.candidates import Case, Piece, accept
from harness.generate.context import Context, derived_seed
from harness.generate.evidence import describe, weak_tests
from harness.generate.parsing import parse_solution, parse_tests
from harness.generate.prompts import REPAIR_SOLUTION, REPAIR_TESTS, SOLUTION, TESTS
from harness.generate.select import Matrix, clusters_of


@dataclass(frozen=True)
class Plan:
    """What to ask for: new tests (replacing module `target`) or a new solution."""

    kind: str  # "tests" or "solution"
    target: int | None  # index into case.tests / case.solutions; None: add one
    evidence: str
    reason: str


def plan(case: Case, grid: Matrix | None) -> Plan:
    """The repair the evidence calls for."""
    if not case.solutions:
        return Plan("solution", None, "- no reply contained a parsable solution defining "
                    f"`{case.problem.text.entry_point}`", "no_candidates")
    if not case.tests or grid is None:
        return Plan("tests", None, "- no reply contained a parsable pytest module with "
                    "test_* functions", "no_candidates")
    groups = clusters_of(grid)
    for members in groups:  # tests that pass but are weak: regenerate only the tests
        for i in members:
            for j in range(len(case.tests)):
                verdict = grid.verdicts[i][j]
                if weak_tests(verdict):
                    return Plan("tests", j, describe(verdict), verdict.reasons[0])
    best: tuple[int, int, int] | None = None  # (failures, i, j), over the largest cluster
    for i in groups[0]:
        for j in range(len(case.tests)):
            verdict = grid.verdicts[i][j]
            failed = len(verdict.checks.get("tests", {}).get("not_passed", [])) or 99
            if not grid.passes(i, j):
                failed += 100  # a pair that runs green but fails mypy is closer
            if best is None or (failed, i, j) < best:
                best = (failed, i, j)
    assert best is not None
    _, i, j = best
    verdict = grid.verdicts[i][j]
    return Plan("solution", i, describe(verdict), verdict.reasons[0] if verdict.reasons
                else "test_failed")


async def repair(ctx: Context, case: Case, grid: Matrix | None) -> None:
    """One repair attempt on `case`, recorded in its history (the case changes in place)."""
    cfg, p = ctx.config, case.problem
    case.attempt += 1
    step = plan(case, grid)
    values = {"problem": p.text.prompt, "entry_point": p.text.entry_point,
              "evidence": step.evidence}
    seed = derived_seed(cfg.seed, "repair", p.id, case.attempt)
    if step.kind == "tests":
        template = REPAIR_TESTS if step.target is not None else TESTS
        if step.target is not None:
            values["tests"] = case.tests[step.target].code
    else:
        template = REPAIR_SOLUTION if step.target is not None else SOLUTION
        if step.target is not None:
            values["solution"] = case.solutions[step.target].code
    reply = await ctx.client.complete(template, values, stage="repair", seed=seed,
                                      temperature=cfg.sampling.repair,
                                      top_p=cfg.sampling.top_p)
    ctx.progress.advance(f"round {p.round} repair")
    entry = p.text.entry_point
    parsed = parse_tests(reply.text, entry) if step.kind == "tests" \
        else parse_solution(reply.text, entry)
    ok = accept(ctx, case, "repair", reply, parsed, f"{p.id}-repair{case.attempt}")
    case.history.append({"attempt": case.attempt, "kind": step.kind, "reason": step.reason,
                         "template": template.name, "evidence": step.evidence[:1500],
                         "response_id": reply.response_id, "parsed": ok})
    if not ok:
        return
    pieces = case.tests if step.kind == "tests" else case.solutions
    piece = Piece(index=step.target if step.target is not None else len(pieces),
                  code=parsed.code, reply=reply, origin=f"repair-{case.attempt}")
    if step.target is None:
        pieces.append(piece)
    else:
        pieces[step.target] = piece


async def repair_all(ctx: Context, cases: list[Case], grids: list[Matrix | None]) -> None:
    if cases:
        ctx.progress.add(f"round {cases[0].problem.round} repair", len(cases))
    await asyncio.gather(*(repair(ctx, c, g) for c, g in zip(cases, grids, strict=True)))
