#!/usr/bin/env python
"""Compare named weights side by side (issue 16: L1 against its DCGAN and WGAN-GP fine-tunes).

    python scripts/gan_compare.py \\
        --model L1=sepgan-flow \\
        --model dcgan=runs/flow-dcgan/generator-step_001000 \\
        --model wgan-gp=runs/flow-wgan-gp/generator-step_001000 \\
        ../shared/data/eval/middlebury-other ../shared/data/eval/davis CLIP.mp4 ... \\
        -o runs/gan-compare --limit 20

Benchmarks are read as ``sepgan evaluate`` reads them (a video or a frame
folder is scored drop-a-frame). Writes ``results.json``, ``results.csv``,
``results.md`` and ``montages/<benchmark>.png`` under ``-o`` and prints the
table; what each figure means is in :mod:`sepgan.evaluation.compare`.
Exit status 2 with one ``error:`` line for a mistake in the arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sepgan.errors import USER_ERROR_EXIT, UserError, user_message


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="benchmark folders, videos or frame folders")
    parser.add_argument(
        "--model", "-m", action="append", required=True, metavar="NAME=WEIGHTS",
        help="a model to compare: its table name and a weights folder or bundled name (repeat; order kept)",
    )  # fmt: skip
    parser.add_argument("--output", "-o", type=Path, required=True, help="folder for the results")
    parser.add_argument("--limit", "-n", type=int, default=None, help="at most N samples per benchmark")
    parser.add_argument("--layout", default="auto", help="benchmark layout (default: detected)")
    parser.add_argument("--device", default="auto", help="torch device for the models: auto, cpu, cuda")
    parser.add_argument("--workers", type=int, default=None, help="threads for DIS flow (default: all CPUs)")
    parser.add_argument("--crops", type=int, default=3, help="montage rows per benchmark (default 3)")
    parser.add_argument("--crop-size", type=int, default=96, help="montage crop side in px (default 96)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from sepgan.evaluation.compare import compare, format_markdown, parse_named_weights, write_comparison

    arguments = parse_arguments(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    try:
        named = [parse_named_weights(text) for text in arguments.model]
        result = compare(
            named,
            arguments.paths,
            limit=arguments.limit,
            layout=arguments.layout,
            device=arguments.device,
            workers=arguments.workers,
            crop_size=arguments.crop_size,
            crops=arguments.crops,
            progress=arguments.progress,
            log=log,
        )
    except (UserError, OSError, ModuleNotFoundError) as error:  # what `sepgan` commands report in one line
        flags = {"model": "--model", "limit": "--limit", "crop_size": "--crop-size", "crops": "--crops"}
        print(f"error: {user_message(error, flags)}", file=sys.stderr)
        return USER_ERROR_EXIT
    settings = {
        "models": {entry.name: entry.weights for entry in named},
        "paths": [str(path) for path in arguments.paths],
        "limit": arguments.limit,
        "layout": arguments.layout,
        "device": arguments.device,
        "workers": arguments.workers,
        "crops": arguments.crops,
        "crop_size": arguments.crop_size,
    }
    write_comparison(result, arguments.output, settings)
    print(format_markdown(result), end="")
    log(f"results written to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
