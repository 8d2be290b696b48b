"""bench/calibrate.py's pure helpers: EvalPlus's comparison, the labels, the rules and
the metrics, on tiny inline data (no oracle file, no sandbox)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "bench" / "calibrate.py"
spec = importlib.util.spec_from_file_location("calibrate", PATH)
assert spec and spec.loader
calibrate = importlib.util.module_from_spec(spec)
sys.modules["calibrate"] = calibrate
spec.loader.exec_module(calibrate)


@pytest.mark.parametrize(("out", "exp", "atol", "same"), [
    (3, 3, 0, True),
    ([1, 2], [1, 2], 0, True),
    ([1, 2], [2, 1], 0, False),
    (0.1 + 0.2, 0.3, 0, True),  # a float output gets atol 1e-6 even when atol is 0
    (0.3001, 0.3, 0, False),
    (0.3001, 0.3, 1e-3, True),
    ([0.1 + 0.2, 1.0], [0.3, 1.0], 0, True),
    ((0.3,), [0.3], 1e-6, False),  # the types must match
    ([0.3], [0.3, 1.0], 1e-6, False),
    (1, 1.0, 1e-6, True),  # 1 == 1.0 before any tolerance, as in EvalPlus
    ("a", 0.5, 1e-6, False),
    (None, 0.5, 1e-6, False),
])
def test_same_output(out, exp, atol, same):
    assert calibrate.same_output(out, exp, atol) is same


def test_find_zero_is_judged_by_the_polynomial():
    # x^2 - 1: both 1 and -1 are zeros, whatever the canonical solution returned
    assert calibrate.same_output(-1.0, 1.0, 1e-6, "find_zero", [[-1, 0, 1]])
    assert not calibrate.same_output(0.5, 1.0, 1e-6, "find_zero", [[-1, 0, 1]])


def test_labels():
    assert calibrate.oracle_label({"differs": {"kind": "value"}}) == "real"
    assert calibrate.oracle_label({"differs": None}) == "equivalent_on_oracle"
    assert calibrate.oracle_label({"differs": None, "cut": True}) == "unknown"
    assert calibrate.probe_status({"distinguishing_input": {"args": "(1,)"},
                                   "equivalent": False}) == "distinguished"
    assert calibrate.probe_status({"distinguishing_input": None,
                                   "equivalent": True}) == "set_aside"
    assert calibrate.probe_status({"distinguishing_input": None,
                                   "equivalent": None}) == "undecided"


def _task(score, statuses, weak):
    survivors = [{"distinguishing_input": {"args": "()"} if s == "d" else None,
                  "equivalent": {"d": False, "e": True, "u": None}[s]} for s in statuses]
    return {"score": score, "survivors": survivors, "oracle_weak": weak}


def test_rules_and_metrics():
    tasks = [
        _task(1.0, "", False),      # nothing survives
        _task(1.0, "e", True),      # the probes set the real survivor aside: missed
        _task(0.9, "d", True),
        _task(0.7, "dd", True),
        _task(0.95, "u", False),    # undecided: counts in the score, has no input
        _task(0.8, "d", None),      # the oracle could not tell: left out
    ]
    m = calibrate.task_metrics(tasks)
    assert m["score < 0.5"] == {"flagged": 0, "tp": 0, "fp": 0, "fn": 3, "tn": 2,
                                "precision": None, "recall": 0.0, "f1": None}
    assert m["score < 0.75"]["tp"] == 1 and m["score < 0.75"]["fp"] == 0
    assert m["score < 1.0"]["tp"] == 2 and m["score < 1.0"]["fp"] == 1
    assert m["score < 1.0"]["precision"] == pytest.approx(2 / 3)
    assert m["score < 1.0"]["recall"] == pytest.approx(2 / 3)
    any_input = m["any survivor with a distinguishing input"]
    assert (any_input["tp"], any_input["fp"], any_input["fn"]) == (2, 0, 1)
    two = m[">= 2 survivors with a distinguishing input"]
    assert (two["tp"], two["fp"], two["fn"]) == (1, 0, 2)


def test_survivor_table():
    table = calibrate.survivor_table([
        {"probe_status": "distinguished", "oracle": "real"},
        {"probe_status": "distinguished", "oracle": "real"},
        {"probe_status": "distinguished", "oracle": "equivalent_on_oracle"},
        {"probe_status": "set_aside", "oracle": "real"},
    ])
    assert table == {"distinguished": {"real": 2, "equivalent_on_oracle": 1},
                     "set_aside": {"real": 1}}


def test_oracle_child_labels_survivors_and_cuts_loops():
    """The subprocess on an inline task: a real survivor, an equivalent one, and one that
    loops on a plus input (past the cap where the canonical solution is quick)."""
    task = {"task_id": "T/0", "entry_point": "f", "atol": 0,
            "prompt": "def f(x):\n", "canonical_solution": "    return abs(x)\n",
            "base_input": [[1], [2]], "plus_input": [[-3], [0], [5]]}
    survivors = [
        ("m01", "def f(x):\n    return x\n"),                       # differs on -3
        ("m02", "def f(x):\n    return x if x > 0 else -x\n"),      # equivalent
        ("m03", "def f(x):\n    while x < 0:\n        pass\n    return x\n"),  # loops on -3
    ]
    got = calibrate.oracle_task(task, task["prompt"] + task["canonical_solution"],
                                survivors, cap=0.05)
    assert got["header"]["kept"] == 5 and not got["header"]["canonical_differs"]
    res = got["results"]
    assert calibrate.oracle_label(res["m01"]) == "real"
    assert res["m01"]["differs"]["input"] == "[-3]"
    assert calibrate.oracle_label(res["m02"]) == "equivalent_on_oracle"
    assert calibrate.oracle_label(res["m03"]) == "real"
    assert res["m03"]["differs"]["kind"] == "cap"


def test_oracle_child_flags_a_canonical_that_differs():
    task = {"task_id": "T/1", "entry_point": "f", "atol": 0,
            "prompt": "def f(x):\n", "canonical_solution": "    return x + 1\n",
            "base_input": [[1]], "plus_input": [[2]]}
    he = "def f(x):\n    return 2 if x == 1 else 0\n"  # agrees on 1 only
    got = calibrate.oracle_task(task, he, [("m01", "def f(x):\n    return 2\n")], cap=0.05)
    assert got["header"]["kept"] == 1  # the input where the two canonicals disagree is out
    assert got["header"]["canonical_differs"][0]["input"] == "[2]"
    assert calibrate.oracle_label(got["results"]["m01"]) == "equivalent_on_oracle"


def test_contract_check_marks_inputs_outside_the_contract():
    row = {"prompt": "def f(x: int) -> int:\n    \"\"\"x >= 0\"\"\"\n",
           "contract": "\n    assert x >= 0, 'invalid inputs'\n", "entry_point": "f"}
    tasks = [{"id": "T/0", "survivors": [
        {"id": "m01", "distinguishing_input": {"args": "(3,)"}},
        {"id": "m02", "distinguishing_input": {"args": "(-1,)"}},
        {"id": "m03", "distinguishing_input": {"args": "(<object>,)"}},
        {"id": "m04", "distinguishing_input": None}]}]
    calibrate.contract_check(tasks, {"T/0": row}, cap=0.05)
    marks = [m.get("in_contract", "absent") for m in tasks[0]["survivors"]]
    assert marks == [True, False, None, "absent"]
    tasks[0]["score"] = 0.5
    for m, status in zip(tasks[0]["survivors"], ("d", "d", "d", "u"), strict=True):
        m["equivalent"] = {"d": False, "u": None}[status]
    assert calibrate.rules()[calibrate.IN_CONTRACT](tasks[0])
    tasks[0]["survivors"][0]["in_contract"] = False
    assert not calibrate.rules()[calibrate.IN_CONTRACT](tasks[0])
