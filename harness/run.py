"""One `verify` run: open the input, start the pool, stream verdicts to their files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

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
from harness.engine import Done, describe
from harness.errors import InputError
from harness.filters import run_record
from harness.report.summary import Summary
from harness.sandbox.image import image_packages
from harness.session import Session
from harness.sinks import AugmentedTests, KeptSamples, RejectedSamples, Verdicts
from harness.sources import read_samples
from harness.sources.join import load_references, with_references
from harness.stage import Filter, Sink


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
    filters: list[Filter] | None = None,
    augment_path: str | None = None,
    reference_from: str | None = None,
    reference_key: str = "task_id",
) -> Summary:
    """Verify every record of the input; returns the summary."""
    if input_path != "-" and not os.path.exists(input_path):
        raise InputError(f"input {input_path} does not exist: pass a JSONL, JSON, Parquet file, "
                         "a saved dataset directory, or - for stdin")
    records = read_samples(input_path, fmt)
    if reference_from is not None:  # the references are held, the outputs streamed
        records = with_references(records, load_references(reference_from, reference_key),
                                  reference_key)
    summary = Summary()
    with ExitStack() as stack:
        # The input's digest and line count (a full read of a large corpus) are taken
        # while the first containers start.
        scanning = stack.enter_context(ThreadPoolExecutor(1)).submit(scan_input, input_path)
        session = stack.enter_context(Session(
            config, image=image, store_path=store_path, runtime=runtime,
            keep_warm=keep_warm, adopt=True, filters=filters or []))
        digest, total = scanning.result()
        summary.explain = session.explainer()
        summary.run = {
            "harness": __version__,
            "input": input_path,
            "input_sha256": digest,
            "format": fmt,
            "image": session.image,
            "image_id": session.image_id,
            "tools": session.versions,
            "packages": image_packages(session.image),
            "config": config.identity(),
            "stages": [s.name for s in session.stages],
            **run_record(filters or []),
        }
        sinks: list[Sink] = [Verdicts(output)]
        sinks += [KeptSamples(keep_path)] if keep_path else []
        sinks += [RejectedSamples(reject_path)] if reject_path else []
        sinks += [AugmentedTests(augment_path)] if augment_path else []
        try:
            for done in _with_progress(session.run(records), progress, console, total,
                                       summary):
                for sink in sinks:
                    sink.write(done.record, done.verdict)
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
        for sink in sinks:
            sink.close()
        assert session.engine is not None
        summary.finish(session.engine.stage_seconds())
        summary.run["stage_counts"] = describe(session.stages)
    return summary


def _with_progress(done_iter: Iterator[Done], enabled: bool, console: Console,
                   total: int | None, summary: Summary) -> Iterator[Done]:
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
