"""Stage (g): kept problems rewritten into harder variants (WizardCoder's Evol-Instruct).

Each kept problem gets one of the five methods (rotating by its id, so a run is
reproducible and the methods are spread evenly). A variant is eliminated, as in
WizardLM, when it is a refusal, copies the instruction's words ("given problem",
"#Rewritten Prompt#"), or brings no information gain: a statement no longer than its
parent's, or nearly the same text (ROUGE-L to the parent >= `SAME_AS_PARENT`). Then the
usual problem filters apply (signature, length, cut-off, similarity to the rest of the
pool) and the survivors are verified like any new problem.
"""

from __future__ import annotations

import asyncio
import re

from harness.generate.client import Reply
from harness.generate.context import Context, Problem, derived_seed
from harness.generate.parsing import ProblemText
from harness.generate.problems import check_problem
from harness.generate.prompts import EVOLVE, EVOLVE_METHODS
from harness.generate.similarity import SimilarityIndex, rouge_l, tokens

SAME_AS_PARENT = 0.9  # an evolution that keeps 90% of its parent's words in order adds ~nothing
_REFUSAL = re.compile(r"\b(I'?m sorry|I cannot|I can'?t|as an AI|I am unable|I'm unable)\b",
                      re.I)
_COPIED = re.compile(r"#?\s*(given|rewritten)\s+(prompt|problem)\s*#?|#Given|#Rewritten",
                     re.I)


def method_for(problem_id: str) -> str:
    names = list(EVOLVE_METHODS)
    return names[int(problem_id[-6:], 16) % len(names)]


def eliminated(parent: Problem, child_statement: str, reply_text: str) -> tuple[str, str]:
    """(reason, detail) when the evolution failed WizardLM's elimination rules, else ("", "")."""
    if _REFUSAL.search(reply_text):
        return "refusal", "the reply refuses"
    if _COPIED.search(child_statement):
        return "copied_prompt", "the statement copies the instruction's words"
    parent_toks, child_toks = tokens(parent.text.statement), tokens(child_statement)
    if len(child_toks) <= len(parent_toks):
        return "no_information_gain", (f"{len(child_toks)} words, parent has "
                                       f"{len(parent_toks)}")
    score = rouge_l(parent_toks, child_toks)
    if score >= SAME_AS_PARENT:
        return "no_information_gain", f"ROUGE-L {score:.2f} to its parent"
    return "", ""


async def evolve(ctx: Context, round_no: int, kept: list[Problem],
                 index: SimilarityIndex) -> list[Problem]:
    """One harder variant per kept problem; those that survive elimination."""
    cfg = ctx.config
    ctx.progress.add(f"round {round_no} evolve", len(kept))

    async def ask(parent: Problem) -> tuple[Problem, str, Reply]:
        method = method_for(parent.id)
        reply = await ctx.client.complete(
            EVOLVE, {"problem": parent.text.prompt, "method": EVOLVE_METHODS[method]},
            stage="evolve", seed=derived_seed(cfg.seed, "evolve", parent.id),
            temperature=cfg.sampling.problem, top_p=cfg.sampling.top_p)
        ctx.progress.advance(f"round {round_no} evolve")
        return parent, method, reply

    out: list[Problem] = []
    for parent, method, reply in await asyncio.gather(*(ask(p) for p in kept)):
        item_id = f"{parent.id}-evolved"

        def rules(text: ProblemText, parent: Problem = parent, raw: str = reply.text,
                  ) -> tuple[str, str]:
            return eliminated(parent, text.statement, raw)

        parsed = check_problem(ctx, round_no, "evolve", reply, _without(index, parent),
                               item_id, extra=rules)
        if parsed is None:
            continue
        child = Problem(text=parsed, round=round_no, reply=reply,
                        parents=[{"id": parent.id, "origin": "synthetic"}],
                        evolved={"from": parent.id, "method": method})
        index.add(child.id, parsed.statement)
        out.append(child)
    return out


class _without(SimilarityIndex):
    """The pool index, blind to one parent: a variant is meant to resemble its parent
    (that is judged by `eliminated`), not the rest of the pool."""

    def __init__(self, base: SimilarityIndex, parent: Problem) -> None:
        self.__dict__.update(base.__dict__)
        self._skip = parent.id

    def nearest(self, text: str) -> tuple[float, str | None]:
        score, near = super().nearest(text)
        if near != self._skip:
            return score, near
        toks = tokens(text)
        best, best_id = 0.0, None
        for i, other in enumerate(self._tokens):
            if self._ids[i] != self._skip:
                s = rouge_l(toks, other)
                if s > best:
                    best, best_id = s, self._ids[i]
        return best, best_id
