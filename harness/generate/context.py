"""What every stage of a run shares: the client, the config, the funnel, the outputs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.generate.client import LLMClient, Reply
from harness.generate.config import GenerateConfig
from harness.generate.funnel import Funnel
from harness.generate.parsing import ProblemText
from harness.generate.progress import Progress


def derived_seed(*parts: object) -> int:
    """A request seed from the run seed and the request's place in the run, so the same
    command asks the same requests (and a re-run hits the cache)."""
    blob = "\0".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") & 0x7FFFFFFF


@dataclass
class Problem:
    """A problem proposed (or evolved) in this run, with where it came from."""

    text: ProblemText
    round: int
    parents: list[dict[str, str]]
    reply: Reply
    evolved: dict[str, str] | None = None

    @property
    def id(self) -> str:
        return "gen-" + hashlib.sha256(self.text.prompt.encode()).hexdigest()[:16]


class JsonlOut:
    """A JSONL file written to `path.part`, renamed on `commit` (a killed run leaves none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = open(f"{path}.part", "w", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> None:
        self._fh.close()
        os.replace(f"{self.path}.part", self.path)

    def abort(self) -> None:
        self._fh.close()


@dataclass
class Context:
    """One run's shared state (stages read it; only the driver replaces its parts)."""

    config: GenerateConfig
    client: LLMClient
    funnel: Funnel
    rejected: JsonlOut
    progress: Progress
    image_id: str = ""

    def reject(self, round_no: int, stage: str, reason: str, *, item_id: str = "",
               detail: str = "", **extra: Any) -> None:
        """Count a drop in the funnel and write it to rejected.jsonl."""
        self.funnel.dropped(round_no, stage, reason)
        self.rejected.write({"id": item_id, "round": round_no, "stage": stage,
                             "reasons": [reason], "detail": detail[:2000], **extra})
