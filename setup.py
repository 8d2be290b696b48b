"""Ships the sandbox image's recipe in the wheel.

The recipe directory is sandboxes/python (Dockerfile, requirements.txt, the
harness_sandbox package); package data cannot reach outside a package, so the two
files are copied into the built package as harness_sandbox/_recipe/.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RECIPE = Path(__file__).resolve().parent / "sandboxes" / "python"
RECIPE_FILES = ("Dockerfile", "requirements.txt")


class BuildPy(build_py):
    """build_py, plus the recipe's files beside the package's modules."""

    def run(self) -> None:
        super().run()
        dest = Path(self.build_lib) / "harness_sandbox" / "_recipe"
        dest.mkdir(parents=True, exist_ok=True)
        for name in RECIPE_FILES:
            self.copy_file(str(RECIPE / name), str(dest / name))


setup(cmdclass={"build_py": BuildPy})
