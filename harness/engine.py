"""The engine: drives a list of stages over a stream of records, verdicts out in order.

It owns everything the stages do not know about: concurrency, input order, batching and
the result store. Records are taken in chunks. In the reading thread, in input order,
each sample goes through the filters (which may remember earlier samples), then the
store (a verdict found there is done), then the local checks (syntax). The batch checks
(mypy) get one call per chunk, while each sample's sandboxed checks (pytest) run on the
warm pool; two chunks are in flight at once, so neither kind of work waits for the
other. When a sample's checks are all in and none rejected it, the probe stages run.
Finished verdicts go to the store before they are handed out, so a run killed at any
point resumes without redoing them; filters' verdicts are never stored (a filter may
depend on the samples before it, and a resumed run decides them again in order).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from harness.records import InvalidRecord, Sample, Verdict
from harness.stage import BatchCheck, Check, Filter, Outcome, ProbeStage, Stage

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool
    from harness.store import Store

Record = Sample | InvalidRecord


@dataclass
class Done:
    """One finished input record."""

    verdict: Verdict
    record: Record
    cached: bool = False


@dataclass
class _Item:
    record: Record
    verdict: Verdict
    key: str | None = None
    decided: bool = False  # by the input, a filter, the store or a local check
    cached: bool = False
    future: Future[Verdict] | None = None
    index: int = -1  # its place in the chunk's batch calls
    outcomes: dict[str, Outcome] = field(default_factory=dict)


class Engine:
    """Runs filters, checks and probe stages on records with one pool and one store.

    `key` maps a sample to its store key (None: no store). `threads` bounds the samples
    in flight in the sandbox; the pool's own queue decides which slot runs them.
    """

    def __init__(self, *, filters: Sequence[Filter] = (),
                 checks: Sequence[Check | BatchCheck] = (),
                 probes: Sequence[ProbeStage] = (), pool: Pool | None = None,
                 store: Store | None = None, key: Callable[[Sample], str] | None = None,
                 batch: int = 64, threads: int = 4) -> None:
        self.filters = list(filters)
        self.local = [c for c in checks if isinstance(c, Check) and not c.sandboxed]
        self.sandboxed = [c for c in checks if isinstance(c, Check) and c.sandboxed]
        self.batched = [c for c in checks if isinstance(c, BatchCheck)]
        self.checks = list(checks)  # in the order their facts and reasons appear
        self.probes = list(probes)
        self.pool = pool
        self.store = store if key is not None else None
        self.key = key
        self.batch = batch
        self._executor = ThreadPoolExecutor(max_workers=threads + 2,
                                            thread_name_prefix="engine")

    @property
    def stages(self) -> list[Stage]:
        return [*self.filters, *self.checks, *self.probes]

    def stage_seconds(self) -> dict[str, float]:
        return {stage.name: stage.stats.seconds for stage in self.stages}

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def run(self, records: Iterable[Record]) -> Iterator[Done]:
        """Yield one `Done` per input record, in input order."""
        for stage in self.filters:
            stage.begin()
        it = iter(records)
        window: deque[list[_Item]] = deque()
        while chunk := list(islice(it, self.batch)):
            window.append(self._submit(chunk))
            while len(window) > 2:
                yield from self._finish(window.popleft())
        while window:
            yield from self._finish(window.popleft())

    # ------------------------------------------------------------ in the reading thread

    def _submit(self, chunk: list[Record]) -> list[_Item]:
        items = [self._admit(record) for record in chunk]
        keys = [item.key for item in items if item.key and not item.decided]
        stored = self.store.get_many(keys) if self.store is not None and keys else {}
        to_run: list[_Item] = []
        for item in items:
            if item.decided:
                continue
            if item.key in stored:
                cached = Verdict.from_json(stored[item.key])
                cached.checks = {**item.verdict.checks, **cached.checks}
                item.verdict, item.cached, item.decided = cached, True, True
            elif self._local_checks(item):
                to_run.append(item)
            else:
                item.decided = True
        samples = [item.record for item in to_run if isinstance(item.record, Sample)]
        # Submitted before the samples, so they are never starved by samples waiting on them.
        batches = [self._executor.submit(check.run_batch, samples, self.pool)
                   for check in self.batched] if samples else []
        for index, item in enumerate(to_run):
            item.index = index
            item.future = Future()
            self._executor.submit(self._check_sample, item, batches)
        return items

    def _admit(self, record: Record) -> _Item:
        """A record through the filters, which may decide it."""
        if isinstance(record, InvalidRecord):
            verdict = Verdict(id=record.id)
            verdict.reject("invalid_sample")
            verdict.checks["input"] = {"line": record.line, "error": record.error}
            return _Item(record, verdict, decided=True)
        item = _Item(record, Verdict(id=record.id))
        for stage in self.filters:
            outcome = stage.run(record)
            stage.record(item.verdict, outcome)
            if outcome.reasons:
                item.decided = True
                return item
        item.key = self.key(record) if self.key is not None else ""
        return item

    def _local_checks(self, item: _Item) -> bool:
        """The in-process checks; False when one of them rejected the sample."""
        assert isinstance(item.record, Sample)
        for check in self.local:
            outcome = check.run(item.record, None)
            check.record(item.verdict, outcome)
            if outcome.reasons and check.gate:
                return False
        return True

    # ------------------------------------------------------------ in the engine's threads

    def _check_sample(self, item: _Item, batches: list[Future[list[Outcome]]]) -> None:
        """The sample's sandboxed checks, then (once the batch checks are in) the rest.

        No thread waits for a batch call: what needs it goes on when it is in, so the
        threads keep the sandbox slots busy meanwhile.
        """
        assert item.future is not None and isinstance(item.record, Sample)
        try:
            for check in self.sandboxed:
                item.outcomes[check.name] = check.run(item.record, self.pool)
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        pending = [b for b in batches if not b.done()]
        if not pending:
            self._conclude(item, batches)
            return
        remaining = [len(pending)]
        lock = threading.Lock()

        def one_done(_: Future[list[Outcome]]) -> None:
            with lock:  # callbacks of distinct batch calls may race: the last one goes on
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                self._executor.submit(self._conclude, item, batches)

        for b in pending:
            b.add_done_callback(one_done)

    def _conclude(self, item: _Item, batches: list[Future[list[Outcome]]]) -> None:
        """Join every check's outcome in stage order; probe if none rejected; store."""
        assert item.future is not None and isinstance(item.record, Sample)
        try:
            for batched, batch in zip(self.batched, batches, strict=True):
                item.outcomes[batched.name] = batch.result()[item.index]
            for check in self.checks:
                if check.name in item.outcomes:
                    check.record(item.verdict, item.outcomes[check.name])
            if not item.verdict.reasons:
                for stage in self.probes:
                    outcome = stage.run(item.record, self.pool)
                    item.outcomes[stage.name] = outcome
                    stage.record(item.verdict, outcome)
            cacheable = all(o.cacheable for o in item.outcomes.values())
            if self.store is not None and item.key and cacheable:
                self.store.put(item.key, item.verdict.to_json())
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        item.future.set_result(item.verdict)

    # ------------------------------------------------------------ back in the reading thread

    def _finish(self, items: list[_Item]) -> Iterator[Done]:
        for item in items:
            if item.future is not None:
                item.verdict = item.future.result()
            yield Done(item.verdict, item.record, item.cached)


def describe(stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """The stages of a run, for its record: name, kind, reasons, counts and time."""
    return [{"name": s.name, "kind": type(s).__mro__[1].__name__.lower(),
             "reasons": list(s.reasons), **s.stats.to_json()} for s in stages]
