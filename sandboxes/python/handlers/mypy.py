"""Type-check many solutions in one mypy call (mypy is imported once, in the fork server)."""

from __future__ import annotations

import os
import re
from typing import Any

import mypy.api

CACHE = "/cache/checker/mypy_cache"
SEED = "/opt/mypy-cache"  # typeshed's cache, built into the image so no run pays for it
DEFAULT_ARGS = ("--ignore-missing-imports", "--follow-imports=silent")  # = the harness's


def warm(cache: str = SEED) -> None:
    """Build mypy's cache of the standard library (at image build time)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm.py")
        with open(path, "w") as fh:
            fh.write("import collections, typing, math, re, itertools, functools\n")
        mypy.api.run([*DEFAULT_ARGS, "--cache-dir", cache, path])


def seed_cache() -> None:
    """Copy the image's cache into the checker's scratch (run as the checker, at start)."""
    import shutil

    if os.path.isdir(SEED) and not os.path.exists(CACHE):
        shutil.copytree(SEED, CACHE)
LINE = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<sev>error|note): "
                  r"(?P<msg>.*)$")


def run(payload: dict[str, Any], workdir: str) -> dict[str, Any]:
    """payload: {"files": [module file names in workdir], "args": [extra mypy flags]}."""
    files = list(payload["files"])
    args = [*payload.get("args", []), "--cache-dir", CACHE, "--show-error-codes",
            "--no-error-summary", "--no-pretty", "--hide-error-context", *files]
    os.makedirs(CACHE, exist_ok=True)
    stdout, stderr, status = mypy.api.run(args)
    by_file: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
    for line in stdout.splitlines():
        m = LINE.match(line)
        if m and m["file"] in by_file:
            by_file[m["file"]].append({"line": int(m["line"]), "severity": m["sev"],
                                       "message": m["msg"]})
    return {"exit_status": status, "by_file": by_file, "stdout": stdout[-20000:],
            "stderr": stderr[-4000:]}
