"""Measures the dataset-hygiene filters (dedup, decontamination): the figures behind
their default thresholds, their false positives and their throughput.

    python bench/hygiene.py [--samples 100000] [--no-embeddings] [--only SECTION ...]

Sections: dedup (thresholds on HumanEval + MBPP and copies of them), decontam (n and
threshold of the n-gram overlap), embeddings (cosine threshold), examples (false
positives on the project's own problems), cross (each benchmark against the other),
throughput (both filters on synthetic samples, samples/s and peak RSS, each in a
child process of its own).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hygiene_variants import copy_of, synthetic  # noqa: E402

from harness.filters import Decontaminate, Dedup, load_default  # noqa: E402
from harness.filters.benchmarks import BenchmarkSet  # noqa: E402
from harness.filters.normalize import code_tokens, shingles, words  # noqa: E402
from harness.records import Sample  # noqa: E402
from harness.sources import read_samples  # noqa: E402

OWN = [ROOT / "problems" / "examples.jsonl", ROOT / "problems" / "seeds.jsonl"]


def benchmarks() -> tuple[BenchmarkSet, BenchmarkSet]:
    return load_default("humaneval"), load_default("mbpp")


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def section_dedup() -> None:
    he, mb = benchmarks()
    originals = list(he.items) + list(mb.items)
    rng = random.Random(7)
    kinds = ("renamed", "edited", "paraphrased")
    copies = {k: [copy_of(s, k, rng) for s in originals] for k in kinds}
    print("## dedup: 5-gram Jaccard (exact sets), originals vs their copies")
    for field, toks in (("code/canonical", lambda s: code_tokens(s.solution)),
                        ("code/placeholder", lambda s: code_tokens(s.solution, "placeholder")),
                        ("code/keep", lambda s: code_tokens(s.solution, "keep")),
                        ("prompt", lambda s: words(s.prompt))):
        sets = [set(shingles(toks(s), 5)) for s in originals]
        pairs = [jaccard(a, b) for a, b in itertools.combinations(sets, 2)]
        print(f"{field}: distinct pairs ({len(pairs)}) at or over t: " + ", ".join(
            f"{t}: {sum(p >= t for p in pairs)}" for t in (0.5, 0.6, 0.7, 0.8, 0.9)))
        for kind in kinds:
            sims = [jaccard(a, set(shingles(toks(c), 5)))
                    for a, c in zip(sets, copies[kind], strict=True)]
            print(f"  {kind:11s} copies at or over t: " + ", ".join(
                f"{t}: {sum(x >= t for x in sims) / len(sims):.1%}"
                for t in (0.5, 0.6, 0.7, 0.8, 0.9)))
    print("\n## dedup end to end (the filter, MinHash LSH): originals, then one kind of copy")
    print("t_code t_prompt | originals flagged | renamed edited paraphrased caught")
    for t_code, t_prompt in ((0.6, 0.6), (0.7, 0.7), (0.8, 0.8), (0.9, 0.9), (0.7, None),
                             (0.8, None), (None, 0.7)):
        caught = {}
        for kind in kinds:
            dedup = Dedup(code_threshold=t_code, prompt_threshold=t_prompt)
            flagged = sum(bool(dedup.judge(s).reasons) for s in originals)
            caught[kind] = sum(bool(dedup.judge(c).reasons) for c in copies[kind])
        print(f"{t_code!s:6} {t_prompt!s:8} | {flagged:3d} of {len(originals)} | " + " ".join(
            f"{caught[k] / len(originals):7.1%}" for k in kinds))
    dedup = Dedup()
    print("\nflagged among the originals with the defaults:")
    for s in originals:
        out = dedup.judge(s)
        if out.reasons and out.facts is not None:
            print(f"  {s.id} -> {json.dumps(out.facts.to_json())}")


def section_decontam() -> None:
    he, mb = benchmarks()
    rng = random.Random(11)
    print("## decontam: n-gram overlap (containment of the item's n-grams)")
    print("names       n  t   | HE->MBPP MBPP->HE | verbatim renamed paraphrased+edited "
          "(of HE+MBPP) | own")
    own = own_samples()
    for names, n, t in itertools.product(("canonical", "placeholder"), (8, 10, 13),
                                         (0.3, 0.5, 0.8)):
        kw = {"text_ngram": n, "code_ngram": n, "threshold": t, "code_names": names}
        against_mb = Decontaminate([mb], **kw)  # type: ignore[arg-type]
        against_he = Decontaminate([he], **kw)  # type: ignore[arg-type]
        both = Decontaminate([he, mb], **kw)  # type: ignore[arg-type]
        cross = (sum(bool(against_mb.judge(s).reasons) for s in he.items),
                 sum(bool(against_he.judge(s).reasons) for s in mb.items))
        items = list(he.items) + list(mb.items)
        caught = [sum(bool(both.judge(copy_of(s, k, rng)).reasons) for s in items) / len(items)
                  for k in ("verbatim", "renamed", "paraphrased")]
        fp = sum(bool(both.judge(s).reasons) for s in own)
        print(f"{names:11s} {n:2d} {t:.1f} | {cross[0]:8d} {cross[1]:8d} | " + " ".join(
            f"{c:8.1%}" for c in caught) + f" | {fp} of {len(own)}")


def section_embeddings() -> None:
    from harness.filters import EmbeddingDecontaminate
    from harness.filters.semantic import THRESHOLD

    he, mb = benchmarks()
    rng = random.Random(13)
    started = time.perf_counter()
    filt = EmbeddingDecontaminate([he, mb])  # encodes every item once
    items = list(he.items) + list(mb.items)
    para = filt.similarities([copy_of(s, "paraphrased", rng).prompt for s in items])
    seconds = time.perf_counter() - started
    own = own_samples()
    own_best = filt.similarities([s.prompt for s in own]).max(axis=1)
    matrix = filt._matrix
    cross = matrix[:len(he.items)] @ matrix[len(he.items):].T
    he_vs_mb, mb_vs_he = cross.max(axis=1), cross.max(axis=0)
    to_own = [float(para[i, i]) for i in range(len(items))]
    print(f"## embeddings: {2 * len(items)} texts encoded in {seconds:.1f} s "
          f"({2 * len(items) / seconds:.1f} texts/s)")
    print("t    | paraphrase -> its item | HE->MBPP MBPP->HE | own")
    for t in (0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        print(f"{t:.2f} | {sum(x >= t for x in to_own) / len(items):22.1%} | "
              f"{int((he_vs_mb >= t).sum()):8d} {int((mb_vs_he >= t).sum()):8d} | "
              f"{int((own_best >= t).sum())} of {len(own)}")
    print(f"at the default {THRESHOLD}: HumanEval items flagged against MBPP:")
    for i in (he_vs_mb >= THRESHOLD).nonzero()[0]:
        j = int(cross[i].argmax())
        print(f"  {he.items[i].id} ~ mbpp {mb.items[j].id} ({cross[i, j]:.3f})")


def own_samples() -> list[Sample]:
    out: list[Sample] = []
    for path in OWN:
        if path.exists():
            out += [s for s in read_samples(str(path)) if isinstance(s, Sample)]
    return out


def section_examples() -> None:
    he, mb = benchmarks()
    print("## false positives on the project's own problems (defaults)")
    for path in OWN:
        if not path.exists():
            print(f"{path.relative_to(ROOT)}: absent, skipped")
            continue
        samples = [s for s in read_samples(str(path)) if isinstance(s, Sample)]
        decontam = Decontaminate([he, mb])
        hits = [(s.id, decontam.judge(s)) for s in samples]
        flagged = [(i, o.facts.to_json()) for i, o in hits if o.reasons and o.facts]
        print(f"{path.relative_to(ROOT)}: n-gram flags {len(flagged)} of {len(samples)}")
        for ident, facts in flagged:
            print(f"  {ident}: {json.dumps(facts)}")


def section_cross() -> None:
    he, mb = benchmarks()
    print("## each benchmark against the other, n-grams (defaults; sanity figure; "
          "embeddings: see their section)")
    for a, b in ((he, mb), (mb, he)):
        decontam = Decontaminate([b])
        flagged = [(s.id, decontam.judge(s)) for s in a.items]
        hits = [(i, o.facts.to_json()) for i, o in flagged if o.reasons and o.facts]
        print(f"{a.name} against {b.name}, n-grams: {len(hits)} of {len(a.items)}")
        for ident, facts in hits[:10]:
            print(f"  {ident}: {json.dumps(facts)}")


def throughput_child(which: str, n: int) -> None:
    """One filter over n synthetic samples; prints one JSON line of figures."""
    rng = random.Random(5)
    if which == "dedup":
        filt: Dedup | Decontaminate = Dedup()
    else:
        he, mb = benchmarks()
        filt = Decontaminate([he, mb])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flagged = 0
    started = time.perf_counter()
    recent: list[Sample] = []
    for i in range(n):
        if i % 10 == 9:  # every tenth sample a renamed copy of one of the nine before it
            sample = copy_of(rng.choice(recent), "renamed", rng)
        else:
            sample = synthetic(i, rng)
            recent = [*recent[-8:], sample]
        flagged += bool(filt.judge(sample).reasons)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"filter": which, "samples": n, "seconds": round(seconds, 1),
                      "per_second": round(n / seconds), "flagged": flagged,
                      "peak_rss_mib": round(rss / 1024), "rss_at_start_mib":
                      round(rss_before / 1024)}))


def section_throughput(n: int) -> None:
    print(f"## throughput on {n} synthetic samples (one in ten a renamed copy)")
    for which in ("dedup", "decontam"):
        out = subprocess.run([sys.executable, __file__, "--child", which, "--samples", str(n)],
                             capture_output=True, text=True, check=True)
        print(out.stdout.strip())
    gen = subprocess.run([sys.executable, __file__, "--child", "none", "--samples", str(n)],
                         capture_output=True, text=True, check=True)
    print(gen.stdout.strip())


def generation_child(n: int) -> None:
    """The cost of making the synthetic samples alone (subtract it from the above)."""
    rng = random.Random(5)
    started = time.perf_counter()
    for i in range(n):
        synthetic(i, rng)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"filter": "none (making the samples)", "samples": n,
                      "seconds": round(seconds, 1), "peak_rss_mib": round(rss / 1024)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child == "none":
        return generation_child(args.samples)
    if args.child:
        return throughput_child(args.child, args.samples)
    sections = {"dedup": section_dedup, "decontam": section_decontam,
                "embeddings": section_embeddings, "examples": section_examples,
                "cross": section_cross, "throughput": lambda: section_throughput(args.samples)}
    if args.no_embeddings:
        sections.pop("embeddings")
    for name in args.only or sections:
        sections[name]()
        print(flush=True)


if __name__ == "__main__":
    main()
