"""Named weights side by side on the same triplets: fidelity, perceptual and sharpness scores, montages.

Issue 16 asks whether adversarial fine-tuning (DCGAN, WGAN-GP) of the L1 model
trades PSNR for sharper, more plausible frames. ``sepgan evaluate`` scores one
checkpoint against baselines; this module runs several checkpoints
(``NAME=WEIGHTS``, anything :func:`sepgan.weights.resolve_weights` accepts) on
the samples of each benchmark (read exactly as ``sepgan evaluate`` reads them,
:func:`sepgan.evaluation.benchmarks.open_benchmark`; ``limit`` per benchmark).
``sepgan compare`` (:mod:`sepgan.evaluation.compare_cli`) is its command line.

Per triplet:

* **Flows once.** Models whose flows are computed alike (same DIS preset and
  ensemble size, which is all :meth:`~sepgan.interpolator.Interpolator.estimate_flows`
  reads) share one estimate; each group of models with other settings gets
  its own (:func:`flow_groups`). ``middle_iterations`` is applied inside each
  model's forward, so it may differ within a group. Fine-tunes of one model
  form one group, so the DIS cost is paid once however many are compared.
* **Reference.** The classical flow ensemble (``flow-ensemble``,
  :class:`~sepgan.evaluation.methods.FlowFineMethod` with four variants: the
  flow-sepconv models' own flow path with the network at zero) is scored as a
  row of its own, :data:`REFERENCE_ROW`, and its errors define the mask of
  :func:`sepgan.metrics.moving_edge_similarity`. It reuses the shared flows
  when a group has its settings (DIS "fine", four variants).
* **Scores** (:data:`COLUMNS`, all from :mod:`sepgan.metrics`, uint8 against
  the uint8 truth): PSNR, SSIM, MS-SSIM, VIF-P, sharpness ratio and
  moving-edge GMS. A benchmark figure is the mean over its samples, except
  the sharpness ratio's, which is the geometric mean (a ratio: 0.5 and 2 are
  equally far from 1). The row :data:`HELD_OUT_ROW` averages the benchmarks
  read as ``video`` (held-out clips, drop-a-frame) with equal weight per clip.
* **Montages.** Per benchmark, the ``crops`` windows of ``crop_size`` px where
  the models' outputs differ most from each other (mean absolute deviation
  from their mean, RGB, 0–255; with one model, its error against the truth),
  at most ``crops`` non-overlapping windows per triplet. Each row is
  frame0 | frame1 | each model in the order given | ground truth, enlarged 2×
  by nearest neighbour (:func:`sepgan.evaluation.report.montage`), the models
  captioned with their PSNR on the crop.

Outputs of :func:`write_comparison` (atomic writes, :mod:`sepgan.atomic`):
``results.json`` (settings, conventions, per-benchmark and per-sample
scores), ``results.csv`` (per-benchmark), ``results.md`` (the table) and
``montages/<benchmark>.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sepgan.atomic import atomic_write_text
from sepgan.errors import UserError
from sepgan.evaluation.methods import FlowFineMethod
from sepgan.evaluation.pipeline import open_benchmarks
from sepgan.media.frames import from_uint8, to_uint8
from sepgan.metrics import moving_edge_similarity as _moving_edge_similarity
from sepgan.metrics import ms_ssim, psnr, sharpness_ratio, ssim, vif
from sepgan.options import check_limit, check_workers
from sepgan.tables import Column, markdown_table

__all__ = [
    "COLUMNS",
    "HELD_OUT_ROW",
    "REFERENCE_ROW",
    "CompareError",
    "Comparison",
    "Crop",
    "NamedWeights",
    "compare",
    "flow_groups",
    "format_markdown",
    "parse_named_weights",
    "write_comparison",
]

REFERENCE_ROW = "flow-ensemble (reference)"
HELD_OUT_ROW = "mean over held-out clips"
MONTAGE_SCALE = 2

# Metric key → (table title, format); every one is higher-is-better except sharpness (1.0 = the truth's).
COLUMNS: dict[str, tuple[str, str]] = {
    "psnr": ("PSNR (dB) ↑", "{:.2f}"),
    "ssim": ("SSIM ↑", "{:.4f}"),
    "ms_ssim": ("MS-SSIM ↑", "{:.4f}"),
    "vif": ("VIF ↑", "{:.4f}"),
    "sharpness": ("sharpness (1 = truth)", "{:.3f}"),
    "moving_edge": ("moving-edge GMS ↑", "{:.4f}"),
}

CONVENTIONS = {
    "rounding": "outputs rounded to uint8 with floor(x * 255 + 0.5) before scoring; targets read as uint8",
    "psnr": "per image over all RGB samples, capped at 100 dB (sepgan.metrics.psnr)",
    "ssim": "scikit-image, Gaussian window sigma 1.5, per RGB channel, averaged (sepgan.metrics.ssim)",
    "ms_ssim": "multi-scale SSIM, 5 scales, per RGB channel, averaged (sepgan.metrics.ms_ssim)",
    "vif": "VIF-P (Sheikh & Bovik 2006) by torchmetrics on BT.601 luma, 0-255, sigma_n^2 = 2",
    "sharpness": "mean square Laplacian of luma, prediction / truth; benchmark figure = geometric mean",
    "moving_edge": "GMSD's gradient-magnitude similarity (Prewitt, c = 170) averaged over the 10 % of pixels "
    "where the flow-ensemble reference errs most (smoothed sigma 2 px), grown 2 px",
    "benchmark figure": "mean over samples (sharpness: geometric mean)",
    "held-out row": "mean of the figures of the benchmarks read as video (drop-a-frame), one weight per clip",
}


class CompareError(UserError, ValueError):
    """A comparison the user asked for that cannot run: a bad NAME=WEIGHTS, a repeated name, no samples."""


@dataclass(frozen=True)
class NamedWeights:
    name: str
    weights: str  # a bundled name or a folder (sepgan.weights.resolve_weights)


def parse_named_weights(text: str) -> NamedWeights:
    """``"NAME=WEIGHTS"`` → :class:`NamedWeights`; both parts must be non-empty."""
    name, separator, weights = text.partition("=")
    name, weights = name.strip(), weights.strip()
    if not separator or not name or not weights:
        raise CompareError("expected NAME=WEIGHTS, got {value!r}", parameter="model", value=text)
    return NamedWeights(name, weights)


@dataclass
class Crop:
    """One montage row: a window of one triplet and how much the models disagree there (0–255)."""

    benchmark: str
    sample: str
    top: int
    left: int
    disagreement: float
    tiles: list[tuple[str, np.ndarray]]


@dataclass
class Comparison:
    """What :func:`compare` measured. ``rows``: one dict per benchmark × row (models, then the
    reference; then the held-out means), ``samples``: one per benchmark × sample × row."""

    models: list[str]
    benchmarks: dict[str, str]  # name → layout
    flow_groups: list[list[str]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    crops: dict[str, list[Crop]] = field(default_factory=dict)


def flow_groups(interpolators: dict[str, Any]) -> dict[tuple, list[str]]:
    """Model names (of ``{name: Interpolator}``) grouped by what their flow estimate depends on:
    architecture, DIS preset, ensemble size. Models without flow (SepConv) group by architecture."""
    groups: dict[tuple, list[str]] = {}
    for name, interpolator in interpolators.items():
        model = interpolator.model
        key = (
            type(model).__name__,
            getattr(model, "flow_preset", None),
            getattr(model, "flow_variants", None),
        )
        groups.setdefault(key, []).append(name)
    return groups


def _scores(prediction: np.ndarray, target: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    return {
        "psnr": psnr(prediction, target),
        "ssim": ssim(prediction, target),
        "ms_ssim": ms_ssim(prediction, target),
        "vif": vif(prediction, target),
        "sharpness": sharpness_ratio(prediction, target),
        "moving_edge": _moving_edge_similarity(prediction, target, reference),
    }


def _figure(key: str, values: Sequence[float]) -> float:
    """A benchmark figure from per-sample values: the mean, or for the sharpness ratio the geometric mean."""
    if key == "sharpness":
        if any(value <= 0 for value in values):
            return 0.0
        return float(math.exp(np.mean(np.log(values))))
    return float(np.mean(values))


def _disagreement(outputs: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    """H×W float: the models' mean absolute deviation from their mean (one model: its error)."""
    stack = np.stack([output.astype(np.float32) for output in outputs])
    if len(outputs) == 1:
        return np.abs(stack[0] - target.astype(np.float32)).mean(axis=2)
    return np.abs(stack - stack.mean(axis=0)).mean(axis=(0, 3))


def _best_windows(score: np.ndarray, size: int, count: int) -> list[tuple[int, int, float]]:
    """Up to ``count`` non-overlapping size×size windows with the largest mean ``score``, best first:
    (top, left, mean)."""
    integral = np.pad(score.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (
        integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    )
    windows = []
    for _ in range(count):
        top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
        if not np.isfinite(sums[top, left]):
            break
        windows.append((int(top), int(left), float(sums[top, left]) / size**2))
        # Every window overlapping this one is out.
        sums[max(0, top - size + 1) : top + size, max(0, left - size + 1) : left + size] = -np.inf
    return windows


def _crops(
    benchmark: str,
    sample: str,
    frames: tuple[np.ndarray, np.ndarray, np.ndarray],
    outputs: dict[str, np.ndarray],
    size: int,
    count: int,
) -> list[Crop]:
    frame0, frame1, target = frames
    size = min(size, *target.shape[:2])
    crops = []
    for top, left, disagreement in _best_windows(_disagreement(list(outputs.values()), target), size, count):
        window = (slice(top, top + size), slice(left, left + size))
        tiles = [(f"frame0 {sample}", frame0[window]), (f"frame1 x{left} y{top}", frame1[window])]
        for name, output in outputs.items():
            tiles.append((f"{name} {psnr(output[window], target[window]):.1f} dB", output[window]))
        tiles.append(("ground truth", target[window]))
        crops.append(Crop(benchmark, sample, top, left, disagreement, [(c, i.copy()) for c, i in tiles]))
    return crops


def _load(named: Sequence[NamedWeights], device: str, workers: int | None) -> dict[str, Any]:
    from sepgan.interpolator import Interpolator

    names = [entry.name for entry in named]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CompareError(
            "{model} names must differ: {names} given twice", parameter="model", names=", ".join(repeated)
        )
    if REFERENCE_ROW in names or HELD_OUT_ROW in names:
        raise CompareError(f"{REFERENCE_ROW!r} and {HELD_OUT_ROW!r} are row names of the table")
    return {
        entry.name: Interpolator.from_pretrained(entry.weights, device=device, workers=workers)
        for entry in named
    }


class _Middles:
    """Every model's middle frame and the reference's for one triplet, with flows shared by group."""

    def __init__(
        self, interpolators: dict[str, Any], workers: int | None, log: Callable[[str], None]
    ) -> None:
        self.interpolators = interpolators
        groups = flow_groups(interpolators)
        self.groups = list(groups.values())
        self.key_of = {name: key for key, members in groups.items() for name in members}
        self.reference = FlowFineMethod(variants=4, workers=workers)
        # The flows of a flow-sepconv group with the reference's settings are the reference's flows.
        self.reference_key = ("FlowSepConv", self.reference.flow_preset, self.reference.variants)
        shared = " (and the reference)" if self.reference_key in groups else "; the reference gets its own"
        log("flows estimated once per triplet for: " + "; ".join(", ".join(g) for g in self.groups) + shared)

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray) -> dict[str, np.ndarray]:
        tensor0, tensor1 = from_uint8(frame0)[None], from_uint8(frame1)[None]
        flows: dict[tuple, torch.Tensor | None] = {}
        outputs: dict[str, np.ndarray] = {}
        for name, interpolator in self.interpolators.items():
            key = self.key_of[name]
            if key not in flows:
                flows[key] = interpolator.estimate_flows(tensor0, tensor1)
            outputs[name] = to_uint8(interpolator.interpolate(tensor0, tensor1, flows=flows[key])[0])
        outputs[REFERENCE_ROW] = self.reference(frame0, frame1, flows=flows.get(self.reference_key))
        return outputs


def _summary(benchmark: str, row: str, scores: Sequence[dict[str, float]], samples: int) -> dict[str, Any]:
    figures = {key: _figure(key, [score[key] for score in scores]) for key in COLUMNS}
    if any(math.isnan(value) for value in figures.values()):
        raise RuntimeError(f"{row} on {benchmark}: a metric came out NaN")
    return {"benchmark": benchmark, "row": row, "samples": samples, **figures}


def compare(
    named: Sequence[NamedWeights],
    paths: Sequence[Path],
    *,
    limit: int | None = None,
    layout: str = "auto",
    device: str = "auto",
    workers: int | None = None,
    crop_size: int = 96,
    crops: int = 3,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Comparison:
    """Score every model in ``named`` and the flow-ensemble reference on ``paths``; see the module docstring.

    ``workers``: threads for the DIS calls (None: every CPU this process may use).
    """
    from sepgan.progress import progress_bar

    if not named:
        raise CompareError("give at least one {model} (NAME=WEIGHTS)", parameter="model")
    check_limit(limit)
    if workers is not None:
        check_workers(workers)
    if crop_size < 8 or crops < 0:
        raise CompareError(f"crop_size must be at least 8 and crops at least 0, got {crop_size}, {crops}")
    benchmarks = open_benchmarks(paths, layout, log=log)
    middles = _Middles(_load(named, device, workers), workers, log)
    result = Comparison(
        [entry.name for entry in named], {b.name: b.layout for b in benchmarks}, middles.groups
    )
    row_names = [*result.models, REFERENCE_ROW]
    for benchmark in benchmarks:
        total = benchmark.length if limit is None else min(limit, benchmark.length or limit)
        per_row: dict[str, list[dict[str, float]]] = {name: [] for name in row_names}
        candidates: list[Crop] = []
        samples = islice(iter(benchmark), limit)
        for sample in progress_bar(samples, total=total, desc=benchmark.name, unit="pair", enabled=progress):
            frame0, frame1, target = sample.load()
            outputs = middles(frame0, frame1)
            for name, prediction in outputs.items():
                scores = _scores(prediction, target, outputs[REFERENCE_ROW])
                per_row[name].append(scores)
                result.samples.append(
                    {"benchmark": benchmark.name, "sample": sample.name, "row": name, **scores}
                )
            models_only = {name: outputs[name] for name in result.models}
            candidates += _crops(
                benchmark.name, sample.name, (frame0, frame1, target), models_only, crop_size, crops
            )
            candidates = sorted(candidates, key=lambda crop: -crop.disagreement)[:crops]
        if not per_row[REFERENCE_ROW]:
            raise CompareError(f"{benchmark.root}: no samples found")
        result.rows += [
            _summary(benchmark.name, name, per_row[name], len(per_row[name])) for name in row_names
        ]
        result.crops[benchmark.name] = candidates
    held_out = [name for name, layout in result.benchmarks.items() if layout == "video"]
    for name in row_names if held_out else []:
        rows = [row for row in result.rows if row["row"] == name and row["benchmark"] in held_out]
        result.rows.append(_summary(HELD_OUT_ROW, name, rows, sum(row["samples"] for row in rows)))
    return result


def format_markdown(result: Comparison) -> str:
    """The per-benchmark table as GitHub Markdown."""
    columns = [Column("benchmark"), Column("model", key="row"), Column("samples", align="right")]
    columns += [Column(title, fmt, "right", key=key) for key, (title, fmt) in COLUMNS.items()]
    return markdown_table(columns, result.rows)


def write_comparison(result: Comparison, output: Path, settings: dict[str, Any] | None = None) -> list[Path]:
    """Write results.json, results.csv, results.md and montages/<benchmark>.png; return the paths."""
    from sepgan.evaluation.report import csv_text, montage, safe_name
    from sepgan.media.frames import save_image

    output.mkdir(parents=True, exist_ok=True)
    written = []
    payload = {
        "settings": settings or {},
        "models": result.models,
        "benchmarks": result.benchmarks,
        "flow_groups": result.flow_groups,
        "conventions": CONVENTIONS,
        "results": result.rows,
        "samples": result.samples,
        "montages": {
            benchmark: [
                {"sample": c.sample, "top": c.top, "left": c.left, "disagreement": c.disagreement}
                for c in crops
            ]
            for benchmark, crops in result.crops.items()
        },
    }
    fields = ["benchmark", "row", "samples", *COLUMNS]
    for name, text in (
        ("results.json", json.dumps(payload, indent=2, default=str) + "\n"),
        ("results.csv", csv_text(result.rows, fields)),
        ("results.md", format_markdown(result)),
    ):
        atomic_write_text(output / name, text)
        written.append(output / name)
    for benchmark, crops in result.crops.items():
        if not crops:
            continue
        path = output / "montages" / f"{safe_name(benchmark)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(from_uint8(montage([crop.tiles for crop in crops], scale=MONTAGE_SCALE)), path)  # atomic
        written.append(path)
    return written
