"""Verifying samples from code: a pool, a store and the engine, opened together.

    with Session(VerifyConfig(workers=2)) as session:
        for sample, verdict in session.verify(samples):
            ...

`harness verify` and `harness generate` both verify through this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from types import TracebackType

from harness.checks import default_checks
from harness.config import VerifyConfig
from harness.engine import Done, Engine
from harness.filters.unique_id import UniqueId
from harness.probes.base import PROBES
from harness.probes.stage import ProbesStage
from harness.records import InvalidRecord, Sample, Verdict
from harness.report.explain import Explainer
from harness.sandbox.image import image_id, require_image
from harness.sandbox.pool import ContainerSpec, Pool
from harness.stage import Filter, Stage
from harness.store import Store, cache_key


class Session:
    """A warm pool (and optionally a result store) and the engine that verifies with it.

    The stages are the checks of `config`, its probes, and the filters: the unique-id
    filter first, then `filters`.
    """

    def __init__(self, config: VerifyConfig, *, image: str | None = None,
                 store_path: str | None = None, runtime: str | None = None,
                 keep_warm: float = 0.0, adopt: bool = True,
                 filters: Sequence[Filter] = ()) -> None:
        self.config = config
        self.image = image or require_image()
        self.runtime = runtime
        self.keep_warm = keep_warm
        self.adopt = adopt
        self.filters: list[Filter] = [UniqueId(), *filters]
        self.store_path = store_path
        self._stack = ExitStack()
        self.pool: Pool | None = None
        self.store: Store | None = None
        self.image_id = ""
        self.engine: Engine | None = None

    def __enter__(self) -> Session:
        config = self.config
        try:
            in_sandbox = [p for p in config.probes if PROBES.get(p).in_sandbox]
            spec = ContainerSpec(image=self.image, runtime=self.runtime,
                                 warm=("probe",) if in_sandbox else (),
                                 pids=max(512, 2 * config.tasks + 64))
            self.pool = self._stack.enter_context(Pool(
                size=config.workers, image=self.image, spec=spec,
                keep_warm=self.keep_warm, adopt=self.adopt))
            if self.store_path:
                self.store = self._stack.enter_context(Store(self.store_path))
            self.image_id = image_id(self.image)
            identity, versions = config.identity(), self.pool.versions

            def key(sample: Sample) -> str:
                return cache_key(sample.digest(), identity, self.image_id, versions)

            self.engine = Engine(
                filters=self.filters, checks=default_checks(config),
                probes=[ProbesStage(config)] if config.probes else [],
                pool=self.pool, store=self.store, key=key, batch=config.batch,
                threads=self.pool.size * self.pool.depth)
            self._stack.callback(self.engine.close)
        except BaseException:
            self._stack.close()
            raise
        return self

    @property
    def versions(self) -> dict[str, str]:
        return self.pool.versions if self.pool is not None else {}

    @property
    def stages(self) -> list[Stage]:
        return self.engine.stages if self.engine is not None else []

    def explainer(self) -> Explainer:
        """The one-line evidence of a reason on a verdict, by the stage that gave it."""
        return Explainer(self.stages)

    def run(self, records: Iterable[Sample | InvalidRecord]) -> Iterator[Done]:
        """Each record's `Done`, in input order (streams: any number of records)."""
        if self.engine is None:
            raise RuntimeError("use the Session as a context manager")
        return self.engine.run(records)

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]:
        """Each sample with its verdict, in input order."""
        for done in self.run(samples):
            if isinstance(done.record, Sample):
                yield done.record, done.verdict

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(exc_type, exc, tb)
