"""AST mutants: every operator, determinism, the spread under a cap, what is left alone."""

from __future__ import annotations

import ast
import textwrap

import pytest

from harness_sandbox.probelib.mutants import Mutant, generate_mutants


def changed_lines(m: Mutant) -> tuple[list[str], list[str]]:
    """The (removed, added) lines of a mutant's diff, without the file headers."""
    lines = m.diff.splitlines()[2:]
    return ([x[1:].strip() for x in lines if x.startswith("-")],
            [x[1:].strip() for x in lines if x.startswith("+")])


# (source body, operator, removed line, added line)
OPERATORS = [
    ("if x < 3:\n    return 1\nreturn 0", "Compare Lt->LtE", "if x < 3:", "if x <= 3:"),
    ("return x + y", "BinOp Add->Sub", "return x + y", "return x - y"),
    ("return x * y", "BinOp Mult->Div", "return x * y", "return x / y"),
    ("x += 1\nreturn x", "AugAssign Add->Sub", "x += 1", "x -= 1"),
    ("return x and y", "BoolOp and->or", "return x and y", "return x or y"),
    ("return not x", "UnaryOp drop not", "return not x", "return x"),
    ("return -x", "UnaryOp drop -", "return -x", "return x"),
    ("if x:\n    return 1\nreturn 0", "add not", "if x:", "if not x:"),
    ("return x * 3", "Constant 3->4", "return x * 3", "return x * 4"),
    ("return x * 3", "Constant 3->2", "return x * 3", "return x * 2"),
    ("return True", "Constant True->False", "return True", "return False"),
    ("return y[x:]", "Slice bound lower+1", "return y[x:]", "return y[x + 1:]"),
    ("return y[:x]", "Slice bound upper-1", "return y[:x]", "return y[:x - 1]"),
    ("return list(range(x))", "range bound stop+1", "return list(range(x))",
     "return list(range(x + 1))"),
    ("return list(range(x, y))", "range bound start+1", "return list(range(x, y))",
     "return list(range(x + 1, y))"),
    ("return x", "Return value->None", "return x", "return None"),
    ("y.append(x)\nreturn y", "drop statement", "y.append(x)", "pass"),
    ("while x > 0:\n    x -= 1\n    break\nreturn x", "drop statement", "break", "pass"),
]


@pytest.mark.parametrize(("body", "operator", "removed", "added"), OPERATORS)
def test_each_operator_makes_its_mutant(body: str, operator: str, removed: str,
                                        added: str) -> None:
    source = "def f(x, y=None):\n" + textwrap.indent(body, "    ") + "\n"
    mutants = generate_mutants(source, limit=100)
    hits = [m for m in mutants if m.operator == operator
            and changed_lines(m) == ([removed], [added])]
    assert hits, [(m.operator, changed_lines(m)) for m in mutants]
    mutant = hits[0]
    assert mutant.diff.startswith("--- a/solution.py\n+++ b/solution.py\n@@")
    assert mutant.lineno == 1 + next(i for i, line in enumerate(body.splitlines(), 1)
                                     if line.strip() == removed)
    compile(mutant.source, "solution.py", "exec")


GRADE = textwrap.dedent('''\
    def grade(score: int, bonus: int = 5) -> str:
        """Letter grade for 90."""
        if score + bonus >= 90:
            return "A"
        if score >= 80 and score < 1000:
            return "B"
        return "F"


    class Book:
        """Counts up to 3."""
        limit: int = 3

        def add(self, n: int) -> bool:
            return n < self.limit


    LIMIT = 7
    ''')


def test_same_input_same_list_in_the_same_order() -> None:
    first = generate_mutants(GRADE, limit=25)
    again = generate_mutants(GRADE, limit=25)
    assert [(m.id, m.operator, m.lineno, m.source, m.diff) for m in first] == \
        [(m.id, m.operator, m.lineno, m.source, m.diff) for m in again]
    assert [m.id for m in first[:3]] == ["m01", "m02", "m03"]


def test_every_mutant_is_distinct_valid_and_differs_from_the_original() -> None:
    mutants = generate_mutants(GRADE, limit=200)
    original = ast.unparse(ast.parse(GRADE))
    assert len({m.source for m in mutants}) == len(mutants) >= 15
    for m in mutants:
        assert m.source != original
        compile(m.source, "solution.py", "exec")
        removed, added = changed_lines(m)
        assert removed and added, m.diff


def test_methods_are_mutated_but_not_docstrings_annotations_defaults_or_module_code() -> None:
    mutants = generate_mutants(GRADE, limit=200)
    assert any(m.lineno == 15 and m.operator == "Compare Lt->LtE" for m in mutants)
    for m in mutants:
        assert '"""Letter grade for 90."""' in m.source and '"""Counts up to 3."""' in m.source
        assert "def grade(score: int, bonus: int=5) -> str:" in m.source
        assert "limit: int = 3" in m.source and "LIMIT = 7" in m.source
        assert "def add(self, n: int) -> bool:" in m.source


def test_the_cap_keeps_every_kind_and_spreads_over_lines() -> None:
    capped = generate_mutants(GRADE, limit=8)
    assert len(capped) == 8
    kinds = {m.operator.split()[0] for m in capped}
    assert {"Compare", "BinOp", "BoolOp", "add", "Constant", "Return"} <= kinds
    lines = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(30))
    many = "def f(x):\n" + lines + "\n    return -1\n"
    compares = [m for m in generate_mutants(many, limit=40) if m.operator.startswith("Compare")]
    assert len(compares) >= 4
    first_lines = [m.lineno for m in compares[:4]]
    assert max(first_lines) - min(first_lines) > 30, first_lines  # not the first four ifs


def test_nested_functions_lambdas_and_async_bodies_are_mutated() -> None:
    source = textwrap.dedent("""\
        async def outer(xs):
            def inner(a):
                return a > 1
            return sorted(xs, key=lambda v: v - 1), inner
        """)
    operators = {(m.operator, m.lineno) for m in generate_mutants(source, limit=100)}
    assert ("Compare Gt->GtE", 3) in operators
    assert ("BinOp Sub->Add", 4) in operators


def test_nothing_to_mutate_or_broken_source_gives_no_mutants() -> None:
    assert generate_mutants("def f(:\n", 10) == []
    assert generate_mutants("X = 1 + 2\n", 10) == []
    assert generate_mutants('def f():\n    """Only 1 doc."""\n', 10) == []
    assert generate_mutants(GRADE, limit=0) == []
