"""Copies of benchmark samples, made the way duplicates and contamination arise, and
synthetic corpora: the measuring material of `bench/hygiene.py`."""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import random
import tokenize
from dataclasses import replace

from harness.records import Sample

_KEEP = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))
_SYNONYMS = {"write": "create", "function": "routine", "given": "provided", "find": "compute",
             "return": "give back", "list": "sequence", "string": "text", "number": "value",
             "check": "determine", "whether": "if", "numbers": "values", "elements": "items",
             "the": "the", "returns": "gives back", "count": "tally"}


def renamed(source: str, rng: random.Random) -> str:
    """Every identifier renamed, the layout redone (ast.unparse), docstrings reworded and
    a comment added: an exact duplicate once normalised."""
    names: dict[str, str] = {}
    out = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            text = tok.string
            if tok.type == tokenize.NAME and text not in _KEEP and previous != ".":
                text = names.setdefault(text, f"{rng.choice('abcdefgh')}{len(names)}_x")
            out.append((tok.type, text))
            previous = tok.string
        code = tokenize.untokenize(out)
        tree = ast.parse(code)
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return source
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef | ast.Module):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                body[0].value.value = "Reworded docstring: what this does, in other words."
    return "# a copy\n" + ast.unparse(tree) + "\n"


def edited(source: str, rng: random.Random) -> str:
    """`renamed`, plus an import and one statement added to each function (behaviour
    unchanged): a near-duplicate, not an exact one."""
    code = renamed(source, rng)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.body.insert(0, ast.parse("checked_ = True").body[0])
    tree.body.insert(0, ast.parse("import math").body[0])
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def paraphrased(text: str, rng: random.Random) -> str:
    """A light paraphrase: some words swapped for synonyms, a sentence added."""
    words = text.split(" ")
    out = [(_SYNONYMS.get(w.lower(), w) if rng.random() < 0.5 else w) for w in words]
    return " ".join(out) + " Make sure it handles the edge cases."


def copy_of(sample: Sample, kind: str, rng: random.Random) -> Sample:
    """A copy of a sample: `renamed`, `edited`, `paraphrased` (prompt) or `verbatim`."""
    new_id = f"{sample.id}~{kind}"
    if kind == "renamed":
        return replace(sample, id=new_id, solution=renamed(sample.solution, rng))
    if kind == "edited":
        return replace(sample, id=new_id, solution=edited(sample.solution, rng))
    if kind == "paraphrased":
        return replace(sample, id=new_id, prompt=paraphrased(sample.prompt, rng),
                       solution=edited(sample.solution, rng))
    return replace(sample, id=new_id)


_STATEMENTS = [
    "{a} = {b} + {c}", "{a} = {b} * {k}", "if {a} > {k}:\n        {b} = {a} - {k}",
    "for {i} in range({k}):\n        {a} += {i} * {b}", "{a} = [{b} for {i} in range({k})]",
    "while {a} < {k}:\n        {a} += {b}", "{a} = {{{i}: {i} ** {k} for {i} in range(3)}}",
    "{a} = max({b}, {c}, {k})", "{a} = sorted({b}, reverse={flag})", "{a} = str({b})[::{k}]",
    "try:\n        {a} = {b} // {k}\n    except ZeroDivisionError:\n        {a} = 0",
    "{a} = {b} if {c} else {k}", "{a} = len(str({b})) % {k}", "{a} = abs({b} - {k})",
]
_WORDS = ("list string number pairs matrix tree graph words digits primes vowels tuples "
          "intervals dates prices scores grid path sum product count largest smallest "
          "sorted unique reversed even odd").split()


def synthetic(i: int, rng: random.Random) -> Sample:
    """A random small sample: a few statements from templates with random constants."""
    names = [f"n{rng.randrange(1000)}" for _ in range(4)]
    body = []
    for _ in range(rng.randrange(4, 9)):
        template = rng.choice(_STATEMENTS)
        a, b, c, i_ = rng.sample(names, 4)
        body.append("    " + template.format(a=a, b=b, c=c, i=i_, k=rng.randrange(2, 999),
                                             flag=rng.choice(["True", "False"])))
    params = ", ".join(names)
    solution = f"def f{i}({params}):\n" + "\n".join(body) + f"\n    return {names[0]}\n"
    prompt = ("Write a function that takes the " + " ".join(rng.sample(_WORDS, 6))
              + f" and returns the {rng.choice(_WORDS)} of the {rng.choice(_WORDS)} "
              + " ".join(rng.sample(_WORDS, 4)) + ".")
    tests = f"from solution import f{i}\n\ndef test_it():\n    assert f{i} is not None\n"
    return Sample(id=f"syn{i}", solution=solution, tests=tests, prompt=prompt)
