"""`harness verify` end to end: real Docker, real mypy, real pytest, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "problems" / "examples.jsonl"
MBPP = ROOT / "problems" / "benchmarks" / "sanitized-mbpp.json"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def harness(*args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=900)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory, sandbox_image: str) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("examples")
    runner = CliRunner()
    result = runner.invoke(main, [
        "verify", str(EXAMPLES), "-o", str(out / "verdicts.jsonl"), "--keep",
        str(out / "keep.jsonl"), "--reject", str(out / "reject.jsonl"), "--json",
        "--store", str(out / "store.sqlite"), "--timeout", "5",
    ])
    assert result.exit_code == 0, result.output
    return {"dir": out, "summary": json.loads(result.stdout)}


def test_every_example_gets_its_expected_reasons(example_run: dict[str, Any]) -> None:
    verdicts = read_jsonl(example_run["dir"] / "verdicts.jsonl")
    lines = EXAMPLES.read_text().splitlines()
    assert len(verdicts) == len(lines)  # one verdict per input line, bad lines included
    expected = {}
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if "expect" in rec.get("meta", {}):
            expected[rec["id"]] = rec["meta"]["expect"]
    by_id = {v["id"]: v for v in verdicts}
    for sample_id, reasons in expected.items():
        got = by_id[sample_id]
        assert got["reasons"] == reasons, (sample_id, got["reasons"], got["checks"])
        assert got["verdict"] == ("reject" if reasons else "keep")
    invalid = [v for v in verdicts if v["reasons"] == ["invalid_sample"]]
    assert len(invalid) == 2
    assert all("line" in v["checks"]["input"] and v["checks"]["input"]["error"] for v in invalid)
    assert [v["id"] for v in verdicts][: len(expected)] == list(expected)  # input order


def test_evidence_is_attached(example_run: dict[str, Any]) -> None:
    by_id = {v["id"]: v for v in read_jsonl(example_run["dir"] / "verdicts.jsonl")}
    syntax = by_id["broken-syntax"]["checks"]["syntax"]
    assert syntax["file"] == "solution.py" and syntax["line"] == 1
    types = by_id["broken-types"]["checks"]["types"]
    assert "Incompatible return value type" in types["errors"][0]["message"]
    failed = by_id["broken-wrong-answer"]["checks"]["tests"]
    assert failed["not_passed"][0]["nodeid"].endswith("test_five")
    assert "120" in failed["not_passed"][0]["message"]
    assert by_id["broken-skipped"]["checks"]["tests"]["outcomes"] == {"skipped": 1}
    assert by_id["broken-timeout"]["checks"]["tests"]["status"] == "timeout"
    assert by_id["good-add"]["checks"]["types"]["ok"] is True


def test_keep_and_reject_files(example_run: dict[str, Any]) -> None:
    kept = read_jsonl(example_run["dir"] / "keep.jsonl")
    rejected = read_jsonl(example_run["dir"] / "reject.jsonl")
    summary = example_run["summary"]
    assert len(kept) == summary["kept"] and len(rejected) == summary["rejected"]
    assert {k["id"] for k in kept} == {"good-add", "good-palindrome", "good-running-max",
                                       "good-stack"}
    assert all(r["reasons"] for r in rejected)
    assert all("solution" in k and "tests" in k for k in kept)


def test_summary_counts_reasons(example_run: dict[str, Any]) -> None:
    summary = example_run["summary"]
    assert summary["total"] == len(EXAMPLES.read_text().splitlines())
    assert summary["reasons"]["invalid_sample"] == 2
    assert summary["reasons"]["test_failed"] == 3
    assert summary["run"]["image_id"].startswith("sha256:")
    assert summary["run"]["tools"]["mypy"]
    assert summary["run"]["input_sha256"]
    assert summary["stage_seconds"]["tests"] > 0


def test_rerun_does_no_work(example_run: dict[str, Any]) -> None:
    out = example_run["dir"]
    result = CliRunner().invoke(main, [
        "verify", str(EXAMPLES), "-o", str(out / "again.jsonl"), "--json",
        "--store", str(out / "store.sqlite"), "--timeout", "5",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # Every sample that reached the sandbox comes from the store; only the records that
    # never did (invalid, syntax errors) are recomputed, which costs no sandbox time.
    assert summary["from_cache"] == summary["total"] - 3
    assert summary["stage_seconds"]["tests"] == 0
    strip = [(v["id"], v["reasons"]) for v in read_jsonl(out / "again.jsonl")]
    assert strip == [(v["id"], v["reasons"]) for v in read_jsonl(out / "verdicts.jsonl")]


def _slow_corpus(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            good = i % 3 != 0
            body = "return a + b" if good else "return a - b"
            fh.write(json.dumps({
                "id": f"s{i:03d}",
                "solution": f"def add{i}(a: int, b: int) -> int:\n    {body}\n",
                "tests": (f"import time\nfrom solution import add{i}\n\ndef test_it():\n"
                          f"    time.sleep(0.15)\n    assert add{i}(2, {i}) == {2 + i}\n"),
            }) + "\n")


def test_kill_and_resume_gives_the_uninterrupted_verdicts(tmp_path: Path,
                                                          sandbox_image: str) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _slow_corpus(corpus, 40)
    common = ["--no-probes", "--timeout", "5", "--no-dedup"]  # its samples are near-duplicates
    baseline = harness("verify", str(corpus), "-o", str(tmp_path / "base.jsonl"), "--no-cache",
                       *common)
    assert baseline.returncode == 0, baseline.stderr
    store = tmp_path / "store.sqlite"
    args = [sys.executable, "-m", "harness", "verify", str(corpus), "-o",
            str(tmp_path / "resumed.jsonl"), "--store", str(store), *common]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if store.exists() and _rows(store) >= 10:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _rows(store)
    assert 10 <= done_before < 40, done_before
    assert not (tmp_path / "resumed.jsonl").exists()  # no half-written verdict file
    again = harness("verify", str(corpus), "-o", str(tmp_path / "resumed.jsonl"), "--store",
                    str(store), "--json", *common)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["from_cache"] == done_before
    base = read_jsonl(tmp_path / "base.jsonl")
    resumed = read_jsonl(tmp_path / "resumed.jsonl")
    assert [(v["id"], v["verdict"], v["reasons"]) for v in resumed] == \
        [(v["id"], v["verdict"], v["reasons"]) for v in base]
    assert len({v["id"] for v in resumed}) == 40


def _rows(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
            return sum(db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)
    except sqlite3.Error:
        return 0


def test_stdin_and_mbpp_import(tmp_path: Path, sandbox_image: str) -> None:
    records = json.loads(MBPP.read_text())[:6]
    stdin = "\n".join(json.dumps(r) for r in records) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "verify", "-", "-o", str(tmp_path / "v.jsonl"),
         "--format", "mbpp", "--json", "--no-cache", "--no-probes"],
        input=stdin, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    verdicts = read_jsonl(tmp_path / "v.jsonl")
    assert [v["id"] for v in verdicts] == [str(r["task_id"]) for r in records]
    assert json.loads(result.stdout)["kept"] >= 5


def test_config_file_and_environment(tmp_path: Path, sandbox_image: str) -> None:
    cfg = tmp_path / "harness.toml"
    cfg.write_text("[verify]\ntimeout = 7.5\nmemory = 300\nno_probes = true\n")
    corpus = tmp_path / "one.jsonl"
    _slow_corpus(corpus, 1)
    out = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"), "--config", str(cfg),
                  "--json", "--no-cache", env={"HARNESS_MEMORY": "400"})
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)["run"]["config"]
    assert config["timeout"] == 7.5  # from the file
    assert config["memory_mb"] == 400  # the environment beats the file
    assert config["probes"] == []
    flag = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"), "--config", str(cfg),
                   "--json", "--no-cache", "--timeout", "3", env={"HARNESS_TIMEOUT": "4"})
    assert json.loads(flag.stdout)["run"]["config"]["timeout"] == 3.0  # the flag beats both


def test_errors_name_the_fix(tmp_path: Path) -> None:
    missing = harness("verify", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "v.jsonl"))
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    corpus = tmp_path / "one.jsonl"
    _slow_corpus(corpus, 1)
    no_image = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"),
                       env={"HARNESS_IMAGE": "harness-sandbox:does-not-exist"})
    assert no_image.returncode == 1
    assert "harness sandbox build" in no_image.stderr and "Traceback" not in no_image.stderr
    no_docker = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"),
                        env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert no_docker.returncode == 1
    assert "Docker engine not reachable" in no_docker.stderr
    bad_mypy = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"), "--no-cache",
                       "--no-probes", "--mypy-args", "--no-such-flag")
    assert bad_mypy.returncode == 1
    assert "mypy refused --mypy-args" in bad_mypy.stderr and "--no-such-flag" in \
        bad_mypy.stderr and "Traceback" not in bad_mypy.stderr
    assert "Traceback" not in no_docker.stderr
    usage = harness("verify", str(corpus), "--probes", "bogus")
    assert usage.returncode == 2
    debug = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"),
                    env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock", "HARNESS_DEBUG": "1"})
    assert "Traceback" in debug.stderr


def test_malformed_input_of_each_kind(tmp_path: Path, sandbox_image: str) -> None:
    good = {"id": "ok", "solution": "def one() -> int:\n    return 1\n",
            "tests": "from solution import one\n\ndef test_one():\n    assert one() == 1\n"}
    lines = [
        b"{not json",
        b"[1, 2, 3]",
        json.dumps({"id": "no-solution", "tests": "x"}).encode(),
        json.dumps({"id": "not-text", "solution": 5, "tests": "x"}).encode(),
        b'{"id": "bad-utf8", "solution": "\xff\xfe", "tests": "x"}',
        json.dumps({"id": "huge", "solution": "x" * (50 * 2**20), "tests": "x"}).encode(),
        json.dumps(good).encode(),
    ]
    corpus = tmp_path / "bad.jsonl"
    corpus.write_bytes(b"\n".join(lines) + b"\n")
    result = harness("verify", str(corpus), "-o", str(tmp_path / "v.jsonl"), "--json",
                     "--no-cache", "--no-probes")
    assert result.returncode == 0, result.stderr
    verdicts = read_jsonl(tmp_path / "v.jsonl")
    assert len(verdicts) == len(lines)
    assert [v["reasons"] for v in verdicts[:-1]] == [["invalid_sample"]] * (len(lines) - 1)
    assert [v["checks"]["input"]["line"] for v in verdicts[:-1]] == list(range(1, len(lines)))
    assert verdicts[-1]["id"] == "ok" and verdicts[-1]["verdict"] == "keep"


def test_mypy_args_change_the_type_check(tmp_path: Path, sandbox_image: str) -> None:
    corpus = tmp_path / "untyped.jsonl"
    corpus.write_text(json.dumps({
        "id": "untyped", "solution": "def double(x):\n    return x * 2\n",
        "tests": "from solution import double\n\ndef test_it():\n    assert double(2) == 4\n",
    }) + "\n")
    verdicts = {}
    for name, extra in (("default", []), ("strict", ["--mypy-args", "--disallow-untyped-defs"])):
        out = harness("verify", str(corpus), "-o", str(tmp_path / f"{name}.jsonl"), "--no-cache",
                      "--no-probes", *extra)
        assert out.returncode == 0, out.stderr
        verdicts[name] = read_jsonl(tmp_path / f"{name}.jsonl")[0]
    assert verdicts["default"]["verdict"] == "keep"
    assert verdicts["strict"]["reasons"] == ["type_error"]
    error = verdicts["strict"]["checks"]["types"]["errors"][0]
    assert error["line"] == 1 and "missing a type annotation" in error["message"]
