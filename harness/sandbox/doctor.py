"""`harness sandbox doctor`: can the sandbox run here, and what is missing?"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError


def _finding(check: str, state: str, detail: str, fix: str = "") -> dict[str, str]:
    return {"check": check, "state": state, "detail": detail, "fix": fix}


def diagnose() -> list[dict[str, str]]:
    """Every check in order; later checks are skipped when the engine is unreachable."""
    from harness.sandbox.docker_io import client
    from harness.sandbox.image import image_id, image_tag

    out = []
    try:
        docker_client = client()
        info: dict[str, Any] = docker_client.info()
        version = docker_client.version().get("Version", "?")
    except HarnessError as exc:
        return [_finding("engine", "fail", str(exc), "start Docker or set DOCKER_HOST")]
    out.append(_finding("engine", "ok", f"Docker {version}, {info.get('OperatingSystem', '')}"))
    cgroup = str(info.get("CgroupVersion", "?"))
    out.append(_finding("cgroup", "ok", f"cgroup v{cgroup}, driver {info.get('CgroupDriver')}"))
    for key, what, fix in (
        ("MemoryLimit", "memory limit", "enable the memory cgroup controller"),
        ("SwapLimit", "memory+swap limit",
         "boot with cgroup_enable=memory swapaccount=1 (swap could exceed the limit)"),
        ("PidsLimit", "pids limit", "enable the pids cgroup controller (fork bombs)"),
        ("CpuCfsQuota", "CPU quota", "enable CFS bandwidth control (CONFIG_CFS_BANDWIDTH)"),
    ):
        ok = bool(info.get(key))
        out.append(_finding(what, "ok" if ok else "warn",
                            "enforceable" if ok else "not enforceable", "" if ok else fix))
    security = " ".join(info.get("SecurityOptions") or [])
    out.append(_finding("seccomp", "ok" if "seccomp" in security else "warn",
                        security or "none", "" if "seccomp" in security else
                        "run Docker with its default seccomp profile"))
    runtimes = sorted((info.get("Runtimes") or {}).keys())
    gvisor = "runsc" in runtimes
    out.append(_finding("gVisor", "ok" if gvisor else "info", ", ".join(runtimes),
                        "" if gvisor else "install gVisor (runsc) for a kernel boundary"))
    tag = image_tag()
    try:
        ident = image_id(tag)
    except Exception:
        out.append(_finding("image", "fail", f"{tag} is not built", "run `harness sandbox build`"))
        return out
    out.append(_finding("image", "ok", f"{tag} {ident[:19]}"))
    out.append(_live_check(tag))
    return out


def _live_check(tag: str) -> dict[str, str]:
    from harness.sandbox.pool import Pool
    from harness.sandbox.result import Limits, PytestJob

    files = {"solution.py": "def f():\n    return 1\n",
             "test_solution.py": "from solution import f\n\ndef test_f():\n    assert f() == 1\n"}
    try:
        with Pool(size=1, image=tag, run_id="doctor") as pool:
            pool.run(files, PytestJob(), Limits(timeout=10))
            started = time.perf_counter()
            result = pool.run(files, PytestJob(), Limits(timeout=10))
            ms = (time.perf_counter() - started) * 1000
            versions = ", ".join(f"{k} {v}" for k, v in pool.versions.items())
    except HarnessError as exc:
        return _finding("live run", "fail", str(exc), "run `harness sandbox build --force`")
    state = "ok" if result.passed else "fail"
    return _finding("live run", state, f"{result.status.value} in {ms:.0f} ms; {versions}",
                    "" if result.passed else result.detail)


def render(findings: list[dict[str, str]], console: Console) -> None:
    table = Table(title="sandbox doctor")
    for col in ("check", "state", "detail", "what to do"):
        table.add_column(col)
    colour = {"ok": "green", "warn": "yellow", "fail": "red", "info": "blue"}
    for f in findings:
        table.add_row(f["check"], f"[{colour[f['state']]}]{f['state']}[/]", f["detail"], f["fix"])
    console.print(table)
