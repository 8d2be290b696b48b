"""Filters: stages in the harness process that decide before any sandbox time is spent.

Each filter is one class in one module, registered in `FILTERS`; the engine runs the
chosen ones in order, on every sample in input order.
"""

from __future__ import annotations

from harness.registry import Registry
from harness.stage import Filter

FILTERS: Registry[type[Filter]] = Registry("filter")

from harness.filters import unique_id  # noqa: E402,F401  (registers itself)

__all__ = ["FILTERS"]
