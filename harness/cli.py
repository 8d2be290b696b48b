"""The `harness` command line: parse, build the config, call the library, print."""

from __future__ import annotations

import json
import os
import sys
import tomllib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from harness import __version__
from harness.config import default_workers
from harness.errors import ConfigError, HarnessError
from harness.sources import formats

F = TypeVar("F", bound=Callable[..., Any])
err_console = Console(stderr=True)


def _fail(exc: BaseException) -> None:
    if os.environ.get("HARNESS_DEBUG"):
        traceback.print_exc()
    err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    sys.exit(1)


def _load_config_file(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """A TOML file's [verify] table supplies defaults; flags and HARNESS_* win over it."""
    if not value:
        return
    try:
        data = tomllib.loads(Path(value).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"cannot read config file {value}: {exc}") from exc
    table = data.get("verify", data)
    ctx.default_map = {**(ctx.default_map or {}),
                       **{k.replace("-", "_"): v for k, v in table.items()}}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Produce and audit verified code datasets."""


@main.command()
@click.option("--config", type=click.Path(dir_okay=False), envvar="HARNESS_CONFIG",
              callback=_load_config_file, is_eager=True, expose_value=False,
              help="TOML file whose [verify] table sets defaults for these options.")
@click.argument("input_path", metavar="INPUT", type=str)
@click.option("-o", "--output", default="-", show_default=True,
              help="Verdict JSONL, one line per input record, in input order.")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(formats()))
@click.option("--keep", "keep_path", help="Write the kept samples (canonical JSONL) here.")
@click.option("--reject", "reject_path", help="Write the rejected samples, with reasons, here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--workers", type=click.IntRange(1), envvar="HARNESS_WORKERS",
              default=lambda: default_workers(), show_default="the number of cores",
              help="Sandbox slots (containers) run in parallel.")
@click.option("--timeout", type=click.FloatRange(0.1), envvar="HARNESS_TIMEOUT", default=10.0,
              show_default=True, help="CPU seconds per test run (a wall-clock backstop of 3x + 5 s "
                   "stops runs that only sleep).")
@click.option("--memory", type=click.IntRange(16), envvar="HARNESS_MEMORY", default=512,
              show_default=True, help="Megabytes a test run may allocate.")
@click.option("--tasks", type=click.IntRange(8), envvar="HARNESS_TASKS", default=128,
              show_default=True, help="Threads and processes a test run may have at once.")
@click.option("--open-files", type=click.IntRange(32), envvar="HARNESS_OPEN_FILES",
              default=256, show_default=True, help="Files a test run may have open at once.")
@click.option("--mypy-args", envvar="HARNESS_MYPY_ARGS", default=None,
              help="mypy flags, as one string (default: mypy's defaults, missing imports "
                   "ignored).")
@click.option("--no-typecheck", is_flag=True, help="Skip mypy.")
@click.option("--probes", envvar="HARNESS_PROBES", default="stubs,mutants,lint,differential",
              show_default=True, help="Comma-separated probes to run on passing samples.")
@click.option("--no-probes", is_flag=True, help="Run no probe.")
@click.option("--min-mutation-score", type=click.FloatRange(0, 1), default=0.5,
              envvar="HARNESS_MIN_MUTATION_SCORE", show_default=True)
@click.option("--min-distinguished", type=click.IntRange(0), default=1,
              envvar="HARNESS_MIN_DISTINGUISHED", show_default=True,
              help="weak_tests when this many surviving mutants have an input that tells them "
                   "apart from the solution (0: the score alone decides).")
@click.option("--mutant-limit", type=click.IntRange(1), default=30, show_default=True)
@click.option("--accept-unprobed", is_flag=True, envvar="HARNESS_ACCEPT_UNPROBED",
              help="Keep samples whose probes could not run or decide (default: reject them "
                   "as `unverified`).")
@click.option("--store", "store_path", envvar="HARNESS_STORE", default=".harness/store.sqlite",
              show_default=True, help="Result store that makes re-runs resume.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result store.")
@click.option("--image", envvar="HARNESS_IMAGE", default=None,
              help="Sandbox image (default: the one `harness sandbox build` made).")
@click.option("--runtime", envvar="HARNESS_RUNTIME", default=None,
              help="Container runtime for the sandbox, e.g. runsc where gVisor is installed.")
@click.option("--keep-warm", type=click.FloatRange(0), envvar="HARNESS_KEEP_WARM", default=30.0,
              show_default=True,
              help="Seconds the sandbox containers stay warm after the run, for the next run "
                   "to adopt (0: remove them at once).")
@click.option("--reference-from", "reference_from", default=None,
              help="A benchmark file (any known format) whose solutions become the samples' "
                   "references, joined by --reference-key.")
@click.option("--reference-key", default="task_id", show_default=True,
              help="The field joining --reference-from's records onto the input's (the id, "
                   "or a field kept in meta).")
@click.option("--atol", type=click.FloatRange(0), default=None,
              help="Differential probe: floats equal within this (a sample's meta.atol wins).")
@click.option("--unordered", is_flag=True,
              help="Differential probe: a list answer compared as a multiset (meta.unordered).")
@click.option("--augment", "augment_path", default=None,
              help="Write strengthened tests (canonical JSONL) for samples with a reference.")
@click.option("--trust-solution", is_flag=True,
              help="--augment also samples without a reference, taking their solution's answers.")
@click.option("--augment-max", type=click.IntRange(1), default=10, show_default=True,
              help="Asserts added to one sample's tests, at most.")
@click.option("--no-dedup", is_flag=True, help="Keep near-duplicate samples (dedup is on by "
              "default).")
@click.option("--dedup-threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Jaccard similarity of the code's 5-grams that makes a near-duplicate "
                   "(default 0.7).")
@click.option("--dedup-prompt-threshold", type=click.FloatRange(0, 1, min_open=True),
              default=None, help="Jaccard similarity of the prompts' word 5-grams that makes "
                                 "a near-duplicate (default 0.7).")
@click.option("--decontaminate", is_flag=True,
              help="Reject samples that overlap HumanEval or MBPP (`contaminated`).")
@click.option("--benchmark", "benchmarks", multiple=True, type=click.Path(exists=True),
              help="A further benchmark set (JSONL, JSON, Parquet) to decontaminate against; "
                   "repeatable; implies --decontaminate.")
@click.option("--decontam-threshold", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Share of a benchmark item's 13-grams that makes a sample contaminated "
                   "(default 0.5).")
@click.option("--decontam-embeddings", is_flag=True,
              help="Also compare problem texts by sentence embeddings (needs the "
                   "`embeddings` extra); implies --decontaminate.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a TTY).")
def verify(input_path: str, output: str, fmt: str, keep_path: str | None,
           reject_path: str | None, as_json: bool, workers: int, timeout: float, memory: int,
           tasks: int, open_files: int,
           mypy_args: str | None, no_typecheck: bool, probes: str, no_probes: bool,
           min_mutation_score: float, min_distinguished: int, mutant_limit: int,
           accept_unprobed: bool,
           store_path: str, no_cache: bool,
           image: str | None, runtime: str | None, keep_warm: float,
           reference_from: str | None, reference_key: str, atol: float | None,
           unordered: bool, augment_path: str | None, trust_solution: bool,
           augment_max: int,
           no_dedup: bool, dedup_threshold: float | None,
           dedup_prompt_threshold: float | None, decontaminate: bool,
           benchmarks: tuple[str, ...], decontam_threshold: float | None,
           decontam_embeddings: bool, progress: bool | None) -> None:
    """Check every sample of INPUT (a file or -) and write one verdict per sample."""
    import shlex

    from harness.config import VerifyConfig
    from harness.probes import PROBES
    from harness.run import run_verify
    from harness.sandbox.result import DEFAULT_MYPY_ARGS

    chosen = () if no_probes else tuple(p.strip() for p in probes.split(",") if p.strip())
    unknown = set(chosen) - set(PROBES.names())
    if unknown:
        raise click.BadParameter(f"unknown probe(s) {sorted(unknown)}; choose from "
                                 f"{', '.join(PROBES.names())}", param_hint="--probes")
    if as_json and output == "-":
        raise click.UsageError("--json prints the summary on stdout: send verdicts to a file "
                               "with -o")
    config = VerifyConfig(
        timeout=timeout, memory_mb=memory, tasks=tasks, open_files=open_files,
        typecheck=not no_typecheck,
        mypy_args=tuple(shlex.split(mypy_args)) if mypy_args is not None else DEFAULT_MYPY_ARGS,
        probes=chosen, min_mutation_score=min_mutation_score,
        min_distinguished=min_distinguished, mutant_limit=mutant_limit,
        require_probes=not accept_unprobed,
        atol=atol, unordered=unordered, augment=augment_path is not None,
        trust_solution=trust_solution, augment_max=augment_max,
        workers=workers,
    )
    try:
        filters = _hygiene_filters(no_dedup, dedup_threshold, dedup_prompt_threshold,
                                   decontaminate, benchmarks, decontam_threshold,
                                   decontam_embeddings)
        summary = run_verify(
            input_path, fmt=fmt, config=config, output=output, keep_path=keep_path,
            augment_path=augment_path, reference_from=reference_from,
            reference_key=reference_key,
            reject_path=reject_path, store_path=None if no_cache else store_path, image=image,
            runtime=runtime, keep_warm=keep_warm,
            progress=sys.stderr.isatty() if progress is None else progress,
            console=err_console, filters=filters,
        )
    except HarnessError as exc:
        _fail(exc)
        return
    summary.render(err_console)
    if as_json:
        click.echo(json.dumps(summary.to_json(), indent=2))


def _hygiene_filters(no_dedup: bool, dedup_threshold: float | None,
                     dedup_prompt_threshold: float | None, decontaminate: bool,
                     benchmarks: tuple[str, ...], decontam_threshold: float | None,
                     embeddings: bool) -> list[Any]:
    """Dedup (on unless --no-dedup) and decontamination (when asked), from the flags."""
    from harness.filters import default_filters

    given = {k: v for k, v in (("code_threshold", dedup_threshold),
                               ("prompt_threshold", dedup_prompt_threshold),
                               ("ngram_threshold", decontam_threshold)) if v is not None}
    return default_filters(dedup=not no_dedup, decontaminate=decontaminate,
                           benchmarks=benchmarks, embeddings=embeddings, **given)


@main.command()
@click.option("--model", required=True, help="Model name the endpoint serves.")
@click.option("--base-url", envvar="OPENAI_BASE_URL", default=None,
              help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL, else OpenAI's). "
                   "A loopback URL needs no OPENAI_API_KEY.")
@click.option("--seeds", "seeds_path", default="problems/seeds.jsonl", show_default=True,
              help="Real seed problems (canonical JSONL).")
@click.option("--problems", type=click.IntRange(1), default=10, show_default=True,
              help="Problems asked for per round.")
@click.option("--rounds", type=click.IntRange(1), default=1, show_default=True)
@click.option("--solutions", type=click.IntRange(1), default=3, show_default=True,
              help="Candidate solutions per problem.")
@click.option("--tests", "tests_per_problem", type=click.IntRange(1), default=2,
              show_default=True, help="Test modules per problem, each asked separately.")
@click.option("--max-repairs", type=click.IntRange(0), default=1, show_default=True)
@click.option("--evolve", is_flag=True, help="Also rewrite kept problems into harder ones.")
@click.option("--concurrency", type=click.IntRange(1), default=8, show_default=True,
              help="Requests in flight at once.")
@click.option("--request-timeout", type=click.FloatRange(0.1), default=120.0,
              show_default=True, help="Seconds per request (then the client retries).")
@click.option("--max-retries", type=click.IntRange(0), default=4, show_default=True)
@click.option("--max-tokens", type=click.IntRange(16), default=1024, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Run seed: the same seed asks the same requests.")
@click.option("--price-in", type=click.FloatRange(0), default=None,
              help="Dollars per million prompt tokens (for the cost estimate).")
@click.option("--price-out", type=click.FloatRange(0), default=None,
              help="Dollars per million completion tokens.")
@click.option("--no-decontaminate", is_flag=True, help="Skip the decontamination filter.")
@click.option("-o", "--output", "outdir", required=True,
              help="Directory for kept.jsonl, rejected.jsonl and manifest.json.")
@click.option("--store", "store_path", default=None,
              help="Run store (replies and verdicts; default OUTDIR/store.sqlite).")
@click.option("--workers", type=click.IntRange(1), envvar="HARNESS_WORKERS",
              default=lambda: default_workers(), show_default="the number of cores")
@click.option("--timeout", type=click.FloatRange(0.1), envvar="HARNESS_TIMEOUT", default=10.0,
              show_default=True, help="CPU seconds per test run.")
@click.option("--min-mutation-score", type=click.FloatRange(0, 1), default=0.5,
              envvar="HARNESS_MIN_MUTATION_SCORE", show_default=True)
@click.option("--min-distinguished", type=click.IntRange(0), default=1,
              envvar="HARNESS_MIN_DISTINGUISHED", show_default=True,
              help="As for verify: weak tests when this many surviving mutants are told apart.")
@click.option("--image", envvar="HARNESS_IMAGE", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print funnel, tokens and time as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a TTY).")
def generate(model: str, base_url: str | None, seeds_path: str, problems: int, rounds: int,
             solutions: int, tests_per_problem: int, max_repairs: int, evolve: bool,
             concurrency: int, request_timeout: float, max_retries: int, max_tokens: int,
             seed: int, price_in: float | None, price_out: float | None,
             no_decontaminate: bool, outdir: str, store_path: str | None, workers: int,
             timeout: float, min_mutation_score: float, min_distinguished: int,
             image: str | None, as_json: bool,
             progress: bool | None) -> None:
    """Generate verified samples with a model, from seed problems, into OUTDIR."""
    from harness.config import VerifyConfig
    from harness.generate.command import run_command

    if (price_in is None) != (price_out is None):
        raise click.UsageError("give both --price-in and --price-out, or neither")
    verify_config = VerifyConfig(timeout=timeout, min_mutation_score=min_mutation_score,
                                 min_distinguished=min_distinguished, workers=workers)
    try:
        run_command(model=model, base_url=base_url, outdir=outdir, store=store_path,
                    image=image, verify=verify_config, console=err_console,
                    progress=sys.stderr.isatty() if progress is None else progress,
                    as_json=as_json, seeds_path=seeds_path, problems=problems,
                    rounds=rounds, solutions=solutions, tests=tests_per_problem,
                    max_repairs=max_repairs, evolve=evolve, concurrency=concurrency,
                    timeout=request_timeout, max_retries=max_retries, max_tokens=max_tokens,
                    seed=seed, price_in=price_in, price_out=price_out,
                    decontaminate=not no_decontaminate)
    except HarnessError as exc:
        _fail(exc)


@main.group()
def sandbox() -> None:
    """Build and check the sandbox image."""


@sandbox.command()
@click.option("--base", default="auto", show_default=True,
              help="Base image: `auto` (python:3.11-slim if present, else Debian bootstrap), "
                   "`debian` (bootstrap from the host's apt sources) or an image name.")
@click.option("--force", is_flag=True, help="Rebuild even if the image exists.")
@click.option("--with", "with_", multiple=True, metavar="REQUIREMENT",
              help="A package to install in the image too (repeatable), e.g. --with numpy.")
@click.option("--requirements", "requirements", type=click.Path(dir_okay=False),
              help="A requirements file of packages to install in the image too.")
def build(base: str, force: bool, with_: tuple[str, ...], requirements: str | None) -> None:
    """Build the sandbox image (skipped when the recipe's image exists).

    With extra packages the image gets a tag of its own, printed on stdout: pass it to
    `harness verify --image`.
    """
    from harness.sandbox.image import build as build_image
    from harness.sandbox.image import read_requirements

    try:
        extras = [*with_, *(read_requirements(requirements) if requirements else [])]
        tag = build_image(base=base, force=force, say=lambda m: err_console.print(m),
                          extras=extras)
    except HarnessError as exc:
        _fail(exc)
        return
    click.echo(tag)


@sandbox.command()
def stop() -> None:
    """Remove the parked (kept warm) sandbox containers now."""
    from harness.sandbox.slot import remove_parked

    try:
        removed = remove_parked()
    except HarnessError as exc:
        _fail(exc)
        return
    err_console.print(f"removed {removed} parked sandbox container(s)")


@sandbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    """Report whether the sandbox can run here, and what to do about what is missing."""
    from harness.sandbox.doctor import diagnose, render

    findings = diagnose()
    if as_json:
        click.echo(json.dumps(findings, indent=2))
    else:
        render(findings, err_console)
    if any(f["state"] == "fail" for f in findings):
        sys.exit(1)


def entry() -> None:
    try:
        main()
    except ConfigError as exc:
        _fail(exc)


if __name__ == "__main__":
    entry()
