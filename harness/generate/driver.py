"""A whole `generate` run: rounds that accumulate, each through stages (a) to (g).

Every round's pool is the real seeds plus everything kept so far, never the synthetic
samples alone. Every request is determined by the run's seed and its place in the run,
and every reply and verdict is stored, so re-running the same command replays the run
from the store (no request, no sandbox run) and continues where it stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.generate.cache import ResponseCache
from harness.generate.candidates import Case, gather_candidates
from harness.generate.client import LLMClient
from harness.generate.config import GenerateConfig
from harness.generate.context import Context, JsonlOut
from harness.generate.diversity import PoolEntry, measure, warnings
from harness.generate.evolve import evolve
from harness.generate.funnel import Funnel
from harness.generate.manifest import Manifest
from harness.generate.problems import PoolItem, propose
from harness.generate.progress import Progress
from harness.generate.prompts import TEMPLATES
from harness.generate.provenance import kept_sample
from harness.generate.repair import plan, repair_all
from harness.generate.seeds import load_seeds
from harness.generate.select import Choice, Matrix, Verifier, choose, verify_cases
from harness.generate.session_hook import kept_dedup
from harness.generate.similarity import SimilarityIndex
from harness.records import Sample, Verdict
from harness.stage import Filter


@dataclass
class RunState:
    pool: list[PoolItem]
    entries: list[PoolEntry]
    index: SimilarityIndex
    kept: list[Sample] = field(default_factory=list)
    # Kept samples repeating an earlier kept one are dropped (`duplicate`), across rounds.
    dedup: Filter = field(default_factory=kept_dedup)


class TimedVerifier:
    """Counts the wall time spent verifying (the manifest separates it from ours)."""

    def __init__(self, inner: Verifier) -> None:
        self.inner = inner
        self.seconds = 0.0

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]:
        started = time.perf_counter()
        try:
            yield from self.inner.verify(samples)
        finally:
            self.seconds += time.perf_counter() - started


async def settle(ctx: Context, verifier: TimedVerifier, cases: list[Case],
                 round_no: int) -> list[tuple[Case, Choice, Matrix]]:
    """Verify, select, repair up to `max_repairs` times; the cases kept and their choice."""
    cfg = ctx.config
    kept: list[tuple[Case, Choice, Matrix]] = []
    pending = [c for c in cases]
    for attempt in range(cfg.max_repairs + 1):
        ctx.progress.add(f"round {round_no} verify",
                         sum(len(c.solutions) * len(c.tests) for c in pending))
        grids = await asyncio.to_thread(verify_cases, _Counting(ctx, verifier, round_no),
                                        pending)
        failed: list[tuple[Case, Matrix | None]] = []
        for case, grid in zip(pending, grids, strict=True):
            choice = choose(case, grid) if grid is not None else None
            if choice is not None and grid is not None:
                kept.append((case, choice, grid))
                ctx.funnel.passed(round_no, "select")
            else:
                failed.append((case, grid))
        if not failed:
            break
        if attempt == cfg.max_repairs:
            for case, grid in failed:
                _final_reject(ctx, case, grid)
            break
        await repair_all(ctx, [c for c, _ in failed], [g for _, g in failed])
        pending = [c for c, _ in failed]
    return kept


class _Counting:
    """Feeds each verdict to the funnel's verify stage and the progress bar."""

    def __init__(self, ctx: Context, inner: TimedVerifier, round_no: int) -> None:
        self.ctx, self.inner, self.round_no = ctx, inner, round_no

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]:
        for sample, verdict in self.inner.verify(samples):
            count = self.ctx.funnel.stage(self.round_no, "verify")
            count.seen += 1
            if verdict.reasons:
                count.dropped.update(verdict.reasons)
            else:
                count.passed += 1
            self.ctx.progress.advance(f"round {self.round_no} verify")
            yield sample, verdict


def _final_reject(ctx: Context, case: Case, grid: Matrix | None) -> None:
    p = case.problem
    step = plan(case, grid)
    reason = "no_candidates" if grid is None else "no_passing_cluster"
    ctx.reject(p.round, "select", reason, item_id=p.id, detail=step.evidence,
               closest=step.reason, prompt=p.text.prompt, entry_point=p.text.entry_point,
               attempts=case.attempt, repairs=case.history,
               solutions=[s.code for s in case.solutions], tests=[t.code for t in case.tests])


async def run_round(ctx: Context, verifier: TimedVerifier, state: RunState,
                    round_no: int) -> dict[str, Any]:
    """One round: propose, solve, test, verify, select, repair, evolve; add to the pool."""
    cfg = ctx.config
    problems = propose(ctx, round_no, state.pool, state.index)
    kept = await settle(ctx, verifier, await gather_candidates(ctx, problems), round_no)
    if cfg.evolve and kept:
        variants = await evolve(ctx, round_no, [c.problem for c, _, _ in kept], state.index)
        kept += await settle(ctx, verifier, await gather_candidates(ctx, variants), round_no)
    new_entries: list[PoolEntry] = []
    for case, choice, _grid in kept:
        sample = kept_sample(ctx, case, choice)
        duplicate = state.dedup.run(sample)
        if duplicate.reasons:
            facts = duplicate.facts.to_json() if duplicate.facts else {}
            ctx.reject(round_no, "dedup", "duplicate", item_id=sample.id,
                       detail=f"repeats kept sample {facts.get('of', '')}", facts=facts)
            continue
        state.kept.append(sample)
        state.pool.append(PoolItem(sample.id, sample.prompt, "synthetic", sample.entry_point
                                   or ""))
        entry = PoolEntry(prompt=sample.prompt, origin="synthetic",
                          entry_point=sample.entry_point or "", solution=sample.solution,
                          difficulty=choice.pass_rate, round=round_no)
        state.entries.append(entry)
        new_entries.append(entry)
    return measure(state.entries, new_entries)


async def _run(cfg: GenerateConfig, outdir: Path, verifier: TimedVerifier, image_id: str,
               versions: dict[str, str], store_path: Path, console: Console | None,
               show_progress: bool, manifest: Manifest, api_key: str) -> Manifest:
    seeds = load_seeds(cfg.seeds_path)
    state = RunState(pool=[PoolItem(s.id, s.prompt, "real", s.entry_point or "")
                           for s in seeds],
                     entries=[PoolEntry(prompt=s.prompt, origin="real",
                                        entry_point=s.entry_point or "",
                                        solution=s.solution) for s in seeds],
                     index=SimilarityIndex())
    for s in seeds:
        state.index.add(s.id, s.prompt)
    manifest.seeds(cfg.seeds_path, len(seeds))
    rejected = JsonlOut(outdir / "rejected.jsonl")
    kept_out = JsonlOut(outdir / "kept.jsonl")
    with ResponseCache(store_path) as cache, Progress(console, show_progress) as progress:
        client = LLMClient(model=cfg.model, base_url=cfg.base_url, api_key=api_key,
                           cache=cache, concurrency=cfg.concurrency, timeout=cfg.timeout,
                           max_retries=cfg.max_retries, max_tokens=cfg.max_tokens)
        ctx = Context(config=cfg, client=client, funnel=Funnel(), rejected=rejected,
                      progress=progress, image_id=image_id)
        manifest.bind(ctx, verifier, versions)
        previous: dict[str, Any] | None = None
        try:
            for round_no in range(1, cfg.rounds + 1):
                before = len(state.kept)
                figures = await run_round(ctx, verifier, state, round_no)
                alarms = warnings(previous, figures)
                for alarm in alarms:
                    if console is not None:
                        console.print(f"[yellow]warning:[/] round {round_no}: diversity "
                                      f"falling: {alarm}")
                manifest.round(round_no, len(state.kept) - before, figures, alarms)
                previous = figures
                manifest.write(outdir, complete=False)
        except BaseException:
            rejected.abort()
            kept_out.abort()
            await client.close()
            raise
        await client.close()
    for sample in state.kept:
        kept_out.write(sample.to_json())
    kept_out.commit()
    rejected.commit()
    manifest.write(outdir, complete=True)
    return manifest


def generate(cfg: GenerateConfig, outdir: str | Path, *, api_key: str,
             store_path: str | Path | None = None, image: str | None = None,
             console: Console | None = None, progress: bool = False,
             verifier: Verifier | None = None) -> Manifest:
    """Run `cfg` into `outdir` (kept.jsonl, rejected.jsonl, manifest.json); the manifest.

    Verification goes through `harness.session.Session` (the engine of `harness verify`,
    probes on) unless a `verifier` is given (the throughput bench's stand-in)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    store = Path(store_path) if store_path else out / "store.sqlite"
    manifest = Manifest(cfg, templates=TEMPLATES)
    with ExitStack() as stack:
        image_id, versions = "", {}
        if verifier is None:
            from harness.generate.session_hook import open_session

            opened = time.perf_counter()
            session = stack.enter_context(open_session(cfg, store, image, manifest))
            image_id, versions, verifier = session.image_id, session.versions, session
            manifest.setup_s = time.perf_counter() - opened
        return asyncio.run(_run(cfg, out, TimedVerifier(verifier), image_id, versions, store,
                                console, progress, manifest, api_key))
