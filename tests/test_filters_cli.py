"""Dedup and decontamination through `harness verify`: real Docker, the real CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MBPP = ROOT / "problems" / "benchmarks" / "sanitized-mbpp.json"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=900)


DISTINCT = [
    "def f(n):\n    out = 1\n    for k in range(2, n + 1):\n        out *= k\n    return out\n",
    "def f(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "def f(s):\n    return s == s[::-1]\n",
    "def f(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
    "def f(n):\n    if n < 2:\n        return False\n    return all(n % d for d in "
    "range(2, int(n ** 0.5) + 1))\n",
    "def f(text):\n    return ' '.join(reversed(text.split()))\n",
    "def f(xs):\n    return [y for x in xs for y in (x if isinstance(x, list) else [x])]\n",
    "def f(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')\n",
    "def f(xs, t):\n    lo, hi = 0, len(xs)\n    while lo < hi:\n        mid = (lo + hi) // 2\n"
    "        if xs[mid] < t:\n            lo = mid + 1\n        else:\n            hi = mid\n"
    "    return lo\n",
    "def f(s, k):\n    return ''.join(chr((ord(c) - 97 + k) % 26 + 97) if c.islower() else c "
    "for c in s)\n",
    "def f(d):\n    return {v: k for k, v in d.items()}\n",
    "def f(m):\n    return [list(r) for r in zip(*m)]\n",
    "def f(xs):\n    seen = set()\n    out = []\n    for x in xs:\n        if x not in seen:\n"
    "            seen.add(x)\n            out.append(x)\n    return out\n",
    "def f(n):\n    return bin(n).count('1')\n",
]


def _renamed(source: str) -> str:
    """The same code with other names, layout and a comment: a duplicate."""
    return "# a copy\n" + source.replace("def f(", "def g(").replace("    ", "  ")


def _corpus(path: Path) -> list[str]:
    """Each distinct sample, and after every second one a renamed copy of an earlier one;
    returns the ids of the copies."""
    records, copies = [], []
    for i, source in enumerate(DISTINCT):
        records.append((f"s{i:02d}", source, "f"))
        if i % 2 == 1:
            copies.append(f"c{i:02d}")
            records.append((copies[-1], _renamed(DISTINCT[i - 1]), "g"))
    with path.open("w") as fh:
        for ident, solution, name in records:
            fh.write(json.dumps({"id": ident, "solution": solution, "tests": (
                f"import time\nfrom solution import {name}\n\ndef test_it():\n"
                f"    time.sleep(0.5)\n    assert callable({name})\n")}) + "\n")
    return copies


def _rows(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
            return sum(db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)
    except sqlite3.Error:
        return 0


def _strip(verdicts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(v["id"], v["verdict"], v["reasons"], v["checks"].get("dedup")) for v in verdicts]


def test_kill_and_resume_gives_the_same_duplicates(tmp_path: Path, sandbox_image: str) -> None:
    corpus = tmp_path / "corpus.jsonl"
    copies = _corpus(corpus)
    common = ["--no-probes", "--timeout", "5", "--no-typecheck"]
    baseline = harness("verify", str(corpus), "-o", str(tmp_path / "base.jsonl"), "--no-cache",
                       *common)
    assert baseline.returncode == 0, baseline.stderr
    base = read_jsonl(tmp_path / "base.jsonl")
    dups = [v for v in base if v["reasons"] == ["duplicate"]]
    assert [v["id"] for v in dups] == copies
    assert all(v["checks"]["dedup"]["method"] == "exact" for v in dups)
    assert dups[0]["id"] == "c01" and dups[0]["checks"]["dedup"]["of"] == "s00"
    assert [v["id"] for v in base if v["reasons"]] == copies  # the distinct ones all kept

    store = tmp_path / "store.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "verify", str(corpus), "-o",
                             str(tmp_path / "resumed.jsonl"), "--store", str(store), *common],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _rows(store) < 4:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _rows(store)
    assert 4 <= done_before < len(DISTINCT), done_before  # killed mid-run
    again = harness("verify", str(corpus), "-o", str(tmp_path / "resumed.jsonl"), "--store",
                    str(store), "--json", *common)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["from_cache"] >= done_before - 1
    assert _strip(read_jsonl(tmp_path / "resumed.jsonl")) == _strip(base)
    assert summary["reasons"]["duplicate"] == len(copies)


def test_no_dedup_and_decontamination_flags(tmp_path: Path, sandbox_image: str) -> None:
    mbpp = json.loads(MBPP.read_text())
    item = next(r for r in mbpp if r["task_id"] == 3)
    original = {"id": "own", "prompt": "Return the number doubled, plus one.",
                "solution": "def bump(n: int) -> int:\n    return 2 * n + 1\n",
                "tests": "from solution import bump\n\ndef test_it():\n    assert bump(3) == 7\n"}
    leaked = {"id": "leak", "prompt": item["prompt"], "solution": item["code"],
              "tests": "from solution import is_not_prime\n\ndef test_it():\n"
                       "    assert is_not_prime(4)\n"}
    copy = {**original, "id": "own-copy"}
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in (original, leaked, copy)))
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({"id": "x1", "prompt": "Something else entirely, with many "
                                 "words so that it has a few n-grams of its own to compare.",
                                 "solution": "def g():\n    return 1\n", "tests": "x"}) + "\n")
    common = ["--no-probes", "--no-cache", "--timeout", "5"]

    plain = harness("verify", str(corpus), "-o", str(tmp_path / "a.jsonl"), "--json", *common)
    assert plain.returncode == 0, plain.stderr
    by_id = {v["id"]: v for v in read_jsonl(tmp_path / "a.jsonl")}
    assert by_id["own-copy"]["reasons"] == ["duplicate"]  # dedup is on by default
    assert by_id["leak"]["reasons"] == []  # decontamination is not
    assert json.loads(plain.stdout)["run"]["benchmarks"] == []

    off = harness("verify", str(corpus), "-o", str(tmp_path / "b.jsonl"), "--no-dedup",
                  *common)
    assert off.returncode == 0, off.stderr
    assert all(v["reasons"] == [] for v in read_jsonl(tmp_path / "b.jsonl"))

    dec = harness("verify", str(corpus), "-o", str(tmp_path / "c.jsonl"), "--json",
                  "--benchmark", str(extra), *common)  # --benchmark implies --decontaminate
    assert dec.returncode == 0, dec.stderr
    by_id = {v["id"]: v for v in read_jsonl(tmp_path / "c.jsonl")}
    assert by_id["leak"]["reasons"] == ["contaminated"]
    assert by_id["leak"]["checks"]["decontam"]["item"] == "3"
    assert by_id["own"]["reasons"] == []
    summary = json.loads(dec.stdout)
    assert summary["reasons"] == {"contaminated": 1, "duplicate": 1}
    sets = {b["name"]: b for b in summary["run"]["benchmarks"]}
    assert set(sets) == {"humaneval", "mbpp", "extra"}
    assert sets["mbpp"]["items"] == 427
    assert sets["mbpp"]["sha256"] == hashlib.sha256(MBPP.read_bytes()).hexdigest()
    assert sets["extra"]["items"] == 1
    assert summary["run"]["filters"]["dedup"]["code_threshold"] == 0.7
