"""Stage (a): new problems from k pool examples, with a floor of real seeds per prompt.

A proposal is dropped when the request failed, the reply was cut off
(`finish_reason == "length"`), it names no signature, its statement is too short or too
long, or it is too similar (ROUGE-L, `similarity.py`) to the pool or to a problem
already proposed in this run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from harness.generate.client import Reply
from harness.generate.context import Context, Problem, derived_seed
from harness.generate.parsing import ProblemText, parse_problem
from harness.generate.prompts import PROBLEM
from harness.generate.similarity import SimilarityIndex, tokens


@dataclass(frozen=True)
class PoolItem:
    """A problem of the pool: a real seed or a synthetic sample kept in an earlier round."""

    id: str
    prompt: str
    origin: str  # "real" or "synthetic"
    entry_point: str = ""


def pick_examples(pool: list[PoolItem], k: int, min_real: int,
                  rng: random.Random) -> list[PoolItem]:
    """k distinct pool items, at least `min_real` of them real seeds (when the pool has
    them), in a shuffled order so the seeds are not always first."""
    real = [p for p in pool if p.origin == "real"]
    chosen = rng.sample(real, min(min_real, len(real), k))
    rest = [p for p in pool if p not in chosen]
    chosen += rng.sample(rest, min(k - len(chosen), len(rest)))
    rng.shuffle(chosen)
    return chosen


def render_examples(examples: list[PoolItem]) -> str:
    return "\n\n".join(f"Example {i}:\n{e.prompt.strip()}" for i, e in enumerate(examples, 1))


def check_problem(ctx: Context, round_no: int, stage: str, reply: Reply,
                  index: SimilarityIndex, item_id: str,
                  extra: Callable[[ProblemText], tuple[str, str]] | None = None,
                  ) -> ProblemText | None:
    """The parsed problem of a reply, or None after counting why it was dropped."""
    cfg = ctx.config
    reason, detail = "", ""
    parsed: ProblemText | str = "empty_reply"
    if reply.error is not None:
        reason, detail = "request_failed", reply.error
    elif reply.finish_reason == "length":
        reason, detail = "truncated", "finish_reason length"
    else:
        parsed = parse_problem(reply.text)
        if isinstance(parsed, str):
            reason = parsed
        else:
            words = len(tokens(parsed.statement))
            if words < cfg.min_words:
                reason, detail = "too_short", f"{words} words (minimum {cfg.min_words})"
            elif words > cfg.max_words:
                reason, detail = "too_long", f"{words} words (maximum {cfg.max_words})"
            elif extra is not None and extra(parsed)[0]:
                reason, detail = extra(parsed)
            else:
                score, near = index.nearest(parsed.statement)
                if score >= cfg.similarity:
                    reason = "too_similar"
                    detail = f"ROUGE-L {score:.2f} to {near} (threshold {cfg.similarity})"
    if reason:
        ctx.reject(round_no, stage, reason, item_id=item_id, detail=detail,
                   reply=reply.text[:1500], response=reply.provenance())
        return None
    assert isinstance(parsed, ProblemText)
    ctx.funnel.passed(round_no, stage)
    return parsed


async def propose(ctx: Context, round_no: int, pool: list[PoolItem],
                  index: SimilarityIndex) -> AsyncIterator[Problem]:
    """Ask for `config.problems` new problems; yield those that pass the filters, in
    request order (so the similarity filter decides the same way on every run), each as
    soon as it and the ones before it are in, for the next stage to start on."""
    cfg = ctx.config
    plans = []
    for i in range(cfg.problems):
        rng = random.Random(derived_seed(cfg.seed, "examples", round_no, i))
        plans.append(pick_examples(pool, cfg.examples, cfg.min_real, rng))
    ctx.progress.add(f"round {round_no} problems", len(plans))

    async def ask(i: int, examples: list[PoolItem]) -> Reply:
        reply = await ctx.client.complete(
            PROBLEM, {"examples": render_examples(examples)}, stage="problems",
            seed=derived_seed(cfg.seed, "problem", round_no, i),
            temperature=cfg.sampling.problem, top_p=cfg.sampling.top_p)
        ctx.progress.advance(f"round {round_no} problems")
        return reply

    tasks = [asyncio.create_task(ask(i, ex)) for i, ex in enumerate(plans)]
    try:
        for i, (task, examples) in enumerate(zip(tasks, plans, strict=True)):
            reply = await task
            parsed = check_problem(ctx, round_no, "problems", reply, index,
                                   f"r{round_no}-p{i}")
            if parsed is None:
                continue
            problem = Problem(text=parsed, round=round_no, reply=reply,
                              parents=[{"id": e.id, "origin": e.origin} for e in examples])
            index.add(problem.id, parsed.statement)
            yield problem
    finally:
        for task in tasks:
            task.cancel()
