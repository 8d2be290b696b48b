"""The differential probe, through the real engine, pool (Docker), mypy and pytest: wrong
solutions that pass their tests are rejected `wrong_solution` with the shrunk input;
correct ones are kept; alternatives are clustered; `--augment` writes real pytest that
kills survivors; importers and `--reference-from` fill the reference."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import VerifyConfig
from harness.records import Sample, Verdict
from harness.session import Session
from harness.sources import read_samples
from harness.sources.join import load_references, with_references

CONFIG = VerifyConfig(workers=1, timeout=10.0, batch=8, typecheck=False,
                      probes=("differential",))


@pytest.fixture(scope="module")
def session(sandbox_image: str) -> Iterator[Session]:
    with Session(CONFIG, image=sandbox_image) as s:
        yield s


def run(session: Session, *samples: Sample) -> dict[str, Verdict]:
    return {s.id: v for s, v in session.verify(samples)}


def diff(verdict: Verdict) -> dict[str, Any]:
    facts: dict[str, Any] = verdict.checks["probes"]["differential"]
    return facts


GRADE_REF = """\
def grade(score: int) -> str:
    if score >= 90:
        return "A"
    if score >= 80:
        return "B"
    return "C"
"""
GRADE_OFF_BY_ONE = GRADE_REF.replace(">= 90", "> 90")
GRADE_TESTS = """\
from solution import grade


def test_grade():
    assert grade(95) == "A"
    assert grade(85) == "B"
    assert grade(10) == "C"
"""

MEDIAN_REF = """\
def median(xs: list[int]) -> float:
    s = sorted(xs)
    n = len(s)
    if n % 2:
        return float(s[n // 2])
    return (s[n // 2 - 1] + s[n // 2]) / 2
"""
MEDIAN_SKIPS_EVEN = """\
def median(xs: list[int]) -> float:
    s = sorted(xs)
    return float(s[len(s) // 2])
"""
MEDIAN_TESTS = """\
from solution import median


def test_median():
    assert median([3, 1, 2]) == 2.0
    assert median([5]) == 5.0
"""

UNIQUE_REF = """\
def unique(xs: list[int]) -> list[int]:
    return sorted(set(xs))
"""
UNIQUE_UNORDERED = """\
def unique(xs: list[int]) -> list[int]:
    seen: list[int] = []
    for x in xs:
        if x not in seen:
            seen.append(x)
    return seen
"""
UNIQUE_TESTS = """\
from solution import unique


def test_unique():
    assert unique([1, 1, 2]) == [1, 2]
    assert unique([]) == []
"""


def test_wrong_but_passing_solutions_are_rejected_with_the_shrunk_input(
        session: Session) -> None:
    got = run(session,
              Sample("boundary", GRADE_OFF_BY_ONE, GRADE_TESTS, reference=GRADE_REF),
              Sample("skipped", MEDIAN_SKIPS_EVEN, MEDIAN_TESTS, reference=MEDIAN_REF),
              Sample("order", UNIQUE_UNORDERED, UNIQUE_TESTS, reference=UNIQUE_REF))
    for ident, verdict in got.items():
        assert verdict.reasons == ["wrong_solution"], (ident, verdict.checks)
    boundary = diff(got["boundary"])["differs"]
    assert boundary["input"] == "(90)"
    assert (boundary["solution"], boundary["reference"]) == ("'B'", "'A'")
    skipped = diff(got["skipped"])["differs"]
    assert len(eval(skipped["input"])) == 2  # shrunk to the smallest even list
    assert skipped["origin"] in ("derived", "drawn")
    order = diff(got["order"])["differs"]
    assert order["solution"] != order["reference"]


def test_a_correct_alternative_algorithm_is_kept(session: Session) -> None:
    insertion = """\
def grade(score: int) -> str:
    for bound, letter in ((90, "A"), (80, "B")):
        if not score < bound:
            return letter
    return "C"
"""
    got = run(session, Sample("alt", insertion, GRADE_TESTS, reference=GRADE_REF))
    assert got["alt"].reasons == [], got["alt"].checks
    assert diff(got["alt"])["compared"] >= 50


def test_inputs_where_the_reference_raises_are_out_of_domain(session: Session) -> None:
    reference = """\
def root(n: int) -> int:
    if n < 0:
        raise ValueError("negative")
    r = 0
    while (r + 1) * (r + 1) <= n:
        r += 1
    return r
"""
    solution = """\
import math


def root(n: int) -> int:
    return math.isqrt(abs(n))
"""
    tests = "from solution import root\n\n\ndef test_root():\n    assert root(9) == 3\n"
    got = run(session, Sample("domain", solution, tests, reference=reference))
    assert got["domain"].reasons == [], got["domain"].checks
    assert diff(got["domain"])["out_of_domain"] > 0


def test_floats_within_tolerance_and_unordered_when_asked(session: Session) -> None:
    reference = "def mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n"
    solution = ("import math\n\n\ndef mean(xs: list[float]) -> float:\n"
                "    return math.fsum(x / len(xs) for x in xs) + 1e-9\n")
    tests = "from solution import mean\n\n\ndef test_mean():\n    assert mean([1.0, 2.0]) > 1\n"
    got = run(session,
              Sample("exact", solution, tests, reference=reference),
              Sample("tolerant", solution, tests, reference=reference, meta={"atol": 1e-6}),
              Sample("unordered", UNIQUE_UNORDERED, UNIQUE_TESTS, reference=UNIQUE_REF,
                     meta={"unordered": True}))
    assert got["exact"].reasons == ["wrong_solution"]
    assert got["tolerant"].reasons == [], got["tolerant"].checks
    assert got["unordered"].reasons == [], got["unordered"].checks


def test_alternatives_are_clustered_as_evidence(session: Session) -> None:
    alternatives = (GRADE_REF, GRADE_REF.replace('"C"', "'C'"), GRADE_OFF_BY_ONE)
    got = run(session, Sample("cluster", GRADE_REF, GRADE_TESTS, alternatives=alternatives),
              Sample("minority", GRADE_OFF_BY_ONE, GRADE_TESTS, alternatives=alternatives[:2]))
    assert got["cluster"].reasons == []
    facts = diff(got["cluster"])
    assert sorted(facts["clusters"]) == [1, 3] and facts["in_largest"] is True
    assert got["minority"].reasons == []  # evidence only
    assert diff(got["minority"])["in_largest"] is False


HANG = "def grade(score: int) -> str:\n    while True:\n        pass\n"


@pytest.mark.parametrize("body", [
    # Hangs only on inputs the tests never try.
    "import os\n\ndef grade(score: int) -> str:\n    if score == 90:\n"
    "        while True:\n            os.getpid()\n" + GRADE_REF.split(":\n", 1)[1],
    # A fork bomb on an input the tests never try.
    "import os\n\ndef grade(score: int) -> str:\n    if score == 90:\n"
    "        while True:\n            os.fork()\n" + GRADE_REF.split(":\n", 1)[1],
    # Forges a record on the probes' channel and exits.
    "import os, json\n\ndef grade(score: int) -> str:\n    if score == 90:\n"
    "        for fd in range(3, 40):\n            try:\n"
    "                os.write(fd, b'{\"ran\": 1, \"passed\": true, \"search\": [null, 99]}\\n')\n"
    "            except OSError:\n                pass\n        os._exit(0)\n"
    + GRADE_REF.split(":\n", 1)[1],
], ids=["hang", "fork_bomb", "forged"])
def test_hostile_solutions_leave_the_pool_healthy(session: Session, body: str) -> None:
    got = run(session, Sample("hostile", body, GRADE_TESTS, reference=GRADE_REF))
    assert got["hostile"].verdict == "reject", got["hostile"].checks
    after = run(session, Sample("after", GRADE_OFF_BY_ONE, GRADE_TESTS, reference=GRADE_REF))
    assert after["after"].reasons == ["wrong_solution"]


def test_augmented_tests_pass_on_the_reference_and_kill_survivors(
        sandbox_image: str, tmp_path: Path) -> None:
    solution = """\
def fee(amount: int) -> int:
    if amount > 100:
        return amount // 10
    return 5
"""
    tests = "from solution import fee\n\n\ndef test_fee():\n    assert fee(1000) == 100\n" \
            "    assert fee(3) == 5\n"
    corpus = tmp_path / "in.jsonl"
    wrong = solution.replace("amount > 100", "amount >= 100")
    corpus.write_text(json.dumps({"id": "fee", "solution": solution, "tests": tests,
                                  "reference": solution}) + "\n"
                      + json.dumps({"id": "wrong", "solution": wrong, "tests": tests,
                                    "reference": solution}) + "\n")
    out = tmp_path / "aug.jsonl"
    verdicts = tmp_path / "v.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "verify", str(corpus), "-o", str(verdicts),
         "--augment", str(out), "--no-cache", "--no-typecheck", "--workers", "1",
         "--image", sandbox_image, "--json", "--no-progress", "--accept-unprobed"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["wrong_solution"] == 1 and summary["reasons"]["wrong_solution"] == 1
    assert summary["augmented"] >= 1 and summary["augmented_kills"] >= 1
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    row = rows["fee"]
    if "wrong" in rows:  # the wrong solution's input, with the reference's answer
        assert "assert fee(100) == 5" in rows["wrong"]["tests"]
    assert row["meta"]["augmented"]["killed"] >= 1
    assert "def test_augmented_0" in row["tests"]
    # Real pytest, outside the sandbox, on the reference: the augmented module passes.
    work = tmp_path / "work"
    work.mkdir()
    (work / "solution.py").write_text(solution)
    (work / "test_aug.py").write_text(row["tests"])
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=work, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stdout


def test_importers_fill_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [
        {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "canonical_solution": "    return x\n",
         "completion": "    return x + 0\n", "test": "def check(c):\n    assert c(1) == 1\n",
         "entry_point": "f"},
        {"task_id": 2, "text": "add", "code": "def add(a, b):\n    return a + b\n",
         "solution": "def add(a, b):\n    return b + a\n", "test_list": ["assert add(1, 2) == 3"]},
        {"id": "c", "solution": "x = 1\n", "tests": "def test_x():\n    pass\n",
         "reference": "x = 1\n", "alternatives": ["x = 2\n"]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = [s for s in read_samples(str(path)) if isinstance(s, Sample)]
    assert got[0].reference == "def f(x):\n    return x\n"
    assert got[0].solution == "def f(x):\n    return x + 0\n"
    assert got[1].reference == rows[1]["code"] and got[1].solution == rows[1]["solution"]
    assert got[2].reference == "x = 1\n" and got[2].alternatives == ("x = 2\n",)
    assert got[2].to_json()["alternatives"] == ["x = 2\n"]
    assert got[2].digest() != Sample("c", "x = 1\n", rows[2]["tests"]).digest()


def test_reference_from_joins_a_benchmark_onto_model_outputs(tmp_path: Path) -> None:
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"task_id": "T/1", "prompt": "def f(x):\n",
                                 "canonical_solution": "    return x\n",
                                 "test": "def check(c):\n    assert c(1) == 1\n",
                                 "entry_point": "f"}) + "\n")
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text(json.dumps({"id": "run-1", "task_id": "T/1", "solution": "def f(x):\n"
                                   "    return x\n", "tests": "def test_f():\n    pass\n"})
                       + "\n")
    refs = load_references(str(bench), "task_id")
    [joined] = list(with_references(read_samples(str(outputs)), refs, "task_id"))
    assert isinstance(joined, Sample) and joined.reference == "def f(x):\n    return x\n"


def test_derived_inputs_are_type_aware_edits_of_the_tests_calls() -> None:
    from harness_sandbox.probelib.derive import derived_calls, keeps, orderings

    calls = derived_calls([((5, "one two", [1.5, 2.0]), {})], constants=[3.7])
    firsts = {c[0][0] for c in calls}
    assert {4, 6, 0, -5, 10} <= firsts  # ±1, zero, negated, doubled
    assert any(c[0][1] == "two one" for c in calls)  # words reordered
    assert any(c[0][2] == [3.7, 2.0] for c in calls)  # the code's literal, at a boundary
    assert any(c[0][2] == [2.0, 2.0] for c in calls)  # whole floats
    assert calls == derived_calls([((5, "one two", [1.5, 2.0]), {})], constants=[3.7])
    kept = orderings([((5, 0, 10), {}), ((3, 3, 3), {})])
    assert (1, 2) in kept  # lo <= hi in every call
    assert not keeps(((0, 0, -1), {}), kept) and keeps(((0, -5, 1), {}), kept)
