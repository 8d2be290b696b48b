"""`harness generate` end to end: a loopback OpenAI server, the real sandbox via Session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.config import VerifyConfig
from harness.generate import GenerateConfig, generate
from harness.records import Sample
from harness.session import Session
from tests.generate_world import (
    BAD,
    GOOD,
    STRONG_TESTS,
    WEAK_TESTS,
    World,
    entry_of,
    problem_reply,
)
from tests.openai_server import OpenAIServer, Scripted, fenced, user_text

SEEDS = "problems/seeds.jsonl"
PROVENANCE = {"sample_id", "round", "parents", "templates", "model", "endpoint",
              "responses", "attempt", "repairs", "image_id", "time", "difficulty"}


def run(world: World, out: Path, **options: Any) -> tuple[dict[str, Any], int]:
    """One generate run against a fresh server; (manifest, requests the server got)."""
    with OpenAIServer(world) as server:
        settings = {"problems": 1, "solutions": 1, "tests": 1, "timeout": 5,
                    "max_retries": 1, **options}
        cfg = GenerateConfig(model="scripted", base_url=server.url, seeds_path=SEEDS,
                             # The scripted problems assume in-domain inputs the probes do not
                             # know of (low <= high): the score alone judges their tests.
                             verify=VerifyConfig(workers=2, min_distinguished=0), **settings)
        generate(cfg, out, api_key="unused")
        count = server.count
    return json.loads((out / "manifest.json").read_text()), count


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_full_round_then_a_rerun_sends_nothing(sandbox_image: str, tmp_path: Path) -> None:
    world = World(problems=["clamp", "count_vowels"])
    world.handlers["problem.v1"] = lambda _b, n: Scripted(
        problem_reply(["clamp", "count_vowels"][(n - 1) % 2], prose=True))
    out = tmp_path / "run"
    manifest, sent = run(world, out, problems=2, solutions=2)
    assert sent == 2 + 2 * 2 + 2
    kept = lines(out / "kept.jsonl")
    assert sorted(k["entry_point"] for k in kept) == ["clamp", "count_vowels"]
    for k in kept:
        assert PROVENANCE <= set(k["meta"]), set(k["meta"]) ^ PROVENANCE
        assert k["id"] == "gen-" + k["meta"]["sample_id"][:16]
        assert all(p["origin"] == "real" for p in k["meta"]["parents"])
        assert k["meta"]["responses"]["solution"]["finish_reason"] == "stop"
        assert k["meta"]["templates"]["tests"]["name"] == "tests.v1"
        assert k["meta"]["difficulty"] == 1.0
    funnel = manifest["funnel"]["1"]
    assert funnel["problems"] == {"in": 2, "out": 2, "dropped": {}}
    assert funnel["select"]["out"] == 2
    assert manifest["complete"] and manifest["kept"] == 2
    assert manifest["tokens"]["this_run"]["completion"] > 0
    assert set(manifest["templates"]) >= {"problem.v1", "solution.v1", "tests.v1"}

    # The kept file is what `harness verify` keeps, as it is.
    samples = [Sample(**{k: v for k, v in rec.items() if k != "language"}) for rec in kept]
    with Session(VerifyConfig(workers=2, min_distinguished=0)) as session:  # as generated
        assert [v.verdict for _, v in session.verify(samples)] == ["keep", "keep"]

    # The same command again: every reply and verdict from the store, nothing sent.
    again, sent_again = run(World(), out, problems=2, solutions=2)
    assert sent_again == 0
    assert [k["id"] for k in lines(out / "kept.jsonl")] == [k["id"] for k in kept]
    assert again["tokens"]["this_run"] == {"prompt": 0, "completion": 0}
    assert again["tokens"]["dataset"] == manifest["tokens"]["dataset"]


def test_malformed_truncated_and_prose_replies(sandbox_image: str, tmp_path: Path) -> None:
    problem_replies = [
        Scripted(problem_reply("clamp"), finish_reason="length"),  # cut off
        Scripted("Here is a nice problem about sorting things in a clever way."),  # no def
        Scripted("Problem: short.\nSignature:\n```python\ndef f(x: int) -> int:\n```"),
        Scripted(raw=b'{"choices": [{"broken"'),  # not JSON at all
        Scripted(problem_reply("count_vowels", prose=True)),
    ]
    world = World()
    world.handlers["problem.v1"] = lambda _b, n: problem_replies[n - 1]
    solution_replies = {
        1: Scripted("I think you should loop over the characters and count them."),
        2: Scripted("Sure, here it is:\n```python\ndef count_vowels(text: str) -> int:\n"
                    "    return sum(1 for c in text.lower() if c in 'aeiou')\n"
                    "print(count_vowels('abc'))\n```\nAnd a quick check:\n```python\n"
                    "assert count_vowels('a') == 1\n```\nHope it helps!"),
        3: Scripted(fenced(GOOD["count_vowels"]), finish_reason="length"),
    }
    world.handlers["solution.v1"] = lambda _b, n: solution_replies[n]
    out = tmp_path / "run"
    manifest, _ = run(world, out, problems=5, solutions=3, max_retries=0)
    funnel = manifest["funnel"]["1"]
    assert funnel["problems"]["dropped"] == {"truncated": 1, "no_signature": 1,
                                             "too_short": 1, "request_failed": 1}
    assert funnel["solutions"]["dropped"] == {"no_code": 1, "truncated": 1}
    [kept] = lines(out / "kept.jsonl")
    assert "print(" not in kept["solution"] and "assert" not in kept["solution"]
    assert kept["meta"]["difficulty"] == pytest.approx(1 / 3, abs=0.01)
    stages = {(r["stage"], r["reasons"][0]) for r in lines(out / "rejected.jsonl")}
    assert ("problems", "truncated") in stages and ("solutions", "no_code") in stages


def test_repair_loop_fixes_solution_and_regenerates_weak_tests(sandbox_image: str,
                                                             tmp_path: Path) -> None:
    world = World(problems=["clamp", "count_vowels"])
    # clamp: a wrong solution, fixed from the failing test; count_vowels: weak tests.
    world.handlers["solution.v1"] = lambda b, _n: Scripted(fenced(
        BAD["clamp"] if entry_of(b) == "clamp" else GOOD["count_vowels"]))
    world.handlers["tests.v1"] = lambda b, _n: Scripted(fenced(
        STRONG_TESTS["clamp"] if entry_of(b) == "clamp" else WEAK_TESTS["count_vowels"]))
    evidence: dict[str, str] = {}

    def repair_solution(body: dict[str, Any], _n: int) -> Scripted:
        evidence["solution"] = user_text(body)
        return Scripted(fenced(GOOD["clamp"]))

    def repair_tests(body: dict[str, Any], _n: int) -> Scripted:
        evidence["tests"] = user_text(body)
        return Scripted(fenced(STRONG_TESTS["count_vowels"]))

    world.handlers["repair-solution.v1"] = repair_solution
    world.handlers["repair-tests.v1"] = repair_tests
    out = tmp_path / "run"
    manifest, _ = run(world, out, problems=2, max_repairs=1)
    kept = {k["entry_point"]: k for k in lines(out / "kept.jsonl")}
    assert set(kept) == {"clamp", "count_vowels"}
    assert "test_above" in evidence["solution"] and "assert" in evidence["solution"]
    assert "stand" in evidence["tests"] or "also pass" in evidence["tests"]
    clamp, vowels = kept["clamp"]["meta"], kept["count_vowels"]["meta"]
    assert clamp["attempt"] == 1 and clamp["repairs"][0]["kind"] == "solution"
    assert vowels["repairs"][0]["kind"] == "tests"
    assert vowels["repairs"][0]["reason"] in ("trivial_tests", "weak_tests")
    assert kept["count_vowels"]["tests"].count("def test_") == 4  # the regenerated tests
    assert manifest["funnel"]["1"]["repair"]["out"] == 2


def test_clustering_keeps_the_majority_behaviour(sandbox_image: str, tmp_path: Path) -> None:
    majority = GOOD["clamp"]
    minority = ("def clamp(value: int, low: int, high: int) -> int:\n"
                "    if value < low:\n        return low\n"
                "    if value >= high:\n        return high - 1\n    return value\n")
    minority_tests = ("from solution import clamp\n\ndef test_a():\n"
                      "    assert clamp(5, 0, 10) == 5\n    assert clamp(-3, 0, 10) == 0\n"
                      "    assert clamp(11, 0, 10) == 9\n    assert clamp(10, 0, 10) == 9\n"
                      "    assert clamp(9, 0, 10) == 9\n    assert clamp(0, 0, 10) == 0\n"
                      "    assert clamp(1, 0, 10) == 1\n    assert clamp(8, 0, 10) == 8\n")
    world = World()
    world.handlers["solution.v1"] = lambda _b, n: Scripted(
        fenced(minority if n == 2 else majority))
    world.handlers["tests.v1"] = lambda _b, n: Scripted(
        fenced(STRONG_TESTS["clamp"] if n == 1 else minority_tests))
    out = tmp_path / "run"
    run(world, out, solutions=3, tests=2, max_repairs=0)
    [kept] = lines(out / "kept.jsonl")
    assert kept["solution"].strip() == majority.strip()
    assert kept["meta"]["clusters"] == [2, 1] and kept["meta"]["cluster_size"] == 2
    assert kept["meta"]["difficulty"] == pytest.approx(2 / 3, abs=0.01)


def test_rounds_accumulate_and_keep_the_seeds(sandbox_image: str, tmp_path: Path) -> None:
    world = World(problems=["clamp", "count_vowels"])
    seeds = [json.loads(line)["prompt"].strip() for line in Path(SEEDS).read_text().splitlines()]
    out = tmp_path / "run"
    with OpenAIServer(world) as server:
        cfg = GenerateConfig(model="scripted", base_url=server.url, seeds_path=SEEDS,
                             problems=1, solutions=1, tests=1, rounds=2, examples=4,
                             min_real=2, verify=VerifyConfig(workers=2, min_distinguished=0),
                             max_retries=1)
        manifest = generate(cfg, out, api_key="unused").snapshot(True)
        prompts = [user_text(b) for b in server.requests if "[template problem.v1]"
                   in b["messages"][0]["content"]]
    assert len(prompts) == 2
    for prompt in prompts:  # every problem prompt holds at least min_real real seeds
        assert sum(1 for s in seeds if s in prompt) >= 2
    rounds = manifest["rounds"]
    assert [r["kept"] for r in rounds] == [1, 1]
    assert rounds[0]["diversity"]["pool"] == len(seeds) + 1
    assert rounds[1]["diversity"]["pool"] == len(seeds) + 2
    assert 0 < rounds[1]["diversity"]["synthetic_share"] < 0.1
    kept = lines(out / "kept.jsonl")
    assert [k["meta"]["round"] for k in kept] == [1, 2]
    for key in ("distinct_2", "entropy_function_names", "new_mean_similarity_to_seeds"):
        assert rounds[1]["diversity"][key] is not None


def test_evolve_verifies_variants_and_eliminates_refusals(sandbox_image: str,
                                                         tmp_path: Path) -> None:
    world = World(problems=["clamp", "count_vowels"])
    refusal = ("I'm sorry, I cannot make this problem harder.\nProblem: Count the vowels "
               "of a string, but faster and in a more careful way than before, handling "
               "every possible character there is.\nSignature:\n```python\n"
               "def count_vowels(text: str) -> int:\n```")

    def evolve(body: dict[str, Any], _n: int) -> Scripted:
        if "def clamp" in user_text(body):
            from tests.generate_world import evolved_reply
            return Scripted(evolved_reply("clamp"))
        return Scripted(refusal)

    world.handlers["evolve.v1"] = evolve
    out = tmp_path / "run"
    manifest, _ = run(world, out, problems=2, evolve=True)
    kept = {k["entry_point"]: k for k in lines(out / "kept.jsonl")}
    assert set(kept) == {"clamp", "count_vowels", "sum_of_squares"}
    evolved = kept["sum_of_squares"]["meta"]
    assert evolved["evolved"]["from"] == kept["clamp"]["meta"]["problem_id"]
    assert evolved["evolved"]["method"] in ("constraints", "rarer_requirement",
                                            "reasoning_steps", "misdirection", "complexity")
    assert evolved["parents"] == [{"id": kept["clamp"]["meta"]["problem_id"],
                                   "origin": "synthetic"}]
    assert manifest["funnel"]["1"]["evolve"]["dropped"] == {"refusal": 1}


def test_cli_generate_writes_outputs_and_a_summary(sandbox_image: str,
                                                   tmp_path: Path) -> None:
    with OpenAIServer(World()) as server:
        result = CliRunner().invoke(main, [
            "generate", "--model", "scripted", "--base-url", server.url, "--problems", "1",
            "--solutions", "1", "--tests", "1", "--workers", "2", "--price-in", "1",
            "--price-out", "2", "-o", str(tmp_path / "out"), "--json",
            "--min-distinguished", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kept"] == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["tokens"]["cost_usd"]["dataset"] > 0
    assert "generate funnel" in result.stderr
