"""The ``sepgan evaluate`` command: parse arguments, delegate to :func:`run_evaluation`.

Mounted by ``sepgan.cli`` as ``app.command("evaluate")(evaluate_command)``.
User errors print one ``error: ...`` line on stderr and exit with status 2
(:func:`sepgan.errors.reports_user_errors`, the handler of every command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sepgan.errors import reports_user_errors
from sepgan.evaluation.choices import ALL_METHODS, DEFAULT_METHODS, EVALUATION_NAMES, SNU_SPLITS
from sepgan.options import (
    DEFAULT_ADAPT_SECONDS,
    DEFAULT_ADAPT_STEPS,
    DEFAULT_FACTOR,
    DEFAULT_FLOW_BACKEND,
    DEFAULT_SEED,
    check_flow_backend,
)


@reports_user_errors
def evaluate_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Benchmark folders, SNU-FILM list files, videos or frame folders.", show_default=False
        ),
    ],
    methods: Annotated[
        str, typer.Option("--methods", "-m", help=f"Comma list from: {', '.join(ALL_METHODS)}.")
    ] = DEFAULT_METHODS,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            help=f"auto (detected, and named in the log), or one of: {', '.join(EVALUATION_NAMES)}.",
        ),
    ] = "auto",
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights", "-w", help="Pretrained folder (model.safetensors + config.json) for `ours`."
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="Run `ours` as `sepgan interpolate --preset` does: fast, balanced or best.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Report folder (default: runs/eval/<timestamp>)."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", "-y", help="Replace the files of a report folder that has files in it."),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            help="Evaluate at most N samples per benchmark (pairs of kept frames with --factor).",
        ),
    ] = None,
    factor: Annotated[
        int,
        typer.Option(
            "--factor",
            help="Videos and frame folders: keep every Nth frame and score the N - 1 rebuilt between "
            "(t = 1/N ... (N-1)/N, PSNR per position too); 2 drops every other frame. Other layouts: 2 only. "
            "Methods that make only the middle frame need a power of two.",
        ),
    ] = DEFAULT_FACTOR,
    device: Annotated[
        str, typer.Option("--device", help="Torch device for ours and rife: auto, cpu, cuda.")
    ] = "auto",
    flow_backend: Annotated[
        str,
        typer.Option(
            "--flow-backend",
            help="Who computes DIS for ours, ours-adapt, flow-fine and flow-ensemble: opencv (CPU "
            "threads), torch (on --device) or auto (torch on a CUDA or MPS device, OpenCV on the CPU).",
        ),
    ] = DEFAULT_FLOW_BACKEND,
    snu_split: Annotated[
        str, typer.Option("--snu-split", help=f"SNU-FILM difficulty: {', '.join(SNU_SPLITS)}.")
    ] = "hard",
    adapt: Annotated[
        bool,
        typer.Option(
            "--adapt/--no-adapt",
            help="Also score ours-adapt: ours fine-tuned on each clip's even frames first (video layouts).",
        ),
    ] = False,
    adapt_steps: Annotated[
        int, typer.Option("--adapt-steps", help="Adaptation: optimiser steps at most.")
    ] = DEFAULT_ADAPT_STEPS,
    adapt_seconds: Annotated[
        float, typer.Option("--adapt-seconds", help="Adaptation: time budget per clip in seconds.")
    ] = DEFAULT_ADAPT_SECONDS,
    seed: Annotated[
        int, typer.Option("--seed", help="Adaptation: seed of the triplets, crops and flips.")
    ] = DEFAULT_SEED,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Score our model, baselines and installed peers on interpolation benchmarks (PSNR, SSIM, ST-LPIPS, IE, MS-SSIM)."""  # noqa: E501 (one line in `sepgan --help`)
    from sepgan.adapt import AdaptOptions
    from sepgan.evaluation.pipeline import run_evaluation

    def log(message: str) -> None:
        typer.echo(message, err=True)

    check_flow_backend(flow_backend)  # before a benchmark is read or a model loads
    adapt_options = AdaptOptions(steps=adapt_steps, seconds=adapt_seconds, seed=seed) if adapt else None
    if adapt_options is not None:
        adapt_options.check()
    run = run_evaluation(
        paths,
        methods=methods,
        layout=layout,
        weights=weights,
        preset=preset,
        output=output,
        limit=limit,
        device=device,
        snu_split=snu_split,
        progress=progress,
        log=log,
        adapt_options=adapt_options,
        factor=factor,
        overwrite=overwrite,
        flow_backend=flow_backend,
    )
    typer.echo(run.table, nl=False)
    typer.echo(f"report written to {run.output}", err=True)
