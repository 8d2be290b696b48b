"""The body of `harness generate` (the CLI only parses flags and calls `run_command`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.config import VerifyConfig
from harness.generate.client import resolve_endpoint
from harness.generate.config import GenerateConfig
from harness.generate.driver import generate
from harness.generate.manifest import render_summary


def run_command(*, model: str, base_url: str | None, outdir: str, store: str | None,
                image: str | None, verify: VerifyConfig, console: Console, progress: bool,
                as_json: bool, **options: Any) -> dict[str, Any]:
    """Resolve the endpoint, run, print the summary; the manifest (as JSON data)."""
    url, key = resolve_endpoint(base_url, None)
    cfg = GenerateConfig(model=model, base_url=url, verify=verify, **options)
    generate(cfg, outdir, api_key=key, store_path=store, image=image, console=console,
             progress=progress)
    data: dict[str, Any] = json.loads((Path(outdir) / "manifest.json").read_text())
    render_summary(data, console)
    console.print(f"wrote {outdir}/kept.jsonl, {outdir}/rejected.jsonl, "
                  f"{outdir}/manifest.json", highlight=False)
    if as_json:
        print(json.dumps({k: data[k] for k in ("kept", "funnel", "tokens", "time")}, indent=2))
    return data
