"""Opening the verify Session for a run, with the dedup/decontamination filters when the
harness has them."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import VerifyConfig
from harness.generate.config import GenerateConfig
from harness.session import Session

if TYPE_CHECKING:
    from harness.generate.manifest import Manifest


def session_filters(decontaminate: bool) -> tuple[list[Any], str]:
    """The Session's filters and a word on them for the manifest.

    HOOK: `harness.filters.default_filters(...)` (dedup + decontamination) is a
    colleague's; until it exists only the Session's own defaults apply."""
    try:
        default_filters = importlib.import_module("harness.filters").default_filters
    except (ImportError, AttributeError):
        return [], "unavailable: harness.filters.default_filters does not exist yet"
    filters = list(default_filters(decontaminate=decontaminate))
    return filters, "on" if decontaminate else "off (--no-decontaminate)"


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
