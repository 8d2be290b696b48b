"""Verdicts that cannot be gamed or broken, on the harness's side: fail closed, no sample
changes another's facts, and no sample's output can crash a run or bloat its verdict.

Every sample here goes through the real engine, the real pool (Docker), real mypy and
real pytest; the CLI ones through `python -m harness verify`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import VerifyConfig
from harness.records import Sample, Verdict
from harness.session import Session

# The score alone judges strength here: these tests are about aiming and failing closed.
CONFIG = VerifyConfig(workers=1, timeout=10.0, batch=8, min_distinguished=0)


@pytest.fixture(scope="module")
def session(sandbox_image: str) -> Iterator[Session]:
    with Session(CONFIG, image=sandbox_image) as s:
        yield s


def verdicts(session: Session, *samples: Sample) -> dict[str, Verdict]:
    return {sample.id: verdict for sample, verdict in session.verify(samples)}


def sample(ident: str, solution: str, tests: str, entry_point: str | None = None) -> Sample:
    return Sample(id=ident, solution=solution, tests=tests, entry_point=entry_point)


TWO_FUNCTIONS = """\
def add(a: int, b: int) -> int:
    return a + b


def clamp(x: int, lo: int, hi: int) -> int:
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x
"""

STRONG_TWO = """\
from solution import add, clamp


def test_add():
    assert add(1, 2) == 3
    assert add(-4, 4) == 0
    assert add(0, 0) == 0
    assert add(7, -10) == -3


def test_clamp():
    assert clamp(5, 0, 10) == 5
    assert clamp(-1, 0, 10) == 0
    assert clamp(0, 0, 10) == 0
    assert clamp(10, 0, 10) == 10
    assert clamp(11, 0, 10) == 10
    assert clamp(3, 3, 3) == 3
"""

# Strong for add, nothing for clamp: a stand-in of clamp passes.
WEAK_ON_ONE = """\
from solution import add, clamp


def test_add():
    assert add(1, 2) == 3
    assert add(-4, 4) == 0
    assert add(7, -10) == -3


def test_clamp_runs():
    clamp(5, 0, 10)
"""


def test_no_entry_point_probes_every_public_function_the_tests_use(session: Session) -> None:
    got = verdicts(session, sample("strong", TWO_FUNCTIONS, STRONG_TWO),
                   sample("weak", TWO_FUNCTIONS, WEAK_ON_ONE))
    strong, weak = got["strong"], got["weak"]
    assert strong.reasons == [], strong.checks.get("probes")
    assert strong.checks["probes"]["targets"] == ["add", "clamp"]
    assert "trivial_tests" in weak.reasons
    assert any(name.startswith("clamp:") for name in weak.checks["probes"]["stubs"]["passed_by"])


def test_a_probe_that_cannot_aim_rejects_the_sample(session: Session) -> None:
    tests = "from solution import double\n\ndef test_d():\n    assert double(2) == 4\n"
    got = verdicts(
        session,
        sample("missing", "def double(x: int) -> int:\n    return 2 * x\n", tests, "triple"),
        sample("no-target", "def double(x: int) -> int:\n    return 2 * x\n\n"
               "def half(x: int) -> int:\n    return x // 2\n",
               "import solution\n\ndef test_d():\n    assert getattr(solution, 'dou' + "
               "'ble')(2) == 4\n"),
        sample("dotted", "class Box:\n    def get(self) -> int:\n        return 3\n",
               "from solution import Box\n\ndef test_b():\n    assert Box().get() == 3\n",
               "Box.get"),
    )
    assert got["missing"].reasons == ["unverified"]
    assert "not defined" in got["missing"].checks["probes"]["unverified"]
    assert got["no-target"].reasons == ["unverified"]
    assert "no public function" in got["no-target"].checks["probes"]["unverified"]
    # A dotted entry point is probed through its class.
    assert "unverified" not in got["dotted"].reasons, got["dotted"].checks["probes"]


def test_accepting_unprobed_samples_is_a_choice(sandbox_image: str) -> None:
    tests = "from solution import double\n\ndef test_d():\n    assert double(2) == 4\n"
    lenient = VerifyConfig(workers=1, require_probes=False)
    with Session(lenient, image=sandbox_image) as s:
        [(_, verdict)] = list(s.verify([sample(
            "missing", "def double(x: int) -> int:\n    return 2 * x\n", tests, "triple")]))
    assert verdict.reasons == []
    assert "not defined" in verdict.checks["probes"]["unverified"]


def test_tests_too_slow_for_the_probe_budget_are_unverified(sandbox_image: str) -> None:
    slow = ("from solution import inc\n\n"
            "def test_slow():\n    n = 0\n    for _ in range(3_000_000):\n        n += 1\n"
            "    assert inc(n) == n + 1\n    assert inc(-1) == 0\n")
    tight = VerifyConfig(workers=1, probe_budget=1.0)
    with Session(tight, image=sandbox_image) as s:
        [(_, verdict)] = list(s.verify([sample(
            "slow", "def inc(x: int) -> int:\n    return x + 1\n", slow, "inc")]))
    assert verdict.reasons == ["unverified"], verdict.checks.get("probes")
    assert "time budget" in verdict.checks["probes"]["unverified"]


def test_one_solution_blocking_mypy_does_not_change_the_others(session: Session) -> None:
    good = "def f(x: int) -> int:\n    return x\n"
    tests = "from solution import f\n\ndef test_f():\n    assert f(1) == 1\n    assert f(0) == 0\n"
    # A string annotation that does not parse stops mypy's whole build (a blocking error).
    blocker = "def f(x: 'int[') -> int:\n    return x\n"
    typed_wrong = "def f(x: int) -> str:\n    return x\n"
    got = verdicts(session, sample("ok-1", good, tests), sample("blocker", blocker, tests),
                   sample("wrong", typed_wrong, tests), sample("ok-2", good, tests))
    assert got["wrong"].reasons[0] == "type_error", got["wrong"].checks["types"]
    assert got["blocker"].reasons[:1] == ["type_error"], got["blocker"].checks["types"]
    assert got["ok-1"].checks["types"]["ok"] is True
    assert got["ok-2"].checks["types"]["ok"] is True


def test_module_level_break_is_a_syntax_error(session: Session) -> None:
    got = verdicts(session, sample("break", "break\n", "def test_x():\n    pass\n"))
    assert got["break"].reasons == ["syntax_error"]
    assert "outside loop" in got["break"].checks["syntax"]["message"]


def test_huge_test_module_is_refused_quickly(session: Session) -> None:
    tests = "def test_x():\n" + "    assert 1 == 1\n" * 300_000
    got = verdicts(session, sample("huge", "def f() -> int:\n    return 1\n", tests, "f"))
    assert got["huge"].reasons == ["invalid_sample"]
    assert got["huge"].checks["syntax"]["too_large"] == len(tests)


def test_a_big_solution_gets_a_bounded_verdict(session: Session) -> None:
    # A 400 KB line beside every mutated one: each survivor's diff would carry it whole.
    blob = "a" * 400_000
    solution = (f"def f(x: int) -> int:\n    s = '{blob}'\n    if x > 2:\n"
                "        return len(s) + x\n    return x - 1\n")
    tests = "from solution import f\n\ndef test_f():\n    assert f(0) == -1\n"
    got = verdicts(session, sample("big", solution, tests, "f"))
    assert "weak_tests" in got["big"].reasons, got["big"].checks.get("probes")
    survivors = got["big"].checks["probes"]["mutation"]["survivors"]
    assert survivors and any("more characters]" in s["diff"] for s in survivors)
    assert len(json.dumps(got["big"].to_json())) < 100_000


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_hostile_text_never_breaks_writing_or_the_summary(tmp_path: Path,
                                                          sandbox_image: str) -> None:
    nested: Any = "leaf"
    for _ in range(700):
        nested = {"n": nested}
    rows = [
        # A lone surrogate and terminal control sequences in a failure message.
        {"id": "surrogate", "solution": "def f() -> int:\n    return 1\n",
         "tests": "from solution import f\n\ndef test_f():\n"
                  "    assert f() == 2, '\\ud800 \\x1b[2J\\x1b]0;owned\\x07 \\x1b[31mred'\n"},
        {"id": "nested", "solution": "def f() -> int:\n    return 1\n",
         "tests": "from solution import f\n\ndef test_f():\n    assert f() == 1\n",
         "extra": nested},
        {"id": "fine", "solution": "def f() -> int:\n    return 1\n",
         "tests": "from solution import f\n\ndef test_f():\n    assert f() == 1\n"},
    ]
    corpus = tmp_path / "hostile.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = tmp_path / "store.sqlite"
    for attempt in range(2):  # the second run reads the first one's verdicts from the store
        out = tmp_path / f"v{attempt}.jsonl"
        run = harness("verify", str(corpus), "-o", str(out), "--store", str(store),
                      "--keep", str(tmp_path / "keep.jsonl"), "--no-progress",
                      "--keep-warm", "0", "--image", sandbox_image,
                      "--no-dedup")  # the rows share one solution on purpose
        assert run.returncode == 0, run.stderr
        assert "\x1b" not in run.stderr
        got = {v["id"]: v for v in map(json.loads, out.read_text().splitlines())}
        assert got["surrogate"]["reasons"] == ["test_failed"]
        assert "nested" in got and "fine" in got
        assert got["fine"]["verdict"] == "keep"
    kept = [json.loads(x)["id"] for x in (tmp_path / "keep.jsonl").read_text().splitlines()]
    assert "fine" in kept


def test_tests_that_patch_builtins_or_the_solution_are_rejected(session: Session) -> None:
    solution = ("def _norm(x: int) -> int:\n    return abs(x)\n\n"
                "def dist(a: int, b: int) -> int:\n    return _norm(a - b) + 1\n")
    patch_helper = ("import solution\nfrom solution import dist\n"
                    "solution._norm = lambda x: x * x - 1\n\n"
                    "def test_d():\n    assert dist(3, 3) == 0\n    assert dist(2, 0) == 4\n")
    patch_builtin = ("import builtins\nfrom solution import dist\n"
                     "builtins.abs = lambda x: 41\n\n"
                     "def test_d():\n    assert dist(3, 1) == 42\n    assert dist(0, 9) == 42\n")
    got = verdicts(session, sample("helper", solution, patch_helper, "dist"),
                   sample("builtin", solution, patch_builtin, "dist"))
    for ident in ("helper", "builtin"):
        assert "tampering" in got[ident].reasons, got[ident].checks.get("probes")
        assert got[ident].checks["probes"]["tampering"]
