"""Decontamination by n-gram overlap against HumanEval, sanitized MBPP and extra sets."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.filters import (
    FILTERS,
    Decontaminate,
    benchmark_sets,
    default_filters,
    load_benchmark,
    load_default,
)
from harness.filters.benchmarks import BenchmarkSet
from harness.records import Sample
from harness.sources import read_samples

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "problems" / "benchmarks"
TESTS = "from solution import f\n\ndef test_f():\n    assert f is not None\n"


@pytest.fixture(scope="module")
def sets() -> list[BenchmarkSet]:
    return benchmark_sets()


@pytest.fixture(scope="module")
def decontam(sets: list[BenchmarkSet]) -> Decontaminate:
    return Decontaminate(sets)


def humaneval(index: int) -> dict[str, str]:
    with gzip.open(BENCH / "HumanEval.jsonl.gz", "rt") as fh:
        return [json.loads(line) for line in fh][index]  # type: ignore[no-any-return]


def mbpp(task_id: int) -> dict[str, str]:
    records = json.loads((BENCH / "sanitized-mbpp.json").read_text())
    return next(r for r in records if r["task_id"] == task_id)


def facts_of(decontam: Decontaminate, sample: Sample) -> dict[str, object]:
    outcome = decontam.judge(sample)
    assert outcome.reasons == ("contaminated",), sample.id
    assert outcome.facts is not None
    return outcome.facts.to_json()


def test_shipped_sets_are_the_benchmarks(sets: list[BenchmarkSet]) -> None:
    shipped = BENCH / "sanitized-mbpp.json"
    by_name = {s.name: s for s in sets}
    assert len(by_name["humaneval"].items) == 164
    assert len(by_name["mbpp"].items) == 427
    record = by_name["mbpp"].to_json()
    assert record["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert record["items"] == 427 and record["path"] == str(shipped)
    assert (BENCH / "HumanEval.LICENSE").read_text().startswith("The MIT License")


def test_humaneval_pasted_verbatim_is_caught(decontam: Decontaminate) -> None:
    item = humaneval(2)
    facts = facts_of(decontam, Sample(id="x", prompt=item["prompt"],
                                      solution=item["prompt"] + item["canonical_solution"],
                                      tests=TESTS))
    assert facts["benchmark"] == "humaneval" and facts["item"] == "HumanEval/2"
    assert facts["overlap"] == 1.0


def test_humaneval_prompt_with_a_new_solution_is_caught_by_its_words(
        decontam: Decontaminate) -> None:
    item = humaneval(2)
    prose = item["prompt"].replace("positive floating point", "positive float")
    facts = facts_of(decontam, Sample(id="x", prompt=prose, tests=TESTS,
                                      solution="def frac(x: float) -> float:\n    "
                                               "return x - int(x)\n"))
    assert facts["item"] == "HumanEval/2" and facts["method"] == "text"
    assert 0.5 <= float(facts["overlap"]) < 1.0  # type: ignore[arg-type]


def test_mbpp_pasted_verbatim_is_caught(decontam: Decontaminate) -> None:
    item = mbpp(3)
    facts = facts_of(decontam, Sample(id="x", prompt=item["prompt"], solution=item["code"],
                                      tests=TESTS))
    assert facts["benchmark"] == "mbpp" and facts["item"] == "3"


def test_mbpp_paraphrased_with_renamed_code_is_caught(decontam: Decontaminate) -> None:
    solution = ("import math\n\n\ndef composite(value):\n    # paraphrased copy\n"
                "    answer = False\n    for d in range(2, int(math.sqrt(value)) + 1):\n"
                "        if value % d == 0:\n            answer = True\n    return answer\n")
    facts = facts_of(decontam, Sample(
        id="x", prompt="Create a Python routine that tells whether a number is not prime.",
        solution=solution, tests=TESTS))
    assert facts["item"] == "3" and facts["method"] == "code"
    assert facts["shared"] == facts["total"]


def test_original_problems_are_not_flagged(decontam: Decontaminate) -> None:
    own = [s for s in read_samples(str(ROOT / "problems" / "examples.jsonl"))
           if isinstance(s, Sample)]
    assert len(own) >= 10
    novel = Sample(id="novel", tests=TESTS,
                   prompt="Given a list of meeting intervals, return the minimum number of "
                          "rooms needed so that no two meetings in one room overlap.",
                   solution=("import heapq\n\ndef rooms(intervals):\n    ends = []\n"
                             "    for start, end in sorted(intervals):\n"
                             "        if ends and ends[0] <= start:\n"
                             "            heapq.heapreplace(ends, end)\n        else:\n"
                             "            heapq.heappush(ends, end)\n    return len(ends)\n"))
    assert [s.id for s in [*own, novel] if decontam.judge(s).reasons] == []


def test_an_extra_benchmark_file_is_read_and_recorded(tmp_path: Path) -> None:
    extra = tmp_path / "private-bench.jsonl"
    record = {"id": "pb-1", "prompt": "Return the sum of the cubes of the odd digits of a "
              "positive integer, ignoring every even digit it has.",
              "solution": "def f(n):\n    return sum(int(d) ** 3 for d in str(n) "
                          "if int(d) % 2)\n", "tests": TESTS}
    extra.write_text(json.dumps(record) + "\n")
    bench = load_benchmark(extra)
    assert bench.to_json() == {"name": "private-bench", "path": str(extra), "items": 1,
                               "sha256": hashlib.sha256(extra.read_bytes()).hexdigest()}
    filters = default_filters(benchmarks=[str(extra)])  # implies decontamination
    decontam = filters[0]
    assert isinstance(decontam, Decontaminate)
    assert [s.name for s in decontam.sets] == ["humaneval", "mbpp", "private-bench"]
    facts = facts_of(decontam, Sample(id="leak", prompt=record["prompt"], tests=TESTS,
                                      solution="def g(k):\n    return k\n"))
    assert facts["benchmark"] == "private-bench" and facts["item"] == "pb-1"
    assert decontam.config()["sets"][2]["items"] == 1


def test_bad_benchmark_paths_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_benchmark(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{}\n")
    with pytest.raises(ConfigError, match="no readable problem"):
        load_benchmark(empty)


def test_decontamination_is_registered_and_cacheable() -> None:
    assert FILTERS.get("decontam") is Decontaminate
    assert Decontaminate.order_dependent is False
    assert load_default("mbpp").name == "mbpp"
