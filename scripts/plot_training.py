#!/usr/bin/env python
"""Plot training runs from their ``metrics.jsonl``: one PNG of panels over generator steps.

    python scripts/plot_training.py runs/flow-dcgan runs/flow-wgan-gp -o gan.png
    python scripts/plot_training.py runs/a runs/b -o ab.png --labels dcgan,wgan --smooth 20

Each run folder holds the ``metrics.jsonl`` that ``sepgan train`` appends to
(one JSON object per log event: ``"step"`` and the logged scalars). Panels, in
this order, each drawn only when at least one run logged its keys:

* adversary loss: the discriminator's BCE (``dcgan``) or the critic's loss (``wgan-gp``);
* the discriminator's mean probability of real (solid) and fake (dashed) frames;
* the critic's Wasserstein estimate, and its gradient-penalty term;
* the generator's L1 and adversarial losses;
* λ, the weight of L1 (log scale);
* validation PSNR, with the average-of-inputs baseline dashed (older runs without
  it get the step-0 PSNR, the generator's start, dotted);
* validation sharpness ratio (1.0 = as sharp as the ground truth, marked).

Runs share a colour across panels; the figure legend names them. ``--smooth N``
draws the training losses (not λ, not validation) as a trailing moving average
over N logged points, over the raw values drawn faintly. A run being written
may end in a half-written line; it is skipped. A missing or empty
``metrics.jsonl`` (or a corrupt line before the last) ends the script with one
``error:`` line and exit status 1. The PNG is written atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepgan.atomic import atomic_write

METRICS_NAME = "metrics.jsonl"


@dataclass(frozen=True)
class Series:
    key: str  # the metrics.jsonl key
    label: str
    linestyle: str = "-"


@dataclass(frozen=True)
class Panel:
    title: str
    series: tuple[Series, ...]
    smoothed: bool = True  # a noisy training value: --smooth applies
    log_scale: bool = False


PANELS = (
    Panel(
        "adversary loss", (Series("discriminator/bce", "D BCE"), Series("critic/loss", "critic loss", "--"))
    ),
    Panel(
        "discriminator probability",
        (
            Series("discriminator/real_probability", "real"),
            Series("discriminator/fake_probability", "fake", "--"),
        ),
    ),
    Panel("Wasserstein estimate", (Series("critic/wasserstein_estimate", "W estimate"),)),
    Panel("gradient penalty", (Series("critic/gradient_penalty", "penalty term"),)),
    Panel("generator L1", (Series("generator/l1", "L1"),)),
    Panel("generator adversarial loss", (Series("generator/adversarial", "adversarial"),)),
    Panel("λ (weight of L1)", (Series("generator/lambda_l1", "λ"),), smoothed=False, log_scale=True),
    Panel("validation PSNR (dB)", (Series("validation/psnr", "PSNR"),), smoothed=False),
    Panel("validation sharpness ratio", (Series("validation/sharpness_ratio", "ratio"),), smoothed=False),
)
PSNR_BASELINE = "validation/psnr_average_baseline"


@dataclass
class Run:
    label: str
    records: list[dict]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Steps and values of every record that logged ``key``."""
        rows = [(record["step"], record[key]) for record in self.records if key in record]
        steps = np.array([step for step, _ in rows], dtype=float)
        values = np.array([value for _, value in rows], dtype=float)
        return steps, values


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl``; SystemExit with one line when there are none."""
    path = Path(run_dir) / METRICS_NAME
    if not path.is_file():
        raise SystemExit(f"error: {path} not found (is {run_dir} a training run folder?)")
    lines = path.read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # the run is appending this line right now
                break
            raise SystemExit(f"error: {path}, line {number}: not JSON") from None
        if not isinstance(record, dict) or "step" not in record:
            raise SystemExit(f"error: {path}, line {number}: not an object with a 'step'")
        records.append(record)
    if not records:
        raise SystemExit(f"error: {path} is empty: the run has logged nothing yet")
    return records


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` values (fewer at the start); same length as ``values``."""
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def panels_with_data(runs: Sequence[Run]) -> list[Panel]:
    """The panels that at least one run has a value for, in their fixed order."""
    return [
        panel
        for panel in PANELS
        if any(len(run.series(series.key)[0]) for run in runs for series in panel.series)
    ]


def panel_names(runs: Sequence[Run]) -> list[str]:
    return [panel.title for panel in panels_with_data(runs)]


def _draw_reference(axes, run: Run, panel: Panel, colour: str) -> None:
    """The PSNR baseline (or the step-0 PSNR) and the sharpness ratio's 1.0."""
    if panel.series[0].key == "validation/psnr":
        _, baseline = run.series(PSNR_BASELINE)
        if len(baseline):  # constant: the validation batch is fixed for a run
            axes.axhline(baseline[-1], color=colour, linestyle="--", linewidth=1)
            return
        steps, values = run.series("validation/psnr")
        start = values[steps == 0]
        if len(start):
            axes.axhline(start[0], color=colour, linestyle=":", linewidth=1)
    elif panel.series[0].key == "validation/sharpness_ratio":
        axes.axhline(1.0, color="grey", linestyle="--", linewidth=1)


def _panel_legend(axes, panel: Panel) -> None:
    """Line styles in black: which line is which series (run colours are in the figure legend)."""
    from matplotlib.lines import Line2D

    handles, labels = [], []
    for series in panel.series:
        handles.append(Line2D([], [], color="black", linestyle=series.linestyle))
        labels.append(series.label)
    if panel.series[0].key == "validation/psnr":
        handles += [
            Line2D([], [], color="black", linestyle="--"),
            Line2D([], [], color="black", linestyle=":"),
        ]
        labels += ["average of inputs", "step 0"]
    elif len(panel.series) == 1:
        return
    axes.legend(handles, labels, fontsize=7, loc="best")


def build_figure(runs: Sequence[Run], smooth: int = 1):
    """A matplotlib Figure (Agg canvas, no pyplot state) with one panel per entry of :func:`panel_names`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy import; no pyplot global state
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    panels = panels_with_data(runs)
    if not panels:
        raise SystemExit("error: no plottable metrics in " + ", ".join(run.label for run in runs))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(5.0 * columns, 3.2 * rows + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    colours = [f"C{index % 10}" for index in range(len(runs))]
    for index, panel in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        for run, colour in zip(runs, colours, strict=True):
            for series in panel.series:
                steps, values = run.series(series.key)
                if not len(steps):
                    continue
                if panel.smoothed and smooth > 1:
                    axes.plot(
                        steps, values, color=colour, linestyle=series.linestyle, linewidth=0.6, alpha=0.25
                    )
                    values = moving_average(values, smooth)
                marker = "o" if len(steps) < 30 else None
                axes.plot(
                    steps,
                    values,
                    color=colour,
                    linestyle=series.linestyle,
                    linewidth=1.2,
                    marker=marker,
                    markersize=3,
                )
            _draw_reference(axes, run, panel, colour)
        if panel.log_scale:
            axes.set_yscale("log")
        axes.set_title(
            panel.title + (f" (moving average of {smooth})" if panel.smoothed and smooth > 1 else ""),
            fontsize=9,
        )
        axes.set_xlabel("step", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        _panel_legend(axes, panel)
    figure.legend(
        [Line2D([], [], color=colour, linewidth=2) for colour in colours],
        [run.label for run in runs],
        loc="upper center",
        ncol=min(len(runs), 6),
        fontsize=9,
        frameon=False,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / figure.get_figheight()))
    return figure


def load_runs(run_dirs: Sequence[str | Path], labels: Sequence[str] | None = None) -> list[Run]:
    if labels is not None and len(labels) != len(run_dirs):
        raise SystemExit(
            f"error: --labels names {len(labels)} runs, but {len(run_dirs)} run folders were given"
        )
    names = labels if labels is not None else [Path(run_dir).resolve().name for run_dir in run_dirs]
    return [Run(name, read_metrics(run_dir)) for name, run_dir in zip(names, run_dirs, strict=True)]


def plot_runs(
    run_dirs: Sequence[str | Path], output: str | Path, labels: Sequence[str] | None = None, smooth: int = 1
) -> list[str]:
    """Write the PNG of ``run_dirs`` to ``output``; returns the names of its panels."""
    runs = load_runs(run_dirs, labels)
    figure = build_figure(runs, smooth)
    atomic_write(output, lambda temporary: figure.savefig(temporary, format="png"))
    return panel_names(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="training run folders")
    parser.add_argument("-o", "--output", required=True, help="the PNG to write")
    parser.add_argument("--labels", help="comma-separated legend names, one per run (default: folder names)")
    parser.add_argument(
        "--smooth",
        type=int,
        default=1,
        metavar="N",
        help="moving average over N logged points of the training losses (default 1: none)",
    )
    args = parser.parse_args(argv)
    if args.smooth < 1:
        parser.error("--smooth must be ≥ 1")
    labels = args.labels.split(",") if args.labels is not None else None
    names = plot_runs(args.run_dirs, args.output, labels, args.smooth)
    print(f"{args.output}: {len(names)} panels ({', '.join(names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
