"""Probes: are the tests worth anything? One module per probe, registered in `PROBES`."""

from __future__ import annotations

from harness.probes import differential, lint, mutants, stubs  # noqa: F401  (register themselves)
from harness.probes.base import PROBES, Probe

__all__ = ["PROBES", "Probe"]
