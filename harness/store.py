"""The resumable result store: finished verdicts in an embedded SQLite database.

Every `put` is its own committed transaction in WAL mode, so a run killed at any moment
(SIGKILL included) keeps every verdict it had stored and never a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import ConfigError

SCHEMA = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL)"
_CHUNK = 500  # SQLite caps the number of bound parameters of one statement


def cache_key(sample_digest: str, config: dict[str, Any], image_digest: str,
              tool_versions: dict[str, str]) -> str:
    """sha256 of a canonical JSON of everything that can change a verdict."""
    blob = json.dumps([sample_digest, config, image_digest, tool_versions], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Store:
    """Verdicts by cache key; one writer thread and any number of readers may share it."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the store at `path`; ConfigError if it cannot be used."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                       isolation_level=None)  # autocommit: a put is a commit
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the result store {self.path}: {exc}; pass a "
                              "writable --store path or --no-cache") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL survives a killed process; only an OS crash may drop the last puts.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            self._db.execute("SELECT key, verdict FROM verdicts LIMIT 0")
        except sqlite3.Error as exc:
            self._db.close()
            raise ConfigError(f"{self.path} is not a usable result store ({exc}): delete it "
                              "or pass another --store path") from exc

    def get(self, key: str) -> dict[str, Any] | None:
        """The verdict stored under `key`, or None."""
        with self._lock:
            row = self._db.execute("SELECT verdict FROM verdicts WHERE key = ?",
                                   (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored verdicts of those `keys` that have one."""
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), _CHUNK):
            part = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, verdict FROM verdicts WHERE key IN ({marks})", part
                ).fetchall()
            out.update((k, json.loads(v)) for k, v in rows)
        return out

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        """Store `verdict` under `key`, replacing any earlier one; committed on return."""
        blob = json.dumps(verdict)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO verdicts (key, verdict) VALUES (?, ?)",
                             (key, blob))

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM verdicts").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database; closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
