"""In-sandbox handlers: one module each, found by name (`CallJob(handler=...)`).

A handler module defines `run(payload, workdir) -> JSON-able` (called in a confined,
forked child), or `supervise(...)` (called in the fork server, which then forks the
children itself: the probes). Optional: `warm()` (run once in the server) and
`seed_cache()` (run once as the checker).
"""

from __future__ import annotations

import importlib
import os
import traceback
from types import ModuleType

_FOLDER = os.path.dirname(os.path.abspath(__file__))


def names() -> list[str]:
    """The handlers this image ships."""
    return sorted(n[:-3] for n in os.listdir(_FOLDER) if n.endswith(".py") and n[0] != "_")


class Registry:
    """The handlers loaded in this fork server, and those that failed to load."""

    def __init__(self) -> None:
        self.loaded: dict[str, ModuleType] = {}
        self.errors: dict[str, str] = {}
        self.available = names()

    def load(self, name: str) -> ModuleType | None:
        """Import a handler here, the first time a run calls for it; None if it can't be.

        Returns the module only when this call imported it (its set-up is the caller's);
        `get` gives it afterwards.
        """
        if name in self.loaded or name in self.errors or name not in self.available:
            return None
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except Exception:  # a broken handler must not take the others down
            self.errors[name] = traceback.format_exc()[-2000:]
            return None
        self.loaded[name] = module
        return module

    def get(self, name: str) -> ModuleType | None:
        """A loaded handler, or None."""
        return self.loaded.get(name)

    def why_missing(self, name: str) -> str:
        """Why `name` is not loaded, for the run's error."""
        return f"no handler {name!r}: {self.errors.get(name, '')}"
