"""A wheel (not an editable install) carries the sandbox package and its image recipe."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from harness.sandbox.image import image_tag

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_installed_wheel_finds_the_same_recipe(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(ROOT)], check=True, timeout=600, cwd=tmp_path)
    wheel = next(wheels.glob("*.whl"))
    env_dir = tmp_path / "venv"
    # The test's own site-packages provide the dependencies; the harness comes from the wheel.
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                          text=True, check=True).stdout.strip()
    target = Path(site)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, timeout=600)
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (target / "host-deps.pth").write_text(deps + "\n")  # docker, click, ... but not ours
    probe = ("import harness, harness_sandbox, json\n"
             "from harness.sandbox.image import Recipe, image_tag\n"
             "r = Recipe.locate()\n"
             "print(json.dumps([harness.__file__, harness_sandbox.__file__, str(r.dockerfile),"
             " str(r.requirements), image_tag()]))\n")
    out = subprocess.run([str(python), "-I", "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    harness_file, sandbox_file, dockerfile, requirements, tag = json.loads(out.stdout)
    for path in (harness_file, sandbox_file, dockerfile, requirements):
        assert path.startswith(str(target)), path  # from the wheel, not this checkout
    assert dockerfile.endswith("harness_sandbox/_recipe/Dockerfile")
    assert tag == image_tag()  # the same recipe: the image built from the checkout serves
