"""The dedup filter: exact and near-duplicates caught, distinct solutions left alone."""

from __future__ import annotations

from harness.filters import FILTERS, Dedup, default_filters
from harness.filters.normalize import code_digest, code_tokens
from harness.records import Sample, Verdict
from harness.stage import Outcome

TESTS = "from solution import f\n\ndef test_f():\n    assert f is not None\n"

RUNNING_MAX = '''\
def running_max(values: list[int]) -> list[int]:
    """Return the running maximum of the values."""
    out = []
    best = None
    for value in values:
        if best is None or value > best:
            best = value
        out.append(best)
    return out
'''

# Same code: variables renamed, layout and quotes changed, comments added, docstring
# reworded.
RUNNING_MAX_RENAMED = '''\
def prefix_maxima(xs: list[int]) -> list[int]:
    # a different docstring and comments
    """Maxima of every prefix of xs, in order."""
    result = []
    top = None
    for x in xs:   # walk once
        if (top is None) or (x > top):
            top = x
        result.append(top)
    return (result)
'''

WORD_FREQ = '''\
def word_frequencies(text: str, lower: bool = True) -> dict[str, int]:
    """Count each word of the text."""
    counts: dict[str, int] = {}
    for raw in text.split():
        word = raw.strip(".,;:!?")
        if lower:
            word = word.lower()
        if not word:
            continue
        counts[word] = counts.get(word, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
'''

# Near-duplicate: renamed, an import, a guard and a statement added.
WORD_FREQ_EDITED = '''\
import string


def count_words(sentence: str, fold: bool = True) -> dict[str, int]:
    tally: dict[str, int] = {}
    if not sentence:
        return {}
    for token in sentence.split():
        w = token.strip(".,;:!?")
        if fold:
            w = w.lower()
        if not w:
            continue
        tally[w] = tally.get(w, 0) + 1
    return dict(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
'''

PALINDROME_SLICE = "def is_palindrome(s: str) -> bool:\n    return s == s[::-1]\n"
PALINDROME_POINTERS = '''\
def is_palindrome(s: str) -> bool:
    i, j = 0, len(s) - 1
    while i < j:
        if s[i] != s[j]:
            return False
        i += 1
        j -= 1
    return True
'''
FACTORIAL_LOOP = '''\
def factorial(n: int) -> int:
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result
'''
FACTORIAL_RECURSIVE = '''\
def factorial(n: int) -> int:
    if n <= 1:
        return 1
    return n * factorial(n - 1)
'''
FIB_MEMO = '''\
from functools import lru_cache


@lru_cache(maxsize=None)
def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)
'''
FIB_LOOP = '''\
def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
'''


def sample(ident: str, solution: str, prompt: str = "") -> Sample:
    return Sample(id=ident, solution=solution, tests=TESTS, prompt=prompt)


def judge_all(dedup: Dedup, samples: list[Sample]) -> list[Outcome]:
    return [dedup.judge(s) for s in samples]


def test_exact_copy_renamed_reformatted_or_redocumented_is_a_duplicate() -> None:
    dedup = Dedup()
    first, copy, renamed = judge_all(dedup, [
        sample("a", RUNNING_MAX), sample("b", RUNNING_MAX), sample("c", RUNNING_MAX_RENAMED)])
    assert first.reasons == ()
    for outcome in (copy, renamed):
        assert outcome.reasons == ("duplicate",)
        assert outcome.facts is not None
        assert outcome.facts.to_json() == {"of": "a", "method": "exact", "similarity": 1.0}


def test_normalisation_drops_names_layout_comments_and_docstrings() -> None:
    assert code_tokens(RUNNING_MAX) == code_tokens(RUNNING_MAX_RENAMED)
    assert code_digest(code_tokens(RUNNING_MAX)) == code_digest(code_tokens(RUNNING_MAX_RENAMED))
    assert "Return" not in " ".join(code_tokens(RUNNING_MAX))
    # Builtins and attribute names are not renamed: they say what the code does.
    assert {"append", "None"} <= set(code_tokens(RUNNING_MAX))
    # Code that does not parse is still compared (roughly), never an exception.
    assert code_tokens("def broken(:\n  return 'x") != []


def test_near_duplicate_with_edits_names_the_earlier_sample_and_similarity() -> None:
    dedup = Dedup()
    kept, near = judge_all(dedup, [sample("wf", WORD_FREQ), sample("wf2", WORD_FREQ_EDITED)])
    assert kept.reasons == ()
    assert near.reasons == ("duplicate",)
    assert near.facts is not None
    facts = near.facts.to_json()
    assert facts["of"] == "wf" and facts["method"] == "code"
    assert 0.7 <= facts["similarity"] < 1.0


def test_same_problem_text_is_a_duplicate_even_with_other_code() -> None:
    prompt = ("Write a function that returns the running maximum of a list of integers, "
              "one value for every prefix of the list.")
    dedup = Dedup()
    _, dup = judge_all(dedup, [sample("p1", RUNNING_MAX, prompt),
                               sample("p2", FACTORIAL_LOOP, prompt + "  ")])
    assert dup.reasons == ("duplicate",)
    assert dup.facts is not None and dup.facts.to_json()["method"] == "prompt"
    assert Dedup(prompt_threshold=None).judge(sample("p3", FACTORIAL_LOOP, prompt)).reasons == ()


def test_different_solutions_to_the_same_kind_of_problem_are_not_flagged() -> None:
    dedup = Dedup()
    outcomes = judge_all(dedup, [
        sample("pal1", PALINDROME_SLICE, "Check whether a string reads the same backwards."),
        sample("pal2", PALINDROME_POINTERS, "Tell if a word is a palindrome using two indices."),
        sample("fac1", FACTORIAL_LOOP, "Compute n! with a loop."),
        sample("fac2", FACTORIAL_RECURSIVE, "Compute the factorial of n recursively."),
        sample("fib1", FIB_MEMO, "Return the n-th Fibonacci number, memoised."),
        sample("fib2", FIB_LOOP, "Return the n-th Fibonacci number iteratively."),
        sample("wf", WORD_FREQ, "Count the words of a text."),
        sample("rm", RUNNING_MAX, "Running maximum of a list."),
    ])
    assert [o.reasons for o in outcomes] == [()] * len(outcomes)


def test_duplicates_are_not_indexed_and_verdicts_are_deterministic() -> None:
    stream = [sample("a", RUNNING_MAX), sample("b", RUNNING_MAX_RENAMED),
              sample("c", WORD_FREQ), sample("d", WORD_FREQ_EDITED), sample("e", FIB_LOOP),
              sample("f", FIB_LOOP)]
    one, two = Dedup(), Dedup()
    first = [(o.reasons, o.facts.to_json() if o.facts else None) for o in judge_all(one, stream)]
    second = [(o.reasons, o.facts.to_json() if o.facts else None) for o in judge_all(two, stream)]
    assert first == second
    assert [r for r, _ in first] == [(), ("duplicate",), (), ("duplicate",), (), ("duplicate",)]
    assert len(one._ids) == 3  # memory grows with kept samples only
    assert one._code is not None and len(one._code) == 3


def test_dedup_is_an_order_dependent_registered_filter() -> None:
    assert FILTERS.get("dedup") is Dedup
    assert Dedup.order_dependent is True
    dedup = Dedup()
    verdict = Verdict(id="b")
    dedup.judge(sample("a", FIB_LOOP))
    dedup.record(verdict, dedup.run(sample("b", FIB_LOOP)))
    assert verdict.reasons == ["duplicate"]
    assert verdict.checks["dedup"]["of"] == "a"
    assert dedup.stats.rejected == 1 and dedup.stats.seen == 1
    assert "repeats 'a'" in dedup.explain(verdict.checks["dedup"], "duplicate")


def test_default_filters_dedup_on_decontamination_off() -> None:
    filters = default_filters()
    assert [f.name for f in filters] == ["dedup"]
    assert default_filters(dedup=False) == []
    assert [f.name for f in default_filters(decontaminate=True)] == ["decontam", "dedup"]
