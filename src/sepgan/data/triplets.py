"""Base classes for triplet datasets: (frame0, frame1, target) for frame interpolation.

Every dataset in ``sepgan.data`` yields items ``(frame0, frame1, target)``:
three float32 tensors shaped 3×h×w with values in [0, 1], where ``target``
is the true frame halfway between ``frame0`` and ``frame1``. A DataLoader's
default collate stacks them into three B×3×h×w batches. All frames of one
dataset need not share a size unless you batch them, so use a crop
(``PairedAugment(crop_size=...)``) for training.

Frames are read lazily in ``__getitem__`` as uint8 H×W×3 arrays, augmented
while still uint8 (cropping first is cheaper), and only then converted to
float. Subclasses describe *where* triplets are; this module owns *how* one
is read and checked.

A "gap" is the temporal distance in source frames between an input and the
target: gap g takes frames (k, k + g, k + 2g). Larger gaps mean larger motion.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from sepgan.data.augment import PairedAugment
from sepgan.datasets import DatasetError
from sepgan.media.frames import FrameError, from_uint8, load_image_uint8
from sepgan.options import OptionError

# DatasetError is defined beside the dataset readers (sepgan.datasets) and re-exported here.
__all__ = ["DatasetError", "ImageTripletDataset", "TripletDataset", "check_gaps"]

Triplet = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class TripletDataset(Dataset[Triplet]):
    """Shared reading, checking and augmentation; subclasses implement ``__len__`` and ``read_uint8``."""

    def __init__(self, augment: PairedAugment | None = None) -> None:
        self.augment = augment

    def __len__(self) -> int:
        raise NotImplementedError

    def read_uint8(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the un-augmented (frame0, frame1, target) as uint8 H×W×3 arrays."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """Name the source of triplet ``index`` for error messages."""
        return f"triplet {index} of {type(self).__name__}"

    def __getitem__(self, index: int) -> Triplet:
        if not -len(self) <= index < len(self):
            raise IndexError(f"triplet index {index} out of range for {len(self)} triplets")
        index %= len(self)
        frame0, frame1, target = self.read_uint8(index)
        if self.augment is not None:
            try:
                frame0, frame1, target = self.augment(frame0, frame1, target)
            except ValueError as error:
                raise DatasetError(f"{self.describe(index)}: {error}") from error
        return from_uint8(frame0), from_uint8(frame1), from_uint8(target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(triplets={len(self)}, augment={self.augment!r})"


class ImageTripletDataset(TripletDataset):
    """Triplets of image files, listed up front as (frame0, frame1, target) paths.

    Only the paths are stored; images are decoded in ``__getitem__``. Missing
    or unreadable files surface there as a DatasetError naming the file.
    """

    def __init__(
        self,
        triplets: Iterable[tuple[Path, Path, Path]],
        source: str | os.PathLike[str],
        augment: PairedAugment | None = None,
    ) -> None:
        super().__init__(augment)
        self.source = Path(source)
        self.triplets: list[tuple[Path, Path, Path]] = list(triplets)
        if not self.triplets:
            raise DatasetError(f"{self.source}: no triplets found ({self._empty_reason()})")

    def _empty_reason(self) -> str:
        return "no image sequences"

    def __len__(self) -> int:
        return len(self.triplets)

    def describe(self, index: int) -> str:
        frame0, frame1, target = self.triplets[index]
        return f"triplet ({frame0}, {target}, {frame1})"

    def read_uint8(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paths = self.triplets[index]
        try:
            frame0, frame1, target = (load_image_uint8(path) for path in paths)
        except FrameError as error:
            raise DatasetError(str(error)) from error
        if not frame0.shape == frame1.shape == target.shape:
            arrays = (frame0, frame1, target)
            sizes = ", ".join(f"{p} is {a.shape[1]}×{a.shape[0]}" for p, a in zip(paths, arrays, strict=True))
            raise DatasetError(f"images of one triplet differ in size (w×h): {sizes}")
        return frame0, frame1, target

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.source)!r}, triplets={len(self)}, augment={self.augment!r})"


def check_gaps(gaps: int | Sequence[int], longest_sequence: int | None = None) -> tuple[int, ...]:
    """Validate temporal gaps: positive, distinct ints; each needs 2·gap + 1 frames."""
    if isinstance(gaps, int):
        gaps = (gaps,)
    gaps = tuple(gaps)
    if not gaps or any(not isinstance(gap, int) or gap < 1 for gap in gaps) or len(set(gaps)) != len(gaps):
        raise OptionError(
            "{gaps} must be distinct positive integers, got {value}", parameter="gaps", value=gaps
        )
    if longest_sequence is not None:
        too_long = [gap for gap in gaps if 2 * gap + 1 > longest_sequence]
        if too_long:
            raise OptionError(
                "{gaps} {value} need more than the {frames} frames of a sequence",
                parameter="gaps",
                value=too_long,
                frames=longest_sequence,
            )
    return gaps
