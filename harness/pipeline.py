"""The verify pipeline: records in, verdicts out, in input order.

Records are taken in chunks: each chunk's solutions are type-checked by one mypy call
while its tests run sample by sample on the warm pool; two chunks are in flight at once
so neither kind of work waits for the other. Finished verdicts go to the store first,
so a run killed at any point resumes without redoing them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from harness.checks.syntax import check_syntax
from harness.checks.tests import run_tests
from harness.checks.typecheck import typecheck_batch
from harness.config import VerifyConfig
from harness.records import InvalidRecord, Sample, Verdict
from harness.sandbox.pool import Pool
from harness.store import Store, cache_key


@dataclass
class Done:
    """One finished input record."""

    verdict: Verdict
    record: Sample | InvalidRecord
    cached: bool = False


@dataclass
class _Pending:
    record: Sample | InvalidRecord
    key: str | None = None
    verdict: Verdict | None = None
    cached: bool = False
    future: Future[Verdict] | None = None
    index: int = -1  # its place in the chunk's mypy call


class Verifier:
    """Runs every check on a stream of records with one pool and one store."""

    def __init__(self, config: VerifyConfig, pool: Pool, store: Store | None,
                 image_id: str) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.image_id = image_id
        self.stage_seconds: dict[str, float] = {"syntax": 0.0, "types": 0.0, "tests": 0.0,
                                                "probes": 0.0}
        self._time_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=pool.size * pool.depth + 2,
                                            thread_name_prefix="verify")

    def _spent(self, stage: str, started: float) -> None:
        with self._time_lock:
            self.stage_seconds[stage] += time.perf_counter() - started

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def run(self, records: Iterable[Sample | InvalidRecord]) -> Iterator[Done]:
        """Yield one `Done` per input record, in input order."""
        it = iter(records)
        window: deque[list[_Pending]] = deque()
        while chunk := list(islice(it, self.config.batch)):
            window.append(self._submit(chunk))
            while len(window) > 2:
                yield from self._finish(window.popleft())
        while window:
            yield from self._finish(window.popleft())

    # ------------------------------------------------------------ submit

    def _submit(self, chunk: list[Sample | InvalidRecord]) -> list[_Pending]:
        items = [_Pending(record) for record in chunk]
        for item in items:
            if isinstance(item.record, Sample):
                item.key = self._key(item.record)
        keys = [item.key for item in items if item.key]
        stored = self.store.get_many(keys) if self.store is not None else {}
        to_run: list[_Pending] = []
        for item in items:
            record = item.record
            if isinstance(record, InvalidRecord):
                verdict = Verdict(id=record.id)
                verdict.reject("invalid_sample")
                verdict.checks["input"] = {"line": record.line, "error": record.error}
                item.verdict = verdict
            elif item.key in stored:
                item.verdict, item.cached = Verdict.from_json(stored[item.key]), True
            else:
                started = time.perf_counter()
                syntax = check_syntax(record)
                self._spent("syntax", started)
                if syntax["ok"]:
                    to_run.append(item)
                else:
                    item.verdict = Verdict(id=record.id, checks={"syntax": syntax})
                    item.verdict.reject("syntax_error")
        samples = [item.record for item in to_run if isinstance(item.record, Sample)]
        # Submitted before the samples, so it is never starved by samples waiting on it.
        types = (self._executor.submit(self._typecheck, samples)
                 if samples and self.config.typecheck else None)
        for index, item in enumerate(to_run):
            item.index = index
            item.future = Future()
            self._executor.submit(self._check_sample, item, types)
        return items

    def _key(self, sample: Sample) -> str:
        return str(cache_key(sample.digest(), self.config.identity(), self.image_id,
                             self.pool.versions))

    def _typecheck(self, samples: list[Sample]) -> list[dict[str, Any]]:
        started = time.perf_counter()
        try:
            return typecheck_batch(self.pool, samples, self.config.mypy_args,
                                   self.config.limits)
        finally:
            self._spent("types", started)

    def _check_sample(self, item: _Pending,
                      types: Future[list[dict[str, Any]]] | None) -> None:
        """Tests, then probes if they passed and the solution type-checks; the verdict is
        stored and handed to `item.future` as soon as it is complete.

        No thread waits for its chunk's mypy call: what needs the type facts (joining
        them, or deciding whether to probe) goes on when mypy is in, so the threads keep
        the sandbox slots busy meanwhile.
        """
        assert item.future is not None
        sample = item.record
        assert isinstance(sample, Sample)
        try:
            started = time.perf_counter()
            reasons, facts = run_tests(self.pool, sample, self.config.limits)
            self._spent("tests", started)
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        verdict = Verdict(id=sample.id, checks={"syntax": {"ok": True}, "tests": facts})
        for reason in reasons:
            verdict.reject(reason)
        probe = not reasons and bool(self.config.probes)
        if types is None and probe:
            self._probe(item, verdict, None)
        elif types is None:
            self._complete(item, verdict, None)
        elif probe:  # whether to probe depends on the type check: decided when it is in
            types.add_done_callback(
                lambda done: self._executor.submit(self._probe, item, verdict, done))
        else:
            types.add_done_callback(lambda done: self._complete(item, verdict, done))

    def _probe(self, item: _Pending, verdict: Verdict,
               types: Future[list[dict[str, Any]]] | None) -> None:
        """Probe a sample whose tests passed, unless mypy rejected it; then complete it."""
        assert item.future is not None and isinstance(item.record, Sample)
        try:
            if types is not None:
                _add_types(verdict, types.result()[item.index])
            if not verdict.reasons:
                from harness.probes.judge import probe_sample

                started = time.perf_counter()
                probe_reasons, probe_facts = probe_sample(self.pool, item.record, self.config)
                self._spent("probes", started)
                verdict.checks["probes"] = probe_facts
                for reason in probe_reasons:
                    verdict.reject(reason)
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        self._complete(item, verdict, None)

    def _complete(self, item: _Pending, verdict: Verdict,
                  types: Future[list[dict[str, Any]]] | None) -> None:
        """Join the type facts (when they came later), store, and hand the verdict over."""
        assert item.future is not None
        try:
            if types is not None:
                _add_types(verdict, types.result()[item.index])
            if self.store is not None and item.key and not _infrastructure_failed(verdict):
                self.store.put(item.key, verdict.to_json())
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        item.future.set_result(verdict)

    # ------------------------------------------------------------ finish

    def _finish(self, items: list[_Pending]) -> Iterator[Done]:
        for item in items:
            if item.verdict is None:
                assert item.future is not None
                item.verdict = item.future.result()
            yield Done(item.verdict, item.record, item.cached)


def _add_types(verdict: Verdict, type_facts: dict[str, Any]) -> None:
    """The chunk's mypy facts for this sample, in the checks' usual order."""
    verdict.checks = {"syntax": verdict.checks.pop("syntax"), "types": type_facts,
                      **verdict.checks}
    if type_facts.get("ok") is False:
        verdict.reasons = ["type_error", *(r for r in verdict.reasons if r != "type_error")]


def _infrastructure_failed(verdict: Verdict) -> bool:
    """A verdict the sandbox could not reach honestly is not cached: a re-run retries it."""
    tests = verdict.checks.get("tests", {})
    types = verdict.checks.get("types", {})
    return bool(tests.get("sandbox_error")) or types.get("status") == "sandbox_error"
