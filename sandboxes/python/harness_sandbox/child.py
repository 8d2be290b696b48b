"""The forked child of a run: confine itself, run the job, write the result record."""

from __future__ import annotations

import json
import os
import sys
import traceback
from types import ModuleType
from typing import Any, cast

from harness_sandbox import pytest_job
from harness_sandbox.confine import enter_sandbox, write_all
from harness_sandbox.protocol import JobKind, ResultRecord, RunRequest

SETUP_FAILED = 70  # the child's exit code when it failed before or while running the job
MEMORY_ERROR = 71


def child_main(req: RunRequest, uid: int, workdir: str, fds: dict[str, int],
               handler: ModuleType | None, missing: str) -> None:
    """Runs in the forked child; never returns. `fds`: out, err, res (the result pipe).

    `handler`: a call job's handler module (None: `missing` says why).
    """
    code = SETUP_FAILED
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds["out"], 1)
        os.dup2(fds["err"], 2)
        res = fds["res"]
        os.closerange(3, res)
        os.closerange(res + 1, 65536)
        env = enter_sandbox(req, uid, workdir)
        job = req["job"]
        kind = job["kind"]
        record: ResultRecord
        if kind == JobKind.COMMAND:
            os.close(res)
            argv = job.get("argv") or []
            os.execvpe(argv[0], argv, env)
        if kind == JobKind.PYTEST:
            record = cast(ResultRecord, pytest_job.run(job.get("args") or [], workdir,
                                                       bool(job.get("rewrite"))))
        elif kind == JobKind.CALL:
            if handler is None:
                raise LookupError(missing)
            record = {"complete": True, "data": handler.run(job.get("payload") or {},
                                                             workdir)}
        else:
            record = {"complete": False, "error": f"unknown job kind {kind!r}"}
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        write_all(res, json.dumps(record, default=repr).encode())
        code = record.get("exit_code", 0)
    except MemoryError:
        write_all(fds["res"], b'{"complete": false, "memory_error": true}')
        code = MEMORY_ERROR
    except BaseException as exc:
        try:
            os.write(2, traceback.format_exc().encode(errors="replace")[-8000:])
            error: dict[str, Any] = {"complete": False,
                                     "error": f"{exc.__class__.__name__}: {exc}"[:2000]}
            write_all(fds["res"], json.dumps(error).encode())
        except Exception:
            pass
    os._exit(code)
