"""Stages (b), (c) and (d): n candidate solutions, test modules asked for separately
(from the problem statement alone, so they are not written to fit one solution's bugs),
and the parsing of both, each failure counted under its reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from harness.generate.client import Reply
from harness.generate.context import Context, Problem, derived_seed
from harness.generate.parsing import Parsed, parse_solution, parse_tests
from harness.generate.prompts import SOLUTION, TESTS


@dataclass
class Piece:
    """A parsed candidate solution or test module, with the reply it came from."""

    index: int
    code: str
    reply: Reply
    origin: str = "sampled"  # or "repair-N"


@dataclass
class Case:
    """One problem on its way through verification: its candidates and test modules."""

    problem: Problem
    solutions: list[Piece] = field(default_factory=list)
    tests: list[Piece] = field(default_factory=list)
    requested: int = 0  # candidate solutions asked for (the difficulty's denominator)
    attempt: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def accept(ctx: Context, case: Case, stage: str, reply: Reply, parsed: Parsed,
           item_id: str) -> bool:
    """Count one parsed (or failed) reply of `stage`; True when it yielded code."""
    round_no = case.problem.round
    reason = ""
    if reply.error is not None:
        reason = "request_failed"
    elif reply.finish_reason == "length":
        reason = "truncated"  # cut-off code is not worth running, even when it parses
    elif not parsed.ok:
        reason = parsed.reason
    if reason:
        ctx.reject(round_no, stage, reason, item_id=item_id, problem=case.problem.id,
                   detail=reply.error or "", reply=reply.text[:1500],
                   response=reply.provenance())
        return False
    ctx.funnel.passed(round_no, stage)
    return True


async def ask_solution(ctx: Context, case: Case, i: int) -> Reply:
    cfg, p = ctx.config, case.problem
    reply = await ctx.client.complete(
        SOLUTION, {"problem": p.text.prompt, "entry_point": p.text.entry_point},
        stage="solutions", seed=derived_seed(cfg.seed, "solution", p.id, i),
        temperature=cfg.sampling.solution, top_p=cfg.sampling.top_p)
    ctx.progress.advance(f"round {p.round} solutions")
    return reply


async def ask_tests(ctx: Context, case: Case, j: int) -> Reply:
    cfg, p = ctx.config, case.problem
    reply = await ctx.client.complete(
        TESTS, {"problem": p.text.prompt, "entry_point": p.text.entry_point},
        stage="tests", seed=derived_seed(cfg.seed, "tests", p.id, j),
        temperature=cfg.sampling.tests, top_p=cfg.sampling.top_p)
    ctx.progress.advance(f"round {p.round} tests")
    return reply


async def gather_candidates(ctx: Context, problems: list[Problem]) -> list[Case]:
    """Ask every problem's solutions and tests at once; the parsed cases, in order."""
    cfg = ctx.config
    cases = [Case(problem=p, requested=cfg.solutions) for p in problems]
    if not cases:
        return cases
    round_no = problems[0].round
    ctx.progress.add(f"round {round_no} solutions", cfg.solutions * len(cases))
    ctx.progress.add(f"round {round_no} tests", cfg.tests * len(cases))
    jobs = []
    for case in cases:
        jobs += [ask_solution(ctx, case, i) for i in range(cfg.solutions)]
        jobs += [ask_tests(ctx, case, j) for j in range(cfg.tests)]
    replies = iter(await asyncio.gather(*jobs))
    for case in cases:
        entry = case.problem.text.entry_point
        for i in range(cfg.solutions):
            reply = next(replies)
            parsed = parse_solution(reply.text, entry)
            if accept(ctx, case, "solutions", reply, parsed, f"{case.problem.id}-s{i}"):
                case.solutions.append(Piece(i, parsed.code, reply))
        for j in range(cfg.tests):
            reply = next(replies)
            parsed = parse_tests(reply.text, entry)
            if accept(ctx, case, "tests", reply, parsed, f"{case.problem.id}-t{j}"):
                case.tests.append(Piece(j, parsed.code, reply))
    return cases
