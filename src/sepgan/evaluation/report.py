"""Write an :class:`~sepgan.evaluation.runner.EvaluationResult` to a run folder.

Files (every one written atomically: a temp file in the folder, then a rename):

* ``table.csv``, ``table.json``, ``table.md``: one row per benchmark × method
  with the mean PSNR (dB), SSIM, ST-LPIPS, IE, MS-SSIM, edge IE (outer 16 px), seconds per pair
  and peak MiB. ``table.json`` also records the conventions, the metrics scored and the skipped
  methods. A metric that was not scored (ST-LPIPS without its extra) has no column in any file.
* ``per_sample.csv``: one row per benchmark × scored frame × method, with its time
  ``time`` as j/N (``1/2`` for a triplet; at ×4, ``1/4``, ``2/4``, ``3/4``).
* ``positions.csv`` (and ``positions`` in ``table.json``): the means per benchmark × time ×
  method, for every metric. When a benchmark was scored at a factor N above 2, ``table.md``
  also holds the PSNR (and the ST-LPIPS, when scored) per position t = j/N, one row per
  benchmark × position, one column per method.
* ``montages/<benchmark>/<method>.png``: that method's worst (top row) and best
  (bottom row) sample by PSNR; columns: input overlay (the 50/50 blend of the
  inputs) | ours | the method | ground truth. For ``ours`` itself the middle
  column is the best other method on that benchmark; without ``ours`` it is
  left out. Tiles wider than 480 px are shrunk.
* ``psnr_<benchmark>.png``: PSNR per sample for every method.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sepgan.atomic import atomic_write, atomic_write_text
from sepgan.evaluation.runner import EvaluationResult, Snapshot
from sepgan.media.frames import from_uint8, save_image
from sepgan.metrics import EDGE_BAND, METRICS, PSNR_CAP
from sepgan.tables import Column, markdown_table

__all__ = [
    "CONVENTIONS",
    "csv_text",
    "format_markdown",
    "format_positions_markdown",
    "format_tables",
    "montage",
    "position_summaries",
    "safe_name",
    "time_label",
    "write_report",
]

CONVENTIONS = {
    "rounding": "outputs rounded to uint8 with floor(x * 255 + 0.5) before scoring; targets read as uint8",
    "psnr": (
        f"per image over all RGB samples, MSE in float64, capped at {PSNR_CAP:g} dB; table = mean over images"
    ),
    "ssim": "skimage structural_similarity, Gaussian window sigma 1.5, population covariance, "
    "data_range 255, per RGB channel and averaged",
    "ie": "Middlebury interpolation error: mean absolute difference on 0-255",
    "st_lpips": "ST-LPIPS (Ghildyal & Liu 2022), shift-tolerant AlexNet of the stlpips-pytorch wheel "
    "(weights vST0.0), rebuilt in sepgan.stlpips; inputs RGB in [0, 1]; 0 = identical, lower is better",
    "ms_ssim": "multi-scale SSIM (Wang et al. 2003), 5 scales, Gaussian 11/1.5, per channel, averaged",
    "edge_ie": f"IE over the outer {EDGE_BAND} px of each side only (bars, content entering the frame)",
    "seconds_per_pair": "mean wall time of the method call, setup excluded; at a factor N one call makes "
    "the N - 1 frames of a pair",
    "time": "j/N: the scored frame's time between the two kept frames k and k + N (frame k + j)",
    "peak_mib": "max over samples of the memory a call added (CUDA allocator peak, or RSS growth on CPU, "
    "or the subprocess's peak RSS for ffmpeg)",
}

_COLUMNS = [
    Column("benchmark"),
    Column("method"),
    Column("samples", align="right"),
    Column("PSNR (dB) ↑", "{:.2f}", "right", key="psnr"),
    Column("SSIM ↑", "{:.4f}", "right", key="ssim"),
    Column("ST-LPIPS ↓", "{:.4f}", "right", key="st_lpips"),
    Column("IE ↓", "{:.2f}", "right", key="ie"),
    Column("MS-SSIM ↑", "{:.4f}", "right", key="ms_ssim"),
    Column("edge IE ↓", "{:.2f}", "right", key="edge_ie"),
    Column("s/pair", "{:.3f}", "right", key="seconds_per_pair"),
    Column("peak MiB", "{:.0f}", "right", key="peak_mib"),
]
_TILE_WIDTH = 480


# The metrics shown per position in table.md at a factor above 2, with their titles and formats.
_POSITION_METRICS = {"psnr": ("PSNR (dB)", "{:.2f}"), "st_lpips": ("ST-LPIPS", "{:.4f}")}


def _columns(result: EvaluationResult) -> list[Column]:
    """The summary's columns, without those of metrics that were not scored."""
    return [column for column in _COLUMNS if column.key not in METRICS or column.key in result.metrics]


def format_markdown(result: EvaluationResult) -> str:
    """The summary table as GitHub Markdown (also what the CLI prints); a missing figure reads n/a."""
    return markdown_table(_columns(result), (summary.as_row() for summary in result.summaries), missing="n/a")


def format_tables(result: EvaluationResult) -> str:
    """``table.md`` (also what the CLI prints): the summary table, then, when a benchmark was
    scored at a factor above 2, the PSNR and the ST-LPIPS (when scored) per position
    (:func:`format_positions_markdown`)."""
    markdown = format_markdown(result)
    if any(factor != 2 for factor in result.factors.values()):
        for metric, (title, _) in _POSITION_METRICS.items():
            if metric in result.metrics:
                markdown += (
                    f"\n{title} per position t = j/N (frame k + j rebuilt from frames k and k + N):\n\n"
                )
                markdown += format_positions_markdown(result, metric)
    return markdown


def time_label(result: EvaluationResult, benchmark: str, time: Fraction) -> str:
    """``time`` as j/N on its benchmark's factor N (``2/4``, not ``1/2``, at ×4): the position."""
    factor = result.factors.get(benchmark, 2)
    return f"{time * factor}/{factor}"


def position_summaries(result: EvaluationResult) -> list[dict[str, object]]:
    """The mean of every metric per benchmark × time × method, in benchmark, time and method order:
    dicts of ``benchmark``, ``time`` (j/N), ``method``, ``samples`` and each metric."""
    groups: dict[tuple[str, Fraction, str], list[dict[str, float]]] = {}
    for row in result.samples:
        groups.setdefault((row.benchmark, row.time, row.method), []).append(row.metrics)
    order = {name: index for index, name in enumerate(result.benchmarks)}
    methods = {name: index for index, name in enumerate(result.methods)}
    keys = sorted(groups, key=lambda key: (order.get(key[0], len(order)), key[1], methods.get(key[2], 0)))
    return [
        {
            "benchmark": benchmark,
            "time": time_label(result, benchmark, time),
            "method": method,
            "samples": len(groups[benchmark, time, method]),
            **{
                name: float(np.mean([m[name] for m in groups[benchmark, time, method]]))
                for name in result.metrics
            },
        }
        for benchmark, time, method in keys
    ]


def format_positions_markdown(result: EvaluationResult, metric: str = "psnr") -> str:
    """``metric`` (PSNR in dB, or ST-LPIPS) per position as GitHub Markdown: one row per
    benchmark × time j/N, one column per method, each the mean over the frames scored at that time."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for summary in position_summaries(result):
        key = (str(summary["benchmark"]), str(summary["time"]))
        row = rows.setdefault(key, {"benchmark": key[0], "t": key[1], "samples": summary["samples"]})
        row[str(summary["method"])] = summary[metric]
    number_format = _POSITION_METRICS[metric][1]
    columns = [Column("benchmark"), Column("t", align="right"), Column("samples", align="right")]
    columns += [Column(method, number_format, "right") for method in result.methods]
    return markdown_table(columns, [{**{m: None for m in result.methods}, **row} for row in rows.values()])


def csv_text(rows: list[dict[str, object]], fieldnames: list[str]) -> str:
    """``rows`` as CSV text with a header of ``fieldnames``, one line per row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_report(
    result: EvaluationResult, output: Path, settings: dict[str, object] | None = None
) -> list[Path]:
    """Write every report file under ``output``; return the paths written."""
    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def text(name: str, content: str) -> None:
        atomic_write_text(output / name, content)
        written.append(output / name)

    table_fields = [column.key for column in _columns(result)]
    text("table.csv", csv_text([s.as_row() for s in result.summaries], table_fields))
    text("table.md", format_tables(result))
    positions = position_summaries(result)
    text("positions.csv", csv_text(positions, ["benchmark", "time", "method", "samples", *result.metrics]))
    payload = {
        "settings": settings or {},
        "conventions": {
            key: value for key, value in CONVENTIONS.items() if key not in METRICS or key in result.metrics
        },
        "metrics": result.metrics,
        "skipped": result.skipped,
        "results": [s.as_row() for s in result.summaries],
        "positions": positions,
    }
    text("table.json", json.dumps(payload, indent=2, default=str) + "\n")
    sample_rows = [
        {
            "benchmark": row.benchmark,
            "sample": row.sample,
            "time": time_label(result, row.benchmark, row.time),
            "method": row.method,
            **row.metrics,
            "seconds": row.seconds,
            "peak_mib": None if row.peak_bytes is None else row.peak_bytes / 2**20,
        }
        for row in result.samples
    ]
    sample_fields = ["benchmark", "sample", "time", "method", *result.metrics, "seconds", "peak_mib"]
    text("per_sample.csv", csv_text(sample_rows, sample_fields))

    for (benchmark, method), worst in result.worst.items():
        best = result.best[(benchmark, method)]
        path = output / "montages" / safe_name(benchmark) / f"{safe_name(method)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(from_uint8(_montage(result, method, [worst, best])), path)
        written.append(path)
    for benchmark in result.benchmarks:
        path = output / f"psnr_{safe_name(benchmark)}.png"
        _plot_psnr(result, benchmark, path)
        written.append(path)
    return written


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits and ``-_.`` replaced by ``_``, for file names."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _companion(result: EvaluationResult, benchmark: str, method: str) -> str | None:
    """The column shown beside ``method``: ours, or for ours the best other method by mean PSNR."""
    if method != "ours":
        return "ours" if "ours" in result.methods else None
    others = [s for s in result.summaries if s.benchmark == benchmark and s.method != "ours"]
    return max(others, key=lambda s: s.metrics["psnr"]).method if others else None


def _montage(result: EvaluationResult, method: str, snapshots: list[Snapshot]) -> np.ndarray:
    rows = []
    for label, snapshot in zip(("worst", "best"), snapshots, strict=True):
        companion = _companion(result, snapshot.benchmark, method)
        overlay = ((snapshot.frame0.astype(np.uint16) + snapshot.frame1 + 1) // 2).astype(np.uint8)
        tiles = [(f"{label}: {snapshot.sample} | inputs overlaid", overlay)]
        columns = (
            [companion, method] if companion == "ours" else [method] + ([companion] if companion else [])
        )
        for name in columns:
            tiles.append((f"{name} {snapshot.psnr[name]:.2f} dB", snapshot.outputs[name]))
        tiles.append(("ground truth", snapshot.target))
        rows.append(tiles)
    return montage(rows)


def montage(rows: Sequence[Sequence[tuple[str, np.ndarray]]], scale: int = 1) -> np.ndarray:
    """A grid of captioned H×W×3 uint8 tiles, one sequence of ``(caption, image)`` per row.

    Each image is enlarged ``scale``× by nearest neighbour (pixels stay visible as blocks), or
    shrunk to 480 px wide when wider; a 16 px caption band sits above it. Rows are left-aligned
    and padded with black to the widest.
    """
    strips = [
        np.concatenate([_tile(image, caption, scale) for caption, image in row], axis=1) for row in rows
    ]
    width = max(strip.shape[1] for strip in strips)
    strips = [np.pad(strip, ((0, 0), (0, width - strip.shape[1]), (0, 0))) for strip in strips]
    return np.concatenate(strips, axis=0)


def _tile(image: np.ndarray, caption: str, scale: int = 1) -> np.ndarray:
    picture = Image.fromarray(image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    if picture.width > _TILE_WIDTH:
        height = max(1, round(picture.height * _TILE_WIDTH / picture.width))
        picture = picture.resize((_TILE_WIDTH, height), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (max(picture.width, 1), picture.height + 16), "black")
    canvas.paste(picture, (0, 16))
    ImageDraw.Draw(canvas).text((2, 2), caption, fill="white")
    return np.asarray(canvas)


def _plot_psnr(result: EvaluationResult, benchmark: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed; set before pyplot is imported
    import matplotlib.pyplot as plt

    rows = [row for row in result.samples if row.benchmark == benchmark]
    samples = list(dict.fromkeys(row.sample for row in rows))
    figure, axes = plt.subplots(figsize=(max(6.0, 0.25 * len(samples) + 2), 4))
    for method in result.methods:
        values = [row.metrics["psnr"] for row in rows if row.method == method]
        axes.plot(range(len(values)), values, marker="o", markersize=3, linewidth=1, label=method)
    axes.set_xlabel("sample")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(f"PSNR per sample: {benchmark}")
    if len(samples) <= 40:
        axes.set_xticks(range(len(samples)), samples, rotation=90, fontsize=7)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()

    def save(temporary: str) -> None:
        figure.savefig(temporary, format="png", dpi=100)

    try:
        atomic_write(path, save)
    finally:
        plt.close(figure)
