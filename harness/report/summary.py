"""The run summary: counts per reason, time per stage, and how to read them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.records import REASONS, Verdict
from harness.report.explain import printable


@dataclass
class Summary:
    """Counts kept as verdicts stream by; `to_json` is what `--json` prints."""

    total: int = 0
    kept: int = 0
    rejected: int = 0
    cached: int = 0
    wrong_solution: int = 0  # rejected as differing from their reference
    augmented: int = 0  # given strengthened tests (--augment)
    augmented_kills: int = 0  # previously surviving mutants the augmented tests kill
    reasons: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    wall_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    # The evidence of a reason on a verdict, in one line (the engine's stages know it).
    explain: Callable[[Verdict, str], str] = field(default=lambda _v, _r: "", repr=False)

    def add(self, verdict: Verdict, cached: bool = False) -> None:
        self.total += 1
        self.cached += cached
        self.wrong_solution += "wrong_solution" in verdict.reasons
        found = (verdict.checks.get("probes") or {}).get("augmented")
        if isinstance(found, dict):
            self.augmented += 1
            self.augmented_kills += int(found.get("killed") or 0)
        if verdict.reasons:
            self.rejected += 1
            for reason in verdict.reasons:
                self.reasons[reason] += 1
                seen = self.examples.setdefault(reason, [])
                if len(seen) < 5:
                    seen.append(printable(f"{verdict.id}: {self.explain(verdict, reason)}")[:300])
        else:
            self.kept += 1

    def finish(self, stage_seconds: dict[str, float]) -> None:
        self.wall_seconds = time.monotonic() - self.started
        self.stage_seconds = {k: round(v, 3) for k, v in stage_seconds.items()}

    def to_json(self) -> dict[str, Any]:
        rate = (self.total - self.cached) / self.wall_seconds if self.wall_seconds else 0.0
        return {
            "total": self.total,
            "kept": self.kept,
            "rejected": self.rejected,
            "from_cache": self.cached,
            "wrong_solution": self.wrong_solution,
            "augmented": self.augmented,
            "augmented_kills": self.augmented_kills,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            "examples": self.examples,
            "wall_seconds": round(self.wall_seconds, 3),
            "samples_per_second": round(rate, 2),
            "stage_seconds": self.stage_seconds,
            "run": self.run,
        }

    def render(self, console: Console) -> None:
        """A table a person reads: what was kept, what was rejected and why."""
        table = Table(title="verify summary", show_lines=False)
        table.add_column("outcome")
        table.add_column("samples", justify="right")
        table.add_column("share", justify="right")
        table.add_column("meaning / examples")

        def share(n: int) -> str:
            return f"{100 * n / self.total:.1f}%" if self.total else "-"

        table.add_row("[green]keep[/]", str(self.kept), share(self.kept), "")
        table.add_row("[red]reject[/]", str(self.rejected), share(self.rejected), "")
        for reason, count in self.reasons.most_common():
            example = escape(self.examples.get(reason, [""])[0][:160])
            table.add_row(f"  {reason}", str(count), share(count),
                          f"{REASONS.get(reason, '')}\n[dim]e.g. {example}[/]")
        console.print(table)
        console.print(f"wrong_solution (differs from its reference): {self.wrong_solution}")
        if self.augmented:
            console.print(f"augmented: {self.augmented} samples given stronger tests, killing "
                          f"{self.augmented_kills} previously surviving mutants")
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in self.stage_seconds.items() if v)
        done = self.total - self.cached
        rate = done / self.wall_seconds if self.wall_seconds else 0.0
        console.print(
            f"{self.total} samples in {self.wall_seconds:.1f}s ({rate:.1f}/s checked, "
            f"{self.cached} from cache); sandbox time by stage: {stages or 'none'}"
        )
