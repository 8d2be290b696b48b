"""JSONL sinks, written to `FILE.part` and renamed at the end, so a killed run leaves no
half file. Text is written as UTF-8 with lone surrogates escaped, so no sample's output
can make a verdict unwritable."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from harness.records import InvalidRecord, Sample, Verdict
from harness.stage import Sink


class AtomicWriter:
    """One JSON object a line to `path` (or stdout for "-"), renamed into place on commit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fh: IO[str]
        if path == "-":
            self.fh = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path + ".part", "w", encoding="utf-8",  # noqa: SIM115
                           errors="backslashreplace")

    def write(self, obj: dict[str, Any]) -> None:
        self.fh.write(json.dumps(obj, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        if self.path == "-":
            self.fh.flush()
            return
        self.fh.close()
        os.replace(self.path + ".part", self.path)

    def abort(self) -> None:
        if self.path != "-":
            self.fh.close()


class _FileSink(Sink):
    def __init__(self, path: str) -> None:
        self.out = AtomicWriter(path)

    def close(self) -> None:
        self.out.commit()

    def abort(self) -> None:
        self.out.abort()


class Verdicts(_FileSink):
    """Every verdict, one line per input record, in input order."""

    def write(self, record: Sample | InvalidRecord, verdict: Verdict) -> None:
        self.out.write(verdict.to_json())


class KeptSamples(_FileSink):
    """The kept samples, as canonical JSONL (`harness verify` keeps them as they are)."""

    def write(self, record: Sample | InvalidRecord, verdict: Verdict) -> None:
        if not verdict.reasons and isinstance(record, Sample):
            self.out.write(record.to_json())


class RejectedSamples(_FileSink):
    """The rejected records with their reasons (malformed ones as a short excerpt)."""

    def write(self, record: Sample | InvalidRecord, verdict: Verdict) -> None:
        if not verdict.reasons:
            return
        if isinstance(record, InvalidRecord):
            self.out.write({"id": record.id, "line": record.line, "error": record.error,
                            "raw": record.raw[:1000], "reasons": verdict.reasons})
        else:
            self.out.write({**record.to_json(), "reasons": verdict.reasons})


class AugmentedTests(_FileSink):
    """`--augment`: each sample whose tests were strengthened, as canonical JSONL with the
    augmented test module in `tests` (and what it adds under `meta.augmented`)."""

    def write(self, record: Sample | InvalidRecord, verdict: Verdict) -> None:
        found = (verdict.checks.get("probes") or {}).get("augmented")
        if not isinstance(record, Sample) or not isinstance(found, dict):
            return
        facts = {k: v for k, v in found.items() if k != "tests"}
        sample = record.to_json()
        self.out.write({**sample, "tests": found["tests"],
                        "meta": {**record.meta, "augmented": facts,
                                 "verdict": verdict.verdict, "reasons": verdict.reasons}})
