"""Scripted model behaviour for the generate tests: problems, solutions and tests by name."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.openai_server import Scripted, fenced, template_of, user_text

PROBLEMS = {
    "clamp": (
        "Write a function that limits an integer to a closed range: values below `low` "
        "become `low`, values above `high` become `high`, others are returned unchanged. "
        "Assume low <= high.",
        "def clamp(value: int, low: int, high: int) -> int:"),
    "count_vowels": (
        "Count the vowels (a, e, i, o, u, in either case) in a string and return the "
        "number; every other character, including y, is not a vowel.",
        "def count_vowels(text: str) -> int:"),
    "sum_of_squares": (
        "Return the sum of the squares of the integers from 1 up to and including n, "
        "for a non-negative integer n; the sum for 0 is 0.",
        "def sum_of_squares(n: int) -> int:"),
}

GOOD = {
    "clamp": "def clamp(value: int, low: int, high: int) -> int:\n"
             "    if value < low:\n        return low\n"
             "    if value > high:\n        return high\n    return value\n",
    "count_vowels": "def count_vowels(text: str) -> int:\n"
                    "    return sum(1 for c in text.lower() if c in 'aeiou')\n",
    "sum_of_squares": "def sum_of_squares(n: int) -> int:\n"
                      "    return sum(i * i for i in range(1, n + 1))\n",
}

BAD = {
    "clamp": "def clamp(value: int, low: int, high: int) -> int:\n"
             "    return max(low, value)\n",
    "count_vowels": "def count_vowels(text: str) -> int:\n"
                    "    return sum(1 for c in text if c in 'aeiou')\n",
    "sum_of_squares": "def sum_of_squares(n: int) -> int:\n"
                      "    return sum(i * i for i in range(n))\n",
}

STRONG_TESTS = {
    "clamp": "from solution import clamp\n\n"
             "def test_inside():\n    assert clamp(5, 0, 10) == 5\n\n"
             "def test_below():\n    assert clamp(-3, 0, 10) == 0\n\n"
             "def test_above():\n    assert clamp(11, 0, 10) == 10\n\n"
             "def test_bounds():\n    assert clamp(0, 0, 10) == 0\n"
             "    assert clamp(10, 0, 10) == 10\n    assert clamp(1, 0, 10) == 1\n"
             "    assert clamp(9, 0, 10) == 9\n\n"
             "def test_point_range():\n    assert clamp(4, 7, 7) == 7\n"
             "    assert clamp(-8, -9, -2) == -8\n",
    "count_vowels": "from solution import count_vowels\n\n"
                    "def test_basic():\n    assert count_vowels('hello world') == 3\n\n"
                    "def test_upper():\n    assert count_vowels('AEIOU') == 5\n\n"
                    "def test_none():\n    assert count_vowels('rhythm') == 0\n"
                    "    assert count_vowels('') == 0\n\n"
                    "def test_mixed():\n    assert count_vowels('Programming In Python') == 5\n",
    "sum_of_squares": "from solution import sum_of_squares\n\n"
                      "def test_values():\n    assert sum_of_squares(0) == 0\n"
                      "    assert sum_of_squares(1) == 1\n    assert sum_of_squares(2) == 5\n"
                      "    assert sum_of_squares(3) == 14\n    assert sum_of_squares(10) == 385\n",
}

WEAK_TESTS = {
    name: f"from solution import {name}\n\ndef test_runs():\n"
          f"    assert {name}({'5, 0, 10' if name == 'clamp' else repr('a') if name == 'count_vowels' else '1'}) is not None\n"  # noqa: E501
    for name in PROBLEMS
}


def problem_reply(name: str, prose: bool = False) -> str:
    statement, signature = PROBLEMS[name]
    head = "Sure! Here is a new problem for you.\n\n" if prose else ""
    return f"{head}Problem: {statement}\nSignature:\n```python\n{signature}\n```\n"


def entry_of(body: dict[str, Any]) -> str:
    match = re.search(r"`from solution import (\w+)`|defines\s+`(\w+)`", user_text(body))
    if match:
        return match.group(1) or match.group(2)
    for name in PROBLEMS:
        if f"def {name}(" in user_text(body):
            return name
    return ""


@dataclass
class World:
    """Per-template handlers; the default behaviour answers everything correctly."""

    problems: list[str] = field(default_factory=lambda: ["clamp"])
    handlers: dict[str, Callable[[dict[str, Any], int], Scripted]] = field(
        default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> Scripted:
        name = template_of(body)
        with self._lock:
            self.counts[name] += 1
            n = self.counts[name]
        if name in self.handlers:
            return self.handlers[name](body, n)
        return self.default(name, body, n)

    def default(self, template: str, body: dict[str, Any], n: int) -> Scripted:
        if template == "problem.v1":
            return Scripted(problem_reply(self.problems[(n - 1) % len(self.problems)]))
        entry = entry_of(body)
        if template in ("solution.v1", "repair-solution.v1"):
            return Scripted(fenced(GOOD[entry], "Here is the solution:"))
        if template in ("tests.v1", "repair-tests.v1"):
            return Scripted(fenced(STRONG_TESTS[entry]))
        if template == "evolve.v1":
            return Scripted(evolved_reply(entry or "clamp"))
        return Scripted("I do not understand.")


def evolved_reply(_parent: str) -> str:
    statement, signature = PROBLEMS["sum_of_squares"]
    statement += (" The function must run in constant time, using the closed formula "
                  "n(n+1)(2n+1)/6 instead of a loop, and raise ValueError for negative n.")
    return f"Problem: {statement}\nSignature:\n```python\n{signature}\n```\n"
