"""A kept case as a canonical sample, with its provenance in `meta`."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from harness.generate.candidates import Case
from harness.generate.context import Context
from harness.generate.prompts import TEMPLATES
from harness.generate.select import Choice
from harness.records import Sample


def _template(name: str) -> dict[str, str]:
    return {"name": name, "hash": TEMPLATES[name].digest}


def kept_sample(ctx: Context, case: Case, choice: Choice) -> Sample:
    """The chosen (solution, tests) pair, id'd by a hash of its content."""
    p, cfg = case.problem, ctx.config
    solution, tests = case.solutions[choice.solution], case.tests[choice.tests]
    body = Sample(id="", prompt=p.text.prompt, solution=solution.code, tests=tests.code,
                  entry_point=p.text.entry_point)
    digest = hashlib.sha256((p.text.prompt + "\0" + body.digest()).encode()).hexdigest()
    meta: dict[str, Any] = {
        "source": "harness generate",
        "sample_id": digest,
        "round": p.round,
        "problem_id": p.id,
        "parents": p.parents,
        "evolved": p.evolved,
        "model": cfg.model,
        "endpoint": ctx.client.host,
        "templates": {"problem": _template(p.reply.template),
                      "solution": _template(solution.reply.template),
                      "tests": _template(tests.reply.template)},
        "responses": {"problem": p.reply.provenance(),
                      "solution": solution.reply.provenance(),
                      "tests": tests.reply.provenance()},
        "attempt": case.attempt,
        "repairs": case.history,
        "difficulty": choice.pass_rate,
        "candidates": case.requested,
        "clusters": choice.clusters,
        "cluster_size": choice.cluster_size,
        "mutation_score": choice.mutation_score,
        "image_id": ctx.image_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return Sample(id=f"gen-{digest[:16]}", prompt=body.prompt, solution=body.solution,
                  tests=body.tests, entry_point=body.entry_point, meta=meta)
