"""Type-check many solutions in one mypy call, with mypy loaded once in the fork server.

The call goes straight to mypy's build: parsing mypy's options (an argparse parser of 200
flags) and its lazy imports cost more than checking a small solution, so they happen
once here, not in every forked run.
"""

from __future__ import annotations

import os
import re
import sqlite3  # noqa: F401  (imported by the build on first use: here once, not per run)
import sysconfig
from typing import Any

import mypy.api
import mypy.nativeparse  # noqa: F401  (likewise)
from mypy.build import build
from mypy.errors import CompileError
from mypy.find_sources import create_source_list
from mypy.main import process_options
from mypy.options import Options

from harness_sandbox.protocol import DEFAULT_MYPY_ARGS

CACHE = "/cache/checker/mypy_cache"
SEED = "/opt/mypy-cache"  # typeshed's cache, built into the image so no run pays for it
DEFAULT_ARGS = DEFAULT_MYPY_ARGS
OUTPUT_ARGS = ("--show-error-codes", "--no-error-summary", "--no-pretty",
               "--hide-error-context")
LINE = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<sev>error|note): "
                  r"(?P<msg>.*)$")
_OPTIONS: dict[tuple[str, ...], Options] = {}


class BadArguments(Exception):
    """mypy refused the flags it was given."""


def options_for(args: tuple[str, ...]) -> Options:
    """mypy's options for these flags, parsed once per distinct flags in this process."""
    if args not in _OPTIONS:
        import io

        err = io.StringIO()
        try:
            _, options = process_options(
                [*args, "--cache-dir", CACHE, *OUTPUT_ARGS, "-c", "pass"],
                stdout=io.StringIO(), stderr=err)
        except SystemExit as exc:
            said = err.getvalue().strip().splitlines()
            raise BadArguments(said[-1] if said else f"exit status {exc.code}") from exc
        _OPTIONS[args] = options
    return _OPTIONS[args]


def build_seed_cache(cache: str = SEED) -> None:
    """Build mypy's cache of the standard library (at image build time)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm.py")
        with open(path, "w") as fh:
            fh.write("import collections, typing, math, re, itertools, functools, heapq, "
                     "bisect, cmath, operator, sys, array, hashlib, copy, string\n")
        mypy.api.run([*DEFAULT_ARGS, "--cache-dir", cache, path])


def seed_cache() -> None:
    """Copy the image's cache into the checker's scratch (run as the checker, at start)."""
    import shutil

    if os.path.isdir(SEED) and not os.path.exists(CACHE):
        shutil.copytree(SEED, CACHE)


def run(payload: dict[str, Any], workdir: str) -> dict[str, Any]:
    """payload: {"files": [module file names in workdir], "args": [extra mypy flags]}."""
    files = list(payload["files"])
    try:
        options = options_for(tuple(payload.get("args", [])))
    except BadArguments as exc:
        return {"exit_status": 2, "bad_arguments": str(exc)}
    os.makedirs(CACHE, exist_ok=True)
    try:
        messages = build(create_source_list(files, options), options).errors
        status = 1 if messages else 0
    except CompileError as exc:  # a blocking error (mypy's syntax check, say) stops the build
        messages, status = list(exc.messages), 2
    by_file: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
    for line in messages:
        m = LINE.match(line)
        if m and m["file"] in by_file:
            by_file[m["file"]].append({"line": int(m["line"]), "severity": m["sev"],
                                       "message": m["msg"]})
    stdout = "\n".join(messages)
    return {"exit_status": status, "by_file": by_file, "stdout": stdout[-20000:], "stderr": ""}


options_for(DEFAULT_ARGS)  # the harness's default flags, ready before any run
sysconfig.get_paths()  # mypy's search path asks for these on every build
