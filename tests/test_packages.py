"""Third-party packages: a sample that needs numpy is `missing_dependency` in the default
image, naming the command that adds it, and kept in an image built `--with numpy`,
where mypy sees numpy's own types too. Real image builds (offline: wheels downloaded on
the host), real Docker."""

from __future__ import annotations

import json

import pytest

from harness.config import VerifyConfig
from harness.records import Sample, Verdict
from harness.sandbox.image import build, image_packages, image_tag
from harness.session import Session

NUMPY_SAMPLE = Sample("numpy-mean", """\
import numpy as np


def centered(values: list[float]) -> list[float]:
    arr = np.asarray(values, dtype=float)
    return [float(x) for x in arr - arr.mean()]
""", """\
from solution import centered


def test_centered():
    assert centered([1.0, 2.0, 3.0]) == [-1.0, 0.0, 1.0]
    assert centered([5.0]) == [0.0]
    assert centered([2.0, 4.0]) == [-1.0, 1.0]
""", entry_point="centered")

# numpy's own annotations make this a type error only where mypy can see numpy.
NUMPY_TYPE_ERROR = Sample("numpy-typed", """\
import numpy as np


def total(values: list[int]) -> str:
    return np.zeros(len(values))
""", """\
from solution import total


def test_total():
    total([1])
""", entry_point="total")


@pytest.fixture(scope="module")
def numpy_image(sandbox_image: str) -> str:
    return build(say=lambda _msg: None, extras=["numpy"])


def verify(image: str, *samples: Sample) -> dict[str, Verdict]:
    with Session(VerifyConfig(workers=1), image=image) as s:
        return {sample.id: verdict for sample, verdict in s.verify(samples)}


def test_without_numpy_the_sample_names_what_to_build(sandbox_image: str) -> None:
    got = verify(sandbox_image, NUMPY_SAMPLE)["numpy-mean"]
    assert got.reasons == ["missing_dependency"], got.checks["tests"]
    missing = got.checks["tests"]["missing"]
    assert missing["module"] == "numpy"
    assert missing["command"] == "harness sandbox build --with numpy"


def test_with_numpy_the_sample_is_kept(numpy_image: str) -> None:
    assert numpy_image != image_tag()  # an image of its own, beside the default one
    assert numpy_image == image_tag(["numpy"])
    assert "numpy" in image_packages(numpy_image)
    got = verify(numpy_image, NUMPY_SAMPLE, NUMPY_TYPE_ERROR)
    assert got["numpy-mean"].reasons == [], (got["numpy-mean"].checks.get("tests"),
                                             got["numpy-mean"].checks.get("probes"))
    # mypy inside the image reads numpy's annotations: the bad return type is found.
    assert got["numpy-typed"].reasons[:1] == ["type_error"], got["numpy-typed"].checks["types"]


def test_the_run_record_lists_the_image_packages(numpy_image: str, tmp_path: object) -> None:
    from pathlib import Path

    from click.testing import CliRunner

    from harness.cli import main

    folder = Path(str(tmp_path))
    corpus = folder / "np.jsonl"
    corpus.write_text(json.dumps(NUMPY_SAMPLE.to_json()) + "\n")
    result = CliRunner().invoke(main, ["verify", str(corpus), "-o", str(folder / "v.jsonl"),
                                       "--json", "--no-cache", "--image", numpy_image,
                                       "--keep-warm", "0"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["run"]["packages"]["numpy"]
    assert summary["kept"] == 1
