"""Stages (b), (c) and (d): n candidate solutions, test modules asked for separately
(from the problem statement alone, so they are not written to fit one solution's bugs),
and the parsing of both, each failure counted under its reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
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


async def _ask(ctx: Context, case: Case, template: Any, stage: str, seed_kind: str,
               index: int, temperature: float) -> Reply:
    """One request for a problem's solution or tests (asked from the problem alone)."""
    cfg, p = ctx.config, case.problem
    reply = await ctx.client.complete(
        template, {"problem": p.text.prompt, "entry_point": p.text.entry_point},
        stage=stage, seed=derived_seed(cfg.seed, seed_kind, p.id, index),
        temperature=temperature, top_p=cfg.sampling.top_p)
    ctx.progress.advance(f"round {p.round} {stage}")
    return reply


async def ask_solution(ctx: Context, case: Case, i: int) -> Reply:
    return await _ask(ctx, case, SOLUTION, "solutions", "solution", i,
                      ctx.config.sampling.solution)


async def ask_tests(ctx: Context, case: Case, j: int) -> Reply:
    return await _ask(ctx, case, TESTS, "tests", "tests", j, ctx.config.sampling.tests)


async def case_for(ctx: Context, problem: Problem) -> Case:
    """Ask one problem's solutions and tests at once; its parsed case."""
    cfg = ctx.config
    case = Case(problem=problem, requested=cfg.solutions)
    ctx.progress.add(f"round {problem.round} solutions", cfg.solutions)
    ctx.progress.add(f"round {problem.round} tests", cfg.tests)
    replies = await asyncio.gather(*[ask_solution(ctx, case, i) for i in range(cfg.solutions)],
                                   *[ask_tests(ctx, case, j) for j in range(cfg.tests)])
    entry = problem.text.entry_point
    for i, reply in enumerate(replies[:cfg.solutions]):
        parsed = parse_solution(reply.text, entry)
        if accept(ctx, case, "solutions", reply, parsed, f"{problem.id}-s{i}"):
            case.solutions.append(Piece(i, parsed.code, reply))
    for j, reply in enumerate(replies[cfg.solutions:]):
        parsed = parse_tests(reply.text, entry)
        if accept(ctx, case, "tests", reply, parsed, f"{problem.id}-t{j}"):
            case.tests.append(Piece(j, parsed.code, reply))
    return case


async def gather_candidates(ctx: Context, problems: Iterable[Problem]
                            | AsyncIterator[Problem]) -> list[Case]:
    """Every problem's case, in order; a problem's requests start as soon as it is in."""
    tasks = []
    if isinstance(problems, AsyncIterator):
        async for problem in problems:
            tasks.append(asyncio.create_task(case_for(ctx, problem)))
    else:
        tasks = [asyncio.create_task(case_for(ctx, p)) for p in problems]
    return [await t for t in tasks]
