"""manifest.json (what the run was and what it did) and the summary table."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.generate.config import GenerateConfig
from harness.generate.funnel import STAGES
from harness.generate.prompts import Template

if TYPE_CHECKING:
    from harness.generate.context import Context
    from harness.generate.driver import TimedVerifier


class Manifest:
    """Collects the run's facts; `write` puts them in OUTDIR/manifest.json atomically."""

    def __init__(self, cfg: GenerateConfig, templates: dict[str, Template]) -> None:
        self.cfg = cfg
        self.started = time.perf_counter()
        self.setup_s = 0.0  # starting the sandbox pool
        self.ctx: Context | None = None
        self.verifier: TimedVerifier | None = None
        self.data: dict[str, Any] = {
            "harness": __version__,
            "model": cfg.model,
            "endpoint": cfg.base_url,
            "config": cfg.to_json(),
            "templates": {name: {"hash": t.digest, "system": t.system, "user": t.user}
                          for name, t in templates.items()},
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rounds": [],
        }

    def seeds(self, path: str, count: int) -> None:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        self.data["seeds"] = {"path": path, "sha256": digest, "count": count}

    def bind(self, ctx: Context, verifier: TimedVerifier, versions: dict[str, str]) -> None:
        self.ctx, self.verifier = ctx, verifier
        self.data["image_id"] = ctx.image_id
        self.data["tool_versions"] = versions

    def round(self, round_no: int, kept: int, diversity: dict[str, Any],
              alarms: list[str]) -> None:
        self.data["rounds"].append({"round": round_no, "kept": kept, "diversity": diversity,
                                    "warnings": alarms})

    def tokens(self) -> dict[str, Any]:
        assert self.ctx is not None
        per = {stage: u.to_json() for stage, u in self.ctx.client.usage.items()}
        spent_in = sum(u["prompt_tokens"] for u in per.values())
        spent_out = sum(u["completion_tokens"] for u in per.values())
        all_in = spent_in + sum(u["cached_prompt_tokens"] for u in per.values())
        all_out = spent_out + sum(u["cached_completion_tokens"] for u in per.values())
        return {"per_stage": per, "this_run": {"prompt": spent_in, "completion": spent_out},
                "dataset": {"prompt": all_in, "completion": all_out},
                "cost_usd": {"this_run": self.cfg.cost(spent_in, spent_out),
                             "dataset": self.cfg.cost(all_in, all_out)}}

    def snapshot(self, complete: bool) -> dict[str, Any]:
        assert self.ctx is not None and self.verifier is not None
        total = time.perf_counter() - self.started
        llm, verify = self.ctx.client.wait_seconds, self.verifier.seconds
        kept = sum(r["kept"] for r in self.data["rounds"])
        harness_s = max(0.0, total - self.setup_s - llm - verify)
        return {**self.data, "complete": complete,
                "funnel": self.ctx.funnel.to_json(),
                "kept": kept,
                "rejected_records": self.ctx.rejected.count,
                "tokens": self.tokens(),
                "time": {"total_s": round(total, 3), "sandbox_start_s": round(self.setup_s, 3),
                         "waiting_for_model_s": round(llm, 3),
                         "verifying_s": round(verify, 3), "harness_s": round(harness_s, 3),
                         "harness_s_per_kept": round(harness_s / kept, 4) if kept else None}}

    def write(self, outdir: Path, complete: bool) -> None:
        path = outdir / "manifest.json"
        part = outdir / "manifest.json.part"
        part.write_text(json.dumps(self.snapshot(complete), indent=2, default=str))
        os.replace(part, path)


def render_summary(manifest: dict[str, Any], console: Console) -> None:
    """The funnel per round and stage, then tokens, cost and time."""
    table = Table(title="generate funnel", title_justify="left")
    for col in ("round", "stage", "in", "out", "dropped (reason: count)"):
        table.add_column(col, justify="right" if col in ("in", "out") else "left")
    for round_no, stages in manifest["funnel"].items():
        for stage in STAGES:
            if stage not in stages:
                continue
            c = stages[stage]
            drops = ", ".join(f"{k}: {v}" for k, v in sorted(c["dropped"].items(),
                                                            key=lambda kv: -kv[1]))
            table.add_row(round_no, stage, str(c["in"]), str(c["out"]), drops)
    console.print(table)
    tokens = manifest["tokens"]
    usage = Table(title="requests and tokens", title_justify="left")
    for col in ("stage", "sent", "cached", "failed", "prompt tok", "completion tok"):
        usage.add_column(col, justify="left" if col == "stage" else "right")
    for stage, u in tokens["per_stage"].items():
        usage.add_row(stage, str(u["requests"]), str(u["cached"]), str(u["failed"]),
                      str(u["prompt_tokens"] + u["cached_prompt_tokens"]),
                      str(u["completion_tokens"] + u["cached_completion_tokens"]))
    console.print(usage)
    cost = tokens["cost_usd"]
    t = manifest["time"]
    line = (f"kept {manifest['kept']} sample(s) in {len(manifest['rounds'])} round(s); "
            f"{t['total_s']:.1f}s ({t['waiting_for_model_s']:.1f}s waiting for the model, "
            f"{t['verifying_s']:.1f}s verifying)")
    if cost["dataset"] is not None:
        line += f"; est. cost ${cost['this_run']:.4f} this run, ${cost['dataset']:.4f} total"
    console.print(line, highlight=False)
    for r in manifest["rounds"]:
        for alarm in r["warnings"]:
            console.print(f"[yellow]warning:[/] round {r['round']}: {alarm}", highlight=False)
