"""How fast `harness generate` drives a model endpoint, and what it costs itself.

Against the loopback OpenAI server of the tests (tests/openai_server.py), scripted to
propose a distinct problem per request with a correct solution and test module:

1. throughput: requests/s at --concurrency 32 with 300 ms added to every reply (the
   bound is 32 / 0.3 s = 106.7/s); verification is a stand-in that keeps every pair, so
   the figure is the client's and the stages', not the sandbox's;
2. harness time per kept sample: wall time less the time waiting for the model, less
   verifying, less starting the sandbox, over the kept samples -- with the stand-in
   (the stages alone), and once with the real sandbox through Session (a few samples);
3. memory: peak RSS growth over 10,000 generated samples (0 ms latency, stand-in
   verification: 30,000 requests through cache, parsing, similarity, selection and
   provenance; the kept samples are all held, as the pool needs them).

    python3 bench/generate_throughput.py [--reps 3] [--requests 320] [--memory-samples 10000]

Medians over --reps repetitions are printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import resource
import statistics
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.config import VerifyConfig  # noqa: E402
from harness.generate import GenerateConfig, generate  # noqa: E402
from harness.records import Sample, Verdict  # noqa: E402
from tests.openai_server import OpenAIServer, Scripted, fenced, template_of, user_text  # noqa: E402

VOCAB = [f"w{i}" for i in range(3000)]


def script(body: dict[str, Any]) -> Scripted:
    """A distinct problem per request (random words: ROUGE-L to any other is tiny)."""
    name = template_of(body)
    text = user_text(body)
    if name == "problem.v1":
        rng = random.Random(body["seed"])
        words = " ".join(rng.choice(VOCAB) for _ in range(30))
        fn = f"f_{body['seed']}"
        return Scripted(f"Problem: Return the input plus one; {words}.\nSignature:\n"
                        f"```python\ndef {fn}(x: int) -> int:\n```\n")
    match = re.search(r"from solution import (\w+)`|defines\s+`(\w+)`", text)
    fn = (match.group(1) or match.group(2)) if match else "f"
    if name == "solution.v1":
        return Scripted(fenced(f"def {fn}(x: int) -> int:\n    return x + 1\n"))
    return Scripted(fenced(f"from solution import {fn}\n\ndef test_one():\n"
                           f"    assert {fn}(1) == 2\n    assert {fn}(-1) == 0\n"))


class KeepAll:
    """Verification stand-in: every pair kept, with the facts selection reads."""

    def verify(self, samples: Iterable[Sample]) -> Iterator[tuple[Sample, Verdict]]:
        for s in samples:
            yield s, Verdict(id=s.id, checks={"tests": {"status": "ok", "collected": 1},
                                              "probes": {"mutation": {"score": 1.0}}})


def one_run(problems: int, latency: float, concurrency: int, real: bool = False,
            ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, \
            OpenAIServer(script, latency=latency, keep=False) as srv:
        cfg = GenerateConfig(model="bench", base_url=srv.url, problems=problems,
                             solutions=1, tests=1, max_repairs=0, concurrency=concurrency,
                             examples=4, min_real=2, max_retries=0, timeout=60,
                             verify=VerifyConfig(workers=2))
        generate(cfg, tmp, api_key="bench", verifier=None if real else KeepAll())
        # the file written at the end of the run (the Session's teardown comes after it)
        manifest = json.loads((Path(tmp) / "manifest.json").read_text())
        return {"requests": srv.count, "time": manifest["time"], "kept": manifest["kept"]}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--requests", type=int, default=320, help="problems per run (x3 requests)")
    ap.add_argument("--memory-samples", type=int, default=10000)
    ap.add_argument("--no-sandbox", action="store_true", help="skip the real-sandbox run")
    args = ap.parse_args()

    rates, overheads = [], []
    for _ in range(args.reps):
        r = one_run(args.requests, latency=0.3, concurrency=32)
        rates.append(r["requests"] / r["time"]["waiting_for_model_s"])
        overheads.append(r["time"]["harness_s_per_kept"])
    bound = 32 / 0.3
    import os

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    result: dict[str, Any] = {
        "requests_per_s_at_32": round(statistics.median(rates), 1),
        "bound": round(bound, 1),
        "share_of_bound": round(statistics.median(rates) / bound, 3),
        "harness_ms_per_kept_stubbed_verify": round(statistics.median(overheads) * 1000, 2),
    }
    print(json.dumps(result), flush=True)
    if not args.no_sandbox:
        from harness.sandbox.image import build

        build(say=lambda _m: None)  # the recipe's tag follows the harness's own files
        real = [one_run(4, latency=0.0, concurrency=8, real=True) for _ in range(args.reps)]
        result["harness_ms_per_kept_real_sandbox"] = round(statistics.median(
            r["time"]["harness_s_per_kept"] for r in real) * 1000, 1)
        result["verify_s_per_kept_real_sandbox"] = round(statistics.median(
            r["time"]["verifying_s"] / max(r["kept"], 1) for r in real), 3)
        print(json.dumps(result), flush=True)
    if not args.memory_samples:
        return
    gc.collect()
    before = rss_mb()
    big = one_run(args.memory_samples, latency=0.0, concurrency=64)
    result["memory"] = {"samples": big["kept"], "requests": big["requests"],
                        "peak_rss_mb_before": round(before, 1),
                        "peak_rss_mb_after": round(rss_mb(), 1),
                        "growth_kb_per_sample": round((rss_mb() - before) * 1024
                                                      / max(big["kept"], 1), 2),
                        "wall_s": big["time"]["total_s"]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
