"""The stage contract: what every stage of the pipeline is and does.

A `Sample` flows one way through the stages and its `Verdict` grows:

    source -> (generate) -> filter -> check -> probe -> sink -> report

Each stage is a class with a `name`, the `reasons` it may give and a typed facts record
(a dataclass with `to_json`). A subclass implements one method (`judge` for a filter,
`check` or `check_batch` for a check, `probe` for a probe); the base class here does the
counting, the timing and the reason bookkeeping once, so no stage sets a reason or
writes `Verdict.checks` itself. Stages know nothing of threads: the engine
(`harness.engine`) owns concurrency, ordering, batching and the store.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.records import REASONS, InvalidRecord, Sample, Verdict

if TYPE_CHECKING:
    from harness.sandbox.pool import Pool


class Facts(Protocol):
    """A stage's typed evidence; `to_json` is what lands in `Verdict.checks[stage.name]`."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Outcome:
    """What one stage concluded about one sample: its reasons (empty: passed) and facts."""

    reasons: tuple[str, ...] = ()
    facts: Facts | None = None
    # False when the sandbox could not reach an honest verdict: a re-run tries again.
    cacheable: bool = True

    @classmethod
    def passed(cls, facts: Facts | None = None) -> Outcome:
        return cls((), facts)

    @classmethod
    def rejected(cls, reason: str, facts: Facts | None = None) -> Outcome:
        return cls((reason,), facts)


@dataclass(frozen=True)
class JsonFacts:
    """Facts that are already a JSON object (a stage's free-form evidence)."""

    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.data


@dataclass
class StageStats:
    """Counts and time of one stage over a run (thread-safe)."""

    seen: int = 0
    rejected: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: Outcome, seconds: float, samples: int = 1) -> None:
        with self._lock:
            self.seen += samples
            self.seconds += seconds
            if outcome.reasons:
                self.rejected += 1
                self.reasons.update(outcome.reasons)

    def add_time(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds

    def to_json(self) -> dict[str, Any]:
        return {"seen": self.seen, "rejected": self.rejected,
                "seconds": round(self.seconds, 3), "reasons": dict(self.reasons)}


MAX_TEXT = 4000  # characters of one string of evidence (a diff, a message)
MAX_ITEMS = 100  # entries of one list of evidence


def bounded(value: Any, depth: int = 0) -> Any:
    """Evidence cut to a bounded size, whatever the sample made of it: long strings and
    lists are cut (saying so), deep nesting is summarised."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else \
            value[:MAX_TEXT] + f"... [{len(value) - MAX_TEXT} more characters]"
    if depth > 20 and isinstance(value, dict | list | tuple):
        return "[nested too deeply to report]"
    if isinstance(value, dict):
        return {str(k)[:200]: bounded(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"[{len(value) - MAX_ITEMS} more]")
        return items
    return value


class Stage:
    """Base of every stage: name, reasons, bookkeeping; subclasses add one method."""

    name: ClassVar[str]
    reasons: ClassVar[tuple[str, ...]] = ()
    # Where the stage runs: in the harness process ("local") or in the sandbox.
    sandboxed: ClassVar[bool] = False

    def __init__(self) -> None:
        for reason in self.reasons:
            if reason not in REASONS:
                raise ValueError(f"stage {self.name!r} declares unknown reason {reason!r}")
        self.stats = StageStats()

    def record(self, verdict: Verdict, outcome: Outcome) -> None:
        """Put an outcome on the verdict: its facts under the stage's name, its reasons."""
        for reason in outcome.reasons:
            if reason not in self.reasons:
                raise ValueError(f"stage {self.name!r} gave undeclared reason {reason!r}")
        if outcome.facts is not None:
            verdict.checks[self.name] = bounded(outcome.facts.to_json())
        for reason in outcome.reasons:
            verdict.reject(reason)

    def explain(self, facts: dict[str, Any], reason: str) -> str:
        """One line of evidence for `reason`, read from this stage's facts (JSON)."""
        return str(facts.get("detail") or facts.get("message") or "")

    def timed(self, started: float, outcome: Outcome, samples: int = 1) -> Outcome:
        self.stats.add(outcome, time.perf_counter() - started, samples)
        return outcome


class Filter(Stage):
    """A stage in the harness process, before the sandbox and the store.

    Filters see every sample in input order, one at a time, so a stateful filter (dedup)
    may remember what it kept. `order_dependent` filters' verdicts never go into the
    per-sample result cache (a resumed run decides them again, in the same order).
    """

    order_dependent: ClassVar[bool] = False

    def begin(self) -> None:
        """Called when the engine starts on a new stream of records. Default: nothing (a
        filter that should judge each stream on its own forgets what it saw here)."""

    def judge(self, sample: Sample) -> Outcome:
        raise NotImplementedError

    def run(self, sample: Sample) -> Outcome:
        started = time.perf_counter()
        return self.timed(started, self.judge(sample))


class Check(Stage):
    """A per-sample check: `check` looks at one sample (with the sandbox pool, if
    `sandboxed`). Later checks run only when `gate` checks passed."""

    # A failure here stops the sample (nothing after it runs): syntax gates everything.
    gate: ClassVar[bool] = False

    def check(self, sample: Sample, pool: Pool | None) -> Outcome:
        raise NotImplementedError

    def run(self, sample: Sample, pool: Pool | None) -> Outcome:
        started = time.perf_counter()
        return self.timed(started, self.check(sample, pool))


class BatchCheck(Stage):
    """A check made for many samples per call (mypy): `check_batch` returns one outcome
    per sample, in order. The engine decides the batches."""

    def check_batch(self, samples: Sequence[Sample], pool: Pool | None) -> list[Outcome]:
        raise NotImplementedError

    def run_batch(self, samples: Sequence[Sample], pool: Pool | None) -> list[Outcome]:
        started = time.perf_counter()
        outcomes = self.check_batch(samples, pool)
        seconds = time.perf_counter() - started
        for outcome in outcomes:
            self.stats.add(outcome, seconds / max(1, len(outcomes)))
        return outcomes


class ProbeStage(Stage):
    """Runs on samples that passed every check: are the tests worth anything?"""

    def probe(self, sample: Sample, pool: Pool | None) -> Outcome:
        raise NotImplementedError

    def run(self, sample: Sample, pool: Pool | None) -> Outcome:
        started = time.perf_counter()
        return self.timed(started, self.probe(sample, pool))


class Sink:
    """Where finished verdicts go (a file, a table); `close` commits, `abort` discards."""

    def write(self, record: Sample | InvalidRecord, verdict: Verdict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Commit what was written."""

    def abort(self) -> None:
        """Discard what was written (the run failed)."""
