"""One `verify` run: open the input, start the pool, stream verdicts to their files."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from harness import __version__
from harness.config import VerifyConfig
from harness.errors import InputError
from harness.formats import read_samples
from harness.pipeline import Verifier
from harness.probes.judge import EXECUTED as EXECUTED_PROBES
from harness.records import InvalidRecord, Sample
from harness.report import Summary
from harness.sandbox.image import image_id, require_image
from harness.sandbox.pool import ContainerSpec, Pool
from harness.store import Store


class AtomicWriter:
    """Writes to `path.part` and renames on success, so a killed run leaves no half file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fh: IO[str]
        if path == "-":
            self.fh = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path + ".part", "w", encoding="utf-8")  # noqa: SIM115

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


def scan_input(path: str) -> tuple[str | None, int | None]:
    """sha256 of the input file (recorded with the results) and, for JSONL, its line
    count (the progress bar's total), in one read; (None, None) for stdin or a directory."""
    if path == "-" or not os.path.isfile(path):
        return None, None
    digest, count = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            count += block.count(b"\n")
    return digest.hexdigest(), count if path.endswith(".jsonl") else None


def run_verify(
    input_path: str,
    *,
    fmt: str,
    config: VerifyConfig,
    output: str,
    keep_path: str | None,
    reject_path: str | None,
    store_path: str | None,
    image: str | None,
    runtime: str | None,
    progress: bool,
    keep_warm: float = 0.0,
    console: Console,
) -> Summary:
    """Verify every record of the input; returns the summary."""
    if input_path != "-" and not os.path.exists(input_path):
        raise InputError(f"input {input_path} does not exist: pass a JSONL, JSON, Parquet file, "
                         "a saved dataset directory, or - for stdin")
    records = read_samples(input_path, fmt)
    tag = image or require_image()
    summary = Summary()
    with ExitStack() as stack:
        # The input's digest and line count (a full read of a large corpus) are taken
        # while the first containers start.
        scanning = stack.enter_context(ThreadPoolExecutor(1)).submit(scan_input, input_path)
        executed = [p for p in config.probes if p in EXECUTED_PROBES]
        spec = ContainerSpec(image=tag, runtime=runtime, warm=("probe",) if executed else ())
        pool = stack.enter_context(Pool(size=config.workers, image=tag, spec=spec,
                                        keep_warm=keep_warm, adopt=True))
        digest, total = scanning.result()
        store = stack.enter_context(Store(store_path)) if store_path else None
        verifier = Verifier(config, pool, store, image_id(tag))
        stack.callback(verifier.close)
        summary.run = {
            "harness": __version__,
            "input": input_path,
            "input_sha256": digest,
            "format": fmt,
            "image": tag,
            "image_id": verifier.image_id,
            "tools": pool.versions,
            "config": config.identity(),
        }
        writers = [AtomicWriter(output)]
        keep = AtomicWriter(keep_path) if keep_path else None
        reject = AtomicWriter(reject_path) if reject_path else None
        writers += [w for w in (keep, reject) if w is not None]
        try:
            for done in _with_progress(verifier.run(records), progress, console, total,
                                       summary):
                writers[0].write(done.verdict.to_json())
                if done.verdict.reasons:
                    if reject is not None:
                        reject.write(_rejected_record(done.record, done.verdict.reasons))
                elif keep is not None and isinstance(done.record, Sample):
                    keep.write(done.record.to_json())
        except BaseException:
            for w in writers:
                w.abort()
            raise
        for w in writers:
            w.commit()
        summary.finish(verifier.stage_seconds)
    return summary


def _rejected_record(record: Sample | InvalidRecord, reasons: list[str]) -> dict[str, Any]:
    if isinstance(record, InvalidRecord):
        return {"id": record.id, "line": record.line, "error": record.error,
                "raw": record.raw[:1000], "reasons": reasons}
    return {**record.to_json(), "reasons": reasons}


def _with_progress(done_iter: Iterator[Any], enabled: bool, console: Console,
                   total: int | None, summary: Summary) -> Iterator[Any]:
    if not enabled:
        for done in done_iter:
            summary.add(done.verdict, done.cached)
            yield done
        return
    columns = (SpinnerColumn(), TextColumn("verify"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:>6.1f}/s"), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn(),
               TextColumn("[green]{task.fields[kept]} kept[/] [red]{task.fields[rejected]} "
                          "rejected[/]"))
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("verify", total=total, kept=0, rejected=0, rate=0.0)
        for done in done_iter:
            summary.add(done.verdict, done.cached)
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, advance=1, kept=summary.kept, rejected=summary.rejected,
                       rate=summary.total / elapsed if elapsed else 0.0)
            yield done
