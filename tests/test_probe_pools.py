"""`probelib/_pools.py` must be what the image's pinned hypothesis draws."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness_sandbox.probelib import pools


@pytest.mark.slow
def test_committed_pools_are_what_the_pinned_hypothesis_draws(sandbox_image: str) -> None:
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", sandbox_image,
         "python", "-I", "-m", "harness_sandbox.probelib.pools", "--print"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    committed = Path(pools.__file__).with_name("_pools.py").read_text(encoding="utf-8")
    assert out.stdout == committed
