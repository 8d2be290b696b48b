"""Parsing replies, similarity, diversity and selection rules (no model, no sandbox)."""

from __future__ import annotations

import random

from harness.generate.diversity import PoolEntry, distinct_ngrams, entropy, measure, warnings
from harness.generate.evolve import eliminated, method_for
from harness.generate.parsing import parse_problem, parse_solution, parse_tests
from harness.generate.problems import PoolItem, pick_examples
from harness.generate.prompts import TEMPLATES
from harness.generate.similarity import SimilarityIndex, lcs_length, rouge_l, tokens


def _dp_lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def test_bit_parallel_lcs_matches_dynamic_programming() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        assert lcs_length(a, b) == _dp_lcs(a, b)


def test_rouge_l_and_index() -> None:
    a = tokens("Return the sum of the squares of the numbers")
    assert rouge_l(a, a) == 1.0
    assert rouge_l(a, tokens("completely unrelated words here")) == 0.0
    index = SimilarityIndex(shortlist=5)
    for i in range(200):
        index.add(f"x{i}", f"filler text number {i} about topic {i * 7}")
    index.add("target", "Count the vowels of a string, ignoring case")
    score, near = index.nearest("Count the vowels in a string, ignoring the case")
    assert near == "target" and score >= 0.7


def test_solution_from_prose_and_several_blocks() -> None:
    reply = ("Sure! First a helper:\n```python\nimport math\n\ndef helper(x: int) -> int:\n"
             "    return x * 2\n```\nThen the function:\n```py\ndef f(x: int) -> int:\n"
             "    return helper(x)\n\nprint(f(3))\nif __name__ == '__main__':\n    f(1)\n"
             "def test_f():\n    assert f(1) == 2\n```\nDone.")
    parsed = parse_solution(reply, "f")
    assert parsed.ok
    assert "import math" in parsed.code and "def helper" in parsed.code
    assert "print(" not in parsed.code and "__main__" not in parsed.code
    assert "test_f" not in parsed.code


def test_solution_failures_have_reasons() -> None:
    assert parse_solution("", "f").reason == "empty_reply"
    assert parse_solution("Just loop over it and add.", "f").reason == "no_code"
    assert parse_solution("```python\ndef g():\n    return 1\n```", "f").reason == \
        "no_entry_point"
    assert parse_solution("```python\ndef f(x:\n    return (\n```", "f").reason == \
        "syntax_error"
    # a block cut off at max_tokens (no closing fence) still yields what it holds
    assert parse_solution("```python\ndef f() -> int:\n    return 1\n", "f").ok


def test_tests_drop_the_models_own_solution_and_import_the_real_one() -> None:
    reply = ("```python\ndef f(x):\n    return 0\n\ndef test_one():\n    assert f(1) == 2\n"
             "```")
    parsed = parse_tests(reply, "f")
    assert parsed.ok and parsed.code.startswith("from solution import f")
    assert "return 0" not in parsed.code
    assert parse_tests("```python\nx = 1\n```", "f").reason == "no_test_function"


def test_problem_parsing() -> None:
    parsed = parse_problem("**Problem:** Reverse the words of a sentence, keeping single "
                           "spaces.\n\n**Signature:**\n```python\ndef reverse_words(s: str) "
                           "-> str:\n    ...\n```")
    assert not isinstance(parsed, str)
    assert parsed.entry_point == "reverse_words"
    assert parsed.signature == "def reverse_words(s: str) -> str:"
    assert parsed.statement.startswith("Reverse the words")
    assert parse_problem("Write something nice about lists.") == "no_signature"
    cls = parse_problem("Problem: A counter class.\n```python\nclass Counter:\n"
                        "    def add(self, x: int) -> None:\n        pass\n```")
    assert not isinstance(cls, str) and "def add" in cls.signature


def test_examples_hold_the_floor_of_real_seeds() -> None:
    pool = [PoolItem(f"s{i}", f"seed {i}", "real") for i in range(5)]
    pool += [PoolItem(f"g{i}", f"synthetic {i}", "synthetic") for i in range(50)]
    for k in range(20):
        chosen = pick_examples(pool, 4, 2, random.Random(k))
        assert len(chosen) == 4 and sum(c.origin == "real" for c in chosen) >= 2


def test_evolve_elimination_rules() -> None:
    from harness.generate.client import Reply
    from harness.generate.context import Problem
    from harness.generate.parsing import ProblemText

    reply = Reply("", "stop", None, {}, {}, "problem.v1")
    parent = Problem(ProblemText("Sort a list of integers in ascending order.",
                                 "def s(x: list[int]) -> list[int]:", "s"), 1, [], reply)
    longer = "Sort a list of integers in ascending order without using sorted, in O(n log n)."
    assert eliminated(parent, longer, longer) == ("", "")
    assert eliminated(parent, longer, "I'm sorry, I cannot do that.")[0] == "refusal"
    assert eliminated(parent, "Sort a list.", "x")[0] == "no_information_gain"
    assert eliminated(parent, "#Rewritten Prompt#: " + longer, "x")[0] == "copied_prompt"
    assert method_for("gen-abc123") in ("constraints", "rarer_requirement",
                                        "reasoning_steps", "misdirection", "complexity")


def test_diversity_and_warnings() -> None:
    assert entropy(__import__("collections").Counter({"a": 1, "b": 1})) == 1.0
    assert distinct_ngrams(["a b a b"], 2) == 2 / 3
    seeds = [PoolEntry(f"problem about topic {i} and more", "real", f"f_{i}",
                       "import math\n") for i in range(5)]
    same = [PoolEntry("problem about topic 0 and more", "synthetic", "f_0", "", 0.5)] * 5
    first = measure(seeds, [])
    second = measure(seeds + same, same)
    assert second["synthetic_share"] == 0.5
    assert warnings(first, second)  # copies of one problem: diversity falls


def test_templates_are_named_and_hashed() -> None:
    for name, template in TEMPLATES.items():
        assert template.name == name and len(template.digest) == 16
        assert f"[template {name}]" in template.messages(
            examples="e", problem="p", entry_point="f", evidence="x", solution="s",
            tests="t", method="m")[0]["content"]
