"""Opening the verify Session for a run, with the dedup/decontamination filters when the
harness has them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config import VerifyConfig
from harness.filters import default_filters
from harness.generate.config import GenerateConfig
from harness.session import Session
from harness.stage import Filter

if TYPE_CHECKING:
    from harness.generate.manifest import Manifest


def session_filters(decontaminate: bool) -> tuple[list[Filter], str]:
    """The Session's filters and a word on them for the manifest: decontamination only.

    Dedup is not among them: the same candidate solution is verified with every test
    module of its problem, which dedup would call duplicates of each other; the kept
    samples are deduplicated instead (`kept_dedup`)."""
    filters = default_filters(dedup=False, decontaminate=decontaminate)
    return filters, "on" if decontaminate else "off (--no-decontaminate)"


def kept_dedup() -> Filter:
    """The dedup filter the kept samples go through, across every round of a run."""
    return default_filters(dedup=True, decontaminate=False)[-1]


@contextmanager
def open_session(cfg: GenerateConfig, store: Path, image: str | None,
                 manifest: Manifest) -> Iterator[Session]:
    filters, status = session_filters(cfg.decontaminate)
    manifest.data["decontamination"] = status
    verify: VerifyConfig = cfg.verify
    # Containers stay warm for the next run to adopt, as `harness verify` does by default.
    keep_warm = float(os.environ.get("HARNESS_KEEP_WARM", "30"))
    with Session(verify, image=image, store_path=str(store), filters=filters,
                 keep_warm=keep_warm) as session:
        yield session
