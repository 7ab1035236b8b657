"""What a training run records: validation metrics of tensor batches, the validation grid, and the log.

:class:`RunLog` writes scalars to TensorBoard and ``metrics.jsonl`` and
validation grids to TensorBoard and ``images/step_NNNNNN.png``, on rank 0 only.
The batch metrics average :mod:`sepgan.metrics` (numpy, uint8 H×W×3) over the
images of a batch, so validation PSNR means what ``sepgan evaluate``'s does.

Tensors: B×3×H×W RGB in [0, 1].
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from sepgan import metrics
from sepgan.media.frames import to_uint8
from sepgan.training.batch import Batch

__all__ = ["RunLog", "batch_psnr", "batch_sharpness_ratio", "validation_grid"]


def batch_psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean per-image :func:`sepgan.metrics.psnr` (dB, ``sepgan evaluate``'s convention) of
    B×3×H×W tensors in [0, 1]."""
    return _mean_metric(metrics.psnr, prediction, target)


def batch_sharpness_ratio(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean per-image :func:`sepgan.metrics.sharpness_ratio` of B×3×H×W tensors in [0, 1] (1.0 = as sharp)."""
    return _mean_metric(metrics.sharpness_ratio, prediction, target)


def _mean_metric(metric, prediction: torch.Tensor, target: torch.Tensor) -> float:
    pairs = zip(to_uint8(prediction.detach().cpu()), to_uint8(target.detach().cpu()), strict=True)
    return float(np.mean([metric(predicted, true) for predicted, true in pairs]))


def validation_grid(batch: Batch, output: torch.Tensor, max_rows: int = 8) -> torch.Tensor:
    """3×H×W image: one row per sample, inputs overlaid | output | ground truth."""
    rows = []
    separator = torch.ones(3, batch.target.shape[-2], 2)
    for index in range(min(max_rows, batch.target.shape[0])):
        overlay = 0.5 * (batch.frame0[index] + batch.frame1[index])
        rows.append(
            torch.cat([overlay, separator, output[index].clamp(0, 1), separator, batch.target[index]], dim=2)
        )
    spacer = torch.ones(3, 2, rows[0].shape[-1])
    grid = [rows[0]]
    for row in rows[1:]:
        grid += [spacer, row]
    return torch.cat(grid, dim=1).cpu()


class RunLog:
    """Scalars and images to TensorBoard, metrics.jsonl and PNG files (rank 0 only)."""

    def __init__(self, folder: Path, enabled: bool) -> None:
        self.folder, self.enabled, self.writer = folder, enabled, None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(folder / "tensorboard"))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        with open(self.folder / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps({"step": step, **values}) + "\n")

    def image(self, step: int, grid: torch.Tensor) -> Path | None:
        if not self.enabled:
            return None
        from sepgan.media.frames import save_image

        self.writer.add_image("validation/inputs_output_target", grid.clamp(0, 1), step)
        path = self.folder / "images" / f"step_{step:06d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
