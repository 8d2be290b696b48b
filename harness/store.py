"""The resumable result store: finished verdicts in an embedded SQLite database.

Every `put` is its own committed transaction in WAL mode, so a run killed at any moment
keeps every verdict it had stored and never a half-written one.
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

SCHEMA = "CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL)"


def cache_key(sample_digest: str, config: dict[str, Any], image_digest: str,
              tool_versions: dict[str, str]) -> str:
    """sha256 of everything that can change a verdict."""
    blob = json.dumps([sample_digest, config, image_digest, tool_versions], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Store:
    """Verdicts by cache key; safe to share between the threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                   isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL keeps commits atomic
            self._db.execute(SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT verdict FROM verdicts WHERE key = ?",
                                   (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, verdict FROM verdicts WHERE key IN ({marks})", part
                ).fetchall()
            out.update((k, json.loads(v)) for k, v in rows)
        return out

    def put(self, key: str, verdict: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO verdicts (key, verdict) VALUES (?, ?)",
                             (key, json.dumps(verdict)))

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM verdicts").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
