"""The response cache: every completed model reply, keyed by the full request.

It lives in the run's SQLite store (its own table beside the verdicts), so one file
holds everything a re-run needs: a request seen before is answered from here and sends
nothing. Failed requests are not stored, so a re-run retries exactly those.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.errors import ConfigError

SCHEMA = ("CREATE TABLE IF NOT EXISTS llm_responses (key TEXT PRIMARY KEY, "
          "response TEXT NOT NULL)")


def request_key(request: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a request (model, messages, sampling, seed)."""
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


class ResponseCache:
    """Replies by request key; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.hits = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot use {self.path} as the run's store ({exc}): pass a "
                              "writable --store path, or delete the file") from exc

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT response FROM llm_responses WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        data: dict[str, Any] = json.loads(row[0])
        return data

    def put(self, key: str, response: dict[str, Any]) -> None:
        blob = json.dumps(response)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO llm_responses (key, response) "
                             "VALUES (?, ?)", (key, blob))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM llm_responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
