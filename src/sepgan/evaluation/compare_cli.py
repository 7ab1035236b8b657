"""The ``sepgan compare`` command: parse arguments, delegate to :func:`sepgan.evaluation.compare.compare`.

Mounted by ``sepgan.cli`` as ``app.command("compare")(compare_command)``; torch
is imported only when the command runs. User errors print one ``error: ...``
line on stderr and exit with status 2 (:func:`sepgan.errors.reports_user_errors`).
What each figure means is in :mod:`sepgan.evaluation.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sepgan.errors import reports_user_errors
from sepgan.evaluation.choices import EVALUATION_NAMES


@reports_user_errors
def compare_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Benchmark folders, videos or frame folders.", show_default=False),
    ],
    # Named `model`, as the library's messages name it, so they show the flag --model.
    model: Annotated[
        list[str],
        typer.Option(
            "--model",
            "-m",
            metavar="NAME=WEIGHTS",
            help="A model to compare: its table name and a weights folder or bundled name "
            "(repeat; order kept).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the results.", show_default=False)
    ],
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", "-y", help="Replace the files of an output folder that has files in it."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most N samples per benchmark.")
    ] = None,
    layout: Annotated[
        str, typer.Option("--layout", help=f"auto (detected), or one of: {', '.join(EVALUATION_NAMES)}.")
    ] = "auto",
    device: Annotated[
        str, typer.Option("--device", help="Torch device for the models: auto, cpu, cuda.")
    ] = "auto",
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Threads for DIS flow (default: all CPUs).", show_default=False),
    ] = None,
    crops: Annotated[int, typer.Option("--crops", help="Montage rows per benchmark.")] = 3,
    crop_size: Annotated[int, typer.Option("--crop-size", help="Montage crop side in px.")] = 96,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Score named weights side by side (e.g. L1 vs its GAN fine-tunes), with montages of where they differ.

    Scores: PSNR, SSIM, MS-SSIM, VIF, sharpness ratio, moving-edge GMS; the flow ensemble is a reference.

    Benchmarks are read as `sepgan evaluate` reads them (videos and frame folders: drop-a-frame).

    Writes results.json, results.csv, results.md and montages/ under --output; prints the table.
    """
    from sepgan.atomic import check_overwrite
    from sepgan.evaluation.compare import compare, format_markdown, parse_named_weights, write_comparison

    def log(message: str) -> None:
        typer.echo(message, err=True)

    named = [parse_named_weights(text) for text in model]
    check_overwrite(output, overwrite)  # before any model runs
    result = compare(
        named,
        paths,
        limit=limit,
        layout=layout,
        device=device,
        workers=workers,
        crop_size=crop_size,
        crops=crops,
        progress=progress,
        log=log,
    )
    settings = {
        "models": {entry.name: entry.weights for entry in named},
        "paths": [str(path) for path in paths],
        "limit": limit,
        "layout": layout,
        "device": device,
        "workers": workers,
        "crops": crops,
        "crop_size": crop_size,
    }
    write_comparison(result, output, settings)
    typer.echo(format_markdown(result), nl=False)
    log(f"results written to {output}")
