"""Synthetic footage for tests: a smooth random texture that really moves.

Frame t is a window of a larger canvas taken at offset (t·dy, t·dx), so the
true middle of frames k and k + 2 is exactly frame k + 1, and averaging the two
inputs gives a visibly blurred (double) image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def texture(height: int, width: int, seed: int = 0, detail: int = 8) -> np.ndarray:
    """H×W×3 uint8 smooth colour noise with features of about ``detail`` pixels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // detail + 2, width // detail + 2, generator=generator)
    fine = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False).clamp(0, 1)
    return (fine[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def moving_frames(count: int, height: int, width: int, shift=(1, 2), seed: int = 0) -> list[np.ndarray]:
    """``count`` H×W×3 uint8 frames; content moves by ``shift`` = (dy, dx) pixels per frame."""
    dy, dx = shift
    margin_y, margin_x = abs(dy) * count, abs(dx) * count
    canvas = texture(height + margin_y, width + margin_x, seed)
    frames = []
    for t in range(count):
        top = t * dy if dy >= 0 else margin_y + t * dy
        left = t * dx if dx >= 0 else margin_x + t * dx
        frames.append(canvas[top : top + height, left : left + width].copy())
    return frames


def write_frame_folder(folder: Path, frames: list[np.ndarray], suffix: str = ".png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{index:05d}{suffix}")
    return folder


def to_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1).float().div(255)[None]
