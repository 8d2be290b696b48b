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
from typing import Any

from harness.config import VerifyConfig
from harness.records import InvalidRecord, Sample, Verdict
from harness.sandbox.image import image_id, require_image
from harness.sandbox.pool import ContainerSpec, Pool
from harness.stage import Filter
from harness.store import Store

EXECUTED_PROBES = ("stubs", "mutants")


class Session:
    """A warm pool (and optionally a result store) for verifying samples."""

    def __init__(self, config: VerifyConfig, *, image: str | None = None,
                 store_path: str | None = None, runtime: str | None = None,
                 keep_warm: float = 0.0, adopt: bool = True,
                 filters: Sequence[Filter] = ()) -> None:
        self.config = config
        self.image = image or require_image()
        self.runtime = runtime
        self.keep_warm = keep_warm
        self.adopt = adopt
        self.filters = list(filters)
        self.store_path = store_path
        self._stack = ExitStack()
        self.pool: Pool | None = None
        self.store: Store | None = None
        self.image_id = ""
        self._engine: Any = None

    def __enter__(self) -> Session:
        from harness.pipeline import Verifier

        try:
            executed = [p for p in self.config.probes if p in EXECUTED_PROBES]
            spec = ContainerSpec(image=self.image, runtime=self.runtime,
                                 warm=("probe",) if executed else ())
            self.pool = self._stack.enter_context(Pool(
                size=self.config.workers, image=self.image, spec=spec,
                keep_warm=self.keep_warm, adopt=self.adopt))
            if self.store_path:
                self.store = self._stack.enter_context(Store(self.store_path))
            self.image_id = image_id(self.image)
            self._engine = Verifier(self.config, self.pool, self.store, self.image_id)
            self._stack.callback(self._engine.close)
        except BaseException:
            self._stack.close()
            raise
        return self

    @property
    def versions(self) -> dict[str, str]:
        return self.pool.versions if self.pool is not None else {}

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]:
        """Each sample with its verdict, in input order (streams: any number of samples)."""
        if self._engine is None:
            raise RuntimeError("use the Session as a context manager")
        for done in self._engine.run(samples):
            record: Sample | InvalidRecord = done.record
            if isinstance(record, Sample):
                yield record, done.verdict

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(exc_type, exc, tb)
