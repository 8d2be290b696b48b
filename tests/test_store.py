"""The result store on a real SQLite file, including a writer killed with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.store import Store, cache_key

REPO = Path(__file__).resolve().parent.parent

# Puts rows forever, printing each index only once its put has returned (= committed).
WRITER = """
import sys
from harness.store import Store

prefix = sys.argv[2]
with Store(sys.argv[1]) as store:
    i = 0
    while True:
        store.put(f"{prefix}{i}", {"id": f"{prefix}{i}", "n": i, "pad": "x" * (i % 3000)})
        print(i, flush=True)
        i += 1
"""


def verdict(n: int) -> dict[str, Any]:
    return {"id": f"s{n}", "verdict": "reject", "reasons": ["test_failed"],
            "checks": {"tests": {"passed": n, "failed": 1}, "note": "caf\u00e9"}}


def test_put_get_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite") as store:
        assert store.get("missing") is None
        store.put("a", verdict(1))
        store.put("b", verdict(2))
        store.put("a", verdict(3))  # a re-run replaces
        assert store.get("a") == verdict(3)
        assert store.get("b") == verdict(2)
        assert len(store) == 2


def test_reopen_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.sqlite"
    with Store(path) as store:
        for n in range(100):
            store.put(f"k{n}", verdict(n))
    with Store(path) as store:
        assert len(store) == 100
        assert store.get("k42") == verdict(42)


def test_get_many_spans_chunks(tmp_path: Path) -> None:
    with Store(tmp_path / "store.sqlite") as store:
        for n in range(1200):
            store.put(f"k{n}", verdict(n))
        keys = [f"k{n}" for n in range(0, 1300, 2)]  # some beyond what was stored
        found = store.get_many(keys)
        assert set(found) == {f"k{n}" for n in range(0, 1200, 2)}
        assert found["k1198"] == verdict(1198)
        assert store.get_many([]) == {}


def test_close_twice_is_harmless(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    store.close()
    store.close()


def test_one_writer_many_readers(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Store(tmp_path / "store.sqlite") as store:
        done = threading.Event()

        def write() -> None:
            try:
                for n in range(1500):
                    store.put(f"k{n}", verdict(n))
            except BaseException as exc:  # surfaced by the assert below
                errors.append(exc)
            finally:
                done.set()

        def read() -> None:
            try:
                while not done.is_set():
                    size = len(store)
                    if size:
                        assert store.get(f"k{size - 1}") is not None
                        store.get_many(f"k{n}" for n in range(size))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read)
                                                      for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert len(store) == 1500


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 20)
    with pytest.raises(ConfigError, match="not a usable result store"):
        Store(path)


def test_a_foreign_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE verdicts (something INTEGER)")
    with pytest.raises(ConfigError, match="--store"):
        Store(path)


def test_a_path_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot open the result store"):
        Store(blocker / "store.sqlite")


def test_cache_key_is_canonical() -> None:
    base = cache_key("d1", {"a": 1, "b": [1, 2]}, "sha256:img", {"pytest": "8", "mypy": "1"})
    assert len(base) == 64 and int(base, 16) >= 0
    assert base == cache_key("d1", {"b": [1, 2], "a": 1}, "sha256:img",
                             {"mypy": "1", "pytest": "8"})
    variants = [
        cache_key("d2", {"a": 1, "b": [1, 2]}, "sha256:img", {"pytest": "8", "mypy": "1"}),
        cache_key("d1", {"a": 2, "b": [1, 2]}, "sha256:img", {"pytest": "8", "mypy": "1"}),
        cache_key("d1", {"a": 1, "b": [1, 2]}, "sha256:new", {"pytest": "8", "mypy": "1"}),
        cache_key("d1", {"a": 1, "b": [1, 2]}, "sha256:img", {"pytest": "9", "mypy": "1"}),
    ]
    assert len({base, *variants}) == 5


def kill_writer_after(path: Path, prefix: str, seconds: float) -> list[int]:
    """Run the writer, SIGKILL it after `seconds`; the indexes it reported committed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix],
                              stdout=subprocess.PIPE, env=env, cwd=REPO)
    assert writer.stdout is not None
    first = writer.stdout.readline()  # the store is open and writing
    assert first.strip() == b"0", first
    time.sleep(seconds)
    os.kill(writer.pid, signal.SIGKILL)
    rest = writer.stdout.read()
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    return [0] + [int(line) for line in rest.split()]


def test_sigkill_loses_no_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    rng = random.Random(7)
    reported: dict[str, list[int]] = {}
    for round_ in range(4):
        prefix = f"r{round_}-"
        reported[prefix] = kill_writer_after(path, prefix, rng.uniform(0.05, 0.6))
        assert len(reported[prefix]) > 1  # the kill landed in the middle of writing
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Store(path) as store:
        total = 0
        for prefix, indexes in reported.items():
            assert indexes == list(range(len(indexes)))
            found = store.get_many(f"{prefix}{i}" for i in indexes)
            assert len(found) == len(indexes), f"{prefix}: committed rows are missing"
            for i in indexes:
                assert found[f"{prefix}{i}"] == {"id": f"{prefix}{i}", "n": i,
                                                 "pad": "x" * (i % 3000)}
            # At most the one put that returned just before the kill went unreported.
            total += len(indexes)
            assert store.get(f"{prefix}{len(indexes) + 1}") is None
        assert total <= len(store) <= total + len(reported)
        store.put("after", verdict(0))  # and the store still takes writes
        assert store.get("after") == verdict(0)
