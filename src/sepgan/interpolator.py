"""Interpolator: runs a generator on frames of any size.

The network only accepts sizes that are multiples of 32 (five 2× poolings). The
interpolator owns everything around it: replicate-padding to the next multiple
of 32 and cropping back, device placement, autocast precision and batching.

Tensor conventions: RGB, float32 in [0, 1]; ``frame0`` and ``frame1`` are
3×H×W or B×3×H×W, and the result has the same layout as the input.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from sepgan.runtime import Runtime, resolve_runtime

MULTIPLE = 32


def pad_to_multiple(frames: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Replicate-pad B×C×H×W on the bottom and right to a multiple; returns the original (H, W)."""
    height, width = frames.shape[-2:]
    pad_bottom = (-height) % multiple
    pad_right = (-width) % multiple
    if pad_bottom or pad_right:
        frames = F.pad(frames, (0, pad_right, 0, pad_bottom), mode="replicate")
    return frames, (height, width)


class Interpolator:
    """Wraps a generator ``model(frame0, frame1) -> middle`` for frames of any size."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        device: str | torch.device = "auto",
        precision: str = "auto",
        batch_size: int = 4,
    ) -> None:
        self.runtime: Runtime = resolve_runtime(str(device), precision)
        self.model = model.to(self.runtime.device).eval()
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> "Interpolator":
        from sepgan.checkpoint import load_pretrained

        return cls(load_pretrained(path), **kwargs)

    @torch.inference_mode()
    def interpolate(self, frame0: torch.Tensor, frame1: torch.Tensor) -> torch.Tensor:
        """The frame halfway between ``frame0`` and ``frame1``."""
        if frame0.shape != frame1.shape:
            raise ValueError(
                f"frame0 and frame1 differ in size: {tuple(frame0.shape)} vs {tuple(frame1.shape)}"
            )
        single = frame0.dim() == 3
        if single:
            frame0, frame1 = frame0[None], frame1[None]
        if frame0.dim() != 4 or frame0.shape[1] != 3:
            raise ValueError(f"frames must be 3×H×W or B×3×H×W RGB, got {tuple(frame0.shape)}")
        outputs = []
        for start in range(0, frame0.shape[0], self.batch_size):
            chunk0 = frame0[start : start + self.batch_size].to(self.runtime.device, torch.float32)
            chunk1 = frame1[start : start + self.batch_size].to(self.runtime.device, torch.float32)
            padded, (height, width) = pad_to_multiple(torch.cat([chunk0, chunk1]))
            padded0, padded1 = padded.chunk(2)
            with self.runtime.autocast():
                middle = self.model(padded0, padded1)
            outputs.append(middle[..., :height, :width].float().clamp(0, 1).cpu())
        result = torch.cat(outputs)
        return result[0] if single else result
