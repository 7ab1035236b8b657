"""Paired augmentations: one random transform applied identically to a whole triplet.

A triplet is (frame0, frame1, target), the two inputs and the true middle
frame. Every random choice (crop window, flips, channel order) is drawn once
per triplet and applied to all three frames, so the target stays the exact
middle of the inputs. Temporal reversal swaps frame0 and frame1; the middle
of a reversed clip is the same target, so it doubles the motion directions
seen in training for free.

Frames may be uint8 numpy arrays shaped H×W×3 (what datasets read; cropping
before the float conversion is 4× cheaper) or tensors shaped 3×H×W. All
three frames of a triplet must share one shape.

Randomness and DataLoader workers
---------------------------------
With ``seed=None`` (the default for training) draws come from torch's global
RNG. PyTorch seeds it in each DataLoader worker with ``base_seed + worker_id``,
where ``base_seed`` is drawn from the main process's RNG at every epoch, so
``torch.manual_seed(s)`` once makes the whole pipeline reproducible while
workers and epochs still see different crops. (In the main process, with
``num_workers=0``, augmentation advances the same global RNG as the rest of
the program.)

With an integer ``seed`` the transform owns a ``torch.Generator``: in the
main process it is seeded with ``seed`` alone, a fixed stream for tests and
previews; in a worker with ``(seed, worker_info.seed)``, re-derived whenever
the process or worker changes, so forked workers never replay one stream.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch
from torch.utils.data import get_worker_info

__all__ = ["PairedAugment"]

Frame = TypeVar("Frame", np.ndarray, torch.Tensor)


def _flip_flows(flows, axis: int, component: int):
    """Mirror a 4V×H×W flow stack along ``axis`` and negate its x (0) or y (1) components."""
    sign = [1.0, 1.0, 1.0, 1.0] * (flows.shape[0] // 4)
    sign[component::2] = [-1.0] * (len(sign) // 2)
    if isinstance(flows, np.ndarray):
        return np.flip(flows, axis=axis) * np.asarray(sign, dtype=flows.dtype)[:, None, None]
    return flows.flip(axis) * torch.tensor(sign, dtype=flows.dtype, device=flows.device)[:, None, None]


def _reverse_flows(flows):
    """Swap flow01 and flow10 in every group of a 4V×H×W flow stack (temporal reversal)."""
    order = [4 * group + channel for group in range(flows.shape[0] // 4) for channel in (2, 3, 0, 1)]
    return flows[order]


class PairedAugment:
    """Random crop, flips, temporal reversal and channel permutation, shared by a triplet.

    Args:
        crop_size: (height, width) of the random crop in pixels, an int for a
            square, or None to keep whole frames. The crop must fit the frame.
        flip_horizontal: mirror left↔right with probability 0.5.
        flip_vertical: mirror top↔bottom with probability 0.5.
        temporal_reverse: swap frame0 and frame1 with probability 0.5.
        channel_permute: shuffle the RGB channels (one of 6 orders, uniformly).
            Off by default: it teaches colour invariance but also shows the
            model colours that never occur.
        seed: None to draw from torch's global RNG (follows ``torch.manual_seed``),
            or an int for a private, reproducible stream; see the module
            docstring for how either combines with DataLoader workers.
    """

    def __init__(
        self,
        crop_size: int | Sequence[int] | None = (64, 64),
        flip_horizontal: bool = True,
        flip_vertical: bool = True,
        temporal_reverse: bool = True,
        channel_permute: bool = False,
        seed: int | None = None,
    ) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if crop_size is not None:
            crop_size = tuple(int(side) for side in crop_size)
            if len(crop_size) != 2 or min(crop_size) < 1:
                raise ValueError(f"crop_size must be (height, width) with positive sides, got {crop_size}")
        self.crop_size: tuple[int, int] | None = crop_size  # type: ignore[assignment]
        self.flip_horizontal = flip_horizontal
        self.flip_vertical = flip_vertical
        self.temporal_reverse = temporal_reverse
        self.channel_permute = channel_permute
        self.seed = seed
        self._generator: torch.Generator | None = None
        self._generator_owner: tuple[int, int | None] | None = None

    def __call__(self, frame0: Frame, frame1: Frame, target: Frame, *, flows=None):
        """Return the augmented (frame0, frame1, target), plus the flows when ``flows`` is given.

        ``flows`` is a 4×H×W array or tensor ``cat(flow01, flow10)`` in pixels, or
        4V×H×W for a flow ensemble of V such groups (see :mod:`sepgan.flow`),
        transformed with the frames: cropped alike, a horizontal flip mirrors it
        and negates the x components, a vertical flip the y components, and
        temporal reversal swaps flow01 and flow10 in every group.
        """
        is_array = isinstance(frame0, np.ndarray)
        shapes = {tuple(frame.shape) for frame in (frame0, frame1, target)}
        if len(shapes) != 1:
            raise ValueError(f"frames of a triplet differ in shape: {sorted(shapes)}")
        height, width = frame0.shape[:2] if is_array else frame0.shape[-2:]
        rng = self._rng()
        frames = [frame0, frame1, target]

        if self.crop_size is not None:
            crop_height, crop_width = self.crop_size
            if crop_height > height or crop_width > width:
                raise ValueError(
                    f"crop {crop_height}×{crop_width} is larger than the frame {height}×{width} (h×w)"
                )
            top = int(torch.randint(0, height - crop_height + 1, (), generator=rng))
            left = int(torch.randint(0, width - crop_width + 1, (), generator=rng))
            rows, columns = slice(top, top + crop_height), slice(left, left + crop_width)
            frames = [f[rows, columns] if is_array else f[..., rows, columns] for f in frames]
            if flows is not None:
                flows = flows[..., rows, columns]
        # Draw every decision even when disabled, so toggling one option does not
        # change the random stream behind the others.
        flip_h, flip_v, reverse = (torch.rand(3, generator=rng) < 0.5).tolist()
        permutation = torch.randperm(3, generator=rng)
        if self.flip_horizontal and flip_h:
            frames = [f[:, ::-1] if is_array else f.flip(-1) for f in frames]
            if flows is not None:
                flows = _flip_flows(flows, axis=-1, component=0)
        if self.flip_vertical and flip_v:
            frames = [f[::-1] if is_array else f.flip(-2) for f in frames]
            if flows is not None:
                flows = _flip_flows(flows, axis=-2, component=1)
        if self.channel_permute:
            frames = [f[..., permutation.numpy()] if is_array else f[..., permutation, :, :] for f in frames]
        if self.temporal_reverse and reverse:
            frames[0], frames[1] = frames[1], frames[0]
            if flows is not None:
                flows = _reverse_flows(flows)
        if flows is not None:
            return frames[0], frames[1], frames[2], flows
        return frames[0], frames[1], frames[2]

    def __getstate__(self) -> dict[str, object]:
        # Workers derive their own generator; never ship the parent's to them.
        state = self.__dict__.copy()
        state["_generator"] = state["_generator_owner"] = None
        return state

    def __repr__(self) -> str:
        return (
            f"PairedAugment(crop_size={self.crop_size}, flip_horizontal={self.flip_horizontal}, "
            f"flip_vertical={self.flip_vertical}, temporal_reverse={self.temporal_reverse}, "
            f"channel_permute={self.channel_permute}, seed={self.seed})"
        )

    def reseed(self, seed: int | Sequence[int]) -> None:
        """Restart the random stream from ``seed`` in the current process.

        The training loop calls this before every item with (seed, epoch, index),
        so an item's augmentation does not depend on which worker reads it or on
        what was read before: a resumed run sees exactly the crops it would have.
        """
        worker = get_worker_info()
        state = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
        self._generator = torch.Generator().manual_seed(int(state) >> 1)
        self._generator_owner = (os.getpid(), None if worker is None else worker.seed)

    def _rng(self) -> torch.Generator | None:
        if self.seed is None:
            return None  # torch's global RNG, which DataLoader seeds per worker
        worker = get_worker_info()
        owner = (os.getpid(), None if worker is None else worker.seed)
        if self._generator is None or self._generator_owner != owner:
            entropy = [self.seed] if worker is None else [self.seed, worker.seed]
            state = np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0]
            self._generator = torch.Generator().manual_seed(int(state) >> 1)  # manual_seed wants < 2**63
            self._generator_owner = owner
        return self._generator
